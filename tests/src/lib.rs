//! Support for tandem's end-to-end tests: find the real binaries and run them in throwaway homes.
//!
//! The tests drive the `tandem` and `tandem-server` binaries exactly as a person or a script
//! would, so this crate mostly locates them and gives each test a private, reproducible home:
//! a temporary directory, a pinned clock ([`NOW`]), the UTC time zone and no colours.
//!
//! It also holds the steps and checks that several test files share, so that each is written
//! once and reads the same everywhere: what a refused command must print, partners exchanging
//! bundles, the README tour's first goal, and the meeting note two partners edit at once.

pub mod program;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// The instant every command believes it is, so "overdue" and timestamps are reproducible.
pub const NOW: &str = "2026-11-28T10:00:00Z";

/// The workspace root, where `cargo build` must run to build the binaries under test.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
        .to_path_buf()
}

/// The directory cargo puts debug binaries in: `$CARGO_TARGET_DIR/debug`, or `target/debug` of
/// the workspace. A relative `CARGO_TARGET_DIR` is taken relative to the workspace root, which is
/// where cargo is normally run.
pub fn bin_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    };
    target.join("debug")
}

/// The path of a workspace binary such as `tandem` or `tandem-server`.
///
/// This package does not own those binaries, so cargo does not build them for its tests, and
/// `cargo test --workspace` builds the CLI only as a test harness. So each test process runs
/// `cargo build` for both once before its first use: a no-op when they are current, and the only
/// way to be sure a test never runs a binary older than the code it tests.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    {
        BUILD.call_once(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
            let status = Command::new(cargo)
                .args(["build", "-p", "tandem", "-p", "tandem-server"])
                .current_dir(workspace_root())
                .status()
                .expect("cannot run cargo to build the tandem binaries");
            assert!(status.success(), "building the tandem binaries failed");
        });
    }
    assert!(
        path.exists(),
        "{} is missing even after building",
        path.display()
    );
    path
}

/// The `tandem` client binary.
pub fn tandem() -> PathBuf {
    bin("tandem")
}

/// The `tandem-server` relay binary.
pub fn tandem_server() -> PathBuf {
    bin("tandem-server")
}

