//! One websocket connection, from its upgrade to its close.
//!
//! (This file runs a little past 600 lines: the upgrade check, the reader and the writer are
//! the three halves of one connection's lifetime and share its close rules.)
//!
//! Read this if you change what a connection may send or how it is closed. [`crate::http`]
//! hands every websocket upgrade request to [`upgrade`], which checks the handshake headers
//! and the token (`?token=`, `Authorization: Bearer`, or the web app's cookie) *before* answering:
//! `401` if the token is missing, unknown or revoked, `101` otherwise. Once hyper has sent the
//! `101`, the upgraded stream becomes a tungstenite websocket and runs as two halves:
//!
//! - the **reader** (this task) decodes each binary frame into a protocol message and sends it
//!   to the hub; it enforces the per-connection rate limit, the join deadline and the rules on
//!   frames (binary only, decodable, within the size cap);
//! - the **writer** (a task of its own) sends what the hub queues in the connection's bounded
//!   outbox, and pings the client every `ping_interval`, giving up if nothing came back by the
//!   next tick.
//!
//! A misbehaving connection is closed with an `error` message (`{type: "error", message,
//! senderId: <relay>, targetId: <peer, if known>}`) followed by a close frame; only that
//! connection is affected. The reader then drains briefly, so that the client can read the
//! error before the socket goes away, and stops.

use crate::auth::Grant;
use crate::credentials::{bearer, cookie_tokens};
use crate::error_answer::json_error;
use crate::hub::{close_code, ConnHandle, ConnId, ConnState, HubEvent, Joining, Outbound};
use crate::metrics::Refusal;
use crate::Shared;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem_core::protocol::Message;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info, warn, Instrument};

/// How long hyper may take to hand over the upgraded stream after the `101`.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has, once connected, to send `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection is drained, waiting for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The same at shutdown, kept short because the whole server waits for it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// How long the writer may take to send a final error and close frame.
const CLOSE_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The most queued messages the writer sends before it flushes.
const WRITE_BATCH: usize = 64;

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// What a connection holds while it lives, from `accept` to the websocket's close: its
/// connection permit and its share of the shutdown drain signal (dropped when the last clone
/// goes), and the shutdown watch it obeys.
#[derive(Clone)]
pub(crate) struct ConnGuard {
    _held: Arc<(OwnedSemaphorePermit, mpsc::Sender<()>)>,
    pub shutdown: watch::Receiver<bool>,
}

impl ConnGuard {
    pub fn new(
        permit: OwnedSemaphorePermit,
        done: mpsc::Sender<()>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            _held: Arc::new((permit, done)),
            shutdown,
        }
    }
}

/// Whether the client asks for a websocket (`Upgrade: websocket`). [`upgrade`] checks the
/// rest of the handshake.
pub(crate) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
}

/// The query of a websocket URL: only `token` matters, everything else is ignored.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The tokens a request presents: `?token=` in the query, else `Authorization: Bearer`, else
/// the web app's session cookie (from a page of this origin only), which holds a token for
/// every workspace the browser has joined on this relay.
fn presented_tokens(request: &hyper::Request<hyper::body::Incoming>) -> Vec<String> {
    let from_query = Query::<TokenQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|q| q.0.token)
        .filter(|t| !t.is_empty());
    match from_query.or_else(|| bearer(request.headers())) {
        Some(token) => vec![token],
        None => cookie_tokens(request.headers()),
    }
}

