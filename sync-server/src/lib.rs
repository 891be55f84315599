//! tandem's relay: an automerge-repo websocket sync server (protocol v1).
//!
//! Read this first if you work on the server. The sync logic itself lives in
//! [`tandem_core::sync::Relay`], a sans-IO engine; this crate gives it a socket, a disk, tokens
//! and a lifecycle. The whole API is [`run`] and [`ServerConfig`]:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let port = listener.local_addr()?.port();
//! let config = tandem_server::ServerConfig {
//!     data_dir: "/tmp/relay".into(),
//!     open: true,
//!     ..Default::default()
//! };
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(tandem_server::run(listener, config, async {
//!     let _ = stopped.await;
//! }));
//! // ... clients connect to ws://127.0.0.1:{port} ...
//! # let _ = port;
//! let _ = stop.send(());
//! server.await??; // everything is saved and flushed when this returns
//! # Ok(()) }
//! ```
//!
//! # Code map
//! - `lib.rs`: [`ServerConfig`], [`run`], the accept loop (a connection [`Semaphore`] permit is
//!   taken before `accept` and held until the connection ends), the TLS handshake (bounded by
//!   [`ServerConfig::tls_handshake_timeout`]) and shutdown.
//! - `tls.rs`: [`TlsFiles`], the certificate served for `wss://` and `https://`, reloadable.
//! - `http.rs`: every connection starts as HTTP/1.1 on hyper, with limits on the request head;
//!   `GET /`, `GET /health`, `GET /metrics` and the invite routes under `/v1/invites` are axum
//!   routes, anything else is `404`.
//!   `GET /v1/program` answers a program token with the coordinators' report.
//! - `program.rs`: that report, read from the stored documents beside the hubs, with the
//!   content-free facts of each workspace cached by its heads.
//! - `invites.rs`: invite codes, stored as hashes beside the tokens they are redeemed for.
//! - `metrics.rs`: the counters behind `/metrics`, in the Prometheus text format.
//! - `conn.rs`: one websocket: the upgrade with the token check, the reader (decoding, rate
//!   limit, hostile input) and the writer (bounded outbox, pings).
//! - `hub.rs`: the hub threads, one `Relay` per shard of documents; batch, flush, then deliver.
//! - `auth.rs`: `tokens.json` in memory, reloaded when it changes.
//! - `closed_pipe.rs`: [`quiet_on_closed_pipe`], the panic hook of both binaries.
//! - `tokens.rs` ([`tokens`]): the token file itself, as the relay and the operator's commands
//!   read and edit it.
//!
//! # Data directory
//! `DATA/sled/` holds the documents and sync states (sled, locked while the relay runs);
//! `DATA/tokens.json` holds the access tokens, hashed ([`tokens`]), so the
//! operator's `tandem-server token ...` commands work while the relay runs.
//!
//! **Architecture invariant (durability):** a change is written and flushed before the relay
//! tells any peer about it; see `hub.rs`.
//!
//! **Architecture invariant (isolation):** whatever one connection sends costs at most that
//! connection: it is closed with an `error` message (or, before it is a websocket, an HTTP
//! error or a dropped TLS handshake), and every other peer keeps working.
//!
//! **Architecture invariant (secrets):** no token, query string or request body is ever logged;
//! refusals are logged by reason and token id.
//!
//! # Shutdown
//! When the `shutdown` future passed to [`run`] completes, the relay stops accepting, asks
//! every connection to close (close code 1001), waits for them briefly, then saves every
//! document held in memory and flushes storage before `run` returns.

mod auth;
mod closed_pipe;
mod conn;
mod credentials;
mod error_answer;
mod http;
mod hub;
pub mod invites;
mod metrics;
mod program;
mod tls;
pub mod tokens;
mod web;
mod ws_config;

pub use closed_pipe::quiet_on_closed_pipe;
pub use tls::TlsFiles;

use anyhow::Context as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_core::store::Journaled;
use tandem_core::sync::{Relay, RelayStats};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::{debug, error, info, warn};

/// How the relay runs. Every field has a sensible default; see [`ServerConfig::default`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where documents (`sled/`) and tokens (`tokens.json`) live. Default `./tandem-data`.
    pub data_dir: PathBuf,
    /// Accept every connection with full access, without a token. Meant for a loopback demo or
    /// a trusted network; the relay warns loudly when it starts this way.
    pub open: bool,
    /// The most connections (websocket and plain HTTP together) served at once; further
    /// clients wait in the listen backlog. Default 1024.
    pub max_connections: usize,
    /// The largest websocket message and frame accepted. A first sync of a big workspace
    /// arrives as one message, so this is large: default 256 MiB.
    pub max_message_bytes: usize,
    /// Documents nobody has used for this long are dropped from memory (they stay on disk).
    /// Default 5 minutes.
    pub idle_evict: Duration,
    /// How often each client is pinged; one that has sent nothing back by the next ping is
    /// dropped. Default 5 s, as the JavaScript sync server does.
    pub ping_interval: Duration,
    /// How often `tokens.json` is checked for changes (it is also checked on every new
    /// connection). Default 2 s.
    pub token_reload_interval: Duration,
    /// The sustained message rate a connection may keep up, per second. Default 1000.
    pub max_messages_per_sec: u32,
    /// How many messages a connection may send in one burst above that rate. Default 10 000.
    pub max_messages_burst: u32,
    /// How many messages may wait to be written to one client before it counts as a slow
    /// reader and is dropped. Default 1024. The hub delivers a whole batch (up to 256 events)
    /// at once, and a client that opens many workspaces gets one reply per workspace in such a
    /// batch, so a capacity below the batch size would make healthy clients look slow; the
    /// default leaves room for a few batches.
    pub outbox_capacity: usize,
    /// Serve `wss://` and `https://` with this certificate instead of plain `ws://` and
    /// `http://`. Default none: plain, for loopback or behind a TLS-terminating proxy.
    pub tls: Option<TlsFiles>,
    /// How long a client has to send a whole request head (and a websocket upgrade's). Default
    /// 10 s.
    pub header_timeout: Duration,
    /// How long a client has to complete the TLS handshake. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// How many hub threads share the documents (by document id). Default: the number of
    /// cores.
    pub hub_threads: usize,
    /// How many bytes of writes the journal gathers before a checkpoint moves them into sled
    /// (core/src/store/journal.rs). More holds more in memory and makes a restart after a
    /// crash replay more; less makes sled work more often. Default 4 MiB.
    pub checkpoint_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tandem-data"),
            open: false,
            max_connections: 1024,
            max_message_bytes: 256 << 20,
            idle_evict: Duration::from_secs(300),
            ping_interval: Duration::from_secs(5),
            token_reload_interval: Duration::from_secs(2),
            max_messages_per_sec: 1000,
            max_messages_burst: 10_000,
            outbox_capacity: 1024,
            tls: None,
            header_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            hub_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            checkpoint_bytes: tandem_core::store::journal::CHECKPOINT_BYTES,
        }
    }
}

