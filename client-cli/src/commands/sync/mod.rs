//! `tandem sync`, `sync --watch` and `status`: the network half of the CLI (with `invite.rs`,
//! which reuses the handshake and the one-shot sync).
//!
//! The store is never held while waiting on the network: documents are read with the store open,
//! the store is released, the exchange happens, and what arrived is merged into whatever the store
//! holds by then (other commands may have written meanwhile). So a command in another terminal
//! never waits on a relay.

use crate::context::Context;
use crate::net::{Connection, TokenRefused};
use crate::render::line;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tandem_core::automerge::{AutoCommit, ChangeHash, PatchAction, Prop, ReadDoc, ROOT};
use tandem_core::model::fields::get_string;
use tandem_core::model::time::{display_instant, Stored};
use tandem_core::model::{Kind, Workspace};
use tandem_core::protocol::{DocumentId, Message};
use tandem_core::store::{Home, RelaySettings};
use tandem_core::sync::ClientSession;

mod watch;

/// The home's id of a workspace the session names. The session keeps ids as the relay writes
/// them, so a text id is parsed here, where it crosses into the home.
fn doc_id(id: &str) -> Result<DocumentId> {
    id.parse()
        .with_context(|| format!("“{id}” is not a workspace's document id"))
}

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
    /// Move the current workspace (or the one named with -w) to the --server relay although it
    /// syncs with another: from now on it syncs with the new relay only, and the old relay keeps
    /// the copy it has.
    #[arg(long = "move", requires = "server")]
    move_workspace: bool,
    /// Stay connected and sync every workspace with its relay continuously (one connection per
    /// relay), picking up workspaces created or joined meanwhile; reconnects with backoff.
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
        move_workspace: args.move_workspace,
    };
    if args.watch {
        watch::watch(ctx, &flags)
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
    /// Whether the relay confirmed it holds everything this device had (for a followed
    /// workspace: everything this device took from the relay).
    pub relay_has_everything: bool,
    /// Followed read-only (an observer's): synced pull-only, nothing was sent.
    pub follow_only: bool,
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
    /// `--move`: the current workspace may leave the relay it syncs with for `server`.
    pub move_workspace: bool,
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

/// Group the workspaces to sync by the relay (URL, token and CA) they sync with.
///
/// Without `--server` every workspace (or the ones named with `-w`) syncs with its own relay. With
/// `--server URL` only the current workspace (or the ones named with `-w`) and the workspaces not
/// yet bound to any relay go to URL, with the workspaces already bound to it; a workspace bound to
/// another relay is never sent elsewhere unless `--move` names it, so one program's plans never
/// reach another program's relay by accident.
///
/// A `--token` or `--ca-file` replaces the settings of the current (or `-w`) workspaces' relays,
/// and of every workspace that shared exactly those settings; other relays never see them.
fn plan_sync(ctx: &Context, home: &Home, flags: &RelayFlags) -> Result<RelayGroups> {
    let all = home.workspaces()?;
    if all.is_empty() {
        bail!("no workspace to sync yet: create one with `tandem init` or join one with `tandem join CODE`");
    }
    // The workspaces named with `-w`, else the current one (if any).
    let named = !ctx.selectors.is_empty();
    let targets: Vec<DocumentId> = if named {
        ctx.selectors
            .iter()
            .map(|sel| home.resolve(Some(sel)))
            .collect::<std::result::Result<_, _>>()?
    } else {
        home.resolve(None).ok().into_iter().collect()
    };
    let mut target_relays = Vec::new();
    for id in &targets {
        if let Some(relay) = home.relay(id)? {
            target_relays.push(relay);
        }
    }
    let is_target = |id: &DocumentId| targets.contains(id);
    let replaces = |existing: &RelaySettings, id: &DocumentId| {
        is_target(id) || target_relays.contains(existing)
    };
    let mut groups = RelayGroups::new();
    let Some(url) = flags.server.as_deref() else {
        if (flags.token.is_some() || flags.ca_file.is_some()) && targets.is_empty() {
            bail!("several workspaces and none is current: name the one the token is for with -w");
        }
        if (flags.token.is_some() || flags.ca_file.is_some()) && target_relays.is_empty() {
            bail!("this workspace has no relay yet: pass --server URL with the token or CA file");
        }
        for w in &all {
            if named && !is_target(&w.id) {
                continue;
            }
            let Some(existing) = home.relay(&w.id)? else {
                if named {
                    bail!(
                        "“{}” has no relay yet: run `tandem sync --server ws://HOST:PORT` once",
                        w.title
                    );
                }
                continue;
            };
            let settings = if replaces(&existing, &w.id) {
                RelaySettings {
                    token: flags.token.clone().or(existing.token),
                    ca_file: flags.ca_file.clone().or(existing.ca_file),
                    url: existing.url,
                }
            } else {
                existing
            };
            groups.entry(settings).or_default().push(w.id.to_string());
        }
        if groups.is_empty() {
            bail!("no workspace has a relay yet: run `tandem sync --server ws://HOST:PORT` once");
        }
        return Ok(groups);
    };
    if flags.move_workspace && targets.is_empty() {
        bail!("several workspaces and none is current: name the one to move with -w");
    }
    for w in &all {
        let is_target = is_target(&w.id);
        let existing = home.relay(&w.id)?;
        let settings = match existing {
            // Remembered only once a sync with it succeeds (see `remember`), so a mistyped
            // address never replaces a working relay and its token.
            None => RelaySettings {
                url: url.to_string(),
                token: flags.token.clone(),
                ca_file: flags.ca_file.clone(),
            },
            Some(e) if e.url == url => {
                if named && !is_target {
                    continue;
                }
                if replaces(&e, &w.id) {
                    RelaySettings {
                        token: flags.token.clone().or(e.token),
                        ca_file: flags.ca_file.clone().or(e.ca_file),
                        url: e.url,
                    }
                } else {
                    e
                }
            }
            Some(e) if is_target => {
                if !flags.move_workspace {
                    bail!(
                        "'{}' syncs with relay {}; pass --move to move it to {url}",
                        line(&w.title),
                        e.url
                    );
                }
                if !ctx.quiet && !ctx.json {
                    eprintln!(
                        "Moving '{}' from {} to {url}: this device syncs it with {url} from now on, and {} keeps the copy it has.",
                        line(&w.title),
                        e.url,
                        e.url
                    );
                }
                // The old relay's token and CA belong to the old relay and are never sent here.
                RelaySettings {
                    url: url.to_string(),
                    token: flags.token.clone(),
                    ca_file: flags.ca_file.clone(),
                }
            }
            // Bound to another relay and not named: it stays there and is not synced now.
            Some(_) => continue,
        };
        groups.entry(settings).or_default().push(w.id.to_string());
    }
    if groups.is_empty() {
        bail!("no workspace to sync with {url}");
    }
    Ok(groups)
}

/// Remember the relay that just worked for these workspaces.
fn remember(ctx: &Context, ids: &[String], relay: &RelaySettings) -> Result<()> {
    let home = ctx.home()?;
    for id in ids {
        let id = &doc_id(id)?;
        if home.relay(id)?.as_ref() != Some(relay) {
            home.set_relay(id, relay)?;
        }
    }
    Ok(())
}

/// Everything a sync needs from the store, read in one short visit.
struct Loaded {
    storage_id: String,
    docs: Vec<LoadedDoc>,
}

/// One workspace as a sync starts.
struct LoadedDoc {
    id: String,
    title: String,
    doc: AutoCommit,
    /// Changes no relay is known to hold.
    unsynced: usize,
    /// Followed as an observer: synced pull-only.
    follow_only: bool,
}

fn load_for_sync(home: &Home, ids: &[String]) -> Result<Loaded> {
    let storage_id = home.storage_id()?;
    let mut docs = Vec::new();
    for id in ids {
        let doc = doc_id(id)?;
        let mut opened = home.open_workspace(&doc, tandem_core::jiff::Timestamp::now())?;
        let unsynced = home.unsynced_changes(&mut opened)?;
        let title = opened.ws.title();
        docs.push(LoadedDoc {
            id: id.clone(),
            title,
            doc: opened.ws.into_doc(),
            unsynced,
            follow_only: home.is_read_only(&doc)?,
        });
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
/// A followed workspace is added pull-only, from what the relay is known to hold, so an
/// observer's device never pushes (its token is read-only and the relay would refuse the whole
/// connection), even when it holds changes from a bundle that the relay lacks.
fn add_docs(home: &Home, session: &mut ClientSession, docs: Vec<LoadedDoc>) -> Result<()> {
    let relay_storage = session.relay().and_then(|(_, s)| s.map(str::to_string));
    for mut d in docs {
        if d.follow_only {
            let heads = match &relay_storage {
                Some(s) => home.synced_heads(&doc_id(&d.id)?, s)?,
                None => None,
            };
            session.add_pull_only_doc(d.id, &mut d.doc, heads.as_deref())?;
            continue;
        }
        let state = match &relay_storage {
            Some(s) => home.sync_state(&d.id, s)?,
            None => None,
        };
        session.add_doc(d.id, d.doc, state);
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
        // What was new to this home, not to the session: a followed workspace's session starts
        // from the relay's part of the document.
        let (_, new) = home.absorb(&doc_id(&p.id)?, doc)?;
        received.insert(p.id.clone(), new);
        if let Some(storage) = &relay_storage {
            if let Some(state) = session.sync_state(&p.id) {
                home.save_sync_state(&p.id, storage, state)?;
            }
            if p.relay_has_everything {
                let heads = session
                    .doc_mut(&p.id)
                    .map(|d| d.get_heads())
                    .unwrap_or_default();
                home.record_sync(&doc_id(&p.id)?, storage, &heads, now)?;
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
        let meta: Vec<(String, String, usize, bool)> = loaded
            .docs
            .iter()
            .map(|d| {
                let sent = if d.follow_only { 0 } else { d.unsynced };
                (d.id.clone(), d.title.clone(), sent, d.follow_only)
            })
            .collect();
        let docs = loaded.docs;
        let ids: Vec<String> = meta.iter().map(|(id, ..)| id.clone()).collect();
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
            .map(|(id, title, unsynced, follow_only)| {
                let p = progress.iter().find(|p| p.id == id);
                WorkspaceSync {
                    follow_only,
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
                if w.follow_only {
                    println!(
                        "“{}”: received {} change(s), followed read-only",
                        line(&w.title),
                        w.received
                    );
                    continue;
                }
                let state = if w.relay_has_everything {
                    "on the relay"
                } else {
                    "NOT fully on the relay"
                };
                println!(
                    "“{}”: sent {} change(s), received {}, {state}",
                    line(&w.title),
                    w.sent,
                    w.received
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
    let ids: Vec<DocumentId> = match ctx.selector() {
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
            id: id.to_string(),
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
        println!("{}  {}", r.id, line(&r.title));
        println!(
            "  relay: {relay}\n  last sync: {last}\n  changes not yet on the relay: {}",
            r.unsynced_changes
        );
    }
    Ok(())
}