/// Check a websocket upgrade request and its token; answer `101` and start the connection, or
/// refuse it with a JSON error.
pub(crate) async fn upgrade(
    mut request: hyper::Request<hyper::body::Incoming>,
    addr: SocketAddr,
    shared: Arc<Shared>,
    guard: ConnGuard,
) -> Response {
    let headers = request.headers();
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("upgrade"));
    let version_13 = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let Some(key) =
        key.filter(|_| request.method() == Method::GET && connection_upgrade && version_13)
    else {
        shared.metrics.refused(Refusal::BadUpgrade);
        debug!(%addr, "malformed websocket upgrade");
        return json_error(StatusCode::BAD_REQUEST, "malformed websocket upgrade");
    };
    // Pick up the operator's latest `token create|revoke` before deciding on this connection.
    shared.refresh_tokens().await;
    let grant = match shared.auth.authorize_all(&presented_tokens(&request)) {
        Ok(grant) => grant,
        Err(denied) => {
            // The token is never logged, only why it was refused.
            shared.metrics.refused(Refusal::Token);
            info!(%addr, "refused a connection: {}", denied.reason());
            return json_error(StatusCode::UNAUTHORIZED, &denied.reason());
        }
    };
    shared.metrics.accepted.inc();
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match timeout(UPGRADE_TIMEOUT, on_upgrade).await {
            Ok(Ok(upgraded)) => upgraded,
            Ok(Err(e)) => {
                debug!(%addr, "websocket upgrade failed: {e}");
                return;
            }
            Err(_) => {
                debug!(%addr, "websocket upgrade timed out");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(shared.ws_config),
        )
        .await;
        let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("conn", id = conn, %addr);
        let shutdown = guard.shutdown.clone();
        run(ws, conn, grant, shared, shutdown)
            .instrument(span)
            .await;
        drop(guard);
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    let accept = derive_accept_key(key.as_bytes());
    headers.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    response
}

/// Counts a live websocket connection for `/health` while it exists.
struct Live<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Live<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn run(
    ws: Ws,
    conn: ConnId,
    grant: Grant,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let _live = Live::new(&shared.metrics.connections);
    debug!(tokens = ?grant.token_ids, "connected");
    let (sink, stream) = ws.split();
    let (outbox, outbox_rx) = mpsc::channel(shared.config.outbox_capacity.max(1));
    let (state, state_rx) = watch::channel(ConnState::Open);
    let state = Arc::new(state);
    let alive = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn(
        write_loop(
            sink,
            outbox_rx,
            state.clone(),
            alive.clone(),
            shared.clone(),
        )
        .in_current_span(),
    );
    let limiter = RateLimit::new(
        shared.config.max_messages_per_sec,
        shared.config.max_messages_burst,
    );
    let mut reader = Reader {
        conn,
        shared: shared.clone(),
        handle: ConnHandle {
            outbox,
            state: state.clone(),
        },
        grant: Some(grant),
        peer: None,
        joined: false,
        closing: None,
        hub_told: false,
        limiter,
        alive,
    };
    reader.read_loop(stream, state_rx, shutdown).await;
    if !reader.hub_told {
        // The hub forgets the peer; whatever it still queued for this connection is moot.
        let _ = shared.hub.send(HubEvent::Closed { conn }).await;
    }
    state.send_replace(ConnState::Dead);
    drop(reader);
    let mut writer = writer;
    if timeout(CLOSE_GRACE, &mut writer).await.is_err() {
        writer.abort();
    }
    debug!("disconnected");
}

struct Reader {
    conn: ConnId,
    shared: Arc<Shared>,
    handle: ConnHandle,
    /// Taken when the join is sent to the hub.
    grant: Option<Grant>,
    /// The peer id the client claimed in `join`, for `targetId` in error messages.
    peer: Option<String>,
    joined: bool,
    /// Set once the connection is closing: frames are drained, not handled, until then.
    closing: Option<Instant>,
    /// Whether the hub has been told that this connection is closed.
    hub_told: bool,
    limiter: RateLimit,
    alive: Arc<AtomicBool>,
}

