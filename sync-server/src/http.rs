//! The relay's HTTP side: every connection starts here.
//!
//! (This file runs a little past 600 lines: each route's handler is short, and the limits that
//! bound every request are easier to check when they sit beside the routes they protect.)
//!
//! Read this if you add a route or change a limit. Each accepted connection (plain, or already
//! wrapped in TLS by the accept loop) is served by hyper's HTTP/1.1 connection with the limits
//! below. A websocket upgrade goes to [`crate::conn::upgrade`], which checks the token *before*
//! answering `101`; every other request goes to an axum [`Router`]:
//!
//! - `GET /`, `/j/{code}`, `/sw.js`, `/assets/...` and `/v1/session`: the web app and the
//!   browser's session cookie (see `web.rs`).
//! - `GET /health`: `200` with `{status, version, uptime_secs, connections, open, ...RelayStats}`.
//! - `GET /metrics`: the Prometheus text format (see `metrics.rs`); no token needed, and
//!   nothing in it names a token, a peer or a document.
//! - `/v1/invites`: invite codes (see `docs/protocol.md` §9 and [`crate::invites`]).
//!   `POST /v1/invites` (Bearer: a write token covering the workspace) makes a code;
//!   `GET /v1/invites?workspace=ID` lists the open ones (never their codes); `DELETE
//!   /v1/invites/{id}` revokes one; `POST /v1/invites/redeem` (no token) exchanges a code for a
//!   token scoped to its workspace, at most [`REDEEM_PER_MINUTE`] attempts a minute per client
//!   address. On an `--open` relay, which mints no tokens, they answer `409 open_relay`.
//! - `GET /v1/program` (Bearer: a program token, or the web app's session cookie holding one):
//!   the coordinators' report of the workspaces in the token's scope, in numbers only
//!   (`docs/program.md`, [`crate::program`]); `401` without a valid token, `403` for a read or
//!   write token. A program token is refused (`403 forbidden`) by every invite route.
//! - anything else: `404`, and `405` for a known path with the wrong method.
//!
//! Errors are JSON (`{"error": "...", "code": "..."}`). Keep-alive is off: one request per plain connection,
//! so a client that lingers holds a connection permit for one exchange at most.
//!
//! Limits: the request head must arrive within `header_timeout` (10 s) and fit in [`MAX_HEAD`]
//! bytes and [`MAX_HEADERS`] headers (`431` otherwise); a body is capped at [`MAX_BODY`] bytes
//! (`413`) and must arrive within [`BODY_TIMEOUT`] (`408`); a whole plain exchange may take
//! [`HTTP_TIMEOUT`]. So a slow or hostile client holds a few KiB for a few seconds.

use crate::auth::{InviteError, ProgramDenied, PROGRAM_NO_INVITES};
use crate::conn::{self, ConnGuard};
use crate::credentials::{bearer, cookie_tokens};
use crate::error_answer::{coded_error, json_error};
use crate::invites::{self, InviteRole, NewInvite};
use crate::metrics::{Metrics, Refusal};
use crate::tokens;
use crate::Shared;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_core::sync::RelayStats;
use tokio::io::{AsyncRead, AsyncWrite};
use tower::ServiceExt as _;
use tracing::debug;

