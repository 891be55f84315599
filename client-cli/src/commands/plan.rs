//! `tandem plan`: the one screen a pair looks at.

use super::shared::paint;
use crate::context::Context;
use crate::render::{fit, line, progress_bar, shown};
use anyhow::Result;
use serde::Serialize;
use tandem_core::model::survey::today_in_utc;
use tandem_core::model::time::display_instant;
use tandem_core::model::{
    first_line, short, Action, CareerStep, CheckIn, Goal, GoalStatus, PairReader, Participant,
    Rhythm, Win,
};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Every workspace on this device, one line each: when the next check-in is due, overdue
    /// actions, whether a pulse survey is due.
    #[arg(long)]
    all: bool,
}

/// The plan as `--json` prints it. The fields are in alphabetical order, the order in which
/// `--json` has always printed them.
#[derive(Serialize)]
struct Plan {
    /// Career steps not archived, earliest first.
    career_steps: Vec<CareerStep>,
    /// How many fields hold values two people set concurrently.
    conflicts: usize,
    /// Goals neither archived nor dropped.
    goals: Vec<Goal>,
    id: String,
    last_checkin: Option<CheckIn>,
    next_checkin: Option<CheckIn>,
    /// Action items not done, in workspace order.
    open_actions: Vec<Action>,
    /// The open action items past their due date, the longest overdue first.
    overdue_actions: Vec<Action>,
    participants: Vec<Participant>,
    /// When the next check-in is due by the pair's rhythm, and how late it is.
    rhythm: Rhythm,
    /// Whether the pulse survey is due for this device's participant.
    survey_due: bool,
    title: String,
    /// Changes on this device that no relay has confirmed yet.
    unsynced_changes: usize,
    /// The recent wins, newest first.
    wins: Vec<Win>,
}

