//! One client connection to a relay: a TCP socket that counts its bytes, the websocket
//! handshake, and the protocol's `join`/`peer` exchange.

use anyhow::{bail, Context as _, Result};
use futures_util::{SinkExt as _, StreamExt as _};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tandem_core::protocol::{Message, PeerMetadata};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// Bytes that crossed the loopback in each direction, counted at the TCP socket: websocket
/// frame headers, masks, pings, pongs and the HTTP upgrade included.
#[derive(Debug, Default)]
pub struct Wire {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Sync messages sent and received, and how many of each carried no change: under load,
    /// a relay that makes its peers talk without moving edits shows here first.
    pub frames_sent: AtomicU64,
    pub frames_sent_empty: AtomicU64,
    pub frames_received: AtomicU64,
    pub frames_received_empty: AtomicU64,
}

impl Wire {
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    /// Count one sync message, sent or received, and whether it carried changes.
    pub fn count_frame(&self, sent: bool, has_changes: bool) {
        let (all, empty) = if sent {
            (&self.frames_sent, &self.frames_sent_empty)
        } else {
            (&self.frames_received, &self.frames_received_empty)
        };
        all.fetch_add(1, Ordering::Relaxed);
        if !has_changes {
            empty.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sync messages so far: sent, sent without changes, received, received without changes.
    pub fn frames(&self) -> [u64; 4] {
        [
            &self.frames_sent,
            &self.frames_sent_empty,
            &self.frames_received,
            &self.frames_received_empty,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// A TCP stream that adds every byte read or written to a [`Wire`].
#[derive(Debug)]
pub struct Counted {
    inner: TcpStream,
    wire: Arc<Wire>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let n = (buf.filled().len() - before) as u64;
            self.wire.received.fetch_add(n, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.wire.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.wire.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub type Ws = WebSocketStream<Counted>;

/// How long one connection may take for TCP connect, websocket upgrade and `join`/`peer`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Open a websocket to `url` (`ws://host:port/...`), counting its bytes in `wire`.
pub async fn open(url: &str, wire: Arc<Wire>) -> Result<Ws> {
    let request = url
        .into_client_request()
        .with_context(|| format!("bad relay url {url}"))?;
    if request.uri().scheme_str() != Some("ws") {
        bail!("only ws:// urls are supported, got {url}");
    }
    let host = request.uri().host().context("the url has no host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    tcp.set_nodelay(true)?;
    let stream = Counted { inner: tcp, wire };
    // Sync messages of a large first sync arrive as one frame; allow what the relay allows.
    // tungstenite zero-fills up to `read_buffer_size` bytes before every socket read, so the
    // 128 KiB default costs a large memset per small message; 4 KiB keeps that cheap (bigger
    // frames still grow the buffer as needed).
    let config = WebSocketConfig::default()
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20))
        .read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .context("websocket handshake failed")?;
    Ok(ws)
}

/// Send one protocol message as a binary frame.
pub async fn send(ws: &mut Ws, message: &Message) -> Result<()> {
    ws.send(WsMessage::Binary(message.encode().into()))
        .await
        .context("sending to the relay")
}

/// Send `join` and wait for the relay's `peer`; returns the relay's peer id.
pub async fn join(ws: &mut Ws, peer_id: &str, storage_id: Option<String>) -> Result<String> {
    let metadata = PeerMetadata {
        is_ephemeral: storage_id.is_none(),
        storage_id,
    };
    send(ws, &Message::join(peer_id, Some(metadata))).await?;
    loop {
        let frame = ws
            .next()
            .await
            .context("the relay closed the connection before answering join")?
            .context("reading the join reply")?;
        match frame {
            WsMessage::Binary(bytes) => match Message::decode(&bytes)? {
                Message::Peer { sender_id, .. } => return Ok(sender_id),
                Message::Error { message, .. } => bail!("the relay refused join: {message}"),
                other => bail!("expected peer, got {}", other.type_name()),
            },
            WsMessage::Close(frame) => bail!("the relay closed the connection: {frame:?}"),
            _ => {}
        }
    }
}

/// Open and join, within [`CONNECT_TIMEOUT`].
pub async fn connect(
    url: &str,
    wire: Arc<Wire>,
    peer_id: &str,
    storage_id: Option<String>,
) -> Result<(Ws, String)> {
    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let mut ws = open(url, wire).await?;
        let relay = join(&mut ws, peer_id, storage_id).await?;
        Ok((ws, relay))
    })
    .await
    .context("connecting timed out")?
}

/// Close politely, but never wait long for it.
pub async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}