impl ServerConfig {
    /// The token file inside [`ServerConfig::data_dir`].
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(tokens::FILE_NAME)
    }

    /// The sled database directory inside [`ServerConfig::data_dir`].
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("sled")
    }
}

/// How many hub events may wait, per hub thread, before connection readers are made to wait
/// (backpressure).
const HUB_QUEUE: usize = 256;
/// How long shutdown waits for connections to close before saving anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection task shares.
pub(crate) struct Shared {
    config: ServerConfig,
    ws_config: WebSocketConfig,
    auth: Arc<auth::Auth>,
    hub: hub::HubRouter,
    /// The relay's counters as of the hub's last batch, for `/health`.
    stats: watch::Receiver<RelayStats>,
    /// What `/metrics` reports; also counts live connections for `/health`.
    metrics: metrics::Metrics,
    next_conn: AtomicU64,
    started: Instant,
    relay_peer_id: String,
    /// Invite redemptions per client address.
    redeem_limit: http::RateLimit,
    /// The program report and its cache of facts (`GET /v1/program`).
    program: Arc<program::ProgramView>,
}

impl Shared {
    /// Reload `tokens.json` if it changed, and close connections whose tokens stopped working.
    async fn refresh_tokens(&self) {
        if self.auth.is_open() {
            return;
        }
        let auth = self.auth.clone();
        match tokio::task::spawn_blocking(move || auth.refresh()).await {
            Ok(Ok(gone)) if !gone.is_empty() => {
                info!(
                    count = gone.len(),
                    "tokens revoked; closing their connections"
                );
                let _ = self.hub.send(hub::HubEvent::Revoked { ids: gone }).await;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(
                "could not reload tokens, keeping the previous ones: {}",
                tandem_core::Chain(&e)
            ),
            Err(e) => warn!("token reload failed: {e}"),
        }
    }
}

/// Serve the relay on `listener` until `shutdown` completes, then save everything and return.
///
/// Opens (or creates) the data directory; fails if the store cannot be opened (for example
/// because another relay holds it) or `tokens.json` is unreadable.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let acceptor = match &config.tls {
        Some(files) => Some(files.acceptor()?),
        None => None,
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let store_path = config.store_path();
    let checkpoint_bytes = config.checkpoint_bytes;
    // The relay flushes after every batch, so its writes go through a journal: one append and
    // one fdatasync per flush instead of a sync of sled's whole log (core/src/store/journal.rs).
    let journal = tokio::task::spawn_blocking(move || {
        Journaled::open_sled_with_checkpoint(&store_path, checkpoint_bytes)
    })
    .await
    .context("opening the store")?
    .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    let journal = Arc::new(journal);
    let peer_id = format!("tandem-relay-{:08x}", rand::random::<u32>());
    let storage: Arc<dyn tandem_core::store::Storage> = journal.clone();
    let relay = Relay::new(storage.clone(), peer_id.clone()).context("starting the relay")?;
    // The program report reads the stored documents beside the hubs, never through them.
    let program = Arc::new(program::ProgramView::new(storage, config.hub_threads));
    let auth = Arc::new(
        auth::Auth::load(&config.tokens_path(), config.open).context("loading the tokens")?,
    );
    if config.open {
        warn!("!!! --open: authentication is OFF; anyone who can reach this port can read and change every document !!!");
    } else if auth.active_count() == 0 {
        warn!(
            "no access tokens yet, so nobody can connect; create one with `tandem-server --data {} token create --all --role write`",
            config.data_dir.display()
        );
    }
    info!(peer_id = %peer_id, storage_id = %relay.storage_id(), data = %config.data_dir.display(), "relay ready");

