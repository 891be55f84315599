//! `tandem progress`: career steps, a participant's move from one role to another, which is
//! what mentoring is for.

use super::shared::{listed_as_json, paint, read, report, row_marks, write};
use crate::cli::values;
use crate::context::Context;
use crate::render::{line, shown};
use anyhow::Result;
use clap::Subcommand;
use tandem_core::jiff::civil::Date;
use tandem_core::model::{first_line, short, NewCareerStep};

#[derive(Debug, Subcommand)]
pub enum ProgressCommand {
    /// Record a career step: a promotion, a new role, a new job.
    Add {
        /// When the step happened, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        date: Date,
        /// The role before the step.
        #[arg(long = "from", value_name = "ROLE")]
        role_before: String,
        /// The role after the step.
        #[arg(long = "to", value_name = "ROLE")]
        role_after: String,
        /// A word on the step.
        #[arg(long)]
        note: Option<String>,
        /// Whose step it is, by name or id prefix [default: yours].
        #[arg(long, value_name = "NAME")]
        who: Option<String>,
    },
    /// List the career steps recorded so far.
    List {
        /// Include archived career steps.
        #[arg(long)]
        all: bool,
    },
}

impl ProgressCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        matches!(self, ProgressCommand::Add { .. })
    }
}

pub fn run(ctx: &Context, cmd: ProgressCommand) -> Result<()> {
    match cmd {
        ProgressCommand::Add {
            date,
            role_before,
            role_after,
            note,
            who,
        } => {
            let (_, o, id) = write(ctx, |ws| {
                let participant = who.map(|w| ws.find_participant(&w)).transpose()?;
                ws.add_career_step(NewCareerStep {
                    participant: participant.map(|p| p.id),
                    date,
                    role_before,
                    role_after,
                    note,
                })
            })?;
            let step = o.ws.career_steps().into_iter().find(|s| s.id == id);
            let label = step
                .as_ref()
                .map(|s| format!("{}: {} → {}", s.name, s.role_before, s.role_after))
                .unwrap_or_default();
            report(ctx, "Added", "career step", &id, &label, &step)
        }
        ProgressCommand::List { all } => {
            let p = paint(ctx);
            let (_, o) = read(ctx)?;
            let list: Vec<_> =
                o.ws.career_steps()
                    .into_iter()
                    .filter(|s| all || !s.meta.archived)
                    .collect();
            let empty = "No career steps yet. Record one with: tandem progress add --date \
                         YYYY-MM-DD --from ROLE --to ROLE";
            if listed_as_json(ctx, &list, empty)? {
                return Ok(());
            }
            for s in shown(list) {
                let note = if s.note.trim().is_empty() {
                    String::new()
                } else {
                    format!(" — {}", line(&first_line(&s.note, 50)))
                };
                println!(
                    "{}  {}  {}: {} → {}{note}{}",
                    p.cyan(short(&s.id)),
                    s.date,
                    p.bold(&s.name),
                    s.role_before,
                    s.role_after,
                    row_marks(p, &s.meta)
                );
            }
            Ok(())
        }
    }
}