/// A device's tandem home in a temporary directory, deleted when the value is dropped.
///
/// Every command run through it gets `--home`, the pinned clock, `TZ=UTC` and `NO_COLOR=1`, and
/// none of the caller's own `TANDEM_*`, `EDITOR` or `VISUAL` settings, so tests cannot depend on
/// the machine they run on.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    /// A new, empty home (no workspace yet).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tandem-home-")
            .tempdir()
            .expect("cannot create a temporary home");
        Self { dir }
    }

    /// The home directory passed as `--home`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The sled store inside the home, for tests that lock or damage it.
    pub fn store(&self) -> PathBuf {
        self.path().join("store")
    }

    /// A file name inside the home's directory that no command uses, for bundles and exports.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// `tandem --home HOME ARGS` with the home's environment (see [`Home`]), standard streams
    /// not yet set, for a test that runs the process itself, to kill it midway say. Every
    /// command of this home is built here, so none can miss a part of that environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(tandem());
        cmd.arg("--home")
            .arg(self.path())
            .args(args)
            .env("TANDEM_NOW", NOW)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env_remove("TANDEM_HOME")
            .env_remove("TANDEM_TOKEN")
            .env_remove("VISUAL")
            .env("EDITOR", "false");
        cmd
    }

    /// Start describing one command, to set its editor, standard input or environment.
    pub fn call(&self) -> Call<'_> {
        Call {
            home: self,
            env: Vec::new(),
            stdin: None,
        }
    }

    /// Run a command with `$EDITOR` set to `editor` (run by the CLI as `sh -c "$EDITOR FILE"`).
    pub fn with_editor(&self, editor: &str) -> Call<'_> {
        self.call().env("EDITOR", editor)
    }

    /// Run a command with `input` on its standard input.
    pub fn with_stdin(&self, input: &str) -> Call<'_> {
        self.call().stdin(input)
    }

    /// Run `tandem ARGS` and return whatever happened.
    pub fn run(&self, args: &[&str]) -> Output {
        self.call().run(args)
    }

    /// Run `tandem ARGS`, insist on success, and return standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.call().ok(args)
    }

    /// Start `tandem ARGS` in the background, stopped when the returned value is dropped.
    pub fn spawn(&self, args: &[&str]) -> Background {
        self.call().spawn(args)
    }

    /// Run `tandem --json ARGS`, insist on success, and parse standard output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        self.call().json(args)
    }

    /// Run `tandem ARGS`, insist on failure, and return the exit code and standard error.
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        self.call().fails(args)
    }

    /// Create a workspace here as `name` and return its id.
    pub fn init(&self, title: &str, name: &str, role: &str) -> String {
        let out = self.ok(&[
            "-q", "init", "--title", title, "--name", name, "--role", role,
        ]);
        out.trim().to_string()
    }

    /// Run an `add` command quietly and return the new item's id.
    pub fn add(&self, args: &[&str]) -> String {
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        let id = self.ok(&all).trim().to_string();
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "not an id: {id:?}"
        );
        id
    }

    /// The whole current workspace as `export --format json`, to compare homes or detect damage.
    pub fn export_json(&self) -> serde_json::Value {
        let text = self.ok(&["export", "--format", "json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("export is not JSON ({e}):\n{text}"))
    }

    /// Write this home's current workspace to a bundle file named `name` and return its path.
    pub fn bundle(&self, name: &str) -> PathBuf {
        let file = self.file(name);
        self.ok(&["bundle", "export", path_str(&file)]);
        file
    }
}

/// One command about to run in a [`Home`], with extra environment or standard input.
pub struct Call<'h> {
    home: &'h Home,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

impl Call<'_> {
    /// Set an environment variable for this command, overriding the home's defaults.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Feed `input` to the command's standard input.
    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.to_string());
        self
    }

    /// `tandem --home HOME ARGS` with the home's environment and this command's own,
    /// standard streams not yet set.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.home.command(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Start `tandem ARGS` in the background (e.g. `sync --watch`); it is stopped when the
    /// returned value is dropped. Its output goes to a log, see [`Background::log`].
    pub fn spawn(self, args: &[&str]) -> Background {
        Background::spawn(self.command(args), &format!("tandem {}", args.join(" ")))
    }

    /// Run `tandem ARGS` and return whatever happened.
    pub fn run(self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("cannot start tandem");
        // Writing and then dropping stdin closes it, so a command reading it never waits forever.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(input) = &self.stdin {
            pipe.write_all(input.as_bytes())
                .expect("cannot write to tandem's stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("cannot wait for tandem")
    }

    /// Run `tandem ARGS`, insist on success, and return standard output.
    pub fn ok(self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`tandem {}` failed with {}\nstderr: {}\nstdout: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
        );
        String::from_utf8(out.stdout).expect("tandem printed invalid UTF-8")
    }

    /// Run `tandem --json ARGS`, insist on success, and parse standard output.
    pub fn json(self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("`tandem {}` printed no JSON ({e}):\n{text}", all.join(" ")))
    }

    /// Run `tandem ARGS`, insist on failure, and return the exit code and standard error.
    pub fn fails(self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "`tandem {}` should have failed\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
        );
        assert!(
            !stderr.contains("panicked"),
            "`tandem {}` panicked:\n{stderr}",
            args.join(" ")
        );
        let code = out.status.code().expect("tandem was killed by a signal");
        (code, stderr)
    }
}

/// A path as a `&str` argument; test paths are always valid UTF-8.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

// ----- what a home holds -----

/// The titles of the goals in `home`'s current workspace, in `goal list` order.
pub fn goal_titles(home: &Home) -> Vec<String> {
    home.json(&["goal", "list"])
        .as_array()
        .expect("goal list is a list")
        .iter()
        .map(|g| text(g, "title").to_string())
        .collect()
}

/// Whether `home`'s current workspace has a goal titled `title`.
pub fn has_goal(home: &Home, title: &str) -> bool {
    goal_titles(home).iter().any(|t| t == title)
}

// ----- how a refused command fails -----

/// Run `tandem ARGS`, expecting a user error: exit code 1 and exactly one line on stderr
/// starting with `tandem: `. Returns the line.
pub fn user_error(home: &Home, args: &[&str]) -> String {
    let (code, stderr) = home.fails(args);
    assert_eq!(
        code,
        1,
        "`tandem {}` exit code; stderr: {stderr}",
        args.join(" ")
    );
    assert_one_line(&stderr, args);
    stderr.trim_end().to_string()
}