/// The largest request head (request line and headers) accepted: room for a browser's cookies,
/// yet the default 1024 connections stalled mid-head hold at most 16 MiB.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The most headers a request may carry.
pub(crate) const MAX_HEADERS: usize = 64;
/// The largest request body accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// How long a client may take to send a whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a plain HTTP exchange (or the part before a websocket upgrade) may take in all.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a plain exchange in progress may finish once the relay shuts down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serve one connection's HTTP until it closes, times out, or hands itself to a websocket.
/// `router` is [`router`]'s, built once by the accept loop.
pub(crate) async fn serve<S>(
    io: S,
    addr: SocketAddr,
    shared: Arc<Shared>,
    router: Router,
    guard: ConnGuard,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut shutdown = guard.shutdown.clone();
    let header_timeout = shared.config.header_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let shared = shared.clone();
        let guard = guard.clone();
        async move {
            if conn::is_websocket_upgrade(request.headers()) {
                let response = conn::upgrade(request, addr, shared, guard).await;
                return Ok::<_, Infallible>(response);
            }
            // The path only: a query string may carry a token. An invite link's path carries
            // its code, which is left out too.
            let (method, path) = (request.method().clone(), request.uri().path().to_string());
            let path = crate::web::loggable_path(path);
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ClientAddr(addr));
            let mut response = router.oneshot(request).await?;
            debug!(%addr, %method, path, status = response.status().as_u16(), "http request");
            // One request per plain connection (see the module docs). Keep-alive stays on in
            // hyper itself only because switching it off would also spoil the `Connection:
            // Upgrade` of a websocket's `101`.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let deadline = tokio::time::sleep(HTTP_TIMEOUT);
    tokio::pin!(deadline);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                debug!(%addr, "http connection ended: {e}");
            }
        }
        _ = &mut deadline => debug!(%addr, "http exchange timed out"),
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
        }
    }
}

/// The plain HTTP routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health).fallback(wrong_method("use GET")))
        .route("/metrics", get(metrics).fallback(wrong_method("use GET")))
        .route(
            "/v1/invites",
            post(create_invite)
                .get(list_invites)
                .fallback(wrong_method("use GET or POST")),
        )
        .route(
            "/v1/program",
            get(program_report).fallback(wrong_method("use GET")),
        )
        .route(
            "/v1/invites/redeem",
            post(redeem_invite).fallback(wrong_method("use POST")),
        )
        .route(
            "/v1/invites/{id}",
            delete(revoke_invite).fallback(wrong_method("use DELETE")),
        )
        .merge(crate::web::routes())
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "not found") })
        .with_state(shared)
}

fn wrong_method(hint: &'static str) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || std::future::ready(json_error(StatusCode::METHOD_NOT_ALLOWED, hint))
}

