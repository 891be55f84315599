//! Helpers for the relay's integration tests: an in-process server on 127.0.0.1:0, a websocket
//! client speaking the protocol's CBOR messages, and a minimal HTTP client.
//!
//! Every wait is bounded, so a broken relay fails a test instead of hanging it.

#![allow(dead_code)]

pub mod certs;

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tandem_core::automerge::transaction::Transactable;
use tandem_core::automerge::{AutoCommit, ReadDoc, ROOT};
use tandem_core::protocol::Message;
use tandem_core::sync::ClientSession;
use tandem_server::tokens::{self, Role, Scope};
use tandem_server::ServerConfig;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A relay running inside the test process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// Start a relay on 127.0.0.1:0 with `config` (its `data_dir` is used as given).
    pub async fn start(config: ServerConfig) -> Self {
        // Logs go to the test's captured output (shown when it fails); RUST_LOG picks them.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data_dir = config.data_dir.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tandem_server::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            data_dir,
            stop: Some(stop),
            task,
        }
    }

    /// A websocket URL, with `?token=` if a token is given.
    pub fn url(&self, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/?token={t}", self.addr),
            None => format!("ws://{}/", self.addr),
        }
    }

    /// A `wss://` URL, with `?token=` if a token is given.
    pub fn url_tls(&self, token: Option<&str>) -> String {
        self.url(token).replacen("ws://", "wss://", 1)
    }

    /// Stop the relay and wait until it has saved everything.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        timeout(WAIT, &mut self.task)
            .await
            .expect("the relay stops in time")
            .expect("the relay task does not panic")
            .expect("the relay stops cleanly");
    }

    /// The token file of this relay.
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(tokens::FILE_NAME)
    }

    /// Create a token directly in the token file, as `tandem-server token create` does.
    pub fn token(&self, role: Role, scope: Scope) -> (String, String) {
        let (token, entry) =
            tokens::create(&self.tokens_path(), role, scope, "test", None).unwrap();
        (token, entry.id)
    }
}

/// A config for tests: data in `dir`, quick token reloads.
pub fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        data_dir: dir.to_path_buf(),
        token_reload_interval: Duration::from_millis(100),
        ..ServerConfig::default()
    }
}

/// The same config for an open relay, which lets anyone in without a token.
pub fn open_config(dir: &Path) -> ServerConfig {
    ServerConfig {
        open: true,
        ..config(dir)
    }
}

/// Start a relay on a data directory of its own, with the config `config` makes for that
/// directory. The directory is removed when the returned guard drops, so a test keeps the guard
/// for as long as it uses the relay or reads its data afterwards.
pub async fn fresh_relay(config: impl FnOnce(&Path) -> ServerConfig) -> (TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(config(dir.path())).await;
    (dir, server)
}

/// A fresh document id.
pub fn doc_id() -> String {
    tandem_core::protocol::DocumentId::random().to_string()
}

/// A document with one key set.
pub fn doc_with(key: &str, value: i64) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, key, value).unwrap();
    doc.commit();
    doc
}

/// Whether `doc` has `key`.
pub fn has(session: &mut ClientSession, doc: &str, key: &str) -> bool {
    session
        .doc_mut(doc)
        .is_some_and(|d| d.get(ROOT, key).unwrap().is_some())
}

/// Open a websocket, panicking if the relay refuses.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("the relay accepts the connection");
    ws
}

/// Open a websocket with an `Authorization: Bearer` header.
pub async fn connect_bearer(url: &str, token: &str) -> Result<Ws, WsError> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect in time")
        .map(|(ws, _)| ws)
}

