//! `tandem-load`: a load generator for automerge-repo websocket relays (protocol v1).
//!
//! ```text
//! tandem-load --url ws://127.0.0.1:PORT --clients N --pairs M --rate R[,R2,...] --duration SECS
//!             [--warmup SECS] [--drain SECS] [--server-pid PID] [--history CHANGES]
//!             [--stop-p99-ms MS] [--p99-limit-ms MS] [--min-growth PCT]
//!             [--connect-concurrency C] [--ephemeral] [--json]
//! tandem-load --url ws://127.0.0.1:PORT --initial-sync [--changes 10000] [--doc-kind workspace]
//!             [--repeat 3] [--doc-id ID | --upload-only] [--json]
//! ```
//!
//! It opens N websocket clients that speak the protocol exactly as a tandem or automerge-repo
//! peer does (`join`, then `sync`/`request` per document with one automerge sync state each),
//! spread over M documents ("pairs"); every client edits its document at R edits per second and
//! its partners time each edit's arrival. It reports the connection setup rate, edits sent and
//! delivered per second, edit→partner latency (p50/p90/p99/max), bytes on the wire and, with
//! `--server-pid`, the relay's CPU time and memory (from /proc). Several rates make several
//! measured steps over the same connections, e.g. a saturation search with `--stop-p99-ms 100`.
//!
//! It runs against any `ws://` relay: `tandem-server` or the reference Node sync server
//! (`scripts/bench-relay.sh` runs both). Every phase has a timeout, so a run always ends.
//! Figures only: this program never judges them.
//!
//! Many clients need many file descriptors (one per client here, one per client in the relay):
//! raise `ulimit -n` above the client count.

// The modules live in `tandem-load/`; a binary's root file looks beside itself, hence the paths.
#[path = "tandem-load/edits.rs"]
mod edits;
#[path = "tandem-load/initial.rs"]
mod initial;
#[path = "tandem-load/measure.rs"]
mod measure;
#[path = "tandem-load/wire.rs"]
mod wire;

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// Load generator for automerge-repo websocket relays: edit fan-out, latency, memory, initial sync.
#[derive(Debug, Parser)]
#[command(name = "tandem-load", version)]
struct Args {
    /// The relay, e.g. ws://127.0.0.1:3030 (a `?token=` query is passed on).
    #[arg(long)]
    url: String,
    /// Websocket clients to open.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Documents the clients are spread over (client i syncs document i mod M); 0 with
    /// `--rate 0` holds idle connections that never open a document.
    #[arg(long, default_value_t = 1)]
    pairs: usize,
    /// Edits per second per client; a comma-separated list runs one measured step per rate
    /// on the same connections. 0 holds the connections idle for the duration.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    rate: Vec<f64>,
    /// Seconds measured per step.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of editing before each measured window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds to wait after a window for edits still in flight; what has not arrived by then
    /// counts as lost (slower than any percentile that falls on it).
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Seconds to let the relay settle before reading its memory after setup.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Connections opened at once during setup (waves).
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The most seconds each setup phase (connect, push, fetch) may take.
    #[arg(long, default_value_t = 120.0)]
    setup_timeout: f64,
    /// Stop stepping once a step's p99 exceeds this many milliseconds.
    #[arg(long)]
    stop_p99_ms: Option<f64>,
    /// The p99 (ms) a step must stay within to count for "max sustained".
    #[arg(long, default_value_t = 100.0)]
    p99_limit_ms: f64,
    /// Stop stepping once the delivered rate grows by less than this percentage.
    #[arg(long)]
    min_growth: Option<f64>,
    /// The relay's process id, to read its CPU time and memory from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Changes each document already has when the run starts (small puts its creator makes
    /// before pushing it), so that edits land on a document with a history, as real workspaces
    /// have.
    #[arg(long, default_value_t = 0)]
    history: usize,
    /// Join as ephemeral peers without a storage id (by default each client has one, as a
    /// tandem home does, so the relay keeps its sync state).
    #[arg(long)]
    ephemeral: bool,
    /// Measure an initial sync instead of edits.
    #[arg(long)]
    initial_sync: bool,
    /// Initial sync: changes in the generated document.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
    /// Initial sync: what the generated document contains.
    #[arg(long, value_enum, default_value_t = initial::DocKind::Workspace)]
    doc_kind: initial::DocKind,
    /// Initial sync: fetch this existing document instead of uploading a new one.
    #[arg(long)]
    doc_id: Option<String>,
    /// Initial sync: upload only (prints the document id), e.g. to fetch it after a restart.
    #[arg(long, conflicts_with = "doc_id")]
    upload_only: bool,
    /// Initial sync: how many fresh devices fetch the document, one after another.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Print one JSON object on stdout instead of the human summary.
    #[arg(long)]
    json: bool,
}

