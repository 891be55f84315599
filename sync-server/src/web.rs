//! The web app, served by the relay on its own port, and the browser's session cookie.
//!
//! Read this if you change what a browser loads or how it signs in. The app is the built bundle
//! in `web/dist/` (built from `web/src/`; the bundle is committed, so building the relay never
//! needs npm), embedded in the binary at compile time:
//!
//! - `GET /` and `GET /j/{code}` (an invite link): the app's page, which reads its route from
//!   the address itself; `GET /sw.js`: its service worker; `GET /assets/...`: scripts, styles
//!   and automerge's WebAssembly, cached for good since their names carry content hashes.
//! - `POST /v1/session` with `{"token": "..."}`: checks the token and adds it to the tokens kept
//!   in an HttpOnly, `SameSite=Strict` cookie (`Secure` under TLS), so that the page never needs
//!   a token in a URL. The cookie holds every token this browser was given on this relay (one per
//!   workspace joined, at most [`MAX_SESSION_TOKENS`]); the websocket upgrade accepts it (see
//!   [`crate::credentials`]) for the union of their workspaces, each with its own token's access.
//!   `GET /v1/session` says what the cookie grants, together and token by token;
//!   `DELETE /v1/session` forgets every token, `DELETE /v1/session/{id}` one.
//!
//! The session is the cookie itself, not a record on the relay: nothing to store or expire
//! server-side, and revoking a token (`tandem-server token revoke`, or removing a participant)
//! takes away only its workspaces, since tokens that no longer work are skipped.
//!
//! Scripts, styles and automerge's WebAssembly (3.6 MB, 1.2 MB gzipped) are sent gzipped to
//! browsers that accept it, compressed once on first request and kept in memory: a phone on a
//! slow network then loads the app in a third of the time.
//!
//! Every page carries a strict Content-Security-Policy (scripts only from this origin, no inline
//! script; `'wasm-unsafe-eval'` only so that automerge's WebAssembly can be compiled) and
//! `Referrer-Policy: no-referrer`, so no address leaves the page in a Referer header.

use crate::auth::Grant;
use crate::credentials::{cookie_tokens, is_token_text, COOKIE, MAX_SESSION_TOKENS};
use crate::error_answer::{coded_error, json_error};
use crate::tokens::Role;
use crate::Shared;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use rust_embed::RustEmbed;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// The built web app (`web/dist/`), in the binary.
#[derive(RustEmbed)]
#[folder = "../web/dist/"]
struct Bundle;

/// How long the browser keeps the cookie: 400 days, the most browsers allow.
const COOKIE_MAX_AGE: u64 = 400 * 24 * 3600;

/// The policy of every page: nothing inline, nothing from elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The app's routes, merged into the relay's router by `http.rs`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(page))
        .route("/j/{code}", get(page))
        .route("/program", get(page))
        .route("/sw.js", get(service_worker))
        .route("/assets/{file}", get(asset))
        .route(
            "/v1/session",
            get(session_info).post(start_session).delete(end_session),
        )
        .route("/v1/session/{id}", delete(leave_session))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Whether the request's `Accept-Encoding` allows gzip.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut pieces = part.split(';').map(str::trim);
            let name = pieces.next().unwrap_or("");
            let refused = pieces.any(|p| p.replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// The gzipped bytes of an embedded file, compressed on first use and then kept.
fn gzipped(path: &str, data: &[u8]) -> Option<Arc<Vec<u8>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        return Some(hit.clone());
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).ok()?;
    let compressed = Arc::new(encoder.finish().ok()?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(path.to_string(), compressed.clone());
    Some(compressed)
}

