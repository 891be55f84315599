//! `tandem checkin`: schedule, record, rate and edit check-ins.

use super::shared::{
    add_item, archive, checkbox, edit_outside, list_items, live_actions, paint, print_oversized,
    read, report, row_marks, write, write_item,
};
use crate::context::Context;
use crate::render::{fit, shown};
use crate::values;
use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use tandem_core::model::draft::{Draft, People};
use tandem_core::model::time::{display_instant, When};
use tandem_core::model::{first_line, short, Action, CheckIn, CheckInChanges, Kind, Workspace};

#[derive(Debug, Subcommand)]
pub enum CheckInCommand {
    /// Schedule or record a check-in.
    Add {
        /// When: "YYYY-MM-DD HH:MM" in local time, or RFC 3339 [default: now].
        #[arg(long, value_parser = values::when)]
        at: Option<When>,
        /// What to talk about.
        #[arg(long)]
        agenda: Option<String>,
        /// Where to meet online: the video call's address.
        #[arg(long, value_name = "URL")]
        link: Option<String>,
        /// Schedule the next check-in one check-in rhythm after the latest (see `tandem
        /// rhythm`), at the same time of day and with its meeting link.
        #[arg(long, conflicts_with = "at")]
        repeat: bool,
    },
    /// List check-ins.
    List {
        /// Include archived check-ins.
        #[arg(long)]
        all: bool,
    },
    /// Show a check-in with its ratings.
    Show {
        /// The check-in's id or id prefix.
        id: String,
    },
    /// Rate a check-in from 1 to 5.
    Rate {
        /// The check-in's id or id prefix.
        id: String,
        /// 1 (poor) to 5 (excellent).
        #[arg(value_parser = values::rating)]
        rating: u8,
        /// A word on why.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Edit the check-in's notes in $EDITOR.
    Edit {
        /// The check-in's id or id prefix.
        id: String,
    },
    /// Change a check-in's time, agenda, notes or meeting link.
    Set {
        /// The check-in's id or id prefix.
        id: String,
        /// A new time: "YYYY-MM-DD HH:MM" in local time, or RFC 3339.
        #[arg(long, value_parser = values::when)]
        at: Option<When>,
        /// A new agenda, replacing the old one (the change merges as a text diff).
        #[arg(long)]
        agenda: Option<String>,
        /// New notes, replacing the old ones (the change merges as a text diff).
        #[arg(long)]
        notes: Option<String>,
        /// Where to meet online: the video call's address.
        #[arg(long, value_name = "URL")]
        link: Option<String>,
    },
    /// Archive a check-in (it stays in history and can be restored).
    Archive {
        /// The check-in's id or id prefix.
        id: String,
    },
    /// Restore an archived check-in.
    Restore {
        /// The check-in's id or id prefix.
        id: String,
    },
}

impl CheckInCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            CheckInCommand::List { .. } | CheckInCommand::Show { .. }
        )
    }
}

/// `checkin show --json`: the check-in with the action items that came from it.
#[derive(Serialize)]
struct CheckInDetail {
    #[serde(flatten)]
    checkin: CheckIn,
    actions: Vec<Action>,
}