fn secs(v: f64, name: &str) -> Result<Duration> {
    if !v.is_finite() || v < 0.0 {
        bail!("--{name} must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(v))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tandem-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    if args.rate.iter().any(|r| !r.is_finite() || *r < 0.0) {
        bail!("--rate must be non-negative numbers");
    }
    check_fd_limit(args.clients);
    if args.initial_sync {
        let cfg = initial::Config {
            url: args.url.clone(),
            changes: args.changes,
            kind: args.doc_kind,
            doc_id: args.doc_id.clone(),
            upload_only: args.upload_only,
            repeat: args.repeat,
            ephemeral: args.ephemeral,
            timeout: secs(args.setup_timeout, "setup-timeout")?,
        };
        let report = initial::run(cfg).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_initial(&report);
        }
        return Ok(());
    }
    let cfg = edits::Config {
        url: args.url.clone(),
        clients: args.clients,
        pairs: args.pairs,
        rates: args.rate.clone(),
        warmup: secs(args.warmup, "warmup")?,
        duration: secs(args.duration, "duration")?,
        drain: secs(args.drain, "drain")?,
        settle: secs(args.settle, "settle")?,
        connect_concurrency: args.connect_concurrency,
        setup_timeout: secs(args.setup_timeout, "setup-timeout")?,
        stop_p99_ms: args.stop_p99_ms,
        p99_limit_ms: args.p99_limit_ms,
        min_growth_pct: args.min_growth,
        server_pid: args.server_pid,
        ephemeral: args.ephemeral,
        history: args.history,
    };
    let report = edits::run(cfg).await.context("the edit load failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_edits(&report);
    }
    Ok(())
}

/// Warn when this process cannot hold one descriptor per client (the relay needs as many).
fn check_fd_limit(clients: usize) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(soft) = soft {
        if soft < clients + 64 {
            eprintln!(
                "tandem-load: warning: the open-file limit is {soft}, below {clients} clients; \
                 raise it with `ulimit -n {}`",
                clients + 1024
            );
        }
    }
}

fn kib(v: Option<u64>) -> String {
    v.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn print_edits(r: &edits::Report) {
    println!("relay            {}", r.url);
    println!(
        "clients          {} on {} documents of {} changes{}",
        r.clients,
        r.pairs,
        r.history + 1,
        if r.ephemeral_clients {
            " (ephemeral)"
        } else {
            ""
        }
    );
    println!(
        "setup            {} connections in {:.2} s = {:.0}/s (connect+join p50 {}, p99 {}); push {:.2} s, fetch {:.2} s",
        r.clients,
        r.setup.connect_secs,
        r.setup.connections_per_sec,
        measure::ms(r.setup.connect_latency.p50_ms),
        measure::ms(r.setup.connect_latency.p99_ms),
        r.setup.push_secs,
        r.setup.fetch_secs
    );
    if r.server_pid.is_some() {
        let m = &r.memory;
        println!(
            "relay memory     before {}, idle clients {}, synced {}, end {}, peak {}",
            kib(m.before.map(|s| s.rss_kib)),
            kib(m.idle.map(|s| s.rss_kib)),
            kib(m.synced.map(|s| s.rss_kib)),
            kib(m.end.map(|s| s.rss_kib)),
            kib(m.peak_rss_kib)
        );
        println!(
            "per connection   {} KiB idle, {} KiB with its document synced",
            m.idle_kib_per_connection
                .map_or("?".into(), |v| format!("{v:.1}")),
            m.synced_kib_per_connection
                .map_or("?".into(), |v| format!("{v:.1}"))
        );
    }
    for s in &r.steps {
        println!("step             {}", edits::step_line(s));
        if s.rate_per_client > 0.0 {
            println!(
                "                 {} edits sent, {}/{} deliveries; sync messages {} out ({} without changes), {} in ({} without changes); wire {} B out, {} B in ({} B per delivery); relay cpu {} µs per delivery",
                s.edits_sent,
                s.deliveries,
                s.deliveries_expected,
                s.frames_sent,
                s.frames_sent_empty,
                s.frames_received,
                s.frames_received_empty,
                s.bytes_sent,
                s.bytes_received,
                s.wire_bytes_per_delivery
                    .map_or("?".into(), |v| format!("{v:.0}")),
                s.relay_cpu_us_per_delivery
                    .map_or("?".into(), |v| format!("{v:.0}"))
            );
            let by_second: Vec<String> = s
                .p99_ms_by_second
                .iter()
                .map(|p| p.map_or("late".into(), |ms| format!("{ms:.0}")))
                .collect();
            println!(
                "                 p99 (ms) of the edits made in each second: {}; backlog drained {:.1} s after the window",
                by_second.join(" "),
                s.drain_secs
            );
        }
    }
    if let Some(max) = r.max_sustained_delivered_per_sec {
        println!(
            "max sustained    {max:.0} deliveries/s (at {}/s/client, p99 within {} ms)",
            r.max_sustained_rate_per_client.unwrap_or(0.0),
            r.p99_limit_ms
        );
    }
    if let (Some(peak), Some(rate)) = (r.peak_delivered_per_sec, r.peak_rate_per_client) {
        println!(
            "peak             {peak:.0} deliveries/s (at {rate}/s/client, p99 {})",
            measure::ms(r.peak_p99_ms)
        );
    }
    if let Some(why) = &r.stopped_because {
        println!("stopped          {why}");
    }
    if r.connections_lost > 0 {
        println!(
            "lost             {} connections; first: {}",
            r.connections_lost,
            r.first_errors.first().map(String::as_str).unwrap_or("?")
        );
    }
}

fn print_initial(r: &initial::Report) {
    println!("relay            {}", r.url);
    println!(
        "document         {} ({} changes, save() {} bytes)",
        r.doc_id, r.changes, r.save_bytes
    );
    if let Some(u) = &r.upload {
        println!(
            "upload           {:.1} ms, {} B sent, {} B received",
            u.total_ms, u.bytes_sent, u.bytes_received
        );
    }
    for d in &r.downloads {
        println!(
            "download         {:.1} ms (connect {:.1} ms), {} B received ({:.2}× save), {} B sent, {} messages in",
            d.total_ms,
            d.connect_ms,
            d.bytes_received,
            d.bytes_received as f64 / r.save_bytes.max(1) as f64,
            d.bytes_sent,
            d.messages_received
        );
    }
}
