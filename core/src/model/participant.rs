//! The people of a mentoring pair: their roles, their devices, and how an owner typed by a person
//! becomes a participant id.
//!
//! A participant may use several devices; each device's automerge actor is recorded under the
//! participant, so history and conflicts can name people rather than actor ids.

use super::fields::{ensure_map, get_map, get_stored, get_string, keys};
use super::time::Stored;
use super::{new_item_id, non_empty, Workspace};
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

open_enum! {
    /// A participant's role in the pair. `coordinator`, an older name for an observer, is still
    /// accepted when typed or carried in an invite.
    pub enum Role ("role") {
        Mentor = "mentor",
        Mentee = "mentee",
        Observer = "observer" | "coordinator",
    }
}

/// Someone taking part in the workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub devices: Vec<String>,
    pub created_at: Option<Stored<Timestamp>>,
    /// When a mentor removed this participant; absent for everyone still taking part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<Stored<Timestamp>>,
}

impl Participant {
    /// Whether a mentor removed this participant.
    pub fn is_removed(&self) -> bool {
        self.removed_at.is_some()
    }
}

/// A participant entry that was not believed, and why (for a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredEntry {
    pub id: String,
    pub reason: String,
}

impl Workspace {
    pub(super) fn put_participant(
        &mut self,
        name: &str,
        role: &Role,
        actor: &ActorId,
    ) -> Result<String> {
        // A participant id has the form of an item id, but is not an item: it stays a string.
        let pid = new_item_id().to_string();
        self.put_entry(&pid, name, role, Some(actor))?;
        Ok(pid)
    }

    /// Write participant `pid`'s entry, with its first device when it has one.
    fn put_entry(
        &mut self,
        pid: &str,
        name: &str,
        role: &Role,
        actor: Option<&ActorId>,
    ) -> Result<()> {
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let at = self.stamp();
        let p = self
            .doc
            .put_object(&participants, pid, automerge::ObjType::Map)?;
        self.doc.put(&p, "name", name)?;
        self.doc.put(&p, "role", role.as_str())?;
        self.doc.put(&p, "created_at", at.as_str())?;
        let devices = self
            .doc
            .put_object(&p, "devices", automerge::ObjType::Map)?;
        if let Some(actor) = actor {
            self.doc.put(&devices, actor.to_hex_string(), at.as_str())?;
        }
        Ok(())
    }

    /// Add a participant whose first device is `actor`; returns the new participant id.
    pub fn add_participant(&mut self, name: &str, role: Role, actor: &ActorId) -> Result<String> {
        let name = non_empty("name", name)?;
        if let Some(holder) = self.name_holder(&name, None) {
            return Err(Error::Invalid(format!(
                "“{}” is already a participant ({}); choose another name",
                holder.name, holder.role
            )));
        }
        let pid = self.put_participant(&name, &role, actor)?;
        self.commit(format!("{name} joined as {role}"));
        Ok(pid)
    }

    /// List an observer the inviter names, under the participant id their invite carries.
    ///
    /// An observer follows the plan read-only: the relay refuses every change from their
    /// devices, so they cannot write their own entry as mentors and mentees do when they join.
    /// The mentor who invites them writes it instead, with no devices, so partners see who
    /// follows their plan and the log says when they were invited.
    pub fn add_observer(&mut self, pid: &str, name: &str) -> Result<()> {
        let name = non_empty("name", name)?;
        if let Some(holder) = self.name_holder(&name, None) {
            return Err(Error::Invalid(format!(
                "“{}” is already a participant ({}); choose another name",
                holder.name, holder.role
            )));
        }
        if self.participant(pid).is_some() {
            return Err(Error::Invalid(format!("participant {pid} already exists")));
        }
        self.put_entry(pid, &name, &Role::Observer, None)?;
        self.commit(format!("invited {name} as observer"));
        Ok(())
    }

    /// Record another device of an existing participant.
    pub fn add_device(&mut self, participant: &str, actor: &ActorId) -> Result<()> {
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let p = get_map(&self.doc, &participants, participant).ok_or_else(|| Error::UnknownId {
            kind: "participant",
            prefix: participant.to_string(),
        })?;
        let devices = ensure_map(&mut self.doc, &p, "devices")?;
        let at = self.stamp();
        self.doc.put(&devices, actor.to_hex_string(), at.as_str())?;
        self.commit("added a device".to_string());
        Ok(())
    }

    /// Everyone in the workspace, by name, without the entries that cannot be believed (see
    /// [`Workspace::checked_participants`]).
    pub fn participants(&self) -> Vec<Participant> {
        self.checked_participants().0
    }

