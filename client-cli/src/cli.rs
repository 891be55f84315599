//! The command line: the global flags and the top-level commands, as clap parses them.
//!
//! Each command group's own flags live beside its code in `commands/` (for example
//! `commands/goal.rs` defines `GoalCommand`), so a file owns the flags it reads.

use crate::commands;
use crate::commands::{
    action::ActionCommand, bundle::BundleCommand, checkin::CheckInCommand, demo::DemoArgs,
    export::ExportArgs, goal::GoalCommand, invite::InviteArgs, invite::JoinArgs, kudos::KudosArgs,
    log::LogArgs, milestone::MilestoneCommand, note::NoteCommand, participant::ParticipantCommand,
    plan::PlanArgs, program::ProgramArgs, progress::ProgressCommand, resource::ResourceCommand,
    rhythm::RhythmArgs, survey::SurveyArgs, sync::SyncArgs, workspaces::InitArgs,
    workspaces::SwitchArgs,
};
use crate::context::{Context, GlobalArgs};
use anyhow::Result;
use clap::{Parser, Subcommand};

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
    #[command(flatten)]
    pub global: GlobalArgs,

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

impl Cli {
    /// Run the parsed command line.
    pub fn run(self) -> Result<()> {
        let ctx = Context::new(&self.global)?;
        self.command.execute(&ctx)
    }
}

impl Command {
    /// Run the command with a context built by the caller (`tandem demo` builds its own).
    pub fn execute(self, ctx: &Context) -> Result<()> {
        let writes = self.writes();
        let result = self.dispatch(ctx);
        if result.is_ok() && writes {
            // Tell a running `tandem sync --watch` that something changed here. A failure only
            // delays that sync until the next change, so it is not an error of this command.
            let _ = std::fs::write(ctx.home_dir.join(commands::sync::CHANGE_MARKER), b"");
        }
        result
    }

    fn dispatch(self, ctx: &Context) -> Result<()> {
        match self {
            Command::Init(args) => commands::workspaces::init(ctx, args),
            Command::Workspaces => commands::workspaces::list(ctx),
            Command::Switch(args) => commands::workspaces::switch(ctx, args),
            Command::Goal(cmd) => commands::goal::run(ctx, cmd),
            Command::Milestone(cmd) => commands::milestone::run(ctx, cmd),
            Command::Note(cmd) => commands::note::run(ctx, cmd),
            Command::CheckIn(cmd) => commands::checkin::run(ctx, cmd),
            Command::Action(cmd) => commands::action::run(ctx, cmd),
            Command::Resource(cmd) => commands::resource::run(ctx, cmd),
            Command::Plan(args) => commands::plan::run(ctx, args),
            Command::Rhythm(args) => commands::rhythm::run(ctx, args),
            Command::Survey(args) => commands::survey::run(ctx, args),
            Command::Kudos(args) => commands::kudos::run(ctx, args),
            Command::Progress(cmd) => commands::progress::run(ctx, cmd),
            Command::Log(args) => commands::log::run(ctx, args),
            Command::Conflicts => commands::conflicts::run(ctx),
            Command::Export(args) => commands::export::run(ctx, args),
            Command::Bundle(cmd) => commands::bundle::run(ctx, cmd),
            Command::Sync(args) => commands::sync::run(ctx, args),
            Command::Status => commands::sync::status(ctx),
            Command::Demo(args) => commands::demo::run(ctx, args),
            Command::Invite(args) => commands::invite::invite(ctx, args),
            Command::Join(args) => commands::invite::join(ctx, args),
            Command::Participant(cmd) => commands::participant::run(ctx, cmd),
            Command::Program(args) => commands::program::run(ctx, args),
        }
    }

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
        assert!(cli.global.json);
        assert_eq!(cli.global.workspace, ["ana"]);
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
