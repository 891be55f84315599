//! The read model: what the lists and `show` display (and what `tandem plan` needs of the
//! document but the sections it computes at "now"), kept beside a document so that reading it
//! does not load the document.
//!
//! Read this if a command that only reads got slow, or if you add something those commands show.
//! Loading a workspace costs time and memory in proportion to its whole history (about a second
//! and 200 MB for 10,000 items with 1 MB of notes, and more for a pasted 6 MB note, whose every
//! character is an automerge op). What the read commands show is much smaller: the workspace's
//! [`Snapshot`] (every field cut at `MAX_TEXT_BYTES`), how many fields hold concurrent values and
//! how many changes no relay has confirmed. So that is stored, as JSON cut into small parts under
//! `view/<doc id>/part/<n>`, and described under `view/<doc id>` with the heads of the document it
//! was made from.
//!
//! **Invariant: the read model is a cache, never the truth.** It is used only when the heads it
//! was made from are the heads of the document as stored, which the store knows without loading
//! the document from its tip ([`docstore::stored_heads`]). Anything else — no read model, one that
//! does not decode, one from another format, one made from other heads, a tip that does not
//! describe the chunks on disk — makes [`Home`](crate::store::Home) rebuild it from the document,
//! silently. Nothing ever reads the workspace from the read model in order to change it: commands
//! that write load the document.
//!
//! Who writes it:
//! - every [`Home::save`](crate::store::Home::save) that wrote the document, from the document it
//!   just saved;
//! - the quick path ([`Home::quick_add`](crate::store::Home::quick_add)), which loads nothing: it
//!   records the item it added under `view/<doc id>/added`, a short list of items that a read adds
//!   to the stored snapshot, valid only on top of the read model it started from;
//! - a read that found it missing or stale, after rebuilding it.
//!
//! Saves of other kinds (merging what a relay sent, a version of tandem from before the read
//! model) leave it stale, and the next read rebuilds it.

use crate::model::time::Stored;
use crate::model::{
    Action, CareerStep, CheckIn, Goal, HasMeta, ItemId, Kind, Kudos, Note, Participant, Resource,
    Settings, Snapshot, SurveyAnswer, Workspace,
};
use crate::store::docstore;
use crate::store::{Storage, StorageKey, Write};
use crate::{Error, Result};
use automerge::ChangeHash;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The version of the stored layout; a read model of another version is rebuilt.
const FORMAT: u32 = 2;

/// After this many items added by the quick path, a read folds them into the stored snapshot, so
/// the list that every read applies stays short.
const FOLD_AFTER: usize = 32;

/// The heads a relay was last known to hold, as stored under `ws/<id>/synced/<relay>`: the
/// relay's storage id and the comma-separated change hashes.
pub(crate) type SyncedHeads = Vec<(String, String)>;

/// The read model is stored in parts of at most this many bytes. sled 0.34 keeps a value that
/// makes its leaf too big for a log segment (about 128 KiB) as a blob file of its own, rewrites
/// the whole blob when any key of that leaf changes, and reads blob files when it opens a store:
/// a read model of several megabytes stored whole made every later command slower, even `goal
/// add`. Leaves hold at most 16 keys, so parts this small keep every leaf in the log.
const PART_BYTES: usize = 4096;

/// What is stored under `view/<doc id>`: which read model the parts under
/// `view/<doc id>/part/<n>` hold, so that a stale one is known without reading them.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    /// The heads of the document the read model was made from, as hex change hashes.
    heads: Vec<String>,
    /// How many parts, and how many bytes in all.
    parts: usize,
    bytes: usize,
}

/// The read model itself: the JSON text of this, cut into parts.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// How many fields hold values set concurrently.
    conflicts: usize,
    /// The relays' heads `unsynced` was counted against.
    synced: SyncedHeads,
    /// Changes of the document that no relay is known to hold.
    unsynced: usize,
    /// Keys of each collection that are not items (another client wrote something else there),
    /// so that an id prefix resolves exactly as it does against the document.
    stray: BTreeMap<String, Vec<String>>,
    snapshot: Snapshot,
}

/// What is stored under `view/<doc id>/added`: items the quick path appended after the read
/// model at `base` was written.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Added {
    /// The heads of the read model these items go on top of.
    base: Vec<String>,
    /// The heads of the document after the last of these items.
    heads: Vec<String>,
    /// Each item as its collection's name and its `--json` shape; each was one change.
    items: Vec<(String, serde_json::Value)>,
}

