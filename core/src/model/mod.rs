//! The mentoring pair's shared development plan as an automerge document.
//!
//! Read this to learn the document's shape; it is the contract with every other client (see
//! shared/PRODUCT.md). The root holds:
//!
//! ```text
//! schema: 1, kind: "tandem-workspace", title: Text, created_at, created_by
//! participants: { <pid>: { name, role, created_at, devices: { <actor hex>: <added at> } } }
//! goals:     { <id>: { title: Text, description: Text, status, owner?, due?, milestones: {..}, .. } }
//! notes:     { <id>: { title: Text, body: Text, goal?, tags: { <tag>: true }, .. } }
//! checkins:  { <id>: { at, agenda: Text, notes: Text, ratings: { <pid>: { rating, comment: Text, at } }, .. } }
//! actions:   { <id>: { title: Text, owner?, due?, done, done_at?, goal?, checkin?, .. } }
//! resources: { <id>: { title: Text, url, note: Text, .. } }
//! ```
//!
//! Every collection is a map keyed by a random id, never a list, so two people adding items
//! offline never collide. Every item carries `created_by`, `created_at` and `archived`; archiving is
//! a flag rather than a delete so that a concurrent edit of an archived item is kept.
//!
//! Each mutating method makes exactly one automerge change, with a message saying what it did in
//! words a person can read in `tandem log`.

pub mod draft;
pub mod fields;
pub mod time;

mod conflicts;
mod history;

pub use conflicts::{Conflict, ConflictValue};
pub use history::HistoryEntry;

use crate::model::draft::{Draft, Field};
use crate::model::fields::{
    ensure_map, get_bool, get_int, get_map, get_string, keys, set_str, set_text,
};
use crate::model::time::{format_instant, today};
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

/// A participant's role in the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mentor,
    Mentee,
    Observer,
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mentor" => Ok(Role::Mentor),
            "mentee" => Ok(Role::Mentee),
            "observer" | "coordinator" => Ok(Role::Observer),
            _ => Err(Error::Invalid(format!(
                "invalid role '{s}': expected mentor, mentee or observer"
            ))),
        }
    }
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mentor => "mentor",
            Role::Mentee => "mentee",
            Role::Observer => "observer",
        }
    }
}

/// A goal's status.
pub const GOAL_STATUSES: [&str; 4] = ["open", "active", "done", "dropped"];

/// Check a goal status typed by a person.
pub fn parse_status(s: &str) -> Result<String> {
    let lower = s.trim().to_ascii_lowercase();
    if GOAL_STATUSES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(Error::Invalid(format!(
            "invalid status '{s}': expected one of {}",
            GOAL_STATUSES.join(", ")
        )))
    }
}

/// A new random item id: 16 lowercase hex digits. People type any unique prefix of it.
pub fn new_item_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The number of id characters shown in lists; any unique prefix works on input.
pub const SHORT_ID: usize = 8;

/// Shorten an id for display.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(SHORT_ID)]
}

// ----- read views: plain data, serialised as the stable `--json` shapes -----

/// Someone taking part in the workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub role: String,
    pub devices: Vec<String>,
    pub created_at: Option<String>,
}

