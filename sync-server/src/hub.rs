//! The hubs: the threads that own the sync engine, one per shard of documents.
//!
//! (This file runs past 600 lines on purpose: the hub loop, the router that shards events and
//! the flusher that releases a batch only once it is on disk share one durability invariant, and
//! keeping them together keeps that invariant readable in one place.)
//!
//! Read this if you change how messages flow between connections. Every connection task sends
//! what it decoded through the [`HubRouter`]: a message to the hub of its document's shard
//! (documents are spread by a hash of their id over `hub_threads` hubs, each with its own
//! [`Relay`] on the shared storage, so a (document, peer) pair keeps its order), joins, closes
//! and housekeeping to every hub. Each hub feeds its [`Relay`], and hands what the relay wants
//! sent to each connection's writer through that connection's own bounded outbox
//! ([`Outbound`]). Shard 0 answers joins and closes connections on revocation; the other shards
//! keep their registers of peers in step silently.
//!
//! The hub works in batches: it takes every event that is already waiting (up to
//! [`MAX_BATCH`]), applies them ([`Relay::receive`] stores and sends nothing), and seals the
//! batch ([`Relay::seal`]: at most one sync message per document and peer touched). The sealed
//! batch goes to the flusher thread ([`flush_loop`]), which flushes storage (one fsync for every
//! batch waiting) and only then delivers. **Invariant (durability):** no peer hears about a
//! change before it is on disk; the engine's [`Batch`] holds the messages until its flush.
//! Meanwhile the hub applies the next batch (group commit); at most [`FLUSH_QUEUE`] sealed
//! batches wait, then the hub waits too, its event queue fills and the connections' readers
//! stop reading: overload slows intake instead of growing queues.
//!
//! A connection whose outbox is more than half full is offered no sync messages (the relay
//! keeps its pairs touched and retries every [`CONGESTION_RETRY`]); what it misses accumulates
//! in its sync state and leaves as one message once it drains.
//!
//! The hub runs on its own OS thread rather than on the async runtime. Its work is blocking by
//! nature (sled's flush is an fsync, and applying a large sync message is CPU-bound automerge
//! work that can take many milliseconds); on a dedicated thread that work never stalls the
//! runtime's workers, which keep serving sockets and pings meanwhile. The thread owns the
//! `Relay` outright, so there is no lock around it at all. A dedicated thread is preferred
//! over `spawn_blocking` because the hub lives as long as the server (the blocking pool is for
//! finite jobs) and over `block_in_place` because that panics on a current-thread runtime,
//! which is what tests and `tandem demo` use.
//!
//! Every event is handled inside `catch_unwind`: a panic costs the connection that caused it,
//! never the hub. (automerge panics inside the engine are already contained by `DocSync`.)

use crate::auth::Auth;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_core::protocol::Message;
use tandem_core::sync::{Access, Batch, Relay, RelayStats};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info, trace, warn};

/// The most events handled between two flushes.
pub(crate) const MAX_BATCH: usize = 256;

/// A connection's number, unique for the life of the server.
pub(crate) type ConnId = u64;

/// How a connection is doing, as its reader and writer see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnState {
    Open,
    /// The writer has sent a close frame; the reader drains briefly and stops.
    Closing,
    /// Stop now (slow reader, missed pong, write failure).
    Dead,
}

/// What a connection's writer is asked to send.
///
/// Messages are boxed: every connection's outbox allocates its first block of slots up front,
/// and with a boxed message a slot is a few words instead of the size of the largest
/// [`Message`] variant, which an idle connection would otherwise pay for in full.
#[derive(Debug)]
pub(crate) enum Outbound {
    Message(Box<Message>),
    /// Send `error` if any, then a close frame with `code` and `reason`, then stop.
    Close {
        error: Option<Box<Message>>,
        code: u16,
        reason: &'static str,
    },
}

/// Close codes used by the relay (RFC 6455 section 7.4.1).
pub(crate) mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
}

/// How the hub reaches one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub outbox: mpsc::Sender<Outbound>,
    pub state: Arc<watch::Sender<ConnState>>,
}

impl ConnHandle {
    fn kill(&self) {
        self.state.send_replace(ConnState::Dead);
    }
}

