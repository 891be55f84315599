//! `tandem note`: shared notes and this device's private notes.

use super::shared::{
    edit_outside, list_items, note_label, paint, print_oversized, quick_add, read, report,
    row_marks,
};
use crate::context::Context;
use crate::render::{fit, line, shown};
use anyhow::{Context as _, Result};
use clap::Subcommand;
use std::io::Read;
use tandem_core::model::draft::Draft;
use tandem_core::model::time::display_instant;
use tandem_core::model::{first_line, short, ItemId, Kind, NewNote, Note, NoteChanges, Workspace};
use tandem_core::protocol::DocumentId;
use tandem_core::store::Home;

#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Add a note; TEXT of "-" reads standard input.
    Add {
        /// The note's text, or "-" to read it from standard input.
        text: String,
        /// A title for the note.
        #[arg(long)]
        title: Option<String>,
        /// The goal this note is about.
        #[arg(long)]
        goal: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Keep the note on this device only; it is never synced or exported in bundles.
        #[arg(long)]
        private: bool,
    },
    /// List notes.
    List {
        /// Include archived notes.
        #[arg(long)]
        all: bool,
    },
    /// Show a note.
    Show {
        /// The note's id or id prefix.
        id: String,
    },
    /// Edit a note's body in $EDITOR; the edit merges as a text diff.
    Edit {
        /// The note's id or id prefix.
        id: String,
    },
    /// Change a note's title, goal or tags (edit its text with `tandem note edit`).
    Set {
        /// The note's id or id prefix.
        id: String,
        /// A new title, replacing the old one ("" for none).
        #[arg(long)]
        title: Option<String>,
        /// The goal the note is about, by id or id prefix.
        #[arg(long)]
        goal: Option<String>,
        /// The note's tags, replacing the old ones (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Archive a note (it stays in history and can be restored).
    Archive {
        /// The note's id or id prefix.
        id: String,
    },
    /// Restore an archived note.
    Restore {
        /// The note's id or id prefix.
        id: String,
    },
}

impl NoteCommand {
    /// Whether the command changes the workspace or the private notes.
    pub fn writes(&self) -> bool {
        !matches!(self, NoteCommand::List { .. } | NoteCommand::Show { .. })
    }
}

/// Find a note among the shared notes (`in_shared`: the prefix resolved there) and this device's
/// private notes.
fn resolve_note(
    home: &Home,
    ctx: &Context,
    in_shared: tandem_core::Result<ItemId>,
    ws_id: &DocumentId,
    prefix: &str,
) -> Result<(bool, ItemId)> {
    let in_private = home
        .view_private(ws_id, ctx.now)?
        .map(|private| private.resolve(Kind::Note, prefix));
    match (in_shared, in_private) {
        (Ok(id), None) | (Ok(id), Some(Err(tandem_core::Error::UnknownId { .. }))) => {
            Ok((false, id))
        }
        (Err(tandem_core::Error::UnknownId { .. }), Some(Ok(id))) => Ok((true, id)),
        (Ok(a), Some(Ok(b))) => Err(tandem_core::Error::AmbiguousId {
            kind: "note",
            prefix: prefix.to_string(),
            candidates: vec![a.to_string(), format!("{b} (private)")],
        }
        .into()),
        (Err(e), _) => Err(e.into()),
        (_, Some(Err(e))) => Err(e.into()),
    }
}

