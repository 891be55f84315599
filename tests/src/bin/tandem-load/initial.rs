//! Initial sync: how many bytes and how long a new device takes to receive a large workspace,
//! beside the size of that document's compacted `save()` (the floor any transfer could reach).
//!
//! One client uploads a document of `--changes` changes through the relay and waits until the
//! relay says it has all of it. Then `--repeat` fresh clients, each a new device with an empty
//! document, send `request` and apply what comes back until their heads equal the relay's.
//! With `--doc-id` the upload is skipped and an existing document is fetched, e.g. after the
//! relay was restarted, to time a cold load from its storage.

use crate::wire::{self, Wire, Ws};
use anyhow::{bail, Context as _, Result};
use futures_util::StreamExt as _;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_core::automerge::sync::{self, SyncDoc as _};
use tandem_core::automerge::transaction::Transactable as _;
use tandem_core::automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use tandem_core::jiff::Timestamp;
use tandem_core::model::{ItemId, NewAction, NewGoal, NewNote, Role, Workspace};
use tandem_core::protocol::{DocumentId, Message};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// What the generated document looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// A tandem workspace built through the ordinary `Workspace` API: goals, milestones, actions,
    /// notes, check-ins and ratings, one change per call, each with its commit message.
    Workspace,
    /// One `put` of a small integer per change, cycling over 500 keys.
    Plain,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub changes: usize,
    pub kind: DocKind,
    pub doc_id: Option<String>,
    pub upload_only: bool,
    pub repeat: usize,
    pub ephemeral: bool,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub connect_ms: f64,
    /// From the start of the TCP connect until the document is complete.
    pub total_ms: f64,
    /// From sending the first sync message until the document is complete.
    pub sync_ms: f64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    /// The automerge sync messages' own bytes, without the protocol envelope and websocket.
    pub sync_payload_received: u64,
    pub sync_payload_sent: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub url: String,
    pub doc_id: String,
    pub doc_kind: Option<DocKind>,
    pub changes: usize,
    /// `doc.save().len()` of the document: the compacted size.
    pub save_bytes: usize,
    pub generate_secs: Option<f64>,
    pub upload: Option<Transfer>,
    pub downloads: Vec<Transfer>,
    /// The median download's bytes received over `save_bytes`.
    pub median_bytes_ratio: Option<f64>,
    pub median_download_ms: Option<f64>,
    pub median_bytes_received: Option<u64>,
}

