//! `tandem sync`, `sync --watch` and `status`: the network half of the CLI (with `invite.rs`,
//! which reuses the handshake and the one-shot sync).
//!
//! The store is never held while waiting on the network: documents are read with the store open,
//! the store is released, the exchange happens, and what arrived is merged into whatever the store
//! holds by then (other commands may have written meanwhile). So a command in another terminal
//! never waits on a relay.

use crate::context::Context;
use crate::net::Connection;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tandem_core::automerge::AutoCommit;
use tandem_core::model::time::{display_instant, Stored};
use tandem_core::protocol::Message;
use tandem_core::store::{Home, RelaySettings};
use tandem_core::sync::ClientSession;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The relay's URL, e.g. wss://relay.example or ws://127.0.0.1:3030; remembered for next
    /// time.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// An access token from the relay's operator; remembered with the relay.
    #[arg(long, env = "TANDEM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A private certificate authority (PEM) to trust for a wss:// relay, besides the
    /// system's; remembered with the relay.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Stay connected and sync continuously; reconnects with backoff.
    #[arg(long)]
    watch: bool,
    /// Give up on an unresponsive relay after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// `tandem sync`, once or with `--watch`.
pub fn run(ctx: &Context, args: SyncArgs) -> Result<()> {
    let flags = RelayFlags {
        server: args.server,
        token: args.token,
        ca_file: ca_file_flag(args.ca_file)?,
    };
    if args.watch {
        watch(ctx, &flags)
    } else {
        sync(ctx, &flags, Duration::from_secs(args.timeout))
    }
}

/// The file every write command touches after it succeeds, so `sync --watch` notices local
/// changes without opening (and locking) the store.
pub const CHANGE_MARKER: &str = "last-change";

/// What one sync did for one workspace.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceSync {
    pub id: String,
    pub title: String,
    /// Changes that were not yet on the relay before this sync.
    pub sent: usize,
    /// Changes that arrived from the relay.
    pub received: usize,
    /// Whether the relay confirmed it holds everything this device had.
    pub relay_has_everything: bool,
}

/// The outcome of a one-shot sync with one relay.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub relay: String,
    pub workspaces: Vec<WorkspaceSync>,
    pub elapsed_ms: u128,
}

/// What `sync --json` prints (fields in the order `--json` has always printed them).
#[derive(Debug, Serialize)]
struct SyncOutcome {
    errors: Vec<String>,
    ok: bool,
    relays: Vec<SyncReport>,
}

/// One workspace in `status`.
#[derive(Debug, Serialize)]
struct StatusRow {
    id: String,
    last_sync: Option<String>,
    relay: Option<String>,
    title: String,
    unsynced_changes: usize,
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the network runtime")
}

pub(super) fn peer_id() -> String {
    format!("tandem-{:08x}", rand::random::<u32>())
}

/// Workspaces grouped by the relay (URL, token and CA) they sync with.
type RelayGroups = BTreeMap<RelaySettings, Vec<String>>;

/// What `sync` was told about the relay on the command line.
#[derive(Debug, Default, Clone)]
pub struct RelayFlags {
    pub server: Option<String>,
    pub token: Option<String>,
    pub ca_file: Option<PathBuf>,
}

/// The `--ca-file` as it is remembered: absolute (later commands may run elsewhere), UTF-8,
/// and readable as PEM certificates now rather than at the first sync.
pub fn ca_file_flag(path: Option<PathBuf>) -> Result<Option<PathBuf>> {
    let Some(path) = path else { return Ok(None) };
    let path = std::path::absolute(&path)
        .with_context(|| format!("cannot find the CA file {}", path.display()))?;
    if path.to_str().is_none() {
        bail!("the CA file's path {} is not valid UTF-8", path.display());
    }
    crate::tls::read_ca_file(&path)?;
    Ok(Some(path))
}

/// Group the home's workspaces by the relay they sync with.
fn plan_sync(ctx: &Context, home: &Home, flags: &RelayFlags) -> Result<RelayGroups> {
    let (server, token) = (flags.server.as_deref(), flags.token.as_deref());
    let selected: Vec<String> = match &ctx.selector {
        Some(sel) => vec![home.resolve(Some(sel))?],
        None => home.workspaces()?.into_iter().map(|w| w.id).collect(),
    };
    if selected.is_empty() {
        bail!("no workspace to sync yet: create one with `tandem init` or join one with `tandem join CODE`");
    }
    let mut groups = RelayGroups::new();
    for id in selected {
        let settings = match server {
            Some(url) => {
                let existing = home.relay(&id)?.filter(|e| e.url == url);
                let token = token
                    .map(str::to_string)
                    .or_else(|| existing.as_ref().and_then(|e| e.token.clone()));
                let ca_file = flags
                    .ca_file
                    .clone()
                    .or_else(|| existing.and_then(|e| e.ca_file));
                // Remembered only once a sync with it succeeds (see `remember`), so a mistyped
                // address never replaces a working relay and its token.
                RelaySettings {
                    url: url.to_string(),
                    token,
                    ca_file,
                }
            }
            None => match home.relay(&id)? {
                Some(s) => RelaySettings {
                    token: token.map(str::to_string).or(s.token),
                    ca_file: flags.ca_file.clone().or(s.ca_file),
                    url: s.url,
                },
                None => {
                    if ctx.selector.is_some() {
                        bail!("this workspace has no relay yet: run `tandem sync --server ws://HOST:PORT` once");
                    }
                    continue;
                }
            },
        };
        groups.entry(settings).or_default().push(id);
    }
    if groups.is_empty() {
        bail!("no workspace has a relay yet: run `tandem sync --server ws://HOST:PORT` once");
    }
    Ok(groups)
}

