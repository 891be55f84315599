//! The command line: the global flags and the top-level commands, as clap parses them.
//!
//! Each command group's own flags live beside its code in `commands/` (for example
//! `commands/goal.rs` defines `GoalCommand`), so a file owns the flags it reads.

use crate::commands::{
    action::ActionCommand, bundle::BundleCommand, checkin::CheckInCommand, demo::DemoArgs,
    export::ExportArgs, goal::GoalCommand, invite::InviteArgs, invite::JoinArgs, kudos::KudosArgs,
    log::LogArgs, milestone::MilestoneCommand, note::NoteCommand, participant::ParticipantCommand,
    plan::PlanArgs, program::ProgramArgs, progress::ProgressCommand, resource::ResourceCommand,
    rhythm::RhythmArgs, survey::SurveyArgs, sync::SyncArgs, workspaces::InitArgs,
    workspaces::SwitchArgs,
};
use clap::{Parser, Subcommand};
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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new workspace, offline, and make it current.
    Init(InitArgs),
    /// List this device's workspaces.
    Workspaces,
    /// Make another workspace the current one.
    Switch(SwitchArgs),
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
    /// The one screen a pair looks at: goals, actions, check-ins, wins, sync state.
    Plan(PlanArgs),
    /// How often the pair meets and answers the pulse survey: show, or set (mentors only).
    Rhythm(RhythmArgs),
    /// Answer the pulse survey (three questions from 1 to 5), or list the answers with --show.
    Survey(SurveyArgs),
    /// Give kudos to the other person, optionally for a goal; or list, set, archive, restore them.
    Kudos(KudosArgs),
    /// Career steps: a promotion, a new role, a new job.
    #[command(subcommand)]
    Progress(ProgressCommand),
    /// Who changed what, and when.
    Log(LogArgs),
    /// Fields two people set concurrently, with both values.
    Conflicts,
    /// Write the whole workspace as Markdown or JSON.
    Export(ExportArgs),
    /// Carry changes on a USB stick or a shared folder.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Push and pull every workspace through its relay.
    Sync(SyncArgs),
    /// Relay, last sync, and changes not yet on the relay, for each workspace.
    Status,
    /// Print a short code and a link that let a partner join this workspace; list or revoke them.
    Invite(InviteArgs),
    /// The whole story in one command: two people, offline edits, a relay, one merged plan.
    Demo(DemoArgs),
    /// Join a workspace with a code or link from `tandem invite`, or an automerge: URL.
    Join(JoinArgs),
    /// The people of this workspace: list, rename, remove.
    #[command(subcommand)]
    Participant(ParticipantCommand),
    /// For coordinators: how every pair of a program is doing, from a relay, in numbers only.
    Program(ProgramArgs),
}

impl Command {
    /// Whether the command changes what this device's store holds. After such a command succeeds,
    /// a running `tandem sync --watch` is told to look for new changes.
    pub fn writes(&self) -> bool {
        match self {
            Command::Init(_) | Command::Switch(_) | Command::Join(_) => true,
            Command::Goal(cmd) => cmd.writes(),
            Command::Milestone(_) => true,
            Command::Note(cmd) => cmd.writes(),
            Command::CheckIn(cmd) => cmd.writes(),
            Command::Action(cmd) => cmd.writes(),
            Command::Resource(cmd) => cmd.writes(),
            Command::Bundle(cmd) => cmd.writes(),
            Command::Participant(cmd) => cmd.writes(),
            Command::Rhythm(args) => args.writes(),
            Command::Survey(args) => args.writes(),
            Command::Kudos(args) => args.writes(),
            Command::Progress(cmd) => cmd.writes(),
            // What a sync merges came from a relay, so a watch has nothing new to send; the demo
            // works in homes of its own.
            Command::Workspaces
            | Command::Plan(_)
            | Command::Log(_)
            | Command::Conflicts
            | Command::Export(_)
            | Command::Sync(_)
            | Command::Status
            | Command::Invite(_)
            | Command::Demo(_)
            | Command::Program(_) => false,
        }
    }
}

/// Flag values parsed straight into core's types. A value outside the allowed ones is a usage
/// error (exit 2) that names them, reported by clap before any command runs; the lists come from
/// core, so the command line and the document cannot disagree. clap may hand on a value in the
/// case the person typed it (with `ignore_case`), so the value is parsed as typed input, never
/// read as a stored one.
pub mod values {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    use tandem_core::jiff::civil::Date;
    use tandem_core::model::time::{parse_date, When};
    use tandem_core::model::{GoalStatus, Role};

