//! `tandem export`: the whole workspace as Markdown or JSON.

use crate::context::Context;
use crate::render::{line, shown};
use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use tandem_core::model::time::display_instant;
use tandem_core::model::{first_line, Snapshot};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The file format: Markdown for people, JSON for programs.
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
    drop(home);
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&snapshot)? + "\n",
        // Markdown is read on a terminal as often as in an editor, so it is escaped like every
        // text output; JSON keeps the strings as stored.
        ExportFormat::Md => markdown(&shown(snapshot.clone()), ctx),
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