/// Remember the relay that just worked for these workspaces.
fn remember(ctx: &Context, ids: &[String], relay: &RelaySettings) -> Result<()> {
    let home = ctx.home()?;
    for id in ids {
        if home.relay(id)?.as_ref() != Some(relay) {
            home.set_relay(id, relay)?;
        }
    }
    Ok(())
}

/// Everything a sync needs from the store, read in one short visit.
struct Loaded {
    storage_id: String,
    docs: Vec<(String, String, AutoCommit, usize)>,
}

fn load_for_sync(home: &Home, ids: &[String]) -> Result<Loaded> {
    let storage_id = home.storage_id()?;
    let mut docs = Vec::new();
    for id in ids {
        let mut opened = home.open_workspace(id, tandem_core::jiff::Timestamp::now())?;
        let unsynced = home.unsynced_changes(&mut opened)?;
        let title = opened.ws.title();
        docs.push((id.clone(), title, opened.ws.into_doc(), unsynced));
    }
    Ok(Loaded { storage_id, docs })
}

/// Connect and complete the handshake; returns the connection and the session with the relay
/// known.
pub(super) async fn handshake(
    relay: &RelaySettings,
    session: &mut ClientSession,
    timeout: Duration,
) -> Result<Connection> {
    let url = relay.url.as_str();
    let mut conn = Connection::open(
        url,
        relay.token.as_deref(),
        relay.ca_file.as_deref(),
        timeout,
    )
    .await?;
    conn.send(&session.join()).await?;
    let reply = tokio::time::timeout(timeout, conn.recv())
        .await
        .map_err(|_| anyhow!("the relay at {url} did not answer the handshake"))??
        .ok_or_else(|| anyhow!("the relay at {url} closed the connection during the handshake"))?;
    match reply {
        Message::Peer { .. } => {
            session.receive(reply)?;
            Ok(conn)
        }
        Message::Error { message, .. } => bail!("the relay at {url} refused: {message}"),
        other => bail!(
            "the relay at {url} answered the handshake with {}",
            other.type_name()
        ),
    }
}

/// Add documents with their persisted sync states (if the relay is the one they were saved for).
fn add_docs(
    home: &Home,
    session: &mut ClientSession,
    docs: Vec<(String, AutoCommit)>,
) -> Result<()> {
    let relay_storage = session.relay().and_then(|(_, s)| s.map(str::to_string));
    for (id, doc) in docs {
        let state = match &relay_storage {
            Some(s) => home.sync_state(&id, s)?,
            None => None,
        };
        session.add_doc(id, doc, state);
    }
    Ok(())
}

