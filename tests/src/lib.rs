//! Support for tandem's end-to-end tests: find the real binaries and run them in throwaway homes.
//!
//! The tests drive the `tandem` and `tandem-server` binaries exactly as a person or a script
//! would, so this crate only locates them and gives each test a private, reproducible home:
//! a temporary directory, a pinned clock ([`NOW`]), the UTC time zone and no colours.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

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
/// This package does not own those binaries, so cargo does not build them for its tests. When
/// one is missing (a clean tree), build both once per test process before going on. A binary
/// that exists is used as it is, so after changing the CLI run `cargo build` (or test the whole
/// workspace, which builds it) before `cargo test -p tandem-tests`.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
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

    /// Run `tandem ARGS` and return whatever happened.
    pub fn run(self, args: &[&str]) -> Output {
        let mut cmd = Command::new(tandem());
        cmd.arg("--home")
            .arg(self.home.path())
            .args(args)
            .env("TANDEM_NOW", NOW)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env_remove("TANDEM_HOME")
            .env_remove("VISUAL")
            .env("EDITOR", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
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