pub async fn run(cfg: Config) -> Result<Report> {
    let mut report = Report {
        scenario: "initial-sync",
        url: cfg.url.clone(),
        doc_id: String::new(),
        doc_kind: None,
        changes: 0,
        save_bytes: 0,
        generate_secs: None,
        upload: None,
        downloads: Vec::new(),
        median_bytes_ratio: None,
        median_download_ms: None,
        median_bytes_received: None,
    };
    let mut expected_heads = None;
    match &cfg.doc_id {
        Some(id) => {
            id.parse::<DocumentId>()
                .map_err(|e| anyhow::anyhow!("bad --doc-id {id}: {e}"))?;
            report.doc_id = id.clone();
        }
        None => {
            let started = Instant::now();
            let mut doc = build(cfg.kind, cfg.changes)?;
            report.generate_secs = Some(started.elapsed().as_secs_f64());
            report.doc_kind = Some(cfg.kind);
            report.changes = doc.get_changes(&[]).len();
            report.save_bytes = doc.save().len();
            report.doc_id = DocumentId::random().to_string();
            expected_heads = Some(sorted(doc.get_heads()));
            eprintln!(
                "tandem-load: built a {:?} document of {} changes, save() {} bytes, in {:.1} s; uploading",
                cfg.kind,
                report.changes,
                report.save_bytes,
                started.elapsed().as_secs_f64()
            );
            let (upload, _) = tokio::time::timeout(
                cfg.timeout,
                transfer(&cfg, &report.doc_id, doc, Direction::Upload),
            )
            .await
            .context("the upload timed out")??;
            report.upload = Some(upload);
        }
    }
    if cfg.upload_only {
        return Ok(report);
    }
    for _ in 0..cfg.repeat.max(1) {
        let (download, mut doc) = tokio::time::timeout(
            cfg.timeout,
            transfer(&cfg, &report.doc_id, AutoCommit::new(), Direction::Download),
        )
        .await
        .context("the download timed out")??;
        if let Some(expected) = &expected_heads {
            if &sorted(doc.get_heads()) != expected {
                bail!("the downloaded document's heads differ from the uploaded one's");
            }
        }
        if report.save_bytes == 0 {
            report.changes = doc.get_changes(&[]).len();
            report.save_bytes = doc.save().len();
        }
        eprintln!(
            "tandem-load: download {} bytes in {:.1} ms",
            download.bytes_received, download.total_ms
        );
        report.downloads.push(download);
    }
    let mut by_time: Vec<&Transfer> = report.downloads.iter().collect();
    by_time.sort_by(|a, b| a.total_ms.total_cmp(&b.total_ms));
    if let Some(median) = by_time.get(by_time.len() / 2) {
        report.median_download_ms = Some(median.total_ms);
    }
    let mut bytes: Vec<u64> = report.downloads.iter().map(|d| d.bytes_received).collect();
    bytes.sort_unstable();
    if let Some(&median) = bytes.get(bytes.len() / 2) {
        report.median_bytes_received = Some(median);
        if report.save_bytes > 0 {
            report.median_bytes_ratio = Some(median as f64 / report.save_bytes as f64);
        }
    }
    Ok(report)
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// A document of exactly `changes` changes.
fn build(kind: DocKind, changes: usize) -> Result<AutoCommit> {
    match kind {
        DocKind::Plain => {
            let mut doc = AutoCommit::new();
            for i in 0..changes {
                doc.put(ROOT, format!("k{}", i % 500).as_str(), i as i64)?;
                doc.commit();
            }
            Ok(doc)
        }
        DocKind::Workspace => build_workspace(changes),
    }
}

fn build_workspace(changes: usize) -> Result<AutoCommit> {
    let now = Timestamp::from_second(1_795_000_000)?;
    let (mut ws, _) = Workspace::create(
        "Load test plan",
        "Mentor",
        Role::Mentor,
        ActorId::random(),
        now,
    )?;
    let mut goals: Vec<ItemId> = Vec::new();
    let mut milestones: Vec<(ItemId, ItemId)> = Vec::new();
    let mut actions: Vec<ItemId> = Vec::new();
    let mut checkins: Vec<ItemId> = Vec::new();
    let mut made = 1;
    let mut i = 0usize;
    while made < changes {
        let goal = goals.last().cloned();
        match (i % 10, goal) {
            (0, _) | (_, None) => goals.push(ws.add_goal(NewGoal {
                title: format!("Goal {i}: practise skill {}", i % 37),
                description: Some("Why this matters and how we will know it is done.".into()),
                ..NewGoal::default()
            })?),
            (1, Some(g)) => {
                let m = ws.add_milestone(&g, &format!("Milestone {i}"), None)?;
                milestones.push((g, m));
            }
            (2 | 5 | 8, g) => actions.push(ws.add_action(NewAction {
                title: format!("Action {i}: follow up on the last session"),
                goal: g,
                ..NewAction::default()
            })?),
            (3, g) => {
                ws.add_note(NewNote {
                    title: Some(format!("Note {i}")),
                    body: "Talked through the draft, agreed on two next steps and a date to \
                           check in again."
                        .into(),
                    goal: g,
                    tags: vec!["session".into()],
                })?;
            }
            (4, _) if actions.len() >= 2 => {
                ws.set_action_done(&actions[actions.len() - 2], true)?;
            }
            (6, _) => {
                let at: tandem_core::jiff::Timestamp =
                    "2026-11-28T10:00:00Z".parse().expect("a valid instant");
                checkins.push(ws.add_checkin(at, "Review progress")?)
            }
            (7, _) if !checkins.is_empty() => {
                ws.rate_checkin(&checkins[checkins.len() - 1], 4, Some("useful"))?;
            }
            (9, _) if !milestones.is_empty() => {
                let (g, m) = &milestones[milestones.len() - 1];
                ws.set_milestone_done(g, m, true)?;
            }
            (_, g) => actions.push(ws.add_action(NewAction {
                title: format!("Action {i}"),
                goal: g,
                ..NewAction::default()
            })?),
        }
        made += 1;
        i += 1;
    }
    Ok(ws.into_doc())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
}

/// Connect a new client and sync `doc` with the relay until both sides have the same heads.
async fn transfer(
    cfg: &Config,
    doc_id: &str,
    mut doc: AutoCommit,
    direction: Direction,
) -> Result<(Transfer, AutoCommit)> {
    let wire_counts = Arc::new(Wire::default());
    let peer_id = format!("load-initial-{:08x}", rand::random::<u32>());
    let storage_id = (!cfg.ephemeral).then(|| format!("{:032x}", rand::random::<u128>()));
    let started = Instant::now();
    let (mut ws, relay) =
        wire::connect(&cfg.url, wire_counts.clone(), &peer_id, storage_id).await?;
    let connect_ms = started.elapsed().as_secs_f64() * 1000.0;
    let syncing = Instant::now();
    let mut state = sync::State::new();
    let mut t = Transfer {
        connect_ms,
        total_ms: 0.0,
        sync_ms: 0.0,
        bytes_received: 0,
        bytes_sent: 0,
        messages_received: 0,
        messages_sent: 0,
        sync_payload_received: 0,
        sync_payload_sent: 0,
    };
    let ids = (peer_id, relay, doc_id.to_string());
    send(
        &mut ws,
        &mut doc,
        &mut state,
        &ids,
        direction == Direction::Download,
        &mut t,
    )
    .await?;
    loop {
        let frame = ws
            .next()
            .await
            .context("the relay closed the connection")?
            .context("reading from the relay")?;
        let bytes = match frame {
            WsMessage::Binary(bytes) => bytes,
            WsMessage::Close(frame) => bail!("the relay closed the connection: {frame:?}"),
            _ => continue,
        };
        t.messages_received += 1;
        match Message::decode(&bytes)? {
            Message::Sync { data, .. } | Message::Request { data, .. } => {
                t.sync_payload_received += data.len() as u64;
                let message = sync::Message::decode(&data).context("bad sync message")?;
                doc.sync()
                    .receive_sync_message(&mut state, message)
                    .context("applying a sync message")?;
                send(&mut ws, &mut doc, &mut state, &ids, false, &mut t).await?;
                let ours = doc.get_heads();
                let done = !ours.is_empty()
                    && state
                        .their_heads
                        .as_ref()
                        .is_some_and(|theirs| sorted(theirs.clone()) == sorted(ours));
                if done {
                    break;
                }
            }
            Message::DocUnavailable { .. } if direction == Direction::Download => {
                bail!("the relay does not have document {doc_id}")
            }
            Message::Error { message, .. } => bail!("the relay sent an error: {message}"),
            _ => {}
        }
    }
    t.total_ms = started.elapsed().as_secs_f64() * 1000.0;
    t.sync_ms = syncing.elapsed().as_secs_f64() * 1000.0;
    (t.bytes_sent, t.bytes_received) = wire_counts.snapshot();
    wire::close(ws).await;
    Ok((t, doc))
}

async fn send(
    ws: &mut Ws,
    doc: &mut AutoCommit,
    state: &mut sync::State,
    (peer, relay, doc_id): &(String, String, String),
    request: bool,
    t: &mut Transfer,
) -> Result<()> {
    let Some(message) = doc.sync().generate_sync_message(state) else {
        return Ok(());
    };
    let data = message.encode();
    t.sync_payload_sent += data.len() as u64;
    t.messages_sent += 1;
    let message =
        Message::sync_or_request(request, peer.clone(), relay.clone(), doc_id.clone(), data);
    wire::send(ws, &message).await
}
