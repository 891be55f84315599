//! The edit load: N clients on M documents ("pairs"), each client making small edits at a set
//! rate, and each partner timing how long every edit took to reach it.
//!
//! Every client is one tokio task with its own websocket, its own copy of its document and its
//! own automerge `sync::State` for the relay, exactly like a real peer. An edit puts
//! `"e<client>" = "<seq>:<nanos>"` and sends the resulting sync message. The partner applies
//! what the relay forwards, reads the editor's key and, for every sequence number it had not seen
//! yet, records `now - sent` (the send instants of skipped numbers, when a server batches several
//! edits into one message, come from a table the editor fills: both live in this process, so one
//! clock serves both ends).
//!
//! A run goes through phases that the coordinator announces on a watch channel: connect every
//! client (in waves of `--connect-concurrency`), let the creators push their documents, let the
//! other clients fetch them, then one measured step per rate: warm-up, measured window, drain.

use crate::measure::{self, Latency, ProcSample};
use crate::wire::{self, Wire, Ws};
use anyhow::{bail, Context as _, Result};
use futures_util::StreamExt as _;
use rand::Rng as _;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_core::automerge::sync::{self, SyncDoc as _};
use tandem_core::automerge::transaction::Transactable as _;
use tandem_core::automerge::{AutoCommit, ReadDoc as _, ROOT};
use tandem_core::protocol::{DocumentId, Message};
use tandem_core::sync::receive_without_needless_walk;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub clients: usize,
    pub pairs: usize,
    /// Edits per second per client, one measured step each; 0 means "hold idle".
    pub rates: Vec<f64>,
    pub warmup: Duration,
    pub duration: Duration,
    pub drain: Duration,
    pub settle: Duration,
    pub connect_concurrency: usize,
    pub setup_timeout: Duration,
    pub stop_p99_ms: Option<f64>,
    pub p99_limit_ms: f64,
    pub min_growth_pct: Option<f64>,
    pub server_pid: Option<u32>,
    pub ephemeral: bool,
    /// Changes each document has before the run (made by its creator), so that edits land on a
    /// document with a realistic history.
    pub history: usize,
}

/// The tag of an edit made outside a measured window (warm-up).
const UNMEASURED: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connect,
    Push,
    Fetch,
    Idle,
    Edit {
        step: u16,
        period: Duration,
        /// Nanoseconds since the run's epoch.
        window_start: u64,
        window_end: u64,
    },
    Stop,
}

#[derive(Debug, Default)]
struct StepCounters {
    sent: AtomicU64,
    expected: AtomicU64,
    delivered: AtomicU64,
    /// Edit→partner latencies in microseconds.
    latencies: Mutex<Vec<u32>>,
    /// The same latencies with the second of the window in which each edit was made, to see
    /// how latency moves within a step (for example, how fast it recovers after an overload).
    by_second: Mutex<Vec<(u32, u32)>>,
    /// When the step's window starts, in nanoseconds since the run's epoch.
    window_start: AtomicU64,
}

