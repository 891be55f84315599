//! The mentoring pair's shared development plan as an automerge document.
//!
//! (This file runs a little past 600 lines: it holds what every kind shares — the root, schema
//! checks, id resolution, archiving and the snapshot — while each kind has a file of its own.)
//!
//! Read this to learn the document's shape; it is the contract with every other client (see
//! docs/model.md, which describes every field). The root holds:
//!
//! ```text
//! schema: 1, kind: "tandem-workspace", title, created_at, created_by
//! participants: { <pid>: { name, role, created_at, devices: { <actor hex>: <added at> } } }
//! goals:     { <id>: { title, description: Text, status, owner?, due?, milestones: {..}, .. } }
//! notes:     { <id>: { title, body: Text, goal?, tags: { <tag>: true }, .. } }
//! checkins:  { <id>: { at, agenda: Text, notes: Text, meeting_link?, ratings: { <pid>: { rating, comment: Text, at } }, .. } }
//! actions:   { <id>: { title, owner?, due?, done, done_at?, goal?, checkin?, .. } }
//! resources: { <id>: { title, url, note: Text, .. } }
//! settings:  { checkin_rhythm_days, survey_rhythm_days }
//! surveys:   { "<pid>:<period>": { participant, period, progress, relationship, recommend, comment: Text, at, .. } }
//! kudos:     { <id>: { from, to, text: Text, goal?, .. } }
//! career_steps: { <id>: { participant, date, role_before, role_after, note: Text, .. } }
//! ```
//!
//! Fields marked Text are prose, merged character by character; every other string is a scalar,
//! replaced as a whole, so two concurrent rewrites of a title are a conflict with both values.
//!
//! Every collection is a map keyed by a random id, never a list, so two people adding items
//! offline never collide. Every item carries `created_by`, `created_at` and `archived`; archiving is
//! a flag rather than a delete so that a concurrent edit of an archived item is kept.
//!
//! Each mutating method makes exactly one automerge change, with a message saying what it did in
//! words a person can read in `tandem log`.
//!
//! The files follow the document. This one holds [`Workspace`] itself and what every kind of item
//! shares: creating and opening a workspace, the schema check, ids, archiving and snapshots. Each
//! kind has a file of its own (`goal.rs`, `milestone.rs`, `note.rs`, `checkin.rs`, `action.rs`,
//! `resource.rs`, `participant.rs`, `survey.rs`, `kudos.rs`, `career.rs`) with its read view, its write input and an `impl Workspace`
//! block of its methods; `conflicts.rs` and `history.rs` read concurrent values and change history
//! the same way; `rhythm.rs` holds the settings and when the next check-in is due, and `wins.rs`
//! derives the pair's wins. [`draft`] describes new items, [`fields`] reads and writes single fields, and
//! [`time`] reads and writes dates and instants.

#[macro_use]
mod open_enum;

pub mod draft;
pub mod fields;
mod ids;
pub mod time;

mod action;
mod career;
mod checkin;
mod conflicts;
mod goal;
mod history;
mod kudos;
mod milestone;
mod note;
mod participant;
mod reader;
mod removal;
mod resource;
pub mod rhythm;
pub mod survey;
mod wins;

pub use action::{Action, ActionChanges, NewAction};
pub use career::{CareerStep, CareerStepChanges, NewCareerStep};
pub use checkin::{CheckIn, CheckInChanges, Rating};
pub use conflicts::{Conflict, ConflictOn, ConflictValue};
pub use goal::{Goal, GoalChanges, GoalStatus, NewGoal};
pub use history::HistoryEntry;
pub use ids::ItemId;
pub use kudos::{Kudos, KudosChanges, NewKudos};
pub use milestone::{Milestone, MilestoneChanges};
pub use note::{NewNote, Note, NoteChanges};
pub use participant::{resolve_owner_among, Participant, Role};
pub use reader::PairReader;
pub use resource::{Resource, ResourceChanges};
pub use rhythm::{Rhythm, Settings, SettingsChanges};
pub use survey::{NewSurvey, SurveyAnswer};
pub use wins::{Win, WinKind};

