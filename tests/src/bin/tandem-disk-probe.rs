//! `tandem-disk-probe`: how long a small durable write takes on a disk, right now.
//!
//! ```text
//! tandem-disk-probe --dir DIR [--duration SECS] [--interval-ms MS] [--bytes N] [--json]
//! ```
//!
//! It appends `--bytes` to a file in `--dir` and waits for `fdatasync`, every `--interval-ms`,
//! for `--duration` seconds, and prints the latency of each durable write (p50, p99, max). That
//! is the floor under every acknowledgement the relay sends, since it flushes a batch before
//! anyone hears of it: run it beside a relay benchmark to tell the disk's share of a latency from
//! the relay's (BENCHMARKS.md, "fsync"). The file is removed at the end.

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Measure the latency of small appends made durable with fdatasync.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The directory to write in: put it on the disk whose latency you want (the relay's data
    /// directory's disk)
    #[arg(long)]
    dir: PathBuf,
    /// How long to measure, in seconds
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The pause between two writes, in milliseconds
    #[arg(long, default_value_t = 5)]
    interval_ms: u64,
    /// The size of each write, in bytes (a small batch of the relay is a few hundred)
    #[arg(long, default_value_t = 256)]
    bytes: usize,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-disk-probe: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    if !args.duration.is_finite() || args.duration <= 0.0 {
        bail!("--duration must be a positive number of seconds");
    }
    let path = args
        .dir
        .join(format!("tandem-disk-probe.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let chunk = vec![b'x'; args.bytes];
    let until = Instant::now() + Duration::from_secs_f64(args.duration);
    let mut latencies_us = Vec::new();
    let result = (|| -> Result<()> {
        while Instant::now() < until {
            let started = Instant::now();
            file.write_all(&chunk).context("writing")?;
            file.sync_data().context("fdatasync")?;
            latencies_us.push(started.elapsed().as_micros() as u64);
            std::thread::sleep(Duration::from_millis(args.interval_ms));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    result?;
    if latencies_us.is_empty() {
        bail!("no write finished within --duration");
    }
    latencies_us.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * latencies_us.len() as f64).ceil() as usize).clamp(1, latencies_us.len());
        latencies_us[rank - 1] as f64 / 1000.0
    };
    let (p50, p99, max) = (at(0.5), at(0.99), at(1.0));
    if args.json {
        let report = serde_json::json!({
            "writes": latencies_us.len(),
            "bytes": args.bytes,
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": max,
        });
        println!("{report}");
    } else {
        println!(
            "{} durable writes of {} B: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
            latencies_us.len(),
            args.bytes
        );
    }
    Ok(())
}
