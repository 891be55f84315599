//! The relay's side of the protocol: many peers, many documents.

use super::peer::{DocSync, SyncError};
use crate::protocol::{DocumentId, Message, PeerMetadata, PROTOCOL_VERSION};
use crate::store::docstore::{self, DocState};
use crate::store::Storage;
use automerge::AutoCommit;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a connection may do, decided by the server from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The documents it may read; `None` means every document.
    pub docs: Option<HashSet<String>>,
    /// Whether its changes are accepted.
    pub write: bool,
}

impl Access {
    /// Read and write every document (`--open`, or an operator's token).
    pub fn full() -> Self {
        Self {
            docs: None,
            write: true,
        }
    }

    fn may_read(&self, doc: &str) -> bool {
        self.docs.as_ref().is_none_or(|d| d.contains(doc))
    }
}

/// Why the relay is closing a peer's connection. The message is sent to the peer in an
/// `error` message, so it never contains anything the peer should not learn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PeerError {
    pub message: String,
}

fn refuse(message: impl Into<String>) -> PeerError {
    PeerError {
        message: message.into(),
    }
}

/// Counters an operator can read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelayStats {
    pub peers: usize,
    pub documents_in_memory: usize,
    pub messages_in: u64,
    pub messages_out: u64,
    pub changes_stored: u64,
    pub peers_refused: u64,
    pub documents_reloaded_after_crash: u64,
}

#[derive(Debug)]
struct PeerInfo {
    /// Set only for peers that persist (a storage id and not ephemeral), whose sync state the
    /// relay keeps across connections.
    storage_id: Option<String>,
    access: Access,
}

#[derive(Debug)]
struct DocEntry {
    doc: AutoCommit,
    state: DocState,
    /// The peers syncing this document, each with its own sync state.
    peers: HashMap<String, DocSync>,
    /// Peers that asked with `request` while the relay had nothing; they are told
    /// `doc-unavailable` once and synced as soon as someone uploads the document.
    waiting: HashSet<String>,
    /// The highest ephemeral `count` seen per (sender, session), to drop duplicates.
    ephemeral_seen: HashMap<(String, String), u64>,
    last_active: Instant,
}

/// The relay engine. One per server process; see the module docs of [`super`].
pub struct Relay {
    storage: Arc<dyn Storage>,
    peer_id: String,
    storage_id: String,
    peers: HashMap<String, PeerInfo>,
    docs: HashMap<String, DocEntry>,
    dirty: bool,
    stats: RelayStats,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("peer_id", &self.peer_id)
            .field("peers", &self.peers.len())
            .field("docs", &self.docs.len())
            .finish()
    }
}

/// Messages to deliver: (target peer, message).
pub type Outgoing = Vec<(String, Message)>;

