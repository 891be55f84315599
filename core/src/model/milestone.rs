//! Milestones: the steps of a goal, kept in a map inside the goal.

use super::draft::Draft;
use super::fields::{ensure_map, get_bool, get_map, get_stored, get_string, keys, set_opt_str};
use super::time::Stored;
use super::{first_line, new_item_id, non_empty, resolve_prefix, Field, Kind, Meta, Workspace};
use crate::model::ItemId;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::ObjId;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A step towards a goal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Milestone {
    pub id: ItemId,
    pub title: String,
    pub due: Option<Stored<Date>>,
    pub done: bool,
    /// When the milestone was marked done; absent while it is not, and for milestones marked
    /// done by a tandem that did not record it.
    #[serde(default)]
    pub done_at: Option<Stored<Timestamp>>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// Changes to a milestone's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct MilestoneChanges {
    pub title: Option<String>,
    pub due: Option<Date>,
}

impl Workspace {
    /// Add a milestone to a goal; returns its id.
    pub fn add_milestone(
        &mut self,
        goal: &ItemId,
        title: &str,
        due: Option<Date>,
    ) -> Result<ItemId> {
        let title = non_empty("title", title)?;
        let due = due.map(|d| d.to_string());
        let g = self.item(Kind::Goal, goal)?;
        let ms = ensure_map(&mut self.doc, &g, "milestones")?;
        let mid = new_item_id();
        let m = self
            .doc
            .put_object(&ms, mid.as_str(), automerge::ObjType::Map)?;
        let mut fields = Draft::header(self.me.as_deref(), &self.stamp());
        fields.extend([
            Field::Str("title", Some(title.clone())),
            Field::Str("due", due),
            Field::Bool("done", false),
        ]);
        self.write_fields(&m, &fields)?;
        let label = self.label(Kind::Goal, goal);
        self.commit(format!(
            "added milestone “{}” to {label}",
            first_line(&title, 40)
        ));
        Ok(mid)
    }

    /// Resolve a milestone id prefix within a goal.
    pub fn resolve_milestone(&self, goal: &ItemId, prefix: &str) -> Result<ItemId> {
        let g = self.item(Kind::Goal, goal)?;
        let ids = get_map(&self.doc, &g, "milestones")
            .map(|ms| keys(&self.doc, &ms))
            .unwrap_or_default();
        resolve_prefix("milestone", &prefix.trim().to_ascii_lowercase(), ids)
    }

    /// The milestone `milestone` of the goal `goal`, and how a change message names it.
    fn milestone_obj(&self, goal: &ItemId, milestone: &ItemId) -> Result<(ObjId, String)> {
        let g = self.item(Kind::Goal, goal)?;
        let m = get_map(&self.doc, &g, "milestones")
            .and_then(|ms| get_map(&self.doc, &ms, milestone))
            .ok_or_else(|| Error::UnknownId {
                kind: "milestone",
                prefix: milestone.to_string(),
            })?;
        let title = get_string(&self.doc, &m, "title").unwrap_or_default();
        let label = format!(
            "milestone “{}” of {}",
            first_line(&title, 40),
            self.label(Kind::Goal, goal)
        );
        Ok((m, label))
    }

    /// Mark a milestone done (or not done).
    pub fn set_milestone_done(
        &mut self,
        goal: &ItemId,
        milestone: &ItemId,
        done: bool,
    ) -> Result<()> {
        // Recorded in the same change as the flag (which `flag_milestone` commits), so the win
        // is dated by when it happened.
        let (m, _) = self.milestone_obj(goal, milestone)?;
        let done_at = done.then(|| self.stamp());
        set_opt_str(&mut self.doc, &m, "done_at", done_at.as_deref())?;
        self.flag_milestone(goal, milestone, "done", done, ["completed", "reopened"])
    }

    /// Archive a milestone (it no longer counts towards the goal's progress), or restore it.
    pub fn archive_milestone(
        &mut self,
        goal: &ItemId,
        milestone: &ItemId,
        archived: bool,
    ) -> Result<()> {
        self.flag_milestone(
            goal,
            milestone,
            "archived",
            archived,
            ["archived", "restored"],
        )
    }

    /// Set the boolean `key` of a milestone, in a change whose message begins with the first of
    /// `verbs` when setting and the second when clearing.
    fn flag_milestone(
        &mut self,
        goal: &ItemId,
        milestone: &ItemId,
        key: &str,
        value: bool,
        verbs: [&str; 2],
    ) -> Result<()> {
        let (m, label) = self.milestone_obj(goal, milestone)?;
        self.doc.put(&m, key, value)?;
        let verb = if value { verbs[0] } else { verbs[1] };
        self.commit(format!("{verb} {label}"));
        Ok(())
    }

    /// Change a milestone's title or due date; only the given fields are written.
    pub fn set_milestone(
        &mut self,
        goal: &ItemId,
        milestone: &ItemId,
        changes: MilestoneChanges,
    ) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(t) = changes.title {
            fields.push(Field::Str("title", Some(non_empty("title", &t)?)));
        }
        if let Some(d) = changes.due {
            fields.push(Field::Str("due", Some(d.to_string())));
        }
        let (m, label) = self.milestone_obj(goal, milestone)?;
        self.update(&m, "milestone", label, &fields, "--title, --due")
    }

    /// The milestones of the goal `goal`: those with a due date first, soonest first.
    pub(super) fn read_milestones(&self, goal: &ObjId) -> Vec<Milestone> {
        get_map(&self.doc, goal, "milestones")
            .map(|ms| {
                let mut list: Vec<Milestone> = keys(&self.doc, &ms)
                    .into_iter()
                    .filter_map(|mid| {
                        let m = get_map(&self.doc, &ms, &mid)?;
                        Some(Milestone {
                            title: get_string(&self.doc, &m, "title").unwrap_or_default(),
                            due: get_stored(&self.doc, &m, "due"),
                            done: get_bool(&self.doc, &m, "done"),
                            done_at: get_stored(&self.doc, &m, "done_at"),
                            meta: self.meta(&m),
                            id: ItemId::from_stored(mid),
                        })
                    })
                    .collect();
                list.sort_by(|a, b| {
                    (a.due.is_none(), &a.due, &a.meta.created_at, &a.id).cmp(&(
                        b.due.is_none(),
                        &b.due,
                        &b.meta.created_at,
                        &b.id,
                    ))
                });
                list
            })
            .unwrap_or_default()
    }
}
