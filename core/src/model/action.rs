//! Action items: something someone agreed to do, with an owner, a due date and a done flag.

use super::draft::{Draft, Field};
use super::fields::{get_bool, get_stored, get_string};
use super::time::Stored;
use super::{required, Kind, Meta, Workspace};
use crate::model::ItemId;
use crate::Result;
use automerge::transaction::Transactable;
use automerge::ObjId;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    pub id: ItemId,
    pub title: String,
    pub owner: Option<String>,
    pub due: Option<Stored<Date>>,
    pub done: bool,
    pub done_at: Option<Stored<Timestamp>>,
    pub goal: Option<ItemId>,
    pub checkin: Option<ItemId>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Action {
    /// Whether the action is open and its due date is before `today`. A due date that does not
    /// parse is never overdue.
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.done
            && self
                .due
                .as_ref()
                .and_then(Stored::valid)
                .is_some_and(|d| *d < today)
    }
}

/// A new action item.
#[derive(Debug, Clone, Default)]
pub struct NewAction {
    pub title: String,
    pub owner: Option<String>,
    pub due: Option<Date>,
    pub goal: Option<ItemId>,
    pub checkin: Option<ItemId>,
}

/// Changes to an action item's fields; `None` leaves a field alone. The goal is a full id.
#[derive(Debug, Clone, Default)]
pub struct ActionChanges {
    pub title: Option<String>,
    pub owner: Option<String>,
    pub due: Option<Date>,
    pub goal: Option<ItemId>,
}

impl Workspace {
    /// Add an action item; returns its id.
    pub fn add_action(&mut self, action: NewAction) -> Result<ItemId> {
        let draft = Draft::action(&action, &self.people())?;
        self.insert(&draft)
    }

    /// Change an action item's fields; only the given ones are written.
    pub fn set_action(&mut self, id: &ItemId, changes: ActionChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(t) = changes.title {
            fields.push(Field::Str("title", Some(required("title", &t)?)));
        }
        if let Some(o) = changes.owner {
            fields.push(Field::Str("owner", Some(self.resolve_owner(&o)?)));
        }
        if let Some(d) = changes.due {
            fields.push(Field::Str("due", Some(d.to_string())));
        }
        if let Some(g) = changes.goal {
            fields.push(Field::Str("goal", Some(g.to_string())));
        }
        self.update_item(Kind::Action, id, &fields, "--title, --owner, --due, --goal")
    }

    /// Mark an action item done (or open again).
    pub fn set_action_done(&mut self, id: &ItemId, done: bool) -> Result<()> {
        let obj = self.item(Kind::Action, id)?;
        self.doc.put(&obj, "done", done)?;
        if done {
            let at = self.stamp();
            self.doc.put(&obj, "done_at", at.as_str())?;
        }
        let label = self.label(Kind::Action, id);
        let verb = if done { "completed" } else { "reopened" };
        self.commit(format!("{verb} {label}"));
        Ok(())
    }

    fn read_action(&self, id: &str, obj: &ObjId) -> Action {
        Action {
            id: ItemId::from_stored(id),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            owner: get_string(&self.doc, obj, "owner").map(|o| self.display_name(&o)),
            due: get_stored(&self.doc, obj, "due"),
            done: get_bool(&self.doc, obj, "done"),
            done_at: get_stored(&self.doc, obj, "done_at"),
            goal: get_string(&self.doc, obj, "goal").map(ItemId::from_stored),
            checkin: get_string(&self.doc, obj, "checkin").map(ItemId::from_stored),
            meta: self.meta(obj),
        }
    }

    /// One action item by full id.
    pub fn action(&self, id: &ItemId) -> Result<Action> {
        let obj = self.item(Kind::Action, id)?;
        Ok(self.read_action(id, &obj))
    }

    /// Every action item, oldest first.
    pub fn actions(&self) -> Vec<Action> {
        self.read_all(Kind::Action, |ws, id, obj| ws.read_action(id, obj))
    }
}