impl Reader {
    async fn read_loop(
        &mut self,
        mut stream: SplitStream<Ws>,
        mut state: watch::Receiver<ConnState>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let join_deadline = Instant::now() + JOIN_TIMEOUT;
        // After a framing error the stream is in an unknown state, so it is not read again.
        let mut readable = true;
        loop {
            if self.closing.is_some() && !self.hub_told {
                // The hub forgets the peer now rather than after the drain, so that nothing
                // more is routed to a connection that is going away.
                self.hub_told = true;
                let _ = self
                    .shared
                    .hub
                    .send(HubEvent::Closed { conn: self.conn })
                    .await;
            }
            let deadline = match self.closing {
                Some(until) => until,
                None if !self.joined => join_deadline,
                None => Instant::now() + Duration::from_secs(3600),
            };
            let frame = tokio::select! {
                changed = state.changed() => {
                    let now = *state.borrow_and_update();
                    match (changed, now) {
                        (Err(_), _) | (_, ConnState::Dead) => return,
                        // With the stream unreadable there is no close reply to wait for.
                        (_, ConnState::Closing) if !readable => return,
                        (_, ConnState::Closing) => self.start_closing(),
                        (_, ConnState::Open) => {}
                    }
                    continue;
                }
                _ = shutdown.changed(), if self.closing.is_none() => {
                    self.close(None, close_code::GOING_AWAY, "server shutting down");
                    self.closing = Some(Instant::now() + SHUTDOWN_GRACE);
                    continue;
                }
                _ = sleep_until(deadline) => {
                    if self.closing.is_some() {
                        return;
                    }
                    info!("closing connection: no join within {}s", JOIN_TIMEOUT.as_secs());
                    self.fail(Refusal::Protocol, close_code::POLICY, "expected a join message".into());
                    continue;
                }
                frame = stream.next(), if readable => frame,
            };
            let frame = match frame {
                None => return,
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    readable = false;
                    if self.closing.is_some() {
                        return;
                    }
                    match e {
                        WsError::Capacity(e) => {
                            warn!("closing connection: {e}");
                            self.fail(
                                Refusal::TooLarge,
                                close_code::TOO_BIG,
                                format!("message too large: {e}"),
                            );
                        }
                        WsError::Protocol(e) => {
                            info!("closing connection: websocket protocol error: {e}");
                            self.fail(
                                Refusal::Protocol,
                                close_code::POLICY,
                                format!("websocket protocol error: {e}"),
                            );
                        }
                        WsError::Utf8(e) => {
                            info!("closing connection: {e}");
                            self.fail(
                                Refusal::Protocol,
                                close_code::POLICY,
                                format!("invalid frame: {e}"),
                            );
                        }
                        other => {
                            debug!("connection lost: {other}");
                            return;
                        }
                    }
                    continue;
                }
            };
            self.alive.store(true, Ordering::Relaxed);
            if self.closing.is_some() {
                continue;
            }
            // Every frame counts, so that a flood of pings is as unwelcome as one of messages.
            if !self.limiter.allow() {
                warn!("closing connection: it sends too many messages");
                self.fail(
                    Refusal::RateLimit,
                    close_code::POLICY,
                    "too many messages".into(),
                );
                continue;
            }
            match frame {
                WsMessage::Binary(bytes) => {
                    if !self.on_binary(&bytes).await {
                        return;
                    }
                }
                WsMessage::Text(_) => {
                    info!("closing connection: it sent a text frame");
                    self.fail(
                        Refusal::Protocol,
                        close_code::POLICY,
                        "text frames are not supported: send binary CBOR messages".into(),
                    );
                }
                // tungstenite answers pings and close frames itself; any frame shows the peer
                // is alive, which is all the writer's keepalive needs to know.
                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) => {}
                WsMessage::Frame(_) => {}
            }
        }
    }

    /// Handle one binary frame. Returns `false` if the hub is gone.
    async fn on_binary(&mut self, bytes: &[u8]) -> bool {
        self.shared.metrics.messages_in.inc();
        self.shared.metrics.bytes_in.inc_by(bytes.len() as u64);
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(e) => {
                info!("closing connection: undecodable message: {e}");
                self.fail(
                    Refusal::Protocol,
                    close_code::POLICY,
                    format!("invalid message: {e}"),
                );
                return true;
            }
        };
        let event = if self.joined {
            HubEvent::Message {
                conn: self.conn,
                message,
            }
        } else {
            self.joined = true;
            if let Message::Join { sender_id, .. } = &message {
                self.peer = Some(sender_id.clone());
            }
            let grant = self.grant.take().expect("granted before the first frame");
            HubEvent::Join(Joining {
                conn: self.conn,
                message,
                access: grant.access,
                token_ids: grant.token_ids,
                handle: self.handle.clone(),
            })
        };
        self.shared.hub.send(event).await.is_ok()
    }

    fn start_closing(&mut self) {
        if self.closing.is_none() {
            self.closing = Some(Instant::now() + CLOSE_GRACE);
        }
    }

    /// Ask the writer to send `error` (if any) and a close frame, and start draining.
    fn close(&mut self, error: Option<Message>, code: u16, reason: &'static str) {
        let item = Outbound::Close {
            error: error.map(Box::new),
            code,
            reason,
        };
        if self.handle.outbox.try_send(item).is_err() {
            // The outbox is full or the writer is gone: no room to be polite.
            self.handle.state.send_replace(ConnState::Dead);
        }
        self.start_closing();
    }

    /// Close the connection with an `error` message saying why.
    fn fail(&mut self, refusal: Refusal, code: u16, reason: String) {
        self.shared.metrics.refused(refusal);
        let error = Message::Error {
            message: reason,
            sender_id: Some(self.shared.relay_peer_id.clone()),
            target_id: self.peer.clone(),
        };
        self.close(Some(error), code, "protocol error");
    }
}

