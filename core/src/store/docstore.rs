//! Automerge documents on a [`Storage`], laid out as automerge-repo lays them out.
//!
//! Read this if you change how documents reach the disk. Each document is a set of chunks under
//! `doc/<id>/snapshot/<hash>` and `doc/<id>/incremental/<hash>` (docs/protocol.md section 8).
//! Loading concatenates every snapshot and then every incremental chunk and hands them to
//! automerge in one go; automerge deduplicates changes, so a chunk written twice or a crash
//! between writing a snapshot and deleting what it replaced is harmless.
//!
//! Saving writes only what changed since the last save as a new incremental chunk. Once the
//! incremental chunks together outgrow the snapshot (or the snapshot is tiny), the document is
//! compacted: a fresh full save becomes the only snapshot, and the chunks it covers are deleted in
//! the same atomic batch. Sync states for peers that have a storage id live beside the chunks under
//! `doc/<id>/sync-state/<storage id>`.

use crate::store::{Storage, StorageKey, Write};
use crate::{Error, Result};
use automerge::{AutoCommit, ChangeHash};
use sha2::{Digest, Sha256};

/// Incremental chunks are folded into a new snapshot once they add up to at least this many
/// bytes, even when the snapshot is smaller. Rewriting a small document on every save looks
/// cheap, but a relay saves a shared document after every batch that changed it, and a full
/// save re-encodes and recompresses the whole history each time.
const MIN_COMPACTION: usize = 4096;

/// Incremental chunks are folded into a new snapshot once there are this many, whatever their
/// size: every save records the list of chunks in the tip, so the list is kept short.
const MAX_INCREMENTAL_CHUNKS: usize = 64;

/// Whether a document with `chunks` stored chunks, a snapshot of `snapshot_size` bytes and
/// `incremental_size` bytes of incremental chunks (counting the one about to be written) should
/// be compacted instead of appended to. Loading reads every chunk, so compaction keeps a load
/// within about twice the snapshot's size.
fn compaction_due(chunks: usize, snapshot_size: usize, incremental_size: usize) -> bool {
    chunks == 0
        || incremental_size >= snapshot_size.max(MIN_COMPACTION)
        || chunks > MAX_INCREMENTAL_CHUNKS
}

/// What is on disk for one document, so that the next save writes only what is new.
#[derive(Debug, Clone, Default)]
pub struct DocState {
    /// The heads at the last load or save; a save writes the changes after these.
    saved_heads: Vec<ChangeHash>,
    /// Keys of the chunks on disk, so compaction can delete exactly what it replaces.
    chunks: Vec<Vec<u8>>,
    /// The fingerprint of `chunks` ([`ChunkDigest`]), kept up to date as chunks come and go so
    /// that a save need not go through the list.
    digest: ChunkDigest,
    snapshot_size: usize,
    incremental_size: usize,
}

/// An order-independent fingerprint of a set of chunk keys: the XOR of the first 16 bytes of
/// each key's SHA-256. A tip records it with the number of chunks instead of the keys
/// themselves, so that the tip stays a few hundred bytes however many chunks a document has
/// (with the list, a relay's tip grew to several KB and was rewritten after every batch), and a
/// reader can still tell whether the tip describes exactly the chunks on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ChunkDigest([u8; 16]);

impl ChunkDigest {
    fn of<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Self {
        let mut digest = Self::default();
        for key in keys {
            digest.add(key.as_ref());
        }
        digest
    }

    fn add(&mut self, key: &[u8]) {
        let sum = Sha256::digest(key);
        for (d, s) in self.0.iter_mut().zip(sum.iter()) {
            *d ^= s;
        }
    }

    fn from_hex(text: &str) -> Option<Self> {
        let mut digest = Self::default();
        hex::decode_to_slice(text, &mut digest.0).ok()?;
        Some(digest)
    }
}