/// A connection's first message, which should be `join`, with what its handshake granted. Every
/// shard gets a copy, so that each keeps its own register of peers.
#[derive(Debug, Clone)]
pub(crate) struct Joining {
    pub conn: ConnId,
    pub message: Message,
    pub access: Access,
    pub token_ids: Vec<String>,
    pub handle: ConnHandle,
}

/// What connection tasks (and timers) tell the hub.
#[derive(Debug)]
pub(crate) enum HubEvent {
    /// A connection's first message, which should be `join`.
    Join(Joining),
    /// A later message from a joined connection.
    Message { conn: ConnId, message: Message },
    /// The connection is gone (or going); forget its peer.
    Closed { conn: ConnId },
    /// These tokens no longer work; close their connections.
    Revoked { ids: Vec<String> },
    /// Periodic housekeeping: evict idle documents.
    Tick,
    /// Save everything, flush, close what is left and stop.
    Shutdown {
        done: oneshot::Sender<Result<(), SaveError>>,
    },
}

impl HubEvent {
    fn conn(&self) -> Option<ConnId> {
        match self {
            HubEvent::Join(Joining { conn, .. })
            | HubEvent::Message { conn, .. }
            | HubEvent::Closed { conn } => Some(*conn),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Conn {
    peer: String,
    /// The tokens it presented: one, several for a browser signed in to several workspaces,
    /// none on an open relay.
    token_ids: Vec<String>,
    handle: ConnHandle,
}

struct Hub {
    relay: Relay,
    auth: Arc<Auth>,
    idle: Duration,
    conns: HashMap<ConnId, Conn>,
    peers: HashMap<String, ConnId>,
    /// What the hub itself queued in this batch (join replies, closes), delivered with the
    /// batch, ahead of the relay's messages.
    pending: Vec<(ConnId, ConnHandle, Outbound)>,
    /// Sealed batches on their way to the flusher thread; bounded, so that a hub that applies
    /// faster than the disk flushes waits instead of piling up batches.
    flusher: Option<std::sync::mpsc::SyncSender<Job>>,
    /// Half an outbox: a connection with less room than this gets no new sync messages until
    /// its writer catches up.
    outbox_room: usize,
    /// Shard 0 speaks for the relay to connections as a whole (the `peer` reply to `join`,
    /// refusals, closes on revocation); the others only keep their registers in step.
    primary: bool,
    shard: usize,
    stats: Arc<StatsBoard>,
}

/// Each shard's counters, and their sum as `/health` shows it.
struct StatsBoard {
    shards: std::sync::Mutex<Vec<RelayStats>>,
    out: watch::Sender<RelayStats>,
}

impl StatsBoard {
    fn publish(&self, shard: usize, stats: RelayStats) {
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        shards[shard] = stats;
        // Every shard knows every peer, so peers and refusals are counted once.
        let total = shards
            .iter()
            .fold(RelayStats::default(), |t, s| RelayStats {
                peers: t.peers.max(s.peers),
                documents_in_memory: t.documents_in_memory + s.documents_in_memory,
                messages_in: t.messages_in + s.messages_in,
                messages_out: t.messages_out + s.messages_out,
                changes_stored: t.changes_stored + s.changes_stored,
                peers_refused: t.peers_refused.max(s.peers_refused),
                documents_reloaded_after_crash: t.documents_reloaded_after_crash
                    + s.documents_reloaded_after_crash,
            });
        self.out.send_replace(total);
    }
}

/// How connection tasks and timers reach the hubs: one hub thread per shard of documents.
///
/// A message goes to the shard of its document (chosen by a hash of the document id), so one
/// (document, peer) pair is always handled by one hub, in the order the connection sent it.
/// Joins and closes go to every shard, under one lock, so that every shard sees them in the
/// same order and agrees on which connection speaks for which peer.
#[derive(Clone)]
pub(crate) struct HubRouter {
    shards: Arc<[mpsc::Sender<HubEvent>]>,
    membership: Arc<tokio::sync::Mutex<()>>,
}

/// Every hub is gone (or, for a shutdown, one of them is).
#[derive(Debug)]
pub(crate) struct HubGone;

/// Why the hubs could not save everything when the relay shut down. The storage error is kept
/// whole, so the log line and the binary's exit message name its cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    /// Writing or flushing the documents failed.
    #[error("saving the documents failed")]
    Storage(#[source] tandem_core::Error),
    /// A hub thread ended before it reported that it had saved.
    #[error("a hub stopped while saving")]
    HubStopped,
}

impl HubRouter {
    fn shard_of(&self, document_id: Option<&str>) -> usize {
        use std::hash::{Hash, Hasher};
        let Some(id) = document_id else {
            return 0;
        };
        // `DefaultHasher::new()` has fixed keys, so a document always lands on the same shard.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        (hasher.finish() % self.shards.len() as u64) as usize
    }

    /// Hand an event to the hub (or hubs) it concerns; waits while a hub's queue is full, which
    /// is how a busy relay stops its readers.
    pub(crate) async fn send(&self, event: HubEvent) -> Result<(), HubGone> {
        match event {
            HubEvent::Message { conn, message } => {
                let shard = self.shard_of(message.document_id());
                self.shards[shard]
                    .send(HubEvent::Message { conn, message })
                    .await
                    .map_err(|_| HubGone)
            }
            HubEvent::Join(joining) => {
                let _order = self.membership.lock().await;
                for shard in self.shards.iter() {
                    let event = HubEvent::Join(joining.clone());
                    shard.send(event).await.map_err(|_| HubGone)?;
                }
                Ok(())
            }
            HubEvent::Closed { conn } => {
                let _order = self.membership.lock().await;
                for shard in self.shards.iter() {
                    shard
                        .send(HubEvent::Closed { conn })
                        .await
                        .map_err(|_| HubGone)?;
                }
                Ok(())
            }
            HubEvent::Revoked { ids } => {
                for shard in self.shards.iter() {
                    let event = HubEvent::Revoked { ids: ids.clone() };
                    shard.send(event).await.map_err(|_| HubGone)?;
                }
                Ok(())
            }
            HubEvent::Tick => {
                for shard in self.shards.iter() {
                    shard.send(HubEvent::Tick).await.map_err(|_| HubGone)?;
                }
                Ok(())
            }
            HubEvent::Shutdown { done } => {
                let mut saved = Vec::new();
                for shard in self.shards.iter() {
                    let (one_done, one_saved) = oneshot::channel();
                    shard
                        .send(HubEvent::Shutdown { done: one_done })
                        .await
                        .map_err(|_| HubGone)?;
                    saved.push(one_saved);
                }
                tokio::spawn(async move {
                    let mut result = Ok(());
                    for one in saved {
                        match one.await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => result = Err(e),
                            Err(_) => result = Err(SaveError::HubStopped),
                        }
                    }
                    let _ = done.send(result);
                });
                Ok(())
            }
        }
    }

    /// Completes when any hub has stopped.
    pub(crate) async fn closed(&self) {
        let closing = self.shards.iter().map(|s| Box::pin(s.closed()));
        futures_util::future::select_all(closing).await;
    }
}

/// One sealed batch, as the flusher thread delivers it once it is on disk.
struct Job {
    /// What the hub queued itself; delivered first.
    items: Vec<(ConnId, ConnHandle, Outbound)>,
    /// The relay's messages, released only by the flush.
    batch: Batch,
    /// Where each target peer of `batch` was connected when the batch was sealed.
    routes: HashMap<String, (ConnId, ConnHandle)>,
}

/// How the hubs are set up, from the server's configuration.
#[derive(Debug, Clone)]
pub(crate) struct HubSettings {
    /// How many hub threads share the documents.
    pub shards: usize,
    /// How many events may wait for each hub.
    pub queue: usize,
    /// Documents unused for this long are evicted from memory.
    pub idle: Duration,
    /// Each connection's outbox capacity; a connection with less than half of it free is
    /// offered no sync messages.
    pub outbox_capacity: usize,
}

/// Start `shards` hub threads (at least one), each with a relay on the storage of `relay` and a
/// flusher thread of its own, and return the router that reaches them and a thread that ends
/// when they all have. Each runs until it handles [`HubEvent::Shutdown`] or its router is gone.
pub(crate) fn spawn(
    relay: Relay,
    settings: HubSettings,
    stats: watch::Sender<RelayStats>,
    auth: Arc<Auth>,
    flush_seconds: Histogram,
) -> std::io::Result<(HubRouter, std::thread::JoinHandle<()>)> {
    let HubSettings {
        shards,
        queue,
        idle,
        outbox_capacity,
    } = settings;
    let shards = shards.max(1);
    let board = Arc::new(StatsBoard {
        shards: std::sync::Mutex::new(vec![RelayStats::default(); shards]),
        out: stats,
    });
    let storage = relay.storage();
    let peer_id = relay.peer_id().to_string();
    let mut relays = vec![relay];
    for _ in 1..shards {
        let more = Relay::new(storage.clone(), peer_id.clone()).map_err(std::io::Error::other)?;
        relays.push(more);
    }
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for (shard, relay) in relays.into_iter().enumerate() {
        let (events_tx, events) = mpsc::channel(queue.max(1));
        senders.push(events_tx);
        let (jobs, flush_queue) = std::sync::mpsc::sync_channel(FLUSH_QUEUE);
        let relay_id = relay.peer_id().to_string();
        let flush_seconds = flush_seconds.clone();
        let flusher = std::thread::Builder::new()
            .name(format!("tandem-flush-{shard}"))
            .spawn(move || flush_loop(flush_queue, relay_id, flush_seconds))?;
        let hub = Hub {
            relay,
            auth: auth.clone(),
            idle,
            conns: HashMap::new(),
            peers: HashMap::new(),
            pending: Vec::new(),
            flusher: Some(jobs),
            outbox_room: outbox_capacity.saturating_sub(OUTBOX_BACKLOG).max(1),
            primary: shard == 0,
            shard,
            stats: board.clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("tandem-hub-{shard}"))
                .spawn(move || hub.run(events, flusher))?,
        );
    }
    let all = std::thread::Builder::new()
        .name("tandem-hubs".into())
        .spawn(move || {
            let mut panicked = None;
            for thread in threads {
                if let Err(payload) = thread.join() {
                    panicked.get_or_insert(payload);
                }
            }
            if let Some(payload) = panicked {
                std::panic::resume_unwind(payload);
            }
        })?;
    let router = HubRouter {
        shards: senders.into(),
        membership: Arc::new(tokio::sync::Mutex::new(())),
    };
    Ok((router, all))
}

/// How many messages may wait in a connection's outbox before the relay stops offering it sync
/// messages. A message waiting there is already out of date when the peer is slow: what the
/// relay keeps back instead stays in the peer's sync state and leaves later as one message
/// with everything new. A long outbox would only make a slow peer answer stale messages.
const OUTBOX_BACKLOG: usize = 16;

/// How many sealed batches may wait for the flusher before the hub stops taking events.
const FLUSH_QUEUE: usize = 2;

/// How long the hub waits before offering sync messages again to connections that were too
/// full to take them, when nothing else wakes it.
const CONGESTION_RETRY: Duration = Duration::from_millis(5);

impl Hub {
    fn run(mut self, mut events: mpsc::Receiver<HubEvent>, flusher: std::thread::JoinHandle<()>) {
        let mut shutdown = None;
        while shutdown.is_none() {
            let first = if self.relay.has_pending() {
                // Some connections were too full for their sync messages: offer them again
                // soon, or at once if an event comes first.
                match events.try_recv() {
                    Ok(event) => Some(event),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        std::thread::sleep(CONGESTION_RETRY);
                        None
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                match events.blocking_recv() {
                    Some(event) => Some(event),
                    None => break,
                }
            };
            let mut batch: Vec<HubEvent> = first.into_iter().collect();
            while batch.len() < MAX_BATCH {
                match events.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            for event in batch {
                if let HubEvent::Shutdown { done } = event {
                    // Events after a shutdown request in the same batch are still handled:
                    // they are closes from connections the server is winding down.
                    shutdown = Some(done);
                    continue;
                }
                let conn = event.conn();
                // A connection that is not registered yet is only reachable through its join
                // event, which the handler consumes; keep a way to close it.
                let joining = match &event {
                    HubEvent::Join(joining) => Some(joining.handle.clone()),
                    _ => None,
                };
                let outcome = catch_unwind(AssertUnwindSafe(|| self.handle(event)));
                if outcome.is_err() {
                    error!(?conn, "the relay panicked while handling a message");
                    self.close_after_panic(conn, joining);
                }
            }
            self.seal();
        }
        // Every batch sealed so far is flushed and delivered before the goodbyes.
        self.flusher = None;
        if flusher.join().is_err() {
            error!("the flusher thread panicked");
        }
        let result = self.shut_down();
        if let Some(done) = shutdown {
            let _ = done.send(result);
        }
    }

    fn handle(&mut self, event: HubEvent) {
        match event {
            HubEvent::Join(joining) => {
                let said = self.pending.len();
                self.on_join(joining);
                self.keep_quiet_unless_primary(said);
            }
            HubEvent::Message { conn, message } => {
                let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
                    // The connection was already dropped (refused join, slow reader, revoked
                    // token); what it still had in flight is ignored.
                    return;
                };
                trace!(conn, peer = %peer, kind = message.type_name(), doc = ?message.document_id(), "message in");
                match self.relay.receive(&peer, message) {
                    Ok(()) => {}
                    Err(e) => {
                        info!(conn, peer = %peer, "closing connection: {}", e.message);
                        self.fail(conn, &e.message);
                    }
                }
            }
            HubEvent::Closed { conn } => self.forget(conn),
            HubEvent::Revoked { ids } => {
                let said = self.pending.len();
                let ids: HashSet<String> = ids.into_iter().collect();
                let doomed: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.token_ids.iter().any(|t| ids.contains(t)))
                    .map(|(id, _)| *id)
                    .collect();
                for conn in doomed {
                    if self.primary {
                        info!(conn, "closing connection: its token was revoked");
                    }
                    self.fail(conn, "token revoked");
                }
                self.keep_quiet_unless_primary(said);
            }
            HubEvent::Tick => {
                let evicted = self.relay.evict_idle(Instant::now(), self.idle);
                if evicted > 0 {
                    debug!(evicted, "evicted idle documents from memory");
                }
            }
            HubEvent::Shutdown { .. } => unreachable!("handled by run"),
        }
    }

