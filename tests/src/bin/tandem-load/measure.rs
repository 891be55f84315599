//! Reading a process's CPU time and memory from /proc, and latency percentiles.

use serde::Serialize;
use std::sync::OnceLock;

/// One reading of a process (the relay, or the load generator itself).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcSample {
    /// User + system CPU seconds, all threads, since the process started.
    pub cpu_secs: f64,
    /// Resident memory now (VmRSS), KiB.
    pub rss_kib: u64,
    /// Peak resident memory since the process started (VmHWM), KiB.
    pub hwm_kib: u64,
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Read `/proc/<pid>/{stat,status}`; `pid` "self" reads this process. `None` if it is gone.
pub fn sample(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; everything after its ')' is fixed.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 14 is utime and 15 is stime; `rest` starts at field 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(ProcSample {
        cpu_secs: (utime + stime) / clock_ticks(),
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
    })
}

/// Sample the relay if a pid was given.
pub fn relay(pid: Option<u32>) -> Option<ProcSample> {
    pid.and_then(|p| sample(&p.to_string()))
}

/// Per-thread scheduler figures of a process, to tell "busy" from "waiting for a CPU" on a
/// shared machine.
#[derive(Debug, Clone, Default)]
pub struct Threads {
    /// (thread id, name, CPU seconds, seconds spent runnable but waiting for a CPU).
    threads: Vec<(String, String, f64, f64)>,
}

/// Read `/proc/<pid>/task/*/{comm,schedstat}`.
pub fn threads(pid: &str) -> Option<Threads> {
    let mut threads = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(entry) = entry else { continue };
        let dir = entry.path();
        let tid = entry.file_name().to_string_lossy().into_owned();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let sched = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        let mut fields = sched
            .split_whitespace()
            .map(|v| v.parse::<f64>().unwrap_or(0.0));
        let (run, wait) = (fields.next().unwrap_or(0.0), fields.next().unwrap_or(0.0));
        threads.push((tid, name.trim().to_string(), run / 1e9, wait / 1e9));
    }
    Some(Threads { threads })
}

/// What the scheduler did for a process over a window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchedWindow {
    /// Time its threads were runnable but not running, as a percentage of the window (summed
    /// over threads, so it can exceed 100).
    pub runqueue_wait_pct: f64,
    /// The thread that ran most, and its share of one core.
    pub busiest_thread: String,
    pub busiest_thread_cpu_pct: f64,
}

impl Threads {
    pub fn since(&self, before: &Threads, secs: f64) -> SchedWindow {
        let mut wait = 0.0;
        let mut busiest = (String::new(), 0.0);
        for (tid, name, run, w) in &self.threads {
            let (run0, w0) = before
                .threads
                .iter()
                .find(|t| &t.0 == tid)
                .map_or((0.0, 0.0), |t| (t.2, t.3));
            wait += w - w0;
            if run - run0 > busiest.1 {
                busiest = (name.clone(), run - run0);
            }
        }
        SchedWindow {
            runqueue_wait_pct: 100.0 * wait / secs,
            busiest_thread: busiest.0,
            busiest_thread_cpu_pct: 100.0 * busiest.1 / secs,
        }
    }
}

/// Busy and total CPU seconds of the whole machine, all cores, from `/proc/stat`.
pub fn machine() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    Some(((total - idle) / clock_ticks(), total / clock_ticks()))
}

/// Latency percentiles (milliseconds) over `sorted` microsecond values, where `missing` more
/// samples never arrived: they count as slower than everything that did, so a percentile that
/// falls among them is `None` ("more than the drain timeout").
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub missing: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Latency {
    pub fn of(sorted: &[u32], missing: u64) -> Self {
        let total = sorted.len() as u64 + missing;
        let at = |q: f64| -> Option<f64> {
            if total == 0 {
                return None;
            }
            // Nearest rank: the smallest value with at least q of all samples at or below it.
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let index = (rank - 1) as usize;
            sorted.get(index).map(|&us| f64::from(us) / 1000.0)
        };
        Self {
            samples: sorted.len(),
            missing,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: if missing > 0 {
                None
            } else {
                sorted.last().map(|&us| f64::from(us) / 1000.0)
            },
        }
    }
}

/// Format an optional millisecond figure for the human report.
pub fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 10.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.1} ms"),
        None => "lost/late".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::of(&v, 0);
        assert_eq!(l.p50_ms, Some(50.0));
        assert_eq!(l.p99_ms, Some(99.0));
        assert_eq!(l.max_ms, Some(100.0));
    }

    #[test]
    fn missing_samples_count_as_slowest() {
        let v: Vec<u32> = (1..=98).map(|i| i * 1000).collect();
        let l = Latency::of(&v, 2);
        assert_eq!(l.p50_ms, Some(50.0));
        assert_eq!(l.p99_ms, None);
        assert_eq!(l.max_ms, None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample("self").expect("/proc/self");
        assert!(s.rss_kib > 0 && s.hwm_kib >= s.rss_kib);
        let t = threads("self").expect("/proc/self/task");
        assert!(!t.threads.is_empty());
        let (busy, total) = machine().expect("/proc/stat");
        assert!(total >= busy && busy >= 0.0);
    }
}