pub fn run(ctx: &Context, cmd: NoteCommand) -> Result<()> {
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
                if let Some(n) = quick_add::<Note>(ctx, |_| Draft::note(&note))? {
                    return report(ctx, "Added", "note", &n.id, note_label(&n), &n);
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
                home.open_private(shared.id(), ctx.now)?
            } else {
                shared
            };
            let id = target.ws.add_note(new)?;
            home.save(&mut target)?;
            let n = target.ws.note(&id)?;
            let noun = if private { "private note" } else { "note" };
            report(ctx, "Added", noun, &id, note_label(&n), &n)
        }
        NoteCommand::List { all } => {
            let (home, o) = read(ctx)?;
            let mut notes = o.notes();
            if let Some(private) = home.view_private(o.id(), ctx.now)? {
                // Private notes live in a document without participants, so their authors are
                // named from the shared workspace.
                notes.extend(private.notes().into_iter().map(|mut n| {
                    n.meta.created_by_name =
                        n.meta.created_by.as_deref().map(|c| o.display_name(c));
                    n
                }));
            }
            let empty = "No notes yet. Add one with: tandem note add \"…\"";
            list_items(ctx, notes, all, empty, |n| {
                let label = if n.title.is_empty() {
                    first_line(&n.body, 60)
                } else {
                    first_line(&n.title, 60)
                };
                let mut marks = row_marks(p, &n.meta);
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
            })
        }
        NoteCommand::Show { id } => {
            let (home, o) = read(ctx)?;
            let (private, id) = resolve_note(&home, ctx, o.resolve(Kind::Note, &id), o.id(), &id)?;
            let mut n = if private {
                let private = home.view_private(o.id(), ctx.now)?;
                private
                    .context("this workspace has no private notes")?
                    .note(&id)?
            } else {
                o.note(&id)?
            };
            n.meta.created_by_name = n.meta.created_by.as_deref().map(|c| o.display_name(c));
            if ctx.json {
                return ctx.print_json(&n);
            }
            let n = shown(n);
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
                let label = o
                    .goal(g)
                    .map(|g| line(&g.title))
                    .unwrap_or_else(|_| g.to_string());
                println!("  goal: {} {}", short(g), label);
            }
            if !n.tags.is_empty() {
                println!("  tags: {}", n.tags.join(", "));
            }
            println!();
            println!("{}", n.body);
            print_oversized(p, "note", &n.meta);
            Ok(())
        }
        NoteCommand::Edit { id } => {
            let private = {
                let (home, o) = read(ctx)?;
                resolve_note(&home, ctx, o.resolve(Kind::Note, &id), o.id(), &id)?.0
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
        NoteCommand::Set {
            id,
            title,
            goal,
            tags,
        } => change(ctx, &id, goal.as_deref(), "Updated", |ws, id, goal| {
            let tags = (!tags.is_empty()).then_some(tags);
            ws.set_note(
                id,
                NoteChanges {
                    title,
                    body: None,
                    goal,
                    tags,
                },
            )
        }),
        NoteCommand::Archive { id } => change(ctx, &id, None, "Archived", |ws, id, _| {
            ws.archive(Kind::Note, id)
        }),
        NoteCommand::Restore { id } => change(ctx, &id, None, "Restored", |ws, id, _| {
            ws.unarchive(Kind::Note, id)
        }),
    }
}

/// Change the shared or private note `prefix` with `f`, which gets the note's document, its id
/// and the goal `goal` names (a goal of the shared workspace, resolved there); then save and
/// report the note as `verb`.
fn change(
    ctx: &Context,
    prefix: &str,
    goal: Option<&str>,
    verb: &str,
    f: impl FnOnce(&mut Workspace, &ItemId, Option<ItemId>) -> tandem_core::Result<()>,
) -> Result<()> {
    let home = ctx.home()?;
    let shared = ctx.workspace(&home)?;
    let (private, id) = resolve_note(
        &home,
        ctx,
        shared.ws.resolve(Kind::Note, prefix),
        shared.id(),
        prefix,
    )?;
    let goal = goal.map(|g| shared.ws.resolve(Kind::Goal, g)).transpose()?;
    let mut target = if private {
        home.open_private(shared.id(), ctx.now)?
    } else {
        shared
    };
    f(&mut target.ws, &id, goal)?;
    home.save(&mut target)?;
    let n = target.ws.note(&id)?;
    let noun = if private { "private note" } else { "note" };
    report(ctx, verb, noun, &id, note_label(&n), &n)
}
