//! The relay's side of the protocol: many peers, many documents.
//!
//! (This file runs past 600 lines on purpose: peers, documents, access and the batch that holds
//! messages back until they are durable are one state machine whose invariants span all of them;
//! its tests are below it.)

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
    /// When `write`, the documents whose changes are accepted; `None` means every document it
    /// may read. A browser signed in to several workspaces holds a token per workspace, and a
    /// write token for one must not make another, joined with a read token, writable.
    pub writable: Option<HashSet<String>>,
}

impl Access {
    /// Read and write every document (`--open`, or an operator's token).
    pub fn full() -> Self {
        Self {
            docs: None,
            write: true,
            writable: None,
        }
    }

    fn may_read(&self, doc: &str) -> bool {
        self.docs.as_ref().is_none_or(|d| d.contains(doc))
    }

    fn may_write(&self, doc: &str) -> bool {
        self.write && self.may_read(doc) && self.writable.as_ref().is_none_or(|w| w.contains(doc))
    }

    /// The documents it may change: `None` for every document, else a set (empty when it may
    /// change none).
    fn writable_docs(&self) -> Option<HashSet<String>> {
        if !self.write {
            return Some(HashSet::new());
        }
        match (&self.docs, &self.writable) {
            (None, None) => None,
            (Some(d), None) | (None, Some(d)) => Some(d.clone()),
            (Some(d), Some(w)) => Some(d.intersection(w).cloned().collect()),
        }
    }

