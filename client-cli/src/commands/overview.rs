//! `tandem plan --all`, one line per workspace on this device; and the part of `plan` that
//! measures how the pair is doing: the rhythm, the pulse survey, recent wins and career steps.

use super::rhythm::{rhythm_line, survey_prompt};
use super::shared::paint;
use crate::context::Context;
use crate::render::{line, shown};
use anyhow::Result;
use serde::Serialize;
use tandem_core::jiff::tz::TimeZone;
use tandem_core::model::survey::today_in_utc;
use tandem_core::model::time::Stored;
use tandem_core::model::{first_line, CareerStep, PairReader, Rhythm, Win, WinKind};

/// One workspace as `plan --all --json` lists it.
#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    current: bool,
    next_checkin_due: Option<Stored<tandem_core::jiff::Timestamp>>,
    overdue_days: i64,
    /// Open action items past their due date.
    overdue_actions: usize,
    /// Whether the pulse survey is due for this device's participant.
    survey_due: bool,
}

/// The career steps not archived, earliest first.
pub fn live_career_steps(steps: Vec<CareerStep>) -> Vec<CareerStep> {
    steps.into_iter().filter(|s| !s.meta.archived).collect()
}

pub fn run(ctx: &Context) -> Result<()> {
    let p = paint(ctx);
    let home = ctx.home()?;
    let mut rows = Vec::new();
    let mut rhythms = Vec::new();
    for info in home.workspaces()? {
        // The read model answers without loading each workspace (see `Home::view_workspace`).
        let v = home.view_workspace(&info.id, ctx.now)?;
        let today = v.today(&ctx.zone);
        let rhythm = v.rhythm(ctx.now);
        let overdue_actions = v
            .actions()
            .iter()
            .filter(|a| !a.meta.archived && a.is_overdue(today))
            .count();
        let survey_due = home
            .me(&info.id)?
            .is_some_and(|me| v.survey_due(&me, today_in_utc(ctx.now)));
        rows.push(Row {
            id: info.id.to_string(),
            title: v.title(),
            current: info.current,
            next_checkin_due: rhythm.next_checkin_due.clone(),
            overdue_days: rhythm.overdue_days,
            overdue_actions,
            survey_due,
        });
        rhythms.push(rhythm);
    }
    drop(home);
    if ctx.json {
        return ctx.print_json(&rows);
    }
    if rows.is_empty() {
        ctx.say("No workspaces yet. Create one with: tandem init --title T --name N --role mentor|mentee");
        return Ok(());
    }
    for (row, rhythm) in rows.iter().zip(&rhythms) {
        let mark = if row.current { "*" } else { " " };
        let mut facts = vec![rhythm_line(p, rhythm, ctx.now, &ctx.zone)];
        if row.overdue_actions > 0 {
            let s = if row.overdue_actions == 1 { "" } else { "s" };
            facts.push(p.red(&format!("{} overdue action{s}", row.overdue_actions)));
        }
        if row.survey_due {
            facts.push(p.yellow("pulse survey due"));
        }
        println!("{mark} {}", p.bold(&line(&row.title)));
        println!("    {}", facts.join(" · "));
    }
    Ok(())
}

/// A win on one row, dated in the reader's zone.
fn win_line(win: &Win, zone: &TimeZone) -> String {
    let what = match win.kind {
        WinKind::GoalDone => format!("Goal done: {}", first_line(&win.title, 50)),
        WinKind::MilestoneDone => format!("Milestone done: {}", first_line(&win.title, 50)),
        WinKind::CheckinStreak => format!(
            "{} check-ins in a row, each within the rhythm",
            win.count.unwrap_or_default()
        ),
        WinKind::Kudos => format!(
            "Kudos from {} to {}: {}",
            win.from.as_deref().unwrap_or_default(),
            win.to.as_deref().unwrap_or_default(),
            first_line(&win.title, 50)
        ),
    };
    let when = win
        .instant()
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%a %-d %b")
                .to_string()
        })
        .unwrap_or_default();
    line(format!("{what}  {when}").trim_end())
}

/// The measures under `plan`'s check-ins: the rhythm line, the survey prompt, recent wins and
/// career steps.
pub fn print_measures(
    ctx: &Context,
    rhythm: &Rhythm,
    survey_due: bool,
    wins: Vec<Win>,
    career_steps: Vec<CareerStep>,
) {
    let p = paint(ctx);
    println!("  {}", rhythm_line(p, rhythm, ctx.now, &ctx.zone));
    if survey_due {
        println!("  {}", survey_prompt(p));
    }
    println!("\n{}", p.bold("Recent wins"));
    if wins.is_empty() {
        println!("  none in the last 30 days");
    }
    for win in shown(wins) {
        println!("  {} {}", p.green("★"), win_line(&win, &ctx.zone));
    }
    if !career_steps.is_empty() {
        println!("\n{}", p.bold("Career steps"));
        for s in shown(career_steps) {
            println!(
                "  {}  {}: {} → {}",
                s.date,
                s.name,
                line(&s.role_before),
                line(&s.role_after)
            );
        }
    }
}
