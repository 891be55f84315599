//! Check-ins: the pair's meetings, with an agenda, shared notes and each participant's rating.

use super::draft::{Draft, Field};
use super::fields::{
    check_size, ensure_map, get_int, get_map, get_stored, get_string, keys, set_text,
};
use super::time::{format_instant, Stored};
use super::{required, short, Kind, Meta, Workspace};
use crate::model::ItemId;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::ObjId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rating {
    pub participant: String,
    pub name: String,
    pub rating: i64,
    pub comment: String,
    pub at: Option<Stored<Timestamp>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckIn {
    pub id: ItemId,
    /// When the pair meets; a check-in without a time reads as an empty `Unparsed`.
    pub at: Stored<Timestamp>,
    pub agenda: String,
    pub notes: String,
    /// Where the pair meets online (a video call's address), when someone gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_link: Option<String>,
    pub ratings: Vec<Rating>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// Changes to a check-in's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CheckInChanges {
    pub at: Option<Timestamp>,
    pub agenda: Option<String>,
    pub notes: Option<String>,
    pub link: Option<String>,
}

impl Workspace {
    /// Add a check-in at `at`; one with a meeting link is added by inserting a
    /// [`Draft::checkin`].
    pub fn add_checkin(&mut self, at: Timestamp, agenda: &str) -> Result<ItemId> {
        self.insert(&Draft::checkin(at, agenda, None)?)
    }

    /// Replace a check-in's notes, merged as a text diff.
    pub fn edit_checkin_notes(&mut self, id: &ItemId, notes: &str) -> Result<()> {
        check_size("check-in notes", notes)?;
        let obj = self.item(Kind::CheckIn, id)?;
        set_text(&mut self.doc, &obj, "notes", notes)?;
        self.commit(format!("edited notes of check-in {}", short(id)));
        Ok(())
    }

    /// Change a check-in's fields; only the given ones are written.
    pub fn set_checkin(&mut self, id: &ItemId, changes: CheckInChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(at) = changes.at {
            fields.push(Field::Str("at", Some(format_instant(at))));
        }
        if let Some(agenda) = changes.agenda {
            fields.push(Field::Text("agenda", agenda));
        }
        if let Some(notes) = changes.notes {
            fields.push(Field::Text("notes", notes));
        }
        if let Some(link) = changes.link {
            fields.push(Field::Str(
                "meeting_link",
                Some(required("meeting link", &link)?),
            ));
        }
        self.update_item(
            Kind::CheckIn,
            id,
            &fields,
            "--at, --agenda, --notes, --link",
        )
    }

    /// Record the acting participant's rating (1–5) of a check-in. Each participant has their own
    /// slot, so two people rating at once never collide.
    pub fn rate_checkin(&mut self, id: &ItemId, rating: i64, comment: Option<&str>) -> Result<()> {
        if !(1..=5).contains(&rating) {
            return Err(Error::Invalid(format!(
                "invalid rating {rating}: expected a whole number from 1 to 5"
            )));
        }
        let me = self.me.clone().ok_or_else(|| {
            Error::Invalid(
                "this device is not a participant of the workspace, so it cannot rate".into(),
            )
        })?;
        let obj = self.item(Kind::CheckIn, id)?;
        let ratings = ensure_map(&mut self.doc, &obj, "ratings")?;
        let mine = ensure_map(&mut self.doc, &ratings, &me)?;
        self.doc.put(&mine, "rating", rating)?;
        if let Some(c) = comment {
            check_size("rating comment", c)?;
            set_text(&mut self.doc, &mine, "comment", c)?;
        }
        let at = self.stamp();
        self.doc.put(&mine, "at", at.as_str())?;
        self.commit(format!("rated check-in {} {rating}/5", short(id)));
        Ok(())
    }

    fn read_checkin(&self, id: &str, obj: &ObjId) -> CheckIn {
        let ratings = get_map(&self.doc, obj, "ratings")
            .map(|r| {
                keys(&self.doc, &r)
                    .into_iter()
                    .filter_map(|pid| {
                        let m = get_map(&self.doc, &r, &pid)?;
                        Some(Rating {
                            name: self.display_name(&pid),
                            rating: get_int(&self.doc, &m, "rating")?,
                            comment: get_string(&self.doc, &m, "comment").unwrap_or_default(),
                            at: get_stored(&self.doc, &m, "at"),
                            participant: pid,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        CheckIn {
            id: ItemId::from_stored(id),
            at: get_stored(&self.doc, obj, "at").unwrap_or(Stored::Unparsed(String::new())),
            agenda: get_string(&self.doc, obj, "agenda").unwrap_or_default(),
            notes: get_string(&self.doc, obj, "notes").unwrap_or_default(),
            meeting_link: get_string(&self.doc, obj, "meeting_link"),
            ratings,
            meta: self.meta(obj),
        }
    }

    /// One check-in by full id.
    pub fn checkin(&self, id: &ItemId) -> Result<CheckIn> {
        let obj = self.item(Kind::CheckIn, id)?;
        Ok(self.read_checkin(id, &obj))
    }

    /// Every check-in, earliest meeting first.
    pub fn checkins(&self) -> Vec<CheckIn> {
        let mut all = self.read_all(Kind::CheckIn, |ws, id, obj| ws.read_checkin(id, obj));
        all.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests::{merge_both, pair};

    #[test]
    fn ratings_from_both_people_never_collide() {
        let (mut ana, mut ben) = pair();
        let at = "2026-12-01T10:00:00Z".parse().unwrap();
        let c = ana.add_checkin(at, "Kickoff").unwrap();
        merge_both(&mut ana, &mut ben);
        ana.rate_checkin(&c, 4, Some("good")).unwrap();
        ben.rate_checkin(&c, 5, None).unwrap();
        merge_both(&mut ana, &mut ben);
        let ratings = ana.checkin(&c).unwrap().ratings;
        assert_eq!(ratings.len(), 2);
        assert!(ana.rate_checkin(&c, 6, None).is_err());
        assert!(ana.rate_checkin(&c, 0, None).is_err());
    }
}