use crate::model::draft::{Draft, Field};
use crate::model::fields::{
    check_size, ensure_map, get_bool, get_int, get_map, get_stored, get_string, keys, oversized,
    set_str, set_text,
};
use crate::model::time::{format_instant, today, Stored};
use crate::{Error, Result};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ROOT};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The schema version this build writes and understands.
/// Stored as a signed integer, which JavaScript reads as a number (an unsigned one reads as a
/// BigInt, which JSON cannot carry).
pub const SCHEMA_VERSION: u64 = 1;
/// The `kind` of a shared workspace document.
pub const WORKSPACE_KIND: &str = "tandem-workspace";
/// The `kind` of a local-only private notes document.
pub const PRIVATE_KIND: &str = "tandem-private";

/// The kinds of item a workspace holds; the names are the document's collection keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Goal,
    Note,
    CheckIn,
    Action,
    Resource,
}

impl Kind {
    /// The collection this kind lives in.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Goal => "goals",
            Kind::Note => "notes",
            Kind::CheckIn => "checkins",
            Kind::Action => "actions",
            Kind::Resource => "resources",
        }
    }
    /// The word a person would use.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Goal => "goal",
            Kind::Note => "note",
            Kind::CheckIn => "check-in",
            Kind::Action => "action item",
            Kind::Resource => "resource",
        }
    }
    /// Every kind, in the order they appear in exports.
    pub const ALL: [Kind; 5] = [
        Kind::Goal,
        Kind::Note,
        Kind::CheckIn,
        Kind::Action,
        Kind::Resource,
    ];
}

/// A new random item id: 16 lowercase hex digits. People type any unique prefix of it.
pub fn new_item_id() -> ItemId {
    ItemId::random()
}

/// The number of id characters shown in lists; any unique prefix works on input.
pub const SHORT_ID: usize = 8;

/// Shorten an id for display.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(SHORT_ID)]
}

/// What every item records about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub created_by: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: Option<Stored<Timestamp>>,
    pub archived: bool,
    /// The string fields longer than [`fields::MAX_TEXT_BYTES`], which are read (and so shown
    /// and exported) only up to that limit. Left out of JSON when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oversized: Vec<fields::Oversized>,
}

/// Everything in a workspace, for `export --format json` and convergence checks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub title: String,
    /// When the workspace was created, as stored (the rhythm and survey periods count from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Stored<Timestamp>>,
    pub schema: u64,
    pub participants: Vec<Participant>,
    pub goals: Vec<Goal>,
    pub notes: Vec<Note>,
    pub checkins: Vec<CheckIn>,
    pub actions: Vec<Action>,
    pub resources: Vec<Resource>,
    /// The collections below came later; a snapshot written before them still reads.
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub surveys: Vec<SurveyAnswer>,
    #[serde(default)]
    pub kudos: Vec<Kudos>,
    #[serde(default)]
    pub career_steps: Vec<CareerStep>,
}

/// The shared plan of one mentoring pair (or the private notes beside it).
#[derive(Debug)]
pub struct Workspace {
    doc: AutoCommit,
    /// The participant acting on this device; recorded as `created_by` on new items.
    me: Option<String>,
    /// The instant recorded on changes and new items; injected so tests are reproducible.
    now: Timestamp,
    /// Participant names by id, built on first use and dropped whenever the document changes.
    names: std::cell::RefCell<Option<std::collections::HashMap<String, String>>>,
    /// The whole document, when `doc` is a view that leaves refused changes out.
    shared: Option<removal::Shared>,
}

impl Workspace {
    /// A workspace over `doc`, with `me` acting at `now`. Every way of making one goes through
    /// here, so that each starts with an empty name cache and with nothing screened out of the
    /// document; only [`Workspace::open`] then records what it screened.
    fn over_doc(doc: AutoCommit, me: Option<String>, now: Timestamp) -> Self {
        Self {
            doc,
            me,
            now,
            names: Default::default(),
            shared: None,
        }
    }