    fn on_join(&mut self, joining: Joining) {
        let Joining {
            conn,
            message,
            access,
            token_ids,
            handle,
        } = joining;
        // A token may have been revoked between the handshake and this first message.
        if token_ids.iter().any(|id| !self.auth.is_active(id)) {
            self.refuse(conn, handle, None, "token revoked".into());
            return;
        }
        let claimed = message.sender_id().map(str::to_string);
        if let Some(previous) = claimed
            .as_ref()
            .and_then(|p| self.peers.get(p))
            .and_then(|c| self.conns.get(c))
        {
            // A peer id may move to a new socket (a reconnect), but only with the same token, or
            // for a browser's session one token it had before (it may have gained a workspace
            // since): otherwise anyone who learned a peer's id could knock it off the relay.
            let same_holder = previous.token_ids == token_ids
                || previous.token_ids.iter().any(|t| token_ids.contains(t));
            if !same_holder {
                self.refuse(
                    conn,
                    handle,
                    claimed,
                    "senderId is in use by another connection".into(),
                );
                return;
            }
        }
        match self.relay.join(message, access) {
            Ok((peer, reply)) => {
                if let Some(old) = self.peers.insert(peer.clone(), conn) {
                    // automerge-repo's rule: a new socket for the same peer replaces the old
                    // one. The relay has already reset that peer's sync states.
                    if let Some(previous) = self.conns.remove(&old) {
                        info!(conn = old, peer = %peer, "replaced by a newer connection");
                        self.pending.push((
                            old,
                            previous.handle,
                            Outbound::Close {
                                error: None,
                                code: close_code::NORMAL,
                                reason: "replaced by a newer connection",
                            },
                        ));
                    }
                }
                info!(conn, peer = %peer, "peer joined");
                self.pending
                    .push((conn, handle.clone(), Outbound::Message(Box::new(reply))));
                self.conns.insert(
                    conn,
                    Conn {
                        peer,
                        token_ids,
                        handle,
                    },
                );
            }
            Err(e) => {
                info!(conn, "refused join: {}", e.message);
                self.refuse(conn, handle, claimed, e.message);
            }
        }
    }

