//! Crash safety with real processes and SIGKILL.
//!
//! The promise under test: whatever tandem reported as stored survives a crash at any moment,
//! and the store opens cleanly afterwards. "Reported as stored" is a `tandem` command that
//! exited 0 (every write is flushed before success), or a `tandem sync` that exited 0 (the relay
//! flushes a change before it tells anyone it has it, and the sync only succeeds once the relay
//! has said it holds everything).
//!
//! - The relay is SIGKILLed at random moments while several devices add goals and sync, and is
//!   started again on the same data; a new device then fetches every acknowledged goal.
//! - `tandem goal add`, `note add` (a large body) and `bundle import` (a large bundle) are
//!   SIGKILLed at random moments around their write.
//! - The same while documents are compacted (many small workspaces, so compaction is frequent).
//!
//! Moments are drawn from a seeded generator; every test prints its seed and figures
//! (`cargo test -p tandem-tests --test crash -- --nocapture`). Environment:
//! - `TANDEM_CRASH_SEED=N` repeats a run exactly (up to the operating system's timing).
//! - `TANDEM_CRASH_ROUNDS=N` makes a long run: N relay kills, and 8×N killed-or-not commands in
//!   each command test (the defaults, 5 and 40, keep the suite to seconds).
//!
//! SIGKILL ends the process, not the machine: what a process wrote reaches the page cache even
//! if it never called fsync, so these tests catch torn or unordered writes and recovery bugs, not
//! a lost fsync. A power cut is outside what a test on one machine can do.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_core::store::{docstore, Journaled, Storage};
use tandem_tests::{path_str, poll, Home, Relay, NOW};

// ----- knobs -----

/// `TANDEM_CRASH_ROUNDS`, or `default`.
fn rounds(default: usize) -> usize {
    match std::env::var("TANDEM_CRASH_ROUNDS") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("TANDEM_CRASH_ROUNDS must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// A generator for one test, seeded from `TANDEM_CRASH_SEED` or the clock; the seed is printed
/// so a failure can be repeated.
fn rng(test: &str) -> StdRng {
    let seed = match std::env::var("TANDEM_CRASH_SEED") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("TANDEM_CRASH_SEED must be a number, not {v:?}")),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            t.as_secs() ^ u64::from(t.subsec_nanos())
        }
    };
    println!("{test}: seed {seed} (repeat with TANDEM_CRASH_SEED={seed})");
    StdRng::seed_from_u64(seed)
}

// ----- processes that may be killed -----

/// How a command that may have been killed ended.
struct Outcome {
    status: ExitStatus,
    stderr: String,
    elapsed: Duration,
}

impl Outcome {
    fn killed(&self) -> bool {
        self.status.signal() == Some(9)
    }

    fn succeeded(&self) -> bool {
        self.status.success()
    }

    /// Insist that a command that was not killed succeeded without a panic.
    fn expect_ok_unless_killed(&self, what: &str) {
        assert!(
            !self.stderr.contains("panicked"),
            "`{what}` panicked:\n{}",
            self.stderr
        );
        assert!(
            self.killed() || self.succeeded(),
            "`{what}` failed after earlier kills ({}): the store may be damaged\n{}",
            self.status,
            self.stderr
        );
    }
}

/// Run `cmd`, and SIGKILL it after `kill_after` if it is still running then.
fn run_killing(mut cmd: Command, kill_after: Option<Duration>) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("cannot start tandem");
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    if let Some(after) = kill_after {
        std::thread::sleep(after);
        // If the command has already exited, this signals a zombie and changes nothing: the
        // exit status below tells which happened.
        let _ = child.kill();
    }
    let status = child.wait().expect("cannot wait for tandem");
    let elapsed = started.elapsed();
    Outcome {
        status,
        stderr: reader.join().unwrap_or_default(),
        elapsed,
    }
}

/// Typical duration of one kind of command, from its recent uncut runs, to aim kills at it.
#[derive(Default)]
struct Timing {
    recent: Vec<Duration>,
}

impl Timing {
    fn record(&mut self, outcome: &Outcome) {
        if outcome.succeeded() {
            self.recent.push(outcome.elapsed);
            if self.recent.len() > 7 {
                self.recent.remove(0);
            }
        }
    }

