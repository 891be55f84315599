//! `tandem goal`: add, list, show, change, edit, archive and restore goals.

use super::shared::{
    add_item, archive, checkbox, due_label, edit_outside, list_items, live_actions, paint,
    print_oversized, read, report, row_marks, write_item,
};
use crate::context::Context;
use crate::render::{fit, progress_bar, shown, Paint};
use crate::values;
use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use tandem_core::jiff::civil::Date;
use tandem_core::model::draft::{Draft, People};
use tandem_core::model::time::{display_instant, Stored};
use tandem_core::model::{
    first_line, short, Action, Goal, GoalChanges, GoalStatus, ItemId, Kind, NewGoal, Note,
    Workspace,
};

#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Add a goal.
    Add {
        /// What the goal is, in a few words.
        title: String,
        /// Due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
        /// Who owns the goal (a participant's name).
        #[arg(long)]
        owner: Option<String>,
        /// A longer description (edit it later with `tandem goal edit`).
        #[arg(long)]
        description: Option<String>,
    },
    /// List goals.
    List {
        /// Only goals with this status.
        #[arg(long, value_parser = values::status(), ignore_case = true)]
        status: Option<GoalStatus>,
        /// Include archived goals.
        #[arg(long)]
        all: bool,
    },
    /// Show a goal with its milestones.
    Show {
        /// The goal's id or id prefix.
        id: String,
    },
    /// Change a goal's fields.
    Set {
        /// The goal's id or id prefix.
        id: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// A new status.
        #[arg(long, value_parser = values::status(), ignore_case = true)]
        status: Option<GoalStatus>,
        /// A new due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
        /// A new owner (a participant's name).
        #[arg(long)]
        owner: Option<String>,
        /// A new description, replacing the old one.
        #[arg(long)]
        description: Option<String>,
    },
    /// Edit the description in $EDITOR; the edit merges as a text diff.
    Edit {
        /// The goal's id or id prefix.
        id: String,
    },
    /// Archive a goal (it stays in history and can be restored).
    Archive {
        /// The goal's id or id prefix.
        id: String,
    },
    /// Restore an archived goal.
    Restore {
        /// The goal's id or id prefix.
        id: String,
    },
}

impl GoalCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        !matches!(self, GoalCommand::List { .. } | GoalCommand::Show { .. })
    }
}

/// `goal show --json`: the goal with the notes and action items that belong to it.
#[derive(Serialize)]
struct GoalDetail {
    #[serde(flatten)]
    goal: Goal,
    notes: Vec<Note>,
    actions: Vec<Action>,
}

pub fn run(ctx: &Context, cmd: GoalCommand) -> Result<()> {
    match cmd {
        GoalCommand::Add {
            title,
            due,
            owner,
            description,
        } => {
            let goal = NewGoal {
                title,
                description,
                due,
                owner,
            };
            add_item(
                ctx,
                "goal",
                Some(|people: &People| Draft::goal(&goal, people)),
                |ws| ws.add_goal(goal.clone()),
                Workspace::goal,
                |g: &Goal| g.title.clone(),
            )
        }
        GoalCommand::List { status, all } => list(ctx, status, all),
        GoalCommand::Show { id } => show(ctx, &id),
        GoalCommand::Set {
            id,
            title,
            status,
            due,
            owner,
            description,
        } => {
            let changes = GoalChanges {
                title,
                description,
                status,
                due,
                owner,
            };
            let (o, full) =
                write_item(ctx, Kind::Goal, &id, |ws, full| ws.set_goal(full, changes))?;
            let g = o.ws.goal(&full)?;
            report(ctx, "Updated", "goal", &full, &g.title, &g)
        }
        GoalCommand::Edit { id } => edit_outside(
            ctx,
            false,
            |ws| {
                let id = ws.resolve(Kind::Goal, &id)?;
                Ok((id.clone(), ws.goal(&id)?.description))
            },
            |ws, id, text| {
                ws.set_goal(
                    id,
                    GoalChanges {
                        description: Some(text),
                        ..Default::default()
                    },
                )
            },
        ),
        GoalCommand::Archive { id } => archive(ctx, Kind::Goal, &id, true),
        GoalCommand::Restore { id } => archive(ctx, Kind::Goal, &id, false),
    }
}