/// The HTTP status with which the relay refuses a websocket upgrade.
pub async fn refused_status(url: &str) -> u16 {
    match timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("answer in time")
    {
        Ok(_) => panic!("the relay accepted {url}"),
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

pub async fn send(ws: &mut Ws, message: &Message) {
    ws.send(WsMessage::Binary(message.encode().into()))
        .await
        .unwrap();
}

pub async fn send_raw(ws: &mut Ws, frame: WsMessage) {
    ws.send(frame).await.unwrap();
}

/// The read half of a client websocket (the whole socket, or the stream half of a split).
pub trait Frames: futures_util::Stream<Item = Result<WsMessage, WsError>> + Unpin {}
impl<S: futures_util::Stream<Item = Result<WsMessage, WsError>> + Unpin> Frames for S {}

/// The next protocol message, or `None` once the connection has closed.
pub async fn recv(ws: &mut impl Frames) -> Option<Message> {
    loop {
        let frame = timeout(WAIT, ws.next())
            .await
            .expect("a message or close in time");
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => {
                return Some(Message::decode(&bytes).expect("the relay sends valid messages"))
            }
            None | Some(Err(_)) => return None,
            Some(Ok(WsMessage::Close(_))) => {
                expect_closed(ws).await;
                return None;
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Read until the relay sends an `error` and closes; return the error's text. Panics if the
/// connection closes without an error.
pub async fn expect_error_and_close(ws: &mut impl Frames) -> String {
    let message = loop {
        match recv(ws).await {
            Some(Message::Error { message, .. }) => break message,
            Some(_) => continue,
            None => panic!("the connection closed without an error message"),
        }
    };
    expect_closed(ws).await;
    message
}

/// Read until the connection ends. Reading past the close frame lets tungstenite send its
/// close reply, as a real client does, so the relay need not wait for it.
pub async fn expect_closed(ws: &mut impl Frames) {
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the connection stayed open"),
            Ok(None) | Ok(Some(Err(_))) => return,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Join as `me` over a bare websocket, without a client session, and return the relay's peer
/// id from its `peer` reply. Panics if the relay answers anything else.
pub async fn join_as(ws: &mut Ws, me: &str) -> String {
    send(ws, &Message::join(me, None)).await;
    match recv(ws).await {
        Some(Message::Peer { sender_id, .. }) => sender_id,
        other => panic!("no peer reply: {other:?}"),
    }
}

/// A client peer: a websocket plus a sans-IO client session.
pub struct Peer {
    pub ws: Ws,
    pub session: ClientSession,
    /// Protocol messages sent and received so far, to check the relay's counters against.
    pub sent: u64,
    pub received: u64,
}

impl Peer {
    /// Connect, join, and send the first sync message of every document in `session`.
    pub async fn join(url: &str, session: ClientSession) -> Self {
        Self::over(connect(url).await, session).await
    }

    /// Join over a websocket already open (for example a `wss://` one).
    pub async fn over(mut ws: Ws, mut session: ClientSession) -> Self {
        send(&mut ws, &session.join()).await;
        let reply = recv(&mut ws).await.expect("a peer reply");
        assert!(matches!(reply, Message::Peer { .. }), "{reply:?}");
        session.receive(reply).unwrap();
        let start = session.start();
        let sent = 1 + start.len() as u64;
        for m in start {
            send(&mut ws, &m).await;
        }
        Self {
            ws,
            session,
            sent,
            received: 1,
        }
    }

    /// Join with `doc` holding `contents`, and sync until the relay holds all of it: a mentor
    /// sharing their plan.
    pub async fn share(url: &str, peer_id: &str, doc: &str, contents: AutoCommit) -> Self {
        Self::share_over(connect(url).await, peer_id, doc, contents).await
    }

    /// [`Peer::share`] over a websocket already open (for example a `wss://` one).
    pub async fn share_over(ws: Ws, peer_id: &str, doc: &str, contents: AutoCommit) -> Self {
        let mut peer = Self::over(ws, session(peer_id, doc, contents)).await;
        peer.sync_until(|s| s.settled()).await;
        peer
    }

    /// Join with an empty copy of `doc`, and sync until `key`, set by someone who shared the
    /// document before, has arrived in it.
    pub async fn catch_up(url: &str, peer_id: &str, doc: &str, key: &str) -> Self {
        Self::catch_up_over(connect(url).await, peer_id, doc, key).await
    }

    /// [`Peer::catch_up`] over a websocket already open (for example a `wss://` one).
    pub async fn catch_up_over(ws: Ws, peer_id: &str, doc: &str, key: &str) -> Self {
        let mut peer = Self::over(ws, session(peer_id, doc, AutoCommit::new())).await;
        peer.sync_until(|s| has(s, doc, key)).await;
        peer
    }

    /// Set `key` in `doc`, sync until the relay holds the change, and wait until `other` has
    /// received it: the check that a pair still syncs through the relay.
    pub async fn send_change_to(&mut self, other: &mut Peer, doc: &str, key: &str, value: i64) {
        self.change(doc, key, value).await;
        self.sync_until(|s| s.settled()).await;
        other.sync_until(|s| has(s, doc, key)).await;
    }

    /// Exchange messages with the relay until `done` holds.
    pub async fn sync_until(&mut self, mut done: impl FnMut(&mut ClientSession) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&mut self.session) {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the condition holds in time");
            let message = match frame {
                Some(Ok(WsMessage::Binary(bytes))) => Message::decode(&bytes).unwrap(),
                Some(Ok(WsMessage::Close(_))) | None => panic!("the relay closed the connection"),
                Some(Err(e)) => panic!("connection failed: {e}"),
                Some(Ok(_)) => continue,
            };
            self.received += 1;
            for reply in self
                .session
                .receive(message)
                .expect("the relay's message applies")
            {
                self.sent += 1;
                send(&mut self.ws, &reply).await;
            }
        }
    }

    /// Make a local change to `doc` and send it.
    pub async fn change(&mut self, doc: &str, key: &str, value: i64) {
        let mut newer = self.session.doc_mut(doc).unwrap().fork();
        newer.put(ROOT, key, value).unwrap();
        newer.commit();
        for m in self.session.local_update(doc, &mut newer).unwrap() {
            self.sent += 1;
            send(&mut self.ws, &m).await;
        }
    }
}

/// A session with one document.
pub fn session(peer_id: &str, doc: &str, contents: AutoCommit) -> ClientSession {
    let mut session = ClientSession::new(peer_id, Some(format!("{peer_id}-storage")));
    session.add_doc(doc, contents, None);
    session
}

/// A mentoring pair syncing `doc` through the relay at `url`: Ana shares the document with
/// `start` set, then Ben joins with an empty copy and catches up.
pub async fn syncing_pair(url: &str, doc: &str) -> (Peer, Peer) {
    let ana = Peer::share(url, "ana", doc, doc_with("start", 0)).await;
    let ben = Peer::catch_up(url, "ben", doc, "start").await;
    (ana, ben)
}

/// The same pair over `wss://`, each peer trusting `ca`.
pub async fn syncing_pair_tls(url: &str, ca: &certs::TestCa, doc: &str) -> (Peer, Peer) {
    use certs::TrustsTestCa;
    let ws = certs::connect_tls(url, ca.client_config()).await.unwrap();
    let ana = Peer::share_over(ws, "ana", doc, doc_with("start", 0)).await;
    let ws = certs::connect_tls(url, ca.client_config()).await.unwrap();
    let ben = Peer::catch_up_over(ws, "ben", doc, "start").await;
    (ana, ben)
}

/// What the relay answered to one HTTP exchange.
pub struct Answer {
    pub status: u16,
    /// The headers as `(name, value)`, in the order they came.
    pub headers: Vec<(String, String)>,
    /// The body as it came.
    pub text: String,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub body: serde_json::Value,
}

impl Answer {
    /// The value of the first header called `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The value of the `Set-Cookie` header, if the answer has one.
    pub fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }

    /// The `name=value` part of the `Set-Cookie` value: what a browser sends back.
    pub fn cookie(&self) -> Option<String> {
        let set_cookie = self.set_cookie()?;
        Some(set_cookie.split(';').next().unwrap_or("").to_string())
    }
}

/// A bare-bones HTTP/1.1 exchange: returns the status and the body parsed as JSON.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let header = authorization.as_deref().map(|v| ("Authorization", v));
    let answer = http_with(addr, method, path, header, body).await;
    (answer.status, answer.body)
}

/// The same exchange with one extra `(name, value)` header (a `Cookie`, say), returning the
/// whole answer.
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    header: Option<(&str, &str)>,
    body: Option<&str>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    http_over(stream, addr, method, path, header, body).await
}

/// The same exchange over HTTPS, trusting `config`'s roots.
pub async fn https(
    addr: SocketAddr,
    config: std::sync::Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
) -> (u16, serde_json::Value) {
    let tls = certs::tls_stream(addr, config).await;
    let answer = http_over(tls, addr, method, path, None, None).await;
    (answer.status, answer.body)
}

/// One HTTP/1.1 exchange over `stream`, with one extra `(name, value)` header if given.
pub async fn http_over(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    addr: SocketAddr,
    method: &str,
    path: &str,
    header: Option<(&str, &str)>,
    body: Option<&str>,
) -> Answer {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some((name, value)) = header {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("an http answer in time")
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        text: body.to_string(),
        body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    }
}

/// The relay's `/health` view.
pub async fn health(addr: SocketAddr) -> serde_json::Value {
    let (status, body) = http(addr, "GET", "/health", None, None).await;
    assert_eq!(status, 200);
    body
}

/// Wait until `/health` satisfies `check`.
pub async fn wait_for_health(addr: SocketAddr, check: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(addr).await;
        if check(&h) {
            return;
        }
        assert!(Instant::now() < deadline, "health never matched: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The relay's `/metrics`, as `series -> value` (a series is a name with its labels, as
/// printed). Also checks that every line is a comment or `series value`.
pub async fn metrics(addr: SocketAddr) -> std::collections::HashMap<String, f64> {
    let answer = http_with(addr, "GET", "/metrics", None, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type
            .to_ascii_lowercase()
            .contains("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let mut series = std::collections::HashMap::new();
    for line in answer
        .text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a value: {line}"));
        series.insert(name.to_string(), value);
    }
    series
}

/// Wait until `/metrics` satisfies `check`.
pub async fn wait_for_metrics(
    addr: SocketAddr,
    check: impl Fn(&std::collections::HashMap<String, f64>) -> bool,
) -> std::collections::HashMap<String, f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = metrics(addr).await;
        if check(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "metrics never matched: {m:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
