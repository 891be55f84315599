//! `tandem action`: action items, their owners and due dates.

use super::shared::{
    add_item, archive, checkbox, due_label, list_items, paint, read, report, row_marks, write_item,
};
use crate::context::Context;
use crate::render::fit;
use crate::values;
use anyhow::Result;
use clap::Subcommand;
use tandem_core::jiff::civil::Date;
use tandem_core::model::draft::{Draft, People};
use tandem_core::model::{first_line, short, Action, ActionChanges, Kind, NewAction, Workspace};

#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Add an action item.
    Add {
        /// What is to be done, in a few words.
        title: String,
        /// Who does it (a participant's name).
        #[arg(long)]
        owner: Option<String>,
        /// Due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
        /// The goal this action serves.
        #[arg(long)]
        goal: Option<String>,
        /// The check-in it came from.
        #[arg(long)]
        checkin: Option<String>,
    },
    /// Mark an action item done.
    Done {
        /// The action item's id or id prefix.
        id: String,
    },
    /// Open a done action item again.
    Reopen {
        /// The action item's id or id prefix.
        id: String,
    },
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
    /// Change an action item's title, owner, due date or goal.
    Set {
        /// The action item's id or id prefix.
        id: String,
        /// A new title, replacing the old one.
        #[arg(long)]
        title: Option<String>,
        /// A new owner (a participant's name).
        #[arg(long)]
        owner: Option<String>,
        /// A new due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
        /// The goal this action serves, by id or id prefix.
        #[arg(long)]
        goal: Option<String>,
    },
    /// Archive an action item (it stays in history and can be restored).
    Archive {
        /// The action item's id or id prefix.
        id: String,
    },
    /// Restore an archived action item.
    Restore {
        /// The action item's id or id prefix.
        id: String,
    },
}

impl ActionCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        !matches!(self, ActionCommand::List { .. })
    }
}

pub fn run(ctx: &Context, cmd: ActionCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        ActionCommand::Add {
            title,
            owner,
            due,
            goal,
            checkin,
        } => {
            // An action item for a goal or a check-in names it by prefix, which only the loaded
            // workspace can resolve, so only a free-standing one takes the quick path.
            let free = NewAction {
                title: title.clone(),
                owner: owner.clone(),
                due,
                goal: None,
                checkin: None,
            };
            let quick = (goal.is_none() && checkin.is_none())
                .then_some(|people: &People| Draft::action(&free, people));
            let add = |ws: &mut Workspace| {
                let goal = goal.map(|g| ws.resolve(Kind::Goal, &g)).transpose()?;
                let checkin = checkin.map(|c| ws.resolve(Kind::CheckIn, &c)).transpose()?;
                ws.add_action(NewAction {
                    title,
                    owner,
                    due,
                    goal,
                    checkin,
                })
            };
            let label = |a: &Action| a.title.clone();
            add_item(ctx, "action", quick, add, Workspace::action, label)
        }
        ActionCommand::Done { id } => set_done(ctx, &id, true),
        ActionCommand::Reopen { id } => set_done(ctx, &id, false),
        ActionCommand::List { open, overdue, all } => {
            let (_, o) = read(ctx)?;
            let today = o.today(&ctx.zone);
            let actions = o
                .actions()
                .into_iter()
                .filter(|a| !open || !a.done)
                .filter(|a| !overdue || a.is_overdue(today))
                .collect();
            list_items(ctx, actions, all, "No action items match.", |a| {
                let check = checkbox(p, a.done);
                let owner = a.owner.clone().unwrap_or_default();
                let title = fit(&first_line(&a.title, 44), 44);
                let title = if a.is_overdue(today) {
                    p.red(&title)
                } else {
                    title
                };
                println!(
                    "{check} {}  {}  {}  {}{}",
                    p.cyan(short(&a.id)),
                    title,
                    fit(&owner, 10),
                    due_label(p, a.due.as_ref(), today, a.done),
                    row_marks(p, &a.meta)
                );
            })
        }
        ActionCommand::Set {
            id,
            title,
            owner,
            due,
            goal,
        } => {
            let (o, full) = write_item(ctx, Kind::Action, &id, |ws, full| {
                let goal = goal.map(|g| ws.resolve(Kind::Goal, &g)).transpose()?;
                let changes = ActionChanges {
                    title,
                    owner,
                    due,
                    goal,
                };
                ws.set_action(full, changes)
            })?;
            let a = o.ws.action(&full)?;
            report(ctx, "Updated", "action", &full, &a.title, &a)
        }
        ActionCommand::Archive { id } => archive(ctx, Kind::Action, &id, true),
        ActionCommand::Restore { id } => archive(ctx, Kind::Action, &id, false),
    }
}

fn set_done(ctx: &Context, prefix: &str, done: bool) -> Result<()> {
    let (o, full) = write_item(ctx, Kind::Action, prefix, |ws, full| {
        ws.set_action_done(full, done)
    })?;
    let a = o.ws.action(&full)?;
    report(
        ctx,
        if done { "Completed" } else { "Reopened" },
        "action",
        &full,
        &a.title,
        &a,
    )
}
