//! `tandem-disk-probe`: how long a small durable write takes on a disk, right now.
//!
//! ```text
//! tandem-disk-probe --dir DIR [--duration SECS] [--interval-ms MS] [--bytes N] [--group-commit]
//!                   [--overwrite] [--json]
//! ```
//!
//! It appends `--bytes` to a file in `--dir` and waits for `fdatasync`, every `--interval-ms`,
//! for `--duration` seconds, and prints the latency of each durable write (p50, p99, max). That
//! is the floor under every acknowledgement the relay sends, since it flushes a batch before
//! anyone hears of it: run it beside a relay benchmark to tell the disk's share of a latency from
//! the relay's (BENCHMARKS.md, "fsync"). The file is removed at the end.
//!
//! With `--group-commit` it writes back to back, as a busy relay's flusher does, and also
//! prints how long a change arriving at a random moment would wait: it joins the write after
//! the one under way, so it waits for the rest of that one and the whole of its own. A slow
//! write covers more moments than a fast one, so this is the floor for a relay that flushes
//! continuously, and it can be far above the latency of a single write.
//!
//! With `--overwrite` it writes over a file it filled and synced first, instead of appending:
//! the file's size and blocks no longer change, so `fdatasync` has no metadata to commit and
//! only the data and the disk's cache flush are waited for. It tells whether a journal written
//! in place would escape what a busy disk costs an appending one (BENCHMARKS.md, "fifth round").

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use std::io::{Seek as _, SeekFrom, Write as _};
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
    /// Write back to back, ignoring --interval-ms, and also report the wait of a change that
    /// arrives at a random moment (a continuously flushing relay's floor)
    #[arg(long)]
    group_commit: bool,
    /// Write over a file filled and synced beforehand (its size never changes, so fdatasync has
    /// no metadata to commit) instead of appending to a new one
    #[arg(long)]
    overwrite: bool,
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
        .write(true)
        .truncate(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    if args.overwrite {
        fill(&mut file, OVERWRITE_BYTES).context("filling the file to write over")?;
    }
    let chunk = vec![b'x'; args.bytes];
    let mut offset = 0u64;
    let until = Instant::now() + Duration::from_secs_f64(args.duration);
    let origin = Instant::now();
    // Each write's start and end, in microseconds since `origin`.
    let mut writes: Vec<(u64, u64)> = Vec::new();
    let result = (|| -> Result<()> {
        while Instant::now() < until {
            if args.overwrite && offset + chunk.len() as u64 > OVERWRITE_BYTES {
                offset = 0;
                file.seek(SeekFrom::Start(0)).context("seeking")?;
            }
            let started = origin.elapsed().as_micros() as u64;
            file.write_all(&chunk).context("writing")?;
            offset += chunk.len() as u64;
            file.sync_data().context("fdatasync")?;
            writes.push((started, origin.elapsed().as_micros() as u64));
            if !args.group_commit {
                std::thread::sleep(Duration::from_millis(args.interval_ms));
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    result?;
    if writes.is_empty() {
        bail!("no write finished within --duration");
    }
    let mut latencies_us: Vec<u64> = writes.iter().map(|(start, end)| end - start).collect();
    let (p50, p99, max) = percentiles(&mut latencies_us);
    let arrival = args
        .group_commit
        .then(|| arrival_waits(&writes))
        .filter(|waits| !waits.is_empty())
        .map(|mut waits| percentiles(&mut waits));
    if args.json {
        let mut report = serde_json::json!({
            "writes": latencies_us.len(),
            "bytes": args.bytes,
            "overwrite": args.overwrite,
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": max,
        });
        if let Some((a50, a99, amax)) = arrival {
            report["arrival_p50_ms"] = a50.into();
            report["arrival_p99_ms"] = a99.into();
            report["arrival_max_ms"] = amax.into();
        }
        println!("{report}");
    } else {
        println!(
            "{} durable writes of {} B: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
            latencies_us.len(),
            args.bytes
        );
        if let Some((a50, a99, amax)) = arrival {
            println!(
                "a change arriving at a random moment waits: p50 {a50:.2} ms, p99 {a99:.2} ms, \
                 max {amax:.2} ms"
            );
        }
    }
    Ok(())
}

/// The size of the file `--overwrite` writes over: far more than a run writes at a quiet disk's
/// pace, and it wraps around if not.
const OVERWRITE_BYTES: u64 = 256 << 20;

/// Write `bytes` of zeros to the start of `file` and make them durable, size included.
fn fill(file: &mut std::fs::File, bytes: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < bytes {
        let n = zeros.len().min((bytes - written) as usize);
        file.write_all(&zeros[..n])?;
        written += n as u64;
    }
    file.sync_all()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// p50, p99 and the maximum of `values_us`, in milliseconds.
fn percentiles(values_us: &mut [u64]) -> (f64, f64, f64) {
    values_us.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * values_us.len() as f64).ceil() as usize).clamp(1, values_us.len());
        values_us[rank - 1] as f64 / 1000.0
    };
    (at(0.5), at(0.99), at(1.0))
}

/// The wait of a change arriving at each moment of a back-to-back run, every 50 µs: it is
/// written by the first write that starts after it arrives, and waits until that write ends.
fn arrival_waits(writes: &[(u64, u64)]) -> Vec<u64> {
    const STEP_US: u64 = 50;
    let mut waits = Vec::new();
    let Some(&(first, _)) = writes.first() else {
        return waits;
    };
    let mut next = 0;
    let mut t = first;
    loop {
        while next < writes.len() && writes[next].0 <= t {
            next += 1;
        }
        let Some(&(_, end)) = writes.get(next) else {
            return waits;
        };
        waits.push(end - t);
        t += STEP_US;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_write_is_waited_for_by_every_change_that_arrives_during_it() {
        // Three back-to-back writes: 1 ms, 100 ms, 1 ms.
        let writes = [(0, 1_000), (1_000, 101_000), (101_000, 102_000)];
        let waits = arrival_waits(&writes);
        // Arrivals during the first write join the slow one; those during the slow one join
        // the last write, so they wait for the rest of the slow one and then 1 ms.
        assert_eq!(waits.len(), 101_000 / 50);
        assert_eq!(waits[0], 101_000);
        assert_eq!(waits[19], 101_000 - 50 * 19);
        assert_eq!(waits[20], 102_000 - 1_000);
        assert_eq!(*waits.last().unwrap(), 102_000 - 100_950);
        let mut sorted = waits.clone();
        let (p50, _, max) = percentiles(&mut sorted);
        assert!(
            p50 > 40.0,
            "most moments fall in the slow write: p50 {p50} ms"
        );
        assert_eq!(max, 101.0);
    }
}