    /// Every participant entry as stored, before any check.
    fn raw_participants(&self) -> Vec<Participant> {
        let Some(map) = get_map(&self.doc, &ROOT, "participants") else {
            return Vec::new();
        };
        keys(&self.doc, &map)
            .into_iter()
            .filter_map(|id| {
                let p = get_map(&self.doc, &map, &id)?;
                let devices = get_map(&self.doc, &p, "devices")
                    .map(|d| keys(&self.doc, &d))
                    .unwrap_or_default();
                Some(Participant {
                    name: get_string(&self.doc, &p, "name").unwrap_or_else(|| id.clone()),
                    role: Role::from_stored(&get_string(&self.doc, &p, "role").unwrap_or_default()),
                    created_at: get_stored(&self.doc, &p, "created_at"),
                    removed_at: get_stored(&self.doc, &p, "removed_at"),
                    devices,
                    id,
                })
            })
            .collect()
    }

    /// The participants that can be believed, by name, and the entries that were ignored.
    ///
    /// tandem never writes two participants with the same name, nor one device under two
    /// participants; another automerge client can. Such an entry is a forgery or a race, and
    /// is settled the same way on every device: the entry created first (by `created_at`, then
    /// id) keeps the name, and a device belongs to the first entry that lists it. A later entry
    /// with a name already held is ignored whole; a later entry's claim to a device already
    /// held is dropped from it. Nothing is deleted from the document.
    pub fn checked_participants(&self) -> (Vec<Participant>, Vec<IgnoredEntry>) {
        let mut all = self.raw_participants();
        let created = |p: &Participant| {
            p.created_at
                .as_ref()
                .and_then(|c| c.valid().copied())
                .map_or(i64::MAX, |t| t.as_millisecond())
        };
        all.sort_by(|a, b| created(a).cmp(&created(b)).then(a.id.cmp(&b.id)));
        let mut names = std::collections::HashSet::new();
        let mut devices = std::collections::HashSet::new();
        let mut kept = Vec::new();
        let mut ignored = Vec::new();
        for mut p in all {
            if !names.insert(p.name.to_lowercase()) {
                ignored.push(IgnoredEntry {
                    reason: format!("a second participant named “{}”", p.name),
                    id: p.id,
                });
                continue;
            }
            let before = p.devices.len();
            p.devices.retain(|d| devices.insert(d.clone()));
            if p.devices.len() < before {
                ignored.push(IgnoredEntry {
                    reason: format!("“{}” claims a device of another participant", p.name),
                    id: p.id.clone(),
                });
            }
            kept.push(p);
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        (kept, ignored)
    }

    /// The participant with id `id`, if believed.
    pub fn participant(&self, id: &str) -> Option<Participant> {
        self.participants().into_iter().find(|p| p.id == id)
    }

    /// The participant, other than `except`, who holds `name` (case-insensitively).
    pub fn name_holder(&self, name: &str, except: Option<&str>) -> Option<Participant> {
        self.participants()
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()) && Some(p.id.as_str()) != except)
    }

    /// Give a participant a new name, unique within the workspace.
    pub fn rename_participant(&mut self, id: &str, name: &str) -> Result<()> {
        let name = non_empty("name", name)?;
        let old = self.participant(id).ok_or_else(|| Error::UnknownId {
            kind: "participant",
            prefix: id.to_string(),
        })?;
        if let Some(holder) = self.name_holder(&name, Some(id)) {
            return Err(Error::Invalid(format!(
                "“{}” is already the name of another participant ({})",
                holder.name, holder.role
            )));
        }
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let p = get_map(&self.doc, &participants, id).expect("found above");
        self.doc.put(&p, "name", name.as_str())?;
        self.commit(format!("{} is now called {name}", old.name));
        Ok(())
    }

    /// Mark a participant removed: tandem clients then refuse changes made for them (see
    /// docs/model.md, "Participants"). History keeps what they did before.
    pub fn remove_participant(&mut self, id: &str) -> Result<()> {
        let old = self.participant(id).ok_or_else(|| Error::UnknownId {
            kind: "participant",
            prefix: id.to_string(),
        })?;
        // What the mentor has seen of the removed person's work stays; whatever else their
        // devices write is refused (see `removal.rs`).
        let seen = super::removal::format_heads(&self.doc.get_heads());
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let p = get_map(&self.doc, &participants, id).expect("found above");
        let at = self.stamp();
        self.doc.put(&p, "removed_at", at.as_str())?;
        self.doc.put(&p, super::removal::REMOVED_SEEN, seen)?;
        self.commit(format!("removed {}", old.name));
        Ok(())
    }

    /// The participant who owns the device `actor`, if anyone does.
    pub fn participant_for_actor(&self, actor: &ActorId) -> Option<Participant> {
        let hex = actor.to_hex_string();
        self.participants()
            .into_iter()
            .find(|p| p.devices.contains(&hex))
    }

    /// The name to show for a participant id or a free-form owner.
    pub fn display_name(&self, who: &str) -> String {
        // Lists name people once per item, so the id → name map is built once and kept until
        // the document changes (every change goes through `commit` or `doc_mut`).
        let mut names = self.names.borrow_mut();
        let names = names.get_or_insert_with(|| {
            self.participants()
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect()
        });
        names.get(who).cloned().unwrap_or_else(|| who.to_string())
    }

    /// Participants as (id, name), for resolving owners.
    pub fn people(&self) -> Vec<(String, String)> {
        self.participants()
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    }

    /// Turn an owner typed by a person into what is stored: the id of a participant whose name
    /// matches (case-insensitively), or else the name as typed, so a pair can assign work to
    /// someone who has not joined yet.
    pub fn resolve_owner(&self, owner: &str) -> Result<String> {
        resolve_owner_among(&self.people(), owner)
    }
}

