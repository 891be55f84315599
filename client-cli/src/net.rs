//! The client's network edge: a websocket to a relay, carrying protocol messages, and the
//! relay's HTTP routes the CLI calls (invites, the program report).
//!
//! Everything protocol-shaped is decided by `tandem_core::sync::ClientSession`; this module only
//! moves its messages over a socket, with timeouts and errors a person can act on. `wss://` and
//! `https://` go through rustls with the roots of [`crate::tls`].

use crate::tls;
use anyhow::{anyhow, bail, Context as _, Result};
use futures_util::{SinkExt, StreamExt};
use std::path::Path;
use std::time::Duration;
use tandem_core::protocol::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, http};
use tokio_tungstenite::WebSocketStream;

/// A large initial sync must fit in one message; tungstenite's default frame cap is 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// A byte stream to a relay: a TCP socket, or TLS over one.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The relay turned the token away (401 or 403). Retrying cannot help until the token changes,
/// so `sync --watch` stops retrying such a relay rather than asking again forever.
#[derive(Debug)]
pub struct TokenRefused {
    pub url: String,
    pub status: String,
}

impl std::fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the relay at {} refused the token ({}); ask your partner for a new invite",
            self.url, self.status
        )
    }
}

impl std::error::Error for TokenRefused {}

/// An open connection to a relay.
pub struct Connection {
    ws: WebSocketStream<Box<dyn Io>>,
    url: String,
}

/// Where a relay URL points: host (without IPv6 brackets), port, and whether it uses TLS.
struct Target {
    host: String,
    port: u16,
    tls: bool,
}

fn target(uri: &http::Uri, url: &str) -> Result<Target> {
    let tls = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => bail!("'{url}' is not a relay URL (expected ws://HOST:PORT or wss://HOST)"),
    };
    let host = uri
        .host()
        .with_context(|| format!("the relay URL '{url}' has no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok(Target { host, port, tls })
}

/// Open a TCP connection to `target`, and TLS over it for `wss://`.
async fn dial(target: &Target, url: &str, ca_file: Option<&Path>) -> Result<Box<dyn Io>> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .with_context(|| format!("cannot reach the relay at {url}"))?;
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let config = tls::client_config(ca_file)?;
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|_| anyhow!("'{}' is not a valid host name for TLS", target.host))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| match tls::find_rustls_error(&e) {
            Some(tls_error) => anyhow!(tls::explain(tls_error, &target.host)),
            None => anyhow!("cannot reach the relay at {url}: {e}"),
        })?;
    Ok(Box::new(stream))
}

impl Connection {
    /// Connect to `url`, presenting `token` as a bearer token; `ca_file` adds a private CA to
    /// the roots trusted for `wss://`.
    pub async fn open(
        url: &str,
        token: Option<&str>,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self> {
        let mut request = url.into_client_request().map_err(|e| {
            anyhow!("'{url}' is not a relay URL (expected ws://HOST:PORT or wss://HOST): {e}")
        })?;
        let target = target(request.uri(), url)?;
        if let Some(token) = token {
            let value = http::HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token contains characters that cannot be sent")?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connect = async {
            let stream = dial(&target, url, ca_file).await?;
            match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
                Ok((ws, _)) => Ok(ws),
                Err(tungstenite::Error::Http(response)) => {
                    let status = response.status();
                    if status == http::StatusCode::UNAUTHORIZED
                        || status == http::StatusCode::FORBIDDEN
                    {
                        return Err(TokenRefused {
                            url: url.to_string(),
                            status: status.to_string(),
                        }
                        .into());
                    }
                    bail!(
                        "the relay at {url} answered {status} instead of accepting the connection"
                    );
                }
                Err(tungstenite::Error::Io(e)) => bail!("cannot reach the relay at {url}: {e}"),
                Err(e) => bail!("cannot connect to the relay at {url}: {e}"),
            }
        };
        let ws = match tokio::time::timeout(timeout, connect).await {
            Err(_) => bail!(
                "cannot reach the relay at {url}: no answer within {}s",
                timeout.as_secs()
            ),
            Ok(result) => result?,
        };
        Ok(Self {
            ws,
            url: url.to_string(),
        })
    }

    /// Send one protocol message as one binary frame.
    pub async fn send(&mut self, message: &Message) -> Result<()> {
        self.ws
            .send(tungstenite::Message::Binary(message.encode().into()))
            .await
            .with_context(|| format!("the connection to {} broke", self.url))
    }

    /// Send several messages, flushing once.
    pub async fn send_all(&mut self, messages: Vec<Message>) -> Result<()> {
        for m in messages {
            self.ws
                .feed(tungstenite::Message::Binary(m.encode().into()))
                .await
                .with_context(|| format!("the connection to {} broke", self.url))?;
        }
        self.ws
            .flush()
            .await
            .with_context(|| format!("the connection to {} broke", self.url))
    }