fn view_key(doc_id: &str) -> Result<StorageKey> {
    StorageKey::new(&["view", doc_id])
}

fn part_key(doc_id: &str, n: usize) -> Result<StorageKey> {
    // Zero-padded, so that the parts are listed in order.
    StorageKey::new(&["view", doc_id, "part", &format!("{n:08}")])
}

fn parts_prefix(doc_id: &str) -> Result<Vec<u8>> {
    Ok(StorageKey::new(&["view", doc_id, "part"])?.children())
}

fn added_key(doc_id: &str) -> Result<StorageKey> {
    StorageKey::new(&["view", doc_id, "added"])
}

/// Heads compared as sets: their order says nothing.
fn same_heads(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

/// Everything a read command shows of one workspace (or of its private notes), read from the
/// read model or, when that was not usable, from the document.
///
/// Its methods are named after, and return what, the [`Workspace`] methods of the same names
/// return, so a command that only reads can use either.
#[derive(Debug, Clone)]
pub struct WorkspaceView {
    doc: crate::store::DocRef,
    id: crate::protocol::DocumentId,
    snapshot: Snapshot,
    conflicts: usize,
    unsynced: usize,
    stray: BTreeMap<String, Vec<String>>,
    now: Timestamp,
    names: HashMap<String, String>,
}

/// The plan's derived figures (rhythm, survey due, wins) read from the read model come out as
/// they do from the document.
impl crate::model::PairReader for WorkspaceView {
    fn settings(&self) -> crate::model::Settings {
        self.snapshot.settings
    }
    fn created_at(&self) -> Option<Timestamp> {
        self.snapshot
            .created_at
            .as_ref()
            .and_then(|c| c.valid().copied())
    }
    fn checkins(&self) -> Vec<CheckIn> {
        self.snapshot.checkins.clone()
    }
    fn goals(&self) -> Vec<Goal> {
        self.snapshot.goals.clone()
    }
    fn kudos(&self) -> Vec<crate::model::Kudos> {
        self.snapshot.kudos.clone()
    }
    fn participant(&self, id: &str) -> Option<Participant> {
        self.snapshot
            .participants
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }
    fn surveys(&self) -> Vec<crate::model::SurveyAnswer> {
        self.snapshot.surveys.clone()
    }
}

impl WorkspaceView {
    fn new(doc: crate::store::DocRef, record: Record, now: Timestamp) -> Self {
        let names = record
            .snapshot
            .participants
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        Self {
            id: doc.document_id(),
            doc,
            snapshot: record.snapshot,
            conflicts: record.conflicts,
            unsynced: record.unsynced,
            stray: record.stray,
            now,
            names,
        }
    }

    /// Which document this is.
    pub fn doc(&self) -> &crate::store::DocRef {
        &self.doc
    }

    /// The workspace's document id.
    pub fn id(&self) -> &crate::protocol::DocumentId {
        &self.id
    }

    /// Everything in the workspace, as `export --format json` shows it.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// How many fields hold values two people set concurrently (`tandem conflicts` lists them).
    pub fn conflicts(&self) -> usize {
        self.conflicts
    }

    /// Changes on this device that no relay is known to hold.
    pub fn unsynced_changes(&self) -> usize {
        self.unsynced
    }

    pub fn title(&self) -> String {
        self.snapshot.title.clone()
    }

    pub fn participants(&self) -> Vec<Participant> {
        self.snapshot.participants.clone()
    }

    /// A participant's name, or the id itself for someone unknown.
    pub fn display_name(&self, who: &str) -> String {
        self.names
            .get(who)
            .cloned()
            .unwrap_or_else(|| who.to_string())
    }

    pub fn goals(&self) -> Vec<Goal> {
        self.snapshot.goals.clone()
    }

    pub fn notes(&self) -> Vec<Note> {
        self.snapshot.notes.clone()
    }

    pub fn checkins(&self) -> Vec<CheckIn> {
        self.snapshot.checkins.clone()
    }

    pub fn actions(&self) -> Vec<Action> {
        self.snapshot.actions.clone()
    }

    pub fn resources(&self) -> Vec<Resource> {
        self.snapshot.resources.clone()
    }

    pub fn settings(&self) -> Settings {
        self.snapshot.settings
    }

    pub fn surveys(&self) -> Vec<SurveyAnswer> {
        self.snapshot.surveys.clone()
    }

    pub fn kudos(&self) -> Vec<Kudos> {
        self.snapshot.kudos.clone()
    }

    pub fn career_steps(&self) -> Vec<CareerStep> {
        self.snapshot.career_steps.clone()
    }

    pub fn goal(&self, id: &ItemId) -> Result<Goal> {
        find(&self.snapshot.goals, Kind::Goal, id, |g| &g.id)
    }

    pub fn note(&self, id: &ItemId) -> Result<Note> {
        find(&self.snapshot.notes, Kind::Note, id, |n| &n.id)
    }

    pub fn checkin(&self, id: &ItemId) -> Result<CheckIn> {
        find(&self.snapshot.checkins, Kind::CheckIn, id, |c| &c.id)
    }

    pub fn action(&self, id: &ItemId) -> Result<Action> {
        find(&self.snapshot.actions, Kind::Action, id, |a| &a.id)
    }

    pub fn resource(&self, id: &ItemId) -> Result<Resource> {
        find(&self.snapshot.resources, Kind::Resource, id, |r| &r.id)
    }

    /// Resolve an id or unique id prefix of `kind`, exactly as [`Workspace::resolve`] does.
    pub fn resolve(&self, kind: Kind, prefix: &str) -> Result<ItemId> {
        let prefix = prefix.trim().to_ascii_lowercase();
        let s = &self.snapshot;
        let mut ids: Vec<String> = match kind {
            Kind::Goal => s.goals.iter().map(|i| i.id.to_string()).collect(),
            Kind::Note => s.notes.iter().map(|i| i.id.to_string()).collect(),
            Kind::CheckIn => s.checkins.iter().map(|i| i.id.to_string()).collect(),
            Kind::Action => s.actions.iter().map(|i| i.id.to_string()).collect(),
            Kind::Resource => s.resources.iter().map(|i| i.id.to_string()).collect(),
        };
        ids.extend(
            self.stray
                .get(kind.collection())
                .cloned()
                .unwrap_or_default(),
        );
        crate::model::resolve_prefix(kind.noun(), &prefix, ids)
    }

    /// Today's date in `zone`, as the workspace sees "now".
    pub fn today(&self, zone: &TimeZone) -> jiff::civil::Date {
        crate::model::time::today(self.now, zone)
    }
}

fn find<T: Clone>(items: &[T], kind: Kind, id: &ItemId, key: impl Fn(&T) -> &ItemId) -> Result<T> {
    items
        .iter()
        .find(|i| key(i) == id)
        .cloned()
        .ok_or_else(|| Error::UnknownId {
            kind: kind.noun(),
            prefix: id.to_string(),
        })
}

/// Insert `item` where the document would list it: `items` is sorted by `key`, ids being unique.
fn insert_sorted<T, K: Ord>(items: &mut Vec<T>, item: T, key: impl Fn(&T) -> K) {
    let k = key(&item);
    let at = items.partition_point(|i| key(i) < k);
    items.insert(at, item);
}

/// Add an item the quick path wrote to `snapshot`, in the order the document lists it. `false`
/// when it does not decode as an item of that collection.
fn add_item(snapshot: &mut Snapshot, collection: &str, item: serde_json::Value) -> bool {
    fn decode<T: serde::de::DeserializeOwned>(item: serde_json::Value) -> Option<T> {
        serde_json::from_value(item).ok()
    }
    let Some(kind) = Kind::ALL.into_iter().find(|k| k.collection() == collection) else {
        return false;
    };
    match kind {
        Kind::Goal => {
            decode::<Goal>(item).map(|i| insert_sorted(&mut snapshot.goals, i, by_creation))
        }
        Kind::Note => {
            decode::<Note>(item).map(|i| insert_sorted(&mut snapshot.notes, i, by_creation))
        }
        Kind::CheckIn => {
            decode::<CheckIn>(item).map(|i| insert_sorted(&mut snapshot.checkins, i, by_meeting))
        }
        Kind::Action => {
            decode::<Action>(item).map(|i| insert_sorted(&mut snapshot.actions, i, by_creation))
        }
        Kind::Resource => {
            decode::<Resource>(item).map(|i| insert_sorted(&mut snapshot.resources, i, by_creation))
        }
    }
    .is_some()
}

/// The read model of `ws` (stored as `doc_id`), made from the document itself.
fn record_of(ws: &mut Workspace, doc_id: &str, synced: SyncedHeads, unsynced: usize) -> Record {
    let snapshot = ws.snapshot(doc_id);
    let mut stray = BTreeMap::new();
    for kind in Kind::ALL {
        let Some(coll) =
            crate::model::fields::get_map(ws.doc(), &automerge::ROOT, kind.collection())
        else {
            continue;
        };
        let listed: std::collections::HashSet<&str> = match kind {
            Kind::Goal => snapshot.goals.iter().map(|i| i.id.as_str()).collect(),
            Kind::Note => snapshot.notes.iter().map(|i| i.id.as_str()).collect(),
            Kind::CheckIn => snapshot.checkins.iter().map(|i| i.id.as_str()).collect(),
            Kind::Action => snapshot.actions.iter().map(|i| i.id.as_str()).collect(),
            Kind::Resource => snapshot.resources.iter().map(|i| i.id.as_str()).collect(),
        };
        let others: Vec<String> = crate::model::fields::keys(ws.doc(), &coll)
            .into_iter()
            .filter(|k| !listed.contains(k.as_str()))
            .collect();
        if !others.is_empty() {
            stray.insert(kind.collection().to_string(), others);
        }
    }
    Record {
        conflicts: ws.conflicts().len(),
        synced,
        unsynced,
        stray,
        snapshot,
    }
}

/// Store `record`, made from the document at `heads`, as the read model of `doc_id`, replacing
/// any items the quick path recorded on top of the previous one. Does not flush.
fn store_record(
    store: &dyn Storage,
    doc_id: &str,
    heads: Vec<String>,
    record: &Record,
) -> Result<()> {
    let text = serde_json::to_vec(record).map_err(|source| Error::Encode {
        what: "the read model",
        source,
    })?;
    let parts: Vec<&[u8]> = text.chunks(PART_BYTES).collect();
    let header = Header {
        format: FORMAT,
        heads,
        parts: parts.len(),
        bytes: text.len(),
    };
    let header = serde_json::to_vec(&header).map_err(|source| Error::Encode {
        what: "the read model",
        source,
    })?;
    let mut writes = vec![
        Write::Put(view_key(doc_id)?.into_bytes(), header),
        Write::Delete(added_key(doc_id)?.into_bytes()),
    ];
    // Parts of a longer read model stored before must not linger after these.
    for old in store
        .scan_keys(&parts_prefix(doc_id)?)?
        .into_iter()
        .skip(parts.len())
    {
        writes.push(Write::Delete(old));
    }
    for (n, part) in parts.into_iter().enumerate() {
        writes.push(Write::Put(part_key(doc_id, n)?.into_bytes(), part.to_vec()));
    }
    store.apply(writes)
}

/// The stored read model described by `header`, if its parts are all there and decode.
fn load_record(store: &dyn Storage, doc_id: &str, header: &Header) -> Result<Option<Record>> {
    let parts = store.scan_prefix(&parts_prefix(doc_id)?)?;
    if parts.len() != header.parts {
        return Ok(None);
    }
    let mut text = Vec::with_capacity(header.bytes);
    for (n, (key, part)) in parts.into_iter().enumerate() {
        if key != part_key(doc_id, n)?.into_bytes() {
            return Ok(None);
        }
        text.extend_from_slice(&part);
    }
    if text.len() != header.bytes {
        return Ok(None);
    }
    Ok(serde_json::from_slice(&text).ok())
}

/// Make the read model of `ws` from the document and store it (without flushing), returning the
/// view. `synced` and `unsynced` are what [`Home`](crate::store::Home) counted against the relays.
pub(crate) fn rebuild(
    store: &dyn Storage,
    doc: crate::store::DocRef,
    ws: &mut Workspace,
    synced: SyncedHeads,
    unsynced: usize,
) -> Result<WorkspaceView> {
    let doc_id = doc.to_string();
    let record = record_of(ws, &doc_id, synced, unsynced);
    let heads = hex_heads(&ws.doc_mut().get_heads());
    store_record(store, &doc_id, heads, &record)?;
    Ok(WorkspaceView::new(doc, record, ws.now()))
}

/// Store the read model of a document just saved at `before`'s successors (without flushing).
///
/// A save usually adds one change that touches one item, so when the stored read model was made
/// at `before`, only the items the new changes touched are read again from the document; reading
/// every item (and scanning every field for conflicts) takes about a second on a big workspace.
/// Anything this cannot follow with certainty — changes to participants or the workspace itself,
/// something that is not an item, an item hidden by a conflict — rebuilds the read model whole.
pub(crate) fn saved(
    store: &dyn Storage,
    doc: crate::store::DocRef,
    ws: &mut Workspace,
    before: &[ChangeHash],
    synced: SyncedHeads,
    unsynced: usize,
) -> Result<()> {
    let doc_id = doc.to_string();
    let record = match followed(store, &doc_id, ws, before)? {
        Some(mut record) => {
            record.synced = synced;
            record.unsynced = unsynced;
            record
        }
        None => record_of(ws, &doc_id, synced, unsynced),
    };
    let heads = hex_heads(&ws.doc_mut().get_heads());
    store_record(store, &doc_id, heads, &record)
}

/// The stored read model made at `before`, brought up to the document's heads by reading again
/// the items the changes since touched; `None` when it cannot be.
fn followed(
    store: &dyn Storage,
    doc_id: &str,
    ws: &mut Workspace,
    before: &[ChangeHash],
) -> Result<Option<Record>> {
    use automerge::legacy::{Key, ObjectId};
    use automerge::{Prop, ReadDoc};
    let Some(header) = store
        .get(&view_key(doc_id)?)?
        .and_then(|bytes| serde_json::from_slice::<Header>(&bytes).ok())
        .filter(|h| h.format == FORMAT)
    else {
        return Ok(None);
    };
    let added = store
        .get(&added_key(doc_id)?)?
        .and_then(|bytes| serde_json::from_slice::<Added>(&bytes).ok())
        .filter(|a| same_heads(&a.base, &header.heads));
    let at = added.as_ref().map_or(&header.heads, |a| &a.heads);
    if before.is_empty() || !same_heads(at, &hex_heads(before)) {
        return Ok(None);
    }
    let Some(mut record) = load_record(store, doc_id, &header)? else {
        return Ok(None);
    };
    for (collection, item) in added.map(|a| a.items).unwrap_or_default() {
        if !add_item(&mut record.snapshot, &collection, item) {
            return Ok(None);
        }
    }
    let me = ws.doc().get_actor().clone();
    let changes = ws.doc_mut().get_changes(before);
    // Changes this device made one after the other on top of `before` overwrite what they set,
    // so they can settle conflicts but never make one.
    let mut local = true;
    let mut parent: Vec<ChangeHash> = before.to_vec();
    parent.sort();
    let mut touched = std::collections::BTreeSet::new();
    for change in &changes {
        let mut deps = change.deps().to_vec();
        deps.sort();
        local &= *change.actor_id() == me && deps == parent;
        parent = vec![change.hash()];
        for op in change.decode().operations {
            let ObjectId::Id(obj) = &op.obj else {
                return Ok(None);
            };
            let Ok(obj) = ws.doc().import_obj(&obj.to_string()) else {
                return Ok(None);
            };
            let Some(path) = ws.doc().parents(&obj).ok().and_then(|p| p.visible_path()) else {
                return Ok(None);
            };
            // The path runs from the root: the collection, then the item, then inside it.
            let item = match (path.first(), path.get(1), &op.key) {
                (Some((_, Prop::Map(c))), Some((_, Prop::Map(id))), _) => (c.clone(), id.clone()),
                (Some((_, Prop::Map(c))), None, Key::Map(id)) => (c.clone(), id.to_string()),
                _ => return Ok(None),
            };
            touched.insert(item);
        }
    }
    for (collection, id) in touched {
        let Some(kind) = Kind::ALL.into_iter().find(|k| k.collection() == collection) else {
            return Ok(None);
        };
        let id = ItemId::from_stored(id);
        let s = &mut record.snapshot;
        let reread = match kind {
            Kind::Goal => ws.goal(&id).map(|i| replace(&mut s.goals, i, by_creation)),
            Kind::Note => ws.note(&id).map(|i| replace(&mut s.notes, i, by_creation)),
            Kind::CheckIn => ws
                .checkin(&id)
                .map(|i| replace(&mut s.checkins, i, by_meeting)),
            Kind::Action => ws
                .action(&id)
                .map(|i| replace(&mut s.actions, i, by_creation)),
            Kind::Resource => ws
                .resource(&id)
                .map(|i| replace(&mut s.resources, i, by_creation)),
        };
        // Not an item any more, or not yet: only a whole rebuild gets the strays right.
        if reread.is_err() {
            return Ok(None);
        }
    }
    if !(local && record.conflicts == 0) {
        record.conflicts = ws.conflicts().len();
    }
    Ok(Some(record))
}

/// Replace (or add) an item in its collection, where the document lists it.
fn replace<T: HasMeta, K: Ord>(items: &mut Vec<T>, item: T, order: impl Fn(&T) -> K) {
    items.retain(|i| i.id() != item.id());
    insert_sorted(items, item, order);
}

/// The order of every collection but check-ins: oldest first, by creation and then id.
fn by_creation<T: HasMeta>(item: &T) -> (Option<Stored<Timestamp>>, String) {
    (item.meta().created_at.clone(), item.id().to_string())
}

/// The order of check-ins: by meeting time, then id (see `Workspace::checkins`).
fn by_meeting(checkin: &CheckIn) -> (Stored<Timestamp>, String) {
    (checkin.at.clone(), checkin.id.to_string())
}

/// The view of `doc` from its read model, if that is usable: made from the heads the document is
/// stored at, by this format, and counted against the relays' heads `synced` (or some relay holds
/// everything). `None` means: rebuild it from the document.
pub(crate) fn load(
    store: &dyn Storage,
    doc: crate::store::DocRef,
    synced: &SyncedHeads,
    now: Timestamp,
) -> Result<Option<WorkspaceView>> {
    let doc_id = doc.to_string();
    let Some(heads) = docstore::stored_heads(store, &doc_id)? else {
        return Ok(None);
    };
    let Some(header) = store
        .get(&view_key(&doc_id)?)?
        .and_then(|bytes| serde_json::from_slice::<Header>(&bytes).ok())
        .filter(|h| h.format == FORMAT)
    else {
        return Ok(None);
    };
    let added = store
        .get(&added_key(&doc_id)?)?
        .and_then(|bytes| serde_json::from_slice::<Added>(&bytes).ok())
        .filter(|a| same_heads(&a.base, &header.heads));
    // Whether the heads are the document's is known before the parts are read.
    let at = added.as_ref().map_or(&header.heads, |a| &a.heads);
    if !same_heads(at, &heads) {
        return Ok(None);
    }
    let Some(mut record) = load_record(store, &doc_id, &header)? else {
        return Ok(None);
    };
    let mut rewrite = added.as_ref().is_some_and(|a| a.items.len() >= FOLD_AFTER);
    if let Some(added) = added {
        for (collection, item) in added.items {
            if !add_item(&mut record.snapshot, &collection, item) {
                return Ok(None);
            }
            // Each item was one change of this device, which no relay can hold yet.
            record.unsynced += 1;
        }
    }
    if record.synced != *synced {
        // A sync since: when a relay now holds everything, nothing is unsynced; otherwise only
        // the document can tell.
        let everything = synced.iter().any(|(_, h)| {
            let held: Vec<String> = h
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            same_heads(&held, &heads)
        });
        if !everything {
            return Ok(None);
        }
        record.synced = synced.clone();
        record.unsynced = 0;
        rewrite = true;
    }
    if rewrite {
        store_record(store, &doc_id, heads, &record)?;
    }
    Ok(Some(WorkspaceView::new(doc, record, now)))
}

/// Record an item the quick path appended as one change, taking the document from heads `from`
/// to `to` (without flushing). `item` is the item's `--json` shape.
pub(crate) fn quick_added(
    store: &dyn Storage,
    doc_id: &str,
    from: &[String],
    to: &[String],
    kind: Kind,
    item: &serde_json::Value,
) -> Result<()> {
    let key = added_key(doc_id)?;
    let mut added = store
        .get(&key)?
        .and_then(|bytes| serde_json::from_slice::<Added>(&bytes).ok())
        .filter(|a| same_heads(&a.heads, from))
        // Without a list that ends where this change starts, a new one starts here; a read uses
        // it only if the read model was made at exactly these heads.
        .unwrap_or_else(|| Added {
            base: from.to_vec(),
            ..Default::default()
        });
    added.heads = to.to_vec();
    added
        .items
        .push((kind.collection().to_string(), item.clone()));
    let value = serde_json::to_vec(&added).map_err(|source| Error::Encode {
        what: "the read model",
        source,
    })?;
    store.put(&key, &value)
}

#[cfg(test)]
mod tests;
