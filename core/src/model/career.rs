//! Career steps: a participant's move from one role to another (a promotion, a new job), the
//! outcome a mentoring programme hopes for.
//!
//! Steps live in the root map `career_steps`, keyed by a random item id. The roles are short
//! scalars replaced as a whole; the note is prose (Text), size-limited like other prose.

use super::fields::{check_size, ensure_map, get_stored, get_string, set_str, set_text};
use super::time::Stored;
use super::{first_line, new_item_id, required, Meta, Workspace};
use crate::model::draft::{Draft, Field};
use crate::model::ItemId;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ObjId, ROOT};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One move from a role to another.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CareerStep {
    pub id: ItemId,
    /// The participant id of whoever took the step, and their name.
    pub participant: String,
    pub name: String,
    pub date: Stored<Date>,
    pub role_before: String,
    pub role_after: String,
    pub note: String,
    #[serde(flatten)]
    pub meta: Meta,
}

/// A new career step; `participant` is a participant id, the acting one when `None`.
#[derive(Debug, Clone)]
pub struct NewCareerStep {
    pub participant: Option<String>,
    pub date: Date,
    pub role_before: String,
    pub role_after: String,
    pub note: Option<String>,
}

/// Changes to a career step; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CareerStepChanges {
    pub date: Option<Date>,
    pub role_before: Option<String>,
    pub role_after: Option<String>,
    pub note: Option<String>,
}

impl Workspace {
    /// Record a career step; returns the new item's id.
    pub fn add_career_step(&mut self, step: NewCareerStep) -> Result<ItemId> {
        let before = required("role before", &step.role_before)?;
        let after = required("role after", &step.role_after)?;
        let note = step.note.unwrap_or_default();
        check_size("career step note", &note)?;
        let who = match step.participant.or_else(|| self.me.clone()) {
            Some(who) => self.participant(&who).ok_or_else(|| Error::UnknownId {
                kind: "participant",
                prefix: who,
            })?,
            None => {
                return Err(Error::Invalid(
                    "this device is not a participant of the workspace, so it cannot record a \
                     career step"
                        .into(),
                ))
            }
        };
        let coll = ensure_map(&mut self.doc, &ROOT, "career_steps")?;
        let id = new_item_id();
        let obj = self
            .doc
            .put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
        let header = Draft::header(self.me.as_deref(), &self.stamp());
        self.write_fields(&obj, &header)?;
        set_str(&mut self.doc, &obj, "participant", &who.id)?;
        set_str(&mut self.doc, &obj, "date", &step.date.to_string())?;
        set_str(&mut self.doc, &obj, "role_before", &before)?;
        set_str(&mut self.doc, &obj, "role_after", &after)?;
        set_text(&mut self.doc, &obj, "note", &note)?;
        self.commit(format!(
            "recorded career step {} of {}: “{}” to “{}”",
            super::short(&id),
            who.name,
            first_line(&before, 30),
            first_line(&after, 30)
        ));
        Ok(id)
    }

    /// Change a career step's fields: the date and roles are replaced as a whole (two people
    /// setting them at once is a conflict, shown until someone sets them again), the note merges
    /// as a text diff.
    pub fn set_career_step(&mut self, id: &ItemId, changes: CareerStepChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(d) = changes.date {
            fields.push(Field::Str("date", Some(d.to_string())));
        }
        if let Some(r) = changes.role_before {
            fields.push(Field::Str(
                "role_before",
                Some(required("role before", &r)?),
            ));
        }
        if let Some(r) = changes.role_after {
            fields.push(Field::Str("role_after", Some(required("role after", &r)?)));
        }
        if let Some(n) = changes.note {
            fields.push(Field::Text("note", n));
        }
        let obj = self.item_in("career_steps", "career step", id)?;
        let label = format!("career step {}", super::short(id));
        self.update(
            &obj,
            "career step",
            label,
            &fields,
            "--date, --from, --to, --note",
        )
    }

    /// Resolve an id or unique id prefix of a career step to the full id.
    pub fn resolve_career_step(&self, prefix: &str) -> Result<ItemId> {
        self.resolve_in("career_steps", "career step", prefix)
    }