/// A tip stores the digest in hex.
impl serde::Serialize for ChunkDigest {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl DocState {
    /// Record a chunk written under `key`. A key already listed (the same bytes written again)
    /// is the same chunk on disk, so it is listed once.
    fn add_chunk(&mut self, key: Vec<u8>) {
        if !self.chunks.contains(&key) {
            self.digest.add(&key);
            self.chunks.push(key);
        }
    }
}

impl DocState {
    /// The state of a document that has never been stored.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `doc` has changes that are not yet written.
    pub fn is_dirty(&self, doc: &mut AutoCommit) -> bool {
        doc.get_heads() != self.saved_heads
    }

    /// The heads as of the last load or save.
    pub fn saved_heads(&self) -> &[ChangeHash] {
        &self.saved_heads
    }
}

/// What a writer needs to append a change without loading the document: written beside the
/// chunks, in the same atomic batch, by every save. Its chunk count, chunk digest and sizes
/// summarise the [`DocState`] of the document as stored, so an appended change can be saved
/// without a load too.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "StoredTip")]
pub struct Tip {
    /// The document's heads, as hex change hashes.
    pub heads: Vec<String>,
    /// The largest op counter in the document; a new change starts after it.
    pub max_op: u64,
    /// The actor of the process that saved (hex), and its last sequence number.
    pub actor: String,
    pub seq: u64,
    /// How many chunks the document has on disk, and their [`ChunkDigest`].
    chunk_count: usize,
    chunk_digest: ChunkDigest,
    snapshot_size: usize,
    incremental_size: usize,
}

/// A tip as stored. Tips written before the chunk digest list every chunk key instead; they
/// are read into the same [`Tip`], so a store written by an earlier version needs no migration.
#[derive(serde::Deserialize)]
struct StoredTip {
    heads: Vec<String>,
    max_op: u64,
    actor: String,
    seq: u64,
    #[serde(default)]
    chunk_count: Option<usize>,
    #[serde(default)]
    chunk_digest: Option<String>,
    #[serde(default)]
    chunks: Option<Vec<String>>,
    snapshot_size: usize,
    incremental_size: usize,
}

impl TryFrom<StoredTip> for Tip {
    type Error = String;