/// An embedded file with the headers every answer of the app carries; gzipped when it is
/// worth it and the browser accepts it.
fn file(path: &str, cache: &'static str, request: &HeaderMap) -> Response {
    let Some(found) = Bundle::get(path) else {
        return json_error(StatusCode::NOT_FOUND, "not found");
    };
    let compressible = !path.ends_with(".png") && found.data.len() > 1024;
    let gzip = (compressible && accepts_gzip(request))
        .then(|| gzipped(path, &found.data))
        .flatten();
    let mut response = match &gzip {
        Some(bytes) => Response::new(Body::from(bytes.as_ref().clone())),
        None => Response::new(Body::from(found.data.into_owned())),
    };
    let headers = response.headers_mut();
    if compressible {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if gzip.is_some() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The app's page. An invite code in the path is read by the page itself; the relay does not
/// look at it here, and the page exchanges it (`POST /v1/invites/redeem`) for a session.
async fn page(request: HeaderMap) -> Response {
    file("index.html", "no-cache", &request)
}

async fn service_worker(request: HeaderMap) -> Response {
    // Always revalidated, so a new relay version's app reaches browsers on their next visit.
    file("sw.js", "no-cache", &request)
}

async fn asset(Path(name): Path<String>, request: HeaderMap) -> Response {
    file(
        &format!("assets/{name}"),
        "public, max-age=31536000, immutable",
        &request,
    )
}

/// A request path as it may appear in a log: an invite link's code is a secret, so `/j/{code}`
/// is logged as `/j/…`.
pub(crate) fn loggable_path(path: String) -> String {
    if path.starts_with("/j/") {
        "/j/…".to_string()
    } else {
        path
    }
}

#[derive(Debug, Deserialize)]
struct SessionBody {
    token: String,
}

/// What a grant allows, as the app needs to know it: read or write, and which workspaces.
fn describe(grant: &Grant) -> serde_json::Value {
    let mut workspaces: Option<Vec<String>> = grant
        .access
        .docs
        .clone()
        .map(|docs| docs.into_iter().collect::<Vec<_>>());
    if let Some(w) = workspaces.as_mut() {
        w.sort();
    }
    serde_json::json!({
        // A program token opens no workspace through sync; the app shows it the program report.
        "access": match grant.role {
            Role::Program => "program",
            _ if grant.access.write => "write",
            _ => "read",
        },
        "workspaces": workspaces,
    })
}

/// The answer of the session routes: `top` (the token just added, or the whole session) at the
/// top level, as a single-token session always answered, and each working token of `tokens` on
/// its own under `"tokens"` with its id, so the app knows each workspace's own access.
fn session_body(shared: &Shared, top: &Grant, tokens: &[String]) -> serde_json::Value {
    let mut body = describe(top);
    body["open"] = shared.auth.is_open().into();
    let each: Vec<serde_json::Value> = tokens
        .iter()
        .filter_map(|t| shared.auth.authorize(Some(t)).ok())
        .filter_map(|grant| {
            let id = grant.token_ids.first()?.clone();
            let mut entry = describe(&grant);
            entry["id"] = id.into();
            Some(entry)
        })
        .collect();
    body["tokens"] = each.into();
    body
}

fn session_cookie(shared: &Shared, headers: &HeaderMap, tokens: &[String]) -> HeaderValue {
    // Under TLS, in the relay or in a proxy in front of it, the cookie only travels encrypted.
    let secure = shared.config.tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let max_age = if tokens.is_empty() { 0 } else { COOKIE_MAX_AGE };
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        tokens.join("."),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    no_store(response)
}

/// `POST /v1/session`: the token comes in the body (never in a URL) and joins the tokens the
/// cookie already holds, so a browser that joins a second workspace keeps syncing the first.
/// Tokens of the cookie that no longer work are dropped on the way.
async fn start_session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<SessionBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"token\": \"...\"}",
        );
    };
    shared.refresh_tokens().await;
    if !is_token_text(&body.token) {
        return json_error(StatusCode::UNAUTHORIZED, "unknown token");
    }
    let grant = match shared.auth.authorize(Some(&body.token)) {
        Ok(grant) => grant,
        Err(denied) => return json_error(StatusCode::UNAUTHORIZED, &denied.reason()),
    };
    let mut tokens: Vec<String> = cookie_tokens(&headers)
        .into_iter()
        .filter(|t| *t != body.token && shared.auth.authorize(Some(t)).is_ok())
        .collect();
    if tokens.len() >= MAX_SESSION_TOKENS {
        return coded_error(
            StatusCode::CONFLICT,
            &format!(
                "this browser is already signed in to {MAX_SESSION_TOKENS} workspaces on this \
                 relay, the most it can hold; leave one first"
            ),
            "session_full",
        );
    }
    tokens.push(body.token);
    let answer = session_body(&shared, &grant, &tokens);
    with_cookie(
        Json(answer).into_response(),
        session_cookie(&shared, &headers, &tokens),
    )
}

/// `GET /v1/session`: what the cookie grants, all its tokens together and each on its own
/// (`401` when none works, except on an open relay).
async fn session_info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.refresh_tokens().await;
    let tokens = cookie_tokens(&headers);
    match shared.auth.authorize_all(&tokens) {
        Ok(union) => no_store(Json(session_body(&shared, &union, &tokens)).into_response()),
        Err(denied) => json_error(StatusCode::UNAUTHORIZED, &denied.reason()),
    }
}

/// `DELETE /v1/session`: the browser forgets every token.
async fn end_session(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        session_cookie(&shared, &headers, &[]),
    )
}

/// `DELETE /v1/session/{id}`: the browser forgets the one token with that id (its public id,
/// as `GET /v1/session` lists it), and keeps the others: a coordinator who signs out of the
/// program page stays signed in to their own workspaces.
async fn leave_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    shared.refresh_tokens().await;
    let tokens = cookie_tokens(&headers);
    let kept: Vec<String> = tokens
        .iter()
        .filter(|t| shared.auth.token_id(t).as_deref() != Some(id.as_str()))
        .cloned()
        .collect();
    if kept.len() == tokens.len() {
        return json_error(StatusCode::NOT_FOUND, "this browser holds no such token");
    }
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        session_cookie(&shared, &headers, &kept),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::tests::headers;

    #[test]
    fn an_invite_links_code_never_reaches_the_log() {
        assert_eq!(loggable_path("/j/ABCD-EFGH-JKMN".into()), "/j/…");
        assert_eq!(loggable_path("/assets/a.js".into()), "/assets/a.js");
    }

    #[test]
    fn gzip_only_when_the_browser_accepts_it() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1.0, gzip;q=0.8"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
        let wasm = Bundle::iter().find(|f| f.ends_with(".wasm")).unwrap();
        let plain = Bundle::get(&wasm).unwrap().data;
        let packed = gzipped(&wasm, &plain).unwrap();
        assert!(packed.len() < plain.len() / 2);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&packed[..]), &mut back)
            .unwrap();
        assert_eq!(back, plain.as_ref());
    }

    #[test]
    fn the_bundle_holds_the_page_its_worker_and_no_inline_script() {
        let page = Bundle::get("index.html").expect("web/dist/index.html is built");
        let html = String::from_utf8_lossy(&page.data);
        assert!(html.contains("<script type=\"module\""), "{html}");
        // Every script has a src: the policy forbids inline ones.
        for tag in html.split("<script").skip(1) {
            let head = tag.split('>').next().unwrap_or("");
            assert!(head.contains("src="), "inline script in {html}");
        }
        assert!(Bundle::get("sw.js").is_some());
        assert!(Bundle::iter().any(|f| f.ends_with(".wasm")));
    }
}
