//! `tandem log`: who changed what, and when.

use super::shared::paint;
use crate::context::Context;
use crate::render::{fit, line};
use anyhow::Result;
use clap::Args;
use tandem_core::model::time::display_instant;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Show at most this many changes.
    #[arg(short = 'n', long, default_value_t = 30)]
    limit: usize,
    /// Show every change.
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

pub fn run(ctx: &Context, args: LogArgs) -> Result<()> {
    let limit = if args.all { None } else { Some(args.limit) };
    let p = paint(ctx);
    let home = ctx.home()?;
    let mut o = ctx.workspace(&home)?;
    let entries = o.ws.history(limit);
    if ctx.json {
        return ctx.print_json(&entries);
    }
    for e in entries {
        println!(
            "{}  {}  {}  {}",
            p.yellow(&e.hash[..8]),
            p.dim(&display_instant(&e.at, &ctx.zone)),
            fit(&e.author, 12),
            line(&e.message)
        );
    }
    Ok(())
}
