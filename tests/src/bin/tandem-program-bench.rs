//! `tandem-program-bench`: time `GET /v1/program` on a relay holding a large program.
//!
//! ```text
//! tandem-program-bench [--workspaces 1000] [--checkins 12] [--cold-runs 3] [--warm-runs 20]
//! ```
//!
//! Writes `--workspaces` pairs' workspaces straight into a fresh relay data directory (as the
//! relay would have stored them after the pairs synced: see `tandem_tests::program`), each with
//! goals and milestones, `--checkins` rated check-ins over the last months, action items and a
//! pulse survey, a quarter of them quiet for two months so that the report has pairs at risk.
//! Then, for each of `--cold-runs`, it starts `tandem-server` on that directory (the binary next
//! to this one: build it with `cargo build --release -p tandem-server`, and this one with `cargo
//! build --release -p tandem-tests --bin tandem-program-bench`), asks once for the report with a
//! program token (*cold*: every document is loaded), then `--warm-runs` times more (*warm*: the
//! relay's cache of facts by heads answers), and stops the relay. Prints each figure, with the
//! CPU time the relay spent (from `/proc`), which a busy machine does not inflate.

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tandem_core::jiff::Timestamp;
use tandem_core::model::{GoalChanges, GoalStatus, NewAction, NewGoal};
use tandem_tests::program::{days, http, store_docs, Pair};

/// Time the coordinators' program report on a relay holding many workspaces.
#[derive(Debug, Parser)]
#[command(name = "tandem-program-bench", version)]
struct Args {
    /// How many pairs' workspaces the relay holds.
    #[arg(long, default_value_t = 1000)]
    workspaces: usize,
    /// Check-ins per workspace, each rated by both people.
    #[arg(long, default_value_t = 12)]
    checkins: i64,
    /// How many times to start the relay and ask for the report while nothing is cached.
    #[arg(long, default_value_t = 3)]
    cold_runs: usize,
    /// How many times to ask again after each cold request.
    #[arg(long, default_value_t = 20)]
    warm_runs: usize,
    /// Keep the relay's data here instead of in a temporary directory.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// One pair with a realistic few dozen items; `quiet` pairs have done nothing for two months.
fn pair(i: usize, now: Timestamp, checkins: i64, quiet: bool) -> Pair {
    let created = days(now, -200);
    let mut p = Pair::new(
        &format!("Mentor {i} & Mentee {i}"),
        &format!("Mentor {i}"),
        &format!("Mentee {i}"),
        created,
    );
    let (mentor, mentee) = (p.mentor.clone(), p.mentee.clone());
    let ws = p.at(created, &mentor);
    for g in 0..5 {
        let goal = ws
            .add_goal(NewGoal {
                title: format!("Goal {g} of pair {i}"),
                description: Some("Why this goal matters, in a sentence or two.".into()),
                ..Default::default()
            })
            .expect("add a goal");
        for m in 0..3 {
            let milestone = ws
                .add_milestone(&goal, &format!("Step {m}"), None)
                .expect("add a milestone");
            if m < g % 3 {
                ws.set_milestone_done(&goal, &milestone, true)
                    .expect("tick a milestone");
            }
        }
        let status = [GoalStatus::Done, GoalStatus::Active, GoalStatus::Open][g % 3].clone();
        ws.set_goal(
            &goal,
            GoalChanges {
                status: Some(status),
                ..Default::default()
            },
        )
        .expect("set a status");
    }
    let last = if quiet { -60 } else { -3 };
    for c in 0..checkins {
        let at = days(now, last - 14 * (checkins - 1 - c));
        let id = ws.add_checkin(at, "Agenda").expect("add a check-in");
        ws.rate_checkin(&id, 3 + (c + i as i64) % 3, None)
            .expect("rate a check-in");
        ws.act_as(Some(mentee.clone()));
        ws.rate_checkin(&id, 4, Some("Helpful"))
            .expect("rate a check-in");
        ws.act_as(Some(mentor.clone()));
    }
    for a in 0..6 {
        let id = ws
            .add_action(NewAction {
                title: format!("Action {a}"),
                due: Some(
                    days(now, 10 - 7 * a)
                        .to_zoned_datetime(tandem_core::jiff::tz::TimeZone::UTC)
                        .date(),
                ),
                ..Default::default()
            })
            .expect("add an action");
        if a % 2 == 0 {
            ws.set_action_done(&id, true).expect("finish an action");
        }
    }
    if !quiet {
        let ws = p.at(days(now, -1), &mentee);
        let today = days(now, -1)
            .to_zoned_datetime(tandem_core::jiff::tz::TimeZone::UTC)
            .date();
        ws.answer_survey(
            tandem_core::model::NewSurvey {
                progress: 2 + (i % 4) as i64,
                relationship: 4,
                recommend: 3,
                comment: Some("Going well.".into()),
            },
            today,
        )
        .expect("answer the pulse survey");
        ws.add_note(tandem_core::model::NewNote {
            title: Some("Yesterday's thoughts".into()),
            body: "A few lines after the last check-in.".into(),
            ..Default::default()
        })
        .expect("add a note");
    }
    p
}

/// `tandem-server`, next to this binary.
fn server_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this binary")?;
    let path = me.with_file_name(format!("tandem-server{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p tandem-server`",
            path.display()
        );
    }
    Ok(path)
}