    fn try_from(stored: StoredTip) -> std::result::Result<Self, String> {
        let (chunk_count, chunk_digest) = match (stored.chunk_count, stored.chunk_digest) {
            (Some(count), Some(digest)) => {
                let digest = ChunkDigest::from_hex(&digest).ok_or_else(|| {
                    format!("a chunk digest that is not 16 bytes of hex: {digest}")
                })?;
                (count, digest)
            }
            _ => {
                let mut keys = stored.chunks.unwrap_or_default();
                keys.sort_unstable();
                keys.dedup();
                (keys.len(), ChunkDigest::of(&keys))
            }
        };
        Ok(Tip {
            heads: stored.heads,
            max_op: stored.max_op,
            actor: stored.actor,
            seq: stored.seq,
            chunk_count,
            chunk_digest,
            snapshot_size: stored.snapshot_size,
            incremental_size: stored.incremental_size,
        })
    }
}

impl Tip {
    /// The heads as change hashes.
    pub fn head_hashes(&self) -> Vec<ChangeHash> {
        self.heads.iter().filter_map(|h| h.parse().ok()).collect()
    }
}

fn tip_key(doc_id: &str) -> Result<StorageKey> {
    StorageKey::new(&["tip", doc_id])
}

fn make_tip(doc: &mut AutoCommit, state: &DocState) -> Tip {
    let heads = doc.get_heads();
    // Every change starts after the largest op of its dependencies, so the largest op in the
    // document is the largest among the head changes.
    let max_op = heads
        .iter()
        .filter_map(|h| doc.get_change_meta_by_hash(h).map(|m| m.max_op))
        .max()
        .unwrap_or(0);
    let actor = doc.get_actor().to_hex_string();
    let seq = doc.get_last_local_change().map(|c| c.seq()).unwrap_or(0);
    Tip {
        heads: heads.iter().map(|h| h.to_string()).collect(),
        max_op,
        actor,
        seq,
        chunk_count: state.chunks.len(),
        chunk_digest: state.digest,
        snapshot_size: state.snapshot_size,
        incremental_size: state.incremental_size,
    }
}

fn tip_write(doc_id: &str, tip: &Tip) -> Result<Write> {
    // Serialising a plain struct of strings and numbers cannot fail.
    let value = serde_json::to_vec(tip).unwrap_or_default();
    Ok(Write::Put(tip_key(doc_id)?.into_bytes(), value))
}

/// The tip of a stored document, if one was saved by this version of tandem.
pub fn load_tip(store: &dyn Storage, doc_id: &str) -> Result<Option<Tip>> {
    Ok(store
        .get(&tip_key(doc_id)?)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// Every stored document's id with its tip, read in one scan of the small tip records rather
/// than of the chunks: a cheap way to learn which documents changed since they were last read.
/// A document saved by a version of tandem that wrote no tip is missing from the list.
pub fn list_tips(store: &dyn Storage) -> Result<Vec<(String, Tip)>> {
    let prefix = StorageKey::new(&["tip"])?.children();
    Ok(store
        .scan_prefix(&prefix)?
        .into_iter()
        .filter_map(|(key, value)| {
            let id = std::str::from_utf8(&key[prefix.len()..]).ok()?.to_string();
            let tip = serde_json::from_slice(&value).ok()?;
            Some((id, tip))
        })
        .collect())
}

/// The heads of a stored document without loading it: those its tip records, provided the tip
/// describes exactly the chunks on disk. `None` when there is no tip, or when chunks were written
/// or removed without updating it (by a version of tandem from before tips, say): then only
/// loading the document can tell its heads.
pub fn stored_heads(store: &dyn Storage, doc_id: &str) -> Result<Option<Vec<String>>> {
    let Some(tip) = load_tip(store, doc_id)? else {
        return Ok(None);
    };
    let mut on_disk = Vec::new();
    for kind in ["snapshot", "incremental"] {
        let prefix = StorageKey::new(&["doc", doc_id, kind])?.children();
        on_disk.extend(store.scan_keys(&prefix)?);
    }
    let described =
        on_disk.len() == tip.chunk_count && ChunkDigest::of(&on_disk) == tip.chunk_digest;
    Ok(described.then_some(tip.heads))
}

/// Append one change to a stored document without loading it, given its current tip.
///
/// Returns `false`, having written nothing, when the change would make the document due for
/// compaction; the caller then takes the ordinary path (load, change, save), which compacts.
/// Does not flush.
pub fn append(
    store: &dyn Storage,
    doc_id: &str,
    tip: &Tip,
    change: &mut automerge::Change,
) -> Result<bool> {
    let bytes = change.bytes().into_owned();
    let incremental_size = tip.incremental_size + bytes.len();
    if compaction_due(tip.chunk_count, tip.snapshot_size, incremental_size) {
        return Ok(false);
    }
    let key = chunk_key(doc_id, "incremental", &sha256_hex(&bytes))?.into_bytes();
    let mut next = tip.clone();
    next.heads = vec![change.hash().to_string()];
    next.max_op = change.max_op();
    next.seq = change.seq();
    // The chunk is new on disk: its key is the hash of a change this process has just made.
    next.chunk_digest.add(&key);
    next.chunk_count += 1;
    next.incremental_size = incremental_size;
    let tip = tip_write(doc_id, &next)?;
    store.apply(vec![Write::Put(key, bytes), tip])?;
    Ok(true)
}

/// The bytes every key of the document `doc_id` starts with.
fn prefix(doc_id: &str) -> Result<Vec<u8>> {
    Ok(StorageKey::new(&["doc", doc_id])?.children())
}

fn chunk_key(doc_id: &str, kind: &str, hash: &str) -> Result<StorageKey> {
    StorageKey::new(&["doc", doc_id, kind, hash])
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Load the document `doc_id`, or `None` if nothing of it is stored.
pub fn load(store: &dyn Storage, doc_id: &str) -> Result<Option<(AutoCommit, DocState)>> {
    let prefix = prefix(doc_id)?;
    let entries = store.scan_prefix(&prefix)?;
    let mut snapshots = Vec::new();
    let mut incrementals = Vec::new();
    for (key, value) in entries {
        let rest = &key[prefix.len()..];
        if rest.starts_with(b"snapshot/") {
            snapshots.push((key, value));
        } else if rest.starts_with(b"incremental/") {
            incrementals.push((key, value));
        }
    }
    if snapshots.is_empty() && incrementals.is_empty() {
        return Ok(None);
    }
    let snapshot_size = snapshots.iter().map(|(_, v)| v.len()).sum();
    let incremental_size = incrementals.iter().map(|(_, v)| v.len()).sum();
    let mut bytes = Vec::with_capacity(snapshot_size + incremental_size);
    let mut chunks = Vec::new();
    for (key, value) in snapshots.into_iter().chain(incrementals) {
        bytes.extend_from_slice(&value);
        chunks.push(key);
    }
    let digest = ChunkDigest::of(&chunks);
    let mut doc = AutoCommit::load(&bytes).map_err(|e| Error::DocumentCorrupt {
        doc: doc_id.to_string(),
        reason: e.to_string(),
    })?;
    let saved_heads = doc.get_heads();
    Ok(Some((
        doc,
        DocState {
            saved_heads,
            chunks,
            digest,
            snapshot_size,
            incremental_size,
        },
    )))
}

/// Write whatever changed in `doc` since it was loaded or last saved. Does not flush.
///
/// Returns `true` if anything was written.
pub fn save(
    store: &dyn Storage,
    doc_id: &str,
    doc: &mut AutoCommit,
    stored: &mut DocState,
) -> Result<bool> {
    let heads = doc.get_heads();
    if heads == stored.saved_heads && !stored.chunks.is_empty() {
        return Ok(false);
    }
    // Compaction rewrites everything, so the incremental bytes are only worth computing when
    // the document is not already due for it.
    let due = stored.chunks.is_empty();
    let incremental = if due {
        Vec::new()
    } else {
        doc.save_after(&stored.saved_heads)
    };
    let must_compact = compaction_due(
        stored.chunks.len(),
        stored.snapshot_size,
        stored.incremental_size + incremental.len(),
    );
    if must_compact {
        compact(store, doc_id, doc, stored)?;
    } else if !incremental.is_empty() {
        let key = chunk_key(doc_id, "incremental", &sha256_hex(&incremental))?.into_bytes();
        stored.incremental_size += incremental.len();
        stored.add_chunk(key.clone());
        stored.saved_heads = heads;
        let tip = make_tip(doc, stored);
        store.apply(vec![Write::Put(key, incremental), tip_write(doc_id, &tip)?])?;
    }
    stored.saved_heads = doc.get_heads();
    Ok(true)
}

/// Replace every stored chunk of the document with one full snapshot, atomically.
pub fn compact(
    store: &dyn Storage,
    doc_id: &str,
    doc: &mut AutoCommit,
    stored: &mut DocState,
) -> Result<()> {
    let snapshot = doc.save();
    let heads = doc.get_heads();
    // automerge-repo keys a snapshot by the hash of its heads, so two replicas that compact the
    // same state write the same key.
    let heads_hex: String = heads.iter().map(|h| h.to_string()).collect();
    let key = chunk_key(doc_id, "snapshot", &sha256_hex(heads_hex.as_bytes()))?.into_bytes();
    let mut writes = vec![Write::Put(key.clone(), snapshot.clone())];
    writes.extend(
        stored
            .chunks
            .iter()
            .filter(|k| **k != key)
            .map(|k| Write::Delete(k.clone())),
    );
    let state = DocState {
        saved_heads: heads,
        digest: ChunkDigest::of([&key]),
        chunks: vec![key],
        snapshot_size: snapshot.len(),
        incremental_size: 0,
    };
    writes.push(tip_write(doc_id, &make_tip(doc, &state))?);
    store.apply(writes)?;
    *stored = state;
    Ok(())
}

/// The persisted sync state for (document, peer storage id), if any.
pub fn load_sync_state(
    store: &dyn Storage,
    doc_id: &str,
    storage_id: &str,
) -> Result<Option<automerge::sync::State>> {
    let key = chunk_key(doc_id, "sync-state", storage_id)?;
    match store.get(&key)? {
        None => Ok(None),
        // A sync state that no longer decodes only costs a slower sync, so it is dropped.
        Some(bytes) => Ok(automerge::sync::State::decode(&bytes).ok()),
    }
}

/// Persist the sync state for (document, peer storage id). Does not flush.
pub fn save_sync_state(
    store: &dyn Storage,
    doc_id: &str,
    storage_id: &str,
    state: &automerge::sync::State,
) -> Result<()> {
    store.put(
        &chunk_key(doc_id, "sync-state", storage_id)?,
        &state.encode(),
    )
}

/// The ids of every document with at least one stored chunk.
pub fn list(store: &dyn Storage) -> Result<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    for (key, _) in store.scan_prefix(b"doc/")? {
        let Ok(key) = std::str::from_utf8(&key) else {
            continue;
        };
        let mut parts = key.splitn(4, '/');
        let (_, Some(id), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if (kind == "snapshot" || kind == "incremental")
            && ids.last().map(String::as_str) != Some(id)
        {
            ids.push(id.to_string());
        }
    }
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStorage;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

    fn edit(doc: &mut AutoCommit, i: usize) {
        doc.put(
            ROOT,
            format!("key{i}"),
            format!("a value long enough to matter {i}"),
        )
        .unwrap();
        doc.commit();
    }

    #[test]
    fn a_saved_document_loads_back_with_the_same_heads() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        edit(&mut doc, 0);
        save(&store, "d1", &mut doc, &mut stored).unwrap();
        let (mut loaded, _) = load(&store, "d1").unwrap().unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert!(load(&store, "other").unwrap().is_none());
    }

    #[test]
    fn the_tips_list_every_saved_document_with_its_heads() {
        let store = MemoryStorage::default();
        let (mut a, mut a_state) = (AutoCommit::new(), DocState::new());
        let (mut b, mut b_state) = (AutoCommit::new(), DocState::new());
        assert!(list_tips(&store).unwrap().is_empty());
        edit(&mut a, 0);
        edit(&mut b, 1);
        save(&store, "a", &mut a, &mut a_state).unwrap();
        save(&store, "b", &mut b, &mut b_state).unwrap();
        edit(&mut b, 2);
        save(&store, "b", &mut b, &mut b_state).unwrap();
        let tips = list_tips(&store).unwrap();
        let ids: Vec<&str> = tips.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(tips[1].1.head_hashes(), b.get_heads());
    }

    #[test]
    fn a_tip_stays_small_however_many_chunks_the_document_has() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        // A large snapshot first, so that many small chunks come before a compaction is due.
        for i in 0..300 {
            edit(&mut doc, i);
        }
        save(&store, "d", &mut doc, &mut stored).unwrap();
        let mut sizes = Vec::new();
        for i in 300..340 {
            edit(&mut doc, i);
            save(&store, "d", &mut doc, &mut stored).unwrap();
            sizes.push(store.get(b"tip/d").unwrap().unwrap().len());
        }
        assert!(stored.chunks.len() >= 5, "{} chunks", stored.chunks.len());
        let (smallest, largest) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(
            largest - smallest < 8,
            "tip sizes ranged from {smallest} to {largest}"
        );
        assert_eq!(
            stored_heads(&store, "d").unwrap(),
            Some(doc.get_heads().iter().map(|h| h.to_string()).collect())
        );
    }

    #[test]
    fn a_tip_that_lists_its_chunks_is_read_as_the_same_tip() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        for i in 0..3 {
            edit(&mut doc, i);
            save(&store, "d", &mut doc, &mut stored).unwrap();
        }
        let tip = load_tip(&store, "d").unwrap().unwrap();
        // Earlier versions wrote every chunk key into the tip instead of a count and a digest.
        let keys: Vec<String> = store
            .scan_keys(b"doc/d/")
            .unwrap()
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(keys.len(), 3);
        let mut listed = serde_json::to_value(&tip).unwrap();
        let fields = listed.as_object_mut().unwrap();
        fields.remove("chunk_count").unwrap();
        fields.remove("chunk_digest").unwrap();
        fields.insert("chunks".into(), keys.into());
        store
            .put(b"tip/d", &serde_json::to_vec(&listed).unwrap())
            .unwrap();
        assert_eq!(load_tip(&store, "d").unwrap(), Some(tip.clone()));
        assert_eq!(stored_heads(&store, "d").unwrap(), Some(tip.heads));
    }

    #[test]
    fn saves_append_incremental_chunks_and_then_compact() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        for i in 0..60 {
            edit(&mut doc, i);
        }
        save(&store, "d", &mut doc, &mut stored).unwrap();
        let (mut max_chunks, mut compactions, mut previous) = (0, 0, 1);
        for i in 60..400 {
            let (mut again, mut state) = load(&store, "d").unwrap().unwrap();
            edit(&mut again, i);
            assert!(save(&store, "d", &mut again, &mut state).unwrap());
            let chunks = store.scan_prefix(b"doc/d/").unwrap().len();
            max_chunks = max_chunks.max(chunks);
            if chunks < previous {
                compactions += 1;
                assert_eq!(chunks, 1, "a compaction leaves exactly one snapshot");
            }
            previous = chunks;
        }
        assert!(max_chunks > 2, "incremental chunks were written");
        assert!(compactions > 0, "compaction ran");
        let (loaded, _) = load(&store, "d").unwrap().unwrap();
        assert_eq!(loaded.keys(ROOT).count(), 400);
    }

