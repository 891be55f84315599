//! The little plain HTTP the relay speaks on its websocket port.
//!
//! Every connection starts with an HTTP request head. [`read_head`] reads it into a buffer
//! (at most [`MAX_HEAD`] bytes) and parses it with httparse. A websocket upgrade is then handed
//! to tungstenite through [`Prefixed`], which replays the buffered bytes before reading on from
//! the socket, so tungstenite sees the request exactly as the client sent it. Anything else is
//! answered here, once, with `Connection: close`:
//!
//! - `GET /health`: `200` with `{status, version, uptime_secs, connections, open, ...RelayStats}`.
//! - `POST /v1/invites` with `Authorization: Bearer <token>` and a JSON body
//!   `{"workspace": "<docId>", "role": "read"|"write", "label": "..."}`: mints a token scoped to
//!   that one workspace if the bearer is a write token for it (`401` bad token, `403` not
//!   allowed, `400` bad body); in `--open` mode the answer carries `"token": null`.
//!
//! Bodies are capped at [`MAX_BODY`] bytes and every read has a deadline, so a slow or hostile
//! client holds at most a few KiB for a few seconds.

use crate::auth::InviteError;
use crate::tokens::{self, Role};
use crate::Shared;
use serde::{Deserialize, Serialize};
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tandem_core::sync::RelayStats;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The largest request head accepted, for websocket upgrades and plain requests alike.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The largest request body accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024;
/// How long a client may take to send a whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    /// The request target as sent: path and optional query.
    pub target: String,
    /// Header names in lowercase, values as (lossy) text.
    pub headers: Vec<(String, String)>,
    /// How many bytes of the buffer the head took.
    pub len: usize,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Whether the client asks for a websocket (`Upgrade: websocket`). tungstenite checks
    /// the rest of the handshake.
    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade").is_some_and(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        })
    }
}

/// Why no head could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client went away before sending a full head.
    Closed,
    TooLarge,
    Malformed(String),
    Io(io::Error),
}

/// Read bytes into `buf` until it holds a complete request head, and parse it.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Head, HeadError> {
    let mut chunk = [0u8; 4096];
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(len)) => {
                    return Ok(Head {
                        method: req.method.unwrap_or("").to_string(),
                        target: req.path.unwrap_or("").to_string(),
                        headers: req
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_ascii_lowercase(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                        len,
                    })
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
                Err(e) => return Err(HeadError::Malformed(e.to_string())),
            }
        }
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let room = (MAX_HEAD - buf.len()).min(chunk.len());
        let n = stream
            .read(&mut chunk[..room])
            .await
            .map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A stream that first yields `prefix` (bytes already read from `inner`) and then reads on
/// from `inner`. Writes go straight to `inner`.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Self {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(out.remaining());
            out.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                // The replayed head is no longer needed; free it for the connection's lifetime.
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The token a request presents: `?token=` in the query, else `Authorization: Bearer`.
pub(crate) fn token_from(target: &str, authorization: Option<&str>) -> Option<String> {
    let from_query = target.split_once('?').and_then(|(_, query)| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| percent_decode(v))
    });
    from_query.or_else(|| bearer(authorization))
}

/// The credentials of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(authorization: Option<&str>) -> Option<String> {
    let value = authorization?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

/// Decode `%XX` escapes (and `+` as space) in a query value; malformed escapes stay as they are.
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Write a complete response with a JSON body and close.
pub(crate) async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    body: &serde_json::Value,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    };
    let body = serde_json::to_vec(body).expect("json values serialise");
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        body.len()
    );
    if status == 401 {
        head.push_str("WWW-Authenticate: Bearer\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.flush().await?;
    let _ = stream.shutdown().await;
    Ok(())
}

fn error_body(message: &str) -> serde_json::Value {
    serde_json::json!({ "error": message })
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

/// The body of `POST /v1/invites`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    workspace: String,
    role: String,
    #[serde(default)]
    label: String,
}

/// Answer one plain HTTP request. `rest` holds whatever followed the head in the buffer.
pub(crate) async fn serve(mut stream: TcpStream, head: Head, rest: Vec<u8>, shared: &Shared) {
    let result = match (head.method.as_str(), head.path()) {
        ("GET", "/health") => health(&mut stream, shared).await,
        (_, "/health") => respond(&mut stream, 405, &error_body("use GET")).await,
        ("POST", "/v1/invites") => invite(&mut stream, &head, rest, shared).await,
        (_, "/v1/invites") => respond(&mut stream, 405, &error_body("use POST")).await,
        ("GET", "/") => {
            let body = serde_json::json!({
                "service": "tandem relay",
                "protocol": "automerge-repo websocket v1",
                "health": "/health",
            });
            respond(&mut stream, 200, &body).await
        }
        _ => respond(&mut stream, 404, &error_body("not found")).await,
    };
    if let Err(e) = result {
        tracing::debug!("http response failed: {e}");
    }
}

async fn health(stream: &mut TcpStream, shared: &Shared) -> io::Result<()> {
    let health = Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: shared.started.elapsed().as_secs(),
        connections: shared.connections.load(Ordering::Relaxed),
        open: shared.auth.is_open(),
        relay: shared.stats.borrow().clone(),
    };
    let body = serde_json::to_value(&health).expect("health serialises");
    respond(stream, 200, &body).await
}