/// Send what the hub queues, and keep the connection alive with pings.
async fn write_loop(
    mut sink: SplitSink<Ws, WsMessage>,
    mut outbox: mpsc::Receiver<Outbound>,
    state: Arc<watch::Sender<ConnState>>,
    alive: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    let ping_every = shared.config.ping_interval;
    let metrics = &shared.metrics;
    let mut dead = state.subscribe();
    let work = async {
        let mut ticker = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if !alive.swap(false, Ordering::Relaxed) {
                        metrics.refused(Refusal::Unresponsive);
                        info!("closing connection: no pong since the last ping");
                        return Ok(ConnState::Dead);
                    }
                    sink.send(WsMessage::Ping(Default::default())).await?;
                }
                item = outbox.recv() => {
                    let mut item = match item {
                        None => {
                            let _ = timeout(CLOSE_SEND_TIMEOUT, sink.close()).await;
                            return Ok(ConnState::Closing);
                        }
                        Some(item) => item,
                    };
                    // Send everything already queued with one flush, up to a batch.
                    let mut sent = 0;
                    loop {
                        match item {
                            Outbound::Message(message) => {
                                let bytes = message.encode();
                                metrics.messages_out.inc();
                                metrics.bytes_out.inc_by(bytes.len() as u64);
                                sink.feed(WsMessage::Binary(bytes.into())).await?;
                            }
                            Outbound::Close { error, code, reason } => {
                                sink.flush().await?;
                                send_close(&mut sink, error, code, reason).await;
                                return Ok(ConnState::Closing);
                            }
                        }
                        sent += 1;
                        match outbox.try_recv() {
                            Ok(next) if sent < WRITE_BATCH => item = next,
                            Ok(next) => {
                                sink.flush().await?;
                                sent = 0;
                                item = next;
                            }
                            Err(_) => break,
                        }
                    }
                    sink.flush().await?;
                }
            }
        }
    };
    let outcome: Result<ConnState, WsError> = tokio::select! {
        outcome = work => outcome,
        _ = dead.wait_for(|s| *s == ConnState::Dead) => Ok(ConnState::Dead),
    };
    match outcome {
        Ok(ConnState::Closing) => {
            state.send_if_modified(|s| {
                let open = *s == ConnState::Open;
                if open {
                    *s = ConnState::Closing;
                }
                open
            });
        }
        Ok(_) => {
            state.send_replace(ConnState::Dead);
        }
        Err(e) => {
            debug!("write failed: {e}");
            state.send_replace(ConnState::Dead);
        }
    }
}

async fn send_close(
    sink: &mut SplitSink<Ws, WsMessage>,
    error: Option<Box<Message>>,
    code: u16,
    reason: &'static str,
) {
    let frames = async {
        if let Some(error) = error {
            sink.send(WsMessage::Binary(error.encode().into())).await?;
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(reason),
        };
        sink.send(WsMessage::Close(Some(frame))).await
    };
    match timeout(CLOSE_SEND_TIMEOUT, frames).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!("could not send the close frame: {e}"),
        Err(_) => debug!("timed out sending the close frame"),
    }
}

/// A token bucket: `burst` messages at once, refilled at `per_sec`. Generous by default, so
/// that a real initial sync (one message per document per round) never comes near it.
#[derive(Debug)]
struct RateLimit {
    tokens: f64,
    per_sec: f64,
    burst: f64,
    last: Instant,
}

impl RateLimit {
    fn new(per_sec: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            tokens: burst,
            per_sec: f64::from(per_sec),
            burst,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_sec;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_allows_a_burst_then_the_sustained_rate() {
        let mut limit = RateLimit::new(10, 5);
        for _ in 0..5 {
            assert!(limit.allow());
        }
        assert!(!limit.allow());
        tokio::time::advance(Duration::from_millis(500)).await;
        for _ in 0..5 {
            assert!(limit.allow());
        }
        assert!(!limit.allow());
    }
}