pub fn run(ctx: &Context, args: PlanArgs) -> Result<()> {
    if args.all {
        return super::overview::run(ctx);
    }
    let p = paint(ctx);
    let home = ctx.home()?;
    // The read model answers without loading the document when it is current.
    let v = ctx.view(&home)?;
    let me = home.me(v.id())?;
    drop(home);
    let unsynced = v.unsynced_changes();
    let conflicts = v.conflicts();
    let today = v.today(&ctx.zone);
    let now = ctx.now;
    let participants = v.participants();
    let goals: Vec<_> = v
        .goals()
        .into_iter()
        .filter(|g| !g.meta.archived && g.status != GoalStatus::Dropped)
        .collect();
    let actions: Vec<_> = v
        .actions()
        .into_iter()
        .filter(|a| !a.meta.archived && !a.done)
        .collect();
    let checkins: Vec<_> = v
        .checkins()
        .into_iter()
        .filter(|c| !c.meta.archived)
        .collect();
    let at = |c: &CheckIn| c.at.valid().copied();
    let last = checkins
        .iter()
        .rev()
        .find(|c| at(c).is_some_and(|t| t <= now))
        .cloned();
    let next = checkins
        .iter()
        .find(|c| at(c).is_some_and(|t| t > now))
        .cloned();
    let mut overdue: Vec<_> = actions
        .iter()
        .filter(|a| a.is_overdue(today))
        .cloned()
        .collect();
    // The longest overdue first: those are the ones to talk about.
    overdue.sort_by(|a, b| (&a.due, &a.id).cmp(&(&b.due, &b.id)));

    let survey_due = me.is_some_and(|me| v.survey_due(&me, today_in_utc(now)));
    let plan = Plan {
        career_steps: super::overview::live_career_steps(v.career_steps()),
        conflicts,
        goals,
        id: v.id().to_string(),
        last_checkin: last,
        next_checkin: next,
        open_actions: actions,
        overdue_actions: overdue,
        participants,
        rhythm: v.rhythm(now),
        survey_due,
        title: v.title(),
        unsynced_changes: unsynced,
        wins: v.recent_wins(now),
    };
    if ctx.json {
        return ctx.print_json(&plan);
    }
    let Plan {
        career_steps,
        conflicts,
        goals,
        id,
        last_checkin: last,
        next_checkin: next,
        open_actions: actions,
        overdue_actions: overdue,
        participants,
        rhythm,
        survey_due,
        title,
        unsynced_changes: unsynced,
        wins,
    } = plan;
    let (goals, last, next, actions, overdue, participants) = (
        shown(goals),
        shown(last),
        shown(next),
        shown(actions),
        shown(overdue),
        shown(participants),
    );
    let (title, id) = (line(&title), line(&id));

    let people: Vec<String> = participants
        .iter()
        .map(|p| format!("{} ({})", p.name, p.role))
        .collect();
    println!("{}", p.bold(&title));
    println!("{}", p.dim(&format!("{} · {}", people.join(", "), id)));

    println!("\n{}", p.bold("Goals"));
    let mut goals_note = None;
    if goals.is_empty() {
        println!("  none yet — tandem goal add \"…\"");
    }
    // Goals in progress come first (active, then open, soonest due first); done goals follow.
    // The list is cut so the plan stays one screen; `tandem goal list` shows them all.
    const MAX_GOALS: usize = 12;
    let rank = |status: &GoalStatus| match status {
        GoalStatus::Active => 0,
        GoalStatus::Open => 1,
        _ => 2,
    };
    let mut goals = goals;
    goals.sort_by(|a, b| {
        (rank(&a.status), a.due.is_none(), &a.due).cmp(&(rank(&b.status), b.due.is_none(), &b.due))
    });
    if goals.len() > MAX_GOALS {
        let hidden = &goals[MAX_GOALS..];
        let done = hidden
            .iter()
            .filter(|g| g.status == GoalStatus::Done)
            .count();
        let note = format!(
            "  … and {} more ({} in progress, {} done): tandem goal list",
            hidden.len(),
            hidden.len() - done,
            done
        );
        goals.truncate(MAX_GOALS);
        goals_note = Some(note);
    }
    for g in &goals {
        let (done, total) = g.progress();
        let due = match &g.due {
            Some(d) if d.valid().is_some_and(|d| *d < today) && g.status != GoalStatus::Done => {
                p.red(&format!("due {d}"))
            }
            Some(d) => format!("due {d}"),
            None => String::new(),
        };
        // The column is padded before it is painted, so colour codes never count as width.
        let status = fit(g.status.as_str(), 6);
        let status = match g.status {
            GoalStatus::Done => p.green(&status),
            GoalStatus::Active => p.yellow(&status),
            _ => status,
        };
        println!(
            "  {}  {}  {}  {}  {}",
            p.cyan(short(&g.id)),
            fit(&first_line(&g.title, 36), 36),
            status,
            progress_bar(done, total, 10),
            due
        );
    }

    if let Some(note) = goals_note {
        println!("{note}");
    }

    println!("\n{}", p.bold("Actions"));
    if actions.is_empty() {
        println!("  nothing open");
    }
    // Overdue first; the list is cut so the plan stays one screen.
    const MAX_ACTIONS: usize = 12;
    for (shown, a) in overdue
        .iter()
        .chain(actions.iter().filter(|a| !a.is_overdue(today)))
        .enumerate()
    {
        if shown == MAX_ACTIONS {
            println!(
                "  … and {} more (tandem action list --open)",
                actions.len() - shown
            );
            break;
        }
        let owner = a.owner.clone().map(|o| format!("@{o}")).unwrap_or_default();
        let due = a
            .due
            .clone()
            .map(|d| format!("due {d}"))
            .unwrap_or_default();
        let line = format!(
            "{}  {}  {}",
            fit(&first_line(&a.title, 44), 44),
            fit(&owner, 10),
            due
        );
        if a.is_overdue(today) {
            println!(
                "  {}  {} {}",
                p.cyan(short(&a.id)),
                p.red(&line),
                p.red("OVERDUE")
            );
        } else {
            println!("  {}  {line}", p.cyan(short(&a.id)));
        }
    }

    println!("\n{}", p.bold("Check-ins"));
    match &last {
        Some(c) => {
            let ratings: Vec<String> = c
                .ratings
                .iter()
                .map(|r| format!("{} {}/5", r.name, r.rating))
                .collect();
            let ratings = if ratings.is_empty() {
                "not rated".to_string()
            } else {
                ratings.join(", ")
            };
            println!(
                "  last: {}  {}  {}",
                display_instant(&c.at, &ctx.zone),
                first_line(&c.agenda, 40),
                p.dim(&ratings)
            );
        }
        None => println!("  last: none yet"),
    }
    match &next {
        Some(c) => println!(
            "  next: {}  {}",
            p.green(&display_instant(&c.at, &ctx.zone)),
            first_line(&c.agenda, 50)
        ),
        None => println!("  next: not scheduled — tandem checkin add --at \"YYYY-MM-DD HH:MM\""),
    }
    super::overview::print_measures(ctx, &rhythm, survey_due, wins, career_steps);

    println!("\n{}", p.bold("Sync"));
    if unsynced == 0 {
        println!("  everything is on the relay");
    } else {
        println!("  {unsynced} change(s) not yet on a relay");
    }
    if conflicts > 0 {
        println!(
            "  {}",
            p.yellow(&format!(
                "{conflicts} field(s) were set concurrently — see tandem conflicts"
            ))
        );
    }
    Ok(())
}
