//! `tandem plan`, `log`, `conflicts` and `export`.

use crate::cli::ExportFormat;
use crate::context::Context;
use crate::render::{fit, progress_bar, Paint};
use anyhow::{Context as _, Result};
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;
use tandem_core::model::time::{display_instant, format_instant};
use tandem_core::model::{first_line, short, Snapshot};

pub fn plan(ctx: &Context) -> Result<()> {
    let p = Paint { on: ctx.color };
    let home = ctx.home()?;
    let mut o = ctx.workspace(&home)?;
    let unsynced = home.unsynced_changes(&mut o)?;
    let conflicts = o.ws.conflicts().len();
    let today = o.ws.today(&ctx.zone);
    let now = format_instant(ctx.now);
    let participants = o.ws.participants();
    let goals: Vec<_> =
        o.ws.goals()
            .into_iter()
            .filter(|g| !g.meta.archived && g.status != "dropped")
            .collect();
    let actions: Vec<_> =
        o.ws.actions()
            .into_iter()
            .filter(|a| !a.meta.archived && !a.done)
            .collect();
    let checkins: Vec<_> =
        o.ws.checkins()
            .into_iter()
            .filter(|c| !c.meta.archived)
            .collect();
    let last = checkins.iter().rev().find(|c| c.at <= now).cloned();
    let next = checkins.iter().find(|c| c.at > now).cloned();
    let mut overdue: Vec<_> = actions
        .iter()
        .filter(|a| a.is_overdue(&today))
        .cloned()
        .collect();
    // The longest overdue first: those are the ones to talk about.
    overdue.sort_by(|a, b| (&a.due, &a.id).cmp(&(&b.due, &b.id)));

    if ctx.json {
        return ctx.print_json(&json!({
            "id": o.id,
            "title": o.ws.title(),
            "participants": participants,
            "goals": goals,
            "open_actions": actions,
            "overdue_actions": overdue,
            "last_checkin": last,
            "next_checkin": next,
            "unsynced_changes": unsynced,
            "conflicts": conflicts,
        }));
    }

    let people: Vec<String> = participants
        .iter()
        .map(|p| format!("{} ({})", p.name, p.role))
        .collect();
    println!("{}", p.bold(&o.ws.title()));
    println!("{}", p.dim(&format!("{} · {}", people.join(", "), o.id)));

    println!("\n{}", p.bold("Goals"));
    let mut goals_note = None;
    if goals.is_empty() {
        println!("  none yet — tandem goal add \"…\"");
    }
    // Goals in progress come first (active, then open, soonest due first); done goals follow.
    // The list is cut so the plan stays one screen; `tandem goal list` shows them all.
    const MAX_GOALS: usize = 12;
    let rank = |status: &str| match status {
        "active" => 0,
        "open" => 1,
        _ => 2,
    };
    let mut goals = goals;
    goals.sort_by(|a, b| {
        (rank(&a.status), a.due.is_none(), &a.due).cmp(&(rank(&b.status), b.due.is_none(), &b.due))
    });
    if goals.len() > MAX_GOALS {
        let hidden = &goals[MAX_GOALS..];
        let done = hidden.iter().filter(|g| g.status == "done").count();
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
            Some(d) if d.as_str() < today.as_str() && g.status != "done" => {
                p.red(&format!("due {d}"))
            }
            Some(d) => format!("due {d}"),
            None => String::new(),
        };
        let status = match g.status.as_str() {
            "done" => p.green("done"),
            "active" => p.yellow("active"),
            s => s.to_string(),
        };
        println!(
            "  {}  {}  {}  {}  {}",
            p.cyan(short(&g.id)),
            fit(&first_line(&g.title, 36), 36),
            fit(&status, if ctx.color { 6 + 9 } else { 6 }),
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
        .chain(actions.iter().filter(|a| !a.is_overdue(&today)))
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
        if a.is_overdue(&today) {
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

pub fn log(ctx: &Context, limit: Option<usize>) -> Result<()> {
    let p = Paint { on: ctx.color };
    let home = ctx.home()?;
    let mut o = ctx.workspace(&home)?;
    let entries = o.ws.history(limit);
    if ctx.json {
        return ctx.print_json(&entries);
    }
    for e in entries {
        println!(
            "{}  {}  {}  {}",
            p.yellow(&e.hash[..8]),
            p.dim(&display_instant(&e.at, &ctx.zone)),
            fit(&e.author, 12),
            e.message
        );
    }
    Ok(())
}

pub fn conflicts(ctx: &Context) -> Result<()> {
    let p = Paint { on: ctx.color };
    let home = ctx.home()?;
    let o = ctx.workspace(&home)?;
    let list = o.ws.conflicts();
    if ctx.json {
        return ctx.print_json(&list);
    }
    if list.is_empty() {
        ctx.say("No conflicts: every field has one value.");
        return Ok(());
    }
    for c in &list {
        let id = if c.id.is_empty() {
            String::new()
        } else {
            format!(" {}", short(&c.id))
        };
        println!(
            "{}{} “{}” — {}",
            c.kind,
            p.cyan(&id),
            first_line(&c.title, 40),
            p.bold(&c.field)
        );
        for v in &c.values {
            let shown = match &v.value {
                serde_json::Value::String(s) => format!("“{}”", first_line(s, 50)),
                other => other.to_string(),
            };
            let mark = if v.winner {
                p.dim(" (shown now)")
            } else {
                String::new()
            };
            println!("    {} set {shown}{mark}", v.author);
        }
    }
    ctx.say(
        p.dim("Setting a field again (e.g. tandem goal set ID --status …) resolves its conflict."),
    );
    Ok(())
}

pub fn export(ctx: &Context, format: ExportFormat, output: Option<&Path>) -> Result<()> {
    let home = ctx.home()?;
    let o = ctx.workspace(&home)?;
    let snapshot = o.ws.snapshot(&o.id);
    drop(home);
    let text = match format {
        ExportFormat::Json => serde_json::to_string_pretty(&snapshot)? + "\n",
        ExportFormat::Md => markdown(&snapshot, ctx),
    };
    match output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if ctx.json {
                ctx.print_json(&json!({ "id": snapshot.id, "file": path, "bytes": text.len() }))?;
            } else {
                ctx.say(format!(
                    "Exported “{}” to {}",
                    snapshot.title,
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
                .as_deref()
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