fn json_ok(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The health view.
#[derive(Debug, Serialize)]
struct Health<'a> {
    status: &'a str,
    version: &'a str,
    uptime_secs: u64,
    connections: usize,
    open: bool,
    #[serde(flatten)]
    relay: RelayStats,
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let health = Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: shared.started.elapsed().as_secs(),
        connections: shared.metrics.connections.load(Ordering::Relaxed),
        open: shared.auth.is_open(),
        relay: shared.stats.borrow().clone(),
    };
    json_ok(serde_json::to_value(&health).expect("health serialises"))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut response = shared.metrics.render().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(Metrics::CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /v1/program`: the report of the program token's workspaces, made off the async
/// runtime (it may load documents from storage).
async fn program_report(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    // A token the operator created a moment ago is honoured at once.
    shared.refresh_tokens().await;
    // Of a browser's session, the program token answers (it may hold workspace tokens too).
    let token = bearer(&headers).or_else(|| {
        let tokens = cookie_tokens(&headers);
        let program = tokens.iter().find(|t| shared.auth.is_program(Some(t)));
        program.or(tokens.first()).cloned()
    });
    let scope = match shared.auth.program_scope(token.as_deref()) {
        Ok(scope) => scope,
        Err(ProgramDenied::Token(denied)) => {
            shared.metrics.refused(Refusal::Token);
            tracing::info!("program report refused: {}", denied.reason());
            return json_error(StatusCode::UNAUTHORIZED, &denied.reason());
        }
        Err(ProgramDenied::NotProgram) => {
            return json_error(
                StatusCode::FORBIDDEN,
                "only a program token may read the program report",
            )
        }
    };
    let view = shared.program.clone();
    let now = tandem_core::jiff::Timestamp::now();
    match tokio::task::spawn_blocking(move || view.report(&scope, now)).await {
        Ok(Ok(report)) => json_ok(serde_json::to_value(&report).expect("the report serialises")),
        Ok(Err(e)) => {
            tracing::error!("program report failed: {}", tandem_core::Chain(&e));
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the relay could not read its documents",
            )
        }
        Err(e) => {
            tracing::error!("program report failed: {e}");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the relay could not make the report",
            )
        }
    }
}

/// The answer to a program token on an invite route, which it may never use. Checked before
/// anything else about the request, so the answer is the same whatever was asked.
fn refuse_program(shared: &Shared, bearer: Option<&str>) -> Option<Response> {
    shared
        .auth
        .is_program(bearer)
        .then(|| json_error(StatusCode::FORBIDDEN, PROGRAM_NO_INVITES))
}

/// How many redemption attempts one client address may make a minute.
pub(crate) const REDEEM_PER_MINUTE: u32 = 10;

/// How many client addresses the redemption limit remembers at once, so that a flood of
/// addresses cannot grow it without bound (about 100 bytes each).
const RATE_LIMIT_ADDRESSES: usize = 10_000;

/// The client's address, put into each request's extensions by [`serve`].
#[derive(Debug, Clone, Copy)]
struct ClientAddr(SocketAddr);

/// A fixed-window limit on attempts per client IP address, in bounded memory.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count an attempt from `ip` at `now`: `Ok` if allowed, else how long until the next one is.
    fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        const WINDOW: Duration = Duration::from_secs(60);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= RATE_LIMIT_ADDRESSES && !windows.contains_key(&ip) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if windows.len() >= RATE_LIMIT_ADDRESSES {
                // Full of addresses still inside their window: refuse newcomers for now
                // rather than forget someone's count.
                return Err(Duration::from_secs(1));
            }
        }
        let (start, count) = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

/// The body of `POST /v1/invites`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    workspace: String,
    role: String,
    #[serde(default)]
    uses: Option<u32>,
    #[serde(default)]
    expires_in_secs: Option<u64>,
    #[serde(default)]
    participant: Option<String>,
    #[serde(default)]
    label: String,
}

/// The body of `POST /v1/invites/redeem`.
#[derive(Debug, Deserialize)]
struct RedeemRequest {
    code: String,
}

/// An invite as `GET /v1/invites` lists it: never its code.
#[derive(Debug, Serialize)]
struct ListedInvite {
    id: String,
    role: &'static str,
    uses_left: u32,
    expires_at: String,
    created_at: String,
    label: String,
    participant: Option<String>,
}

/// Read a request body, bounded in size and time.
async fn read_body(body: Body) -> Result<axum::body::Bytes, Response> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            // `to_bytes` fails with a length-limit error for an oversized body, and with an
            // I/O error for a body cut short.
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                json_error(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large")
            } else {
                json_error(StatusCode::BAD_REQUEST, "the body ended early")
            })
        }
        Err(_) => Err(json_error(
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long",
        )),
    }
}

/// The answer to a refused invite operation.
fn invite_error(shared: &Shared, error: InviteError) -> Response {
    match error {
        InviteError::Unauthorized(m) => {
            shared.metrics.refused(Refusal::Token);
            tracing::info!("invite request refused: {m}");
            json_error(StatusCode::UNAUTHORIZED, &m)
        }
        InviteError::Forbidden(m) => json_error(StatusCode::FORBIDDEN, &m),
        InviteError::UnknownInvite => coded_error(
            StatusCode::NOT_FOUND,
            "no open invite has that id",
            "invite_unknown",
        ),
        InviteError::Open => coded_error(
            StatusCode::CONFLICT,
            "this relay is open: it needs no token, so share the workspace's automerge: URL and the relay's address instead",
            "open_relay",
        ),
        InviteError::Internal(m) => {
            tracing::error!("invite failed: {m}");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the relay could not update its token file",
            )
        }
    }
}

/// Run a blocking invite operation (it reads and writes the token file).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, InviteError> + Send + 'static,
) -> Result<T, InviteError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(InviteError::Internal(e.to_string())))
}

/// The link that opens an invite in the web app: the relay's own origin as the client reached
/// it, with `https` when the relay serves TLS.
fn invite_link(shared: &Shared, headers: &HeaderMap, code: &str) -> String {
    let scheme = if shared.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // The Host header is the client's word; only characters of a host and port are kept, so
    // it cannot smuggle anything else into the link.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}/j/{code}")
}

async fn create_invite(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bearer = bearer(&parts.headers);
    if shared.auth.is_open() {
        return invite_error(&shared, InviteError::Open);
    }
    // A missing or unknown token is reported before the body is looked at, so that an
    // unauthenticated caller learns nothing about what a valid request looks like.
    if let Err(denied) = shared.auth.authorize(bearer.as_deref()) {
        shared.metrics.refused(Refusal::Token);
        tracing::info!("invite refused: {}", denied.reason());
        return json_error(StatusCode::UNAUTHORIZED, &denied.reason());
    }
    if let Some(refused) = refuse_program(&shared, bearer.as_deref()) {
        return refused;
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let bad = |message: &str| json_error(StatusCode::BAD_REQUEST, message);
    let request: InviteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(&format!("bad invite request: {e}")),
    };
    let Some(role) = InviteRole::parse(&request.role) else {
        return bad("the role must be mentee, mentor or observer");
    };
    let workspace = match tokens::canonical_doc_id(&request.workspace) {
        Ok(w) => w,
        Err(e) => return bad(&e.to_string()),
    };
    let uses = request.uses.unwrap_or(1);
    if uses == 0 || uses > invites::MAX_USES {
        return bad(&format!("uses must be between 1 and {}", invites::MAX_USES));
    }
    let expires = request
        .expires_in_secs
        .unwrap_or(invites::DEFAULT_EXPIRY_SECS);
    if !(60..=invites::MAX_EXPIRY_SECS).contains(&expires) {
        return bad(&format!(
            "expires_in_secs must be between 60 and {} (90 days)",
            invites::MAX_EXPIRY_SECS
        ));
    }
    let participant = request.participant.filter(|p| !p.is_empty());
    if participant.as_deref().is_some_and(|p| {
        p.len() > 100
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        return bad("the participant is not a participant id");
    }
    if request.label.chars().count() > 200 {
        return bad("the label is too long");
    }
    // The label ends up in listings on people's terminals, so control characters (escape
    // sequences) are dropped.
    let label: String = request.label.chars().filter(|c| !c.is_control()).collect();
    let invite = NewInvite {
        workspace: workspace.clone(),
        role,
        uses,
        expires_in_secs: expires,
        participant,
        label,
    };
    let auth = shared.auth.clone();
    let outcome = blocking(move || auth.create_invite(bearer.as_deref(), invite)).await;
    match outcome {
        Ok((code, entry)) => {
            shared.metrics.invites_created.inc();
            // The code is a secret: only the invite's public id is logged.
            tracing::info!(workspace = %workspace, role = role.as_str(), invite = %entry.id, "invite created");
            let code = invites::group(&code);
            let link = invite_link(&shared, &parts.headers, &code);
            let mut response = json_ok(serde_json::json!({
                "id": entry.id,
                "code": code,
                "link": link,
                "workspace": entry.workspace,
                "role": role.as_str(),
                "uses": entry.uses_left,
                "expires_at": entry.expires_at,
                "participant": entry.participant,
            }));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(e) => invite_error(&shared, e),
    }
}

async fn list_invites(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let bearer = bearer(request.headers());
    if shared.auth.is_open() {
        return invite_error(&shared, InviteError::Open);
    }
    if let Some(refused) = refuse_program(&shared, bearer.as_deref()) {
        return refused;
    }
    let query = request.uri().query().unwrap_or("");
    let workspace = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("workspace="))
        .unwrap_or("");
    let workspace = match tokens::canonical_doc_id(workspace) {
        Ok(w) => w,
        Err(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "give the workspace: /v1/invites?workspace=DOCID",
            )
        }
    };
    let auth = shared.auth.clone();
    match blocking(move || auth.list_invites(bearer.as_deref(), &workspace)).await {
        Ok(open) => {
            let listed: Vec<ListedInvite> = open
                .into_iter()
                .map(|i| ListedInvite {
                    id: i.id,
                    role: i.role.as_str(),
                    uses_left: i.uses_left,
                    expires_at: i.expires_at,
                    created_at: i.created_at,
                    label: i.label,
                    participant: i.participant,
                })
                .collect();
            json_ok(serde_json::to_value(listed).expect("invites serialise"))
        }
        Err(e) => invite_error(&shared, e),
    }
}

async fn revoke_invite(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = bearer(&headers);
    if let Some(refused) = refuse_program(&shared, bearer.as_deref()) {
        return refused;
    }
    let auth = shared.auth.clone();
    let handle = id.clone();
    match blocking(move || auth.revoke_invite(bearer.as_deref(), &handle)).await {
        Ok(()) => {
            tracing::info!(invite = %id, "invite revoked");
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => invite_error(&shared, e),
    }
}

async fn redeem_invite(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if shared.auth.is_open() {
        return invite_error(&shared, InviteError::Open);
    }
    // Redeeming needs no token, but one who presents a program token is refused like on every
    // other invite route.
    if let Some(refused) = refuse_program(&shared, bearer(&parts.headers).as_deref()) {
        return refused;
    }
    let ip = parts
        .extensions
        .get::<ClientAddr>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.0.ip());
    if let Err(wait) = shared.redeem_limit.check(ip, Instant::now()) {
        shared.metrics.refused(Refusal::Token);
        let mut response = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many invite codes tried from this address; wait a minute and try again",
        );
        let secs = wait.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: RedeemRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("bad redeem request: {e}")),
    };
    let auth = shared.auth.clone();
    match blocking(move || auth.redeem(&request.code)).await {
        Ok(Some(redeemed)) => {
            shared.metrics.invite_redemptions.inc();
            tracing::info!(workspace = %redeemed.workspace, role = redeemed.role.as_str(), "invite redeemed");
            json_ok(serde_json::json!({
                "token": redeemed.token,
                "workspace": redeemed.workspace,
                "role": redeemed.role.as_str(),
                "participant": redeemed.participant,
            }))
        }
        // Unknown, used up, revoked and expired codes get the very same answer.
        Ok(None) => {
            shared.metrics.refused(Refusal::Token);
            coded_error(
                StatusCode::NOT_FOUND,
                "this invite code is not valid or has expired",
                "invite_invalid",
            )
        }
        Err(e) => invite_error(&shared, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redemption_limit_counts_per_address_and_forgets_after_a_minute() {
        let limit = RateLimit::new(3);
        let (ana, ben) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limit.check(ana, t0).is_ok());
        }
        let wait = limit.check(ana, t0).unwrap_err();
        assert!(wait > Duration::from_secs(50));
        assert!(limit.check(ben, t0).is_ok());
        assert!(limit.check(ana, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn the_redemption_limit_stays_bounded() {
        let limit = RateLimit::new(1);
        let t0 = Instant::now();
        for i in 0..RATE_LIMIT_ADDRESSES as u32 {
            assert!(limit.check(IpAddr::from(i.to_be_bytes()), t0).is_ok());
        }
        let newcomer = IpAddr::from([255, 255, 255, 255]);
        assert!(limit.check(newcomer, t0).is_err());
        assert!(limit.check(newcomer, t0 + Duration::from_secs(61)).is_ok());
        assert!(limit.windows.lock().unwrap().len() <= RATE_LIMIT_ADDRESSES);
    }
}