/// Read the body announced by `Content-Length`, bounded in size and time.
async fn read_body(
    stream: &mut TcpStream,
    head: &Head,
    mut body: Vec<u8>,
) -> Result<Vec<u8>, (u16, &'static str)> {
    if head.header("transfer-encoding").is_some() {
        return Err((411, "send the body with a Content-Length"));
    }
    let len: usize = match head.header("content-length") {
        None => return Err((411, "a Content-Length is required")),
        Some(v) => v.trim().parse().map_err(|_| (400, "bad Content-Length"))?,
    };
    if len > MAX_BODY {
        return Err((413, "the body is too large"));
    }
    body.truncate(len);
    let read = async {
        let mut chunk = [0u8; 4096];
        while body.len() < len {
            let want = (len - body.len()).min(chunk.len());
            match stream.read(&mut chunk[..want]).await {
                Ok(0) | Err(_) => return Err((400, "the body ended early")),
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(body),
        Ok(Err(e)) => Err(e),
        Err(_) => Err((408, "the body took too long")),
    }
}

async fn invite(
    stream: &mut TcpStream,
    head: &Head,
    rest: Vec<u8>,
    shared: &Shared,
) -> io::Result<()> {
    let bearer = bearer(head.header("authorization"));
    let open = shared.auth.is_open();
    // A missing or unknown token is reported before the body is looked at, so that an
    // unauthenticated caller learns nothing about what a valid request looks like.
    if !open {
        match shared.auth.authorize(bearer.as_deref()) {
            Ok(_) => {}
            Err(denied) => {
                tracing::info!("invite refused: {}", denied.reason());
                return respond(stream, 401, &error_body(&denied.reason())).await;
            }
        }
    }
    let body = match read_body(stream, head, rest).await {
        Ok(body) => body,
        Err((status, message)) => return respond(stream, status, &error_body(message)).await,
    };
    let request: InviteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return respond(
                stream,
                400,
                &error_body(&format!("bad invite request: {e}")),
            )
            .await
        }
    };
    let role: Role = match request.role.parse() {
        Ok(r) => r,
        Err(e) => return respond(stream, 400, &error_body(&e.to_string())).await,
    };
    let workspace = match tokens::canonical_doc_id(&request.workspace) {
        Ok(w) => w,
        Err(e) => return respond(stream, 400, &error_body(&e.to_string())).await,
    };
    if request.label.chars().count() > 200 {
        return respond(stream, 400, &error_body("the label is too long")).await;
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
            tracing::info!(workspace = %workspace, %role, "invite token created");
            let body = serde_json::json!({
                "token": token,
                "workspace": workspace,
                "role": role.to_string(),
            });
            respond(stream, 200, &body).await
        }
        Err(InviteError::Unauthorized(m)) => respond(stream, 401, &error_body(&m)).await,
        Err(InviteError::Forbidden(m)) => respond(stream, 403, &error_body(&m)).await,
        Err(InviteError::Internal(m)) => {
            tracing::error!("invite failed: {m}");
            respond(
                stream,
                500,
                &error_body("the relay could not store the token"),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_query_or_a_bearer_header() {
        assert_eq!(
            token_from("/?token=tdm_abc", None).as_deref(),
            Some("tdm_abc")
        );
        assert_eq!(
            token_from("/x?a=1&token=tdm%5Fz", Some("Bearer other")).as_deref(),
            Some("tdm_z")
        );
        assert_eq!(
            token_from("/", Some("bearer  tdm_h ")).as_deref(),
            Some("tdm_h")
        );
        assert_eq!(token_from("/", Some("Basic abc")), None);
        assert_eq!(token_from("/?other=1", None), None);
    }

    #[test]
    fn percent_decoding_leaves_malformed_escapes_alone() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[tokio::test]
    async fn a_head_is_read_and_replayed() {
        let request = b"GET /?token=x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nrest";
        let mut input: &[u8] = request;
        let mut buf = Vec::new();
        let head = read_head(&mut input, &mut buf).await.unwrap();
        assert!(head.is_websocket_upgrade());
        assert_eq!(head.path(), "/");
        assert_eq!(&buf[head.len..], b"rest");
        let mut replay = Prefixed::new(buf.clone(), tokio::io::empty());
        let mut all = Vec::new();
        replay.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, request);
    }

    #[tokio::test]
    async fn an_endless_head_is_refused() {
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 100, b'a');
        let mut input: &[u8] = &big;
        let mut buf = Vec::new();
        assert!(matches!(
            read_head(&mut input, &mut buf).await,
            Err(HeadError::TooLarge)
        ));
    }
}
