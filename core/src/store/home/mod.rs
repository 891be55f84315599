//! A device's tandem home: its workspaces, its identity, and what it has not yet shared.
//!
//! Read this to see how the CLI's commands reach the store. A home is one [`Storage`]; in it live
//! the workspace documents (see [`crate::store::docstore`]) and a little local bookkeeping under
//! `home/` and `ws/<id>/`: this device's automerge actor id, the current workspace, which
//! participant this device is in each workspace, the id of each workspace's private notes document,
//! and the heads a relay has acknowledged. None of the bookkeeping is ever synced. What concerns
//! relays (where a workspace syncs, sync states, the heads each relay holds, merging what a relay
//! sent) is in `sync_records.rs`.
//!
//! **Invariant:** every public method that changes something has flushed it before it returns
//! `Ok`, so a command that reports success has made its change durable.

mod sync_records;

pub use sync_records::{RedeemedInvite, RelaySettings};

use crate::model::draft::Draft;
use crate::model::{Role, Workspace};
use crate::protocol::DocumentId;
use crate::store::docstore::{self, DocState};
use crate::store::quick::{ObjRef, QuickContext};
use crate::store::read_model::{self, WorkspaceView};
use crate::store::Bundle;
use crate::store::{DocRef, Storage, StorageKey};
use crate::{Error, Result};
use automerge::{ActorId, AutoCommit};
use jiff::Timestamp;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// Writes a document id in its text form, so the JSON shows the same string `-w` accepts.
fn id_as_text<S: Serializer>(
    id: &DocumentId,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

/// A workspace as listed by `tandem workspaces`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkspaceInfo {
    #[serde(serialize_with = "id_as_text")]
    pub id: DocumentId,
    /// The `automerge:` URL any automerge-repo client can open on a relay.
    pub url: String,
    pub title: String,
    pub current: bool,
    /// This device's participant in the workspace, if it has joined.
    pub participant: Option<String>,
}

/// A workspace document (or a workspace's private notes) opened for reading or writing.
#[derive(Debug)]
pub struct Opened {
    /// Which document this is.
    pub doc: DocRef,
    /// The document's id.
    id: DocumentId,
    /// The id the document is stored under (`doc` as text), kept so it is written once.
    key: String,
    /// The document, wrapped in the mentoring model.
    pub ws: Workspace,
    state: DocState,
}

/// What importing a bundle did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImportReport {
    #[serde(serialize_with = "id_as_text")]
    pub workspace: DocumentId,
    pub title: String,
    /// Changes in the bundle this home did not have.
    pub new_changes: usize,
    /// Whether the workspace was new to this home.
    pub created: bool,
    /// The participant this device joined as, when it joined.
    pub joined_as: Option<String>,
}

/// A device's home: one store, one actor id.
#[derive(Clone)]
pub struct Home {
    store: Arc<dyn Storage>,
    actor: ActorId,
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Home").field("actor", &self.actor).finish()
    }
}

/// The key of the home's bookkeeping under `parts`; a part that came from elsewhere (a workspace
/// id in a bundle, a relay's storage id) is refused if it could reach into other keys.
fn key(parts: &[&str]) -> Result<StorageKey> {
    StorageKey::new(parts)
}