struct Shared {
    url: String,
    history: usize,
    run_id: String,
    ephemeral: bool,
    epoch: Instant,
    wire: Arc<Wire>,
    docs: Vec<String>,
    /// Per client: the send instant (ns since epoch) and step tag of each of its edits.
    sent_at: Vec<Mutex<Vec<(u64, u16)>>>,
    steps: Vec<StepCounters>,
    connected: AtomicUsize,
    pushed: AtomicUsize,
    fetched: AtomicUsize,
    unavailable: AtomicUsize,
    /// Clients whose connection failed or was closed under them.
    lost: AtomicUsize,
    errors: Mutex<Vec<String>>,
    connect_us: Mutex<Vec<u32>>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// One client's place in the run.
#[derive(Debug, Clone)]
struct Spec {
    idx: usize,
    doc: Option<usize>,
    creator: bool,
    partners: Vec<usize>,
}

// ----- the report -----

#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    pub connect_secs: f64,
    pub connections_per_sec: f64,
    pub connect_latency: Latency,
    pub push_secs: f64,
    pub fetch_secs: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    pub before: Option<ProcSample>,
    /// Every client connected and joined, no documents yet.
    pub idle: Option<ProcSample>,
    /// Every client's document synced, nothing moving.
    pub synced: Option<ProcSample>,
    pub end: Option<ProcSample>,
    pub idle_kib_per_connection: Option<f64>,
    pub synced_kib_per_connection: Option<f64>,
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub rate_per_client: f64,
    pub editing_clients: usize,
    pub offered_per_sec: f64,
    pub window_secs: f64,
    pub edits_sent: u64,
    pub sent_per_sec: f64,
    pub deliveries_expected: u64,
    pub deliveries: u64,
    pub delivered_per_sec: f64,
    pub latency: Latency,
    /// The p99 of the edits made in each second of the window (ms); `None` for a second whose
    /// edits all arrived after the drain, or that had none.
    pub p99_ms_by_second: Vec<Option<f64>>,
    pub drain_secs: f64,
    pub relay_cpu_secs: Option<f64>,
    /// Relay CPU over the window, as a percentage of one core.
    pub relay_cpu_pct: Option<f64>,
    pub relay_cpu_us_per_delivery: Option<f64>,
    pub relay_rss_kib: Option<u64>,
    /// This load generator's own CPU over the window, percentage of one core.
    pub generator_cpu_pct: Option<f64>,
    /// How long the relay's threads waited for a CPU, and its busiest thread.
    pub relay_sched: Option<measure::SchedWindow>,
    pub generator_sched: Option<measure::SchedWindow>,
    /// CPU used by everything else on the machine (other tenants), percentage of one core,
    /// and how busy all cores were together (100% = one core).
    pub others_cpu_pct: Option<f64>,
    pub machine_busy_pct: Option<f64>,
    pub machine_cores: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub wire_bytes_per_delivery: Option<f64>,
    /// Sync messages the clients sent and received in the window, and how many of each
    /// carried no change.
    pub frames_sent: u64,
    pub frames_sent_empty: u64,
    pub frames_received: u64,
    pub frames_received_empty: u64,
    pub connections_lost: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub url: String,
    pub clients: usize,
    pub pairs: usize,
    pub history: usize,
    pub server_pid: Option<u32>,
    pub ephemeral_clients: bool,
    pub setup: Setup,
    pub memory: Memory,
    pub steps: Vec<Step>,
    /// The highest delivered rate among steps whose p99 stayed within `p99_limit_ms` and that
    /// lost nothing: the most the relay sustains at that latency.
    pub max_sustained_delivered_per_sec: Option<f64>,
    pub max_sustained_rate_per_client: Option<f64>,
    pub p99_limit_ms: f64,
    /// The highest delivered rate of any step, whatever its latency, and that step's p99.
    pub peak_delivered_per_sec: Option<f64>,
    pub peak_rate_per_client: Option<f64>,
    pub peak_p99_ms: Option<f64>,
    pub stopped_because: Option<String>,
    pub bytes_sent_total: u64,
    pub bytes_received_total: u64,
    pub connections_lost: usize,
    pub first_errors: Vec<String>,
}

// ----- the coordinator -----

