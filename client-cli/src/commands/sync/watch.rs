//! `tandem sync --watch`: every workspace of the home kept in sync with its own relay, one
//! connection per relay, and what arrives described as who changed what in which workspace.
//!
//! It opens the home only for short visits (see the parent module), so other commands keep
//! working while it runs.

use super::*;

fn marker_mtime(ctx: &Context) -> Option<SystemTime> {
    std::fs::metadata(ctx.home_dir.join(CHANGE_MARKER))
        .and_then(|m| m.modified())
        .ok()
}

/// A workspace being watched: its id and title.
type Watched = Vec<(String, String)>;

/// How often the watch looks again at the home's workspaces even without a change marker.
const RESCAN: Duration = Duration::from_secs(5);

/// `tandem sync --watch`: every workspace (or the one named with `-w`) stays synced with its own
/// relay, one connection per relay, each reconnecting with backoff on its own. Workspaces created
/// or joined while it runs are picked up when the home changes. A relay that turns the token
/// away is reported once and left alone until the token changes, while the others go on.
pub(super) fn watch(ctx: &Context, flags: &RelayFlags) -> Result<()> {
    if flags.server.is_some() || flags.token.is_some() || flags.ca_file.is_some() {
        // Bind (and remember) what the flags say first, exactly as a one-shot sync does; the
        // watch below then finds every binding in the home.
        sync(ctx, flags, Duration::from_secs(30))?;
    }
    // The workspaces named with `-w`, if any: then only those are watched.
    let only: Option<Vec<DocumentId>> = if ctx.selectors.is_empty() {
        None
    } else {
        let home = ctx.home()?;
        let ids = ctx.selectors.iter().map(|sel| home.resolve(Some(sel)));
        Some(ids.collect::<std::result::Result<_, _>>()?)
    };
    let rt = runtime()?;
    rt.block_on(async {
        let (refused_tx, mut refused_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut running: BTreeMap<RelaySettings, (Watched, tokio::task::JoinHandle<()>)> =
            BTreeMap::new();
        let mut refused: std::collections::BTreeSet<RelaySettings> = Default::default();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut last_marker = None;
        let mut last_scan: Option<Instant> = None;
        let mut waiting_said = false;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    for (_, (_, task)) in std::mem::take(&mut running) {
                        task.abort();
                    }
                    ctx.say("Stopped watching.");
                    return Ok(());
                }
                Some(relay) = refused_rx.recv() => {
                    running.remove(&relay);
                    refused.insert(relay);
                }
                _ = tick.tick() => {
                    let marker = marker_mtime(ctx);
                    let due = last_scan.is_none_or(|t| t.elapsed() >= RESCAN);
                    if marker == last_marker && !due {
                        continue;
                    }
                    last_marker = marker;
                    last_scan = Some(Instant::now());
                    let groups = match watched_groups(ctx, only.as_deref()) {
                        Ok(g) => g,
                        Err(e) => {
                            eprintln!("tandem: {e:#}");
                            continue;
                        }
                    };
                    // Stop what changed or went away, then start what is new.
                    running.retain(|relay, (watched, task)| {
                        let keep = groups.get(relay) == Some(watched) && !task.is_finished();
                        if !keep {
                            task.abort();
                        }
                        keep
                    });
                    for (relay, watched) in groups {
                        if running.contains_key(&relay) || refused.contains(&relay) {
                            continue;
                        }
                        let task = tokio::spawn(watch_relay(
                            ctx.clone(),
                            relay.clone(),
                            watched.clone(),
                            refused_tx.clone(),
                        ));
                        running.insert(relay, (watched, task));
                    }
                    if running.is_empty() && refused.is_empty() && !waiting_said && !ctx.quiet {
                        eprintln!("No workspace has a relay yet; waiting for one (`tandem sync --server URL` or `tandem join`). Press Ctrl-C to stop.");
                        waiting_said = true;
                    }
                }
            }
        }
    })
}