/// Exchange messages until the relay holds everything and has nothing more for us.
async fn exchange(
    conn: &mut Connection,
    session: &mut ClientSession,
    timeout: Duration,
) -> Result<()> {
    let start = session.start();
    conn.send_all(start).await?;
    let deadline = Instant::now() + timeout;
    loop {
        if session.settled() {
            // A short grace period lets a last reply arrive, so a relay with changes for us
            // (which makes its heads differ) is not mistaken for a finished sync.
            return Ok(());
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let msg = match tokio::time::timeout(remaining, conn.recv()).await {
            Err(_) => bail!("the relay did not finish syncing within {}s; your changes are safe here, try again", timeout.as_secs()),
            Ok(r) => r?,
        };
        let Some(msg) = msg else {
            bail!("the relay closed the connection before the sync finished; your changes are safe here");
        };
        let replies = session.receive(msg)?;
        conn.send_all(replies).await?;
    }
}

/// Merge what arrived into the store and record what the relay holds.
fn persist(
    home: &Home,
    session: &mut ClientSession,
    now: tandem_core::jiff::Timestamp,
) -> Result<BTreeMap<String, usize>> {
    let relay_storage = session.relay().and_then(|(_, s)| s.map(str::to_string));
    let progress = session.progress();
    let mut received = BTreeMap::new();
    for p in progress {
        let Some(doc) = session.doc_mut(&p.id) else {
            continue;
        };
        home.absorb(&p.id, doc)?;
        received.insert(p.id.clone(), p.received);
        if let Some(storage) = &relay_storage {
            if let Some(state) = session.sync_state(&p.id) {
                home.save_sync_state(&p.id, storage, state)?;
            }
            if p.relay_has_everything {
                let heads = session
                    .doc_mut(&p.id)
                    .map(|d| d.get_heads())
                    .unwrap_or_default();
                home.record_sync(&p.id, storage, &heads, now)?;
            }
        }
    }
    Ok(received)
}

/// One-shot sync of the selected workspaces with their relays.
pub(super) fn sync(ctx: &Context, flags: &RelayFlags, timeout: Duration) -> Result<()> {
    let (groups, loaded) = {
        let home = ctx.home()?;
        let groups = plan_sync(ctx, &home, flags)?;
        let mut loaded = Vec::new();
        for (relay, ids) in &groups {
            loaded.push((relay.clone(), load_for_sync(&home, ids)?));
        }
        (groups, loaded)
    };
    drop(groups);
    let rt = runtime()?;
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (relay, loaded) in loaded {
        let url = relay.url.clone();
        let started = Instant::now();
        if !ctx.quiet && !ctx.json {
            eprintln!("Syncing {} workspace(s) with {url} …", loaded.docs.len());
        }
        let mut session = ClientSession::new(peer_id(), Some(loaded.storage_id.clone()));
        let meta: Vec<(String, String, usize)> = loaded
            .docs
            .iter()
            .map(|(id, t, _, u)| (id.clone(), t.clone(), *u))
            .collect();
        let docs: Vec<(String, AutoCommit)> = loaded
            .docs
            .into_iter()
            .map(|(id, _, d, _)| (id, d))
            .collect();
        let ids: Vec<String> = meta.iter().map(|(id, _, _)| id.clone()).collect();
        let outcome = rt.block_on(async {
            let mut conn = handshake(&relay, &mut session, timeout).await?;
            remember(ctx, &ids, &relay)?;
            {
                let home = ctx.home()?;
                add_docs(&home, &mut session, docs)?;
            }
            let result = exchange(&mut conn, &mut session, timeout).await;
            conn.close().await;
            result
        });
        // Whatever arrived is kept even when the exchange failed part-way.
        let home = ctx.home()?;
        let received = persist(&home, &mut session, ctx.now)?;
        let progress = session.progress();
        drop(home);
        if let Err(e) = outcome {
            failures.push(format!("{e:#}"));
            continue;
        }
        let workspaces = meta
            .into_iter()
            .map(|(id, title, unsynced)| {
                let p = progress.iter().find(|p| p.id == id);
                WorkspaceSync {
                    received: received.get(&id).copied().unwrap_or(0),
                    relay_has_everything: p.is_some_and(|p| p.relay_has_everything),
                    sent: unsynced,
                    title,
                    id,
                }
            })
            .collect();
        reports.push(SyncReport {
            relay: url,
            workspaces,
            elapsed_ms: started.elapsed().as_millis(),
        });
    }
    if ctx.json {
        ctx.print_json(&SyncOutcome {
            ok: failures.is_empty(),
            relays: reports,
            errors: failures.clone(),
        })?;
    } else if !ctx.quiet {
        for r in &reports {
            for w in &r.workspaces {
                let state = if w.relay_has_everything {
                    "on the relay"
                } else {
                    "NOT fully on the relay"
                };
                println!(
                    "“{}”: sent {} change(s), received {}, {state}",
                    w.title, w.sent, w.received
                );
            }
            println!("Synced with {} in {} ms.", r.relay, r.elapsed_ms);
        }
    }
    if let Some(first) = failures.first() {
        bail!("{first}");
    }
    Ok(())
}

/// `tandem status`: where each workspace stands with its relay, without touching the network.
pub fn status(ctx: &Context) -> Result<()> {
    let home = ctx.home()?;
    let ids: Vec<String> = match &ctx.selector {
        Some(sel) => vec![home.resolve(Some(sel))?],
        None => home.workspaces()?.into_iter().map(|w| w.id).collect(),
    };
    let mut rows = Vec::new();
    for id in ids {
        let mut opened = home.open_workspace(&id, ctx.now)?;
        let unsynced = home.unsynced_changes(&mut opened)?;
        rows.push(StatusRow {
            title: opened.ws.title(),
            relay: home.relay(&id)?.map(|r| r.url),
            last_sync: home.last_sync(&id)?,
            unsynced_changes: unsynced,
            id,
        });
    }
    if ctx.json {
        return ctx.print_json(&rows);
    }
    if rows.is_empty() {
        ctx.say("No workspaces yet.");
    }
    for r in rows {
        let relay = r
            .relay
            .as_deref()
            .unwrap_or("no relay (tandem sync --server URL)");
        let last = r
            .last_sync
            .as_deref()
            .map(|t| display_instant(&Stored::from_stored(t), &ctx.zone))
            .unwrap_or_else(|| "never".into());
        println!("{}  {}", r.id, r.title);
        println!(
            "  relay: {relay}\n  last sync: {last}\n  changes not yet on the relay: {}",
            r.unsynced_changes
        );
    }
    Ok(())
}

// ----- watch -----

fn marker_mtime(ctx: &Context) -> Option<SystemTime> {
    std::fs::metadata(ctx.home_dir.join(CHANGE_MARKER))
        .and_then(|m| m.modified())
        .ok()
}

/// `tandem sync --watch`: stay connected, reconnect with backoff, sync both ways continuously.
fn watch(ctx: &Context, flags: &RelayFlags) -> Result<()> {
    let (relay, ids) = {
        let home = ctx.home()?;
        let groups = plan_sync(ctx, &home, flags)?;
        if groups.len() > 1 {
            bail!("workspaces here sync with different relays; watch one with -w NAME");
        }
        groups.into_iter().next().expect("non-empty")
    };
    let rt = runtime()?;
    rt.block_on(async {
        let mut backoff = Duration::from_millis(500);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = watch_once(ctx, &relay, &ids) => r,
                _ = tokio::signal::ctrl_c() => {
                    ctx.say("Stopped watching.");
                    return Ok(());
                }
            };
            if let Err(e) = result {
                eprintln!("tandem: {e:#}");
            }
            if started.elapsed() > Duration::from_secs(30) {
                backoff = Duration::from_millis(500);
            }
            if !ctx.quiet {
                eprintln!("Reconnecting in {:.1}s …", backoff.as_secs_f32());
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = tokio::signal::ctrl_c() => {
                    ctx.say("Stopped watching.");
                    return Ok(());
                }
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    })
}

async fn watch_once(ctx: &Context, relay: &RelaySettings, ids: &[String]) -> Result<()> {
    let url = relay.url.as_str();
    let loaded = {
        let home = ctx.home()?;
        load_for_sync(&home, ids)?
    };
    let mut session = ClientSession::new(peer_id(), Some(loaded.storage_id.clone()));
    let mut conn = handshake(relay, &mut session, Duration::from_secs(10)).await?;
    remember(ctx, ids, relay)?;
    {
        let home = ctx.home()?;
        add_docs(
            &home,
            &mut session,
            loaded
                .docs
                .into_iter()
                .map(|(id, _, d, _)| (id, d))
                .collect(),
        )?;
    }
    conn.send_all(session.start()).await?;
    if !ctx.quiet {
        eprintln!(
            "Watching {} workspace(s) on {url}; press Ctrl-C to stop.",
            ids.len()
        );
    }
    let mut last_marker = marker_mtime(ctx);
    let mut poll = tokio::time::interval(Duration::from_millis(200));
    let mut remote_pending = false;
    loop {
        tokio::select! {
            msg = conn.recv() => {
                let Some(msg) = msg? else { bail!("the relay closed the connection") };
                let replies = session.receive(msg)?;
                conn.send_all(replies).await?;
                remote_pending = true;
            }
            _ = poll.tick() => {
                let marker = marker_mtime(ctx);
                let local = marker != last_marker;
                if local || remote_pending {
                    last_marker = marker;
                    remote_pending = false;
                    let out = reconcile(ctx, &mut session, ids).await?;
                    conn.send_all(out).await?;
                }
            }
        }
    }
}

/// Merge what arrived into the store, and what the store gained locally into the session.
async fn reconcile(
    ctx: &Context,
    session: &mut ClientSession,
    ids: &[String],
) -> Result<Vec<Message>> {
    let home = ctx.home()?;
    let relay_storage = session.relay().and_then(|(_, s)| s.map(str::to_string));
    let mut out = Vec::new();
    for id in ids {
        let Some(doc) = session.doc_mut(id) else {
            continue;
        };
        let (mut latest, received) = home.absorb(id, doc)?;
        if received > 0 && !ctx.quiet {
            eprintln!("Received {received} change(s).");
        }
        out.extend(session.local_update(id, &mut latest)?);
        if let Some(storage) = &relay_storage {
            if let Some(state) = session.sync_state(id) {
                home.save_sync_state(id, storage, state)?;
            }
            let progress = session.progress();
            if progress
                .iter()
                .any(|p| &p.id == id && p.relay_has_everything)
            {
                let heads = latest.get_heads();
                home.record_sync(id, storage, &heads, tandem_core::jiff::Timestamp::now())?;
            }
        }
    }
    Ok(out)
}
