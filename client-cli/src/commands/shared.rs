//! What the item commands (goal, milestone, note, check-in, action, resource) share: opening the
//! workspace to read or write, adding an item by the quick path or the ordinary one, reporting a
//! created or changed item, listing the items of one kind, archiving, changing a personal record
//! (kudos, a career step) that only some may change, and editing long text outside the store.
//! Read this before adding a command that lists or changes items.

use crate::context::Context;
use crate::editor;
use crate::render::{line, shown, Paint};
use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tandem_core::jiff::civil::Date;
use tandem_core::model::draft::{Draft, People};
use tandem_core::model::fields::{human_size, MAX_TEXT_BYTES};
use tandem_core::model::time::Stored;
use tandem_core::model::{
    first_line, short, Action, CheckIn, Goal, HasMeta, ItemId, Kind, Meta, Note, Resource,
    Workspace,
};
use tandem_core::store::{Home, Opened, WorkspaceView};

pub fn paint(ctx: &Context) -> Paint {
    Paint { on: ctx.color }
}

/// Report a created or changed item: JSON of the item, or a line for people, or the bare id
/// under `--quiet` so scripts can capture it.
pub fn report(
    ctx: &Context,
    verb: &str,
    noun: &str,
    id: &str,
    title: &str,
    item: &impl Serialize,
) -> Result<()> {
    if ctx.json {
        return ctx.print_json(item);
    }
    if ctx.quiet {
        if verb == "Added" {
            println!("{id}");
        }
        return Ok(());
    }
    let title = line(&first_line(title, 60));
    if title.is_empty() {
        println!("{verb} {noun} {}", short(id));
    } else {
        println!("{verb} {noun} {} “{title}”", short(id));
    }
    Ok(())
}

/// Change the selected workspace with `f` and save; returns the home, the workspace after the
/// change and what `f` returned.
pub fn write<T>(
    ctx: &Context,
    f: impl FnOnce(&mut Workspace) -> tandem_core::Result<T>,
) -> Result<(Home, Opened, T)> {
    let home = ctx.home()?;
    let mut opened = ctx.workspace(&home)?;
    let out = f(&mut opened.ws)?;
    home.save(&mut opened)?;
    Ok((home, opened, out))
}

/// Change the item `prefix` of `kind` with `f` and save; returns the workspace after the change
/// and the item's full id.
pub fn write_item(
    ctx: &Context,
    kind: Kind,
    prefix: &str,
    f: impl FnOnce(&mut Workspace, &ItemId) -> tandem_core::Result<()>,
) -> Result<(Opened, ItemId)> {
    let (_, o, full) = write(ctx, |ws| {
        let full = ws.resolve(kind, prefix)?;
        f(ws, &full)?;
        Ok(full)
    })?;
    Ok((o, full))
}

/// What the read commands show of the selected workspace (see `tandem_core::store::read_model`).
pub fn read(ctx: &Context) -> Result<(Home, WorkspaceView)> {
    let home = ctx.home()?;
    let view = ctx.view(&home)?;
    Ok((home, view))
}

/// Add an item without loading the workspace when that is possible (see
/// `tandem_core::store::quick`): adding touches nothing that exists, so on a big workspace this
/// saves loading its whole history. Returns the new item, or `None` when the ordinary path must
/// run.
pub fn quick_add<T: DeserializeOwned>(
    ctx: &Context,
    draft: impl FnOnce(&People) -> tandem_core::Result<Draft>,
) -> Result<Option<T>> {
    let home = ctx.home()?;
    let ws = home.resolve(ctx.selector())?;
    let Some(item) = home.quick_add(&ws, ctx.now, draft)? else {
        return Ok(None);
    };
    // The quick path describes the new item in the same JSON shape as a read does, so it reads
    // back as the same type.
    let item = serde_json::from_value(item).context("the added item could not be read back")?;
    Ok(Some(item))
}

