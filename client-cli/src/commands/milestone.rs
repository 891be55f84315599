//! `tandem milestone`: add milestones to a goal, change them, tick them off, archive and restore
//! them.

use super::shared::{report, write};
use crate::context::Context;
use crate::render::{line, progress_bar};
use crate::values;
use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;
use tandem_core::jiff::civil::Date;
use tandem_core::model::{first_line, ItemId, Kind, Milestone, MilestoneChanges};

#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Add a milestone to a goal.
    Add {
        /// The goal's id or id prefix.
        goal: String,
        /// What the milestone is, in a few words.
        title: String,
        /// Due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
    },
    /// Change a milestone's title or due date.
    Set {
        /// The goal's id or id prefix.
        goal: String,
        /// The milestone's id or id prefix.
        milestone: String,
        /// A new title, replacing the old one.
        #[arg(long)]
        title: Option<String>,
        /// A new due date, YYYY-MM-DD.
        #[arg(long, value_parser = values::date)]
        due: Option<Date>,
    },
    /// Mark a milestone done.
    Done {
        /// The goal's id or id prefix.
        goal: String,
        /// The milestone's id or id prefix.
        milestone: String,
    },
    /// Mark a milestone not done.
    Undo {
        /// The goal's id or id prefix.
        goal: String,
        /// The milestone's id or id prefix.
        milestone: String,
    },
    /// Archive a milestone: it no longer counts towards its goal's progress, and can be restored.
    Archive {
        /// The goal's id or id prefix.
        goal: String,
        /// The milestone's id or id prefix.
        milestone: String,
    },
    /// Restore an archived milestone.
    Restore {
        /// The goal's id or id prefix.
        goal: String,
        /// The milestone's id or id prefix.
        milestone: String,
    },
}

/// A changed milestone as `--json` prints it: the milestone and the goal it belongs to.
#[derive(Serialize)]
struct MilestoneReport {
    #[serde(flatten)]
    milestone: Option<Milestone>,
    goal: ItemId,
}

pub fn run(ctx: &Context, cmd: MilestoneCommand) -> Result<()> {
    let (goal_prefix, verb) = match &cmd {
        MilestoneCommand::Add { goal, .. } => (goal.clone(), "Added"),
        MilestoneCommand::Set { goal, .. } => (goal.clone(), "Updated"),
        MilestoneCommand::Done { goal, .. } => (goal.clone(), "Completed"),
        MilestoneCommand::Undo { goal, .. } => (goal.clone(), "Reopened"),
        MilestoneCommand::Archive { goal, .. } => (goal.clone(), "Archived"),
        MilestoneCommand::Restore { goal, .. } => (goal.clone(), "Restored"),
    };
    let (_, o, (goal_id, mid)) = write(ctx, |ws| {
        let goal_id = ws.resolve(Kind::Goal, &goal_prefix)?;
        let mid = match cmd {
            MilestoneCommand::Add { title, due, .. } => ws.add_milestone(&goal_id, &title, due)?,
            MilestoneCommand::Set {
                milestone,
                title,
                due,
                ..
            } => {
                let mid = ws.resolve_milestone(&goal_id, &milestone)?;
                ws.set_milestone(&goal_id, &mid, MilestoneChanges { title, due })?;
                mid
            }
            MilestoneCommand::Done { milestone, .. } | MilestoneCommand::Undo { milestone, .. } => {
                let mid = ws.resolve_milestone(&goal_id, &milestone)?;
                ws.set_milestone_done(&goal_id, &mid, verb == "Completed")?;
                mid
            }
            MilestoneCommand::Archive { milestone, .. }
            | MilestoneCommand::Restore { milestone, .. } => {
                let mid = ws.resolve_milestone(&goal_id, &milestone)?;
                ws.archive_milestone(&goal_id, &mid, verb == "Archived")?;
                mid
            }
        };
        Ok((goal_id, mid))
    })?;
    let g = o.ws.goal(&goal_id)?;
    let m = g.milestones.iter().find(|m| m.id == mid).cloned();
    let title = m.as_ref().map(|m| m.title.clone()).unwrap_or_default();
    let item = MilestoneReport {
        milestone: m,
        goal: goal_id,
    };
    report(ctx, verb, "milestone", &mid, &title, &item)?;
    if !ctx.json && !ctx.quiet {
        let (done, total) = g.progress();
        println!(
            "  {}: {}",
            line(&first_line(&g.title, 50)),
            progress_bar(done, total, 10)
        );
    }
    Ok(())
}