/// Run a command line that clap must refuse before anything runs: exit code 2, and clap's
/// explanation on stderr. Returns stderr.
pub fn usage_error(home: &Home, args: &[&str]) -> String {
    let (code, stderr) = home.fails(args);
    assert_eq!(
        code,
        2,
        "`tandem {}` exit code; stderr: {stderr}",
        args.join(" ")
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// Check that stderr is the single `tandem: …` line the CLI contract promises; `args` only
/// names the command in the failure message.
pub fn assert_one_line(stderr: &str, args: &[&str]) {
    let trimmed = stderr.trim_end();
    assert!(
        trimmed.starts_with("tandem: ") && trimmed.lines().count() == 1,
        "`tandem {}` should print one line starting 'tandem: ', got:\n{stderr}",
        args.join(" ")
    );
}

/// Run a quiet sync (`-q sync ARGS`) that must fail as a [`user_error`]; returns its one line.
pub fn failed_sync(home: &Home, args: &[&str]) -> String {
    let mut all = vec!["-q", "sync"];
    all.extend_from_slice(args);
    user_error(home, &all)
}

// ----- partners who exchange bundles, with no relay -----

/// Make `home` a partner in `from`'s current workspace, as `name` with `role`, by importing a
/// bundle of it.
pub fn join_from_bundle(from: &Home, home: &Home, name: &str, role: &str) {
    let bundle = from.bundle("join.tandem");
    home.ok(&[
        "bundle",
        "import",
        path_str(&bundle),
        "--name",
        name,
        "--role",
        role,
    ]);
}

/// A mentor, Ana, and a mentee, Ben, who joined her workspace from a bundle.
pub fn pair() -> (Home, Home) {
    let (ana, ben) = (Home::new(), Home::new());
    ana.init("Ana & Ben", "Ana", "mentor");
    join_from_bundle(&ana, &ben, "Ben", "mentee");
    (ana, ben)
}

/// Both homes export a bundle, then each imports the other's: a full exchange.
pub fn exchange(a: &Home, b: &Home) {
    let (from_a, from_b) = (a.bundle("out.tandem"), b.bundle("out.tandem"));
    b.ok(&["bundle", "import", path_str(&from_a)]);
    a.ok(&["bundle", "import", path_str(&from_b)]);
}

// ----- the README tour -----

/// Add the README tour's first goal to `home`'s current workspace: shipping a Rust CLI by
/// 2026-12-20, owned by Ana. Returns its id. The tests that retrace the tour or show it start
/// from this one goal, so it reads the same everywhere.
pub fn add_the_rust_cli_goal(home: &Home) -> String {
    home.add(&[
        "goal",
        "add",
        "Ship a Rust CLI",
        "--due",
        "2026-12-20",
        "--owner",
        "Ana",
    ])
}

// ----- the meeting note two partners edit at once -----

/// The note of a meeting that Ana and Ben both edit offline in the convergence tests: Ana adds
/// the time of day to its first sentence ([`ANAS_NOTE_EDIT`]) and Ben narrows its second
/// ([`BENS_NOTE_EDIT`]). The edits touch different words, so a merge keeps both and reads
/// [`MEETING_NOTE_MERGED`].
pub const MEETING_NOTE: &str = "We met today. Next week we pair on tests.";

/// Ana's edit of [`MEETING_NOTE`], as the `$EDITOR` that makes it.
pub const ANAS_NOTE_EDIT: &str = "sed -i 's/today/today at noon/'";

/// Ben's edit of [`MEETING_NOTE`], as the `$EDITOR` that makes it.
pub const BENS_NOTE_EDIT: &str = "sed -i 's/tests/integration tests/'";

/// [`MEETING_NOTE`] with both Ana's and Ben's edits.
pub const MEETING_NOTE_MERGED: &str =
    "We met today at noon. Next week we pair on integration tests.";

/// Offline and at the same time, Ana and Ben each edit the meeting note `note` (an id, or a
/// prefix of one) in their editor, so that the next exchange has two text edits to merge.
pub fn edit_the_meeting_note_apart(ana: &Home, ben: &Home, note: &str) {
    ana.with_editor(ANAS_NOTE_EDIT).ok(&["note", "edit", note]);
    ben.with_editor(BENS_NOTE_EDIT).ok(&["note", "edit", note]);
}

/// [`edit_the_meeting_note_apart`], and then Ana sets `goal`'s status to `active` while Ben sets
/// it to `done`: the next sync must keep both note edits and show the status as a conflict
/// between those two values.
pub fn edit_the_meeting_note_and_goal_status_apart(ana: &Home, ben: &Home, note: &str, goal: &str) {
    edit_the_meeting_note_apart(ana, ben, note);
    ana.ok(&["goal", "set", goal, "--status", "active"]);
    ben.ok(&["goal", "set", goal, "--status", "done"]);
}

// ----- processes in the background: relays, reference servers, watchers -----

/// How long a server may take to bind and print `listening on 127.0.0.1:PORT`.
const STARTUP: Duration = Duration::from_secs(20);

/// How long a stopped process may take to exit after SIGTERM or SIGINT before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// Send `signal` (a name such as `TERM`, `INT` or `KILL`) to the process `pid` with kill(1);
/// the workspace forbids `unsafe`, so libc is not an option.
fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Wait for `child` to exit, for at most `limit`.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    }
}

