//! One module per group of subcommands; `run` dispatches.

mod bundle;
mod items;
mod overview;
mod workspaces;

use crate::cli::{Cli, Command};
use crate::context::Context;
use anyhow::Result;

/// Run one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Init { title, name, role } => workspaces::init(&ctx, &title, &name, &role),
        Command::Workspaces => workspaces::list(&ctx),
        Command::Switch { workspace } => workspaces::switch(&ctx, &workspace),
        Command::Goal(cmd) => items::goal(&ctx, cmd),
        Command::Milestone(cmd) => items::milestone(&ctx, cmd),
        Command::Note(cmd) => items::note(&ctx, cmd),
        Command::CheckIn(cmd) => items::checkin(&ctx, cmd),
        Command::Action(cmd) => items::action(&ctx, cmd),
        Command::Resource(cmd) => items::resource(&ctx, cmd),
        Command::Plan => overview::plan(&ctx),
        Command::Log { limit, all } => overview::log(&ctx, if all { None } else { Some(limit) }),
        Command::Conflicts => overview::conflicts(&ctx),
        Command::Export { format, output } => overview::export(&ctx, format, output.as_deref()),
        Command::Bundle(cmd) => bundle::run(&ctx, cmd),
    }
}