fn get_text(store: &dyn Storage, k: &[u8]) -> Result<Option<String>> {
    Ok(store
        .get(k)?
        .map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// The key under which a home records which participant this device is in `workspace` (the
/// workspace's id as stored).
fn me_key(workspace: &str) -> Result<StorageKey> {
    key(&["ws", workspace, "me"])
}

/// A new automerge-repo document id: base58check of 16 random bytes.
pub fn new_document_id() -> String {
    crate::protocol::ids::DocumentId::random().to_string()
}

impl Opened {
    fn new(doc: DocRef, ws: Workspace, state: DocState) -> Self {
        Self {
            id: doc.document_id(),
            key: doc.to_string(),
            doc,
            ws,
            state,
        }
    }

    /// The id the document is stored under: the workspace's document id, which is also what
    /// `tandem workspaces` shows and `-w` accepts.
    pub fn id(&self) -> &DocumentId {
        &self.id
    }
}

impl Home {
    /// Open a home on `store`, creating this device's actor id on first use.
    pub fn open(store: Arc<dyn Storage>) -> Result<Self> {
        let actor = match store.get(&key(&["home", "actor"])?)? {
            Some(bytes) => ActorId::from(bytes),
            None => {
                let actor = ActorId::random();
                store.put(&key(&["home", "actor"])?, actor.to_bytes())?;
                store.flush()?;
                actor
            }
        };
        Ok(Self { store, actor })
    }

    /// The store under this home.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// This device's automerge actor id.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Create a workspace, make it current, and store it.
    pub fn create_workspace(
        &self,
        title: &str,
        name: &str,
        role: Role,
        now: Timestamp,
    ) -> Result<Opened> {
        let (ws, pid) = Workspace::create(title, name, role, self.actor.clone(), now)?;
        let doc_ref = DocRef::Workspace(crate::protocol::DocumentId::random());
        let mut opened = Opened::new(doc_ref, ws, DocState::new());
        let id = opened.key.clone();
        self.store.put(&me_key(&id)?, pid.as_bytes())?;
        self.store.put(&key(&["home", "current"])?, id.as_bytes())?;
        self.save(&mut opened)?;
        Ok(opened)
    }

    /// Every workspace in this home, by title.
    pub fn workspaces(&self) -> Result<Vec<WorkspaceInfo>> {
        let current = get_text(self.store.as_ref(), &key(&["home", "current"])?)?;
        // The id is parsed once here, where it leaves the store's listing; keys that are not a
        // workspace's document id (private notes, anything else) are not workspaces.
        let mut ids: Vec<(String, DocumentId)> = Vec::new();
        for (k, _) in self.store.scan_prefix(&key(&["ws"])?.children())? {
            let k = String::from_utf8_lossy(&k);
            let Some(text) = k.split('/').nth(1) else {
                continue;
            };
            if ids.last().map(|(t, _)| t.as_str()) == Some(text) {
                continue;
            }
            if let Some(DocRef::Workspace(id)) = DocRef::from_stored(text) {
                ids.push((text.to_string(), id));
            }
        }
        ids.dedup();
        let mut out = Vec::new();
        for (text, id) in ids {
            out.push(WorkspaceInfo {
                url: format!("automerge:{text}"),
                title: get_text(self.store.as_ref(), &key(&["ws", &text, "title"])?)?
                    .unwrap_or_default(),
                current: current.as_deref() == Some(text.as_str()),
                participant: self.stored_me(&text)?,
                id,
            });
        }
        out.sort_by_key(|w| w.title.to_lowercase());
        Ok(out)
    }

    /// Find a workspace by id, `automerge:` URL, title, id prefix or title prefix (titles in any
    /// case); `None` means the current one. An exact id, then an exact title, wins over prefixes;
    /// a selector that matches several workspaces is an error that lists them.
    pub fn resolve(&self, selector: Option<&str>) -> Result<DocumentId> {
        let all = self.workspaces()?;
        let Some(selector) = selector else {
            if let Some(current) = all.iter().find(|w| w.current) {
                return Ok(current.id);
            }
            return match all.as_slice() {
                [] => Err(Error::NoWorkspace),
                [only] => Ok(only.id),
                _ => Err(Error::Invalid(
                    "several workspaces and none is current: choose one with `tandem switch`"
                        .into(),
                )),
            };
        };
        let sel = selector.trim();
        let sel = sel.strip_prefix("automerge:").unwrap_or(sel);
        if let Some(w) = all.iter().find(|w| w.id.to_string() == sel) {
            return Ok(w.id);
        }
        let lower = sel.to_lowercase();
        let by_title: Vec<&WorkspaceInfo> = all
            .iter()
            .filter(|w| w.title.to_lowercase() == lower)
            .collect();
        let matches = if by_title.is_empty() {
            all.iter()
                .filter(|w| {
                    !sel.is_empty()
                        && (w.id.to_string().starts_with(sel)
                            || w.title.to_lowercase().starts_with(&lower))
                })
                .collect()
        } else {
            by_title
        };
        match matches.as_slice() {
            [one] => Ok(one.id),
            [] => Err(Error::UnknownWorkspace(selector.to_string())),
            several => Err(Error::AmbiguousWorkspace {
                prefix: selector.to_string(),
                candidates: several
                    .iter()
                    .map(|w| format!("{} ({})", w.title, w.id))
                    .collect(),
            }),
        }
    }

    /// Make a workspace the current one.
    pub fn switch(&self, selector: &str) -> Result<DocumentId> {
        let id = self.resolve(Some(selector))?;
        self.store
            .put(&key(&["home", "current"])?, id.to_string().as_bytes())?;
        self.store.flush()?;
        Ok(id)
    }

    /// Open a workspace of this home.
    pub fn open_workspace(&self, id: &DocumentId, now: Timestamp) -> Result<Opened> {
        let doc_ref = DocRef::Workspace(*id);
        let id = doc_ref.to_string();
        let unknown = || Error::UnknownWorkspace(id.clone());
        let (doc, state) = docstore::load(self.store.as_ref(), &id)?.ok_or_else(unknown)?;
        let mut ws = Workspace::open(doc, &id, now)?;
        ws.set_actor(self.actor.clone());
        ws.act_as(self.stored_me(&id)?);
        Ok(Opened::new(doc_ref, ws, state))
    }

    /// Store whatever changed in `opened` and flush it.
    pub fn save(&self, opened: &mut Opened) -> Result<()> {
        let removed = !opened.doc.is_private()
            && opened
                .ws
                .me()
                .and_then(|me| opened.ws.participant(me))
                .is_some_and(|p| p.is_removed());
        if !opened.doc.is_private() && (removed || self.is_read_only(&opened.id)?) {
            let saved = opened.state.saved_heads().to_vec();
            // This device's changes, made as itself or as a stand-in (see `Workspace::set_actor`).
            let stand_in = opened.ws.actor().clone();
            let mine = opened
                .ws
                .doc_mut()
                .get_changes_meta(&saved)
                .iter()
                .any(|c| *c.actor == self.actor || *c.actor == stand_in);
            if mine && removed {
                return Err(Error::Invalid(format!(
                    "a mentor removed you from “{}”: this device can no longer change it",
                    opened.ws.title()
                )));
            }
            if mine {
                return Err(Error::ReadOnly {
                    title: opened.ws.title(),
                });
            }
        }
        let before = opened.state.saved_heads().to_vec();
        let doc = opened.ws.doc_mut();
        let wrote = docstore::save(self.store.as_ref(), &opened.key, doc, &mut opened.state)?;
        if wrote {
            // The next read finds what it shows ready, made from the document just saved.
            self.store_view(opened, &before)?;
        }
        if opened.doc.is_private() {
            // Private notes are bookkept under their workspace, never as a workspace of their own.
            return self.store.flush();
        }
        self.refresh_quick_caches(&opened.key, &opened.ws)?;
        let title_key = key(&["ws", &opened.key, "title"])?;
        let title = opened.ws.title();
        if wrote || get_text(self.store.as_ref(), &title_key)?.as_deref() != Some(title.as_str()) {
            self.store.put(&title_key, title.as_bytes())?;
        }
        self.store.flush()
    }

    /// What the read commands show of a workspace: from its read model when that was made from
    /// the document as stored, else from the document, after which the read model is rebuilt
    /// (see [`crate::store::read_model`]). Either way the answer is the same.
    pub fn view_workspace(&self, id: &DocumentId, now: Timestamp) -> Result<WorkspaceView> {
        let doc = DocRef::Workspace(*id);
        let synced = self.synced_records(id)?;
        if let Some(view) = read_model::load(self.store.as_ref(), doc, &synced, now)? {
            // A read that folded quick additions in or followed a sync rewrote the read model.
            self.store.flush()?;
            return Ok(view);
        }
        let mut opened = self.open_workspace(id, now)?;
        self.rebuild_view(&mut opened, synced)
    }

    /// What the read commands show of a workspace's private notes, if it has any (see
    /// [`Home::view_workspace`]).
    pub fn view_private(
        &self,
        workspace: &DocumentId,
        now: Timestamp,
    ) -> Result<Option<WorkspaceView>> {
        let pointer = key(&["ws", &workspace.to_string(), "private"])?;
        let Some(doc) = get_text(self.store.as_ref(), &pointer)?
            .as_deref()
            .and_then(DocRef::from_stored)
        else {
            return Ok(None);
        };
        if let Some(view) = read_model::load(self.store.as_ref(), doc, &Vec::new(), now)? {
            self.store.flush()?;
            return Ok(Some(view));
        }
        let id = doc.to_string();
        let Some((loaded, state)) = docstore::load(self.store.as_ref(), &id)? else {
            return Ok(None);
        };
        let mut ws = Workspace::open(loaded, &id, now)?;
        ws.doc_mut().set_actor(self.actor.clone());
        let mut opened = Opened::new(doc, ws, state);
        self.rebuild_view(&mut opened, Vec::new()).map(Some)
    }

    /// Make the read model of `opened` from the document, store and flush it.
    fn rebuild_view(
        &self,
        opened: &mut Opened,
        synced: read_model::SyncedHeads,
    ) -> Result<WorkspaceView> {
        let unsynced = if opened.doc.is_private() {
            0
        } else {
            self.unsynced_changes(opened)?
        };
        let view = read_model::rebuild(
            self.store.as_ref(),
            opened.doc,
            &mut opened.ws,
            synced,
            unsynced,
        )?;
        self.store.flush()?;
        Ok(view)
    }

    /// Store the read model of a document just saved, which was stored at `before`. Does not
    /// flush.
    fn store_view(&self, opened: &mut Opened, before: &[automerge::ChangeHash]) -> Result<()> {
        let (synced, unsynced) = if opened.doc.is_private() {
            (Vec::new(), 0)
        } else {
            (
                self.synced_records(&opened.id)?,
                self.unsynced_changes(opened)?,
            )
        };
        read_model::saved(
            self.store.as_ref(),
            opened.doc,
            &mut opened.ws,
            before,
            synced,
            unsynced,
        )
    }

    /// Keep what [`Home::quick_add`] needs beside the document: the ids of the collection
    /// maps and who the participants are. Written only when it changed. Does not flush.
    fn refresh_quick_caches(&self, id: &str, ws: &Workspace) -> Result<()> {
        let layout: std::collections::BTreeMap<&str, ObjRef> = crate::model::Kind::ALL
            .iter()
            .filter_map(|k| {
                let obj =
                    crate::model::fields::get_map(ws.doc(), &automerge::ROOT, k.collection())?;
                Some((k.collection(), ObjRef::from_exid(&obj)?))
            })
            .collect();
        let people: Vec<(String, String)> = ws
            .participants()
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        for (name, value) in [
            ("layout", serde_json::to_vec(&layout)),
            ("people", serde_json::to_vec(&people)),
        ] {
            let value = value.map_err(|source| Error::Encode {
                what: "the quick path's layout",
                source,
            })?;
            let k = key(&["ws", id, name])?;
            if self.store.get(&k)?.as_deref() != Some(value.as_slice()) {
                self.store.put(&k, &value)?;
            }
        }
        // Whether a mentor removed this device's participant: the quick path then steps aside,
        // so that the ordinary path refuses the change (see `save`). It steps aside too while the
        // workspace refuses a removed participant's changes, since it would build on the stored
        // heads, refused changes included, where the ordinary path builds on the view.
        let me = self.stored_me(id)?;
        let removed = me
            .and_then(|me| ws.participant(&me))
            .is_some_and(|p| p.is_removed())
            || ws.refused_changes() > 0;
        let k = key(&["ws", id, "removed"])?;
        match (removed, self.store.get(&k)?.is_some()) {
            (true, false) => self.store.put(&k, b"1")?,
            (false, true) => self.store.delete(&k)?,
            _ => {}
        }
        Ok(())
    }

    /// Add an item without loading the workspace (see [`crate::store::quick`]). `draft` validates
    /// the input against the participants and describes the item. Returns the item as `--json`
    /// shows it, or `None`, having changed nothing, when the quick path does not apply; the caller
    /// then loads the workspace and adds the item the ordinary way.
    pub fn quick_add(
        &self,
        workspace: &DocumentId,
        now: Timestamp,
        draft: impl FnOnce(&[(String, String)]) -> Result<Draft>,
    ) -> Result<Option<serde_json::Value>> {
        let read_only = self.is_read_only(workspace)?;
        let workspace = &workspace.to_string();
        let people: Option<Vec<(String, String)>> = self
            .store
            .get(&key(&["ws", workspace, "people"])?)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(people) = people else {
            return Ok(None);
        };
        // Input errors are reported even when the quick path would not apply.
        let draft = draft(&people)?;
        if read_only
            || self
                .store
                .get(&key(&["ws", workspace, "removed"])?)?
                .is_some()
        {
            return Ok(None);
        }
        let layout: Option<std::collections::BTreeMap<String, ObjRef>> = self
            .store
            .get(&key(&["ws", workspace, "layout"])?)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let tip = docstore::load_tip(self.store.as_ref(), workspace)?;
        let (Some(tip), Some(collection)) = (
            tip,
            layout.and_then(|l| l.get(draft.kind.collection()).cloned()),
        ) else {
            return Ok(None);
        };
        let me = self.stored_me(workspace)?;
        let ctx = QuickContext {
            tip,
            actor: self.actor.clone(),
            collection,
            me: me.clone(),
            time: now.as_second(),
            stamp: crate::model::time::format_instant(now),
        };
        let Some(mut change) = crate::store::quick::item_change(&ctx, &draft) else {
            return Ok(None);
        };
        let item = Workspace::preview(&draft, &people, me, now)?;
        if !docstore::append(self.store.as_ref(), workspace, &ctx.tip, &mut change)? {
            return Ok(None);
        }
        // The read model follows without loading anything: the item is exactly what a read of the
        // document would show (the tests of `quick_add` check that).
        read_model::quick_added(
            self.store.as_ref(),
            workspace,
            &ctx.tip.heads,
            &[change.hash().to_string()],
            draft.kind,
            &item,
        )?;
        self.store.flush()?;
        Ok(Some(item))
    }

    /// The private notes document of a workspace, created on first use. It is stored like any
    /// document but never listed as a workspace and never synced.
    pub fn open_private(&self, workspace: &DocumentId, now: Timestamp) -> Result<Opened> {
        let workspace = &workspace.to_string();
        let pointer = key(&["ws", workspace, "private"])?;
        let me = self.stored_me(workspace)?;
        let stored = get_text(self.store.as_ref(), &pointer)?;
        if let Some(doc_ref) = stored.as_deref().and_then(DocRef::from_stored) {
            let id = doc_ref.to_string();
            if let Some((doc, state)) = docstore::load(self.store.as_ref(), &id)? {
                let mut ws = Workspace::open(doc, &id, now)?;
                ws.set_actor(self.actor.clone());
                ws.act_as(me);
                return Ok(Opened::new(doc_ref, ws, state));
            }
        }
        let doc_ref = DocRef::Private(crate::protocol::DocumentId::random());
        let mut ws = Workspace::create_private(self.actor.clone(), now)?;
        ws.act_as(me);
        let mut opened = Opened::new(doc_ref, ws, DocState::new());
        self.store.put(&pointer, opened.key.as_bytes())?;
        // The pointer and the document land in the same flush, in `save`.
        let doc = opened.ws.doc_mut();
        docstore::save(self.store.as_ref(), &opened.key, doc, &mut opened.state)?;
        self.store.flush()?;
        Ok(opened)
    }

    /// Whether a workspace has private notes, without creating them.
    pub fn has_private(&self, workspace: &DocumentId) -> Result<bool> {
        Ok(self
            .store
            .get(&key(&["ws", &workspace.to_string(), "private"])?)?
            .is_some())
    }

    /// A bundle holding everything in the workspace.
    pub fn export_bundle(&self, id: &DocumentId, now: Timestamp) -> Result<Bundle> {
        let mut opened = self.open_workspace(id, now)?;
        Ok(Bundle {
            workspace: id.to_string(),
            title: opened.ws.title(),
            exported_at: crate::model::time::format_instant(now),
            doc: opened.ws.doc_mut().save(),
        })
    }

    /// Merge a bundle into this home. A workspace new to this home is joined as `join` (name and
    /// role); a participant of that name already in the workspace gains this device instead of a
    /// second identity.
    pub fn import_bundle(
        &self,
        bundle: &Bundle,
        join: Option<(&str, Role)>,
        now: Timestamp,
    ) -> Result<ImportReport> {
        let mut incoming = AutoCommit::load(&bundle.doc)
            .map_err(|e| Error::BadBundle(format!("its document does not load ({e})")))?;
        // Validate before touching the store, so a foreign or too-new document changes nothing.
        crate::model::check_schema(&incoming, &bundle.workspace)?;
        if DocRef::from_stored(&bundle.workspace).is_some_and(|d| d.is_private()) {
            return Err(Error::BadBundle(
                "it holds private notes, which are never shared".into(),
            ));
        }
        // The id is parsed once here, where it enters from the bundle. `Bundle::from_bytes`
        // accepts only document ids, and private notes were refused above.
        let Some(DocRef::Workspace(workspace)) = DocRef::from_stored(&bundle.workspace) else {
            return Err(Error::BadBundle(
                "its workspace id is not a document id".into(),
            ));
        };
        let exists = docstore::load(self.store.as_ref(), &bundle.workspace)?.is_some();
        let (mut opened, created, new_changes) = if exists {
            let mut opened = self.open_workspace(&workspace, now)?;
            // Counted as "in the bundle but not here"; `get_changes(heads)` would count everything
            // whenever this home has heads the bundle lacks.
            let new_changes = opened.ws.doc_mut().get_changes_added(&mut incoming).len();
            opened.ws.doc_mut().merge(&mut incoming)?;
            (opened, false, new_changes)
        } else {
            match join {
                Some((name, _)) if !name.trim().is_empty() => {}
                Some(_) => return Err(Error::Invalid("the name must not be empty".into())),
                None => {
                    return Err(Error::Invalid(format!(
                    "this home does not have workspace “{}” yet: give --name and --role to join it",
                    bundle.title
                )))
                }
            }
            let new_changes = incoming.get_changes_meta(&[]).len();
            incoming.set_actor(self.actor.clone());
            let ws = Workspace::open(incoming, &bundle.workspace, now)?;
            let opened = Opened::new(DocRef::Workspace(workspace), ws, DocState::new());
            (opened, true, new_changes)
        };
        let mut joined_as = None;
        if created {
            let (name, role) = join.expect("checked above");
            let existing = opened
                .ws
                .participants()
                .into_iter()
                .find(|p| p.name.eq_ignore_ascii_case(name.trim()));
            let pid = match existing {
                Some(p) => {
                    opened.ws.add_device(&p.id, &self.actor)?;
                    p.id
                }
                None => opened.ws.add_participant(name, role, &self.actor)?,
            };
            self.store.put(&me_key(&opened.key)?, pid.as_bytes())?;
            if get_text(self.store.as_ref(), &key(&["home", "current"])?)?.is_none() {
                self.store
                    .put(&key(&["home", "current"])?, opened.key.as_bytes())?;
            }
            opened.ws.act_as(Some(pid.clone()));
            joined_as = Some(pid);
        }
        self.save(&mut opened)?;
        Ok(ImportReport {
            workspace: opened.id,
            title: opened.ws.title(),
            new_changes,
            created,
            joined_as,
        })
    }

    /// Which participant this device is in a workspace, if it has joined as someone.
    pub fn me(&self, workspace: &DocumentId) -> Result<Option<String>> {
        self.stored_me(&workspace.to_string())
    }

    /// [`Home::me`] for a workspace id as stored, which is what most of this file holds.
    fn stored_me(&self, workspace: &str) -> Result<Option<String>> {
        get_text(self.store.as_ref(), &me_key(workspace)?)
    }

    /// Record which participant this device is in a workspace (after joining it).
    pub fn set_me(&self, workspace: &DocumentId, participant: &str) -> Result<()> {
        let workspace = &workspace.to_string();
        self.store
            .put(&me_key(workspace)?, participant.as_bytes())?;
        if get_text(self.store.as_ref(), &key(&["home", "current"])?)?.is_none() {
            self.store
                .put(&key(&["home", "current"])?, workspace.as_bytes())?;
        }
        self.store.flush()
    }

    /// Mark a workspace as followed read-only (an observer's), or not.
    pub fn set_read_only(&self, workspace: &DocumentId, read_only: bool) -> Result<()> {
        let k = key(&["ws", &workspace.to_string(), "read-only"])?;
        if read_only {
            self.store.put(&k, b"1")?;
        } else {
            self.store.delete(&k)?;
        }
        self.store.flush()
    }

    /// Whether this device follows the workspace read-only; such a workspace refuses local
    /// changes, since the relay would refuse them anyway and they could never be shared.
    pub fn is_read_only(&self, workspace: &DocumentId) -> Result<bool> {
        Ok(self
            .store
            .get(&key(&["ws", &workspace.to_string(), "read-only"])?)?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GoalChanges, GoalStatus, Kind, NewGoal, NewNote};
    use crate::store::MemoryStorage;

    fn now() -> Timestamp {
        Timestamp::from_second(1_795_000_000).unwrap()
    }

    /// A home with a workspace big enough that an added goal is appended, not compacted.
    fn home_with_workspace() -> (Home, DocumentId) {
        let home = Home::open(Arc::new(MemoryStorage::default())).unwrap();
        let mut opened = home
            .create_workspace("Ana & Ben", "Ana", Role::Mentor, now())
            .unwrap();
        opened
            .ws
            .add_note(NewNote {
                // Varied text, so the compressed snapshot really is bigger than a kilobyte.
                body: (0..3000)
                    .map(|i| format!("{} ", i * 7919 % 100_003))
                    .collect(),
                ..Default::default()
            })
            .unwrap();
        home.save(&mut opened).unwrap();
        (home, opened.id)
    }

    fn quick_goal(home: &Home, id: &DocumentId, title: &str) -> Option<crate::model::Goal> {
        let goal = new_goal(title);
        let json = home
            .quick_add(id, now(), |people| Draft::goal(&goal, people))
            .unwrap()?;
        let goal: crate::model::Goal = serde_json::from_value(json).unwrap();
        Some(goal)
    }

    fn new_goal(title: &str) -> NewGoal {
        NewGoal {
            title: title.into(),
            description: Some("why it matters: café ☕ e\u{301}".into()),
            due: Some(jiff::civil::date(2026, 12, 31)),
            owner: Some("ana".into()),
        }
    }

    #[test]
    fn a_quick_goal_is_the_goal_the_ordinary_path_makes() {
        let (home, id) = home_with_workspace();
        let quick = quick_goal(&home, &id, "Ship it ✓").expect("the quick path applies");
        let mut opened = home.open_workspace(&id, now()).unwrap();
        assert_eq!(opened.ws.goal(&quick.id).unwrap(), quick);
        let slow_id = opened.ws.add_goal(new_goal("Ship it ✓")).unwrap();
        let slow = opened.ws.goal(&slow_id).unwrap();
        assert_eq!(
            (
                slow.title,
                slow.description,
                slow.status,
                slow.owner,
                slow.due,
                slow.meta
            ),
            (
                quick.title.clone(),
                quick.description.clone(),
                quick.status.clone(),
                quick.owner.clone(),
                quick.due.clone(),
                quick.meta.clone()
            )
        );
        // History reads the same, and ordinary changes by this device follow on.
        let history = opened.ws.history(Some(2));
        assert!(history[1].message.starts_with("added goal"), "{history:?}");
        assert_eq!(history[1].author, "Ana");
        home.save(&mut opened).unwrap();
        let mut again = home.open_workspace(&id, now()).unwrap();
        again
            .ws
            .set_goal(
                &quick.id,
                GoalChanges {
                    status: Some(GoalStatus::Active),
                    ..Default::default()
                },
            )
            .unwrap();
        home.save(&mut again).unwrap();
        assert_eq!(
            home.open_workspace(&id, now())
                .unwrap()
                .ws
                .goal(&quick.id)
                .unwrap()
                .status,
            GoalStatus::Active
        );
    }

    #[test]
    fn quick_items_of_every_kind_read_back_as_previewed() {
        let (home, id) = home_with_workspace();
        let action = crate::model::NewAction {
            title: "Install rustup".into(),
            owner: Some("Ben".into()),
            due: Some(jiff::civil::date(2026, 12, 1)),
            ..Default::default()
        };
        let note = NewNote {
            title: Some("Kickoff".into()),
            body: "We met — café ☕.\nNext: tests.".into(),
            tags: vec!["weekly".into(), " ".into()],
            ..Default::default()
        };
        type MakeDraft = Box<dyn Fn(&crate::model::draft::People) -> Result<Draft>>;
        let drafts: Vec<MakeDraft> = vec![
            Box::new(|p| Draft::goal(&new_goal("A goal"), p)),
            Box::new(move |p| Draft::action(&action, p)),
            Box::new(move |_| Draft::note(&note)),
            Box::new(|_| {
                Draft::resource("The Book", "https://doc.rust-lang.org/book/", Some("ch. 4"))
            }),
            Box::new(|_| {
                Draft::checkin(
                    "2026-12-03T14:00:00Z".parse().unwrap(),
                    "Review chapter 4",
                    Some("https://meet.example/ana-ben"),
                )
            }),
        ];
        for draft in drafts {
            let preview = home
                .quick_add(&id, now(), draft)
                .unwrap()
                .expect("quick path");
            let item_id = preview["id"].as_str().unwrap().to_string();
            let opened = home.open_workspace(&id, now()).unwrap();
            let stored = serde_json::to_value(opened.ws.snapshot(&id.to_string())).unwrap();
            let found = ["goals", "actions", "notes", "resources", "checkins"]
                .iter()
                .flat_map(|k| stored[k].as_array().cloned().unwrap_or_default())
                .find(|i| i["id"] == item_id.as_str())
                .expect("the item is in the document");
            assert_eq!(found, preview);
        }
    }

    #[test]
    fn quick_goals_in_a_row_and_their_edits_merge_with_a_partner() {
        let (home, id) = home_with_workspace();
        let mut partner = home
            .open_workspace(&id, now())
            .unwrap()
            .ws
            .into_doc()
            .fork();
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(quick_goal(&home, &id, &format!("g{i}")).unwrap().id);
        }
        let mut opened = home.open_workspace(&id, now()).unwrap();
        partner.merge(opened.ws.doc_mut()).unwrap();
        let title = opened.ws.goal(&ids[2]).unwrap().title;
        assert_eq!(title, "g2");
        let merged = Workspace::open(partner, &id.to_string(), now()).unwrap();
        assert_eq!(merged.goals().len(), 5);
        assert!(opened.ws.resolve(Kind::Goal, &ids[4][..6]).is_ok());
    }

    #[test]
    fn the_quick_path_keeps_working_after_changes_arrive_from_a_partner() {
        let (ana, id) = home_with_workspace();
        let ben = Home::open(Arc::new(MemoryStorage::default())).unwrap();
        let bundle = ana.export_bundle(&id, now()).unwrap();
        ben.import_bundle(&bundle, Some(("Ben", Role::Mentee)), now())
            .unwrap();
        assert!(quick_goal(&ana, &id, "from Ana").is_some());
        let mut from_ana = ana.load_doc(&id).unwrap().unwrap();
        ben.absorb(&id, &mut from_ana).unwrap();
        let goal = quick_goal(&ben, &id, "from Ben").expect("quick path after absorbing");
        assert_eq!(goal.meta.created_by_name.as_deref(), Some("Ben"));
        let opened = ben.open_workspace(&id, now()).unwrap();
        assert_eq!(opened.ws.goals().len(), 2);
    }

    #[test]
    fn the_quick_path_steps_aside_when_it_cannot_be_sure() {
        let home = Home::open(Arc::new(MemoryStorage::default())).unwrap();
        let opened = home
            .create_workspace("Tiny", "Ana", Role::Mentor, now())
            .unwrap();
        // Once the quick path's chunks add up to what calls for compaction, it steps aside and
        // the ordinary path (load, change, save) compacts.
        let id = *opened.id();
        let quick = (0..200)
            .take_while(|i| quick_goal(&home, &id, &format!("g{i}")).is_some())
            .count();
        assert!(quick > 0, "a small workspace takes the quick path at first");
        assert!(quick < 200, "the quick path stepped aside for compaction");
        // Bad input is still refused in one line. (A due date is a real date by its type now, so
        // the bad input is a blank title.)
        let (home, id) = home_with_workspace();
        let bad = NewGoal {
            title: "   ".into(),
            ..new_goal("g")
        };
        assert!(home
            .quick_add(&id, now(), |people| Draft::goal(&bad, people))
            .is_err());
        // A workspace followed read-only never takes the quick path.
        home.set_read_only(&id, true).unwrap();
        assert!(quick_goal(&home, &id, "g").is_none());
    }
}
