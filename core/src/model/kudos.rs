//! Kudos: a few words of recognition from one participant to another, optionally for a goal.
//!
//! Kudos live in the root map `kudos`, keyed by a random item id like every collection; the text
//! is prose (Text), size-limited like other prose. They count among the pair's wins.

use super::fields::{
    check_size, ensure_map, get_all_maps, get_map, get_string, keys, set_str, set_text,
};
use super::{first_line, new_item_id, required, Kind, Meta, Participant, Workspace};
use crate::model::draft::{Draft, Field};
use crate::model::ItemId;
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ObjId, ROOT};
use serde::{Deserialize, Serialize};

/// Recognition from one participant to another.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Kudos {
    pub id: ItemId,
    /// The participant id of the giver, and their name.
    pub from: String,
    pub from_name: String,
    /// The participant id of the receiver, and their name.
    pub to: String,
    pub to_name: String,
    pub text: String,
    pub goal: Option<ItemId>,
    #[serde(flatten)]
    pub meta: Meta,
}

/// New kudos from the acting participant; `to` is a participant id and `goal` a full goal id.
#[derive(Debug, Clone, Default)]
pub struct NewKudos {
    pub to: String,
    pub text: String,
    pub goal: Option<ItemId>,
}

/// Changes to kudos; `None` leaves a field alone. `goal` is a full goal id.
#[derive(Debug, Clone, Default)]
pub struct KudosChanges {
    pub text: Option<String>,
    pub goal: Option<ItemId>,
}

impl Workspace {
    /// The participant a person means by `typed`: the one whose name it is (case-insensitively),
    /// or else the one whose id starts with it.
    pub fn find_participant(&self, typed: &str) -> Result<Participant> {
        let typed = typed.trim();
        let people = self.participants();
        if let Some(p) = people.iter().find(|p| p.name.eq_ignore_ascii_case(typed)) {
            return Ok(p.clone());
        }
        let ids = people.iter().map(|p| p.id.clone()).collect();
        let id = match super::resolve_prefix("participant", &typed.to_ascii_lowercase(), ids) {
            Err(Error::UnknownId { .. }) => {
                return Err(Error::Invalid(format!(
                    "no participant is called “{typed}” (see `tandem participant list`)"
                )))
            }
            other => other?,
        };
        Ok(people
            .into_iter()
            .find(|p| p.id == id.as_str())
            .expect("resolved among these participants"))
    }

    /// Give kudos from the acting participant to another; returns the new item's id.
    pub fn give_kudos(&mut self, kudos: NewKudos) -> Result<ItemId> {
        let text = required("kudos text", &kudos.text)?;
        check_size("kudos text", &text)?;
        let me = self.me.clone().ok_or_else(|| {
            Error::Invalid(
                "this device is not a participant of the workspace, so it cannot give kudos".into(),
            )
        })?;
        let to = self
            .participant(&kudos.to)
            .ok_or_else(|| Error::UnknownId {
                kind: "participant",
                prefix: kudos.to.clone(),
            })?;
        if to.id == me {
            return Err(Error::Invalid(
                "kudos go to someone else in the workspace, not to yourself".into(),
            ));
        }
        if let Some(goal) = &kudos.goal {
            self.item(Kind::Goal, goal)?;
        }
        let coll = ensure_map(&mut self.doc, &ROOT, "kudos")?;
        let id = new_item_id();
        let obj = self
            .doc
            .put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
        let header = Draft::header(Some(&me), &self.stamp());
        self.write_fields(&obj, &header)?;
        set_str(&mut self.doc, &obj, "from", &me)?;
        set_str(&mut self.doc, &obj, "to", &to.id)?;
        set_text(&mut self.doc, &obj, "text", &text)?;
        if let Some(goal) = &kudos.goal {
            set_str(&mut self.doc, &obj, "goal", goal)?;
        }
        self.commit(format!(
            "gave kudos {} to {}: “{}”",
            super::short(&id),
            to.name,
            first_line(&text, 40)
        ));
        Ok(id)
    }

    /// Change the words of kudos or the goal they are about: the text merges as a text diff,
    /// the goal is replaced as a whole. Whether the person may (only the author may) is for
    /// the caller to check.
    pub fn set_kudos(&mut self, id: &ItemId, changes: KudosChanges) -> Result<()> {
        let mut fields = Vec::new();
        if let Some(t) = changes.text {
            fields.push(Field::Text("text", required("kudos text", &t)?));
        }
        if let Some(goal) = changes.goal {
            self.item(Kind::Goal, &goal)?;
            fields.push(Field::Str("goal", Some(goal.to_string())));
        }
        let obj = self.item_in("kudos", "kudos", id)?;
        let label = format!("kudos {}", super::short(id));
        self.update(&obj, "kudos", label, &fields, "--text, --goal")
    }

    /// Archive kudos (or bring them back).
    pub fn archive_kudos(&mut self, id: &ItemId, archived: bool) -> Result<()> {
        self.flag_in("kudos", "kudos", id, archived)
    }

    /// Resolve an id or unique id prefix of kudos to the full id, as [`Workspace::resolve`] does
    /// for the older kinds.
    pub fn resolve_kudos(&self, prefix: &str) -> Result<ItemId> {
        self.resolve_in("kudos", "kudos", prefix)
    }