    /// The next protocol message, or `None` when the relay closed the connection.
    /// Pings are answered by tungstenite while reading.
    pub async fn recv(&mut self) -> Result<Option<Message>> {
        loop {
            let Some(frame) = self.ws.next().await else {
                return Ok(None);
            };
            match frame.with_context(|| format!("the connection to {} broke", self.url))? {
                tungstenite::Message::Binary(bytes) => {
                    return Message::decode(&bytes)
                        .map(Some)
                        .map_err(|e| anyhow!("the relay sent an unreadable message: {e}"));
                }
                tungstenite::Message::Close(_) => return Ok(None),
                // Pings, pongs and text frames carry nothing for us.
                _ => continue,
            }
        }
    }

    /// Close politely; errors are irrelevant at this point.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// POST a JSON body to the relay's HTTP side (`path` on the relay at `url`) and return the
/// status and the answer's JSON (`null` if it has none). Blocking.
pub fn post_json(
    url: &str,
    path: &str,
    token: Option<&str>,
    ca_file: Option<&Path>,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    http_json("POST", url, path, token, ca_file, Some(body), timeout)
}

/// The largest answer [`http_json`] reads: invites and sessions are a few hundred bytes.
const SMALL_ANSWER: u64 = 1 << 20;

/// One HTTP request to the relay at `url` (a `ws://` or `wss://` URL, reached over `http://` or
/// `https://`): `method` with an optional JSON body; returns the status and the JSON answer
/// (`null` when the answer is not JSON or larger than 1 MiB).
pub fn http_json(
    method: &str,
    url: &str,
    path: &str,
    token: Option<&str>,
    ca_file: Option<&Path>,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    exchange(
        method,
        url,
        path,
        token,
        ca_file,
        body,
        (timeout, SMALL_ANSWER),
    )
}

/// `GET path` on the relay at `url`, like [`http_json`], for an answer of up to `limit` bytes,
/// such as a program report, which grows with the number of pairs.
pub fn get_json_up_to(
    url: &str,
    path: &str,
    token: Option<&str>,
    ca_file: Option<&Path>,
    timeout: Duration,
    limit: u64,
) -> Result<(u16, serde_json::Value)> {
    exchange("GET", url, path, token, ca_file, None, (timeout, limit))
}

/// The request of [`http_json`], bounded by `(timeout, largest answer in bytes)`.
fn exchange(
    method: &str,
    url: &str,
    path: &str,
    token: Option<&str>,
    ca_file: Option<&Path>,
    body: Option<&serde_json::Value>,
    (timeout, limit): (Duration, u64),
) -> Result<(u16, serde_json::Value)> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| anyhow!("'{url}' is not a relay URL: {e}"))?;
    let target = target(&uri, url)?;
    let scheme = if target.tls { "https" } else { "http" };
    let authority = uri
        .authority()
        .with_context(|| format!("the relay URL '{url}' has no host"))?;
    let endpoint = format!("{scheme}://{authority}{path}");
    let roots = if target.tls {
        tls::roots(ca_file)?
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
            .collect()
    } else {
        Vec::new()
    };
    let tls_config = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(tls::provider())
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(tls_config)
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let sent = match (method, body) {
        ("GET", _) => {
            let mut request = agent.get(&endpoint);
            if let Some(a) = &auth {
                request = request.header("Authorization", a);
            }
            request.call()
        }
        ("DELETE", _) => {
            let mut request = agent.delete(&endpoint);
            if let Some(a) = &auth {
                request = request.header("Authorization", a);
            }
            request.call()
        }
        (_, body) => {
            let mut request = agent.post(&endpoint);
            if let Some(a) = &auth {
                request = request.header("Authorization", a);
            }
            request.send_json(body.unwrap_or(&serde_json::Value::Null))
        }
    };
    let mut response = sent.map_err(|e| match &e {
        ureq::Error::Rustls(tls_error) => anyhow!(tls::explain(tls_error, &target.host)),
        ureq::Error::Timeout(_) => anyhow!("cannot reach the relay at {url}: no answer"),
        // A refused certificate arrives as an I/O error wrapping rustls's.
        ureq::Error::Io(io) => match tls::find_rustls_error(io) {
            Some(tls_error) => anyhow!(tls::explain(tls_error, &target.host)),
            None => anyhow!("cannot reach the relay at {url}: {io}"),
        },
        _ => match tls::find_rustls_error(&e) {
            Some(tls_error) => anyhow!(tls::explain(tls_error, &target.host)),
            None => anyhow!("cannot reach the relay at {url}: {e}"),
        },
    })?;
    let status = response.status().as_u16();
    let json = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_json()
        .unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}