    /// A goal status: open, active, done or dropped.
    pub fn status() -> impl TypedValueParser<Value = GoalStatus> {
        PossibleValuesParser::new(GoalStatus::KNOWN).try_map(|s| s.parse::<GoalStatus>())
    }

    /// A participant's role: mentor, mentee or observer.
    pub fn role() -> impl TypedValueParser<Value = Role> {
        PossibleValuesParser::new(Role::KNOWN).try_map(|s| s.parse::<Role>())
    }

    /// A due date, `YYYY-MM-DD`, a real day of the calendar.
    pub fn date(s: &str) -> Result<Date, tandem_core::Error> {
        parse_date(s)
    }

    /// When a check-in happens: `YYYY-MM-DD HH:MM` in local time, or RFC 3339. The local time is
    /// placed in the time zone later, from the context.
    pub fn when(s: &str) -> Result<When, tandem_core::Error> {
        s.parse()
    }

    /// A check-in rating, a whole number from 1 to 5.
    pub fn rating(s: &str) -> Result<u8, String> {
        match s.trim().parse::<u8>() {
            Ok(r) if (1..=5).contains(&r) => Ok(r),
            _ => Err("expected a whole number from 1 to 5".into()),
        }
    }
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
        assert_eq!(cli.workspace, ["ana"]);
    }

    #[test]
    fn a_bad_status_is_a_usage_error_naming_the_allowed_values() {
        let err = Cli::try_parse_from(["tandem", "goal", "set", "g", "--status", "finished"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let message = err.to_string();
        assert!(message.contains("open, active, done, dropped"), "{message}");
        // Statuses were always accepted in any case.
        let cli = Cli::try_parse_from(["tandem", "goal", "list", "--status", "Done"]).unwrap();
        let Command::Goal(GoalCommand::List { status, .. }) = cli.command else {
            panic!("not goal list");
        };
        assert_eq!(status, Some(tandem_core::model::GoalStatus::Done));
    }

    #[test]
    fn an_unknown_role_is_a_usage_error() {
        let err = Cli::try_parse_from([
            "tandem", "init", "--title", "t", "--name", "n", "--role", "boss",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    /// Every command, subcommand, flag and argument explains itself in `--help`.
    #[test]
    fn every_command_and_argument_has_help() {
        fn missing(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    out.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    out.push(sub_path.clone());
                }
                missing(sub, &sub_path, out);
            }
        }
        let mut cli = Cli::command();
        // Building adds the generated help and version flags, which have help of their own.
        cli.build();
        let mut out = Vec::new();
        missing(&cli, "tandem", &mut out);
        assert!(out.is_empty(), "without help text: {out:#?}");
    }

    #[test]
    fn only_commands_that_change_the_store_write() {
        let writes = |args: &[&str]| {
            let mut argv = vec!["tandem"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).unwrap().command.writes()
        };
        assert!(writes(&["goal", "add", "Learn Rust"]));
        assert!(writes(&["milestone", "done", "g", "m"]));
        assert!(writes(&["note", "edit", "n"]));
        assert!(writes(&["bundle", "import", "f"]));
        assert!(!writes(&["goal", "list"]));
        assert!(!writes(&["checkin", "show", "c"]));
        assert!(!writes(&["plan"]));
        assert!(!writes(&["plan", "--all"]));
        assert!(!writes(&["rhythm"]));
        assert!(writes(&["rhythm", "--checkins", "7"]));
        assert!(writes(&[
            "survey",
            "--progress",
            "4",
            "--relationship",
            "5",
            "--recommend",
            "3"
        ]));
        assert!(!writes(&["survey", "--show"]));
        assert!(writes(&["kudos", "Ben", "Great demo"]));
        assert!(writes(&[
            "progress",
            "add",
            "--date",
            "2026-11-01",
            "--from",
            "a",
            "--to",
            "b"
        ]));
        assert!(!writes(&["progress", "list"]));
        assert!(!writes(&["sync"]));
        assert!(!writes(&["bundle", "export", "f"]));
    }

    #[test]
    fn survey_answers_and_rhythms_out_of_range_are_usage_errors_naming_the_range() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["tandem"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv)
        };
        let err = parse(&[
            "survey",
            "--progress",
            "6",
            "--relationship",
            "5",
            "--recommend",
            "3",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("from 1 to 5"), "{err}");
        // All three answers or none.
        let err = parse(&["survey", "--progress", "4"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = parse(&["rhythm", "--checkins", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("from 1 to 365"), "{err}");
        let err = parse(&["checkin", "add", "--repeat", "--at", "2026-12-01 10:00"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