/// Add an item and report it as added, named by `label`: through the quick path when `quick`
/// describes the new item (see [`quick_add`]), otherwise by loading the workspace, running `add`
/// and reading the item back with `read_back`. Both paths report the same item in the same shape.
pub fn add_item<T: HasMeta + Serialize + DeserializeOwned>(
    ctx: &Context,
    noun: &str,
    quick: Option<impl FnOnce(&People) -> tandem_core::Result<Draft>>,
    add: impl FnOnce(&mut Workspace) -> tandem_core::Result<ItemId>,
    read_back: impl FnOnce(&Workspace, &ItemId) -> tandem_core::Result<T>,
    label: impl FnOnce(&T) -> String,
) -> Result<()> {
    if let Some(draft) = quick {
        if let Some(item) = quick_add::<T>(ctx, draft)? {
            return report(ctx, "Added", noun, item.id(), &label(&item), &item);
        }
    }
    let (_, o, id) = write(ctx, add)?;
    let item = read_back(&o.ws, &id)?;
    report(ctx, "Added", noun, &id, &label(&item), &item)
}

/// The action items, not archived, for which `belongs` holds (those of a goal or a check-in).
pub fn live_actions(ws: &WorkspaceView, belongs: impl Fn(&Action) -> bool) -> Vec<Action> {
    ws.actions()
        .into_iter()
        .filter(|a| !a.meta.archived && belongs(a))
        .collect()
}

/// What every `list` command prints of the items of one kind: archived items only when
/// `with_archived` (`--all`) is given; under `--json` the whole list; otherwise `empty` when there
/// is nothing to list, or one `row` per item, its text made safe to print. Callers narrow `items`
/// by their own flags first (`--open`, `--status`), so only the row is theirs to write.
pub fn list_items<T: HasMeta + Serialize + DeserializeOwned>(
    ctx: &Context,
    items: Vec<T>,
    with_archived: bool,
    empty: &str,
    row: impl FnMut(T),
) -> Result<()> {
    let list: Vec<T> = items
        .into_iter()
        .filter(|item| with_archived || !item.meta().archived)
        .collect();
    if ctx.json {
        return ctx.print_json(&list);
    }
    if list.is_empty() {
        ctx.say(empty);
    }
    shown(list).into_iter().for_each(row);
    Ok(())
}

/// `due 2026-12-01`, in red with "(overdue)" when it has passed and the item is not done.
pub fn due_label(p: Paint, due: Option<&Stored<Date>>, today: Date, done: bool) -> String {
    match due {
        Some(d) if !done && d.valid().is_some_and(|d| *d < today) => {
            p.red(&format!("due {d} (overdue)"))
        }
        Some(d) => format!("due {d}"),
        None => String::new(),
    }
}

/// Say, under an item shown in full, which of its fields another client made longer than tandem's
/// limit and so are shown cut (see `tandem_core::model::fields::MAX_TEXT_BYTES`).
pub fn print_oversized(p: Paint, noun: &str, meta: &Meta) {
    for cut in &meta.oversized {
        println!(
            "  {}",
            p.yellow(&format!(
                "this {noun}'s {} is {}, over the limit of {} for one field: only its first {} \
                 are shown (the whole text is kept)",
                line(&cut.field),
                human_size(cut.bytes),
                human_size(MAX_TEXT_BYTES),
                human_size(MAX_TEXT_BYTES)
            ))
        );
    }
}

/// The marks at the end of a list row: `(archived)` for an archived item (shown with `--all`),
/// `(truncated)` for one with a field cut at tandem's limit.
pub fn row_marks(p: Paint, meta: &Meta) -> String {
    let mut marks = String::new();
    if meta.archived {
        marks.push_str(&p.dim(" (archived)"));
    }
    if !meta.oversized.is_empty() {
        marks.push_str(&p.yellow(" (truncated)"));
    }
    marks
}

/// A checkbox for a milestone or an action item: green `[x]` when done.
pub fn checkbox(p: Paint, done: bool) -> String {
    if done {
        p.green("[x]")
    } else {
        "[ ]".to_string()
    }
}

/// What the human report of a note calls it: its title, or its body when it has none.
pub fn note_label(note: &Note) -> &str {
    if note.title.is_empty() {
        &note.body
    } else {
        &note.title
    }
}

/// An item that can be archived and restored, as its report needs it.
trait Archivable: Serialize {
    fn id(&self) -> &str;
    /// The title shown in the human report; empty for items without one (check-ins).
    fn title(&self) -> &str;
}

macro_rules! archivable {
    ($($item:ty => |$it:ident| $title:expr),* $(,)?) => {
        $(impl Archivable for $item {
            fn id(&self) -> &str {
                &self.id
            }
            fn title(&self) -> &str {
                let $it = self;
                $title
            }
        })*
    };
}

