//! Check-ins: the pair's meetings, with an agenda, shared notes and each participant's rating.

use super::draft::Draft;
use super::fields::{ensure_map, get_int, get_map, get_stored, get_string, keys, set_text};
use super::time::Stored;
use super::{short, Kind, Meta, Workspace};
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
    pub ratings: Vec<Rating>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Workspace {
    /// Add a check-in at `at`.
    pub fn add_checkin(&mut self, at: Timestamp, agenda: &str) -> Result<ItemId> {
        self.insert(&Draft::checkin(at, agenda))
    }

    /// Replace a check-in's notes, merged as a text diff.
    pub fn edit_checkin_notes(&mut self, id: &ItemId, notes: &str) -> Result<()> {
        let obj = self.item(Kind::CheckIn, id)?;
        set_text(&mut self.doc, &obj, "notes", notes)?;
        self.commit(format!("edited notes of check-in {}", short(id)));
        Ok(())
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