    /// Drop what this event queued for connections (replies, refusals, closes) unless this is
    /// the primary shard: every shard handles joins and revocations to keep its own register,
    /// but a connection must hear the answer once.
    fn keep_quiet_unless_primary(&mut self, said: usize) {
        if !self.primary {
            self.pending.truncate(said);
        }
    }

    /// Close the connection whose event panicked. Closing goes through the relay too
    /// (`disconnect`), so it is guarded as well; if that panics, the connection is killed.
    fn close_after_panic(&mut self, conn: Option<ConnId>, joining: Option<ConnHandle>) {
        let Some(conn) = conn else {
            return;
        };
        let handle = self.conns.get(&conn).map(|c| c.handle.clone()).or(joining);
        let closed = catch_unwind(AssertUnwindSafe(|| {
            if self.conns.contains_key(&conn) {
                self.fail(conn, "internal error in the relay");
            } else if let Some(handle) = handle.clone() {
                self.refuse(conn, handle, None, "internal error in the relay".into());
            }
        }));
        if closed.is_err() {
            self.conns.remove(&conn);
            self.peers.retain(|_, c| *c != conn);
            if let Some(handle) = handle {
                handle.kill();
            }
        }
    }

    fn error_message(&self, target: Option<String>, reason: &str) -> Message {
        Message::Error {
            message: reason.to_string(),
            sender_id: Some(self.relay.peer_id().to_string()),
            target_id: target,
        }
    }

