//! Goals, milestones, notes, check-ins, action items and resources.

use crate::cli::{
    ActionCommand, CheckInCommand, GoalCommand, MilestoneCommand, NoteCommand, ResourceCommand,
};
use crate::context::Context;
use crate::editor;
use crate::render::{fit, progress_bar, Paint};
use anyhow::{Context as _, Result};
use serde_json::json;
use std::io::Read;
use tandem_core::model::draft::Draft;
use tandem_core::model::time::{display_instant, parse_datetime};
use tandem_core::model::{
    first_line, short, GoalChanges, Kind, NewAction, NewGoal, NewNote, Workspace,
};
use tandem_core::store::{Home, Opened};

fn paint(ctx: &Context) -> Paint {
    Paint { on: ctx.color }
}

/// Report a created or changed item: JSON of the item, or a line for people, or the bare id
/// under `--quiet` so scripts can capture it.
fn report(
    ctx: &Context,
    verb: &str,
    noun: &str,
    id: &str,
    title: &str,
    item: serde_json::Value,
) -> Result<()> {
    if ctx.json {
        return ctx.print_json(&item);
    }
    if ctx.quiet {
        if verb == "Added" {
            println!("{id}");
        }
        return Ok(());
    }
    let title = first_line(title, 60);
    if title.is_empty() {
        println!("{verb} {noun} {}", short(id));
    } else {
        println!("{verb} {noun} {} “{title}”", short(id));
    }
    Ok(())
}

fn write<T>(
    ctx: &Context,
    f: impl FnOnce(&mut Workspace) -> tandem_core::Result<T>,
) -> Result<(Home, Opened, T)> {
    let home = ctx.home()?;
    let mut opened = ctx.workspace(&home)?;
    let out = f(&mut opened.ws)?;
    home.save(&mut opened)?;
    Ok((home, opened, out))
}

/// Add an item without loading the workspace when that is possible (see
/// `tandem_core::store::quick`): adding touches nothing that exists, so on a big workspace this
/// saves loading its whole history. Returns the new item as JSON, or `None` when the ordinary path
/// must run.
fn quick_add(
    ctx: &Context,
    draft: impl FnOnce(&[(String, String)]) -> tandem_core::Result<Draft>,
) -> Result<Option<serde_json::Value>> {
    let home = ctx.home()?;
    let ws = home.resolve(ctx.selector.as_deref())?;
    Ok(home.quick_add(&ws, ctx.now, draft)?)
}

/// Report an item the quick path added.
fn report_quick(ctx: &Context, noun: &str, item: serde_json::Value, label: &str) -> Result<()> {
    let id = item["id"].as_str().unwrap_or_default().to_string();
    report(ctx, "Added", noun, &id, label, item)
}

fn read(ctx: &Context) -> Result<(Home, Opened)> {
    let home = ctx.home()?;
    let opened = ctx.workspace(&home)?;
    Ok((home, opened))
}

fn due_label(p: Paint, due: Option<&str>, today: &str, done: bool) -> String {
    match due {
        Some(d) if !done && d < today => p.red(&format!("due {d} (overdue)")),
        Some(d) => format!("due {d}"),
        None => String::new(),
    }
}

/// Edit text outside the store: read, release the store while the editor is open (so sync and
/// other commands keep working), then apply the edit against the version that was read.
fn edit_outside(
    ctx: &Context,
    private: bool,
    load: impl FnOnce(&Workspace) -> Result<(String, String)>,
    apply: impl FnOnce(&mut Workspace, &str, String) -> tandem_core::Result<()>,
) -> Result<()> {
    let (ws_id, doc_id, item_id, base, text) = {
        let home = ctx.home()?;
        let ws_id = home.resolve(ctx.selector.as_deref())?;
        let mut opened = if private {
            home.open_private(&ws_id, ctx.now)?
        } else {
            home.open_workspace(&ws_id, ctx.now)?
        };
        let (item_id, text) = load(&opened.ws)?;
        let base = opened.ws.doc_mut().get_heads();
        (ws_id, opened.id.clone(), item_id, base, text)
    };
    let edited = editor::edit(&text, "the text was")?;
    if edited == text {
        ctx.say("No changes.");
        return Ok(());
    }
    let home = ctx.home()?;
    let mut opened = if private {
        home.open_private(&ws_id, ctx.now)?
    } else {
        home.open_workspace(&doc_id, ctx.now)?
    };
    opened
        .ws
        .edit_since(&base, |ws| apply(ws, &item_id, edited))?;
    home.save(&mut opened)?;
    ctx.say(format!("Saved your edit of {}.", short(&item_id)));
    Ok(())
}

