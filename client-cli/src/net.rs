//! The client's network edge: a websocket to a relay, carrying protocol messages.
//!
//! Everything protocol-shaped is decided by `tandem_core::sync::ClientSession`; this module only
//! moves its messages over a socket, with timeouts and errors a person can act on.

use anyhow::{anyhow, bail, Context as _, Result};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tandem_core::protocol::Message;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, http};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A large initial sync must fit in one message; tungstenite's default frame cap is 16 MiB.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// An open connection to a relay.
pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
}

impl Connection {
    /// Connect to `url`, presenting `token` as a bearer token.
    pub async fn open(url: &str, token: Option<&str>, timeout: Duration) -> Result<Self> {
        let mut request = url
            .into_client_request()
            .map_err(|e| anyhow!("'{url}' is not a relay URL (expected ws://host:port): {e}"))?;
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
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let (ws, _) = match tokio::time::timeout(timeout, connect).await {
            Err(_) => bail!(
                "cannot reach the relay at {url}: no answer within {}s",
                timeout.as_secs()
            ),
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status();
                if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN
                {
                    bail!("the relay at {url} refused the token ({status}); ask your partner for a new invite");
                }
                bail!("the relay at {url} answered {status} instead of accepting the connection");
            }
            Ok(Err(tungstenite::Error::Io(e))) => {
                bail!("cannot reach the relay at {url}: {e}")
            }
            Ok(Err(e)) => bail!("cannot connect to the relay at {url}: {e}"),
            Ok(Ok(pair)) => pair,
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

/// A minimal HTTP/1.1 POST of a JSON body to the relay's HTTP side, for `tandem invite`.
///
/// The relay speaks plain HTTP on its websocket port for a handful of endpoints; this avoids
/// pulling an HTTP client library into the CLI for one request.
pub async fn post_json(
    url: &str,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let parsed = url
        .into_client_request()
        .map_err(|e| anyhow!("'{url}' is not a relay URL: {e}"))?;
    let uri = parsed.uri();
    if uri.scheme_str() != Some("ws") {
        bail!("only ws:// relays are supported for invites so far");
    }
    let host = uri.host().context("the relay URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let body = serde_json::to_vec(body)?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(t) = token {
        request.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut response = Vec::new();
        stream.take(1 << 20).read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| anyhow!("cannot reach the relay at {url}: no answer"))?
        .with_context(|| format!("cannot reach the relay at {url}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the relay sent a malformed HTTP answer")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the relay sent a malformed HTTP status")?;
    let json = serde_json::from_str(body.trim()).unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}