pub async fn run(cfg: Config) -> Result<Report> {
    if cfg.pairs > 0 && cfg.clients < 2 * cfg.pairs {
        bail!(
            "--clients ({}) must be at least twice --pairs ({}): each document needs an editor and a partner",
            cfg.clients,
            cfg.pairs
        );
    }
    if cfg.pairs == 0 && cfg.rates.iter().any(|&r| r > 0.0) {
        bail!("--pairs 0 (idle connections without documents) needs --rate 0");
    }
    if cfg.rates.len() >= usize::from(UNMEASURED) {
        bail!("too many rate steps");
    }
    let docs: Vec<String> = (0..cfg.pairs)
        .map(|_| DocumentId::random().to_string())
        .collect();
    let specs: Vec<Spec> = (0..cfg.clients)
        .map(|idx| {
            let doc = (cfg.pairs > 0).then(|| idx % cfg.pairs);
            let partners = match doc {
                Some(d) => (0..cfg.clients)
                    .skip(d)
                    .step_by(cfg.pairs)
                    .filter(|&j| j != idx)
                    .collect(),
                None => Vec::new(),
            };
            Spec {
                idx,
                doc,
                creator: doc.is_some() && idx < cfg.pairs,
                partners,
            }
        })
        .collect();
    let shared = Arc::new(Shared {
        url: cfg.url.clone(),
        history: cfg.history,
        run_id: format!("{:06x}", rand::random::<u32>() & 0xff_ffff),
        ephemeral: cfg.ephemeral,
        epoch: Instant::now(),
        wire: Arc::new(Wire::default()),
        docs,
        sent_at: (0..cfg.clients).map(|_| Mutex::default()).collect(),
        steps: cfg.rates.iter().map(|_| StepCounters::default()).collect(),
        connected: AtomicUsize::new(0),
        pushed: AtomicUsize::new(0),
        fetched: AtomicUsize::new(0),
        unavailable: AtomicUsize::new(0),
        lost: AtomicUsize::new(0),
        errors: Mutex::default(),
        connect_us: Mutex::default(),
    });
    let pid = cfg.server_pid;
    let (phase_tx, phase_rx) = watch::channel(Phase::Connect);

    // Setup: connect everyone in waves.
    let before = measure::relay(pid);
    let gate = Arc::new(Semaphore::new(cfg.connect_concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for spec in specs {
        let shared = shared.clone();
        let gate = gate.clone();
        let phase = phase_rx.clone();
        tasks.spawn(async move {
            let idx = spec.idx;
            if let Err(e) = client(spec, shared.clone(), gate, phase).await {
                shared.lost.fetch_add(1, Ordering::Relaxed);
                let mut errors = shared.errors.lock().expect("not poisoned");
                if errors.len() < 20 {
                    errors.push(format!("client {idx}: {e:#}"));
                }
            }
        });
    }
    let all = cfg.clients;
    wait_for(&shared, cfg.setup_timeout, "connecting", || {
        shared.connected.load(Ordering::Relaxed) >= all
    })
    .await?;
    let connect_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "tandem-load: {all} clients connected in {connect_secs:.2} s ({:.0}/s)",
        all as f64 / connect_secs
    );
    tokio::time::sleep(cfg.settle).await;
    let idle = measure::relay(pid);

    // Creators push their documents, then the others fetch them.
    let pushing = Instant::now();
    phase_tx.send_replace(Phase::Push);
    let creators = cfg.pairs;
    wait_for(&shared, cfg.setup_timeout, "pushing documents", || {
        shared.pushed.load(Ordering::Relaxed) >= creators
    })
    .await?;
    let push_secs = pushing.elapsed().as_secs_f64();
    let fetching = Instant::now();
    phase_tx.send_replace(Phase::Fetch);
    let fetchers = if cfg.pairs > 0 {
        cfg.clients - cfg.pairs
    } else {
        0
    };
    wait_for(&shared, cfg.setup_timeout, "fetching documents", || {
        shared.fetched.load(Ordering::Relaxed) >= fetchers
    })
    .await?;
    let fetch_secs = fetching.elapsed().as_secs_f64();
    phase_tx.send_replace(Phase::Idle);
    let (setup_sent, setup_received) = shared.wire.snapshot();
    if cfg.pairs > 0 {
        eprintln!(
            "tandem-load: {} documents pushed in {push_secs:.2} s and fetched in {fetch_secs:.2} s",
            cfg.pairs
        );
    }
    tokio::time::sleep(cfg.settle).await;
    let synced = measure::relay(pid);

    // The measured steps.
    let p99_limit_ms = cfg.p99_limit_ms;
    let mut steps = Vec::new();
    let mut stopped_because = None;
    let mut best: f64 = 0.0;
    for (i, &rate) in cfg.rates.iter().enumerate() {
        let step = measure_step(&cfg, &shared, &phase_tx, i, rate).await;
        eprintln!("tandem-load: {}", step_line(&step));
        let p99 = step.latency.p99_ms;
        let delivered = step.delivered_per_sec;
        steps.push(step);
        if rate <= 0.0 {
            continue;
        }
        if let Some(limit) = cfg.stop_p99_ms {
            if p99.is_none_or(|p| p > limit) {
                stopped_because = Some(format!("p99 above {limit} ms at {rate} edits/s/client"));
                break;
            }
        }
        if let Some(growth) = cfg.min_growth_pct {
            if i > 0 && delivered < best * (1.0 + growth / 100.0) {
                stopped_because = Some(format!(
                    "delivered rate grew less than {growth}% at {rate} edits/s/client"
                ));
                break;
            }
        }
        best = best.max(delivered);
    }

    phase_tx.send_replace(Phase::Stop);
    let stopping = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    });
    if stopping.await.is_err() {
        tasks.abort_all();
    }
    let end = measure::relay(pid);
    let per_conn = |at: Option<ProcSample>| match (before, at) {
        (Some(b), Some(a)) if cfg.clients > 0 => {
            Some((a.rss_kib as f64 - b.rss_kib as f64) / cfg.clients as f64)
        }
        _ => None,
    };
    let sustained = steps
        .iter()
        .filter(|s| s.rate_per_client > 0.0 && s.latency.missing == 0)
        .filter(|s| s.latency.p99_ms.is_some_and(|p| p <= p99_limit_ms))
        .max_by(|a, b| a.delivered_per_sec.total_cmp(&b.delivered_per_sec));
    let peak = steps
        .iter()
        .filter(|s| s.rate_per_client > 0.0)
        .max_by(|a, b| a.delivered_per_sec.total_cmp(&b.delivered_per_sec));
    let (bytes_sent_total, bytes_received_total) = shared.wire.snapshot();
    let first_errors = shared.errors.lock().expect("not poisoned").clone();
    let connect_us = {
        let mut v = std::mem::take(&mut *shared.connect_us.lock().expect("not poisoned"));
        v.sort_unstable();
        v
    };
    Ok(Report {
        scenario: "edits",
        url: cfg.url.clone(),
        clients: cfg.clients,
        pairs: cfg.pairs,
        history: cfg.history,
        server_pid: pid,
        ephemeral_clients: cfg.ephemeral,
        setup: Setup {
            connect_secs,
            connections_per_sec: cfg.clients as f64 / connect_secs,
            connect_latency: Latency::of(&connect_us, 0),
            push_secs,
            fetch_secs,
            bytes_sent: setup_sent,
            bytes_received: setup_received,
        },
        memory: Memory {
            before,
            idle,
            synced,
            end,
            idle_kib_per_connection: per_conn(idle),
            synced_kib_per_connection: per_conn(synced),
            peak_rss_kib: end.map(|e| e.hwm_kib),
        },
        max_sustained_delivered_per_sec: sustained.map(|s| s.delivered_per_sec),
        max_sustained_rate_per_client: sustained.map(|s| s.rate_per_client),
        peak_delivered_per_sec: peak.map(|s| s.delivered_per_sec),
        peak_rate_per_client: peak.map(|s| s.rate_per_client),
        peak_p99_ms: peak.and_then(|s| s.latency.p99_ms),
        steps,
        p99_limit_ms,
        stopped_because,
        bytes_sent_total,
        bytes_received_total,
        connections_lost: shared.lost.load(Ordering::Relaxed),
        first_errors,
    })
}