    /// The median of the recent uncut runs; `None` before the first.
    fn typical(&self) -> Option<Duration> {
        let mut all = self.recent.clone();
        all.sort();
        all.get(all.len() / 2).copied()
    }

    /// When to kill: mostly in the last part of the command, where it writes and flushes, and
    /// sometimes anywhere from the very start; now and then not at all, and never before the
    /// first uncut run has shown how long the command takes.
    fn kill_after(&self, rng: &mut StdRng) -> Option<Duration> {
        let d = self.typical()?.as_secs_f64();
        let at = match rng.gen_range(0..10) {
            0 => return None,
            1..=3 => rng.gen_range(0.0..d),
            _ => rng.gen_range(0.6 * d..1.3 * d),
        };
        Some(Duration::from_secs_f64(at))
    }
}

/// A line now and then in a long run, so it shows it is alive.
fn progress(what: &str, i: usize, of: usize, started: Instant) {
    if (i + 1).is_multiple_of(200) {
        println!(
            "{what}: {} of {of} after {:.0}s",
            i + 1,
            started.elapsed().as_secs_f64()
        );
    }
}

// ----- stores, inspected on a copy so the check itself changes nothing -----

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("cannot create a copy directory");
    for entry in std::fs::read_dir(from).expect("cannot read a store directory") {
        let entry = entry.expect("cannot read a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("cannot copy a store file");
        }
    }
}

/// What a store holds for one document.
#[derive(Debug, Clone, PartialEq)]
struct DocChunks {
    snapshots: BTreeSet<Vec<u8>>,
    incrementals: usize,
}

/// The number of the oldest segment of the relay's journal in the store at `dir`. A relay
/// starts with one segment, and a checkpoint deletes the segments it sealed once sled holds
/// them, so a changed number shows that one completed.
fn journal_segment(dir: &Path) -> u64 {
    let journal = dir.join(tandem_core::store::journal::FILE_NAME);
    tandem_core::store::journal::segments(&journal)
        .expect("cannot list the relay's journal")
        .first()
        .expect("the relay's journal has a segment")
        .0
}

/// Open a copy of the sled store at `dir` as tandem opens it, load every document in it (or
/// only `only`) with `docstore`, and return their chunks. Panics if the store or a document is
/// damaged.
fn inspect_store(dir: &Path, what: &str, only: Option<&str>) -> BTreeMap<String, DocChunks> {
    let scratch = tempfile::Builder::new()
        .prefix("tandem-crash-copy-")
        .tempdir()
        .expect("cannot create a scratch directory");
    let copy = scratch.path().join("store");
    copy_dir(dir, &copy);
    // A relay's store is sled plus the journal inside its directory; a home has no journal, and
    // opening one in this scratch copy changes nothing.
    let store = Journaled::open_sled(&copy)
        .unwrap_or_else(|e| panic!("{what}: the store does not open after a kill: {e}"));
    let ids = match only {
        Some(id) => vec![id.to_string()],
        None => docstore::list(&store).unwrap_or_else(|e| panic!("{what}: cannot list: {e}")),
    };
    let mut out = BTreeMap::new();
    for id in ids {
        if let Err(e) = docstore::load(&store, &id) {
            panic!("{what}: document {id} does not load after a kill: {e}");
        }
        let mut chunks = DocChunks {
            snapshots: BTreeSet::new(),
            incrementals: 0,
        };
        let prefix = format!("doc/{id}/");
        for (key, _) in store.scan_prefix(prefix.as_bytes()).expect("scan") {
            let rest = &key[prefix.len()..];
            if rest.starts_with(b"snapshot/") {
                chunks.snapshots.insert(key.clone());
            } else if rest.starts_with(b"incremental/") {
                chunks.incrementals += 1;
            }
        }
        out.insert(id, chunks);
    }
    out
}

// ----- reading a home -----

fn titles(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .filter_map(|item| item["title"].as_str().map(str::to_string))
        .collect()
}

fn goal_titles(home: &Home, workspace: Option<&str>) -> BTreeSet<String> {
    match workspace {
        Some(ws) => titles(&home.json(&["-w", ws, "goal", "list"])),
        None => titles(&home.json(&["goal", "list"])),
    }
}

