//! The command line: every subcommand and flag, as clap parses them.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// tandem: a mentoring pair's shared development plan, local-first.
///
/// Everything works offline; changes merge when partners exchange a bundle or sync through a
/// relay. Nothing typed is ever lost and nobody resolves conflicts by hand.
#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Where this device keeps its workspaces [default: the platform data directory].
    #[arg(long, global = true, env = "TANDEM_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// The workspace to act on, by title, id or id prefix [default: the current one].
    #[arg(short, long, global = true, value_name = "NAME|ID")]
    pub workspace: Option<String>,

    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print nothing but errors (and ids of created items).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new workspace, offline, and make it current.
    Init {
        /// The workspace's title, e.g. "Ana & Ben — backend growth".
        #[arg(long)]
        title: String,
        /// Your name as your partner will see it.
        #[arg(long)]
        name: String,
        /// Your role in the pair.
        #[arg(long, value_parser = ["mentor", "mentee", "observer"])]
        role: String,
    },
    /// List this device's workspaces.
    Workspaces,
    /// Make another workspace the current one.
    Switch {
        /// Title, id or id prefix.
        workspace: String,
    },
    /// Goals and their milestones.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Milestones of a goal.
    #[command(subcommand)]
    Milestone(MilestoneCommand),
    /// Shared and private notes.
    #[command(subcommand)]
    Note(NoteCommand),
    /// Check-ins: when you meet, the agenda, notes and ratings.
    #[command(subcommand, name = "checkin")]
    CheckIn(CheckInCommand),
    /// Action items.
    #[command(subcommand)]
    Action(ActionCommand),
    /// Links, books and other resources.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// The one screen a pair looks at: goals, actions, check-ins, sync state.
    Plan,
    /// Who changed what, and when.
    Log {
        /// Show at most this many changes.
        #[arg(short = 'n', long, default_value_t = 30)]
        limit: usize,
        /// Show every change.
        #[arg(long, conflicts_with = "limit")]
        all: bool,
    },
    /// Fields two people set concurrently, with both values.
    Conflicts,
    /// Write the whole workspace as Markdown or JSON.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Carry changes on a USB stick or a shared folder.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Push and pull every workspace through its relay.
    Sync {
        /// The relay's URL, e.g. ws://127.0.0.1:3030; remembered for next time.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// An access token from the relay's operator; remembered with the relay.
        #[arg(long, env = "TANDEM_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Stay connected and sync continuously; reconnects with backoff.
        #[arg(long)]
        watch: bool,
        /// Give up on an unresponsive relay after this many seconds.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        timeout: u64,
    },
    /// Relay, last sync, and changes not yet on the relay, for each workspace.
    Status,
    /// Print a code that lets a partner join this workspace through its relay.
    Invite {
        /// The role the partner will take.
        #[arg(long, value_parser = ["mentee", "mentor", "observer"], default_value = "mentee")]
        role: String,
    },
    /// The whole story in one command: two people, offline edits, a relay, one merged plan.
    Demo {
        /// Keep the demo's homes and relay data in this directory instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Join a workspace with a code from `tandem invite`.
    Join {
        /// The invite code.
        code: String,
        /// Your name as your partner will see it.
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        timeout: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Add a goal.
    Add {
        title: String,
        /// Due date, YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        /// Who owns the goal (a participant's name).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List goals.
    List {
        /// Only goals with this status (open, active, done, dropped).
        #[arg(long)]
        status: Option<String>,
        /// Include archived goals.
        #[arg(long)]
        all: bool,
    },
    /// Show a goal with its milestones.
    Show { id: String },
    /// Change a goal's fields.
    Set {
        id: String,
        #[arg(long)]
        title: Option<String>,
        /// open, active, done or dropped.
        #[arg(long)]
        status: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Edit the description in $EDITOR; the edit merges as a text diff.
    Edit { id: String },
    /// Archive a goal (it stays in history and can be restored).
    Archive { id: String },
    /// Restore an archived goal.
    Restore { id: String },
}

#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Add a milestone to a goal.
    Add {
        goal: String,
        title: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
    },
    /// Mark a milestone done.
    Done { goal: String, milestone: String },
    /// Mark a milestone not done.
    Undo { goal: String, milestone: String },
}

#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Add a note; TEXT of "-" reads standard input.
    Add {
        /// The note's text, or "-" to read it from standard input.
        text: String,
        #[arg(long)]
        title: Option<String>,
        /// The goal this note is about.
        #[arg(long)]
        goal: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Keep the note on this device only; it is never synced or exported in bundles.
        #[arg(long)]
        private: bool,
    },
    /// List notes.
    List {
        /// Include archived notes.
        #[arg(long)]
        all: bool,
    },
    /// Show a note.
    Show { id: String },
    /// Edit a note's body in $EDITOR; the edit merges as a text diff.
    Edit { id: String },
    /// Archive a note.
    Archive { id: String },
}

#[derive(Debug, Subcommand)]
pub enum CheckInCommand {
    /// Schedule or record a check-in.
    Add {
        /// When: "YYYY-MM-DD HH:MM" in local time, or RFC 3339 [default: now].
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        agenda: Option<String>,
    },
    /// List check-ins.
    List {
        #[arg(long)]
        all: bool,
    },
    /// Show a check-in with its ratings.
    Show { id: String },
    /// Rate a check-in from 1 to 5.
    Rate {
        id: String,
        /// 1 (poor) to 5 (excellent).
        rating: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Edit the check-in's notes in $EDITOR.
    Edit { id: String },
    /// Archive a check-in.
    Archive { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Add an action item.
    Add {
        title: String,
        #[arg(long)]
        owner: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        /// The goal this action serves.
        #[arg(long)]
        goal: Option<String>,
        /// The check-in it came from.
        #[arg(long)]
        checkin: Option<String>,
    },
    /// Mark an action item done.
    Done { id: String },
    /// Open a done action item again.
    Reopen { id: String },
    /// List action items.
    List {
        /// Only those not done.
        #[arg(long)]
        open: bool,
        /// Only those past their due date and not done.
        #[arg(long)]
        overdue: bool,
        /// Include archived items.
        #[arg(long)]
        all: bool,
    },
    /// Archive an action item.
    Archive { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Add a resource.
    Add {
        title: String,
        url: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// List resources.
    List {
        #[arg(long)]
        all: bool,
    },
    /// Archive a resource.
    Archive { id: String },
}

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write the workspace's changes to FILE.
    Export { file: PathBuf },
    /// Merge the changes in FILE; joins the workspace if this device does not have it yet.
    Import {
        file: PathBuf,
        /// Your name, when joining a workspace this device does not have yet.
        #[arg(long)]
        name: Option<String>,
        /// Your role, when joining.
        #[arg(long, value_parser = ["mentor", "mentee", "observer"], default_value = "mentee")]
        role: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["tandem", "goal", "list", "--json", "-w", "ana"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.workspace.as_deref(), Some("ana"));
    }

    #[test]
    fn an_unknown_role_is_a_usage_error() {
        let err = Cli::try_parse_from([
            "tandem", "init", "--title", "t", "--name", "n", "--role", "boss",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