fn list(ctx: &Context, status: Option<GoalStatus>, all: bool) -> Result<()> {
    let p = paint(ctx);
    let (_, o) = read(ctx)?;
    let today = o.today(&ctx.zone);
    let goals = o
        .goals()
        .into_iter()
        .filter(|g| status.as_ref().is_none_or(|s| g.status == *s))
        .collect();
    let empty = "No goals yet. Add one with: tandem goal add \"…\"";
    list_items(ctx, goals, all, empty, |g| {
        let (done, total) = g.progress();
        println!(
            "{}  {}  {:<7}  {}  {}{}",
            p.cyan(short(&g.id)),
            fit(&first_line(&g.title, 40), 40),
            g.status,
            progress_bar(done, total, 10),
            due_label(p, g.due.as_ref(), today, g.status == GoalStatus::Done),
            row_marks(p, &g.meta)
        );
    })
}

fn show(ctx: &Context, id: &str) -> Result<()> {
    let p = paint(ctx);
    let (_, o) = read(ctx)?;
    let id = o.resolve(Kind::Goal, id)?;
    let detail = GoalDetail {
        goal: o.goal(&id)?,
        notes: o
            .notes()
            .into_iter()
            .filter(|n| n.goal.as_deref() == Some(id.as_str()) && !n.meta.archived)
            .collect(),
        actions: live_actions(&o, |a| a.goal.as_deref() == Some(id.as_str())),
    };
    if ctx.json {
        return ctx.print_json(&detail);
    }
    let (g, notes, actions) = (
        shown(detail.goal),
        shown(detail.notes),
        shown(detail.actions),
    );
    let today = o.today(&ctx.zone);
    let (done, total) = g.progress();
    println!("{} {}  {}", p.bold("Goal"), p.cyan(&g.id), p.bold(&g.title));
    let mut facts = vec![format!("status: {}", g.status)];
    if let Some(owner) = &g.owner {
        facts.push(format!("owner: {owner}"));
    }
    if g.due.is_some() {
        facts.push(due_label(
            p,
            g.due.as_ref(),
            today,
            g.status == GoalStatus::Done,
        ));
    }
    if g.meta.archived {
        facts.push(p.dim("archived"));
    }
    println!("  {}", facts.join("   "));
    println!("  progress: {}", progress_bar(done, total, 20));
    if let (Some(by), Some(at)) = (&g.meta.created_by_name, &g.meta.created_at) {
        println!(
            "  {}",
            p.dim(&format!(
                "created by {by} on {}",
                display_instant(at, &ctx.zone)
            ))
        );
    }
    if !g.description.trim().is_empty() {
        println!();
        for line in g.description.lines() {
            println!("  {line}");
        }
    }
    print_oversized(p, "goal", &g.meta);
    if !g.milestones.is_empty() {
        let live = g.milestones.iter().filter(|m| !m.meta.archived);
        checklist(
            p,
            "Milestones",
            today,
            live.map(|m| (m.done, &m.id, &m.title, &m.due)),
        );
    }
    if !actions.is_empty() {
        let rows = actions.iter().map(|a| (a.done, &a.id, &a.title, &a.due));
        checklist(p, "Actions", today, rows);
    }
    if !notes.is_empty() {
        println!("\n{}", p.bold("Notes"));
        for n in &notes {
            let label = if n.title.is_empty() {
                first_line(&n.body, 60)
            } else {
                n.title.clone()
            };
            println!("  {}  {label}", p.cyan(short(&n.id)));
        }
    }
    Ok(())
}

/// Print a headed list of milestones or action items: checkbox, short id, title and due date.
fn checklist<'a>(
    p: Paint,
    heading: &str,
    today: Date,
    rows: impl Iterator<Item = (bool, &'a ItemId, &'a String, &'a Option<Stored<Date>>)>,
) {
    println!("\n{}", p.bold(heading));
    for (done, id, title, due) in rows {
        println!(
            "  {} {}  {}  {}",
            checkbox(p, done),
            p.cyan(short(id)),
            title,
            due_label(p, due.as_ref(), today, done)
        );
    }
}