/// The workspaces to watch, grouped by the relay they sync with.
fn watched_groups(
    ctx: &Context,
    only: Option<&[DocumentId]>,
) -> Result<BTreeMap<RelaySettings, Watched>> {
    let home = ctx.home()?;
    let mut groups: BTreeMap<RelaySettings, Watched> = BTreeMap::new();
    for w in home.workspaces()? {
        if only.is_some_and(|ids| !ids.contains(&w.id)) {
            continue;
        }
        if let Some(relay) = home.relay(&w.id)? {
            groups
                .entry(relay)
                .or_default()
                .push((w.id.to_string(), w.title));
        }
    }
    Ok(groups)
}

/// Whether an error is the relay turning the token away.
fn token_refused(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<TokenRefused>().is_some())
}

/// Keep one relay's workspaces synced until the task is stopped or the relay refuses the token.
async fn watch_relay(
    ctx: Context,
    relay: RelaySettings,
    watched: Watched,
    refused: tokio::sync::mpsc::UnboundedSender<RelaySettings>,
) {
    let ids: Vec<String> = watched.iter().map(|(id, _)| id.clone()).collect();
    let mut backoff = Duration::from_millis(500);
    loop {
        let started = Instant::now();
        if let Err(e) = watch_once(&ctx, &relay, &ids).await {
            if token_refused(&e) {
                let titles: Vec<String> = watched
                    .iter()
                    .map(|(_, t)| format!("'{}'", line(t)))
                    .collect();
                eprintln!(
                    "tandem: {e:#}; stopped syncing {} with it (other relays go on)",
                    titles.join(", ")
                );
                let _ = refused.send(relay);
                return;
            }
            eprintln!("tandem: {e:#}");
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(500);
        }
        if !ctx.quiet {
            eprintln!(
                "Reconnecting to {} in {:.1}s …",
                relay.url,
                backoff.as_secs_f32()
            );
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
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
        add_docs(&home, &mut session, loaded.docs)?;
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
                let Some(msg) = msg? else { bail!("the relay at {url} closed the connection") };
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
                    let out = reconcile(ctx, &mut session, ids)?;
                    conn.send_all(out).await?;
                }
            }
        }
    }
}

/// Merge what arrived into the store, and what the store gained locally into the session
/// (never for a followed workspace, which syncs pull-only). Says who changed what.
fn reconcile(ctx: &Context, session: &mut ClientSession, ids: &[String]) -> Result<Vec<Message>> {
    let home = ctx.home()?;
    let relay_storage = session.relay().and_then(|(_, s)| s.map(str::to_string));
    let mut out = Vec::new();
    for id in ids {
        let Some(doc) = session.doc_mut(id) else {
            continue;
        };
        let (latest, received) = home.absorb_changes(&super::doc_id(id)?, doc)?;
        let mut latest = if received.is_empty() {
            latest
        } else {
            let (lines, latest) = describe_changes(latest, id, &received)?;
            if !ctx.quiet {
                for line in lines {
                    println!("{line}");
                }
            }
            latest
        };
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
                // The session's heads, not the home's: a followed workspace's session holds only
                // what the relay holds.
                let heads = session
                    .doc_mut(id)
                    .map(|d| d.get_heads())
                    .unwrap_or_default();
                home.record_sync(
                    &super::doc_id(id)?,
                    storage,
                    &heads,
                    tandem_core::jiff::Timestamp::now(),
                )?;
            }
        }
    }
    Ok(out)
}

// ----- saying who changed what -----

/// At most this many changes are looked at one by one; beyond it only counts are reported.
const DESCRIBE_AT_MOST: usize = 200;
/// At most this many items are named per person; the rest are counted.
const ITEMS_PER_PERSON: usize = 5;

/// What one person did to one item, in the order first seen.
struct Touched {
    kind: Kind,
    item: String,
    added: bool,
}

