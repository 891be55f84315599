//! `tandem sync`, `sync --watch`, `status`, `invite` and `join`: the network half of the CLI.
//!
//! The store is never held while waiting on the network: documents are read with the store open,
//! the store is released, the exchange happens, and what arrived is merged into whatever the store
//! holds by then (other commands may have written meanwhile). So a command in another terminal
//! never waits on a relay.

use crate::context::Context;
use crate::net::{post_json, Connection};
use anyhow::{anyhow, bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};
use tandem_core::automerge::AutoCommit;
use tandem_core::model::Role;
use tandem_core::protocol::Message;
use tandem_core::store::{Home, RelaySettings};
use tandem_core::sync::ClientSession;

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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the network runtime")
}

fn peer_id() -> String {
    format!("tandem-{:08x}", rand::random::<u32>())
}

/// Workspaces grouped by the relay (URL and token) they sync with.
type RelayGroups = BTreeMap<(String, Option<String>), Vec<String>>;

/// Group the home's workspaces by the relay they sync with.
fn plan_sync(
    ctx: &Context,
    home: &Home,
    server: Option<&str>,
    token: Option<&str>,
) -> Result<RelayGroups> {
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
                let existing = home.relay(&id)?;
                let token = token
                    .map(str::to_string)
                    .or_else(|| existing.filter(|e| e.url == url).and_then(|e| e.token));
                // Remembered only once a sync with it succeeds (see `remember`), so a mistyped
                // address never replaces a working relay and its token.
                RelaySettings {
                    url: url.to_string(),
                    token,
                }
            }
            None => match home.relay(&id)? {
                Some(s) => RelaySettings {
                    token: token.map(str::to_string).or(s.token),
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
        groups
            .entry((settings.url, settings.token))
            .or_default()
            .push(id);
    }
    if groups.is_empty() {
        bail!("no workspace has a relay yet: run `tandem sync --server ws://HOST:PORT` once");
    }
    Ok(groups)
}