// ----- goals -----

pub fn goal(ctx: &Context, cmd: GoalCommand) -> Result<()> {
    let p = paint(ctx);
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
            if let Some(g) = quick_add(ctx, |people| Draft::goal(&goal, people))? {
                let title = g["title"].as_str().unwrap_or_default().to_string();
                return report_quick(ctx, "goal", g, &title);
            }
            let (_, o, id) = write(ctx, |ws| ws.add_goal(goal))?;
            let g = o.ws.goal(&id)?;
            report(ctx, "Added", "goal", &id, &g.title, json!(g))
        }
        GoalCommand::List { status, all } => {
            let status = status
                .as_deref()
                .map(tandem_core::model::parse_status)
                .transpose()?;
            let (_, o) = read(ctx)?;
            let today = o.ws.today(&ctx.zone);
            let goals: Vec<_> =
                o.ws.goals()
                    .into_iter()
                    .filter(|g| all || !g.meta.archived)
                    .filter(|g| status.as_deref().is_none_or(|s| g.status == s))
                    .collect();
            if ctx.json {
                return ctx.print_json(&goals);
            }
            if goals.is_empty() {
                ctx.say("No goals yet. Add one with: tandem goal add \"…\"");
            }
            for g in goals {
                let (done, total) = g.progress();
                let archived = if g.meta.archived {
                    p.dim(" (archived)")
                } else {
                    String::new()
                };
                println!(
                    "{}  {}  {:<7}  {}  {}{}",
                    p.cyan(short(&g.id)),
                    fit(&first_line(&g.title, 40), 40),
                    g.status,
                    progress_bar(done, total, 10),
                    due_label(p, g.due.as_deref(), &today, g.status == "done"),
                    archived
                );
            }
            Ok(())
        }
        GoalCommand::Show { id } => {
            let (_, o) = read(ctx)?;
            let id = o.ws.resolve(Kind::Goal, &id)?;
            let g = o.ws.goal(&id)?;
            let notes: Vec<_> =
                o.ws.notes()
                    .into_iter()
                    .filter(|n| n.goal.as_deref() == Some(id.as_str()) && !n.meta.archived)
                    .collect();
            let actions: Vec<_> =
                o.ws.actions()
                    .into_iter()
                    .filter(|a| a.goal.as_deref() == Some(id.as_str()) && !a.meta.archived)
                    .collect();
            if ctx.json {
                let mut v = json!(g);
                v["notes"] = json!(notes);
                v["actions"] = json!(actions);
                return ctx.print_json(&v);
            }
            let today = o.ws.today(&ctx.zone);
            let (done, total) = g.progress();
            println!("{} {}  {}", p.bold("Goal"), p.cyan(&g.id), p.bold(&g.title));
            let mut facts = vec![format!("status: {}", g.status)];
            if let Some(owner) = &g.owner {
                facts.push(format!("owner: {owner}"));
            }
            if g.due.is_some() {
                facts.push(due_label(p, g.due.as_deref(), &today, g.status == "done"));
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
            if !g.milestones.is_empty() {
                println!("\n{}", p.bold("Milestones"));
                for m in g.milestones.iter().filter(|m| !m.meta.archived) {
                    let check = if m.done {
                        p.green("[x]")
                    } else {
                        "[ ]".to_string()
                    };
                    println!(
                        "  {check} {}  {}  {}",
                        p.cyan(short(&m.id)),
                        m.title,
                        due_label(p, m.due.as_deref(), &today, m.done)
                    );
                }
            }
            if !actions.is_empty() {
                println!("\n{}", p.bold("Actions"));
                for a in &actions {
                    let check = if a.done {
                        p.green("[x]")
                    } else {
                        "[ ]".to_string()
                    };
                    println!(
                        "  {check} {}  {}  {}",
                        p.cyan(short(&a.id)),
                        a.title,
                        due_label(p, a.due.as_deref(), &today, a.done)
                    );
                }
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
        GoalCommand::Set {
            id,
            title,
            status,
            due,
            owner,
            description,
        } => {
            let mut full = String::new();
            let (_, o, ()) = write(ctx, |ws| {
                full = ws.resolve(Kind::Goal, &id)?;
                ws.set_goal(
                    &full,
                    GoalChanges {
                        title,
                        description,
                        status,
                        due,
                        owner,
                    },
                )
            })?;
            let g = o.ws.goal(&full)?;
            report(ctx, "Updated", "goal", &full, &g.title, json!(g))
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

fn archive(ctx: &Context, kind: Kind, prefix: &str, archived: bool) -> Result<()> {
    let mut full = String::new();
    let (_, o, ()) = write(ctx, |ws| {
        full = ws.resolve(kind, prefix)?;
        if archived {
            ws.archive(kind, &full)
        } else {
            ws.unarchive(kind, &full)
        }
    })?;
    let snapshot = o.ws.snapshot(&o.id);
    let item = match kind {
        Kind::Goal => json!(snapshot.goals.iter().find(|i| i.id == full)),
        Kind::Note => json!(snapshot.notes.iter().find(|i| i.id == full)),
        Kind::CheckIn => json!(snapshot.checkins.iter().find(|i| i.id == full)),
        Kind::Action => json!(snapshot.actions.iter().find(|i| i.id == full)),
        Kind::Resource => json!(snapshot.resources.iter().find(|i| i.id == full)),
    };
    let title = item
        .get("title")
        .and_then(|t| t.as_str())
        .unwrap_or("")
        .to_string();
    let verb = if archived { "Archived" } else { "Restored" };
    report(ctx, verb, kind.noun(), &full, &title, item)
}

pub fn milestone(ctx: &Context, cmd: MilestoneCommand) -> Result<()> {
    let (goal_prefix, verb) = match &cmd {
        MilestoneCommand::Add { goal, .. } => (goal.clone(), "Added"),
        MilestoneCommand::Done { goal, .. } => (goal.clone(), "Completed"),
        MilestoneCommand::Undo { goal, .. } => (goal.clone(), "Reopened"),
    };
    let mut goal_id = String::new();
    let (_, o, mid) = write(ctx, |ws| {
        goal_id = ws.resolve(Kind::Goal, &goal_prefix)?;
        match cmd {
            MilestoneCommand::Add { title, due, .. } => {
                ws.add_milestone(&goal_id, &title, due.as_deref())
            }
            MilestoneCommand::Done { milestone, .. } | MilestoneCommand::Undo { milestone, .. } => {
                let mid = ws.resolve_milestone(&goal_id, &milestone)?;
                ws.set_milestone_done(&goal_id, &mid, verb == "Completed")?;
                Ok(mid)
            }
        }
    })?;
    let g = o.ws.goal(&goal_id)?;
    let m = g.milestones.iter().find(|m| m.id == mid).cloned();
    let title = m.as_ref().map(|m| m.title.clone()).unwrap_or_default();
    let mut item = json!(m);
    item["goal"] = json!(goal_id);
    report(ctx, verb, "milestone", &mid, &title, item)?;
    if !ctx.json && !ctx.quiet {
        let (done, total) = g.progress();
        println!(
            "  {}: {}",
            first_line(&g.title, 50),
            progress_bar(done, total, 10)
        );
    }
    Ok(())
}

// ----- notes -----

/// Find a note among the shared notes and this device's private notes.
fn resolve_note(
    home: &Home,
    ctx: &Context,
    shared: &Workspace,
    ws_id: &str,
    prefix: &str,
) -> Result<(bool, String)> {
    let in_shared = shared.resolve(Kind::Note, prefix);
    let in_private = if home.has_private(ws_id)? {
        Some(
            home.open_private(ws_id, ctx.now)?
                .ws
                .resolve(Kind::Note, prefix),
        )
    } else {
        None
    };
    match (in_shared, in_private) {
        (Ok(id), None) | (Ok(id), Some(Err(tandem_core::Error::UnknownId { .. }))) => {
            Ok((false, id))
        }
        (Err(tandem_core::Error::UnknownId { .. }), Some(Ok(id))) => Ok((true, id)),
        (Ok(a), Some(Ok(b))) => Err(tandem_core::Error::AmbiguousId {
            kind: "note",
            prefix: prefix.to_string(),
            candidates: vec![a, format!("{b} (private)")],
        }
        .into()),
        (Err(e), _) => Err(e.into()),
        (_, Some(Err(e))) => Err(e.into()),
    }
}

pub fn note(ctx: &Context, cmd: NoteCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        NoteCommand::Add {
            text,
            title,
            goal,
            tags,
            private,
        } => {
            // Standard input is read before the store is opened, so a slow pipe never holds it.
            let body = if text == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the note from standard input")?;
                s
            } else {
                text
            };
            if !private && goal.is_none() {
                let note = NewNote {
                    title: title.clone(),
                    body: body.clone(),
                    goal: None,
                    tags: tags.clone(),
                };
                if let Some(n) = quick_add(ctx, |_| Draft::note(&note))? {
                    let label = [&n["title"], &n["body"]]
                        .iter()
                        .filter_map(|v| v.as_str())
                        .find(|s| !s.is_empty())
                        .unwrap_or_default()
                        .to_string();
                    return report_quick(ctx, "note", n, &label);
                }
            }
            let home = ctx.home()?;
            let shared = ctx.workspace(&home)?;
            let goal = goal
                .map(|g| shared.ws.resolve(Kind::Goal, &g))
                .transpose()?;
            let new = NewNote {
                title,
                body,
                goal,
                tags,
            };
            let mut target = if private {
                home.open_private(&shared.id, ctx.now)?
            } else {
                shared
            };
            let id = target.ws.add_note(new)?;
            home.save(&mut target)?;
            let n = target.ws.note(&id)?;
            let noun = if private { "private note" } else { "note" };
            let label = if n.title.is_empty() {
                n.body.clone()
            } else {
                n.title.clone()
            };
            report(ctx, "Added", noun, &id, &label, json!(n))
        }
        NoteCommand::List { all } => {
            let (home, o) = read(ctx)?;
            let mut notes = o.ws.notes();
            if home.has_private(&o.id)? {
                // Private notes live in a document without participants, so their authors are
                // named from the shared workspace.
                notes.extend(
                    home.open_private(&o.id, ctx.now)?
                        .ws
                        .notes()
                        .into_iter()
                        .map(|mut n| {
                            n.meta.created_by_name =
                                n.meta.created_by.as_deref().map(|c| o.ws.display_name(c));
                            n
                        }),
                );
            }
            notes.retain(|n| all || !n.meta.archived);
            if ctx.json {
                return ctx.print_json(&notes);
            }
            if notes.is_empty() {
                ctx.say("No notes yet. Add one with: tandem note add \"…\"");
            }
            for n in notes {
                let label = if n.title.is_empty() {
                    first_line(&n.body, 60)
                } else {
                    first_line(&n.title, 60)
                };
                let mut marks = String::new();
                if n.private {
                    marks.push_str(&p.yellow(" (private)"));
                }
                if !n.tags.is_empty() {
                    marks.push_str(&p.dim(&format!(" #{}", n.tags.join(" #"))));
                }
                let by = n.meta.created_by_name.clone().unwrap_or_default();
                println!(
                    "{}  {}  {}{}",
                    p.cyan(short(&n.id)),
                    fit(&label, 50),
                    p.dim(&by),
                    marks
                );
            }
            Ok(())
        }
        NoteCommand::Show { id } => {
            let (home, o) = read(ctx)?;
            let (private, id) = resolve_note(&home, ctx, &o.ws, &o.id, &id)?;
            let mut n = if private {
                home.open_private(&o.id, ctx.now)?.ws.note(&id)?
            } else {
                o.ws.note(&id)?
            };
            n.meta.created_by_name = n.meta.created_by.as_deref().map(|c| o.ws.display_name(c));
            if ctx.json {
                return ctx.print_json(&n);
            }
            let title = if n.title.is_empty() {
                "(untitled)".to_string()
            } else {
                n.title.clone()
            };
            println!(
                "{} {}  {}{}",
                p.bold("Note"),
                p.cyan(&n.id),
                p.bold(&title),
                if n.private {
                    p.yellow("  (private)")
                } else {
                    String::new()
                }
            );
            if let (Some(by), Some(at)) = (&n.meta.created_by_name, &n.meta.created_at) {
                println!(
                    "  {}",
                    p.dim(&format!("by {by} on {}", display_instant(at, &ctx.zone)))
                );
            }
            if let Some(g) = &n.goal {
                let label = o.ws.goal(g).map(|g| g.title).unwrap_or_else(|_| g.clone());
                println!("  goal: {} {}", short(g), label);
            }
            if !n.tags.is_empty() {
                println!("  tags: {}", n.tags.join(", "));
            }
            println!();
            println!("{}", n.body);
            Ok(())
        }
        NoteCommand::Edit { id } => {
            let private = {
                let (home, o) = read(ctx)?;
                resolve_note(&home, ctx, &o.ws, &o.id, &id)?.0
            };
            edit_outside(
                ctx,
                private,
                |ws| {
                    let id = ws.resolve(Kind::Note, &id)?;
                    Ok((id.clone(), ws.note(&id)?.body))
                },
                |ws, id, text| ws.edit_note_body(id, &text),
            )
        }
        NoteCommand::Archive { id } => {
            let home = ctx.home()?;
            let shared = ctx.workspace(&home)?;
            let (private, id) = resolve_note(&home, ctx, &shared.ws, &shared.id, &id)?;
            let mut target = if private {
                home.open_private(&shared.id, ctx.now)?
            } else {
                shared
            };
            target.ws.archive(Kind::Note, &id)?;
            home.save(&mut target)?;
            let n = target.ws.note(&id)?;
            let label = if n.title.is_empty() {
                n.body.clone()
            } else {
                n.title.clone()
            };
            report(ctx, "Archived", "note", &id, &label, json!(n))
        }
    }
}

// ----- check-ins -----

pub fn checkin(ctx: &Context, cmd: CheckInCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        CheckInCommand::Add { at, agenda } => {
            let at = match at {
                Some(a) => parse_datetime(&a, &ctx.zone)?,
                None => tandem_core::model::time::format_instant(ctx.now),
            };
            let agenda = agenda.unwrap_or_default();
            if let Some(c) = quick_add(ctx, |_| Ok(Draft::checkin(&at, &agenda)))? {
                let label = format!(
                    "{} {}",
                    display_instant(&at, &ctx.zone),
                    first_line(&agenda, 40)
                );
                return report_quick(ctx, "check-in", c, label.trim());
            }
            let (_, o, id) = write(ctx, |ws| ws.add_checkin(&at, &agenda))?;
            let c = o.ws.checkin(&id)?;
            let label = format!(
                "{} {}",
                display_instant(&c.at, &ctx.zone),
                first_line(&c.agenda, 40)
            );
            report(ctx, "Added", "check-in", &id, label.trim(), json!(c))
        }
        CheckInCommand::List { all } => {
            let (_, o) = read(ctx)?;
            let list: Vec<_> =
                o.ws.checkins()
                    .into_iter()
                    .filter(|c| all || !c.meta.archived)
                    .collect();
            if ctx.json {
                return ctx.print_json(&list);
            }
            if list.is_empty() {
                ctx.say("No check-ins yet. Add one with: tandem checkin add --at \"YYYY-MM-DD HH:MM\" --agenda \"…\"");
            }
            let now = tandem_core::model::time::format_instant(ctx.now);
            for c in list {
                let when = display_instant(&c.at, &ctx.zone);
                let when = if c.at > now {
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
                    "{}  {}  {}  {}",
                    p.cyan(short(&c.id)),
                    when,
                    fit(&first_line(&c.agenda, 40), 40),
                    p.dim(&ratings.join(", "))
                );
            }
            Ok(())
        }
        CheckInCommand::Show { id } => {
            let (_, o) = read(ctx)?;
            let id = o.ws.resolve(Kind::CheckIn, &id)?;
            let c = o.ws.checkin(&id)?;
            let actions: Vec<_> =
                o.ws.actions()
                    .into_iter()
                    .filter(|a| a.checkin.as_deref() == Some(id.as_str()) && !a.meta.archived)
                    .collect();
            if ctx.json {
                let mut v = json!(c);
                v["actions"] = json!(actions);
                return ctx.print_json(&v);
            }
            println!(
                "{} {}  {}",
                p.bold("Check-in"),
                p.cyan(&c.id),
                p.bold(&display_instant(&c.at, &ctx.zone))
            );
            if !c.agenda.trim().is_empty() {
                println!("\n{}\n{}", p.bold("Agenda"), c.agenda);
            }
            if !c.notes.trim().is_empty() {
                println!("\n{}\n{}", p.bold("Notes"), c.notes);
            }
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
                    let check = if a.done {
                        p.green("[x]")
                    } else {
                        "[ ]".to_string()
                    };
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
            let value: i64 = rating.trim().parse().map_err(|_| {
                tandem_core::Error::Invalid(format!(
                    "invalid rating '{rating}': expected a whole number from 1 to 5"
                ))
            })?;
            let mut full = String::new();
            let (_, o, ()) = write(ctx, |ws| {
                full = ws.resolve(Kind::CheckIn, &id)?;
                ws.rate_checkin(&full, value, comment.as_deref())
            })?;
            let c = o.ws.checkin(&full)?;
            report(
                ctx,
                "Rated",
                "check-in",
                &full,
                &format!("{value}/5"),
                json!(c),
            )
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
        CheckInCommand::Archive { id } => archive(ctx, Kind::CheckIn, &id, true),
    }
}

// ----- action items -----

pub fn action(ctx: &Context, cmd: ActionCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        ActionCommand::Add {
            title,
            owner,
            due,
            goal,
            checkin,
        } => {
            if goal.is_none() && checkin.is_none() {
                let action = NewAction {
                    title: title.clone(),
                    owner: owner.clone(),
                    due: due.clone(),
                    goal: None,
                    checkin: None,
                };
                if let Some(a) = quick_add(ctx, |people| Draft::action(&action, people))? {
                    let label = a["title"].as_str().unwrap_or_default().to_string();
                    return report_quick(ctx, "action", a, &label);
                }
            }
            let (_, o, id) = write(ctx, |ws| {
                let goal = goal.map(|g| ws.resolve(Kind::Goal, &g)).transpose()?;
                let checkin = checkin.map(|c| ws.resolve(Kind::CheckIn, &c)).transpose()?;
                ws.add_action(NewAction {
                    title,
                    owner,
                    due,
                    goal,
                    checkin,
                })
            })?;
            let a = o.ws.action(&id)?;
            report(ctx, "Added", "action", &id, &a.title, json!(a))
        }
        ActionCommand::Done { id } => set_done(ctx, &id, true),
        ActionCommand::Reopen { id } => set_done(ctx, &id, false),
        ActionCommand::List { open, overdue, all } => {
            let (_, o) = read(ctx)?;
            let today = o.ws.today(&ctx.zone);
            let list: Vec<_> =
                o.ws.actions()
                    .into_iter()
                    .filter(|a| all || !a.meta.archived)
                    .filter(|a| !open || !a.done)
                    .filter(|a| !overdue || a.is_overdue(&today))
                    .collect();
            if ctx.json {
                return ctx.print_json(&list);
            }
            if list.is_empty() {
                ctx.say("No action items match.");
            }
            for a in list {
                let check = if a.done {
                    p.green("[x]")
                } else {
                    "[ ]".to_string()
                };
                let owner = a.owner.clone().unwrap_or_default();
                let title = fit(&first_line(&a.title, 44), 44);
                let title = if a.is_overdue(&today) {
                    p.red(&title)
                } else {
                    title
                };
                println!(
                    "{check} {}  {}  {}  {}",
                    p.cyan(short(&a.id)),
                    title,
                    fit(&owner, 10),
                    due_label(p, a.due.as_deref(), &today, a.done)
                );
            }
            Ok(())
        }
        ActionCommand::Archive { id } => archive(ctx, Kind::Action, &id, true),
    }
}

fn set_done(ctx: &Context, prefix: &str, done: bool) -> Result<()> {
    let mut full = String::new();
    let (_, o, ()) = write(ctx, |ws| {
        full = ws.resolve(Kind::Action, prefix)?;
        ws.set_action_done(&full, done)
    })?;
    let a = o.ws.action(&full)?;
    report(
        ctx,
        if done { "Completed" } else { "Reopened" },
        "action",
        &full,
        &a.title,
        json!(a),
    )
}

// ----- resources -----

pub fn resource(ctx: &Context, cmd: ResourceCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        ResourceCommand::Add { title, url, note } => {
            if let Some(r) = quick_add(ctx, |_| Draft::resource(&title, &url, note.as_deref()))? {
                return report_quick(ctx, "resource", r, &title);
            }
            let (_, o, id) = write(ctx, |ws| ws.add_resource(&title, &url, note.as_deref()))?;
            let r = o.ws.resources().into_iter().find(|r| r.id == id);
            report(ctx, "Added", "resource", &id, &title, json!(r))
        }
        ResourceCommand::List { all } => {
            let (_, o) = read(ctx)?;
            let list: Vec<_> =
                o.ws.resources()
                    .into_iter()
                    .filter(|r| all || !r.meta.archived)
                    .collect();
            if ctx.json {
                return ctx.print_json(&list);
            }
            if list.is_empty() {
                ctx.say("No resources yet. Add one with: tandem resource add TITLE URL");
            }
            for r in list {
                println!(
                    "{}  {}  {}",
                    p.cyan(short(&r.id)),
                    fit(&first_line(&r.title, 40), 40),
                    r.url
                );
                if !r.note.trim().is_empty() {
                    println!("          {}", p.dim(&first_line(&r.note, 70)));
                }
            }
            Ok(())
        }
        ResourceCommand::Archive { id } => archive(ctx, Kind::Resource, &id, true),
    }
}