    /// One career step by full id.
    pub fn career_step(&self, id: &ItemId) -> Result<CareerStep> {
        let obj = self.item_in("career_steps", "career step", id)?;
        Ok(self.read_career_step(id, &obj))
    }

    /// Archive a career step (or bring it back).
    pub fn archive_career_step(&mut self, id: &ItemId, archived: bool) -> Result<()> {
        self.flag_in("career_steps", "career step", id, archived)
    }

    fn read_career_step(&self, id: &str, obj: &ObjId) -> CareerStep {
        let participant = get_string(&self.doc, obj, "participant").unwrap_or_default();
        CareerStep {
            id: ItemId::from_stored(id),
            name: self.display_name(&participant),
            participant,
            date: get_stored(&self.doc, obj, "date").unwrap_or(Stored::Unparsed(String::new())),
            role_before: get_string(&self.doc, obj, "role_before").unwrap_or_default(),
            role_after: get_string(&self.doc, obj, "role_after").unwrap_or_default(),
            note: get_string(&self.doc, obj, "note").unwrap_or_default(),
            meta: self.meta(obj),
        }
    }

    /// Every career step, archived ones included, earliest date first.
    pub fn career_steps(&self) -> Vec<CareerStep> {
        let mut all =
            self.read_collection("career_steps", |ws, id, obj| ws.read_career_step(id, obj));
        all.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{merge_both, pair};
    use jiff::civil::date;

    fn step(before: &str, after: &str) -> NewCareerStep {
        NewCareerStep {
            participant: None,
            date: date(2026, 11, 2),
            role_before: before.into(),
            role_after: after.into(),
            note: Some("after the review".into()),
        }
    }

    #[test]
    fn career_steps_are_recorded_for_the_acting_participant_and_merge() {
        let (mut ana, mut ben) = pair();
        let b = ben
            .add_career_step(step("Junior dev", "Developer"))
            .unwrap();
        let a = ana.add_career_step(step("Lead", "Staff engineer")).unwrap();
        merge_both(&mut ana, &mut ben);
        let all = ana.career_steps();
        assert_eq!(all.len(), 2);
        let bens = all.iter().find(|s| s.id == b).unwrap();
        assert_eq!(
            (bens.name.as_str(), bens.role_after.as_str()),
            ("Ben", "Developer")
        );
        assert_eq!(bens.date.to_string(), "2026-11-02");
        assert!(ana.add_career_step(step(" ", "Developer")).is_err());
        let mut big = step("a", "b");
        big.note = Some("x".repeat(crate::model::fields::MAX_TEXT_BYTES + 1));
        let err = ana.add_career_step(big).unwrap_err();
        assert!(err.to_string().contains("career step note"), "{err}");
        // Every field can be set again; a role cannot be emptied, and something must change.
        assert_eq!(ana.resolve_career_step(&a[..5]).unwrap(), a);
        assert!(ana.resolve_career_step("zz").is_err());
        let changes = CareerStepChanges {
            date: Some(date(2026, 12, 1)),
            role_after: Some("Principal engineer".into()),
            note: Some("after the offsite".into()),
            ..Default::default()
        };
        ana.set_career_step(&a, changes).unwrap();
        let read = ana.career_step(&a).unwrap();
        assert_eq!(
            (read.date.to_string(), read.role_before.as_str()),
            ("2026-12-01".to_string(), "Lead")
        );
        assert_eq!(
            (read.role_after.as_str(), read.note.as_str()),
            ("Principal engineer", "after the offsite")
        );
        let blank = CareerStepChanges {
            role_before: Some("  ".into()),
            ..Default::default()
        };
        assert!(ana.set_career_step(&a, blank).is_err());
        let err = ana
            .set_career_step(&a, CareerStepChanges::default())
            .unwrap_err();
        assert!(err.to_string().contains("--from"), "{err}");
        ana.archive_career_step(&a, true).unwrap();
        assert!(
            ana.career_steps()
                .iter()
                .find(|s| s.id == a)
                .unwrap()
                .meta
                .archived
        );
    }
}