    /// Create a new shared workspace with its first participant, whose device is `actor`.
    pub fn create(
        title: &str,
        name: &str,
        role: Role,
        actor: ActorId,
        now: Timestamp,
    ) -> Result<(Self, String)> {
        let title = non_empty("title", title)?;
        let name = non_empty("name", name)?;
        let mut ws = Self::over_doc(AutoCommit::new().with_actor(actor.clone()), None, now);
        let at = ws.stamp();
        ws.doc.put(ROOT, "schema", SCHEMA_VERSION as i64)?;
        ws.doc.put(ROOT, "kind", WORKSPACE_KIND)?;
        set_str(&mut ws.doc, &ROOT, "title", &title)?;
        ws.doc.put(ROOT, "created_at", at.as_str())?;
        for kind in Kind::ALL {
            ws.doc
                .put_object(ROOT, kind.collection(), automerge::ObjType::Map)?;
        }
        // Made at once, so that two people adding the first survey answer or kudos offline add
        // them to one map rather than each making one.
        for collection in [
            "participants",
            "settings",
            "surveys",
            "kudos",
            "career_steps",
        ] {
            ws.doc
                .put_object(ROOT, collection, automerge::ObjType::Map)?;
        }
        let pid = ws.put_participant(&name, &role, &actor)?;
        ws.doc.put(ROOT, "created_by", pid.as_str())?;
        ws.me = Some(pid.clone());
        ws.commit(format!("created workspace “{title}”"));
        Ok((ws, pid))
    }

    /// Create an empty private notes document for a workspace.
    pub fn create_private(actor: ActorId, now: Timestamp) -> Result<Self> {
        let mut ws = Self::over_doc(AutoCommit::new().with_actor(actor), None, now);
        ws.doc.put(ROOT, "schema", SCHEMA_VERSION as i64)?;
        ws.doc.put(ROOT, "kind", PRIVATE_KIND)?;
        ws.doc.put_object(ROOT, "notes", automerge::ObjType::Map)?;
        ws.commit("created private notes".to_string());
        Ok(ws)
    }

    /// Wrap a loaded document, checking that it is a workspace this build understands.
    ///
    /// When removed participants' devices wrote after their removal, the workspace shows and
    /// builds on everything but those changes (see `core/src/model/removal.rs`).
    pub fn open(doc: AutoCommit, doc_id: &str, now: Timestamp) -> Result<Self> {
        check_schema(&doc, doc_id)?;
        let (doc, shared) = Self::screen(doc)?;
        Ok(Self {
            shared,
            ..Self::over_doc(doc, None, now)
        })
    }

    /// Set who is acting, by participant id.
    pub fn act_as(&mut self, participant: Option<String>) {
        self.me = participant;
        self.record_stand_in();
    }

    /// The participant acting on this device, if known.
    pub fn me(&self) -> Option<&str> {
        self.me.as_deref()
    }