/// Poll `done` until it holds, failing if a client was lost or `limit` passes.
async fn wait_for(
    shared: &Shared,
    limit: Duration,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return Ok(());
        }
        if shared.lost.load(Ordering::Relaxed) > 0 {
            let errors = shared.errors.lock().expect("not poisoned");
            bail!(
                "{} client(s) failed while {what}; first: {}",
                shared.lost.load(Ordering::Relaxed),
                errors.first().map(String::as_str).unwrap_or("?")
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "timed out after {}s {what} (connected {}, pushed {}, fetched {}, unavailable {})",
                limit.as_secs(),
                shared.connected.load(Ordering::Relaxed),
                shared.pushed.load(Ordering::Relaxed),
                shared.fetched.load(Ordering::Relaxed),
                shared.unavailable.load(Ordering::Relaxed),
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn measure_step(
    cfg: &Config,
    shared: &Shared,
    phase: &watch::Sender<Phase>,
    i: usize,
    rate: f64,
) -> Step {
    let pid = cfg.server_pid;
    let lost_before = shared.lost.load(Ordering::Relaxed);
    let editing = if cfg.pairs > 0 { cfg.clients } else { 0 };
    let window = cfg.duration.as_secs_f64();
    let at = |ns: u64| tokio::time::Instant::from_std(shared.epoch + Duration::from_nanos(ns));
    let now = shared.now_ns();
    let window_start = now + cfg.warmup.as_nanos() as u64;
    let window_end = window_start + cfg.duration.as_nanos() as u64;
    shared.steps[i]
        .window_start
        .store(window_start, Ordering::Relaxed);
    if rate > 0.0 {
        phase.send_replace(Phase::Edit {
            step: i as u16,
            period: Duration::from_secs_f64(1.0 / rate),
            window_start,
            window_end,
        });
    }
    let relay_threads = || pid.and_then(|p| measure::threads(&p.to_string()));
    tokio::time::sleep_until(at(window_start)).await;
    let (relay0, self0, wire0) = (
        measure::relay(pid),
        measure::sample("self"),
        shared.wire.snapshot(),
    );
    let frames0 = shared.wire.frames();
    let (rt0, st0, m0) = (
        relay_threads(),
        measure::threads("self"),
        measure::machine(),
    );
    tokio::time::sleep_until(at(window_end)).await;
    let (relay1, self1, wire1) = (
        measure::relay(pid),
        measure::sample("self"),
        shared.wire.snapshot(),
    );
    let frames1 = shared.wire.frames();
    let frames: Vec<u64> = frames1.iter().zip(frames0).map(|(b, a)| b - a).collect();
    let (rt1, st1, m1) = (
        relay_threads(),
        measure::threads("self"),
        measure::machine(),
    );
    phase.send_replace(Phase::Idle);
    // Give edits that were being sent right at the end time to be counted, then drain.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let counters = &shared.steps[i];
    let drain_started = Instant::now();
    while drain_started.elapsed() < cfg.drain
        && counters.delivered.load(Ordering::Relaxed) < counters.expected.load(Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drain_secs = drain_started.elapsed().as_secs_f64();
    let sent = counters.sent.load(Ordering::Relaxed);
    let expected = counters.expected.load(Ordering::Relaxed);
    let mut latencies = std::mem::take(&mut *counters.latencies.lock().expect("not poisoned"));
    let delivered = latencies.len() as u64;
    latencies.sort_unstable();
    let by_second = std::mem::take(&mut *counters.by_second.lock().expect("not poisoned"));
    let seconds = cfg.duration.as_secs_f64().ceil() as usize;
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); seconds];
    for (second, us) in by_second {
        if let Some(bucket) = buckets.get_mut(second as usize) {
            bucket.push(us);
        }
    }
    let p99_ms_by_second = buckets
        .into_iter()
        .map(|mut b| {
            b.sort_unstable();
            Latency::of(&b, 0).p99_ms
        })
        .collect();
    let cpu = |a: Option<ProcSample>, b: Option<ProcSample>| match (a, b) {
        (Some(a), Some(b)) => Some(b.cpu_secs - a.cpu_secs),
        _ => None,
    };
    let relay_cpu = cpu(relay0, relay1);
    let gen_cpu = cpu(self0, self1);
    let (bytes_sent, bytes_received) = (wire1.0 - wire0.0, wire1.1 - wire0.1);
    let sched = |a: Option<measure::Threads>, b: Option<measure::Threads>| match (a, b) {
        (Some(a), Some(b)) => Some(b.since(&a, window)),
        _ => None,
    };
    let machine_busy = match (m0, m1) {
        (Some(a), Some(b)) => Some(b.0 - a.0),
        _ => None,
    };
    let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
    let others = machine_busy
        .map(|m| (m - relay_cpu.unwrap_or(0.0) - gen_cpu.unwrap_or(0.0)).max(0.0) * 100.0 / window);
    Step {
        rate_per_client: rate,
        editing_clients: editing,
        offered_per_sec: rate * editing as f64,
        window_secs: window,
        edits_sent: sent,
        sent_per_sec: sent as f64 / window,
        deliveries_expected: expected,
        deliveries: delivered,
        delivered_per_sec: delivered as f64 / window,
        latency: Latency::of(&latencies, expected.saturating_sub(delivered)),
        p99_ms_by_second,
        drain_secs,
        relay_cpu_secs: relay_cpu,
        relay_cpu_pct: relay_cpu.map(|c| 100.0 * c / window),
        relay_cpu_us_per_delivery: relay_cpu
            .filter(|_| delivered > 0)
            .map(|c| 1e6 * c / delivered as f64),
        relay_rss_kib: relay1.map(|r| r.rss_kib),
        generator_cpu_pct: gen_cpu.map(|c| 100.0 * c / window),
        relay_sched: sched(rt0, rt1),
        generator_sched: sched(st0, st1),
        others_cpu_pct: others,
        machine_busy_pct: machine_busy.map(|m| 100.0 * m / window),
        machine_cores: cores,
        bytes_sent,
        bytes_received,
        wire_bytes_per_delivery: (delivered > 0)
            .then(|| (bytes_sent + bytes_received) as f64 / delivered as f64),
        frames_sent: frames[0],
        frames_sent_empty: frames[1],
        frames_received: frames[2],
        frames_received_empty: frames[3],
        connections_lost: shared.lost.load(Ordering::Relaxed) - lost_before,
    }
}

/// One line per step for the progress log.
pub fn step_line(s: &Step) -> String {
    if s.rate_per_client <= 0.0 {
        return format!(
            "idle for {:.0} s, relay rss {} KiB",
            s.window_secs,
            s.relay_rss_kib.map_or("?".into(), |r| r.to_string())
        );
    }
    format!(
        "rate {}/s/client: sent {:.0}/s, delivered {:.0}/s, p50 {}, p99 {}, max {}, relay cpu {}, generator cpu {}, other processes {}, relay waited for a cpu {}{}",
        s.rate_per_client,
        s.sent_per_sec,
        s.delivered_per_sec,
        measure::ms(s.latency.p50_ms),
        measure::ms(s.latency.p99_ms),
        measure::ms(s.latency.max_ms),
        s.relay_cpu_pct.map_or("?".into(), |c| format!("{c:.0}%")),
        s.generator_cpu_pct.map_or("?".into(), |c| format!("{c:.0}%")),
        s.others_cpu_pct.map_or("?".into(), |c| format!("{c:.0}%")),
        s.relay_sched
            .as_ref()
            .map_or("?".into(), |w| format!("{:.0}%", w.runqueue_wait_pct)),
        if s.latency.missing > 0 {
            format!(", {} deliveries missing after the drain", s.latency.missing)
        } else {
            String::new()
        }
    )
}

// ----- one client -----

struct Client {
    spec: Spec,
    shared: Arc<Shared>,
    peer_id: String,
    relay: String,
    doc_id: String,
    doc: AutoCommit,
    sync: sync::State,
    key: String,
    partner_keys: Vec<String>,
    last_seen: Vec<u64>,
    seq: u64,
    started: bool,
    done_setup: bool,
}

fn uuid_like() -> String {
    let v: u128 = rand::random();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn client(
    spec: Spec,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    mut phase: watch::Receiver<Phase>,
) -> Result<()> {
    let peer_id = format!("load-{}-{}", shared.run_id, spec.idx);
    let storage_id = (!shared.ephemeral).then(uuid_like);
    let permit = gate.acquire_owned().await?;
    let started = Instant::now();
    let (mut ws, relay) =
        wire::connect(&shared.url, shared.wire.clone(), &peer_id, storage_id).await?;
    shared
        .connect_us
        .lock()
        .expect("not poisoned")
        .push(started.elapsed().as_micros() as u32);
    drop(permit);
    shared.connected.fetch_add(1, Ordering::Relaxed);

    let mut doc = AutoCommit::new();
    if spec.creator {
        doc.put(ROOT, "pair", spec.doc.unwrap_or(0) as i64)?;
        doc.commit();
        for i in 0..shared.history {
            doc.put(ROOT, format!("h{}", i % 100).as_str(), i as i64)?;
            doc.commit();
        }
    }
    let mut c = Client {
        doc_id: spec.doc.map(|d| shared.docs[d].clone()).unwrap_or_default(),
        key: format!("e{}", spec.idx),
        partner_keys: spec.partners.iter().map(|p| format!("e{p}")).collect(),
        last_seen: vec![0; spec.partners.len()],
        spec,
        shared,
        peer_id,
        relay,
        doc,
        sync: sync::State::new(),
        seq: 0,
        started: false,
        done_setup: false,
    };
    let mut ticker: Option<Interval> = None;
    let mut window = (0u16, 0u64, 0u64);
    loop {
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = *phase.borrow_and_update();
                match now {
                    Phase::Stop => break,
                    Phase::Connect => {}
                    _ if c.spec.doc.is_some() && !c.started => {
                        if c.spec.creator && now != Phase::Connect {
                            c.started = true;
                            c.send_sync(&mut ws, false).await?;
                        } else if !c.spec.creator && now != Phase::Push {
                            c.started = true;
                            c.send_sync(&mut ws, true).await?;
                        }
                    }
                    _ => {}
                }
                match now {
                    Phase::Edit { step, period, window_start, window_end } => {
                        let offset = period.mul_f64(rand::thread_rng().gen_range(0.0..1.0));
                        let mut t = tokio::time::interval_at(
                            tokio::time::Instant::now() + offset,
                            period,
                        );
                        t.set_missed_tick_behavior(MissedTickBehavior::Skip);
                        ticker = Some(t);
                        window = (step, window_start, window_end);
                    }
                    _ => ticker = None,
                }
            }
            _ = next_tick(&mut ticker) => {
                let (step, start, end) = window;
                if !c.edit(&mut ws, step, start, end).await? {
                    ticker = None;
                }
            }
            frame = ws.next() => {
                let frame = match frame {
                    None => bail!("the relay closed the connection"),
                    Some(frame) => frame.context("reading from the relay")?,
                };
                match frame {
                    WsMessage::Binary(bytes) => c.on_frame(&mut ws, &bytes).await?,
                    WsMessage::Close(frame) => bail!("the relay closed the connection: {frame:?}"),
                    WsMessage::Text(_) => bail!("the relay sent a text frame"),
                    _ => {}
                }
            }
        }
    }
    wire::close(ws).await;
    Ok(())
}