    /// Close a connection that never joined.
    fn refuse(&mut self, conn: ConnId, handle: ConnHandle, target: Option<String>, reason: String) {
        let error = self.error_message(target, &reason);
        self.pending.push((
            conn,
            handle,
            Outbound::Close {
                error: Some(Box::new(error)),
                code: close_code::POLICY,
                reason: "refused",
            },
        ));
    }

    /// Close a joined connection with an `error` message, and forget its peer.
    fn fail(&mut self, conn: ConnId, reason: &str) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let error = self.error_message(Some(c.peer.clone()), reason);
        let handle = c.handle.clone();
        self.forget(conn);
        self.pending.push((
            conn,
            handle,
            Outbound::Close {
                error: Some(Box::new(error)),
                code: close_code::POLICY,
                reason: "protocol error",
            },
        ));
    }

    /// Forget a connection and, if it still speaks for its peer, disconnect that peer.
    fn forget(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if self.peers.get(&c.peer) == Some(&conn) {
            self.peers.remove(&c.peer);
            self.relay.disconnect(&c.peer);
            info!(conn, peer = %c.peer, "peer left");
        }
    }

    /// End the batch: seal the relay's messages and hand them, with what the hub queued
    /// itself, to the flusher thread, which delivers them once they are on disk. The hub goes
    /// on with the next batch meanwhile (group commit).
    fn seal(&mut self) {
        let room = self.outbox_room;
        let conns = &self.conns;
        let peers = &self.peers;
        let sealed = catch_unwind(AssertUnwindSafe(|| {
            self.relay.seal(Instant::now(), |peer| {
                // A peer without a connection is taken as ready: the relay drops what it has
                // for it, since it is disconnecting.
                peers
                    .get(peer)
                    .and_then(|c| conns.get(c))
                    .is_none_or(|c| c.handle.outbox.capacity() >= room)
            })
        }));
        let mut batch = match sealed {
            Ok(batch) => batch,
            Err(_) => {
                error!("the relay panicked while sealing a batch; closing every connection");
                let all: Vec<ConnId> = self.conns.keys().copied().collect();
                for conn in all {
                    self.fail(conn, "internal error in the relay");
                }
                deliver(std::mem::take(&mut self.pending));
                return;
            }
        };
        for (peer, e) in batch.take_refused() {
            if let Some(&conn) = self.peers.get(&peer) {
                error!(conn, peer = %peer, "closing connection: {}", e.message);
                self.fail(conn, &e.message);
            }
        }
        let items = std::mem::take(&mut self.pending);
        self.stats.publish(self.shard, self.relay.stats());
        if batch.is_empty() && items.is_empty() {
            return;
        }
        let mut routes = HashMap::new();
        for peer in batch.targets() {
            if routes.contains_key(peer) {
                continue;
            }
            if let Some((&conn, c)) = self
                .peers
                .get(peer)
                .and_then(|conn| self.conns.get_key_value(conn))
            {
                routes.insert(peer.to_string(), (conn, c.handle.clone()));
            }
        }
        let job = Job {
            items,
            batch,
            routes,
        };
        if let Some(flusher) = &self.flusher {
            // Blocks while the flusher is FLUSH_QUEUE batches behind: the disk sets the pace.
            if flusher.send(job).is_err() {
                error!("the flusher thread is gone; nothing more can be delivered");
            }
        }
    }