    /// The document as this workspace shows it: without refused changes, if there are any
    /// (see `core/src/model/removal.rs`).
    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    /// The whole shared document, mutably (for sync and storage), holding every change made
    /// through this workspace. Refused changes are in it too: peers must hold the same changes.
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        self.names.take();
        self.copy_view_changes()
            .expect("changes made on the view apply to the document it was forked from");
        match &mut self.shared {
            Some(shared) => &mut shared.doc,
            None => &mut self.doc,
        }
    }

    /// Give back the whole shared document (see [`Workspace::doc_mut`]).
    pub fn into_doc(mut self) -> AutoCommit {
        self.copy_view_changes()
            .expect("changes made on the view apply to the document it was forked from");
        match self.shared {
            Some(shared) => shared.doc,
            None => self.doc,
        }
    }

    /// The heads of the document as this workspace shows it.
    pub fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }

    /// The instant this workspace handle treats as now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn stamp(&self) -> String {
        format_instant(self.now)
    }

    fn commit(&mut self, message: String) {
        self.names.take();
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(self.now.as_second()),
        );
    }

    /// Apply `edit` as if it had been made when the document was at `base` — for text edited
    /// in an editor while other changes (from a sync, or another terminal) arrived.
    ///
    /// Text edits are diffs against the text the person saw, so applying them to a newer version
    /// would undo what arrived meanwhile. Instead the edit is made on a branch at `base` and
    /// merged. The branch has its own actor (this device's actor may have made changes since
    /// `base`, and automerge forbids two changes with one actor and sequence number), and that
    /// actor is recorded as another device of the acting participant so history still names them.
    pub fn edit_since(
        &mut self,
        base: &[automerge::ChangeHash],
        edit: impl FnOnce(&mut Workspace) -> Result<()>,
    ) -> Result<()> {
        if self.doc.get_heads() == base {
            return edit(self);
        }
        let mut branch = Self::over_doc(self.doc.fork_at(base)?, self.me.clone(), self.now);
        edit(&mut branch)?;
        let branch_actor = branch.doc.get_actor().clone();
        self.doc.merge(&mut branch.doc)?;
        if let Some(me) = self.me.clone() {
            self.add_device(&me, &branch_actor)?;
        }
        Ok(())
    }

    /// The workspace title.
    pub fn title(&self) -> String {
        get_string(&self.doc, &ROOT, "title").unwrap_or_default()
    }

    /// Rename the workspace.
    pub fn set_title(&mut self, title: &str) -> Result<()> {
        let title = non_empty("title", title)?;
        set_str(&mut self.doc, &ROOT, "title", &title)?;
        self.commit(format!("renamed workspace to “{title}”"));
        Ok(())
    }

    // ----- items: shared plumbing -----

    fn collection(&self, kind: Kind) -> Option<ObjId> {
        get_map(&self.doc, &ROOT, kind.collection())
    }

    /// Write a new item as one change.
    pub fn insert(&mut self, draft: &Draft) -> Result<ItemId> {
        let coll = ensure_map(&mut self.doc, &ROOT, draft.kind.collection())?;
        let obj = self
            .doc
            .put_object(&coll, draft.id.as_str(), automerge::ObjType::Map)?;
        let mut fields = Draft::header(self.me.as_deref(), &self.stamp());
        fields.extend(draft.fields.iter().cloned());
        self.write_fields(&obj, &fields)?;
        self.commit(draft.message.clone());
        Ok(draft.id.clone())
    }

    /// How `draft` will look once added, as `--json` shows it, without the workspace: the
    /// draft is written into a scratch document that knows only the participants' names.
    pub fn preview(
        draft: &Draft,
        people: &[(String, String)],
        me: Option<String>,
        now: Timestamp,
    ) -> Result<serde_json::Value> {
        let mut scratch = Self::over_doc(AutoCommit::new(), me, now);
        let participants = ensure_map(&mut scratch.doc, &ROOT, "participants")?;
        for (id, name) in people {
            let p = scratch
                .doc
                .put_object(&participants, id.as_str(), automerge::ObjType::Map)?;
            scratch.doc.put(&p, "name", name.as_str())?;
        }
        scratch.insert(draft)?;
        let snapshot = scratch.snapshot("");
        let item = match draft.kind {
            Kind::Goal => serde_json::to_value(&snapshot.goals),
            Kind::Note => serde_json::to_value(&snapshot.notes),
            Kind::CheckIn => serde_json::to_value(&snapshot.checkins),
            Kind::Action => serde_json::to_value(&snapshot.actions),
            Kind::Resource => serde_json::to_value(&snapshot.resources),
        }
        .map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(item.get(0).cloned().unwrap_or_default())
    }

    /// Change some fields of the item or milestone `obj` in place, in one change whose message
    /// names them and ends with `label`. Only the given fields are written, so a concurrent change
    /// of another field is never overwritten; prose is written as a diff, short fields as a whole
    /// (see [`fields`]). `flags` names the options a person could have given, for the error when
    /// there is nothing to change.
    fn update(
        &mut self,
        obj: &ObjId,
        noun: &str,
        label: String,
        fields: &[Field],
        flags: &str,
    ) -> Result<()> {
        if fields.is_empty() {
            return Err(Error::Invalid(format!(
                "nothing to change: give at least one of {flags}"
            )));
        }
        draft::check_fields(noun, fields)?;
        let mut what = Vec::new();
        for field in fields {
            match field {
                Field::Text(key, value) => {
                    set_text(&mut self.doc, obj, key, value)?;
                    what.push(key.to_string());
                }
                Field::Str(key, Some(value)) => {
                    set_str(&mut self.doc, obj, key, value)?;
                    what.push(match *key {
                        "title" | "url" | "meeting_link" => key.to_string(),
                        "owner" => format!("owner={}", self.display_name(value)),
                        _ => format!("{key}={value}"),
                    });
                }
                Field::Bool(key, value) => {
                    self.doc.put(obj, *key, *value)?;
                    what.push(format!("{key}={value}"));
                }
                Field::Flags(key, flags) => {
                    // Flags not given are cleared rather than the map replaced, so a flag
                    // someone adds concurrently survives.
                    let map = ensure_map(&mut self.doc, obj, key)?;
                    for old in keys(&self.doc, &map) {
                        if !flags.contains(&old) && get_bool(&self.doc, &map, &old) {
                            self.doc.put(&map, old.as_str(), false)?;
                        }
                    }
                    for flag in flags {
                        self.doc.put(&map, flag.as_str(), true)?;
                    }
                    what.push(format!("{key}={}", flags.join(",")));
                }
                Field::Str(_, None) | Field::Map(_) => {}
            }
        }
        self.commit(format!("set {} on {label}", what.join(", ")));
        Ok(())
    }

    /// Change some fields of the item `id` of `kind` (see [`Workspace::update`]).
    fn update_item(
        &mut self,
        kind: Kind,
        id: &ItemId,
        fields: &[Field],
        flags: &str,
    ) -> Result<()> {
        let obj = self.item(kind, id)?;
        let label = self.label(kind, id);
        self.update(&obj, kind.noun(), label, fields, flags)
    }

    /// Write the fields of a new map object.
    fn write_fields(&mut self, obj: &ObjId, fields: &[Field]) -> Result<()> {
        for field in fields {
            match field {
                Field::Text(key, value) => set_text(&mut self.doc, obj, key, value)?,
                Field::Str(key, Some(value)) => set_str(&mut self.doc, obj, key, value)?,
                Field::Str(_, None) => {}
                Field::Bool(key, value) => {
                    self.doc.put(obj, *key, *value)?;
                }
                Field::Map(key) => {
                    self.doc.put_object(obj, *key, automerge::ObjType::Map)?;
                }
                Field::Flags(key, flags) => {
                    let map = self.doc.put_object(obj, *key, automerge::ObjType::Map)?;
                    for flag in flags {
                        self.doc.put(&map, flag.as_str(), true)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolve an id or unique id prefix of `kind` to its full id.
    ///
    /// An exact id always wins; otherwise the prefix must match exactly one item, archived or not.
    pub fn resolve(&self, kind: Kind, prefix: &str) -> Result<ItemId> {
        let prefix = prefix.trim().to_ascii_lowercase();
        let ids = self
            .collection(kind)
            .map(|c| keys(&self.doc, &c))
            .unwrap_or_default();
        resolve_prefix(kind.noun(), &prefix, ids)
    }

    fn item(&self, kind: Kind, id: &str) -> Result<ObjId> {
        self.collection(kind)
            .and_then(|c| get_map(&self.doc, &c, id))
            .ok_or_else(|| Error::UnknownId {
                kind: kind.noun(),
                prefix: id.to_string(),
            })
    }

    fn meta(&self, obj: &ObjId) -> Meta {
        let created_by = get_string(&self.doc, obj, "created_by");
        Meta {
            created_by_name: created_by.as_deref().map(|c| self.display_name(c)),
            created_by,
            created_at: get_stored(&self.doc, obj, "created_at"),
            archived: get_bool(&self.doc, obj, "archived"),
            oversized: oversized(&self.doc, obj),
        }
    }

    fn label(&self, kind: Kind, id: &str) -> String {
        let title = self
            .item(kind, id)
            .ok()
            .and_then(|o| get_string(&self.doc, &o, "title"))
            .unwrap_or_default();
        let title = first_line(&title, 40);
        if title.is_empty() {
            format!("{} {}", kind.noun(), short(id))
        } else {
            format!("{} {} “{title}”", kind.noun(), short(id))
        }
    }

    /// Archive an item (a soft delete: it stays in the document and in history).
    pub fn archive(&mut self, kind: Kind, id: &ItemId) -> Result<()> {
        let obj = self.item(kind, id)?;
        self.doc.put(&obj, "archived", true)?;
        let label = self.label(kind, id);
        self.commit(format!("archived {label}"));
        Ok(())
    }

    /// Bring an archived item back.
    pub fn unarchive(&mut self, kind: Kind, id: &ItemId) -> Result<()> {
        let obj = self.item(kind, id)?;
        self.doc.put(&obj, "archived", false)?;
        let label = self.label(kind, id);
        self.commit(format!("restored {label}"));
        Ok(())
    }

    fn read_all<T>(&self, kind: Kind, read: impl Fn(&Self, &str, &ObjId) -> T) -> Vec<T>
    where
        T: HasMeta,
    {
        let Some(coll) = self.collection(kind) else {
            return Vec::new();
        };
        let mut items: Vec<T> = keys(&self.doc, &coll)
            .into_iter()
            .filter_map(|id| {
                let obj = get_map(&self.doc, &coll, &id)?;
                Some(read(self, &id, &obj))
            })
            .collect();
        items.sort_by(|a, b| (&a.meta().created_at, a.id()).cmp(&(&b.meta().created_at, b.id())));
        items
    }

    /// Everything in the workspace; `doc_id` is recorded so the snapshot names its workspace.
    pub fn snapshot(&self, doc_id: &str) -> Snapshot {
        Snapshot {
            id: doc_id.to_string(),
            title: self.title(),
            created_at: get_stored(&self.doc, &ROOT, "created_at"),
            schema: schema_of(&self.doc).unwrap_or(SCHEMA_VERSION),
            participants: self.participants(),
            goals: self.goals(),
            notes: self.notes(),
            checkins: self.checkins(),
            actions: self.actions(),
            resources: self.resources(),
            settings: self.settings(),
            surveys: self.surveys(),
            kudos: self.kudos(),
            career_steps: self.career_steps(),
        }
    }

    /// Today's date in `zone`, as the workspace sees "now".
    pub fn today(&self, zone: &TimeZone) -> jiff::civil::Date {
        today(self.now, zone)
    }
}

/// Items that carry [`Meta`] and an id, for shared sorting.
pub trait HasMeta {
    fn meta(&self) -> &Meta;
    fn id(&self) -> &str;
}

macro_rules! has_meta {
    ($($t:ty),*) => {$(
        impl HasMeta for $t {
            fn meta(&self) -> &Meta { &self.meta }
            fn id(&self) -> &str { &self.id }
        }
    )*};
}
has_meta!(
    Goal,
    Note,
    CheckIn,
    Action,
    Resource,
    Kudos,
    CareerStep,
    SurveyAnswer
);

fn schema_of(doc: &AutoCommit) -> Option<u64> {
    get_int(doc, &ROOT, "schema").and_then(|s| u64::try_from(s).ok())
}

/// Check that a document is a tandem workspace (or private notes) this build can read.
pub fn check_schema(doc: &AutoCommit, doc_id: &str) -> Result<()> {
    let kind = get_string(doc, &ROOT, "kind");
    match kind.as_deref() {
        Some(WORKSPACE_KIND) | Some(PRIVATE_KIND) => {}
        Some(other) => {
            return Err(Error::NotAWorkspace {
                doc: doc_id.to_string(),
                reason: format!("its kind is '{other}'"),
            })
        }
        None => {
            return Err(Error::NotAWorkspace {
                doc: doc_id.to_string(),
                reason: "it has no 'kind' field".into(),
            })
        }
    }
    match schema_of(doc) {
        Some(found) if found > SCHEMA_VERSION => Err(Error::SchemaTooNew {
            doc: doc_id.to_string(),
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(_) => Ok(()),
        None => Err(Error::NotAWorkspace {
            doc: doc_id.to_string(),
            reason: "it has no schema version".into(),
        }),
    }
}

/// Check a title, name or other required text typed by a person; returns it trimmed.
pub fn required(what: &str, value: &str) -> Result<String> {
    non_empty(what, value)
}

/// Resolve `prefix` against `ids` for a kind named `noun`.
pub fn resolve_prefix(noun: &'static str, prefix: &str, ids: Vec<String>) -> Result<ItemId> {
    if prefix.is_empty() {
        return Err(Error::Invalid(format!("an empty {noun} id was given")));
    }
    if ids.iter().any(|i| i == prefix) {
        return Ok(ItemId::from_stored(prefix));
    }
    let mut matches: Vec<String> = ids.into_iter().filter(|i| i.starts_with(prefix)).collect();
    match matches.len() {
        0 => Err(Error::UnknownId {
            kind: noun,
            prefix: prefix.to_string(),
        }),
        1 => Ok(ItemId::from_stored(matches.remove(0))),
        _ => {
            matches.sort();
            Err(Error::AmbiguousId {
                kind: noun,
                prefix: prefix.to_string(),
                candidates: matches,
            })
        }
    }
}

fn non_empty(what: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::Invalid(format!("the {what} must not be empty")));
    }
    check_size(what, trimmed)?;
    Ok(trimmed.to_string())
}

/// The first line of `s`, cut to at most `max` characters, for messages and lists.
pub fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests;
