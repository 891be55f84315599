//! The hub: the one thread that owns the sync engine.
//!
//! Read this if you change how messages flow between connections. Every connection task sends
//! what it decoded to the hub over one bounded channel ([`HubEvent`]); the hub feeds the
//! [`Relay`], and hands what the relay wants sent to each connection's writer through that
//! connection's own bounded outbox ([`Outbound`]).
//!
//! The hub works in batches: it takes every event that is already waiting (up to
//! [`MAX_BATCH`]), handles them, flushes storage once with [`Relay::commit`], and only then
//! delivers the replies. **Invariant (durability):** no peer hears about a change before it is
//! on disk; batching amortises the fsync over many messages without weakening that.
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
use std::time::Duration;
use tandem_core::protocol::Message;
use tandem_core::sync::{Access, Relay, RelayStats};
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
#[derive(Debug)]
pub(crate) enum Outbound {
    Message(Message),
    /// Send `error` if any, then a close frame with `code` and `reason`, then stop.
    Close {
        error: Option<Message>,
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

/// What connection tasks (and timers) tell the hub.
#[derive(Debug)]
pub(crate) enum HubEvent {
    /// A connection's first message, which should be `join`.
    Join {
        conn: ConnId,
        message: Message,
        access: Access,
        token_id: Option<String>,
        handle: ConnHandle,
    },
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
        done: oneshot::Sender<Result<(), String>>,
    },
}

impl HubEvent {
    fn conn(&self) -> Option<ConnId> {
        match self {
            HubEvent::Join { conn, .. }
            | HubEvent::Message { conn, .. }
            | HubEvent::Closed { conn } => Some(*conn),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Conn {
    peer: String,
    token_id: Option<String>,
    handle: ConnHandle,
}

struct Hub {
    relay: Relay,
    auth: Arc<Auth>,
    idle: Duration,
    conns: HashMap<ConnId, Conn>,
    peers: HashMap<String, ConnId>,
    /// What to deliver once this batch is flushed, in order.
    pending: Vec<(ConnId, ConnHandle, Outbound)>,
    stats: watch::Sender<RelayStats>,
    /// Seconds per storage flush, for `/metrics`.
    flush_seconds: Histogram,
}

/// Start the hub thread. It runs until it handles [`HubEvent::Shutdown`] or every sender of
/// `events` is gone.
pub(crate) fn spawn(
    relay: Relay,
    events: mpsc::Receiver<HubEvent>,
    stats: watch::Sender<RelayStats>,
    auth: Arc<Auth>,
    idle: Duration,
    flush_seconds: Histogram,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let hub = Hub {
        relay,
        auth,
        idle,
        conns: HashMap::new(),
        peers: HashMap::new(),
        pending: Vec::new(),
        stats,
        flush_seconds,
    };
    std::thread::Builder::new()
        .name("tandem-hub".into())
        .spawn(move || hub.run(events))
}

impl Hub {
    fn run(mut self, mut events: mpsc::Receiver<HubEvent>) {
        let mut shutdown = None;
        while shutdown.is_none() {
            let Some(first) = events.blocking_recv() else {
                break;
            };
            let mut batch = vec![first];
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
                    HubEvent::Join { handle, .. } => Some(handle.clone()),
                    _ => None,
                };
                let outcome = catch_unwind(AssertUnwindSafe(|| self.handle(event)));
                if outcome.is_err() {
                    error!(?conn, "the relay panicked while handling a message");
                    self.close_after_panic(conn, joining);
                }
            }
            self.flush_and_deliver();
        }
        let result = self.shut_down();
        if let Some(done) = shutdown {
            let _ = done.send(result);
        }
    }

    fn handle(&mut self, event: HubEvent) {
        match event {
            HubEvent::Join {
                conn,
                message,
                access,
                token_id,
                handle,
            } => self.on_join(conn, message, access, token_id, handle),
            HubEvent::Message { conn, message } => {
                let Some(peer) = self.conns.get(&conn).map(|c| c.peer.clone()) else {
                    // The connection was already dropped (refused join, slow reader, revoked
                    // token); what it still had in flight is ignored.
                    return;
                };
                trace!(conn, peer = %peer, kind = message.type_name(), doc = ?message.document_id(), "message in");
                match self.relay.receive(&peer, message) {
                    Ok(out) => self.route(out),
                    Err(e) => {
                        info!(conn, peer = %peer, "closing connection: {}", e.message);
                        self.fail(conn, &e.message);
                    }
                }
            }
            HubEvent::Closed { conn } => self.forget(conn),
            HubEvent::Revoked { ids } => {
                let ids: HashSet<String> = ids.into_iter().collect();
                let doomed: Vec<ConnId> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.token_id.as_ref().is_some_and(|t| ids.contains(t)))
                    .map(|(id, _)| *id)
                    .collect();
                for conn in doomed {
                    info!(conn, "closing connection: its token was revoked");
                    self.fail(conn, "token revoked");
                }
            }
            HubEvent::Tick => {
                let evicted = self.relay.evict_idle(self.idle);
                if evicted > 0 {
                    debug!(evicted, "evicted idle documents from memory");
                }
            }
            HubEvent::Shutdown { .. } => unreachable!("handled by run"),
        }
    }

