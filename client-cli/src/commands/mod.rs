//! One module per group of subcommands; `run` dispatches.

mod bundle;
mod demo;
mod items;
mod overview;
pub mod sync;
mod workspaces;

use crate::cli::{Cli, Command};
use crate::context::Context;
use anyhow::Result;

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli)?;
    let writes = !matches!(
        cli.command,
        Command::Workspaces
            | Command::Plan
            | Command::Log { .. }
            | Command::Conflicts
            | Command::Export { .. }
            | Command::Status
            | Command::Sync { .. }
            | Command::Demo { .. }
    );
    let result = dispatch(&ctx, cli.command);
    if result.is_ok() && writes {
        // Tell a running `tandem sync --watch` that something changed here. A failure only delays
        // that sync until the next change, so it is not an error of this command.
        let _ = std::fs::write(ctx.home_dir.join(sync::CHANGE_MARKER), b"");
    }
    result
}

fn dispatch(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Init { title, name, role } => workspaces::init(ctx, &title, &name, &role),
        Command::Workspaces => workspaces::list(ctx),
        Command::Switch { workspace } => workspaces::switch(ctx, &workspace),
        Command::Goal(cmd) => items::goal(ctx, cmd),
        Command::Milestone(cmd) => items::milestone(ctx, cmd),
        Command::Note(cmd) => items::note(ctx, cmd),
        Command::CheckIn(cmd) => items::checkin(ctx, cmd),
        Command::Action(cmd) => items::action(ctx, cmd),
        Command::Resource(cmd) => items::resource(ctx, cmd),
        Command::Plan => overview::plan(ctx),
        Command::Log { limit, all } => overview::log(ctx, if all { None } else { Some(limit) }),
        Command::Conflicts => overview::conflicts(ctx),
        Command::Export { format, output } => overview::export(ctx, format, output.as_deref()),
        Command::Bundle(cmd) => bundle::run(ctx, cmd),
        Command::Sync {
            server,
            token,
            watch,
            timeout,
        } => {
            if watch {
                sync::watch(ctx, server, token)
            } else {
                sync::sync(ctx, server, token, std::time::Duration::from_secs(timeout))
            }
        }
        Command::Status => sync::status(ctx),
        Command::Demo { keep } => demo::run(ctx, keep.as_deref()),
        Command::Invite { role } => sync::invite(ctx, &role),
        Command::Join {
            code,
            name,
            timeout,
        } => sync::join(ctx, &code, &name, std::time::Duration::from_secs(timeout)),
    }
}
