//! One module per command group, each owning its flags; `run` dispatches.
//!
//! Item commands share their plumbing (opening the workspace, reporting, the quick add path,
//! editing outside the store) through `shared`.

pub mod action;
pub mod bundle;
pub mod checkin;
pub mod conflicts;
pub mod demo;
pub mod export;
pub mod goal;
pub mod invite;
pub mod kudos;
pub mod log;
pub mod milestone;
pub mod note;
mod overview;
pub mod participant;
pub mod plan;
pub mod program;
pub mod progress;
pub mod resource;
pub mod rhythm;
mod shared;
pub mod survey;
pub mod sync;
pub mod workspaces;

use crate::cli::{Cli, Command};
use crate::context::Context;
use anyhow::Result;

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli)?;
    execute(&ctx, cli.command)
}

/// Run one command with a context built by the caller (`tandem demo` builds its own).
pub fn execute(ctx: &Context, command: Command) -> Result<()> {
    let writes = command.writes();
    let result = dispatch(ctx, command);
    if result.is_ok() && writes {
        // Tell a running `tandem sync --watch` that something changed here. A failure only delays
        // that sync until the next change, so it is not an error of this command.
        let _ = std::fs::write(ctx.home_dir.join(sync::CHANGE_MARKER), b"");
    }
    result
}

fn dispatch(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => workspaces::init(ctx, args),
        Command::Workspaces => workspaces::list(ctx),
        Command::Switch(args) => workspaces::switch(ctx, args),
        Command::Goal(cmd) => goal::run(ctx, cmd),
        Command::Milestone(cmd) => milestone::run(ctx, cmd),
        Command::Note(cmd) => note::run(ctx, cmd),
        Command::CheckIn(cmd) => checkin::run(ctx, cmd),
        Command::Action(cmd) => action::run(ctx, cmd),
        Command::Resource(cmd) => resource::run(ctx, cmd),
        Command::Plan(args) => plan::run(ctx, args),
        Command::Rhythm(args) => rhythm::run(ctx, args),
        Command::Survey(args) => survey::run(ctx, args),
        Command::Kudos(args) => kudos::run(ctx, args),
        Command::Progress(cmd) => progress::run(ctx, cmd),
        Command::Log(args) => log::run(ctx, args),
        Command::Conflicts => conflicts::run(ctx),
        Command::Export(args) => export::run(ctx, args),
        Command::Bundle(cmd) => bundle::run(ctx, cmd),
        Command::Sync(args) => sync::run(ctx, args),
        Command::Status => sync::status(ctx),
        Command::Demo(args) => demo::run(ctx, args),
        Command::Invite(args) => invite::invite(ctx, args),
        Command::Join(args) => invite::join(ctx, args),
        Command::Participant(cmd) => participant::run(ctx, cmd),
        Command::Program(args) => program::run(ctx, args),
    }
}
