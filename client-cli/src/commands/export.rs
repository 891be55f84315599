//! `tandem export`: the whole workspace as Markdown or JSON, or its check-ins as an iCalendar
//! file.

use crate::context::Context;
use crate::render::{line, shown};
use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use tandem_core::jiff::SignedDuration;
use tandem_core::model::time::display_instant;
use tandem_core::model::{first_line, PairReader, Snapshot, Win, WinKind};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file format: Markdown for people, JSON for programs, ics (the check-ins) for
    /// calendars.
    #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
    format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
    Ics,
}

/// What `export --output FILE --json` prints.
#[derive(Serialize)]
struct Exported {
    bytes: usize,
    file: PathBuf,
    id: String,
}

pub fn run(ctx: &Context, args: ExportArgs) -> Result<()> {
    let ExportArgs { format, output } = args;
    let home = ctx.home()?;
    let o = ctx.workspace(&home)?;
    let snapshot = o.ws.snapshot(&o.id().to_string());
    let wins = o.ws.wins(ctx.now);
    drop(home);
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&snapshot)? + "\n",
        // Markdown is read on a terminal as often as in an editor, so it is escaped like every
        // text output; JSON keeps the strings as stored.
        ExportFormat::Md => {
            let mut md = markdown(&shown(snapshot.clone()), ctx);
            measures_markdown(&mut md, &shown(snapshot.clone()), &shown(wins), ctx);
            md
        }
        ExportFormat::Ics => calendar(&snapshot, ctx),
    };
    match output {
        Some(path) => {
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if ctx.json {
                ctx.print_json(&Exported {
                    bytes: text.len(),
                    file: path,
                    id: snapshot.id,
                })?;
            } else {
                ctx.say(format!(
                    "Exported “{}” to {}",
                    line(&snapshot.title),
                    path.display()
                ));
            }
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn markdown(s: &Snapshot, ctx: &Context) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", s.title);
    let people: Vec<String> = s
        .participants
        .iter()
        .map(|p| format!("{} ({})", p.name, p.role))
        .collect();
    let _ = writeln!(md, "Participants: {}\n", people.join(", "));
    let _ = writeln!(md, "## Goals\n");
    for g in s.goals.iter().filter(|g| !g.meta.archived) {
        let (done, total) = g.progress();
        let mut facts = vec![format!("status: {}", g.status)];
        if let Some(o) = &g.owner {
            facts.push(format!("owner: {o}"));
        }
        if let Some(d) = &g.due {
            facts.push(format!("due: {d}"));
        }
        facts.push(format!("milestones: {done}/{total}"));
        let _ = writeln!(md, "### {}\n\n_{}_\n", g.title, facts.join(" · "));
        if !g.description.trim().is_empty() {
            let _ = writeln!(md, "{}\n", g.description.trim_end());
        }
        for m in g.milestones.iter().filter(|m| !m.meta.archived) {
            let due = m
                .due
                .as_ref()
                .map(|d| format!(" (due {d})"))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "- [{}] {}{due}",
                if m.done { "x" } else { " " },
                m.title
            );
        }
        if !g.milestones.is_empty() {
            md.push('\n');
        }
    }
    let _ = writeln!(md, "## Action items\n");
    for a in s.actions.iter().filter(|a| !a.meta.archived) {
        let mut facts = Vec::new();
        if let Some(o) = &a.owner {
            facts.push(format!("@{o}"));
        }
        if let Some(d) = &a.due {
            facts.push(format!("due {d}"));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        let _ = writeln!(
            md,
            "- [{}] {}{facts}",
            if a.done { "x" } else { " " },
            a.title
        );
    }
    let _ = writeln!(md, "\n## Check-ins\n");
    for c in s.checkins.iter().filter(|c| !c.meta.archived) {
        let _ = writeln!(md, "### {}\n", display_instant(&c.at, &ctx.zone));
        if !c.agenda.trim().is_empty() {
            let _ = writeln!(md, "**Agenda:** {}\n", c.agenda.trim_end());
        }
        if !c.notes.trim().is_empty() {
            let _ = writeln!(md, "{}\n", c.notes.trim_end());
        }
        for r in &c.ratings {
            let comment = if r.comment.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.comment)
            };
            let _ = writeln!(md, "- {}: {}/5{comment}", r.name, r.rating);
        }
        if !c.ratings.is_empty() {
            md.push('\n');
        }
    }
    let _ = writeln!(md, "## Notes\n");
    for n in s.notes.iter().filter(|n| !n.meta.archived) {
        let title = if n.title.is_empty() {
            first_line(&n.body, 60)
        } else {
            n.title.clone()
        };
        let by = n.meta.created_by_name.clone().unwrap_or_default();
        let _ = writeln!(md, "### {title}\n\n_{by}_\n\n{}\n", n.body.trim_end());
    }
    let _ = writeln!(md, "## Resources\n");
    for r in s.resources.iter().filter(|r| !r.meta.archived) {
        let note = if r.note.is_empty() {
            String::new()
        } else {
            format!(" — {}", r.note)
        };
        let _ = writeln!(md, "- [{}]({}){note}", r.title, r.url);
    }
    md
}