fn missing<'a>(wanted: &'a BTreeSet<String>, have: &BTreeSet<String>) -> Vec<&'a String> {
    wanted.iter().filter(|t| !have.contains(*t)).collect()
}

/// Text of about `len` bytes, different for each `seed`, so chunks do not deduplicate.
fn filler(seed: usize, len: usize) -> String {
    let words = [
        "mentoring",
        "practice",
        "review",
        "pairing",
        "feedback",
        "reading",
        "ownership",
        "testing",
        "design",
        "listening",
        "deadline",
        "ship",
        "café",
        "naïve",
        "☕",
    ];
    let mut out = String::with_capacity(len + 16);
    let mut i = seed.wrapping_mul(2_654_435_761);
    while out.len() < len {
        i = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push_str(words[(i >> 33) % words.len()]);
        out.push(if (i >> 20).is_multiple_of(11) {
            '\n'
        } else {
            ' '
        });
    }
    out
}

// ----- 1. the relay killed during heavy sync -----

/// A `tandem join` code for `doc_id` on an open relay, as `tandem invite` builds one.
fn invite_code(relay: &str, doc_id: &str, title: &str) -> String {
    let invite = json!({ "r": relay, "w": doc_id, "o": "mentee", "n": title });
    let bytes = serde_json::to_vec(&invite).unwrap();
    format!("tandem1{}", bs58::encode(bytes).into_string())
}

/// What one writing device did.
#[derive(Default)]
struct WriterLog {
    added: BTreeSet<String>,
    acknowledged: BTreeSet<String>,
    syncs_ok: usize,
    syncs_failed: usize,
    /// Why syncs failed (each reason once), to print with the figures.
    failures: BTreeSet<String>,
}