/// A process running in the background with its standard output and error in log files. It is
/// killed (SIGKILL) and reaped when dropped, so a failing test leaves nothing running.
pub struct Background {
    child: Child,
    what: String,
    logs: tempfile::TempDir,
    exit: Option<ExitStatus>,
}

impl Background {
    /// Start `cmd` with no standard input and its output going to log files.
    pub fn spawn(mut cmd: Command, what: &str) -> Self {
        let logs = tempfile::Builder::new()
            .prefix("tandem-logs-")
            .tempdir()
            .expect("cannot create a log directory");
        let out = std::fs::File::create(logs.path().join("stdout")).expect("cannot create a log");
        let err = std::fs::File::create(logs.path().join("stderr")).expect("cannot create a log");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        Self {
            child,
            what: what.to_string(),
            logs,
            exit: None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process printed on standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stdout")).unwrap_or_default()
    }

    /// Everything the process printed on standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr")).unwrap_or_default()
    }

    /// Both logs, labelled, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "--- `{}` stdout:\n{}--- stderr:\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        )
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("cannot poll a child process");
        }
        self.exit.is_none()
    }

    /// Wait up to `limit` for the process to exit by itself; `None` if it is still running.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = wait_at_most(&mut self.child, limit);
        }
        self.exit
    }

    /// Send `signal` (`TERM`, `INT`, `KILL`, …) without waiting.
    pub fn signal(&mut self, signal: &str) {
        if self.running() {
            send_signal(self.pid(), signal);
        }
    }

    /// Ask the process to stop with `signal` and wait for it; kill it if it takes longer than a
    /// few seconds. Returns how it exited.
    pub fn stop_with(&mut self, signal: &str) -> ExitStatus {
        self.signal(signal);
        if let Some(status) = self.wait(GRACE) {
            return status;
        }
        self.kill();
        panic!(
            "`{}` did not stop within {GRACE:?} of SIG{signal}\n{}",
            self.what,
            self.log()
        );
    }

    /// Kill the process at once (SIGKILL: no chance to flush anything) and reap it.
    pub fn kill(&mut self) -> ExitStatus {
        if self.running() {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("cannot reap a killed process");
        self.exit = Some(status);
        status
    }

    /// Wait until standard output has a line starting with `prefix` and return the rest of that
    /// line; panic (with the logs) if the process exits first or `limit` passes.
    pub fn wait_for_line(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.stdout();
            if let Some(line) = out.lines().find_map(|l| l.strip_prefix(prefix)) {
                // Only a complete line counts: the port may still be being written.
                if out.contains(&format!("{prefix}{line}\n")) {
                    return line.to_string();
                }
            }
            if !self.running() {
                panic!(
                    "`{}` exited ({:?}) before printing '{prefix}…'\n{}",
                    self.what,
                    self.exit,
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "`{}` did not print '{prefix}…' within {limit:?}\n{}",
                    self.what,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Start a server that prints `listening on 127.0.0.1:PORT` once bound, and return it with the
/// port.
fn start_listening(cmd: Command, what: &str) -> (Background, u16) {
    let mut process = Background::spawn(cmd, what);
    let addr = process.wait_for_line("listening on ", STARTUP);
    let port = addr
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("`{what}` printed no port: {addr:?}\n{}", process.log()));
    (process, port)
}

/// A `tandem-server` relay on a free loopback port with its own temporary data directory.
///
/// It can be stopped, killed and started again on the same data (the port changes each time, so
/// ask for [`Relay::url`] again). Dropping it kills the process and deletes the data.
pub struct Relay {
    root: tempfile::TempDir,
    open: bool,
    /// Further command-line arguments and environment variables, for every start.
    args: Vec<String>,
    env: Vec<(String, String)>,
    process: Option<Background>,
    port: u16,
}

impl Relay {
    /// A relay that requires tokens (create them with [`Relay::token`]).
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// A relay started with `--open`: anyone may connect, with full access.
    pub fn start_open() -> Self {
        Self::launch(true)
    }

    /// A relay started with these further arguments (e.g. `--tls-cert`) and environment
    /// variables (e.g. `RUST_LOG`).
    pub fn start_with(open: bool, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::launch_with(
            open,
            args.iter().map(|a| a.to_string()).collect(),
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn launch(open: bool) -> Self {
        Self::launch_with(open, Vec::new(), Vec::new())
    }

    fn launch_with(open: bool, args: Vec<String>, env: Vec<(String, String)>) -> Self {
        let root = tempfile::Builder::new()
            .prefix("tandem-relay-")
            .tempdir()
            .expect("cannot create the relay's directory");
        let mut relay = Self {
            root,
            open,
            args,
            env,
            process: None,
            port: 0,
        };
        relay.start_again();
        relay
    }

    /// The data directory passed as `--data`.
    pub fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The relay's websocket URL, `ws://127.0.0.1:PORT` (`wss://` with `--tls-cert`).
    pub fn url(&self) -> String {
        assert!(self.process.is_some(), "the relay is not running");
        let scheme = if self.args.iter().any(|a| a == "--tls-cert") {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Send `signal` (`HUP`, …) to the running relay without waiting.
    pub fn signal(&mut self, signal: &str) {
        self.process
            .as_mut()
            .expect("the relay is not running")
            .signal(signal);
    }

    /// Everything the running relay has written to stderr so far (its logs).
    pub fn stderr(&self) -> String {
        self.process
            .as_ref()
            .map(Background::stderr)
            .unwrap_or_default()
    }

    /// The port the running relay listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Start the relay (again) on the same data directory, on a new free port.
    pub fn start_again(&mut self) {
        assert!(self.process.is_none(), "the relay is already running");
        let mut cmd = Command::new(tandem_server());
        cmd.arg("--data")
            .arg(self.data())
            .args(["--listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .env_remove("TANDEM_SERVER_DATA");
        if self.open {
            cmd.arg("--open");
        }
        cmd.args(&self.args);
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        let (process, port) = start_listening(cmd, "tandem-server");
        self.process = Some(process);
        self.port = port;
    }

    /// Stop the relay gracefully (SIGTERM) and wait for it to exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut process = self.process.take().expect("the relay is not running");
        process.stop_with("TERM")
    }

    /// Stop the relay gracefully and return everything it wrote to stderr (its logs).
    pub fn stop_and_logs(&mut self) -> String {
        let mut process = self.process.take().expect("the relay is not running");
        process.stop_with("TERM");
        process.stderr()
    }

    /// Kill the relay with SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) {
        let mut process = self.process.take().expect("the relay is not running");
        process.kill();
    }

    /// Stop gracefully and start again on the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Kill with SIGKILL and start again on the same data.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// The running relay's logs, for failure messages.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Background::log)
            .unwrap_or_else(|| "(the relay is not running)".into())
    }

    /// Run `tandem-server token ARGS --data DATA` (an operator command) and return what happened.
    pub fn token_cmd(&self, args: &[&str]) -> Output {
        run_bounded(
            {
                let mut cmd = Command::new(tandem_server());
                cmd.arg("token")
                    .args(args)
                    .arg("--data")
                    .arg(self.data())
                    .env("NO_COLOR", "1");
                cmd
            },
            Duration::from_secs(30),
        )
    }

    /// `tandem-server token create ARGS`: insist on success and return the new token.
    pub fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        let out = self.token_cmd(&all);
        assert!(
            out.status.success(),
            "`tandem-server token {}` failed: {}",
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_string();
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "not a token: {token:?}"
        );
        token
    }

    /// `tandem-server token list --json`.
    pub fn tokens(&self) -> serde_json::Value {
        let out = self.token_cmd(&["list", "--json"]);
        assert!(
            out.status.success(),
            "`tandem-server token list` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("token list --json prints JSON")
    }

    /// The id of the token labelled `label`, as `token list` shows it.
    pub fn token_id(&self, label: &str) -> String {
        let tokens = self.tokens();
        tokens
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("no token labelled “{label}” is listed: {tokens}"))
            .to_string()
    }
}

/// Run `cmd` to completion with its output captured, killing it if it runs longer than `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let read_out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut buf);
        buf
    });
    let read_err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut buf);
        buf
    });
    let status = match wait_at_most(&mut child, limit) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = read_err.join().unwrap_or_default();
            panic!(
                "{what} did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
    };
    Output {
        status,
        stdout: read_out.join().expect("stdout reader"),
        stderr: read_err.join().expect("stderr reader"),
    }
}