    fn shut_down(mut self) -> Result<(), SaveError> {
        for (conn, c) in std::mem::take(&mut self.conns) {
            self.pending.push((
                conn,
                c.handle,
                Outbound::Close {
                    error: None,
                    code: close_code::GOING_AWAY,
                    reason: "server shutting down",
                },
            ));
        }
        let pending = std::mem::take(&mut self.pending);
        deliver(pending);
        self.peers.clear();
        let result = self.relay.shutdown().map_err(SaveError::Storage);
        match &result {
            Ok(()) => info!("relay stopped; everything is saved"),
            Err(e) => error!("relay stopped, but {}", tandem_core::Chain(e)),
        }
        result
    }
}

/// The flusher thread: flush each sealed batch (several at once when they queue up), then
/// deliver its messages. **Invariant (durability):** nothing of a batch is delivered before its
/// flush completed.
///
/// `flush_seconds` records how long each flush took, for `/metrics`.
fn flush_loop(queue: std::sync::mpsc::Receiver<Job>, relay_id: String, flush_seconds: Histogram) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while let Ok(job) = queue.try_recv() {
            jobs.push(job);
        }
        let (heads, batches): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| ((j.items, j.routes), j.batch))
            .unzip();
        let started = Instant::now();
        let flushed = catch_unwind(AssertUnwindSafe(|| Batch::flush_many(batches)));
        flush_seconds.observe(started.elapsed().as_secs_f64());
        match flushed {
            Ok(Ok(outgoing)) => {
                for ((items, routes), messages) in heads.into_iter().zip(outgoing) {
                    deliver(items);
                    let routed = messages.into_iter().filter_map(|(peer, message)| {
                        trace!(peer = %peer, kind = message.type_name(), "message out");
                        let (conn, handle) = routes.get(&peer)?;
                        Some((*conn, handle.clone(), Outbound::Message(Box::new(message))))
                    });
                    deliver(routed.collect());
                }
            }
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.error.chain().to_string(),
                    _ => "panic while flushing".into(),
                };
                // Nothing from these batches may be delivered: it could acknowledge a change
                // that is not durable. Closing the connections resets their sync states, so
                // their peers resend everything on reconnect.
                error!("could not flush storage: {reason}; closing the affected connections");
                let mut doomed: HashMap<ConnId, ConnHandle> = HashMap::new();
                for (items, routes) in heads {
                    doomed.extend(items.into_iter().map(|(conn, handle, _)| (conn, handle)));
                    doomed.extend(routes.into_values());
                }
                let closes = doomed
                    .into_iter()
                    .map(|(conn, handle)| {
                        let error = Message::Error {
                            message: "the relay could not store changes".into(),
                            sender_id: Some(relay_id.clone()),
                            target_id: None,
                        };
                        (
                            conn,
                            handle,
                            Outbound::Close {
                                error: Some(Box::new(error)),
                                code: close_code::POLICY,
                                reason: "storage failure",
                            },
                        )
                    })
                    .collect();
                deliver(closes);
            }
        }
    }
}

/// Hand items to their connections' outboxes, in order. The hub offers a connection sync
/// messages only while its outbox has room, so a full one is rare: it means a peer that stopped
/// reading altogether. Buffering more would let it grow the relay's memory without bound, so it
/// is closed; its reader then tells the hub, and the peer catches up from its sync state when it
/// reconnects.
fn deliver(items: Vec<(ConnId, ConnHandle, Outbound)>) {
    let mut slow = HashSet::new();
    for (conn, handle, item) in items {
        if slow.contains(&conn) {
            continue;
        }
        match handle.outbox.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(conn, "dropping a slow reader: its outbox is full");
                slow.insert(conn);
                handle.kill();
            }
            // The writer is gone; the reader reports the close soon.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}