    /// Resolve an id or unique id prefix in the collection `collection` (one that is not a
    /// [`Kind`]), across conflicting maps, naming it `noun` in errors.
    pub(super) fn resolve_in(
        &self,
        collection: &str,
        noun: &'static str,
        prefix: &str,
    ) -> Result<ItemId> {
        let mut ids: Vec<String> = get_all_maps(&self.doc, &ROOT, collection)
            .iter()
            .flat_map(|m| keys(&self.doc, m))
            .collect();
        ids.sort();
        ids.dedup();
        super::resolve_prefix(noun, &prefix.trim().to_ascii_lowercase(), ids)
    }

    /// The map of the item `id` in the collection `collection` (one that is not a [`Kind`]).
    pub(super) fn item_in(&self, collection: &str, noun: &str, id: &ItemId) -> Result<ObjId> {
        get_all_maps(&self.doc, &ROOT, collection)
            .into_iter()
            .find_map(|m| get_map(&self.doc, &m, id))
            .ok_or_else(|| Error::Invalid(format!("no {noun} with id '{}'", id.as_str())))
    }

    /// Set the `archived` flag of the item `id` in the collection `collection` (one that is not
    /// a [`Kind`]), naming it `noun` in the change message.
    pub(super) fn flag_in(
        &mut self,
        collection: &str,
        noun: &str,
        id: &ItemId,
        archived: bool,
    ) -> Result<()> {
        let obj = self.item_in(collection, noun, id)?;
        self.doc.put(&obj, "archived", archived)?;
        let verb = if archived { "archived" } else { "restored" };
        self.commit(format!("{verb} {noun} {}", super::short(id)));
        Ok(())
    }

    /// The items of a collection that is not a [`Kind`], across conflicting maps (see
    /// [`get_all_maps`]), each read once, oldest first.
    pub(super) fn read_collection<T: super::HasMeta>(
        &self,
        collection: &str,
        read: impl Fn(&Self, &str, &ObjId) -> T,
    ) -> Vec<T> {
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::new();
        for map in get_all_maps(&self.doc, &ROOT, collection) {
            for id in keys(&self.doc, &map) {
                if !seen.insert(id.clone()) {
                    continue;
                }
                if let Some(obj) = get_map(&self.doc, &map, &id) {
                    items.push(read(self, &id, &obj));
                }
            }
        }
        items.sort_by(|a: &T, b: &T| {
            (&a.meta().created_at, a.id()).cmp(&(&b.meta().created_at, b.id()))
        });
        items
    }

    fn read_kudos(&self, id: &str, obj: &ObjId) -> Kudos {
        let from = get_string(&self.doc, obj, "from").unwrap_or_default();
        let to = get_string(&self.doc, obj, "to").unwrap_or_default();
        Kudos {
            id: ItemId::from_stored(id),
            from_name: self.display_name(&from),
            from,
            to_name: self.display_name(&to),
            to,
            text: get_string(&self.doc, obj, "text").unwrap_or_default(),
            goal: get_string(&self.doc, obj, "goal").map(ItemId::from_stored),
            meta: self.meta(obj),
        }
    }

    /// Every kudos, archived ones included, oldest first.
    pub fn kudos(&self) -> Vec<Kudos> {
        self.read_collection("kudos", |ws, id, obj| ws.read_kudos(id, obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{add_goal_titled, merge_both, pair};

    #[test]
    fn kudos_go_to_another_participant_and_merge() {
        let (mut ana, mut ben) = pair();
        let ben_id = ana.find_participant("ben").unwrap().id;
        let ana_id = ben.find_participant("ANA").unwrap().id;
        assert_eq!(ana.find_participant(&ben_id[..6]).unwrap().name, "Ben");
        assert!(ana.find_participant("Zed").is_err());
        let goal = add_goal_titled(&mut ana, "Ship it");
        merge_both(&mut ana, &mut ben);
        let k = ana
            .give_kudos(NewKudos {
                to: ben_id.clone(),
                text: "Great demo, well done".into(),
                goal: Some(goal.clone()),
            })
            .unwrap();
        ben.give_kudos(NewKudos {
            to: ana_id.clone(),
            text: "Thanks for the review".into(),
            goal: None,
        })
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let all = ben.kudos();
        assert_eq!(all.len(), 2);
        let mine = all.iter().find(|x| x.id == k).unwrap();
        assert_eq!(
            (mine.from_name.as_str(), mine.to_name.as_str()),
            ("Ana", "Ben")
        );
        assert_eq!(mine.goal, Some(goal));
        // Not to oneself, not empty, not a pasted book.
        let me = ana_id.clone();
        for (to, text) in [(me, "hi"), (ben_id.clone(), "  ")] {
            assert!(ana
                .give_kudos(NewKudos {
                    to,
                    text: text.into(),
                    goal: None
                })
                .is_err());
        }
        let big = "x".repeat(crate::model::fields::MAX_TEXT_BYTES + 1);
        let err = ana
            .give_kudos(NewKudos {
                to: ben_id,
                text: big,
                goal: None,
            })
            .unwrap_err();
        assert!(err.to_string().contains("kudos text"), "{err}");
        ana.archive_kudos(&k, true).unwrap();
        assert!(
            ana.kudos()
                .iter()
                .find(|x| x.id == k)
                .unwrap()
                .meta
                .archived
        );
    }
}