/// Remember the relay that just worked for these workspaces.
fn remember(ctx: &Context, ids: &[String], url: &str, token: Option<&str>) -> Result<()> {
    let home = ctx.home()?;
    let settings = RelaySettings {
        url: url.to_string(),
        token: token.map(str::to_string),
    };
    for id in ids {
        if home.relay(id)?.as_ref() != Some(&settings) {
            home.set_relay(id, &settings)?;
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
async fn handshake(
    url: &str,
    token: Option<&str>,
    session: &mut ClientSession,
    timeout: Duration,
) -> Result<Connection> {
    let mut conn = Connection::open(url, token, timeout).await?;
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
pub fn sync(
    ctx: &Context,
    server: Option<String>,
    token: Option<String>,
    timeout: Duration,
) -> Result<()> {
    let (groups, loaded) = {
        let home = ctx.home()?;
        let groups = plan_sync(ctx, &home, server.as_deref(), token.as_deref())?;
        let mut loaded = Vec::new();
        for ((url, token), ids) in &groups {
            loaded.push((url.clone(), token.clone(), load_for_sync(&home, ids)?));
        }
        (groups, loaded)
    };
    drop(groups);
    let rt = runtime()?;
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for (url, token, loaded) in loaded {
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
            let mut conn = handshake(&url, token.as_deref(), &mut session, timeout).await?;
            remember(ctx, &ids, &url, token.as_deref())?;
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
        ctx.print_json(
            &json!({ "ok": failures.is_empty(), "relays": reports, "errors": failures }),
        )?;
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
        rows.push(json!({
            "id": id,
            "title": opened.ws.title(),
            "relay": home.relay(&id)?.map(|r| r.url),
            "last_sync": home.last_sync(&id)?,
            "unsynced_changes": unsynced,
        }));
    }
    if ctx.json {
        return ctx.print_json(&rows);
    }
    if rows.is_empty() {
        ctx.say("No workspaces yet.");
    }
    for r in rows {
        let relay = r["relay"]
            .as_str()
            .unwrap_or("no relay (tandem sync --server URL)");
        let last = r["last_sync"]
            .as_str()
            .map(|t| tandem_core::model::time::display_instant(t, &ctx.zone))
            .unwrap_or_else(|| "never".into());
        println!(
            "{}  {}",
            r["id"].as_str().unwrap_or(""),
            r["title"].as_str().unwrap_or("")
        );
        println!(
            "  relay: {relay}\n  last sync: {last}\n  changes not yet on the relay: {}",
            r["unsynced_changes"]
        );
    }
    Ok(())
}

// ----- invites -----

/// What an invite code carries. It is base58 text so it survives chat apps and email.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Invite {
    /// The relay's URL.
    r: String,
    /// The workspace's document id.
    w: String,
    /// A token scoped to the workspace, when the relay needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<String>,
    /// The role the invitee is expected to take.
    o: String,
    /// The workspace title, to show before joining.
    n: String,
}

const INVITE_PREFIX: &str = "tandem1";

fn encode_invite(invite: &Invite) -> Result<String> {
    Ok(format!(
        "{INVITE_PREFIX}{}",
        bs58::encode(serde_json::to_vec(invite)?).into_string()
    ))
}

fn decode_invite(code: &str) -> Result<Invite> {
    let bad = || {
        anyhow!("this is not a tandem invite code (it should start with {INVITE_PREFIX}); ask your partner to run `tandem invite` again")
    };
    let body = code.trim().strip_prefix(INVITE_PREFIX).ok_or_else(bad)?;
    let bytes = bs58::decode(body).into_vec().map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

pub fn invite(ctx: &Context, role_name: &str) -> Result<()> {
    let role: Role = role_name.parse()?;
    let (id, title, url, code) = make_invite(ctx, role)?;
    if ctx.json {
        return ctx
            .print_json(&json!({ "id": id, "code": code, "role": role.as_str(), "relay": url }));
    }
    if ctx.quiet {
        println!("{code}");
        return Ok(());
    }
    println!("Invite to “{title}” as {}:\n\n  {code}\n", role.as_str());
    println!("Your partner runs:  tandem join {code} --name THEIR-NAME");
    println!("Anyone with this code can open the workspace; share it only with them.");
    Ok(())
}

/// An invite code for `role`, without printing it (for `tandem demo`).
pub fn invite_code(ctx: &Context, role: &str) -> Result<String> {
    Ok(make_invite(ctx, role.parse()?)?.3)
}

/// Ask the relay for a token for the partner and build the code: (id, title, relay, code).
fn make_invite(ctx: &Context, role: Role) -> Result<(String, String, String, String)> {
    let (id, title, relay) = {
        let home = ctx.home()?;
        let id = home.resolve(ctx.selector.as_deref())?;
        let opened = home.open_workspace(&id, ctx.now)?;
        let relay = home.relay(&id)?.ok_or_else(|| anyhow!("this workspace has no relay yet: run `tandem sync --server ws://HOST:PORT` first, so your partner can fetch it"))?;
        (id, opened.ws.title(), relay)
    };
    let access = if role == Role::Observer {
        "read"
    } else {
        "write"
    };
    let rt = runtime()?;
    let (status, body) = rt.block_on(post_json(
        &relay.url,
        "/v1/invites",
        relay.token.as_deref(),
        &json!({ "workspace": id, "role": access, "label": format!("invite as {}", role.as_str()) }),
        Duration::from_secs(10),
    ))?;
    let token = match status {
        200 => body
            .get("token")
            .and_then(|t| t.as_str())
            .map(str::to_string),
        401 => bail!("the relay refused your token; you cannot invite to this workspace"),
        403 => bail!("your token may not invite to this workspace (it needs write access)"),
        other => bail!(
            "the relay answered {other} to the invite: {}",
            body.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("no reason given")
        ),
    };
    let code = encode_invite(&Invite {
        r: relay.url.clone(),
        w: id.clone(),
        t: token,
        o: role.as_str().into(),
        n: title.clone(),
    })?;
    Ok((id, title, relay.url, code))
}

pub fn join(ctx: &Context, code: &str, name: &str, timeout: Duration) -> Result<()> {
    let invite = decode_invite(code)?;
    let role: Role = invite.o.parse()?;
    if name.trim().is_empty() {
        bail!("the name must not be empty");
    }
    let storage_id = {
        let home = ctx.home()?;
        if home.load_doc(&invite.w)?.is_some() {
            bail!(
                "this device already has “{}”; run `tandem sync` to catch up",
                invite.n
            );
        }
        home.storage_id()?
    };
    let rt = runtime()?;
    let mut session = ClientSession::new(peer_id(), Some(storage_id));
    let outcome = rt.block_on(async {
        let mut conn = handshake(&invite.r, invite.t.as_deref(), &mut session, timeout).await?;
        session.add_doc(invite.w.clone(), AutoCommit::new(), None);
        let result = fetch(&mut conn, &mut session, &invite.w, timeout).await;
        conn.close().await;
        result
    });
    outcome?;
    let home = ctx.home()?;
    let doc = session.doc_mut(&invite.w).expect("added above");
    let (merged, _) = home
        .absorb(&invite.w, doc)
        .with_context(|| format!("cannot open “{}”", invite.n))?;
    drop(merged);
    home.set_relay(
        &invite.w,
        &RelaySettings {
            url: invite.r.clone(),
            token: invite.t.clone(),
        },
    )?;
    let pid = if role == Role::Observer {
        // An observer's token is read-only, so the relay would refuse any change from this
        // device, including its own participant record; the workspace is followed read-only.
        home.set_read_only(&invite.w, true)?;
        None
    } else {
        let mut opened = home.open_workspace(&invite.w, ctx.now)?;
        let existing = opened
            .ws
            .participants()
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()));
        let pid = match existing {
            Some(p) => {
                opened.ws.add_device(&p.id, home.actor())?;
                p.id
            }
            None => opened.ws.add_participant(name, role, home.actor())?,
        };
        home.save(&mut opened)?;
        home.set_me(&invite.w, &pid)?;
        Some(pid)
    };
    home.switch(&invite.w)?;
    drop(home);
    if !ctx.quiet && !ctx.json {
        println!(
            "Joined “{}” as {} ({}).",
            invite.n,
            name.trim(),
            role.as_str()
        );
    }
    if pid.is_some() {
        // Push the new participant so the partner sees who joined.
        let quiet = Context {
            json: false,
            quiet: true,
            ..ctx.clone_for(Some(invite.w.clone()))
        };
        sync(&quiet, None, None, timeout)
            .context("joined, but the first sync failed; run `tandem sync` later")?;
    }
    if ctx.json {
        ctx.print_json(&json!({ "id": invite.w, "title": invite.n, "participant": pid, "role": role.as_str() }))?;
    }
    Ok(())
}

/// Receive a document this device does not have yet.
async fn fetch(
    conn: &mut Connection,
    session: &mut ClientSession,
    id: &str,
    timeout: Duration,
) -> Result<()> {
    // A peer with nothing asks with `request`, so the relay can say it does not have it.
    let start: Vec<Message> = session
        .start()
        .into_iter()
        .map(|m| match m {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            } => Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            },
            other => other,
        })
        .collect();
    conn.send_all(start).await?;
    let deadline = Instant::now() + timeout;
    loop {
        let progress = session.progress();
        let p = progress.iter().find(|p| p.id == id).expect("added");
        if p.received > 0 && session.settled() {
            return Ok(());
        }
        if p.unavailable {
            bail!("the relay does not have this workspace yet: ask your partner to run `tandem sync`, then join again");
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(remaining, conn.recv())
            .await
            .map_err(|_| {
                anyhow!(
                    "the relay did not send the workspace within {}s",
                    timeout.as_secs()
                )
            })??
            .ok_or_else(|| {
                anyhow!("the relay closed the connection before sending the workspace")
            })?;
        let replies = session.receive(msg)?;
        conn.send_all(replies).await?;
    }
}

// ----- watch -----

fn marker_mtime(ctx: &Context) -> Option<SystemTime> {
    std::fs::metadata(ctx.home_dir.join(CHANGE_MARKER))
        .and_then(|m| m.modified())
        .ok()
}

/// `tandem sync --watch`: stay connected, reconnect with backoff, sync both ways continuously.
pub fn watch(ctx: &Context, server: Option<String>, token: Option<String>) -> Result<()> {
    let (url, token, ids) = {
        let home = ctx.home()?;
        let groups = plan_sync(ctx, &home, server.as_deref(), token.as_deref())?;
        if groups.len() > 1 {
            bail!("workspaces here sync with different relays; watch one with -w NAME");
        }
        let ((url, token), ids) = groups.into_iter().next().expect("non-empty");
        (url, token, ids)
    };
    let rt = runtime()?;
    rt.block_on(async {
        let mut backoff = Duration::from_millis(500);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = watch_once(ctx, &url, token.as_deref(), &ids) => r,
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

async fn watch_once(ctx: &Context, url: &str, token: Option<&str>, ids: &[String]) -> Result<()> {
    let loaded = {
        let home = ctx.home()?;
        load_for_sync(&home, ids)?
    };
    let mut session = ClientSession::new(peer_id(), Some(loaded.storage_id.clone()));
    let mut conn = handshake(url, token, &mut session, Duration::from_secs(10)).await?;
    remember(ctx, ids, url, token)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_round_trip_and_reject_garbage() {
        let invite = Invite {
            r: "ws://127.0.0.1:3030".into(),
            w: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
            t: Some("tdm_x".into()),
            o: "mentee".into(),
            n: "Ana & Ben".into(),
        };
        let code = encode_invite(&invite).unwrap();
        assert!(code.starts_with(INVITE_PREFIX));
        assert_eq!(decode_invite(&code).unwrap(), invite);
        assert!(decode_invite("hello").is_err());
        assert!(decode_invite("tandem1!!!").is_err());
        assert!(decode_invite(&code[..code.len() - 3]).is_err());
    }
}
