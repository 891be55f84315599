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
}

impl Workspace {
    pub(super) fn put_participant(
        &mut self,
        name: &str,
        role: &Role,
        actor: &ActorId,
    ) -> Result<String> {
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        // A participant id has the form of an item id, but is not an item: it stays a string.
        let pid = new_item_id().to_string();
        let at = self.stamp();
        let p = self
            .doc
            .put_object(&participants, pid.as_str(), automerge::ObjType::Map)?;
        self.doc.put(&p, "name", name)?;
        self.doc.put(&p, "role", role.as_str())?;
        self.doc.put(&p, "created_at", at.as_str())?;
        let devices = self
            .doc
            .put_object(&p, "devices", automerge::ObjType::Map)?;
        self.doc.put(&devices, actor.to_hex_string(), at.as_str())?;
        Ok(pid)
    }

    /// Add a participant whose first device is `actor`; returns the new participant id.
    pub fn add_participant(&mut self, name: &str, role: Role, actor: &ActorId) -> Result<String> {
        let name = non_empty("name", name)?;
        let pid = self.put_participant(&name, &role, actor)?;
        self.commit(format!("{name} joined as {role}"));
        Ok(pid)
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

    /// Everyone in the workspace, by name.
    pub fn participants(&self) -> Vec<Participant> {
        let Some(map) = get_map(&self.doc, &ROOT, "participants") else {
            return Vec::new();
        };
        let mut out: Vec<Participant> = keys(&self.doc, &map)
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
                    devices,
                    id,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
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