impl Client {
    /// Send whatever the sync state says the relay still needs; `request` for a first fetch.
    async fn send_sync(&mut self, ws: &mut Ws, request: bool) -> Result<()> {
        let Some(message) = self.doc.sync().generate_sync_message(&mut self.sync) else {
            return Ok(());
        };
        self.shared
            .wire
            .count_frame(true, !message.changes.is_empty());
        let message = Message::sync_or_request(
            request,
            self.peer_id.clone(),
            self.relay.clone(),
            self.doc_id.clone(),
            message.encode(),
        );
        wire::send(ws, &message).await
    }

    /// Make one edit; returns `false` once the measured window is over.
    async fn edit(
        &mut self,
        ws: &mut Ws,
        step: u16,
        window_start: u64,
        window_end: u64,
    ) -> Result<bool> {
        let shared = self.shared.clone();
        let now = shared.now_ns();
        if now >= window_end {
            return Ok(false);
        }
        let tag = if now >= window_start {
            step
        } else {
            UNMEASURED
        };
        self.seq += 1;
        shared.sent_at[self.spec.idx]
            .lock()
            .expect("not poisoned")
            .push((now, tag));
        self.doc
            .put(ROOT, self.key.as_str(), format!("{}:{now}", self.seq))?;
        self.doc.commit();
        if tag != UNMEASURED {
            let counters = &shared.steps[usize::from(tag)];
            counters.sent.fetch_add(1, Ordering::Relaxed);
            counters
                .expected
                .fetch_add(self.spec.partners.len() as u64, Ordering::Relaxed);
        }
        self.send_sync(ws, false).await?;
        Ok(true)
    }