archivable! {
    Goal => |g| &g.title,
    Note => |n| &n.title,
    CheckIn => |_c| "",
    Action => |a| &a.title,
    Resource => |r| &r.title,
}

/// Archive (or restore) an item of `kind` by id prefix and report it.
pub fn archive(ctx: &Context, kind: Kind, prefix: &str, archived: bool) -> Result<()> {
    let (o, full) = write_item(ctx, kind, prefix, |ws, full| {
        if archived {
            ws.archive(kind, full)
        } else {
            ws.unarchive(kind, full)
        }
    })?;
    let verb = if archived { "Archived" } else { "Restored" };
    let snapshot = o.ws.snapshot(&o.id().to_string());
    let found = Found {
        ctx,
        verb,
        kind,
        id: &full,
    };
    match kind {
        Kind::Goal => found.report(snapshot.goals),
        Kind::Note => found.report(snapshot.notes),
        Kind::CheckIn => found.report(snapshot.checkins),
        Kind::Action => found.report(snapshot.actions),
        Kind::Resource => found.report(snapshot.resources),
    }
}

/// The item an archive command changed, to be found among the workspace's items of its kind.
struct Found<'a> {
    ctx: &'a Context,
    verb: &'a str,
    kind: Kind,
    id: &'a str,
}

impl Found<'_> {
    fn report<T: Archivable>(&self, items: Vec<T>) -> Result<()> {
        let item = items.into_iter().find(|i| i.id() == self.id);
        let title = item.as_ref().map_or("", Archivable::title);
        report(self.ctx, self.verb, self.kind.noun(), self.id, title, &item)
    }
}

/// A record that belongs to one person and that only some may change: kudos are their author's
/// words, a career step is the history of the person who took it. Their commands check who acts
/// before changing them, unlike the items anyone in the pair may change (see [`write_item`]).
pub trait PersonalRecord: Serialize + Sized {
    /// What the report calls the record.
    const NOUN: &'static str;
    fn resolve(ws: &Workspace, prefix: &str) -> tandem_core::Result<ItemId>;
    /// The record `id` as its commands read it back; `None` when it does not read as one.
    fn read(ws: &Workspace, id: &ItemId) -> tandem_core::Result<Option<Self>>;
    /// The participant the record belongs to.
    fn owner(&self) -> &str;
    /// What the human report shows of the record.
    fn label(&self) -> String;
}

/// Change the personal record `prefix` with `f` once `allowed`, given the workspace and the
/// record's owner, lets the acting participant do so; then save and report the record as `verb`.
pub fn change_personal_record<R: PersonalRecord>(
    ctx: &Context,
    prefix: &str,
    verb: &str,
    allowed: impl FnOnce(&Workspace, &str) -> Result<()>,
    f: impl FnOnce(&mut Workspace, &ItemId) -> tandem_core::Result<()>,
) -> Result<()> {
    let home = ctx.home()?;
    let mut o = ctx.workspace(&home)?;
    let id = R::resolve(&o.ws, prefix)?;
    let owner = R::read(&o.ws, &id)?
        .map(|r| r.owner().to_string())
        .unwrap_or_default();
    allowed(&o.ws, &owner)?;
    f(&mut o.ws, &id)?;
    home.save(&mut o)?;
    let record = R::read(&o.ws, &id)?;
    let label = record.as_ref().map(R::label).unwrap_or_default();
    report(ctx, verb, R::NOUN, &id, &label, &record)
}

/// Edit text outside the store: read, release the store while the editor is open (so sync and
/// other commands keep working), then apply the edit against the version that was read.
pub fn edit_outside(
    ctx: &Context,
    private: bool,
    load: impl FnOnce(&Workspace) -> Result<(ItemId, String)>,
    apply: impl FnOnce(&mut Workspace, &ItemId, String) -> tandem_core::Result<()>,
) -> Result<()> {
    let (ws_id, doc_id, item_id, base, text) = {
        let home = ctx.home()?;
        let ws_id = home.resolve(ctx.selector())?;
        let mut opened = if private {
            home.open_private(&ws_id, ctx.now)?
        } else {
            home.open_workspace(&ws_id, ctx.now)?
        };
        let (item_id, text) = load(&opened.ws)?;
        // The heads of what the person was shown, so the edit applies to that.
        let base = opened.ws.heads();
        (ws_id, *opened.id(), item_id, base, text)
    };
    let edited = editor::edit(ctx.editor.as_deref(), &text, "the text was")?;
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
