//! The web app, served by the relay on its own port, and the browser's session cookie.
//!
//! Read this if you change what a browser loads or how it signs in. The app is the built bundle
//! in `web/dist/` (built from `web/src/`; the bundle is committed, so building the relay never
//! needs npm), embedded in the binary at compile time:
//!
//! - `GET /` and `GET /j/{code}` (an invite link): the app's page, which reads its route from
//!   the address itself; `GET /sw.js`: its service worker; `GET /assets/...`: scripts, styles
//!   and automerge's WebAssembly, cached for good since their names carry content hashes.
//! - `POST /v1/session` with `{"token": "..."}`: checks the token and keeps it in an HttpOnly,
//!   `SameSite=Strict` cookie (`Secure` under TLS), so that the page never needs the token in a
//!   URL; the websocket upgrade accepts that cookie (see [`cookie_token`]). `GET /v1/session`
//!   says what the cookie grants; `DELETE /v1/session` forgets it.
//!
//! Scripts, styles and automerge's WebAssembly (3.6 MB, 1.2 MB gzipped) are sent gzipped to
//! browsers that accept it, compressed once on first request and kept in memory: a phone on a
//! slow network then loads the app in a third of the time.
//!
//! Every page carries a strict Content-Security-Policy (scripts only from this origin, no inline
//! script; `'wasm-unsafe-eval'` only so that automerge's WebAssembly can be compiled) and
//! `Referrer-Policy: no-referrer`, so no address leaves the page in a Referer header.

use crate::http::json_error;
use crate::Shared;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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

/// The cookie that carries a browser's token.
pub(crate) const COOKIE: &str = "tandem_session";
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

/// The token in the request's session cookie, if any, and only when the request comes from a
/// page of this origin (or from a client that sends no `Origin`, which no browser omits on a
/// websocket): a cookie must never let another site's page act as the person.
pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        let origin = origin.to_str().ok()?;
        let origin_host = origin.split_once("://").map(|(_, h)| h)?;
        if !origin_host.eq_ignore_ascii_case(host) {
            return None;
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Deserialize)]
struct SessionBody {
    token: String,
}

/// What a token grants, as the app needs to know it: read or write, and which workspaces.
fn grant_body(shared: &Shared, token: Option<&str>) -> Result<serde_json::Value, Response> {
    let grant = shared
        .auth
        .authorize(token)
        .map_err(|denied| json_error(StatusCode::UNAUTHORIZED, &denied.reason()))?;
    let mut workspaces: Option<Vec<String>> = grant
        .access
        .docs
        .map(|docs| docs.into_iter().collect::<Vec<_>>());
    if let Some(w) = workspaces.as_mut() {
        w.sort();
    }
    Ok(serde_json::json!({
        // A program token opens no workspace through sync; the app shows it the program report.
        "access": match grant.role {
            crate::tokens::Role::Program => "program",
            _ if grant.access.write => "write",
            _ => "read",
        },
        "workspaces": workspaces,
        "open": shared.auth.is_open(),
    }))
}

fn session_cookie(shared: &Shared, headers: &HeaderMap, value: &str, max_age: u64) -> HeaderValue {
    // Under TLS, in the relay or in a proxy in front of it, the cookie only travels encrypted.
    let secure = shared.config.tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
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

/// `POST /v1/session`: the token comes in the body (never in a URL) and goes back as a cookie.
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
    // Tokens are base58 text; anything else cannot be one and must not reach a header.
    if !body
        .token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return json_error(StatusCode::UNAUTHORIZED, "unknown token");
    }
    let info = match grant_body(&shared, Some(&body.token)) {
        Ok(info) => info,
        Err(refused) => return refused,
    };
    let mut response = no_store(Json(info).into_response());
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&shared, &headers, &body.token, COOKIE_MAX_AGE),
    );
    response
}

/// `GET /v1/session`: what the cookie grants (`401` without one, except on an open relay).
async fn session_info(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.refresh_tokens().await;
    match grant_body(&shared, cookie_token(&headers).as_deref()) {
        Ok(info) => no_store(Json(info).into_response()),
        Err(refused) => refused,
    }
}

/// `DELETE /v1/session`: the browser forgets the token.
async fn end_session(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut response = no_store(StatusCode::NO_CONTENT.into_response());
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&shared, &headers, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_read_only_from_this_origin() {
        let same = headers(&[
            ("host", "relay.example:8080"),
            ("origin", "https://relay.example:8080"),
            ("cookie", "a=b; tandem_session=tdm_abc; c=d"),
        ]);
        assert_eq!(cookie_token(&same).as_deref(), Some("tdm_abc"));
        let other = headers(&[
            ("host", "relay.example:8080"),
            ("origin", "https://evil.example"),
            ("cookie", "tandem_session=tdm_abc"),
        ]);
        assert_eq!(cookie_token(&other), None);
        let none = headers(&[("host", "relay.example"), ("cookie", "x=y")]);
        assert_eq!(cookie_token(&none), None);
    }

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