/// A running relay, killed when dropped.
struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(server: &Path, data: &Path) -> Result<Server> {
    let mut child = Command::new(server)
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start tandem-server")?;
    let out = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    let port = loop {
        let Some(line) = lines.next() else {
            bail!("tandem-server exited before listening");
        };
        let line = line?;
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            break addr
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .context("no port in the listening line")?;
        }
    };
    // Keep draining stdout so the relay never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Server(child, port))
}

/// The CPU time the process `pid` has used so far, user and system, from `/proc` (Linux; `None`
/// elsewhere). On a shared machine the wall time of a request depends on what else runs; the CPU
/// time it costs the relay does not.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let (user, system): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    let ticks = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<u64>().ok())
        .unwrap_or(100);
    Some(Duration::from_secs_f64(
        (user + system) as f64 / ticks as f64,
    ))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    let scratch = tempfile::Builder::new()
        .prefix("tandem-program-bench-")
        .tempdir()?;
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| scratch.path().join("data"));
    std::fs::create_dir_all(&data)?;
    let server = server_binary()?;

    let now = Timestamp::now();
    let started = Instant::now();
    let docs = (0..args.workspaces)
        .map(|i| pair(i, now, args.checkins, i % 4 == 0).into_doc())
        .collect();
    store_docs(&data, docs);
    println!(
        "generated {} workspaces in {:.1} s",
        args.workspaces,
        started.elapsed().as_secs_f64()
    );

    let token = Command::new(&server)
        .args(["token", "create", "--all", "--role", "program", "--data"])
        .arg(&data)
        .output()
        .context("cannot create a program token")?;
    if !token.status.success() {
        bail!(
            "token create failed: {}",
            String::from_utf8_lossy(&token.stderr)
        );
    }
    let token = String::from_utf8(token.stdout)?.trim().to_string();

    let mut colds = Vec::new();
    let mut warms = Vec::new();
    let mut size = 0;
    for run in 0..args.cold_runs {
        let relay = start(&server, &data)?;
        let pid = relay.0.id();
        let cpu_before = cpu_time(pid);
        let t = Instant::now();
        let (status, body) = http(relay.1, "GET", "/v1/program", Some(&token), "");
        let cold = t.elapsed();
        let cpu = cpu_time(pid)
            .zip(cpu_before)
            .map(|(after, before)| format!(", relay CPU {:.0} ms", millis(after - before)))
            .unwrap_or_default();
        if status != 200 {
            bail!("the relay answered {status}: {body}");
        }
        let report: serde_json::Value = serde_json::from_str(&body)?;
        let pairs = report["workspaces"].as_array().map_or(0, Vec::len);
        let at_risk = report["workspaces"]
            .as_array()
            .map_or(0, |w| w.iter().filter(|p| p["at_risk"] == true).count());
        if pairs != args.workspaces {
            bail!("the report lists {pairs} pairs, not {}", args.workspaces);
        }
        size = body.len();
        println!(
            "cold run {}: {:.0} ms{cpu} ({pairs} pairs, {at_risk} at risk, {size} bytes)",
            run + 1,
            millis(cold)
        );
        colds.push(cold);
        let cpu_before = cpu_time(pid);
        for _ in 0..args.warm_runs {
            let t = Instant::now();
            let (status, _) = http(relay.1, "GET", "/v1/program", Some(&token), "");
            warms.push(t.elapsed());
            if status != 200 {
                bail!("the relay answered {status}");
            }
        }
        if let (Some(after), Some(before)) = (cpu_time(pid), cpu_before) {
            println!(
                "  warm: relay CPU {:.1} ms a request",
                millis(after - before) / args.warm_runs.max(1) as f64
            );
        }
        drop(relay);
    }
    let summary = |name: &str, mut times: Vec<Duration>| {
        if times.is_empty() {
            return;
        }
        times.sort();
        println!(
            "{name}: median {:.1} ms, min {:.1} ms, max {:.1} ms over {} requests",
            millis(times[times.len() / 2]),
            millis(times[0]),
            millis(times[times.len() - 1]),
            times.len()
        );
    };
    summary("cold", colds);
    summary("warm", warms);
    println!("report size: {size} bytes");
    Ok(())
}