/// Lines like "Ben changed goal 'Ship a Rust CLI' in 'Ana & Ben'" for changes that just arrived,
/// read from the history: each change's actor names a participant's device, and the paths the
/// change touched (`goals/<id>/…`) name the item. What cannot be told is counted instead ("Ben
/// made 3 changes in 'Ana & Ben'"). Returns the document back.
fn describe_changes(
    doc: AutoCommit,
    id: &str,
    new: &[ChangeHash],
) -> Result<(Vec<String>, AutoCommit)> {
    let mut ws = Workspace::open(doc, id, tandem_core::jiff::Timestamp::now())?;
    let title = line(&ws.title());
    let names: BTreeMap<String, String> = ws
        .participants()
        .into_iter()
        .flat_map(|p| {
            let name = p.name.clone();
            p.devices.into_iter().map(move |d| (d, name.clone()))
        })
        .collect();
    let doc = ws.doc_mut();
    // Per person, in the order they appear: the items touched and the changes that touched none.
    let mut people: Vec<(String, Vec<Touched>, usize)> = Vec::new();
    for (n, hash) in new.iter().enumerate() {
        let Some(change) = doc.get_change_by_hash(hash) else {
            continue;
        };
        let actor = change.actor_id().to_hex_string();
        let person = names
            .get(&actor)
            .map(|n| line(n))
            .unwrap_or_else(|| format!("device {}", &actor[..actor.len().min(8)]));
        let slot = match people.iter().position(|(p, ..)| *p == person) {
            Some(i) => i,
            None => {
                people.push((person, Vec::new(), 0));
                people.len() - 1
            }
        };
        let touched = if n < DESCRIBE_AT_MOST {
            touched_items(doc, change.deps(), *hash)
        } else {
            Vec::new()
        };
        if touched.is_empty() {
            people[slot].2 += 1;
        }
        for t in touched {
            let items = &mut people[slot].1;
            match items
                .iter_mut()
                .find(|i| i.kind == t.kind && i.item == t.item)
            {
                Some(seen) => seen.added |= t.added,
                None => items.push(t),
            }
        }
    }
    let mut lines = Vec::new();
    for (person, items, untold) in &people {
        for t in items.iter().take(ITEMS_PER_PERSON) {
            let verb = if t.added { "added" } else { "changed" };
            let noun = t.kind.noun();
            lines.push(match item_title(doc, t.kind, &t.item) {
                Some(item) => format!("{person} {verb} {noun} '{}' in '{title}'", line(&item)),
                None => format!("{person} {verb} a {noun} in '{title}'"),
            });
        }
        let more = items.len().saturating_sub(ITEMS_PER_PERSON);
        if more > 0 {
            lines.push(format!("{person} changed {more} more item(s) in '{title}'"));
        }
        if *untold > 0 && items.is_empty() {
            let s = if *untold == 1 { "" } else { "s" };
            lines.push(format!("{person} made {untold} change{s} in '{title}'"));
        }
    }
    Ok((lines, ws.into_doc()))
}

/// The items one change touched, from the paths of what it did.
fn touched_items(doc: &mut AutoCommit, deps: &[ChangeHash], hash: ChangeHash) -> Vec<Touched> {
    let mut found: Vec<Touched> = Vec::new();
    for patch in doc.diff(deps, &[hash]) {
        let collection = |prop: &Prop| match prop {
            Prop::Map(key) => Kind::ALL.into_iter().find(|k| k.collection() == key),
            Prop::Seq(_) => None,
        };
        let hit = match patch.path.as_slice() {
            // Something inside an item: goals/<id>/…
            [(_, first), (_, Prop::Map(item)), ..] => {
                collection(first).map(|k| (k, item.clone(), false))
            }
            // The item itself put into its collection: a new item.
            [(_, first)] => match (&patch.action, collection(first)) {
                (PatchAction::PutMap { key, .. }, Some(k)) => Some((k, key.clone(), true)),
                _ => None,
            },
            _ => None,
        };
        if let Some((kind, item, added)) = hit {
            match found.iter_mut().find(|t| t.kind == kind && t.item == item) {
                Some(t) => t.added |= added,
                None => found.push(Touched { kind, item, added }),
            }
        }
    }
    found
}

/// An item's title (a check-in's time when it has none), if the item is there.
fn item_title(doc: &AutoCommit, kind: Kind, item: &str) -> Option<String> {
    let (_, items) = doc.get(ROOT, kind.collection()).ok()??;
    let (_, obj) = doc.get(&items, item).ok()??;
    get_string(doc, &obj, "title")
        .or_else(|| get_string(doc, &obj, "at"))
        .filter(|t| !t.trim().is_empty())
}