    async fn on_frame(&mut self, ws: &mut Ws, bytes: &[u8]) -> Result<()> {
        match Message::decode(bytes).context("undecodable message from the relay")? {
            Message::Sync { data, .. } | Message::Request { data, .. } => {
                let message = sync::Message::decode(&data).context("bad sync message")?;
                let has_changes = !message.changes.is_empty();
                self.shared.wire.count_frame(false, has_changes);
                // The same outcome as automerge's receive_sync_message, without its walk over
                // the whole history when that walk could not change anything: the generator
                // shares the machine with the relay under test.
                receive_without_needless_walk(&mut self.doc, &mut self.sync, message)
                    .context("applying a sync message")?;
                if has_changes && !self.partner_keys.is_empty() {
                    self.record_partner_edits()?;
                }
                self.check_setup();
                self.send_sync(ws, false).await
            }
            Message::DocUnavailable { .. } => {
                self.shared.unavailable.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Message::Error { message, .. } => bail!("the relay sent an error: {message}"),
            _ => Ok(()),
        }
    }

    /// Count setup progress once: the relay has the creator's document, or a fetcher has it.
    fn check_setup(&mut self) {
        if self.done_setup {
            return;
        }
        let ours = self.doc.get_heads();
        let in_step = !ours.is_empty()
            && self
                .sync
                .their_heads
                .as_ref()
                .is_some_and(|theirs| same_heads(theirs, &ours));
        if in_step {
            self.done_setup = true;
            let counter = if self.spec.creator {
                &self.shared.pushed
            } else {
                &self.shared.fetched
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Read each partner's key and time every edit of theirs not seen before.
    fn record_partner_edits(&mut self) -> Result<()> {
        let shared = self.shared.clone();
        let now = shared.now_ns();
        for (j, key) in self.partner_keys.iter().enumerate() {
            let Some((value, _)) = self.doc.get(ROOT, key.as_str())? else {
                continue;
            };
            let Some(seq) = value
                .as_str()
                .and_then(|s| s.split(':').next())
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let seen = self.last_seen[j];
            if seq <= seen {
                continue;
            }
            let partner = self.spec.partners[j];
            let table = shared.sent_at[partner].lock().expect("not poisoned");
            for s in seen + 1..=seq {
                let Some(&(sent, tag)) = table.get(s as usize - 1) else {
                    continue;
                };
                if tag == UNMEASURED {
                    continue;
                }
                let counters = &shared.steps[usize::from(tag)];
                let us = (now.saturating_sub(sent) / 1000).min(u64::from(u32::MAX)) as u32;
                counters.latencies.lock().expect("not poisoned").push(us);
                let start = counters.window_start.load(Ordering::Relaxed);
                let second = (sent.saturating_sub(start) / 1_000_000_000) as u32;
                counters
                    .by_second
                    .lock()
                    .expect("not poisoned")
                    .push((second, us));
                counters.delivered.fetch_add(1, Ordering::Relaxed);
            }
            self.last_seen[j] = seq;
        }
        Ok(())
    }
}

fn same_heads<T: Ord + Clone>(a: &[T], b: &[T]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}
