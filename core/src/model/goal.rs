//! Goals: what the mentee wants to reach, with a status, an owner, a due date and milestones.

use super::draft::{self, Draft, Field};
use super::fields::{get_stored, get_string, set_opt_str};
use super::time::Stored;
use super::{non_empty, Kind, Meta, Milestone, Workspace};
use crate::model::ItemId;
use crate::Result;
use automerge::ObjId;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

open_enum! {
    /// Where a goal stands. A goal without a stored status is open.
    #[derive(Default)]
    pub enum GoalStatus ("status") {
        #[default]
        Open = "open",
        Active = "active",
        Done = "done",
        Dropped = "dropped",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Goal {
    pub id: ItemId,
    pub title: String,
    pub description: String,
    pub status: GoalStatus,
    pub owner: Option<String>,
    pub due: Option<Stored<Date>>,
    pub milestones: Vec<Milestone>,
    /// When the goal was marked done; absent while it is not done, and for goals marked done by
    /// a tandem that did not record it.
    #[serde(default)]
    pub done_at: Option<Stored<Timestamp>>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Goal {
    /// (done, total) over milestones that are not archived.
    pub fn progress(&self) -> (usize, usize) {
        let live = self.milestones.iter().filter(|m| !m.meta.archived);
        let (mut done, mut total) = (0, 0);
        for m in live {
            total += 1;
            done += usize::from(m.done);
        }
        (done, total)
    }
}

/// A new goal.
#[derive(Debug, Clone, Default)]
pub struct NewGoal {
    pub title: String,
    pub description: Option<String>,
    pub due: Option<Date>,
    pub owner: Option<String>,
}

/// Changes to a goal's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct GoalChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<GoalStatus>,
    pub due: Option<Date>,
    pub owner: Option<String>,
}

impl Workspace {
    /// Add a goal; returns its id.
    pub fn add_goal(&mut self, goal: NewGoal) -> Result<ItemId> {
        let draft = Draft::goal(&goal, &self.people())?;
        self.insert(&draft)
    }

    /// Change a goal's fields; only the given ones are written, so a concurrent change of another
    /// field is never overwritten.
    pub fn set_goal(&mut self, id: &ItemId, changes: GoalChanges) -> Result<()> {
        let owner = changes
            .owner
            .as_deref()
            .map(|o| self.resolve_owner(o))
            .transpose()?;
        let title = changes
            .title
            .as_deref()
            .map(|t| non_empty("title", t))
            .transpose()?;
        let mut fields = Vec::new();
        if let Some(t) = title {
            fields.push(Field::Str("title", Some(t)));
        }
        if let Some(d) = changes.description {
            fields.push(Field::Text("description", d));
        }
        if let Some(s) = &changes.status {
            fields.push(Field::Str("status", Some(s.as_str().to_string())));
        }
        if let Some(d) = changes.due {
            fields.push(Field::Str("due", Some(d.to_string())));
        }
        if let Some(o) = owner {
            fields.push(Field::Str("owner", Some(o)));
        }
        // The moment a goal is done is recorded in the same change as its status, so a win is
        // dated by when it happened; any other status clears it.
        if let Some(status) = &changes.status {
            draft::check_fields(Kind::Goal.noun(), &fields)?;
            let obj = self.item(Kind::Goal, id)?;
            let done_at = (*status == GoalStatus::Done).then(|| self.stamp());
            set_opt_str(&mut self.doc, &obj, "done_at", done_at.as_deref())?;
        }
        let result = self.update_item(
            Kind::Goal,
            id,
            &fields,
            "--title, --description, --status, --due, --owner",
        );
        if result.is_err() {
            self.doc.rollback();
        }
        result
    }

    fn read_goal(&self, id: &str, obj: &ObjId) -> Goal {
        let milestones = self.read_milestones(obj);
        let owner = get_string(&self.doc, obj, "owner").map(|o| self.display_name(&o));
        Goal {
            id: ItemId::from_stored(id),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            description: get_string(&self.doc, obj, "description").unwrap_or_default(),
            status: get_string(&self.doc, obj, "status")
                .map(|s| GoalStatus::from_stored(&s))
                .unwrap_or_default(),
            owner,
            due: get_stored(&self.doc, obj, "due"),
            milestones,
            done_at: get_stored(&self.doc, obj, "done_at"),
            meta: self.meta(obj),
        }
    }

    /// One goal by full id.
    pub fn goal(&self, id: &ItemId) -> Result<Goal> {
        let obj = self.item(Kind::Goal, id)?;
        Ok(self.read_goal(id, &obj))
    }

    /// Every goal, archived ones included, oldest first.
    pub fn goals(&self) -> Vec<Goal> {
        self.read_all(Kind::Goal, |ws, id, obj| ws.read_goal(id, obj))
    }
}