// ----- the JavaScript reference implementation (automerge-repo 2.5.6) -----

/// `tests/js`: the reference sync server and client CLI.
pub fn js_dir() -> PathBuf {
    workspace_root().join("tests").join("js")
}

/// Make sure `node` runs and the pinned npm packages are installed (`npm ci` once per test
/// process when `tests/js/node_modules` is missing). Panics with a clear message otherwise:
/// interop tests must never pass by skipping.
pub fn ensure_js() {
    static READY: Mutex<bool> = Mutex::new(false);
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if *ready {
        return;
    }
    let version = Command::new("node").arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`node --version` failed ({}); the interop tests need Node >= 20 on PATH",
            out.status
        ),
        Err(e) => panic!("cannot run `node` ({e}); the interop tests need Node >= 20 on PATH"),
    }
    let dir = js_dir();
    let installed = dir
        .join("node_modules")
        .join("@automerge")
        .join("automerge-repo")
        .join("package.json");
    if !installed.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir);
        let out = run_bounded(cmd, Duration::from_secs(300));
        assert!(
            out.status.success(),
            "`npm ci` in {} failed ({}); the interop tests need the pinned automerge-repo:\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *ready = true;
}

/// The reference automerge-repo sync server (`node tests/js/sync-server.mjs`) on a free loopback
/// port with its own temporary data directory; killed when dropped.
pub struct NodeServer {
    _root: tempfile::TempDir,
    process: Background,
    port: u16,
}

