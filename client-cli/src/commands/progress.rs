//! `tandem progress`: career steps, a participant's move from one role to another, which is
//! what mentoring is for.

use super::kudos::owner_or_mentor;
use super::shared::{
    change_personal_record, list_items, paint, read, report, row_marks, write, PersonalRecord,
};
use crate::context::Context;
use crate::render::line;
use crate::values;
use anyhow::{bail, Result};
use clap::Subcommand;
use tandem_core::jiff::civil::Date;
use tandem_core::model::{
    first_line, short, CareerStep, CareerStepChanges, ItemId, NewCareerStep, Workspace,
};

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
    /// Change a career step's date, roles or note (the person whose step it is or a mentor
    /// only).
    Set {
        /// The career step's id or id prefix.
        id: String,
        /// A new date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        date: Option<Date>,
        /// A new role before the step, replacing the old one.
        #[arg(long = "from", value_name = "ROLE")]
        role_before: Option<String>,
        /// A new role after the step, replacing the old one.
        #[arg(long = "to", value_name = "ROLE")]
        role_after: Option<String>,
        /// A new note (the change merges as a text diff).
        #[arg(long)]
        note: Option<String>,
    },
    /// Archive a career step (it stays in history and can be restored; the person whose step
    /// it is or a mentor only).
    Archive {
        /// The career step's id or id prefix.
        id: String,
    },
    /// Restore an archived career step (the person whose step it is or a mentor only).
    Restore {
        /// The career step's id or id prefix.
        id: String,
    },
}

impl ProgressCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        !matches!(self, ProgressCommand::List { .. })
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
            let label = step.as_ref().map(step_label).unwrap_or_default();
            report(ctx, "Added", "career step", &id, &label, &step)
        }
        ProgressCommand::List { all } => {
            let p = paint(ctx);
            let (_, o) = read(ctx)?;
            let empty = "No career steps yet. Record one with: tandem progress add --date \
                         YYYY-MM-DD --from ROLE --to ROLE";
            list_items(ctx, o.career_steps(), all, empty, |s| {
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
            })
        }
        ProgressCommand::Set {
            id,
            date,
            role_before,
            role_after,
            note,
        } => {
            let changes = CareerStepChanges {
                date,
                role_before,
                role_after,
                note,
            };
            let allowed = theirs_or_a_mentors("change");
            change_personal_record::<CareerStep>(ctx, &id, "Updated", allowed, |ws, full| {
                ws.set_career_step(full, changes)
            })
        }
        ProgressCommand::Archive { id } => archive(ctx, &id, true),
        ProgressCommand::Restore { id } => archive(ctx, &id, false),
    }
}

/// `Ben: Junior developer → Developer`.
fn step_label(s: &CareerStep) -> String {
    format!("{}: {} → {}", s.name, s.role_before, s.role_after)
}

impl PersonalRecord for CareerStep {
    const NOUN: &'static str = "career step";
    fn resolve(ws: &Workspace, prefix: &str) -> tandem_core::Result<ItemId> {
        ws.resolve_career_step(prefix)
    }
    fn read(ws: &Workspace, id: &ItemId) -> tandem_core::Result<Option<Self>> {
        ws.career_step(id).map(Some)
    }
    fn owner(&self) -> &str {
        &self.participant
    }
    fn label(&self) -> String {
        step_label(self)
    }
}

/// Who may change or archive a career step (`what` names the change, should it be refused): it
/// is one person's record, so only they or a mentor.
fn theirs_or_a_mentors(what: &str) -> impl FnOnce(&Workspace, &str) -> Result<()> + '_ {
    move |ws, participant| {
        if !owner_or_mentor(ws, participant) {
            bail!("only the person whose career step it is or a mentor can {what} it");
        }
        Ok(())
    }
}

fn archive(ctx: &Context, prefix: &str, archived: bool) -> Result<()> {
    let verb = if archived { "archive" } else { "restore" };
    let done = if archived { "Archived" } else { "Restored" };
    let allowed = theirs_or_a_mentors(verb);
    change_personal_record::<CareerStep>(ctx, prefix, done, allowed, |ws, id| {
        ws.archive_career_step(id, archived)
    })
}