/// The owner to store for `owner` typed by a person, among (participant id, name) pairs: the id
/// of the one participant whose name matches case-insensitively (or whose id it is), or else the
/// name as typed.
pub fn resolve_owner_among(people: &[(String, String)], owner: &str) -> Result<String> {
    let owner = non_empty("owner", owner)?;
    let found: Vec<&(String, String)> = people
        .iter()
        .filter(|(id, name)| name.eq_ignore_ascii_case(&owner) || *id == owner)
        .collect();
    Ok(match found.as_slice() {
        [one] => one.0.clone(),
        _ => owner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::pair;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc};

    /// Write a participant entry as a foreign automerge client could, bypassing every check.
    fn forge(ws: &mut Workspace, id: &str, name: &str, role: &str, device: &str, at: &str) {
        let doc = ws.doc_mut();
        let (_, participants) = doc.get(ROOT, "participants").unwrap().unwrap();
        let p = doc.put_object(&participants, id, ObjType::Map).unwrap();
        doc.put(&p, "name", name).unwrap();
        doc.put(&p, "role", role).unwrap();
        doc.put(&p, "created_at", at).unwrap();
        let devices = doc.put_object(&p, "devices", ObjType::Map).unwrap();
        doc.put(&devices, device, at).unwrap();
        doc.commit();
    }

    #[test]
    fn an_observer_is_listed_by_the_mentor_who_invites_them() {
        let (mut ana, _) = pair();
        let pid = crate::model::new_item_id().to_string();
        ana.add_observer(&pid, "Cora").unwrap();
        let cora = ana.participant(&pid).unwrap();
        assert_eq!((cora.name.as_str(), &cora.role), ("Cora", &Role::Observer));
        assert!(cora.devices.is_empty());
        // Names stay unique, and an id is taken once.
        assert!(ana
            .add_observer(crate::model::new_item_id().as_ref(), "ana")
            .is_err());
        assert!(ana.add_observer(&pid, "Cleo").is_err());
        let said: Vec<String> = ana.history(None).into_iter().map(|h| h.message).collect();
        assert!(
            said.iter().any(|m| m == "invited Cora as observer"),
            "{said:?}"
        );
    }

    #[test]
    fn names_are_unique_and_changeable() {
        let (mut ana, _) = pair();
        let err = ana
            .add_participant("ana", Role::Mentee, &ActorId::random())
            .unwrap_err();
        assert!(err.to_string().contains("already a participant"), "{err}");
        let ben = ana.name_holder("Ben", None).unwrap();
        assert!(ana.rename_participant(&ben.id, "ANA").is_err());
        ana.rename_participant(&ben.id, "Benjamin").unwrap();
        assert_eq!(ana.display_name(&ben.id), "Benjamin");
        // Renaming oneself to one's own name in another case is allowed.
        ana.rename_participant(&ben.id, "benjamin").unwrap();
        ana.remove_participant(&ben.id).unwrap();
        assert!(ana.participant(&ben.id).unwrap().is_removed());
    }

    #[test]
    fn forged_participant_entries_are_ignored_and_lose_nothing_else() {
        let (mut ana, _) = pair();
        let real = ana.name_holder("Ana", None).unwrap();
        let device = real.devices[0].clone();
        let people_before = ana.participants().len();
        // A second mentor named Ana, and a stranger claiming Ana's device, both written later.
        forge(
            &mut ana,
            "forged-1",
            "ana",
            "mentor",
            "00aa",
            "2099-01-01T00:00:00Z",
        );
        forge(
            &mut ana,
            "forged-2",
            "Mallory",
            "mentor",
            &device,
            "2099-01-01T00:00:00Z",
        );
        let (people, ignored) = ana.checked_participants();
        assert_eq!(people.len(), people_before + 1, "{people:?}");
        let ids: Vec<&str> = ignored.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["forged-1", "forged-2"]);
        let mallory = people.iter().find(|p| p.name == "Mallory").unwrap();
        assert!(mallory.devices.is_empty());
        // Ana is still who her device says, with her role.
        let actor = ActorId::from(hex::decode(&device).unwrap());
        let owner = ana.participant_for_actor(&actor).unwrap();
        assert_eq!((owner.id, owner.role), (real.id, Role::Mentor));
    }
}