impl NodeServer {
    pub fn start() -> Self {
        ensure_js();
        let root = tempfile::Builder::new()
            .prefix("tandem-node-server-")
            .tempdir()
            .expect("cannot create the server's directory");
        let mut cmd = Command::new("node");
        cmd.arg(js_dir().join("sync-server.mjs"))
            .args(["--port", "0", "--data"])
            .arg(root.path().join("data"));
        let (process, port) = start_listening(cmd, "node sync-server.mjs");
        Self {
            _root: root,
            process,
            port,
        }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The server's logs, for failure messages.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// What a `node tests/js/client.mjs` command did: its exit code and its one JSON line.
#[derive(Debug)]
pub struct JsOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl JsOutput {
    /// The JSON line on standard output.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "the JS client printed no JSON ({e}): {:?}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// Insist on exit code 0 and return the JSON line.
    pub fn ok(&self) -> serde_json::Value {
        assert_eq!(
            self.code, 0,
            "the JS client failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.json()
    }
}

/// `node tests/js/client.mjs ARGS` as a command, for running in the background.
pub fn js_client_command(args: &[&str]) -> Command {
    ensure_js();
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join("client.mjs")).args(args);
    cmd
}

/// Run `node tests/js/client.mjs ARGS` to completion (the client's own `--timeout`, 15 s by
/// default, bounds it; this kills it after 60 s in any case).
pub fn js_client(args: &[&str]) -> JsOutput {
    js_client_with_env(args, &[])
}

/// [`js_client`] with further environment variables (e.g. `NODE_EXTRA_CA_CERTS`).
pub fn js_client_with_env(args: &[&str], env: &[(&str, &str)]) -> JsOutput {
    let mut cmd = js_client_command(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = run_bounded(cmd, Duration::from_secs(60));
    JsOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Poll `check` every 100 ms until it returns `Some`, for at most `limit`; `None` on time-out.
pub fn poll<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The string field `field` of a JSON value, or a panic that shows the value.
pub fn text<'v>(value: &'v serde_json::Value, field: &str) -> &'v str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string '{field}' in {value}"))
}

/// The (value, author) pairs `tandem conflicts --json` lists for one field of one item, sorted;
/// empty when the field has no conflict.
pub fn conflict_values(
    conflicts: &serde_json::Value,
    id: &str,
    field: &str,
) -> Vec<(String, String)> {
    let found: Vec<&serde_json::Value> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id && c["field"] == field)
        .collect();
    assert!(found.len() <= 1, "one entry per field: {conflicts}");
    let mut values: Vec<(String, String)> = found
        .first()
        .map(|c| {
            c["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (text(v, "value").to_string(), text(v, "author").to_string()))
                .collect()
        })
        .unwrap_or_default();
    values.sort();
    values
}