    let (stats_tx, stats_rx) = watch::channel(relay.stats());
    let metrics = metrics::Metrics::new(stats_rx.clone(), journal.clone());
    let (hub_tx, hub_thread) = hub::spawn(
        relay,
        hub::HubSettings {
            shards: config.hub_threads,
            queue: HUB_QUEUE,
            idle: config.idle_evict,
            outbox_capacity: config.outbox_capacity,
        },
        stats_tx,
        auth.clone(),
        metrics.flush_seconds.clone(),
    )
    .context("starting the hub thread")?;

    let ws_config = ws_config::websocket_config(config.max_message_bytes);
    let shared = Arc::new(Shared {
        ws_config,
        auth,
        hub: hub_tx.clone(),
        stats: stats_rx,
        metrics,
        next_conn: AtomicU64::new(1),
        started,
        relay_peer_id: peer_id,
        redeem_limit: http::RateLimit::new(http::REDEEM_PER_MINUTE),
        program,
        config,
    });

    // Connections and timers watch this; it flips to `true` once, at shutdown.
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every task holds a clone of `done_tx`; when all are dropped, `done_rx` yields `None`
    // and shutdown knows they have finished (mini-redis's drop-to-signal pattern).
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    tokio::spawn(timers(shared.clone(), stop_rx.clone(), done_tx.clone()));
    tokio::select! {
        _ = accept_loop(&listener, acceptor, shared.clone(), stop_rx.clone(), done_tx.clone()) => {}
        _ = shutdown => info!("shutting down"),
        // The hub only stops on its own if it crashed; serving on without it is pointless.
        _ = hub_tx.closed() => error!("the hub stopped unexpectedly; shutting down"),
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_tx);
    if tokio::time::timeout(DRAIN_TIMEOUT, done_rx.recv())
        .await
        .is_err()
    {
        warn!("some connections did not close in time; saving anyway");
    }
    let (done, saved) = oneshot::channel();
    if hub_tx.send(hub::HubEvent::Shutdown { done }).await.is_err() {
        anyhow::bail!("the hub stopped unexpectedly");
    }
    drop(hub_tx);
    let result = saved.await.unwrap_or(Err(hub::SaveError::HubStopped));
    tokio::task::spawn_blocking(move || hub_thread.join())
        .await
        .ok()
        .and_then(Result::ok)
        .context("the hub thread panicked")?;
    result.context("saving on shutdown failed")?;
    // Everything is durable in the journal already; a checkpoint leaves the store complete
    // without it, for whatever reads the store next.
    tokio::task::spawn_blocking(move || journal.checkpoint())
        .await
        .context("checkpointing the store")?
        .context("checkpointing the store on shutdown failed")
}

