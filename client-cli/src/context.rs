//! What every command needs: the home, the clock, the time zone, the output mode and the editor.
//!
//! What a command would otherwise read from the process environment (the pinned clock, colour,
//! the editor) is read once, in [`Context::new`], and reaches the command here; so `tandem demo`
//! runs commands with its own colour and editor without changing the environment.

use anyhow::{Context as _, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tandem_core::jiff::tz::TimeZone;
use tandem_core::jiff::Timestamp;
use tandem_core::store::{Home, Opened, SledStorage, WorkspaceView};

/// How long a command waits for the home before saying that it is waiting.
const LOCK_NOTICE: Duration = Duration::from_secs(1);

/// The flags every command takes, which make its [`Context`].
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Where this device keeps its workspaces [default: the platform data directory].
    #[arg(long, global = true, env = "TANDEM_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// The workspace to act on, by title, id or id prefix [default: the current one]; `sync`
    /// takes it more than once, to name several.
    #[arg(short, long, global = true, value_name = "NAME|ID", action = clap::ArgAction::Append)]
    pub workspace: Vec<String>,

    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print nothing but errors (and ids of created items).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// How long to wait, in seconds, for another tandem command using the same home to finish
    /// before giving up.
    #[arg(
        long,
        global = true,
        env = "TANDEM_WAIT",
        value_name = "SECONDS",
        default_value_t = 60
    )]
    pub wait: u64,
}

/// Settings shared by every command, built once from the global flags.
#[derive(Clone)]
pub struct Context {
    pub home_dir: PathBuf,
    /// Every workspace named with `-w`; only `sync` takes more than one (see
    /// [`Context::selector`]).
    pub selectors: Vec<String>,
    pub json: bool,
    pub quiet: bool,
    /// How long opening the home waits for another tandem process to release it.
    pub lock_wait: Duration,
    pub now: Timestamp,
    pub zone: TimeZone,
    pub color: bool,
    /// The command that edits long text (`$VISUAL`, else `$EDITOR`); `None` means `vi`.
    pub editor: Option<String>,
}

impl Context {
    pub fn new(cli: &GlobalArgs) -> Result<Self> {
        let home_dir = match &cli.home {
            Some(dir) => dir.clone(),
            None => directories::ProjectDirs::from("org", "tandem", "tandem")
                .map(|d| d.data_dir().to_path_buf())
                .context("cannot find a data directory for this user; pass --home DIR")?,
        };
        // TANDEM_NOW pins the clock, so tests and demos can speak of "overdue" reproducibly.
        let now = match std::env::var("TANDEM_NOW") {
            Ok(s) if !s.is_empty() => s
                .parse::<Timestamp>()
                .with_context(|| format!("TANDEM_NOW '{s}' is not an RFC 3339 instant"))?,
            _ => Timestamp::now(),
        };
        use std::io::IsTerminal;
        Ok(Self {
            home_dir,
            selectors: cli.workspace.clone(),
            json: cli.json,
            quiet: cli.quiet,
            lock_wait: Duration::from_secs(cli.wait),
            now,
            zone: TimeZone::system(),
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            editor: ["VISUAL", "EDITOR"]
                .into_iter()
                .filter_map(|name| std::env::var(name).ok())
                .find(|s| !s.trim().is_empty()),
        })
    }

    /// The same settings aimed at one workspace.
    pub fn clone_for(&self, workspace: Option<String>) -> Self {
        Self {
            selectors: workspace.into_iter().collect(),
            ..self.clone()
        }
    }

    /// The workspace named with `-w`, for the commands that act on one.
    pub fn selector(&self) -> Option<&str> {
        self.selectors.first().map(String::as_str)
    }

    /// Open this device's home, creating it on first use. Holds the store's lock until dropped.
    ///
    /// Only one process at a time can have a home open. When another tandem command holds it,
    /// this waits (up to `--wait`, a minute by default) rather than failing, and after a second
    /// says once on stderr why nothing happens, unless output is meant for a program or asked to
    /// be quiet.
    pub fn home(&self) -> Result<Home> {
        std::fs::create_dir_all(&self.home_dir).with_context(|| {
            format!("cannot create the tandem home {}", self.home_dir.display())
        })?;
        static TOLD: AtomicBool = AtomicBool::new(false);
        let tell = !(self.quiet || self.json);
        let store = SledStorage::open_waiting(
            &self.home_dir.join("store"),
            self.lock_wait,
            LOCK_NOTICE,
            || {
                if tell && !TOLD.swap(true, Ordering::Relaxed) {
                    eprintln!("waiting for another tandem command to finish…");
                }
            },
        )?;
        Ok(Home::open(Arc::new(store))?)
    }

    /// Open the selected workspace.
    pub fn workspace(&self, home: &Home) -> Result<Opened> {
        let id = home.resolve(self.selector())?;
        Ok(home.open_workspace(&id, self.now)?)
    }

    /// What the read commands show of the selected workspace, without loading it when its read
    /// model is current.
    pub fn view(&self, home: &Home) -> Result<WorkspaceView> {
        let id = home.resolve(self.selector())?;
        Ok(home.view_workspace(&id, self.now)?)
    }

    /// Print a JSON value on one line.
    pub fn print_json(&self, value: &impl serde::Serialize) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(value)?);
        Ok(())
    }

    /// Print a human message unless `--quiet`.
    pub fn say(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            println!("{message}");
        }
    }
}
