//! What a home knows about syncing: the relay each workspace syncs with, this device's storage
//! id, the sync state kept per relay, the heads each relay is known to hold, and merging in what a
//! relay sent.
//!
//! Like the rest of the home's bookkeeping this lives under `home/` and `ws/<id>/` and is never
//! synced itself.

use super::{get_text, key, Home, Opened};
use crate::model::Workspace;
use crate::protocol::DocumentId;
use crate::store::docstore::{self, DocState};
use crate::Result;
use automerge::{AutoCommit, ChangeHash};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An invite this device redeemed whose join has not finished yet — the name it asked for was
/// taken, or the first fetch failed. Redeeming spends a single-use code at the relay, so the
/// ticket it bought is kept here, by the code's hash, and the same `tandem join CODE` later
/// finishes with it instead of asking the relay again. The token is a secret like a relay's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemedInvite {
    /// The workspace's document id, as the relay wrote it.
    pub workspace: String,
    /// The relay's websocket URL.
    pub url: String,
    /// The token the relay minted for this device.
    pub token: String,
    /// The CA file given for the relay, if any.
    pub ca_file: Option<std::path::PathBuf>,
    /// The role the invite gives.
    pub role: String,
    /// The participant a device invite joins as.
    pub participant: Option<String>,
}

/// Where a workspace syncs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RelaySettings {
    /// The relay's websocket URL, e.g. `ws://127.0.0.1:3030` or `wss://relay.example`.
    pub url: String,
    /// The access token, if the relay needs one. Never printed.
    #[serde(skip)]
    pub token: Option<String>,
    /// A private certificate authority (a PEM file) trusted for this relay's `wss://`, besides
    /// the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Home {
    /// This home's automerge-repo storage id, created on first use. Relays keep a sync state per
    /// storage id, so a reconnecting device only exchanges what changed since last time.
    pub fn storage_id(&self) -> Result<String> {
        if let Some(id) = get_text(self.store.as_ref(), &key(&["home", "storage-id"])?)? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.store
            .put(&key(&["home", "storage-id"])?, id.as_bytes())?;
        self.store.flush()?;
        Ok(id)
    }

    /// The relay a workspace syncs with, if one was set.
    pub fn relay(&self, workspace: &DocumentId) -> Result<Option<RelaySettings>> {
        let workspace = &workspace.to_string();
        let Some(url) = get_text(self.store.as_ref(), &key(&["ws", workspace, "relay"])?)? else {
            return Ok(None);
        };
        let token = get_text(
            self.store.as_ref(),
            &key(&["ws", workspace, "relay-token"])?,
        )?;
        let ca_file = get_text(self.store.as_ref(), &key(&["ws", workspace, "relay-ca"])?)?;
        Ok(Some(RelaySettings {
            url,
            token,
            ca_file: ca_file.map(Into::into),
        }))
    }

    /// Remember the relay (and token) a workspace syncs with.
    pub fn set_relay(&self, workspace: &DocumentId, relay: &RelaySettings) -> Result<()> {
        let workspace = &workspace.to_string();
        self.store
            .put(&key(&["ws", workspace, "relay"])?, relay.url.as_bytes())?;
        let token_key = key(&["ws", workspace, "relay-token"])?;
        match &relay.token {
            Some(t) => self.store.put(&token_key, t.as_bytes())?,
            None => self.store.delete(&token_key)?,
        }
        let ca_key = key(&["ws", workspace, "relay-ca"])?;
        match relay.ca_file.as_deref().and_then(|p| p.to_str()) {
            Some(path) => self.store.put(&ca_key, path.as_bytes())?,
            None => self.store.delete(&ca_key)?,
        }
        self.store.flush()
    }

    /// Keep a redeemed invite until its join finishes; `code_hash` names the code without
    /// holding it.
    pub fn remember_redeemed(&self, code_hash: &str, invite: &RedeemedInvite) -> Result<()> {
        let json = serde_json::to_vec(invite).expect("a redeemed invite serializes");
        self.store.put(&key(&["joins", code_hash])?, &json)?;
        self.store.flush()
    }

    /// The redeemed invite kept for a code, if its join never finished. A record that does not
    /// read is treated as absent, so the code is simply redeemed again.
    pub fn redeemed(&self, code_hash: &str) -> Result<Option<RedeemedInvite>> {
        Ok(self
            .store
            .get(&key(&["joins", code_hash])?)?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Drop the redeemed invite of a finished join.
    pub fn forget_redeemed(&self, code_hash: &str) -> Result<()> {
        self.store.delete(&key(&["joins", code_hash])?)?;
        self.store.flush()
    }

    /// When the workspace last completed a sync (RFC 3339), if ever.
    pub fn last_sync(&self, workspace: &DocumentId) -> Result<Option<String>> {
        get_text(
            self.store.as_ref(),
            &key(&["ws", &workspace.to_string(), "last-sync"])?,
        )
    }

    /// Record a completed sync: when, and the heads the relay (by storage id) now holds.
    pub fn record_sync(
        &self,
        workspace: &DocumentId,
        relay_storage_id: &str,
        heads: &[ChangeHash],
        at: Timestamp,
    ) -> Result<()> {
        self.store.put(
            &key(&["ws", &workspace.to_string(), "last-sync"])?,
            crate::model::time::format_instant(at).as_bytes(),
        )?;
        self.set_synced_heads(workspace, relay_storage_id, heads)
    }

    /// The stored document of a workspace, as automerge sees it (for sync).
    pub fn load_doc(&self, id: &DocumentId) -> Result<Option<AutoCommit>> {
        Ok(docstore::load(self.store.as_ref(), &id.to_string())?.map(|(doc, _)| doc))
    }

    /// Merge a workspace document that arrived from elsewhere (a relay) into the stored one, and
    /// flush. A document new to this home is checked to be a workspace this build can read before
    /// anything is stored. Returns the merged document and how many changes were new.
    pub fn absorb(
        &self,
        id: &DocumentId,
        incoming: &mut AutoCommit,
    ) -> Result<(AutoCommit, usize)> {
        let (doc, new) = self.absorb_changes(id, incoming)?;
        Ok((doc, new.len()))
    }

    /// [`Home::absorb`], returning the hashes of the changes that were new to this home (in
    /// causal order), so a watcher can say who changed what.
    pub fn absorb_changes(
        &self,
        id: &DocumentId,
        incoming: &mut AutoCommit,
    ) -> Result<(AutoCommit, Vec<ChangeHash>)> {
        let id = &id.to_string();
        let (mut doc, mut state) = match docstore::load(self.store.as_ref(), id)? {
            Some(found) => found,
            None => {
                crate::model::check_schema(incoming, id)?;
                (
                    AutoCommit::new().with_actor(self.actor.clone()),
                    DocState::new(),
                )
            }
        };
        // The save below records this device's actor in the tip, which the quick path needs.
        doc.set_actor(self.actor.clone());
        let new: Vec<ChangeHash> = doc
            .get_changes_added(incoming)
            .iter()
            .map(|c| c.hash())
            .collect();
        if !new.is_empty() {
            doc.merge(incoming)?;
            crate::model::check_schema(&doc, id)?;
            docstore::save(self.store.as_ref(), id, &mut doc, &mut state)?;
            let title = crate::model::fields::get_string(&doc, &automerge::ROOT, "title")
                .unwrap_or_default();
            self.store
                .put(&key(&["ws", id, "title"])?, title.as_bytes())?;
            let ws = Workspace::open(doc, id, Timestamp::now())?;
            self.refresh_quick_caches(id, &ws)?;
            doc = ws.into_doc();
            self.store.flush()?;
        }
        Ok((doc, new))
    }

    /// Persist a relay's sync state for a document. Does not flush; [`Home::record_sync`] does.
    pub fn save_sync_state(
        &self,
        doc: &str,
        relay_storage_id: &str,
        state: &automerge::sync::State,
    ) -> Result<()> {
        docstore::save_sync_state(self.store.as_ref(), doc, relay_storage_id, state)
    }

    /// The persisted sync state with a relay, if any.
    pub fn sync_state(
        &self,
        doc: &str,
        relay_storage_id: &str,
    ) -> Result<Option<automerge::sync::State>> {
        docstore::load_sync_state(self.store.as_ref(), doc, relay_storage_id)
    }

    /// Record that a relay holds the workspace up to `heads`.
    pub fn set_synced_heads(
        &self,
        id: &DocumentId,
        relay: &str,
        heads: &[ChangeHash],
    ) -> Result<()> {
        let value: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        self.store.put(
            &key(&["ws", &id.to_string(), "synced", relay])?,
            value.join(",").as_bytes(),
        )?;
        self.store.flush()
    }

    /// The heads a relay was last known to hold, if this workspace was ever synced with it.
    pub fn synced_heads(&self, id: &DocumentId, relay: &str) -> Result<Option<Vec<ChangeHash>>> {
        let Some(text) = get_text(
            self.store.as_ref(),
            &key(&["ws", &id.to_string(), "synced", relay])?,
        )?
        else {
            return Ok(None);
        };
        Ok(Some(
            text.split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|h| h.parse().ok())
                .collect(),
        ))
    }

    /// The heads each relay was last known to hold, as stored: (relay storage id, heads).
    pub(crate) fn synced_records(
        &self,
        id: &DocumentId,
    ) -> Result<crate::store::read_model::SyncedHeads> {
        let prefix = key(&["ws", &id.to_string(), "synced"])?.children();
        Ok(self
            .store
            .scan_prefix(&prefix)?
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect())
    }

    /// How many changes of the workspace no relay is known to hold.
    pub fn unsynced_changes(&self, opened: &mut Opened) -> Result<usize> {
        let prefix = key(&["ws", &opened.key, "synced"])?.children();
        let mut best: Option<usize> = None;
        for (_, v) in self.store.scan_prefix(&prefix)? {
            let heads: Vec<ChangeHash> = String::from_utf8_lossy(&v)
                .split(',')
                .filter_map(|h| h.parse().ok())
                .collect();
            let missing = opened.ws.doc_mut().get_changes_meta(&heads).len();
            best = Some(best.map_or(missing, |b: usize| b.min(missing)));
        }
        match best {
            Some(n) => Ok(n),
            None => Ok(opened.ws.doc_mut().get_changes_meta(&[]).len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStorage;
    use std::sync::Arc;

    #[test]
    fn a_relay_is_remembered_with_its_token_and_private_ca() {
        let home = Home::open(Arc::new(MemoryStorage::default())).unwrap();
        let id = &"4NMNnkMhL8jXrdJ9jamS58PAVdXu"
            .parse::<DocumentId>()
            .unwrap();
        assert_eq!(home.relay(id).unwrap(), None);
        let relay = RelaySettings {
            url: "wss://relay.example".into(),
            token: Some("tdm_x".into()),
            ca_file: Some("/etc/tandem/ca.pem".into()),
        };
        home.set_relay(id, &relay).unwrap();
        assert_eq!(home.relay(id).unwrap(), Some(relay));
        // Moving to a relay with public roots and no token forgets both.
        let public = RelaySettings {
            url: "wss://other.example".into(),
            token: None,
            ca_file: None,
        };
        home.set_relay(id, &public).unwrap();
        assert_eq!(home.relay(id).unwrap(), Some(public));
    }
}