/// Accept connections forever (until cancelled by shutdown). A permit from the connection
/// semaphore is taken *before* `accept`, so at most `max_connections` are served at once and
/// the rest wait in the kernel's backlog instead of in our memory.
async fn accept_loop(
    listener: &TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let limit = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut backoff = Duration::from_millis(10);
    let router = http::router(shared.clone());
    loop {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (socket, addr) = match listener.accept().await {
            Ok(accepted) => {
                backoff = Duration::from_millis(10);
                accepted
            }
            Err(e) => {
                // Usually out of file descriptors; waiting lets connections finish.
                error!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        debug!(%addr, "accepted");
        let guard = conn::ConnGuard::new(permit, done.clone(), stop.clone());
        match &acceptor {
            None => {
                tokio::spawn(http::serve(
                    socket,
                    addr,
                    shared.clone(),
                    router.clone(),
                    guard,
                ));
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(socket);
                tokio::spawn(serve_tls(
                    handshake,
                    addr,
                    shared.clone(),
                    router.clone(),
                    guard,
                ));
            }
        }
    }
}

/// Finish the TLS handshake (bounded in time, abandoned at shutdown), then serve HTTP over
/// it. Plaintext or garbage instead of a handshake costs only this connection.
async fn serve_tls(
    handshake: tokio_rustls::Accept<tokio::net::TcpStream>,
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    router: axum::Router,
    guard: conn::ConnGuard,
) {
    let mut stop = guard.shutdown.clone();
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(shared.config.tls_handshake_timeout, handshake) => outcome,
        _ = stop.changed() => return,
    };
    match outcome {
        Ok(Ok(stream)) => http::serve(stream, addr, shared, router, guard).await,
        Ok(Err(e)) => {
            shared.metrics.refused(metrics::Refusal::TlsHandshake);
            debug!(%addr, "TLS handshake failed: {e}");
        }
        Err(_) => {
            shared.metrics.refused(metrics::Refusal::TlsHandshake);
            debug!(%addr, "TLS handshake timed out");
        }
    }
}

/// Periodic work: idle eviction in the hub, and reloading `tokens.json`.
async fn timers(shared: Arc<Shared>, mut stop: watch::Receiver<bool>, done: mpsc::Sender<()>) {
    let evict_every =
        (shared.config.idle_evict / 2).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut evict = tokio::time::interval(evict_every);
    let mut reload = tokio::time::interval(
        shared
            .config
            .token_reload_interval
            .max(Duration::from_millis(50)),
    );
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = evict.tick() => {
                let _ = shared.hub.send(hub::HubEvent::Tick).await;
            }
            _ = reload.tick() => shared.refresh_tokens().await,
        }
    }
    drop(done);
}