/// What every item records about itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    pub created_by: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: Option<String>,
    pub archived: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub due: Option<String>,
    pub done: bool,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Goal {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub milestones: Vec<Milestone>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Goal {
    /// (done, total) over milestones that are not archived.
    pub fn progress(&self) -> (usize, usize) {
        let live = self.milestones.iter().filter(|m| !m.meta.archived);
        let (mut done, mut total) = (0, 0);
        for m in live {
            total += 1;
            done += usize::from(m.done);
        }
        (done, total)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: String,
    pub title: String,
    pub body: String,
    pub goal: Option<String>,
    pub tags: Vec<String>,
    pub private: bool,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rating {
    pub participant: String,
    pub name: String,
    pub rating: i64,
    pub comment: String,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckIn {
    pub id: String,
    pub at: String,
    pub agenda: String,
    pub notes: String,
    pub ratings: Vec<Rating>,
    #[serde(flatten)]
    pub meta: Meta,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Action {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub done: bool,
    pub done_at: Option<String>,
    pub goal: Option<String>,
    pub checkin: Option<String>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl Action {
    /// Whether the action is open and its due date is before `today` (`YYYY-MM-DD`).
    pub fn is_overdue(&self, today: &str) -> bool {
        !self.done && self.due.as_deref().is_some_and(|d| d < today)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    pub id: String,
    pub title: String,
    pub url: String,
    pub note: String,
    #[serde(flatten)]
    pub meta: Meta,
}

/// Everything in a workspace, for `export --format json` and convergence checks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub title: String,
    pub schema: u64,
    pub participants: Vec<Participant>,
    pub goals: Vec<Goal>,
    pub notes: Vec<Note>,
    pub checkins: Vec<CheckIn>,
    pub actions: Vec<Action>,
    pub resources: Vec<Resource>,
}

// ----- write inputs -----

/// A new goal.
#[derive(Debug, Clone, Default)]
pub struct NewGoal {
    pub title: String,
    pub description: Option<String>,
    pub due: Option<String>,
    pub owner: Option<String>,
}

/// Changes to a goal's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct GoalChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub due: Option<String>,
    pub owner: Option<String>,
}

/// A new note.
#[derive(Debug, Clone, Default)]
pub struct NewNote {
    pub title: Option<String>,
    pub body: String,
    pub goal: Option<String>,
    pub tags: Vec<String>,
}

/// A new action item.
#[derive(Debug, Clone, Default)]
pub struct NewAction {
    pub title: String,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub goal: Option<String>,
    pub checkin: Option<String>,
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
}

impl Workspace {
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
        let doc = AutoCommit::new().with_actor(actor.clone());
        let mut ws = Self {
            doc,
            me: None,
            now,
            names: Default::default(),
        };
        let at = ws.stamp();
        ws.doc.put(ROOT, "schema", SCHEMA_VERSION as i64)?;
        ws.doc.put(ROOT, "kind", WORKSPACE_KIND)?;
        set_text(&mut ws.doc, &ROOT, "title", &title)?;
        ws.doc.put(ROOT, "created_at", at.as_str())?;
        for kind in Kind::ALL {
            ws.doc
                .put_object(ROOT, kind.collection(), automerge::ObjType::Map)?;
        }
        ws.doc
            .put_object(ROOT, "participants", automerge::ObjType::Map)?;
        let pid = ws.put_participant(&name, role, &actor)?;
        ws.doc.put(ROOT, "created_by", pid.as_str())?;
        ws.me = Some(pid.clone());
        ws.commit(format!("created workspace “{title}”"));
        Ok((ws, pid))
    }

    /// Create an empty private notes document for a workspace.
    pub fn create_private(actor: ActorId, now: Timestamp) -> Result<Self> {
        let doc = AutoCommit::new().with_actor(actor);
        let mut ws = Self {
            doc,
            me: None,
            now,
            names: Default::default(),
        };
        ws.doc.put(ROOT, "schema", SCHEMA_VERSION as i64)?;
        ws.doc.put(ROOT, "kind", PRIVATE_KIND)?;
        ws.doc.put_object(ROOT, "notes", automerge::ObjType::Map)?;
        ws.commit("created private notes".to_string());
        Ok(ws)
    }

    /// Wrap a loaded document, checking that it is a workspace this build understands.
    pub fn open(doc: AutoCommit, doc_id: &str, now: Timestamp) -> Result<Self> {
        check_schema(&doc, doc_id)?;
        Ok(Self {
            doc,
            me: None,
            now,
            names: Default::default(),
        })
    }

    /// Set who is acting, by participant id.
    pub fn act_as(&mut self, participant: Option<String>) {
        self.me = participant;
    }

    /// The participant acting on this device, if known.
    pub fn me(&self) -> Option<&str> {
        self.me.as_deref()
    }

    /// The underlying automerge document.
    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    /// The underlying automerge document, mutably (for sync and storage).
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        self.names.take();
        &mut self.doc
    }

    /// Give back the document.
    pub fn into_doc(self) -> AutoCommit {
        self.doc
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
        let mut branch = Workspace {
            doc: self.doc.fork_at(base)?,
            me: self.me.clone(),
            now: self.now,
            names: Default::default(),
        };
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
        set_text(&mut self.doc, &ROOT, "title", &title)?;
        self.commit(format!("renamed workspace to “{title}”"));
        Ok(())
    }

    // ----- participants -----

    fn put_participant(&mut self, name: &str, role: Role, actor: &ActorId) -> Result<String> {
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let pid = new_item_id();
        let at = self.stamp();
        let p = self
            .doc
            .put_object(&participants, pid.as_str(), automerge::ObjType::Map)?;
        self.doc.put(&p, "name", name)?;
        self.doc.put(&p, "role", role.as_str())?;
        self.doc.put(&p, "created_at", at.as_str())?;
        let devices = self
            .doc
            .put_object(&p, "devices", automerge::ObjType::Map)?;
        self.doc.put(&devices, actor.to_hex_string(), at.as_str())?;
        Ok(pid)
    }

    /// Add a participant whose first device is `actor`; returns the new participant id.
    pub fn add_participant(&mut self, name: &str, role: Role, actor: &ActorId) -> Result<String> {
        let name = non_empty("name", name)?;
        let pid = self.put_participant(&name, role, actor)?;
        self.commit(format!("{name} joined as {}", role.as_str()));
        Ok(pid)
    }

    /// Record another device of an existing participant.
    pub fn add_device(&mut self, participant: &str, actor: &ActorId) -> Result<()> {
        let participants = ensure_map(&mut self.doc, &ROOT, "participants")?;
        let p = get_map(&self.doc, &participants, participant).ok_or_else(|| Error::UnknownId {
            kind: "participant",
            prefix: participant.to_string(),
        })?;
        let devices = ensure_map(&mut self.doc, &p, "devices")?;
        let at = self.stamp();
        self.doc.put(&devices, actor.to_hex_string(), at.as_str())?;
        self.commit("added a device".to_string());
        Ok(())
    }

    /// Everyone in the workspace, by name.
    pub fn participants(&self) -> Vec<Participant> {
        let Some(map) = get_map(&self.doc, &ROOT, "participants") else {
            return Vec::new();
        };
        let mut out: Vec<Participant> = keys(&self.doc, &map)
            .into_iter()
            .filter_map(|id| {
                let p = get_map(&self.doc, &map, &id)?;
                let devices = get_map(&self.doc, &p, "devices")
                    .map(|d| keys(&self.doc, &d))
                    .unwrap_or_default();
                Some(Participant {
                    name: get_string(&self.doc, &p, "name").unwrap_or_else(|| id.clone()),
                    role: get_string(&self.doc, &p, "role").unwrap_or_default(),
                    created_at: get_string(&self.doc, &p, "created_at"),
                    devices,
                    id,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    /// The participant who owns the device `actor`, if anyone does.
    pub fn participant_for_actor(&self, actor: &ActorId) -> Option<Participant> {
        let hex = actor.to_hex_string();
        self.participants()
            .into_iter()
            .find(|p| p.devices.contains(&hex))
    }

    /// The name to show for a participant id or a free-form owner.
    pub fn display_name(&self, who: &str) -> String {
        // Lists name people once per item, so the id → name map is built once and kept until
        // the document changes (every change goes through `commit` or `doc_mut`).
        let mut names = self.names.borrow_mut();
        let names = names.get_or_insert_with(|| {
            self.participants()
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect()
        });
        names.get(who).cloned().unwrap_or_else(|| who.to_string())
    }

    /// Turn an owner typed by a person into what is stored: the id of a participant whose name
    /// matches (case-insensitively), or else the name as typed, so a pair can assign work to
    /// someone who has not joined yet.
    pub fn resolve_owner(&self, owner: &str) -> Result<String> {
        resolve_owner_among(&self.people(), owner)
    }

    // ----- items: shared plumbing -----

    fn collection(&self, kind: Kind) -> Option<ObjId> {
        get_map(&self.doc, &ROOT, kind.collection())
    }

    /// Write a new item as one change.
    pub fn insert(&mut self, draft: &Draft) -> Result<String> {
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
        let mut scratch = Self {
            doc: AutoCommit::new(),
            me,
            now,
            names: Default::default(),
        };
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

    /// Participants as (id, name), for resolving owners.
    pub fn people(&self) -> Vec<(String, String)> {
        self.participants()
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    }

    /// Resolve an id or unique id prefix of `kind` to its full id.
    ///
    /// An exact id always wins; otherwise the prefix must match exactly one item, archived or not.
    pub fn resolve(&self, kind: Kind, prefix: &str) -> Result<String> {
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
            created_at: get_string(&self.doc, obj, "created_at"),
            archived: get_bool(&self.doc, obj, "archived"),
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
    pub fn archive(&mut self, kind: Kind, id: &str) -> Result<()> {
        let obj = self.item(kind, id)?;
        self.doc.put(&obj, "archived", true)?;
        let label = self.label(kind, id);
        self.commit(format!("archived {label}"));
        Ok(())
    }

    /// Bring an archived item back.
    pub fn unarchive(&mut self, kind: Kind, id: &str) -> Result<()> {
        let obj = self.item(kind, id)?;
        self.doc.put(&obj, "archived", false)?;
        let label = self.label(kind, id);
        self.commit(format!("restored {label}"));
        Ok(())
    }

    // ----- goals and milestones -----

    /// Add a goal; returns its id.
    pub fn add_goal(&mut self, goal: NewGoal) -> Result<String> {
        let draft = Draft::goal(&goal, &self.people())?;
        self.insert(&draft)
    }

    /// Change a goal's fields; only the given ones are written, so a concurrent change of another
    /// field is never overwritten.
    pub fn set_goal(&mut self, id: &str, changes: GoalChanges) -> Result<()> {
        let obj = self.item(Kind::Goal, id)?;
        let status = changes.status.as_deref().map(parse_status).transpose()?;
        let due = changes
            .due
            .as_deref()
            .map(crate::model::time::parse_date)
            .transpose()?;
        let owner = changes
            .owner
            .as_deref()
            .map(|o| self.resolve_owner(o))
            .transpose()?;
        let title = changes
            .title
            .as_deref()
            .map(|t| non_empty("title", t))
            .transpose()?;
        let mut what = Vec::new();
        if let Some(t) = &title {
            set_text(&mut self.doc, &obj, "title", t)?;
            what.push("title".to_string());
        }
        if let Some(d) = &changes.description {
            set_text(&mut self.doc, &obj, "description", d)?;
            what.push("description".to_string());
        }
        if let Some(s) = &status {
            set_str(&mut self.doc, &obj, "status", s)?;
            what.push(format!("status={s}"));
        }
        if let Some(d) = &due {
            set_str(&mut self.doc, &obj, "due", d)?;
            what.push(format!("due={d}"));
        }
        if let Some(o) = &owner {
            set_str(&mut self.doc, &obj, "owner", o)?;
            what.push(format!("owner={}", self.display_name(o)));
        }
        if what.is_empty() {
            return Err(Error::Invalid(
                "nothing to change: give at least one of --title, --description, --status, --due, --owner".into(),
            ));
        }
        let label = self.label(Kind::Goal, id);
        self.commit(format!("set {} on {label}", what.join(", ")));
        Ok(())
    }

    fn read_goal(&self, id: &str, obj: &ObjId) -> Goal {
        let milestones = get_map(&self.doc, obj, "milestones")
            .map(|ms| {
                let mut list: Vec<Milestone> = keys(&self.doc, &ms)
                    .into_iter()
                    .filter_map(|mid| {
                        let m = get_map(&self.doc, &ms, &mid)?;
                        Some(Milestone {
                            title: get_string(&self.doc, &m, "title").unwrap_or_default(),
                            due: get_string(&self.doc, &m, "due"),
                            done: get_bool(&self.doc, &m, "done"),
                            meta: self.meta(&m),
                            id: mid,
                        })
                    })
                    .collect();
                list.sort_by(|a, b| {
                    (a.due.is_none(), &a.due, &a.meta.created_at, &a.id).cmp(&(
                        b.due.is_none(),
                        &b.due,
                        &b.meta.created_at,
                        &b.id,
                    ))
                });
                list
            })
            .unwrap_or_default();
        let owner = get_string(&self.doc, obj, "owner").map(|o| self.display_name(&o));
        Goal {
            id: id.to_string(),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            description: get_string(&self.doc, obj, "description").unwrap_or_default(),
            status: get_string(&self.doc, obj, "status").unwrap_or_else(|| "open".into()),
            owner,
            due: get_string(&self.doc, obj, "due"),
            milestones,
            meta: self.meta(obj),
        }
    }

    /// One goal by full id.
    pub fn goal(&self, id: &str) -> Result<Goal> {
        let obj = self.item(Kind::Goal, id)?;
        Ok(self.read_goal(id, &obj))
    }

    /// Every goal, archived ones included, oldest first.
    pub fn goals(&self) -> Vec<Goal> {
        self.read_all(Kind::Goal, |ws, id, obj| ws.read_goal(id, obj))
    }

    /// Add a milestone to a goal; returns its id.
    pub fn add_milestone(&mut self, goal: &str, title: &str, due: Option<&str>) -> Result<String> {
        let title = non_empty("title", title)?;
        let due = due.map(crate::model::time::parse_date).transpose()?;
        let g = self.item(Kind::Goal, goal)?;
        let ms = ensure_map(&mut self.doc, &g, "milestones")?;
        let mid = new_item_id();
        let m = self
            .doc
            .put_object(&ms, mid.as_str(), automerge::ObjType::Map)?;
        let mut fields = Draft::header(self.me.as_deref(), &self.stamp());
        fields.extend([
            Field::Text("title", title.clone()),
            Field::Str("due", due),
            Field::Bool("done", false),
        ]);
        self.write_fields(&m, &fields)?;
        let label = self.label(Kind::Goal, goal);
        self.commit(format!(
            "added milestone “{}” to {label}",
            first_line(&title, 40)
        ));
        Ok(mid)
    }

    /// Resolve a milestone id prefix within a goal.
    pub fn resolve_milestone(&self, goal: &str, prefix: &str) -> Result<String> {
        let g = self.item(Kind::Goal, goal)?;
        let ids = get_map(&self.doc, &g, "milestones")
            .map(|ms| keys(&self.doc, &ms))
            .unwrap_or_default();
        resolve_prefix("milestone", &prefix.trim().to_ascii_lowercase(), ids)
    }

    /// Mark a milestone done (or not done).
    pub fn set_milestone_done(&mut self, goal: &str, milestone: &str, done: bool) -> Result<()> {
        let g = self.item(Kind::Goal, goal)?;
        let m = get_map(&self.doc, &g, "milestones")
            .and_then(|ms| get_map(&self.doc, &ms, milestone))
            .ok_or_else(|| Error::UnknownId {
                kind: "milestone",
                prefix: milestone.to_string(),
            })?;
        self.doc.put(&m, "done", done)?;
        let title = get_string(&self.doc, &m, "title").unwrap_or_default();
        let label = self.label(Kind::Goal, goal);
        let verb = if done { "completed" } else { "reopened" };
        self.commit(format!(
            "{verb} milestone “{}” of {label}",
            first_line(&title, 40)
        ));
        Ok(())
    }

    // ----- notes -----

    /// Add a note; returns its id.
    pub fn add_note(&mut self, note: NewNote) -> Result<String> {
        let draft = Draft::note(&note)?;
        self.insert(&draft)
    }

    /// Replace a note's body with `body`, merged as a text diff.
    pub fn edit_note_body(&mut self, id: &str, body: &str) -> Result<()> {
        let obj = self.item(Kind::Note, id)?;
        set_text(&mut self.doc, &obj, "body", body)?;
        let label = self.label(Kind::Note, id);
        self.commit(format!("edited {label}"));
        Ok(())
    }

    /// Replace a note's title.
    pub fn set_note_title(&mut self, id: &str, title: &str) -> Result<()> {
        let obj = self.item(Kind::Note, id)?;
        set_text(&mut self.doc, &obj, "title", title)?;
        self.commit(format!("retitled note {}", short(id)));
        Ok(())
    }

    fn read_note(&self, id: &str, obj: &ObjId) -> Note {
        let tags = get_map(&self.doc, obj, "tags")
            .map(|t| {
                keys(&self.doc, &t)
                    .into_iter()
                    .filter(|k| get_bool(&self.doc, &t, k))
                    .collect()
            })
            .unwrap_or_default();
        let kind = get_string(&self.doc, &ROOT, "kind");
        Note {
            id: id.to_string(),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            body: get_string(&self.doc, obj, "body").unwrap_or_default(),
            goal: get_string(&self.doc, obj, "goal"),
            tags,
            private: kind.as_deref() == Some(PRIVATE_KIND),
            meta: self.meta(obj),
        }
    }

    /// One note by full id.
    pub fn note(&self, id: &str) -> Result<Note> {
        let obj = self.item(Kind::Note, id)?;
        Ok(self.read_note(id, &obj))
    }

    /// Every note, oldest first.
    pub fn notes(&self) -> Vec<Note> {
        self.read_all(Kind::Note, |ws, id, obj| ws.read_note(id, obj))
    }

    // ----- check-ins -----

    /// Add a check-in at the stored instant `at` (see [`crate::model::time::parse_datetime`]).
    pub fn add_checkin(&mut self, at: &str, agenda: &str) -> Result<String> {
        self.insert(&Draft::checkin(at, agenda))
    }

    /// Replace a check-in's notes, merged as a text diff.
    pub fn edit_checkin_notes(&mut self, id: &str, notes: &str) -> Result<()> {
        let obj = self.item(Kind::CheckIn, id)?;
        set_text(&mut self.doc, &obj, "notes", notes)?;
        self.commit(format!("edited notes of check-in {}", short(id)));
        Ok(())
    }

    /// Record the acting participant's rating (1–5) of a check-in. Each participant has their own
    /// slot, so two people rating at once never collide.
    pub fn rate_checkin(&mut self, id: &str, rating: i64, comment: Option<&str>) -> Result<()> {
        if !(1..=5).contains(&rating) {
            return Err(Error::Invalid(format!(
                "invalid rating {rating}: expected a whole number from 1 to 5"
            )));
        }
        let me = self.me.clone().ok_or_else(|| {
            Error::Invalid(
                "this device is not a participant of the workspace, so it cannot rate".into(),
            )
        })?;
        let obj = self.item(Kind::CheckIn, id)?;
        let ratings = ensure_map(&mut self.doc, &obj, "ratings")?;
        let mine = ensure_map(&mut self.doc, &ratings, &me)?;
        self.doc.put(&mine, "rating", rating)?;
        if let Some(c) = comment {
            set_text(&mut self.doc, &mine, "comment", c)?;
        }
        let at = self.stamp();
        self.doc.put(&mine, "at", at.as_str())?;
        self.commit(format!("rated check-in {} {rating}/5", short(id)));
        Ok(())
    }

    fn read_checkin(&self, id: &str, obj: &ObjId) -> CheckIn {
        let ratings = get_map(&self.doc, obj, "ratings")
            .map(|r| {
                keys(&self.doc, &r)
                    .into_iter()
                    .filter_map(|pid| {
                        let m = get_map(&self.doc, &r, &pid)?;
                        Some(Rating {
                            name: self.display_name(&pid),
                            rating: get_int(&self.doc, &m, "rating")?,
                            comment: get_string(&self.doc, &m, "comment").unwrap_or_default(),
                            at: get_string(&self.doc, &m, "at"),
                            participant: pid,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        CheckIn {
            id: id.to_string(),
            at: get_string(&self.doc, obj, "at").unwrap_or_default(),
            agenda: get_string(&self.doc, obj, "agenda").unwrap_or_default(),
            notes: get_string(&self.doc, obj, "notes").unwrap_or_default(),
            ratings,
            meta: self.meta(obj),
        }
    }

    /// One check-in by full id.
    pub fn checkin(&self, id: &str) -> Result<CheckIn> {
        let obj = self.item(Kind::CheckIn, id)?;
        Ok(self.read_checkin(id, &obj))
    }

    /// Every check-in, earliest meeting first.
    pub fn checkins(&self) -> Vec<CheckIn> {
        let mut all = self.read_all(Kind::CheckIn, |ws, id, obj| ws.read_checkin(id, obj));
        all.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        all
    }

    // ----- action items -----

    /// Add an action item; returns its id.
    pub fn add_action(&mut self, action: NewAction) -> Result<String> {
        let draft = Draft::action(&action, &self.people())?;
        self.insert(&draft)
    }

    /// Mark an action item done (or open again).
    pub fn set_action_done(&mut self, id: &str, done: bool) -> Result<()> {
        let obj = self.item(Kind::Action, id)?;
        self.doc.put(&obj, "done", done)?;
        if done {
            let at = self.stamp();
            self.doc.put(&obj, "done_at", at.as_str())?;
        }
        let label = self.label(Kind::Action, id);
        let verb = if done { "completed" } else { "reopened" };
        self.commit(format!("{verb} {label}"));
        Ok(())
    }

    fn read_action(&self, id: &str, obj: &ObjId) -> Action {
        Action {
            id: id.to_string(),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            owner: get_string(&self.doc, obj, "owner").map(|o| self.display_name(&o)),
            due: get_string(&self.doc, obj, "due"),
            done: get_bool(&self.doc, obj, "done"),
            done_at: get_string(&self.doc, obj, "done_at"),
            goal: get_string(&self.doc, obj, "goal"),
            checkin: get_string(&self.doc, obj, "checkin"),
            meta: self.meta(obj),
        }
    }

    /// One action item by full id.
    pub fn action(&self, id: &str) -> Result<Action> {
        let obj = self.item(Kind::Action, id)?;
        Ok(self.read_action(id, &obj))
    }

    /// Every action item, oldest first.
    pub fn actions(&self) -> Vec<Action> {
        self.read_all(Kind::Action, |ws, id, obj| ws.read_action(id, obj))
    }

    // ----- resources -----

    /// Add a resource; returns its id.
    pub fn add_resource(&mut self, title: &str, url: &str, note: Option<&str>) -> Result<String> {
        let draft = Draft::resource(title, url, note)?;
        self.insert(&draft)
    }

    fn read_resource(&self, id: &str, obj: &ObjId) -> Resource {
        Resource {
            id: id.to_string(),
            title: get_string(&self.doc, obj, "title").unwrap_or_default(),
            url: get_string(&self.doc, obj, "url").unwrap_or_default(),
            note: get_string(&self.doc, obj, "note").unwrap_or_default(),
            meta: self.meta(obj),
        }
    }

    /// Every resource, oldest first.
    pub fn resources(&self) -> Vec<Resource> {
        self.read_all(Kind::Resource, |ws, id, obj| ws.read_resource(id, obj))
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
            schema: schema_of(&self.doc).unwrap_or(SCHEMA_VERSION),
            participants: self.participants(),
            goals: self.goals(),
            notes: self.notes(),
            checkins: self.checkins(),
            actions: self.actions(),
            resources: self.resources(),
        }
    }

    /// Today's date in `zone`, as the workspace sees "now".
    pub fn today(&self, zone: &TimeZone) -> String {
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
has_meta!(Goal, Note, CheckIn, Action, Resource);

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

/// The owner to store for `owner` typed by a person, among (participant id, name) pairs: the id
/// of the one participant whose name matches case-insensitively (or whose id it is), or else the
/// name as typed.
pub fn resolve_owner_among(people: &[(String, String)], owner: &str) -> Result<String> {
    let owner = non_empty("owner", owner)?;
    let found: Vec<&(String, String)> = people
        .iter()
        .filter(|(id, name)| name.eq_ignore_ascii_case(&owner) || *id == owner)
        .collect();
    Ok(match found.as_slice() {
        [one] => one.0.clone(),
        _ => owner,
    })
}

/// Check a title, name or other required text typed by a person; returns it trimmed.
pub fn required(what: &str, value: &str) -> Result<String> {
    non_empty(what, value)
}

/// Resolve `prefix` against `ids` for a kind named `noun`.
pub fn resolve_prefix(noun: &'static str, prefix: &str, ids: Vec<String>) -> Result<String> {
    if prefix.is_empty() {
        return Err(Error::Invalid(format!("an empty {noun} id was given")));
    }
    if ids.iter().any(|i| i == prefix) {
        return Ok(prefix.to_string());
    }
    let mut matches: Vec<String> = ids.into_iter().filter(|i| i.starts_with(prefix)).collect();
    match matches.len() {
        0 => Err(Error::UnknownId {
            kind: noun,
            prefix: prefix.to_string(),
        }),
        1 => Ok(matches.remove(0)),
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
        Err(Error::Invalid(format!("the {what} must not be empty")))
    } else {
        Ok(trimmed.to_string())
    }
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
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn now() -> Timestamp {
        Timestamp::from_second(1_795_000_000).unwrap()
    }

    fn pair() -> (Workspace, Workspace) {
        let (mut ana, _) =
            Workspace::create("Ana & Ben", "Ana", Role::Mentor, ActorId::random(), now()).unwrap();
        let mut doc = ana.doc_mut().fork();
        doc.set_actor(ActorId::random());
        let mut ben = Workspace::open(doc, "test", now()).unwrap();
        let actor = ben.doc().get_actor().clone();
        let pid = ben.add_participant("Ben", Role::Mentee, &actor).unwrap();
        ben.act_as(Some(pid));
        ana.doc_mut().merge(ben.doc_mut()).unwrap();
        (ana, ben)
    }

    fn merge_both(a: &mut Workspace, b: &mut Workspace) {
        a.doc_mut().merge(b.doc_mut()).unwrap();
        b.doc_mut().merge(a.doc_mut()).unwrap();
    }

    #[test]
    fn concurrent_field_edits_are_listed_as_conflicts_until_set_again() {
        let (mut ana, mut ben) = pair();
        let goal = ana
            .add_goal(NewGoal {
                title: "Ship it".into(),
                ..Default::default()
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        ana.set_goal(
            &goal,
            GoalChanges {
                status: Some("active".into()),
                ..Default::default()
            },
        )
        .unwrap();
        ben.set_goal(
            &goal,
            GoalChanges {
                status: Some("done".into()),
                ..Default::default()
            },
        )
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let conflicts = ana.conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "status");
        let mut authors: Vec<_> = conflicts[0]
            .values
            .iter()
            .map(|v| v.author.clone())
            .collect();
        authors.sort();
        assert_eq!(authors, ["Ana", "Ben"]);
        assert_eq!(ana.conflicts(), ben.conflicts());
        ana.set_goal(
            &goal,
            GoalChanges {
                status: Some("active".into()),
                ..Default::default()
            },
        )
        .unwrap();
        merge_both(&mut ana, &mut ben);
        assert!(ben.conflicts().is_empty());
        assert_eq!(ben.goal(&goal).unwrap().status, "active");
    }

    #[test]
    fn an_edit_of_an_archived_item_is_kept() {
        let (mut ana, mut ben) = pair();
        let goal = ana
            .add_goal(NewGoal {
                title: "Old".into(),
                ..Default::default()
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        ana.archive(Kind::Goal, &goal).unwrap();
        ben.set_goal(
            &goal,
            GoalChanges {
                title: Some("Renamed".into()),
                ..Default::default()
            },
        )
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let g = ana.goal(&goal).unwrap();
        assert!(g.meta.archived);
        assert_eq!(g.title, "Renamed");
    }

    #[test]
    fn ratings_from_both_people_never_collide() {
        let (mut ana, mut ben) = pair();
        let c = ana.add_checkin("2026-12-01T10:00:00Z", "Kickoff").unwrap();
        merge_both(&mut ana, &mut ben);
        ana.rate_checkin(&c, 4, Some("good")).unwrap();
        ben.rate_checkin(&c, 5, None).unwrap();
        merge_both(&mut ana, &mut ben);
        let ratings = ana.checkin(&c).unwrap().ratings;
        assert_eq!(ratings.len(), 2);
        assert!(ana.rate_checkin(&c, 6, None).is_err());
        assert!(ana.rate_checkin(&c, 0, None).is_err());
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let (mut ana, _) = pair();
        ana.doc_mut().put(ROOT, "schema", 2_i64).unwrap();
        let doc = ana.into_doc();
        let err = Workspace::open(doc, "d", now()).unwrap_err();
        assert!(err.to_string().contains("upgrade tandem"), "{err}");
    }

    #[test]
    fn a_document_that_is_not_a_workspace_is_refused() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "hello", "world").unwrap();
        assert!(matches!(
            Workspace::open(doc, "d", now()),
            Err(Error::NotAWorkspace { .. })
        ));
    }

    #[test]
    fn prefixes_resolve_when_unique_and_list_candidates_when_not() {
        let ids = vec![
            "3fa10000".to_string(),
            "3fb20000".to_string(),
            "a0000000".to_string(),
        ];
        assert_eq!(
            resolve_prefix("goal", "3fa", ids.clone()).unwrap(),
            "3fa10000"
        );
        let err = resolve_prefix("goal", "3f", ids.clone()).unwrap_err();
        assert!(err.to_string().contains("3fa10000, 3fb20000"), "{err}");
        assert!(matches!(
            resolve_prefix("goal", "b", ids),
            Err(Error::UnknownId { .. })
        ));
    }

    #[test]
    fn history_names_the_people_who_made_each_change() {
        let (mut ana, mut ben) = pair();
        ben.add_goal(NewGoal {
            title: "Ben's goal".into(),
            ..Default::default()
        })
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let history = ana.history(None);
        assert_eq!(history[0].author, "Ben");
        assert!(history[0].message.contains("Ben's goal"));
        assert!(history
            .iter()
            .any(|h| h.author == "Ana" && h.message.contains("created workspace")));
    }

    #[test]
    fn an_edit_made_against_an_older_version_keeps_what_arrived_meanwhile() {
        let (mut ana, mut ben) = pair();
        let note = ana
            .add_note(NewNote {
                body: "one two three".into(),
                ..Default::default()
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        let base = ana.doc_mut().get_heads();
        // Ben's edit arrives while Ana's editor is open on "one two three".
        ben.edit_note_body(&note, "zero one two three").unwrap();
        ana.doc_mut().merge(ben.doc_mut()).unwrap();
        ana.edit_since(&base, |ws| ws.edit_note_body(&note, "one two three four"))
            .unwrap();
        assert_eq!(ana.note(&note).unwrap().body, "zero one two three four");
        // The branch's actor is recorded as Ana's device, so history still names her.
        assert!(ana
            .history(Some(3))
            .iter()
            .all(|h| !h.author.starts_with("device")));
    }

    mod convergence {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            AddGoal(String),
            SetStatus(usize, usize),
            Archive(usize),
            EditNote(usize, String),
            AddMilestone(usize),
            AddAction(String),
            Merge(usize, usize),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                "[a-z ]{1,12}".prop_map(Op::AddGoal),
                (0..8usize, 0..4usize).prop_map(|(g, s)| Op::SetStatus(g, s)),
                (0..8usize).prop_map(Op::Archive),
                (0..40usize, "[a-zé☕ ]{0,6}").prop_map(|(p, t)| Op::EditNote(p, t)),
                (0..8usize).prop_map(Op::AddMilestone),
                "[a-z ]{1,12}".prop_map(Op::AddAction),
                (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Merge(a, b)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// Three replicas apply random operations and merge at random; once everyone has
            /// merged everything, all three show the same workspace and nothing added is lost.
            #[test]
            fn replicas_converge_and_lose_nothing(ops in proptest::collection::vec((0..3usize, op()), 1..40)) {
                let (mut a, _) = Workspace::create("P", "Ana", Role::Mentor, ActorId::random(), now()).unwrap();
                let note = a.add_note(NewNote { body: "shared note body".into(), ..Default::default() }).unwrap();
                let mut replicas = vec![a];
                for _ in 0..2 {
                    let mut doc = replicas[0].doc_mut().fork();
                    doc.set_actor(ActorId::random());
                    replicas.push(Workspace::open(doc, "p", now()).unwrap());
                }
                let mut added_goals = 0;
                for (r, op) in ops {
                    let ws = &mut replicas[r];
                    let goals: Vec<String> = ws.goals().into_iter().map(|g| g.id).collect();
                    match op {
                        Op::AddGoal(t) => { ws.add_goal(NewGoal { title: format!("g{t}"), ..Default::default() }).unwrap(); added_goals += 1; }
                        Op::SetStatus(g, s) => if let Some(id) = goals.get(g % goals.len().max(1)) {
                            ws.set_goal(id, GoalChanges { status: Some(GOAL_STATUSES[s].into()), ..Default::default() }).unwrap();
                        },
                        Op::Archive(g) => if let Some(id) = goals.get(g % goals.len().max(1)) { ws.archive(Kind::Goal, id).unwrap(); },
                        Op::EditNote(p, t) => {
                            let body = ws.note(&note).unwrap().body;
                            let mut cut = p.min(body.len());
                            while !body.is_char_boundary(cut) { cut -= 1; }
                            let edited = format!("{}{t}{}", &body[..cut], &body[cut..]);
                            ws.edit_note_body(&note, &edited).unwrap();
                        }
                        Op::AddMilestone(g) => if let Some(id) = goals.get(g % goals.len().max(1)) { ws.add_milestone(id, "m", None).unwrap(); },
                        Op::AddAction(t) => { ws.add_action(NewAction { title: format!("a{t}"), ..Default::default() }).unwrap(); }
                        Op::Merge(x, y) if x != y => {
                            let mut other = replicas[y].doc_mut().fork();
                            replicas[x].doc_mut().merge(&mut other).unwrap();
                        }
                        Op::Merge(..) => {}
                    }
                }
                for x in 0..3 {
                    for y in 0..3 {
                        if x != y {
                            let mut other = replicas[y].doc_mut().fork();
                            replicas[x].doc_mut().merge(&mut other).unwrap();
                        }
                    }
                }
                let first = replicas[0].snapshot("p");
                prop_assert_eq!(first.goals.len(), added_goals);
                for r in &replicas[1..] {
                    prop_assert_eq!(&r.snapshot("p"), &first);
                    prop_assert_eq!(r.conflicts(), replicas[0].conflicts());
                }
            }
        }
    }
}