/// Sets its flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn the_relay_killed_during_heavy_sync_keeps_every_acknowledged_goal() {
    let kills = rounds(5);
    let mut rng = rng("relay kills");
    // Small checkpoints, so that kills also land while sled takes the journal's writes, and
    // after it has some.
    let mut relay = Relay::start_with(true, &["--checkpoint-kib", "16"], &[]);
    let url = Arc::new(Mutex::new(relay.url()));

    let ana = Home::new();
    let ws = ana.init("Crash test", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    let mut homes = vec![ana];
    for name in ["Ben", "Cleo"] {
        let home = Home::new();
        let code = invite_code(&relay.url(), &ws, "Crash test");
        home.ok(&["-q", "join", &code, "--name", name]);
        homes.push(home);
    }

    // Writers: add a goal with a sizeable description, sync, repeat. A sync that exits 0 means
    // the relay holds everything this device had, so every goal added before it is acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    // Writers stop when the test ends, however it ends.
    let _stop_writers = StopOnDrop(stop.clone());
    let synced = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for (w, home) in homes.into_iter().enumerate() {
        let (stop, url, synced) = (stop.clone(), url.clone(), synced.clone());
        let seed: u64 = rng.gen();
        writers.push(std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut log = WriterLog::default();
            let mut pending = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let title = format!("w{w}-{i}");
                let description = filler(w * 100_000 + i, rng.gen_range(100..3000));
                let out = home.run(&["-q", "goal", "add", &title, "--description", &description]);
                assert!(
                    out.status.success(),
                    "a local goal add failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                log.added.insert(title.clone());
                pending.push(title);
                if rng.gen_bool(0.3) {
                    continue; // several goals per sync now and then
                }
                let server = url.lock().unwrap().clone();
                // The relay comes back on a new port: --move follows it there.
                let out = home.run(&[
                    "-q",
                    "sync",
                    "--server",
                    &server,
                    "--move",
                    "--timeout",
                    "10",
                ]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!stderr.contains("panicked"), "sync panicked:\n{stderr}");
                if out.status.success() {
                    synced.fetch_add(1, Ordering::SeqCst);
                    log.syncs_ok += 1;
                    log.acknowledged.extend(pending.drain(..));
                } else {
                    log.syncs_failed += 1;
                    // Port numbers differ from relay to relay; the reason is what matters.
                    let reason: String = stderr
                        .trim()
                        .chars()
                        .map(|c| if c.is_ascii_digit() { '#' } else { c })
                        .collect();
                    log.failures.insert(reason);
                    std::thread::sleep(Duration::from_millis(rng.gen_range(5..60)));
                }
            }
            (home, log)
        }));
    }

    let started = Instant::now();
    // Runs of the relay in which a checkpoint completed before the kill.
    let mut checkpointed = 0;
    let mut journal_at_start = journal_segment(&relay.data().join("sled"));
    for round in 0..kills {
        // Each round some sync has succeeded since the last restart, so every crash has
        // acknowledged changes to lose; then the kill comes at a random moment.
        let before = synced.load(Ordering::SeqCst);
        poll(Duration::from_secs(60), || {
            (synced.load(Ordering::SeqCst) > before).then_some(())
        })
        .unwrap_or_else(|| panic!("no sync succeeded after restart {round}:\n{}", relay.log()));
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..1500)));
        let log = relay.log();
        assert!(!log.contains("panicked"), "the relay panicked:\n{log}");
        let store = relay.data().join("sled");
        if journal_segment(&store) != journal_at_start {
            checkpointed += 1;
        }
        relay.kill();
        assert!(store.is_dir(), "no relay store at {}", store.display());
        inspect_store(&store, &format!("relay after kill {round}"), None);
        // The next round (or the late device below) syncs with it, which shows that it opened
        // its store and serves again.
        relay.start_again();
        *url.lock().unwrap() = relay.url();
        journal_at_start = journal_segment(&store);
        if (round + 1).is_multiple_of(25) {
            println!(
                "relay kills: {} of {kills} after {:.0}s",
                round + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut homes = Vec::new();
    let mut acknowledged = BTreeSet::new();
    let mut added = BTreeSet::new();
    let (mut ok, mut failed) = (0, 0);
    let mut reasons = BTreeSet::new();
    for writer in writers {
        let (home, log) = writer.join().expect("a writer panicked");
        acknowledged.extend(log.acknowledged);
        added.extend(log.added);
        ok += log.syncs_ok;
        failed += log.syncs_failed;
        reasons.extend(log.failures);
        homes.push(home);
    }
    println!(
        "relay kills: {kills} in {:.1}s; goals added {}, acknowledged {}; syncs ok {ok}, failed {failed}; runs with a checkpoint before the kill {checkpointed}",
        started.elapsed().as_secs_f64(),
        added.len(),
        acknowledged.len()
    );
    for reason in &reasons {
        println!("  a sync failed with: {reason}");
    }
    assert!(
        ok > 0,
        "no sync succeeded, so nothing was tested:\n{}",
        relay.log()
    );
    assert!(
        checkpointed > 0,
        "no checkpoint had completed before any kill, so the journal was never handed to sled"
    );

    // A new device fetches from the relay as the last crash left it: every acknowledged goal
    // is there, though the writers have not synced since.
    let late = Home::new();
    late.ok(&[
        "-q",
        "join",
        &invite_code(&relay.url(), &ws, "Crash test"),
        "--name",
        "Dev",
    ]);
    let have = goal_titles(&late, None);
    let lost = missing(&acknowledged, &have);
    assert!(
        lost.is_empty(),
        "the relay lost {} acknowledged goal(s): {lost:?}\n{}",
        lost.len(),
        relay.log()
    );

    // And once every writer syncs again (following the relay to its latest port), everyone has
    // every goal.
    for home in &homes {
        home.ok(&["-q", "sync", "--server", &relay.url(), "--move"]);
    }
    late.ok(&["-q", "sync"]);
    let have = goal_titles(&late, None);
    let lost = missing(&added, &have);
    assert!(lost.is_empty(), "goals never arrived: {lost:?}");
    let log = relay.log();
    assert!(!log.contains("panicked"), "the relay panicked:\n{log}");
}

// ----- 2. tandem commands killed mid-write -----

/// A large workspace made in-process (tandem-core on memory storage), written out as bundles:
/// each bundle is the whole workspace, optionally after adding one more goal.
struct BigWorkspace {
    home: tandem_core::store::Home,
    opened: tandem_core::store::Opened,
    now: tandem_core::jiff::Timestamp,
}

impl BigWorkspace {
    fn new(goals: usize, bytes: usize) -> Self {
        use tandem_core::model::{NewGoal, NewNote, Role};
        let now: tandem_core::jiff::Timestamp = NOW.parse().unwrap();
        let store = Arc::new(tandem_core::store::MemoryStorage::default());
        let home = tandem_core::store::Home::open(store).unwrap();
        let mut opened = home
            .create_workspace("Big plan", "Ana", Role::Mentor, now)
            .unwrap();
        let per_item = bytes / (goals + goals / 10).max(1);
        for i in 0..goals {
            opened
                .ws
                .add_goal(NewGoal {
                    title: format!("seed goal {i}"),
                    description: Some(filler(i, per_item)),
                    ..Default::default()
                })
                .unwrap();
            if i % 10 == 0 {
                opened
                    .ws
                    .add_note(NewNote {
                        title: Some(format!("seed note {i}")),
                        body: filler(i + 7, per_item),
                        ..Default::default()
                    })
                    .unwrap();
            }
        }
        home.save(&mut opened).unwrap();
        Self { home, opened, now }
    }

    /// Add a goal and write the whole workspace as a bundle file.
    fn bundle_with(&mut self, goal: Option<&str>, file: &Path) {
        if let Some(title) = goal {
            self.opened
                .ws
                .add_goal(tandem_core::model::NewGoal {
                    title: title.to_string(),
                    ..Default::default()
                })
                .unwrap();
            self.home.save(&mut self.opened).unwrap();
        }
        let bundle = self.home.export_bundle(self.opened.id(), self.now).unwrap();
        std::fs::write(file, bundle.encode()).expect("cannot write a bundle");
    }
}

#[test]
fn tandem_commands_killed_mid_write_keep_everything_they_reported_stored() {
    let commands = 8 * rounds(5);
    let mut rng = rng("command kills");
    let started = Instant::now();

    // The home works on a large workspace (joined from a bundle), so writes take measurable
    // time and large notes force compactions of a large document.
    let mut big = BigWorkspace::new(150, 120_000);
    let home = Home::new();
    let base = home.file("base.bundle");
    big.bundle_with(None, &base);
    let joined = home.json(&[
        "bundle",
        "import",
        path_str(&base),
        "--name",
        "Ben",
        "--role",
        "mentee",
    ]);
    let ws = joined["workspace"]
        .as_str()
        .unwrap_or_else(|| panic!("no workspace in {joined}"))
        .to_string();

    // (kind, item, killed) for every command run.
    let mut runs: Vec<(&str, String, bool)> = Vec::new();
    let mut timings: BTreeMap<&str, Timing> = BTreeMap::new();
    let bundle = home.file("next.bundle");
    for i in 0..commands {
        let kind = match rng.gen_range(0..10) {
            0..=5 => "goal add",
            6..=8 => "note add",
            _ => "bundle import",
        };
        let (cmd, item) = match kind {
            "goal add" => {
                let title = format!("goal {i}");
                (home.command(&["-q", "goal", "add", &title]), title)
            }
            "note add" => {
                let title = format!("note {i}");
                let body = filler(i, rng.gen_range(2_000..30_000));
                (
                    home.command(&["-q", "note", "add", "--title", &title, &body]),
                    title,
                )
            }
            _ => {
                // Each bundle holds everything before it plus one new goal.
                let title = format!("bundle goal {i}");
                big.bundle_with(Some(&title), &bundle);
                (
                    home.command(&["-q", "bundle", "import", path_str(&bundle)]),
                    title,
                )
            }
        };
        let timing = timings.entry(kind).or_default();
        let outcome = run_killing(cmd, timing.kill_after(&mut rng));
        outcome.expect_ok_unless_killed(kind);
        timing.record(&outcome);
        runs.push((kind, item, outcome.killed()));
        progress("command kills", i, commands, started);
    }

    // The store opens, and every command that reported success left its item behind.
    let plan = run_killing(home.command(&["plan"]), None);
    assert!(
        plan.succeeded(),
        "`tandem plan` failed after the kills:\n{}",
        plan.stderr
    );
    inspect_store(&home.store(), "home after command kills", None);
    let goals = goal_titles(&home, Some(&ws));
    let notes = titles(&home.json(&["-w", &ws, "note", "list"]));
    let mut lost = Vec::new();
    // kind -> (runs, killed, killed but already stored)
    let mut figures: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (kind, item, killed) in &runs {
        let present = if *kind == "note add" {
            notes.contains(item)
        } else {
            goals.contains(item)
        };
        if !killed && !present {
            lost.push(format!("{kind} {item}"));
        }
        let f = figures.entry(kind).or_default();
        f.0 += 1;
        if *killed {
            f.1 += 1;
            // A later bundle carries every earlier bundle goal, so for imports this counts
            // what later imports brought too.
            f.2 += usize::from(present);
        }
    }
    assert!(
        lost.is_empty(),
        "commands reported success but their items are gone: {lost:?}"
    );
    for (kind, (n, killed, stored)) in &figures {
        println!(
            "{kind}: {n} runs, {killed} killed ({stored} of those after storing), {} succeeded; \
             typical {:?}",
            n - killed,
            timings[kind].typical().unwrap_or_default()
        );
    }
    println!(
        "command kills: {commands} commands in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        figures.values().any(|f| f.1 > 0),
        "no command was killed, so nothing was tested"
    );
}

// ----- 3. kills while documents compact -----

#[test]
fn commands_killed_while_compacting_keep_everything_and_the_store_opens() {
    let commands = 8 * rounds(5);
    let mut rng = rng("compaction kills");
    let started = Instant::now();
    let home = Home::new();
    let mut workspaces: Vec<(String, BTreeSet<String>)> = Vec::new();
    let mut timing = Timing::default();
    let (mut killed, mut compactions, mut killed_after_compacting) = (0, 0, 0);
    let mut before = BTreeMap::new();
    for i in 0..commands {
        // A new small workspace every twenty commands, and goals with descriptions of several KB:
        // a small document's increments soon reach docstore's compaction threshold (its
        // snapshot's size, or 4 KiB if that is more), so a compaction comes every few writes.
        if i % 20 == 0 {
            let id = home.init(&format!("Compaction {i}"), "Ana", "mentor");
            before = inspect_store(&home.store(), "home", Some(&id));
            workspaces.push((id, BTreeSet::new()));
        }
        let title = format!("c{i}");
        let description = filler(i, rng.gen_range(8_000..32_000));
        let cmd = home.command(&["-q", "goal", "add", &title, "--description", &description]);
        let outcome = run_killing(cmd, timing.kill_after(&mut rng));
        outcome.expect_ok_unless_killed("goal add");
        timing.record(&outcome);
        if outcome.killed() {
            killed += 1;
        } else {
            workspaces.last_mut().unwrap().1.insert(title);
        }
        // Every command leaves a store that opens and a current document that loads.
        let id = &workspaces.last().unwrap().0;
        let after = inspect_store(&home.store(), &format!("home after command {i}"), Some(id));
        let compacted = match (before.get(id), after.get(id)) {
            (Some(b), Some(a)) => b.snapshots != a.snapshots,
            _ => false,
        };
        if compacted {
            compactions += 1;
            if outcome.killed() {
                killed_after_compacting += 1;
            }
        }
        before = after;
        progress("compaction kills", i, commands, started);
    }
    let plan = run_killing(home.command(&["plan"]), None);
    assert!(plan.succeeded(), "`tandem plan` failed:\n{}", plan.stderr);
    inspect_store(&home.store(), "home after compaction kills", None);
    for (id, titles) in &workspaces {
        let have = goal_titles(&home, Some(id));
        let lost = missing(titles, &have);
        assert!(lost.is_empty(), "workspace {id} lost {lost:?}");
    }
    println!(
        "compaction kills: {commands} goal adds in {} workspaces, {killed} killed, {compactions} \
         compactions ({killed_after_compacting} killed after the compaction landed); typical \
         {:?}; {:.1}s",
        workspaces.len(),
        timing.typical().unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        compactions > 0,
        "no compaction happened, so nothing was tested"
    );
    assert!(killed > 0, "no command was killed, so nothing was tested");
}