impl Relay {
    /// A relay on `storage`. Its storage id is created once and kept under
    /// `storage-adapter-id`, as automerge-repo does.
    pub fn new(storage: Arc<dyn Storage>, peer_id: impl Into<String>) -> crate::Result<Self> {
        let storage_id = match storage.get(b"storage-adapter-id")? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                storage.put(b"storage-adapter-id", id.as_bytes())?;
                storage.flush()?;
                id
            }
        };
        Ok(Self {
            storage,
            peer_id: peer_id.into(),
            storage_id,
            peers: HashMap::new(),
            docs: HashMap::new(),
            dirty: false,
            stats: RelayStats::default(),
        })
    }

    /// The relay's own peer id.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    /// The relay's storage id.
    pub fn storage_id(&self) -> &str {
        &self.storage_id
    }

    /// Current counters.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            peers: self.peers.len(),
            documents_in_memory: self.docs.len(),
            ..self.stats.clone()
        }
    }

    /// Handle a connection's first message. On success the peer is registered and the `peer`
    /// reply is returned, with the peer id the connection is now bound to.
    ///
    /// If a peer with the same id is already connected, the caller must close that older
    /// connection; [`Relay::disconnect`] is called here so its sync states start afresh.
    pub fn join(
        &mut self,
        message: Message,
        access: Access,
    ) -> Result<(String, Message), PeerError> {
        self.stats.messages_in += 1;
        let Message::Join {
            sender_id,
            supported_protocol_versions,
            peer_metadata,
        } = message
        else {
            self.stats.peers_refused += 1;
            return Err(refuse(format!(
                "expected a join message first, got {}",
                message.type_name()
            )));
        };
        if let Some(versions) = &supported_protocol_versions {
            if !versions.iter().any(|v| v == PROTOCOL_VERSION) {
                self.stats.peers_refused += 1;
                return Err(refuse("unsupported protocol version"));
            }
        }
        if sender_id.is_empty() || sender_id.len() > 256 {
            self.stats.peers_refused += 1;
            return Err(refuse("invalid senderId"));
        }
        if self.peers.contains_key(&sender_id) {
            self.disconnect(&sender_id);
        }
        let storage_id = peer_metadata
            .filter(|m| !m.is_ephemeral)
            .and_then(|m| m.storage_id)
            .filter(|s| !s.is_empty() && s.len() <= 128);
        self.peers
            .insert(sender_id.clone(), PeerInfo { storage_id, access });
        let reply = Message::peer(
            self.peer_id.clone(),
            sender_id.clone(),
            Some(PeerMetadata {
                storage_id: Some(self.storage_id.clone()),
                is_ephemeral: false,
            }),
        );
        self.stats.messages_out += 1;
        Ok((sender_id, reply))
    }

    /// Handle a message from a joined peer. Returns the messages to deliver; call
    /// [`Relay::commit`] before delivering them. An error means: send the peer an `error` with
    /// the message, then close its connection (and call [`Relay::disconnect`]).
    pub fn receive(&mut self, from: &str, message: Message) -> Result<Outgoing, PeerError> {
        self.stats.messages_in += 1;
        if !self.peers.contains_key(from) {
            return Err(refuse("join first"));
        }
        if let Some(sender) = message.sender_id() {
            if sender != from {
                return Err(refuse("senderId does not match the joined peer"));
            }
        }
        let out = match message {
            Message::Join { .. } => Err(refuse("already joined")),
            Message::Request {
                document_id, data, ..
            } => self.on_sync(from, document_id, &data, true),
            Message::Sync {
                document_id, data, ..
            } => self.on_sync(from, document_id, &data, false),
            Message::Ephemeral {
                sender_id,
                count,
                session_id,
                document_id,
                data,
                ..
            } => Ok(self.on_ephemeral(from, sender_id, count, session_id, document_id, data)),
            // Advisory or gossip messages that a relay may ignore (PROTOCOL.md sections 4, 6).
            Message::DocUnavailable { .. }
            | Message::Leave { .. }
            | Message::RemoteSubscriptionChange { .. }
            | Message::RemoteHeadsChanged { .. }
            | Message::Unknown { .. } => Ok(Vec::new()),
            Message::Peer { .. } => Err(refuse("unexpected peer message from a client")),
            Message::Error { .. } => Ok(Vec::new()),
        }?;
        self.stats.messages_out += out.len() as u64;
        Ok(out)
    }

    /// Flush everything written since the last commit. Call before delivering outputs.
    pub fn commit(&mut self) -> crate::Result<()> {
        if self.dirty {
            self.storage.flush()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Forget a peer: its in-memory sync states go, persisted ones are saved.
    pub fn disconnect(&mut self, peer: &str) {
        let Some(info) = self.peers.remove(peer) else {
            return;
        };
        let now = Instant::now();
        for (doc_id, entry) in self.docs.iter_mut() {
            entry.waiting.remove(peer);
            if let Some(sync) = entry.peers.remove(peer) {
                entry.last_active = now;
                if let Some(storage_id) = &info.storage_id {
                    // A failure here only costs the peer a longer sync next time.
                    if docstore::save_sync_state(
                        self.storage.as_ref(),
                        doc_id,
                        storage_id,
                        sync.state(),
                    )
                    .is_ok()
                    {
                        self.dirty = true;
                    }
                }
            }
        }
    }

    /// Drop documents that no peer is syncing and that have been idle for `idle`. They are
    /// already stored, so this only frees memory; the next message for one loads it again.
    pub fn evict_idle(&mut self, idle: Duration) -> usize {
        let now = Instant::now();
        let before = self.docs.len();
        self.docs.retain(|_, e| {
            !e.peers.is_empty() || !e.waiting.is_empty() || now.duration_since(e.last_active) < idle
        });
        before - self.docs.len()
    }

    fn entry(&mut self, doc_id: &str) -> Result<&mut DocEntry, PeerError> {
        if !self.docs.contains_key(doc_id) {
            let (doc, state) = match docstore::load(self.storage.as_ref(), doc_id) {
                Ok(Some(found)) => found,
                Ok(None) => (AutoCommit::new(), DocState::new()),
                Err(e) => return Err(refuse(format!("the relay cannot load this document: {e}"))),
            };
            self.docs.insert(
                doc_id.to_string(),
                DocEntry {
                    doc,
                    state,
                    peers: HashMap::new(),
                    waiting: HashSet::new(),
                    ephemeral_seen: HashMap::new(),
                    last_active: Instant::now(),
                },
            );
        }
        Ok(self.docs.get_mut(doc_id).expect("inserted above"))
    }

    fn on_sync(
        &mut self,
        from: &str,
        document_id: String,
        data: &[u8],
        is_request: bool,
    ) -> Result<Outgoing, PeerError> {
        if document_id.parse::<DocumentId>().is_err() {
            return Err(refuse("invalid documentId"));
        }
        let info = self.peers.get(from).expect("checked by receive");
        let (may_read, may_write) = (info.access.may_read(&document_id), info.access.write);
        let peer_storage = info.storage_id.clone();
        if !may_read {
            // Unknown and forbidden look the same, so a token cannot probe for documents.
            return Ok(vec![(
                from.to_string(),
                self.unavailable(from, &document_id),
            )]);
        }
        let message = DocSync::decode(data).map_err(|e| refuse(e.to_string()))?;
        if !may_write && !message.changes.is_empty() {
            return Err(refuse(
                "this connection is read-only: its changes were refused",
            ));
        }
        let storage = self.storage.clone();
        let entry = self.entry(&document_id)?;
        entry.last_active = Instant::now();
        if !entry.peers.contains_key(from) {
            let persisted = peer_storage.as_deref().and_then(|s| {
                docstore::load_sync_state(storage.as_ref(), &document_id, s)
                    .ok()
                    .flatten()
            });
            entry
                .peers
                .insert(from.to_string(), DocSync::new(persisted));
        }
        let sync = entry.peers.get_mut(from).expect("inserted above");
        let changed = match sync.receive(&mut entry.doc, message) {
            Ok(changed) => changed,
            Err(SyncError::Panicked) => {
                // The in-memory copy may be inconsistent: drop it, so the next message reloads
                // the document from storage, and close only this connection.
                self.docs.remove(&document_id);
                self.stats.documents_reloaded_after_crash += 1;
                return Err(refuse("invalid sync data"));
            }
            Err(e) => return Err(refuse(e.to_string())),
        };
        let mut out = Vec::new();
        let mut wrote = false;
        if changed {
            wrote = docstore::save(
                storage.as_ref(),
                &document_id,
                &mut entry.doc,
                &mut entry.state,
            )
            .map_err(|e| refuse(format!("the relay could not store the change: {e}")))?;
        }
        let mut wrote_state = false;
        if let Some(storage_id) = &peer_storage {
            let state = entry.peers[from].state();
            wrote_state =
                docstore::save_sync_state(storage.as_ref(), &document_id, storage_id, state)
                    .is_ok();
        }
        if wrote {
            self.stats.changes_stored += 1;
        }
        self.dirty |= wrote || wrote_state;
        let entry = self.docs.get_mut(&document_id).expect("present");
        let have_nothing = entry.doc.get_heads().is_empty();
        if have_nothing && is_request {
            if entry.waiting.insert(from.to_string()) {
                out.push((
                    from.to_string(),
                    Message::DocUnavailable {
                        sender_id: self.peer_id.clone(),
                        target_id: from.to_string(),
                        document_id: document_id.clone(),
                    },
                ));
            }
            return Ok(out);
        }
        if let Some(reply) = entry
            .peers
            .get_mut(from)
            .expect("present")
            .generate(&mut entry.doc)
        {
            out.push((
                from.to_string(),
                self.sync_message(from, &document_id, reply),
            ));
        }
        if changed {
            out.extend(self.fan_out(&document_id, from));
        }
        Ok(out)
    }

    fn fan_out(&mut self, document_id: &str, except: &str) -> Outgoing {
        let Some(entry) = self.docs.get_mut(document_id) else {
            return Vec::new();
        };
        entry.waiting.clear();
        let mut messages = Vec::new();
        for (peer, sync) in entry.peers.iter_mut() {
            if peer == except {
                continue;
            }
            if let Some(data) = sync.generate(&mut entry.doc) {
                messages.push((peer.clone(), data));
            }
        }
        messages
            .into_iter()
            .map(|(peer, data)| {
                let m = self.sync_message(&peer, document_id, data);
                (peer, m)
            })
            .collect()
    }

    fn on_ephemeral(
        &mut self,
        from: &str,
        sender_id: String,
        count: u64,
        session_id: String,
        document_id: String,
        data: Vec<u8>,
    ) -> Outgoing {
        let may_read = self
            .peers
            .get(from)
            .is_some_and(|p| p.access.may_read(&document_id));
        let Some(entry) = self.docs.get_mut(&document_id).filter(|_| may_read) else {
            return Vec::new();
        };
        let key = (sender_id.clone(), session_id.clone());
        if entry
            .ephemeral_seen
            .get(&key)
            .is_some_and(|&seen| count <= seen)
        {
            return Vec::new();
        }
        entry.ephemeral_seen.insert(key, count);
        entry
            .peers
            .keys()
            .filter(|p| p.as_str() != from)
            .map(|p| {
                (
                    p.clone(),
                    Message::Ephemeral {
                        sender_id: sender_id.clone(),
                        target_id: p.clone(),
                        count,
                        session_id: session_id.clone(),
                        document_id: document_id.clone(),
                        data: data.clone(),
                    },
                )
            })
            .collect()
    }

    fn unavailable(&self, to: &str, document_id: &str) -> Message {
        Message::DocUnavailable {
            sender_id: self.peer_id.clone(),
            target_id: to.to_string(),
            document_id: document_id.to_string(),
        }
    }

    fn sync_message(&self, to: &str, document_id: &str, data: Vec<u8>) -> Message {
        Message::Sync {
            sender_id: self.peer_id.clone(),
            target_id: to.to_string(),
            document_id: document_id.to_string(),
            data,
        }
    }

    /// Save every document held in memory and flush; for shutdown.
    pub fn shutdown(&mut self) -> crate::Result<()> {
        let peers: Vec<String> = self.peers.keys().cloned().collect();
        for p in peers {
            self.disconnect(&p);
        }
        for (id, entry) in self.docs.iter_mut() {
            // Only documents with unsaved changes are written. `docstore::save` on a document
            // that was never stored writes a snapshot even when it is empty, so without this
            // check every unknown document a peer merely asked for would be stored empty here.
            if entry.state.is_dirty(&mut entry.doc) {
                docstore::save(self.storage.as_ref(), id, &mut entry.doc, &mut entry.state)?;
            }
        }
        self.storage.flush()?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStorage;
    use crate::sync::ClientSession;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

    fn relay() -> (Arc<MemoryStorage>, Relay) {
        let store = Arc::new(MemoryStorage::default());
        let relay = Relay::new(store.clone(), "relay").unwrap();
        (store, relay)
    }

    /// Deliver messages between a relay and clients until nobody has anything to say.
    fn pump(
        relay: &mut Relay,
        clients: &mut [(&str, &mut ClientSession)],
        mut inbox: Vec<(String, Message)>,
    ) {
        for _ in 0..200 {
            if inbox.is_empty() {
                return;
            }
            let mut next = Vec::new();
            for (to, msg) in inbox.drain(..) {
                if to == "relay" {
                    let from = msg.sender_id().unwrap().to_string();
                    let out = relay.receive(&from, msg).expect("relay accepts");
                    relay.commit().unwrap();
                    next.extend(out);
                } else {
                    let client = clients.iter_mut().find(|(name, _)| *name == to).unwrap();
                    for reply in client.1.receive(msg).unwrap() {
                        next.push(("relay".to_string(), reply));
                    }
                }
            }
            inbox = next;
        }
        panic!("messages did not settle");
    }

    fn connect(
        relay: &mut Relay,
        client: &mut ClientSession,
        access: Access,
    ) -> Vec<(String, Message)> {
        let (_, reply) = relay.join(client.join(), access).unwrap();
        assert!(client.receive(reply).unwrap().is_empty());
        client
            .start()
            .into_iter()
            .map(|m| ("relay".to_string(), m))
            .collect()
    }

    fn doc_with(key: &str) -> AutoCommit {
        let mut d = AutoCommit::new();
        d.put(ROOT, key, true).unwrap();
        d.commit();
        d
    }

    const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    #[test]
    fn two_clients_converge_through_the_relay() {
        let (store, mut relay) = relay();
        let mut a = ClientSession::new("a", Some("store-a".into()));
        let mut b = ClientSession::new("b", None);
        let mut base = doc_with("base");
        let mut mentor = base.fork();
        mentor.put(ROOT, "mentor", 1).unwrap();
        let mut mentee = base.fork();
        mentee.put(ROOT, "mentee", 2).unwrap();
        a.add_doc(DOC, mentor, None);
        b.add_doc(DOC, mentee, None);
        let first = connect(&mut relay, &mut a, Access::full());
        pump(&mut relay, &mut [("a", &mut a)], first);
        assert!(a.settled());
        let second = connect(&mut relay, &mut b, Access::full());
        pump(&mut relay, &mut [("a", &mut a), ("b", &mut b)], second);
        let da = a.doc_mut(DOC).unwrap();
        assert!(da.get(ROOT, "mentee").unwrap().is_some());
        let db = b.doc_mut(DOC).unwrap();
        assert!(db.get(ROOT, "mentor").unwrap().is_some());
        assert!(a.settled() && b.settled());
        // The relay stored the merged document durably.
        let (mut stored, _) = docstore::load(store.as_ref(), DOC).unwrap().unwrap();
        assert_eq!(stored.get_heads(), a.doc_mut(DOC).unwrap().get_heads());
    }

    #[test]
    fn an_unknown_document_is_unavailable_until_someone_uploads_it() {
        let (_, mut relay) = relay();
        let reader = ClientSession::new("reader", None);
        relay.join(reader.join(), Access::full()).unwrap();
        let request = Message::Request {
            sender_id: "reader".into(),
            target_id: "relay".into(),
            document_id: DOC.into(),
            data: DocSync::default().generate(&mut AutoCommit::new()).unwrap(),
        };
        let out = relay.receive("reader", request).unwrap();
        assert!(matches!(
            out.as_slice(),
            [(_, Message::DocUnavailable { .. })]
        ));
        let mut writer = ClientSession::new("writer", None);
        writer.add_doc(DOC, doc_with("x"), None);
        let first = connect(&mut relay, &mut writer, Access::full());
        let mut delivered_to_reader = false;
        let mut inbox = first;
        for _ in 0..20 {
            let mut next = Vec::new();
            for (to, msg) in inbox.drain(..) {
                if to == "relay" {
                    let from = msg.sender_id().unwrap().to_string();
                    next.extend(relay.receive(&from, msg).unwrap());
                } else if to == "reader" {
                    delivered_to_reader |= matches!(msg, Message::Sync { .. });
                } else {
                    next.extend(
                        writer
                            .receive(msg)
                            .unwrap()
                            .into_iter()
                            .map(|m| ("relay".to_string(), m)),
                    );
                }
            }
            inbox = next;
        }
        assert!(
            delivered_to_reader,
            "the waiting reader was synced once the document arrived"
        );
    }

    #[test]
    fn a_read_only_peer_cannot_change_a_document() {
        let (store, mut relay) = relay();
        let mut c = ClientSession::new("c", None);
        c.add_doc(DOC, doc_with("x"), None);
        let read_only = Access {
            docs: None,
            write: false,
        };
        let mut inbox = connect(&mut relay, &mut c, read_only);
        let mut refused = false;
        for _ in 0..10 {
            let mut next = Vec::new();
            for (_, msg) in inbox.drain(..) {
                match relay.receive("c", msg) {
                    Ok(out) => {
                        for (_, m) in out {
                            next.extend(
                                c.receive(m)
                                    .unwrap()
                                    .into_iter()
                                    .map(|r| ("relay".to_string(), r)),
                            );
                        }
                    }
                    Err(e) => {
                        assert!(e.message.contains("read-only"));
                        refused = true;
                    }
                }
            }
            inbox = next;
        }
        assert!(refused);
        assert!(
            docstore::load(store.as_ref(), DOC).unwrap().is_none(),
            "nothing was stored"
        );
    }

    #[test]
    fn a_scoped_peer_sees_other_documents_as_unavailable() {
        let (_, mut relay) = relay();
        let scoped = Access {
            docs: Some(HashSet::from(["other".to_string()])),
            write: true,
        };
        relay.join(Message::join("p", None), scoped).unwrap();
        let msg = Message::Sync {
            sender_id: "p".into(),
            target_id: "relay".into(),
            document_id: DOC.into(),
            data: DocSync::default().generate(&mut doc_with("x")).unwrap(),
        };
        let out = relay.receive("p", msg).unwrap();
        assert!(matches!(
            out.as_slice(),
            [(_, Message::DocUnavailable { .. })]
        ));
    }

    #[test]
    fn hostile_messages_are_refused_with_a_reason() {
        let (_, mut relay) = relay();
        relay
            .join(Message::join("p", None), Access::full())
            .unwrap();
        let wrong_sender = Message::Leave {
            sender_id: "q".into(),
        };
        assert!(relay
            .receive("p", wrong_sender)
            .unwrap_err()
            .message
            .contains("senderId"));
        let garbage = Message::Sync {
            sender_id: "p".into(),
            target_id: "relay".into(),
            document_id: DOC.into(),
            data: vec![0x42, 1, 2, 3],
        };
        assert!(relay.receive("p", garbage).is_err());
        let bad_id = Message::Sync {
            sender_id: "p".into(),
            target_id: "relay".into(),
            document_id: "not-a-doc-id".into(),
            data: vec![0x42],
        };
        assert!(relay
            .receive("p", bad_id)
            .unwrap_err()
            .message
            .contains("documentId"));
        let old = Message::Join {
            sender_id: "x".into(),
            supported_protocol_versions: Some(vec!["0".into()]),
            peer_metadata: None,
        };
        assert_eq!(
            relay.join(old, Access::full()).unwrap_err().message,
            "unsupported protocol version"
        );
    }

    #[test]
    fn shutdown_stores_nothing_for_a_document_that_was_only_asked_for() {
        let (store, mut relay) = relay();
        let mut c = ClientSession::new("c", None);
        c.add_doc(DOC, AutoCommit::new(), None);
        let first = connect(&mut relay, &mut c, Access::full());
        pump(&mut relay, &mut [("c", &mut c)], first);
        relay.shutdown().unwrap();
        assert!(docstore::list(store.as_ref()).unwrap().is_empty());
    }

    #[test]
    fn idle_documents_are_evicted_and_reload_on_demand() {
        let (_, mut relay) = relay();
        let mut c = ClientSession::new("c", None);
        c.add_doc(DOC, doc_with("x"), None);
        let first = connect(&mut relay, &mut c, Access::full());
        pump(&mut relay, &mut [("c", &mut c)], first);
        relay.disconnect("c");
        assert_eq!(relay.evict_idle(Duration::ZERO), 1);
        assert_eq!(relay.stats().documents_in_memory, 0);
        let mut again = ClientSession::new("c2", None);
        again.add_doc(DOC, AutoCommit::new(), None);
        let first = connect(&mut relay, &mut again, Access::full());
        pump(&mut relay, &mut [("c2", &mut again)], first);
        assert!(again
            .doc_mut(DOC)
            .unwrap()
            .get(ROOT, "x")
            .unwrap()
            .is_some());
    }
}

/// automerge refuses a change whose checksum does not match; the relay must turn that into a
/// refusal of the connection rather than store anything.
#[cfg(test)]
mod corrupt_change_tests {
    use super::*;
    use crate::store::MemoryStorage;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    #[test]
    fn a_change_with_a_bad_checksum_is_refused() {
        let store = Arc::new(MemoryStorage::default());
        let mut relay = Relay::new(store, "relay").unwrap();
        relay
            .join(Message::join("m", None), Access::full())
            .unwrap();
        let mut source = AutoCommit::new();
        source.put(ROOT, "evil", 1).unwrap();
        source.commit();
        let mut change = source.get_last_local_change().unwrap().raw_bytes().to_vec();
        let middle = change.len() / 2;
        change[middle] ^= 0x55;
        let message = automerge::sync::Message {
            heads: Vec::new(),
            need: Vec::new(),
            have: Vec::new(),
            changes: vec![change].into(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        };
        let out = relay.receive(
            "m",
            Message::Sync {
                sender_id: "m".into(),
                target_id: "relay".into(),
                document_id: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
                data: message.encode(),
            },
        );
        assert!(out.is_err(), "{out:?}");
    }
}
