//! The relay's HTTP side: every connection starts here.
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
//! - `POST /v1/invites` with `Authorization: Bearer <token>` and a JSON body
//!   `{"workspace": "<docId>", "role": "read"|"write", "label": "..."}`: mints a token scoped to
//!   that one workspace if the bearer is a write token for it (`401` bad token, `403` not
//!   allowed, `400` bad body); in `--open` mode the answer carries `"token": null`.
//! - anything else: `404`, and `405` for a known path with the wrong method.
//!
//! Errors are JSON (`{"error": "..."}`). Keep-alive is off: one request per plain connection,
//! so a client that lingers holds a connection permit for one exchange at most.
//!
//! Limits: the request head must arrive within `header_timeout` (10 s) and fit in [`MAX_HEAD`]
//! bytes and [`MAX_HEADERS`] headers (`431` otherwise); a body is capped at [`MAX_BODY`] bytes
//! (`413`) and must arrive within [`BODY_TIMEOUT`] (`408`); a whole plain exchange may take
//! [`HTTP_TIMEOUT`]. So a slow or hostile client holds a few KiB for a few seconds.

use crate::auth::InviteError;
use crate::conn::{self, ConnGuard};
use crate::metrics::{Metrics, Refusal};
use crate::tokens::{self, Role};
use crate::Shared;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
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
            let mut response = router.oneshot(request.map(Body::new)).await?;
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
            post(invite).fallback(wrong_method("use POST")),
        )
        .merge(crate::web::routes())
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "not found") })
        .with_state(shared)
}

fn wrong_method(hint: &'static str) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || std::future::ready(json_error(StatusCode::METHOD_NOT_ALLOWED, hint))
}

/// An error answer: `{"error": message}`, never cached, with `WWW-Authenticate` on a 401.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn json_ok(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The credentials of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
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

/// The body of `POST /v1/invites`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    workspace: String,
    role: String,
    #[serde(default)]
    label: String,
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

async fn invite(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bearer = bearer(&parts.headers);
    // A missing or unknown token is reported before the body is looked at, so that an
    // unauthenticated caller learns nothing about what a valid request looks like.
    if !shared.auth.is_open() {
        if let Err(denied) = shared.auth.authorize(bearer.as_deref()) {
            shared.metrics.refused(Refusal::Token);
            tracing::info!("invite refused: {}", denied.reason());
            return json_error(StatusCode::UNAUTHORIZED, &denied.reason());
        }
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
    let role: Role = match request.role.parse() {
        Ok(r) => r,
        Err(e) => return bad(&e.to_string()),
    };
    let workspace = match tokens::canonical_doc_id(&request.workspace) {
        Ok(w) => w,
        Err(e) => return bad(&e.to_string()),
    };
    if request.label.chars().count() > 200 {
        return bad("the label is too long");
    }
    let auth = shared.auth.clone();
    let ws = workspace.clone();
    // The label ends up in `token list` output on the operator's terminal, so control
    // characters (escape sequences) are dropped.
    let label: String = request.label.chars().filter(|c| !c.is_control()).collect();
    let outcome =
        tokio::task::spawn_blocking(move || auth.invite(bearer.as_deref(), &ws, role, &label))
            .await
            .unwrap_or_else(|e| Err(InviteError::Internal(e.to_string())));
    match outcome {
        Ok(token) => {
            if token.is_some() {
                shared.metrics.invites_created.inc();
            }
            tracing::info!(workspace = %workspace, %role, "invite token created");
            json_ok(serde_json::json!({
                "token": token,
                "workspace": workspace,
                "role": role.to_string(),
            }))
        }
        Err(InviteError::Unauthorized(m)) => {
            shared.metrics.refused(Refusal::Token);
            json_error(StatusCode::UNAUTHORIZED, &m)
        }
        Err(InviteError::Forbidden(m)) => json_error(StatusCode::FORBIDDEN, &m),
        Err(InviteError::Internal(m)) => {
            tracing::error!("invite failed: {m}");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the relay could not store the token",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tdm_h "),
        );
        assert_eq!(bearer(&headers).as_deref(), Some("tdm_h"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
