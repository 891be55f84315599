//! Goals: what the mentee wants to reach, with a status, an owner, a due date and milestones.

use super::draft::Draft;
use super::fields::{get_stored, get_string, set_str, set_text};
use super::time::Stored;
use super::{non_empty, Kind, Meta, Milestone, Workspace};
use crate::model::ItemId;
use crate::{Error, Result};
use automerge::ObjId;
use jiff::civil::Date;
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
        let obj = self.item(Kind::Goal, id)?;
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
        let mut what = Vec::new();
        if let Some(t) = &title {
            set_text(&mut self.doc, &obj, "title", t)?;
            what.push("title".to_string());
        }
        if let Some(d) = &changes.description {
            set_text(&mut self.doc, &obj, "description", d)?;
            what.push("description".to_string());
        }
        if let Some(s) = &changes.status {
            set_str(&mut self.doc, &obj, "status", s.as_str())?;
            what.push(format!("status={s}"));
        }
        if let Some(d) = &changes.due {
            set_str(&mut self.doc, &obj, "due", &d.to_string())?;
            what.push(format!("due={d}"));
        }
        if let Some(o) = &owner {
            set_str(&mut self.doc, &obj, "owner", o)?;
            what.push(format!("owner={}", self.display_name(o)));
        }
        if what.is_empty() {
            return Err(Error::Invalid(
                "nothing to change: give at least one of --title, --description, --status, --due, --owner".into(),
            ));
        }
        let label = self.label(Kind::Goal, id);
        self.commit(format!("set {} on {label}", what.join(", ")));
        Ok(())
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