pub fn run(ctx: &Context, cmd: CheckInCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        CheckInCommand::Add {
            at,
            agenda,
            link,
            repeat,
        } => {
            if repeat {
                return add_repeat(ctx, agenda, link);
            }
            let at = match at {
                Some(when) => when.resolve(&ctx.zone)?,
                None => ctx.now,
            };
            let agenda = agenda.unwrap_or_default();
            let draft = || Draft::checkin(at, &agenda, link.as_deref());
            add_item(
                ctx,
                "check-in",
                Some(|_: &People| draft()),
                |ws| ws.insert(&draft()?),
                Workspace::checkin,
                |c: &CheckIn| added_label(ctx, c),
            )
        }
        CheckInCommand::List { all } => {
            let (_, o) = read(ctx)?;
            let empty = "No check-ins yet. Add one with: tandem checkin add --at \"YYYY-MM-DD \
                         HH:MM\" --agenda \"…\"";
            list_items(ctx, o.checkins(), all, empty, |c| {
                let when = display_instant(&c.at, &ctx.zone);
                let when = if c.at.valid().is_some_and(|at| *at > ctx.now) {
                    p.green(&format!("{when} (upcoming)"))
                } else {
                    when
                };
                let ratings: Vec<String> = c
                    .ratings
                    .iter()
                    .map(|r| format!("{} {}/5", r.name, r.rating))
                    .collect();
                println!(
                    "{}  {}  {}  {}{}",
                    p.cyan(short(&c.id)),
                    when,
                    fit(&first_line(&c.agenda, 40), 40),
                    p.dim(&ratings.join(", ")),
                    row_marks(p, &c.meta)
                );
            })
        }
        CheckInCommand::Show { id } => {
            let (_, o) = read(ctx)?;
            let id = o.resolve(Kind::CheckIn, &id)?;
            let detail = CheckInDetail {
                checkin: o.checkin(&id)?,
                actions: live_actions(&o, |a| a.checkin.as_deref() == Some(id.as_str())),
            };
            if ctx.json {
                return ctx.print_json(&detail);
            }
            let (c, actions) = (shown(detail.checkin), shown(detail.actions));
            println!(
                "{} {}  {}",
                p.bold("Check-in"),
                p.cyan(&c.id),
                p.bold(&display_instant(&c.at, &ctx.zone))
            );
            if let Some(link) = &c.meeting_link {
                println!("  link: {link}");
            }
            if c.meta.archived {
                println!("  {}", p.dim("archived"));
            }
            if !c.agenda.trim().is_empty() {
                println!("\n{}\n{}", p.bold("Agenda"), c.agenda);
            }
            if !c.notes.trim().is_empty() {
                println!("\n{}\n{}", p.bold("Notes"), c.notes);
            }
            print_oversized(p, "check-in", &c.meta);
            println!("\n{}", p.bold("Ratings"));
            if c.ratings.is_empty() {
                println!("  none yet (tandem checkin rate {} 1-5)", short(&c.id));
            }
            for r in &c.ratings {
                let comment = if r.comment.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", r.comment)
                };
                println!("  {}: {}/5{comment}", r.name, r.rating);
            }
            if !actions.is_empty() {
                println!("\n{}", p.bold("Actions"));
                for a in actions {
                    let check = checkbox(p, a.done);
                    println!("  {check} {}  {}", p.cyan(short(&a.id)), a.title);
                }
            }
            Ok(())
        }
        CheckInCommand::Rate {
            id,
            rating,
            comment,
        } => {
            let value = i64::from(rating);
            let (o, full) = write_item(ctx, Kind::CheckIn, &id, |ws, full| {
                ws.rate_checkin(full, value, comment.as_deref())
            })?;
            let c = o.ws.checkin(&full)?;
            report(ctx, "Rated", "check-in", &full, &format!("{value}/5"), &c)
        }
        CheckInCommand::Edit { id } => edit_outside(
            ctx,
            false,
            |ws| {
                let id = ws.resolve(Kind::CheckIn, &id)?;
                Ok((id.clone(), ws.checkin(&id)?.notes))
            },
            |ws, id, text| ws.edit_checkin_notes(id, &text),
        ),
        CheckInCommand::Set {
            id,
            at,
            agenda,
            notes,
            link,
        } => {
            let at = at.map(|when| when.resolve(&ctx.zone)).transpose()?;
            let changes = CheckInChanges {
                at,
                agenda,
                notes,
                link,
            };
            let (o, full) = write_item(ctx, Kind::CheckIn, &id, |ws, full| {
                ws.set_checkin(full, changes)
            })?;
            let c = o.ws.checkin(&full)?;
            let label = display_instant(&c.at, &ctx.zone);
            report(ctx, "Updated", "check-in", &full, &label, &c)
        }
        CheckInCommand::Archive { id } => archive(ctx, Kind::CheckIn, &id, true),
        CheckInCommand::Restore { id } => archive(ctx, Kind::CheckIn, &id, false),
    }
}

/// `checkin add --repeat`: the next check-in one rhythm after the latest, carrying its link
/// unless another is given.
fn add_repeat(ctx: &Context, agenda: Option<String>, link: Option<String>) -> Result<()> {
    let (_, o, id) = write(ctx, |ws| {
        let next = super::rhythm::repeat_after(ws, ctx.now, &ctx.zone)?;
        let link = link.or(next.link);
        ws.insert(&Draft::checkin(
            next.at,
            agenda.as_deref().unwrap_or_default(),
            link.as_deref(),
        )?)
    })?;
    let c = o.ws.checkin(&id)?;
    report(ctx, "Added", "check-in", &c.id, &added_label(ctx, &c), &c)
}

/// What the report of a new check-in calls it: its time and the start of its agenda.
fn added_label(ctx: &Context, c: &CheckIn) -> String {
    let label = format!(
        "{} {}",
        display_instant(&c.at, &ctx.zone),
        first_line(&c.agenda, 40)
    );
    label.trim().to_string()
}