    fn on_join(
        &mut self,
        conn: ConnId,
        message: Message,
        access: Access,
        token_id: Option<String>,
        handle: ConnHandle,
    ) {
        // The token may have been revoked between the handshake and this first message.
        if let Some(id) = &token_id {
            if !self.auth.is_active(id) {
                self.refuse(conn, handle, None, "token revoked".into());
                return;
            }
        }
        let claimed = message.sender_id().map(str::to_string);
        if let Some(previous) = claimed
            .as_ref()
            .and_then(|p| self.peers.get(p))
            .and_then(|c| self.conns.get(c))
        {
            // A peer id may move to a new socket (a reconnect), but only with the same token:
            // otherwise anyone who learned a peer's id could knock it off the relay.
            if previous.token_id != token_id {
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
                    .push((conn, handle.clone(), Outbound::Message(reply)));
                self.conns.insert(
                    conn,
                    Conn {
                        peer,
                        token_id,
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

    /// Queue relay output for the connections of its target peers.
    fn route(&mut self, out: Vec<(String, Message)>) {
        for (peer, message) in out {
            trace!(peer = %peer, kind = message.type_name(), "message out");
            let Some(&conn) = self.peers.get(&peer) else {
                continue;
            };
            if let Some(c) = self.conns.get(&conn) {
                self.pending
                    .push((conn, c.handle.clone(), Outbound::Message(message)));
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
                error: Some(error),
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
                error: Some(error),
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

    /// Flush storage, then deliver what the batch produced.
    fn flush_and_deliver(&mut self) {
        let started = std::time::Instant::now();
        let committed = catch_unwind(AssertUnwindSafe(|| self.relay.commit()));
        self.flush_seconds.observe(started.elapsed().as_secs_f64());
        let pending = std::mem::take(&mut self.pending);
        match committed {
            Ok(Ok(())) => {}
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.chain().to_string(),
                    _ => "panic while flushing".into(),
                };
                // Nothing from this batch may be delivered: it could acknowledge a change that
                // is not durable. Closing the connections resets their sync states, so their
                // peers resend everything on reconnect.
                error!("could not flush storage: {reason}; closing the affected connections");
                for (conn, handle, _) in pending {
                    if self.conns.contains_key(&conn) {
                        self.fail(conn, "the relay could not store changes");
                    } else {
                        handle.kill();
                    }
                }
                let again = std::mem::take(&mut self.pending);
                self.deliver(again);
                return;
            }
        }
        self.deliver(pending);
        // Dropping slow readers may have saved sync states; they need no fsync before anything
        // is said, but they should not wait for the next batch either.
        if let Err(e) = self.relay.commit() {
            warn!("could not flush sync states: {}", e.chain());
        }
        self.stats.send_replace(self.relay.stats());
    }

    fn deliver(&mut self, pending: Vec<(ConnId, ConnHandle, Outbound)>) {
        let mut slow = HashSet::new();
        for (conn, handle, item) in pending {
            if slow.contains(&conn) {
                continue;
            }
            match handle.outbox.try_send(item) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // The peer does not read fast enough. Buffering more would let one slow
                    // reader grow the relay's memory without bound, so it is dropped; it will
                    // reconnect and catch up from its sync state.
                    warn!(conn, "dropping a slow reader: its outbox is full");
                    slow.insert(conn);
                    handle.kill();
                    self.forget(conn);
                }
                // The writer is gone; the reader reports the close soon.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    fn shut_down(mut self) -> Result<(), String> {
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
        self.deliver(pending);
        self.peers.clear();
        let result = self.relay.shutdown().map_err(|e| e.chain().to_string());
        match &result {
            Ok(()) => info!("relay stopped; everything is saved"),
            Err(e) => error!("relay stopped, but saving failed: {e}"),
        }
        result
    }
}