    #[test]
    fn saving_an_unchanged_document_writes_nothing() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        edit(&mut doc, 0);
        assert!(save(&store, "d", &mut doc, &mut stored).unwrap());
        assert!(!save(&store, "d", &mut doc, &mut stored).unwrap());
    }

    #[test]
    fn a_duplicated_chunk_is_harmless() {
        let store = MemoryStorage::default();
        let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
        edit(&mut doc, 0);
        save(&store, "d", &mut doc, &mut stored).unwrap();
        let all = doc.save();
        store.put(b"doc/d/incremental/dup", &all).unwrap();
        let (loaded, _) = load(&store, "d").unwrap().unwrap();
        assert_eq!(loaded.keys(ROOT).count(), 1);
    }

    #[test]
    fn a_corrupt_chunk_is_a_clear_error() {
        let store = MemoryStorage::default();
        store.put(b"doc/d/snapshot/x", b"not automerge").unwrap();
        let err = load(&store, "d").unwrap_err();
        assert!(matches!(err, Error::DocumentCorrupt { .. }), "{err}");
    }

    #[test]
    fn documents_are_listed_once_each() {
        let store = MemoryStorage::default();
        for id in ["a", "b"] {
            let (mut doc, mut stored) = (AutoCommit::new(), DocState::new());
            edit(&mut doc, 0);
            save(&store, id, &mut doc, &mut stored).unwrap();
            edit(&mut doc, 1);
            save(&store, id, &mut doc, &mut stored).unwrap();
        }
        assert_eq!(
            list(&store).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
    }
}