/// The check-ins not archived as an iCalendar file: one hour each, named after the workspace,
/// with the agenda and the meeting link.
fn calendar(s: &Snapshot, ctx: &Context) -> String {
    let summary = format!("Check-in: {}", s.title);
    let events: Vec<crate::ics::Event> = s
        .checkins
        .iter()
        .filter(|c| !c.meta.archived)
        .filter_map(|c| {
            let start = *c.at.valid()?;
            Some(crate::ics::Event {
                uid: format!("{}@tandem", c.id.as_str()),
                start,
                end: start.checked_add(SignedDuration::from_hours(1)).ok()?,
                summary: &summary,
                description: &c.agenda,
                url: c.meeting_link.as_deref(),
            })
        })
        .collect();
    crate::ics::calendar(&events, ctx.now)
}

/// A win in a Markdown list.
fn win_item(w: &Win, ctx: &Context) -> String {
    let what = match w.kind {
        WinKind::GoalDone => format!("Goal done: {}", w.title),
        WinKind::MilestoneDone => format!("Milestone done: {}", w.title),
        WinKind::CheckinStreak => format!(
            "{} check-ins in a row, each within the rhythm",
            w.count.unwrap_or_default()
        ),
        WinKind::Kudos => format!(
            "Kudos from {} to {}: {}",
            w.from.as_deref().unwrap_or_default(),
            w.to.as_deref().unwrap_or_default(),
            first_line(&w.title, 80)
        ),
    };
    match &w.at {
        Some(at) => format!("- {what} ({})", display_instant(at, &ctx.zone)),
        None => format!("- {what}"),
    }
}

/// The sections that measure how the pair is doing: wins, kudos, career steps, pulse surveys.
fn measures_markdown(md: &mut String, s: &Snapshot, wins: &[Win], ctx: &Context) {
    let _ = writeln!(md, "\n## Wins\n");
    for w in wins {
        let _ = writeln!(md, "{}", win_item(w, ctx));
    }
    let _ = writeln!(md, "\n## Kudos\n");
    for k in s.kudos.iter().filter(|k| !k.meta.archived) {
        let _ = writeln!(
            md,
            "- {} → {}: {}",
            k.from_name,
            k.to_name,
            k.text.trim_end()
        );
    }
    let _ = writeln!(md, "\n## Career steps\n");
    for c in s.career_steps.iter().filter(|c| !c.meta.archived) {
        let note = if c.note.trim().is_empty() {
            String::new()
        } else {
            format!(" — {}", c.note.trim_end())
        };
        let _ = writeln!(
            md,
            "- {} {}: {} → {}{note}",
            c.date, c.name, c.role_before, c.role_after
        );
    }
    let _ = writeln!(md, "\n## Pulse surveys\n");
    for a in s.surveys.iter().filter(|a| !a.meta.archived) {
        let comment = if a.comment.trim().is_empty() {
            String::new()
        } else {
            format!(" — {}", a.comment.trim_end())
        };
        let _ = writeln!(
            md,
            "- period {} {}: progress {}, relationship {}, recommend {}{comment}",
            a.period, a.name, a.progress, a.relationship, a.recommend
        );
    }
}