    /// What a connection holding both `self`'s and `other`'s tokens may do: read what either may
    /// read, and change only what either may change, document by document.
    pub fn union(&self, other: &Access) -> Access {
        fn either(
            a: Option<HashSet<String>>,
            b: Option<HashSet<String>>,
        ) -> Option<HashSet<String>> {
            Some(a?.union(&b?).cloned().collect())
        }
        let docs = either(self.docs.clone(), other.docs.clone());
        let writable = either(self.writable_docs(), other.writable_docs());
        let write = writable.as_ref().is_none_or(|w| !w.is_empty());
        Access {
            writable: if !write || writable == docs {
                None
            } else {
                writable
            },
            docs,
            write,
        }
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
    /// Peers sent a message they must answer (it carried changes or asked for some), and when;
    /// they get nothing more until they answer, or until [`ANSWER_WAIT`] passed.
    awaiting: HashMap<String, Instant>,
    /// The highest ephemeral `count` seen per (sender, session), to drop duplicates.
    ephemeral_seen: HashMap<(String, String), u64>,
    /// When a peer last did anything with this document, as of the last commit; `None` until
    /// the first commit after it was loaded.
    last_active: Option<Instant>,
}

/// How long the relay holds new data back from a peer that owes it an answer. Automerge peers
/// answer a message that brings them changes at once, so this is only reached when an answer
/// got lost (for example a message that brought nothing new); then the relay speaks anyway.
pub const ANSWER_WAIT: Duration = Duration::from_millis(500);

/// The relay engine. One per server process; see the module docs of [`super`].
pub struct Relay {
    storage: Arc<dyn Storage>,
    peer_id: String,
    storage_id: String,
    peers: HashMap<String, PeerInfo>,
    docs: HashMap<String, DocEntry>,
    /// The (document, peer) pairs that may need a sync message at the next commit, in the
    /// order they were first touched. Each pair is listed once however many messages touched
    /// it, which is what limits the relay to one sync message per pair per batch.
    touched: Vec<(String, String)>,
    touched_set: HashSet<(String, String)>,
    /// Messages that carry no document content (`doc-unavailable`, ephemeral messages), in the
    /// order they arose; delivered with the next commit, ahead of its sync messages.
    notices: Outgoing,
    /// Documents used since the last commit, whose `last_active` the commit stamps.
    active: HashSet<String>,
    /// Documents changed since the last seal. They are written once each when the batch is
    /// sealed, however many messages changed them, so a document several peers edit at once
    /// costs one write per batch rather than one per message.
    unsaved: HashSet<String>,
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

/// The messages of one batch, held back until the batch's writes are on disk.
///
/// [`Relay::seal`] returns one; the only way to its messages is [`Batch::flush`], which flushes
/// storage first when the batch wrote anything. That is the relay's durability rule by
/// construction: no peer hears of a change before it is durable. Several batches may be
/// merged with [`Batch::append`] and flushed once (group commit); their messages keep their
/// order.
#[must_use = "a batch's messages are only delivered by flushing it"]
pub struct Batch {
    /// The storage to flush before the messages may leave; `None` when the batch wrote nothing.
    storage: Option<Arc<dyn Storage>>,
    messages: Outgoing,
    /// Peers whose changes could not be stored when the batch was sealed.
    refused: Vec<(String, PeerError)>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("needs_flush", &self.needs_flush())
            .field("messages", &self.messages.len())
            .finish()
    }
}

/// A flush failed: the batch's messages must not be delivered (they could acknowledge changes
/// that are not durable). The caller closes these peers' connections, which resets their sync
/// states, so they send everything again on reconnect.
#[derive(Debug)]
pub struct FlushFailed {
    pub error: crate::Error,
    /// Every peer the batch had a message for, once each.
    pub peers: Vec<String>,
}

impl Batch {
    /// An empty batch, to [`Batch::append`] others to.
    pub fn empty() -> Self {
        Self {
            storage: None,
            messages: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// The peers whose changes could not be stored when the batch was sealed, each with the
    /// error to send it before closing its connection, as for an error from
    /// [`Relay::receive`]. Their document's copy in memory was dropped with its sync states, so
    /// nothing the batch says acknowledges those changes, and the senders still hold them.
    pub fn take_refused(&mut self) -> Vec<(String, PeerError)> {
        std::mem::take(&mut self.refused)
    }

    /// Whether storage must be flushed before the messages leave.
    pub fn needs_flush(&self) -> bool {
        self.storage.is_some()
    }

    /// Whether there is nothing to flush and nothing to say.
    pub fn is_empty(&self) -> bool {
        self.storage.is_none() && self.messages.is_empty() && self.refused.is_empty()
    }

    /// The peers the batch has messages for, in order, with repeats.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|(peer, _)| peer.as_str())
    }

    /// Add a later batch: one flush then covers both.
    pub fn append(&mut self, later: Batch) {
        if self.storage.is_none() {
            self.storage = later.storage;
        }
        self.messages.extend(later.messages);
        self.refused.extend(later.refused);
    }

    /// Make several batches durable with one flush (group commit), then release each batch's
    /// messages, in the order given. Blocking, like [`Batch::flush`]. One flush covers them all
    /// because every batch was sealed after its writes were made: a flush started after the
    /// last seal covers every write before it.
    pub fn flush_many(batches: Vec<Batch>) -> Result<Vec<Outgoing>, FlushFailed> {
        let storage = batches.iter().find_map(|b| b.storage.clone());
        let messages: Vec<Outgoing> = batches.into_iter().map(|b| b.messages).collect();
        Batch {
            storage,
            messages: Vec::new(),
            refused: Vec::new(),
        }
        .flush()
        .map_err(|mut failed| {
            let mut seen = HashSet::new();
            failed.peers = messages
                .iter()
                .flatten()
                .filter(|&(peer, _)| seen.insert(peer.clone()))
                .map(|(peer, _)| peer.clone())
                .collect();
            failed
        })?;
        Ok(messages)
    }

    /// Make the batch durable, then release its messages. Blocking: this is an fsync when the
    /// batch wrote anything.
    pub fn flush(self) -> Result<Outgoing, FlushFailed> {
        if let Some(storage) = &self.storage {
            if let Err(error) = storage.flush() {
                let mut seen = HashSet::new();
                let peers = self
                    .messages
                    .into_iter()
                    .filter_map(|(peer, _)| seen.insert(peer.clone()).then_some(peer))
                    .collect();
                return Err(FlushFailed { error, peers });
            }
        }
        Ok(self.messages)
    }
}

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
            touched: Vec::new(),
            touched_set: HashSet::new(),
            notices: Vec::new(),
            active: HashSet::new(),
            unsaved: HashSet::new(),
            dirty: false,
            stats: RelayStats::default(),
        })
    }

    /// The storage the relay writes to, e.g. to start more relays on it, one per shard of
    /// documents.
    pub fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
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

    /// Handle a message from a joined peer: apply it and store what it changed. Nothing is
    /// returned to send; what the peers should hear comes from the next [`Relay::commit`] (or
    /// [`Relay::seal`]), once the batch is durable. An error means: send the peer an `error`
    /// with the message, then close its connection (and call [`Relay::disconnect`]).
    pub fn receive(&mut self, from: &str, message: Message) -> Result<(), PeerError> {
        self.stats.messages_in += 1;
        if !self.peers.contains_key(from) {
            return Err(refuse("join first"));
        }
        if let Some(sender) = message.sender_id() {
            if sender != from {
                return Err(refuse("senderId does not match the joined peer"));
            }
        }
        match message {
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
            } => {
                self.on_ephemeral(from, sender_id, count, session_id, document_id, data);
                Ok(())
            }
            // Advisory or gossip messages that a relay may ignore (docs/protocol.md).
            Message::DocUnavailable { .. }
            | Message::Leave { .. }
            | Message::RemoteSubscriptionChange { .. }
            | Message::RemoteHeadsChanged { .. }
            | Message::Unknown { .. } => Ok(()),
            Message::Peer { .. } => Err(refuse("unexpected peer message from a client")),
            Message::Error { .. } => Ok(()),
        }
    }

    /// End the batch: flush everything written since the last commit, then return what to
    /// deliver. This is [`Relay::seal`] followed at once by [`Batch::flush`], for callers that
    /// have no reason to flush on another thread.
    pub fn commit(&mut self, now: Instant) -> crate::Result<Outgoing> {
        let mut batch = self.seal(now, |_| true);
        let refused = batch.take_refused();
        let mut out = batch.flush().map_err(|failed| failed.error)?;
        for (peer, error) in refused {
            let message = Message::Error {
                message: error.message,
                sender_id: Some(self.peer_id.clone()),
                target_id: Some(peer.clone()),
            };
            out.push((peer, message));
        }
        Ok(out)
    }

    /// End the batch without flushing: the messages for every (document, peer) pair touched
    /// since the last batch, at most one sync message per pair, locked in a [`Batch`] that
    /// releases them only once storage is flushed. The caller may flush on another thread and
    /// keep handling the next batch meanwhile (group commit).
    ///
    /// A peer for which `ready` says `false` (its connection is not keeping up) gets no sync
    /// message now: its pairs stay touched for a later batch, when one message will carry all
    /// that accumulated meanwhile. Notices (`doc-unavailable`, ephemeral messages) are not
    /// held back: they cannot be merged, and a peer that never reads them is the server's to
    /// drop. `now` stamps the documents used in this batch, for [`Relay::evict_idle`].
    pub fn seal(&mut self, now: Instant, mut ready: impl FnMut(&str) -> bool) -> Batch {
        let refused = self.save_changed();
        for doc in self.active.drain() {
            if let Some(entry) = self.docs.get_mut(&doc) {
                entry.last_active = Some(now);
            }
        }
        let mut messages: Outgoing = std::mem::take(&mut self.notices);
        let mut deferred = Vec::new();
        for (doc_id, peer) in std::mem::take(&mut self.touched) {
            let Some(entry) = self.docs.get_mut(&doc_id) else {
                // Dropped after a crash of automerge's; it reloads on the next message.
                self.touched_set.remove(&(doc_id, peer));
                continue;
            };
            let Some(sync) = entry.peers.get_mut(&peer) else {
                // The peer disconnected during the batch.
                self.touched_set.remove(&(doc_id, peer));
                continue;
            };
            // A peer that owes an answer to changes we sent gets nothing more until it
            // answers: whatever arrives meanwhile then leaves in one message. automerge's own
            // in-flight rule would send every new change at once, and each would be answered;
            // on a document several people edit, that is most of the traffic. The wait is
            // one round trip, and an idle document is answered at once.
            let owes_answer = entry
                .awaiting
                .get(&peer)
                .is_some_and(|&since| now.saturating_duration_since(since) < ANSWER_WAIT);
            if owes_answer || !ready(&peer) {
                deferred.push((doc_id, peer));
                continue;
            }
            // automerge decides whether there is anything to say: it stays silent when the
            // peer already has our heads and needs nothing.
            let generated = sync.generate_expecting_answer(&mut entry.doc);
            self.touched_set.remove(&(doc_id.clone(), peer.clone()));
            if let Some((data, expects_answer)) = generated {
                if expects_answer {
                    entry.awaiting.insert(peer.clone(), now);
                } else {
                    entry.awaiting.remove(&peer);
                }
                let message = self.sync_message(&peer, &doc_id, data);
                messages.push((peer, message));
            }
        }
        self.touched = deferred;
        self.stats.messages_out += messages.len() as u64;
        let storage = std::mem::take(&mut self.dirty).then(|| self.storage.clone());
        Batch {
            storage,
            messages,
            refused,
        }
    }

    /// Write every document changed since the last seal, once each. A document that cannot be
    /// written is dropped from memory, with the sync states of its peers, so that no message of
    /// this batch speaks of changes that are not stored; its peers are returned, to be told and
    /// closed, and they send those changes again when they reconnect.
    fn save_changed(&mut self) -> Vec<(String, PeerError)> {
        let mut refused = Vec::new();
        for doc_id in std::mem::take(&mut self.unsaved) {
            let Some(entry) = self.docs.get_mut(&doc_id) else {
                continue;
            };
            match docstore::save(
                self.storage.as_ref(),
                &doc_id,
                &mut entry.doc,
                &mut entry.state,
            ) {
                Ok(wrote) => self.dirty |= wrote,
                Err(e) => {
                    let entry = self.docs.remove(&doc_id).expect("present above");
                    let error = refuse(format!("the relay could not store the change: {e}"));
                    refused.extend(entry.peers.into_keys().map(|p| (p, error.clone())));
                }
            }
        }
        refused
    }

    /// Whether a commit would have anything to do: messages that may need sending or writes to
    /// flush.
    pub fn has_pending(&self) -> bool {
        self.dirty
            || !self.touched.is_empty()
            || !self.notices.is_empty()
            || !self.active.is_empty()
    }

    /// Forget a peer: its in-memory sync states go, persisted ones are saved.
    pub fn disconnect(&mut self, peer: &str) {
        let Some(info) = self.peers.remove(peer) else {
            return;
        };
        self.notices.retain(|(to, _)| to != peer);
        for (doc_id, entry) in self.docs.iter_mut() {
            entry.waiting.remove(peer);
            entry.awaiting.remove(peer);
            if let Some(sync) = entry.peers.remove(peer) {
                self.active.insert(doc_id.clone());
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

    /// Drop documents that no peer is syncing and that have been idle for `idle` at `now`.
    /// They are already stored, so this only frees memory; the next message for one loads it
    /// again.
    pub fn evict_idle(&mut self, now: Instant, idle: Duration) -> usize {
        let before = self.docs.len();
        let unsaved = &self.unsaved;
        self.docs.retain(|id, e| {
            unsaved.contains(id)
                || !e.peers.is_empty()
                || !e.waiting.is_empty()
                || e.last_active
                    .is_none_or(|at| now.saturating_duration_since(at) < idle)
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
                    awaiting: HashMap::new(),
                    ephemeral_seen: HashMap::new(),
                    last_active: None,
                },
            );
        }
        Ok(self.docs.get_mut(doc_id).expect("inserted above"))
    }

    /// Note that `peer` may need a sync message for `doc_id` at the next commit.
    fn touch(&mut self, doc_id: &str, peer: &str) {
        let key = (doc_id.to_string(), peer.to_string());
        if self.touched_set.insert(key.clone()) {
            self.touched.push(key);
        }
    }

    fn on_sync(
        &mut self,
        from: &str,
        document_id: String,
        data: &[u8],
        is_request: bool,
    ) -> Result<(), PeerError> {
        if document_id.parse::<DocumentId>().is_err() {
            return Err(refuse("invalid documentId"));
        }
        let info = self.peers.get(from).expect("checked by receive");
        let (may_read, may_write) = (
            info.access.may_read(&document_id),
            info.access.may_write(&document_id),
        );
        let peer_storage = info.storage_id.clone();
        if !may_read {
            // Unknown and forbidden look the same, so a token cannot probe for documents.
            let notice = self.unavailable(from, &document_id);
            self.notices.push((from.to_string(), notice));
            return Ok(());
        }
        let message = DocSync::decode(data).map_err(|e| refuse(e.to_string()))?;
        if !may_write && !message.changes.is_empty() {
            return Err(refuse(
                "this connection is read-only: its changes were refused",
            ));
        }
        let storage = self.storage.clone();
        self.active.insert(document_id.clone());
        let entry = self.entry(&document_id)?;
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
        // Any message from the peer answers what we sent it last.
        entry.awaiting.remove(from);
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
        if changed {
            // Written when the batch is sealed, before any message of the batch can leave.
            self.unsaved.insert(document_id.clone());
            self.stats.changes_stored += 1;
        }
        // A peer's sync state is persisted when it disconnects, not after every message: one
        // lost in a crash only makes that peer's next sync a round longer.
        let entry = self.docs.get_mut(&document_id).expect("present");
        let have_nothing = entry.doc.get_heads().is_empty();
        if have_nothing && is_request {
            if entry.waiting.insert(from.to_string()) {
                let notice = self.unavailable(from, &document_id);
                self.notices.push((from.to_string(), notice));
            }
            return Ok(());
        }
        // The sender is answered even when nothing changed: the answer acknowledges what it
        // sent (or tells it what the relay needs), and automerge stays silent if there is
        // nothing to say.
        let mut others = Vec::new();
        if changed {
            // Every other peer of the document may now be behind, including those that were
            // waiting for it to exist.
            entry.waiting.clear();
            others.extend(entry.peers.keys().filter(|p| *p != from).cloned());
        }
        self.touch(&document_id, from);
        for peer in others {
            self.touch(&document_id, &peer);
        }
        Ok(())
    }

    fn on_ephemeral(
        &mut self,
        from: &str,
        sender_id: String,
        count: u64,
        session_id: String,
        document_id: String,
        data: Vec<u8>,
    ) {
        let may_read = self
            .peers
            .get(from)
            .is_some_and(|p| p.access.may_read(&document_id));
        let Some(entry) = self.docs.get_mut(&document_id).filter(|_| may_read) else {
            return;
        };
        let key = (sender_id.clone(), session_id.clone());
        if entry
            .ephemeral_seen
            .get(&key)
            .is_some_and(|&seen| count <= seen)
        {
            return;
        }
        entry.ephemeral_seen.insert(key, count);
        let forwarded = entry.peers.keys().filter(|p| p.as_str() != from).map(|p| {
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
        });
        self.notices.extend(forwarded);
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
        // Nobody is left to tell anything.
        self.touched.clear();
        self.touched_set.clear();
        self.notices.clear();
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
mod tests;

/// automerge refuses a change whose checksum does not match; the relay must turn that into a
/// refusal of the connection rather than store anything.
#[cfg(test)]
mod corrupt_change_tests;

/// The relay must not amplify: on a document that several people share, the traffic per edit
/// stays proportional to the number of peers, however the edits interleave. These tests count
/// every message of a simulated session (after the initial sync) and hold it to a stated bound,
/// so that answering every message at once, the cause of the amplification this engine was
/// rebuilt to remove, cannot come back unnoticed.
#[cfg(test)]
mod amplification_tests;

/// How the relay writes: once per document and batch, and never acknowledging what it could
/// not write.
#[cfg(test)]
mod storage_tests;
