//! A write-ahead journal in front of a [`Storage`], for a process that makes many small writes
//! durable: the relay, which flushes after every batch of sync messages.
//!
//! Read this if you change what "flushed" means on the relay. sled makes a write durable by
//! writing its log buffers out with `sync_file_range`, and rewrites whole tree nodes as keys
//! change: at the relay's rate (a save and a flush every few milliseconds under load) a 150-byte
//! change cost about 17 KB of writes to sled's log and a third of the relay's CPU. A
//! [`Journaled`] storage keeps every write in memory (an *overlay* that reads consult first)
//! and appends it, encoded, to a journal file; [`Storage::flush`] appends what is pending with
//! one write and one `fdatasync`. The inner storage gets the overlay only at a *checkpoint*, in
//! one batch and one flush. A checkpoint runs on a thread of its own, so flushes never wait for
//! sled. Between checkpoints a key written many times (a document's tip) reaches sled once, and
//! a chunk written and then compacted away never does.
//!
//! The journal is a run of numbered *segment* files (`tandem-journal.1`, `tandem-journal.2`, …),
//! of which flushes append to the newest. A checkpoint seals the newest and starts the next,
//! which is created (and its directory synced) before the flushers' lock is taken, so they wait
//! for nothing but one append; once sled holds everything in the sealed segments, they are
//! deleted. Nothing is copied and no file is synced under that lock.
//!
//! **Invariant:** every write acknowledged by a `flush` is either in the inner storage's durable
//! state (covered by a checkpoint) or in a complete record of a segment. When the journal is
//! opened, the complete records of every segment are applied again, oldest segment first, to the
//! inner storage, which is then flushed and the segments deleted. Re-applying is harmless:
//! records hold whole puts and deletes, replayed in the order they were first applied, so the
//! result is the state as of the last record. That holds for sealed segments a crash left behind
//! after their checkpoint too, because a checkpoint gives sled exactly the writes of the
//! segments it seals (it appends what is pending to the segment before sealing it), never a
//! write that no segment holds. A record cut short by a crash fails its checksum and is dropped
//! with everything after it in its segment; it was never acknowledged, since its `fdatasync` had
//! not returned.
//!
//! A record: `len: u32 LE`, the first 8 bytes of the payload's SHA-256, then the payload, a run
//! of writes, each `0` (put) or `1` (delete), the key's length (`u32 LE`) and bytes, and for a
//! put the value's length (`u32 LE`) and bytes.

use super::{Storage, Write};
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The journal's name inside the sled store's directory; its segments are this name followed by
/// `.` and their number. Keeping them there means that whatever copies, moves or backs up the
/// store takes the journal with it.
pub const FILE_NAME: &str = "tandem-journal";

/// Once the journal (or the overlay) holds this many bytes, a flush starts a checkpoint: the
/// overlay goes to the inner storage, which is flushed, and the journal is emptied. This bounds
/// the memory held, the journal's size and the replay at startup. A checkpoint runs on its own
/// thread and flushes go on meanwhile, but on a small machine it still competes with the relay
/// for the cores and the disk, so it is kept to a few MiB at a time.
pub const CHECKPOINT_BYTES: u64 = 4 << 20;

const PUT: u8 = 0;
const DELETE: u8 = 1;
const HEADER: usize = 4 + 8;

/// A [`Storage`] whose writes stay in memory and in a journal until a checkpoint.
///
/// A checkpoint that a flush finds due runs on a thread of its own, so that neither that flush
/// nor the ones after it wait for sled: the relay's flusher threads only ever append and sync
/// the journal. [`Journaled::checkpoint`] (a clean shutdown) waits for it and takes its own.
pub struct Journaled {
    journal: Arc<Journal>,
    /// The thread of the last automatic checkpoint, joined before the next one starts, by an
    /// explicit checkpoint, and when the storage is dropped (so the inner storage is closed).
    background: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The overlay, the journal file and the inner storage, shared with the checkpoint thread.
struct Journal {
    inner: Arc<dyn Storage>,
    /// The journal's path without a segment number; see [`segment_path`].
    path: PathBuf,
    checkpoint_bytes: u64,
    /// What was written since the last checkpoint. Held only briefly, never across disk I/O,
    /// so writers do not wait for a flush.
    pending: Mutex<Pending>,
    /// The segment flushes append to. A flush holds it across its write and sync, so a flush
    /// that finds it taken returns only after the earlier one, which covered every write made
    /// before it, is durable.
    file: Mutex<Segment>,
    /// Held while a checkpoint runs, so that only one does at a time.
    checkpointing: Mutex<()>,
    /// When an automatic checkpoint failed last; the next one waits [`CHECKPOINT_RETRY`], so
    /// that an inner storage that keeps failing (a full disk) is not tried at every flush.
    failed_at: Mutex<Option<Instant>>,
    /// Checkpoints completed and failed since the journal was opened, for the operator.
    checkpoints_done: AtomicU64,
    checkpoints_failed: AtomicU64,
}

/// How many checkpoints completed and failed since the journal was opened. A failed one loses
/// nothing, but one that keeps failing lets the journal and memory grow: an operator watches
/// `failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointCounts {
    pub done: u64,
    pub failed: u64,
}

/// How long after a failed automatic checkpoint the next one may start.
const CHECKPOINT_RETRY: Duration = Duration::from_secs(1);

/// Writes since the last checkpoint.
#[derive(Default)]
struct Pending {
    /// Records not yet in the journal file, in the order their writes were made.
    records: Vec<u8>,
    /// The latest value of every key written since the last checkpoint; `None` for a delete.
    overlay: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// How many bytes of keys and values the overlay holds.
    overlay_bytes: u64,
}

/// The newest segment of the journal.
struct Segment {
    file: File,
    /// How many bytes the file holds.
    len: u64,
    /// Its number: the segments are replayed in the order of their numbers.
    number: u64,
}

/// A copy of the overlay taken for a checkpoint: every key with its value, `None` for a delete.
type Frozen = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// What one overlay entry counts towards [`Pending::overlay_bytes`].
fn entry_size(key: &[u8], value: &Option<Vec<u8>>) -> u64 {
    (key.len() + value.as_ref().map_or(0, Vec::len)) as u64
}

impl std::fmt::Debug for Journaled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journaled")
            .field("path", &self.journal.path)
            .finish()
    }
}

impl Journaled {
    /// Journal the writes to `inner` in segments named after `path` (see [`segments`]). What an
    /// earlier process left in the journal is applied to `inner` first, which is then flushed,
    /// and those segments deleted.
    pub fn open(inner: Arc<dyn Storage>, path: &Path) -> Result<Self> {
        Self::with_checkpoint(inner, path, CHECKPOINT_BYTES)
    }

    /// As [`Journaled::open`], checkpointing once the journal holds `checkpoint_bytes`.
    pub fn with_checkpoint(
        inner: Arc<dyn Storage>,
        path: &Path,
        checkpoint_bytes: u64,
    ) -> Result<Self> {
        let io = |e: std::io::Error| io_error(path, e);
        // Journals written before segments: a copy a checkpoint was making when the process
        // stopped (the journal itself still holds it), and the journal in a single file.
        match std::fs::remove_file(legacy_copy_path(path)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let found = segments(path).map_err(io)?;
        let replayed: Vec<PathBuf> = Some(path.to_path_buf())
            .filter(|single| single.exists())
            .into_iter()
            .chain(found.iter().map(|(_, segment)| segment.clone()))
            .collect();
        let mut wrote = false;
        for segment in &replayed {
            let bytes = std::fs::read(segment).map_err(io)?;
            for writes in complete_records(&bytes) {
                inner.apply(writes)?;
                wrote = true;
            }
        }
        if wrote {
            inner.flush()?;
        }
        // Numbers keep rising, so that a segment is never confused with one replayed here.
        let number = found.last().map_or(1, |(number, _)| number + 1);
        let file = create_segment(path, number).map_err(io)?;
        for segment in &replayed {
            remove_segment(path, segment).map_err(io)?;
        }
        let journal = Journal {
            inner,
            path: path.to_path_buf(),
            checkpoint_bytes,
            pending: Mutex::new(Pending::default()),
            file: Mutex::new(Segment {
                file,
                len: 0,
                number,
            }),
            checkpointing: Mutex::new(()),
            failed_at: Mutex::new(None),
            checkpoints_done: Default::default(),
            checkpoints_failed: Default::default(),
        };
        Ok(Self {
            journal: Arc::new(journal),
            background: Mutex::new(None),
        })
    }

    /// Open the sled store in `dir` with its journal (segments named after [`FILE_NAME`] in the
    /// same directory), applying what a process that was killed left in the journal.
    pub fn open_sled(dir: &Path) -> Result<Self> {
        Self::open_sled_with_checkpoint(dir, CHECKPOINT_BYTES)
    }

    /// As [`Journaled::open_sled`], checkpointing once the journal holds `checkpoint_bytes`.
    pub fn open_sled_with_checkpoint(dir: &Path, checkpoint_bytes: u64) -> Result<Self> {
        let sled = super::SledStorage::open(dir)?;
        Self::with_checkpoint(Arc::new(sled), &dir.join(FILE_NAME), checkpoint_bytes)
    }

    /// Flush the inner storage and empty the journal, so that the inner storage alone holds
    /// everything (for a clean shutdown: a reader that opens the store without the journal
    /// then misses nothing). Waits for an automatic checkpoint that is under way.
    pub fn checkpoint(&self) -> Result<()> {
        self.wait_for_checkpoint();
        // Sealing the newest segment appends what is pending to it first.
        self.journal.checkpoint()
    }

    /// How many checkpoints completed and failed so far.
    pub fn checkpoint_counts(&self) -> CheckpointCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CheckpointCounts {
            done: load(&self.journal.checkpoints_done),
            failed: load(&self.journal.checkpoints_failed),
        }
    }

    /// Wait until the automatic checkpoint under way, if any, has finished.
    fn wait_for_checkpoint(&self) {
        let running = self.background().take();
        if let Some(thread) = running {
            // A checkpoint that panicked left the journal complete; there is nothing to undo.
            let _ = thread.join();
        }
    }

    fn background(&self) -> MutexGuard<'_, Option<std::thread::JoinHandle<()>>> {
        self.background.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start an automatic checkpoint on its own thread, unless one is still running (it will
    /// be due again at a later flush if it was not enough).
    fn start_checkpoint(&self) {
        let mut background = self.background();
        if background.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let failed_at = *self.journal.failed_at();
        if failed_at.is_some_and(|at| at.elapsed() < CHECKPOINT_RETRY) {
            return;
        }
        let journal = Arc::clone(&self.journal);
        let spawned = std::thread::Builder::new()
            .name("tandem-checkpoint".into())
            .spawn(move || {
                // Every write is durable in the journal already, so a checkpoint that fails
                // (the inner storage's disk is full, say) costs only a longer journal: it is
                // tried again once a later flush finds it due, and a clean shutdown reports the
                // error.
                let failed = journal.checkpoint().is_err();
                *journal.failed_at() = failed.then(Instant::now);
            });
        let finished = std::mem::replace(&mut *background, spawned.ok());
        drop(background);
        if let Some(thread) = finished {
            let _ = thread.join();
        }
        // A thread that could not be started leaves the checkpoint for a later flush.
    }
}

impl Drop for Journaled {
    fn drop(&mut self) {
        self.wait_for_checkpoint();
    }
}

impl Journal {
    fn failed_at(&self) -> MutexGuard<'_, Option<Instant>> {
        self.failed_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        // Every change under this lock is a single map or vector operation per write, so a
        // panic cannot leave it half-updated in a way that matters: at worst a write is in the
        // overlay without its record, and it was never acknowledged.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The overlay's entries under `prefix`.
    fn overlay_under(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.pending()
            .overlay
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Storage {
        path: path.to_path_buf(),
        source: sled::Error::Io(e),
    }
}

/// Append the record of `writes` to `out`.
fn encode(writes: &[Write], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    for write in writes {
        match write {
            Write::Put(k, v) => {
                out.push(PUT);
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            Write::Delete(k) => {
                out.push(DELETE);
                out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                out.extend_from_slice(k);
            }
        }
    }
    let len = (out.len() - start - HEADER) as u32;
    let sum = Sha256::digest(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&sum[..8]);
}

/// The writes of every complete record at the start of `bytes`, up to the first one that is cut
/// short or fails its checksum.
fn complete_records(bytes: &[u8]) -> Vec<Vec<Write>> {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if Sha256::digest(payload)[..8] != header[4..] {
            break;
        }
        let Some(writes) = decode(payload) else {
            break;
        };
        records.push(writes);
        at += HEADER + len;
    }
    records
}

fn decode(mut payload: &[u8]) -> Option<Vec<Write>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    fn sized(bytes: &mut &[u8]) -> Option<Vec<u8>> {
        let len = u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?) as usize;
        Some(take(bytes, len)?.to_vec())
    }
    let mut writes = Vec::new();
    while !payload.is_empty() {
        let op = take(&mut payload, 1)?[0];
        let key = sized(&mut payload)?;
        writes.push(match op {
            PUT => Write::Put(key, sized(&mut payload)?),
            DELETE => Write::Delete(key),
            _ => return None,
        });
    }
    Some(writes)
}

impl Storage for Journaled {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.journal.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.journal
            .apply(vec![Write::Put(key.to_vec(), value.to_vec())])
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.journal.apply(vec![Write::Delete(key.to_vec())])
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.journal.scan_prefix(prefix)
    }
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.journal.scan_keys(prefix)
    }
    fn apply(&self, writes: Vec<Write>) -> Result<()> {
        self.journal.apply(writes)
    }
    /// Make every write so far durable in the journal, and start a checkpoint if the journal or
    /// the overlay has grown past its limit.
    fn flush(&self) -> Result<()> {
        if self.journal.append_pending()? {
            self.start_checkpoint();
        }
        Ok(())
    }
}

impl Journal {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(value) = self.pending().overlay.get(key) {
            return Ok(value.clone());
        }
        // Not written since the last checkpoint, or written and then checkpointed, which puts
        // it in the inner storage before it leaves the overlay.
        self.inner.get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let overlay = self.overlay_under(prefix);
        let mut found: BTreeMap<Vec<u8>, Vec<u8>> =
            self.inner.scan_prefix(prefix)?.into_iter().collect();
        for (key, value) in overlay {
            match value {
                Some(value) => found.insert(key, value),
                None => found.remove(&key),
            };
        }
        Ok(found.into_iter().collect())
    }
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let overlay = self.overlay_under(prefix);
        let mut found: std::collections::BTreeSet<Vec<u8>> =
            self.inner.scan_keys(prefix)?.into_iter().collect();
        for (key, value) in overlay {
            if value.is_some() {
                found.insert(key);
            } else {
                found.remove(&key);
            }
        }
        Ok(found.into_iter().collect())
    }
    fn apply(&self, writes: Vec<Write>) -> Result<()> {
        let mut record = Vec::new();
        encode(&writes, &mut record);
        // One lock around both, so the journal's order is the order of the overlay's writes.
        let mut pending = self.pending();
        pending.records.extend_from_slice(&record);
        for write in writes {
            let (key, value) = match write {
                Write::Put(k, v) => (k, Some(v)),
                Write::Delete(k) => (k, None),
            };
            pending.overlay_bytes += entry_size(&key, &value);
            if let Some(old) = pending.overlay.insert(key.clone(), value) {
                // A key written again (a document's tip, at every save) counts once.
                pending.overlay_bytes =
                    pending.overlay_bytes.saturating_sub(entry_size(&key, &old));
            }
        }
        Ok(())
    }

    /// Append every pending write to the journal with one write and one `fdatasync`. Returns
    /// whether a checkpoint is due.
    fn append_pending(&self) -> Result<bool> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let (records, overlay_bytes) = {
            let mut pending = self.pending();
            (std::mem::take(&mut pending.records), pending.overlay_bytes)
        };
        if !records.is_empty() {
            self.append(&mut file, records)?;
        }
        Ok(file.len >= self.checkpoint_bytes || overlay_bytes >= self.checkpoint_bytes)
    }

    /// Append `records` to `segment` and sync it. On failure, whatever part of them reached the
    /// file is cut off, so that a later record never follows a torn one (replay stops at the
    /// first), and they are pending again, ahead of anything written since, for the next flush.
    fn append(&self, segment: &mut Segment, records: Vec<u8>) -> Result<()> {
        let written = segment
            .file
            .write_all(&records)
            .and_then(|()| segment.file.sync_data());
        if let Err(e) = written {
            let _ = segment.file.set_len(segment.len);
            let mut pending = self.pending();
            let newer = std::mem::replace(&mut pending.records, records);
            pending.records.extend_from_slice(&newer);
            return Err(io_error(&self.path, e));
        }
        segment.len += records.len() as u64;
        Ok(())
    }

    /// Write the overlay to the inner storage, flush it there and delete the segments it now
    /// holds. Flushes go on meanwhile: the journal's lock is held only to append what is
    /// pending and to start the next segment.
    fn checkpoint(&self) -> Result<()> {
        let result = {
            let _only = self.checkpointing.lock().unwrap_or_else(|e| e.into_inner());
            self.seal()
                .and_then(|(frozen, sealed)| self.write_out(frozen, sealed))
        };
        let counter = match result {
            Ok(()) => &self.checkpoints_done,
            Err(_) => &self.checkpoints_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// Seal the newest segment and start the next: returns a copy of the overlay, which holds
    /// exactly the writes of the segments up to the sealed one, and that segment's number.
    /// What is pending is appended to the sealed segment first, so that the copy holds no write
    /// that no segment does: sled never gets a write a crash could take back.
    fn seal(&self) -> Result<(Frozen, u64)> {
        let io = |e: std::io::Error| io_error(&self.path, e);
        // Only a checkpoint changes the number, and only one runs at a time.
        let next = self.file.lock().unwrap_or_else(|e| e.into_inner()).number + 1;
        let new = create_segment(&self.path, next).map_err(io)?;
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let (records, frozen) = {
            let mut pending = self.pending();
            let frozen: Frozen = pending
                .overlay
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (std::mem::take(&mut pending.records), frozen)
        };
        if !records.is_empty() {
            if let Err(e) = self.append(&mut file, records) {
                drop(file);
                // The new segment is empty and not in use; a later checkpoint makes it again.
                let _ = std::fs::remove_file(segment_path(&self.path, next));
                return Err(e);
            }
        }
        let sealed = file.number;
        *file = Segment {
            file: new,
            len: 0,
            number: next,
        };
        Ok((frozen, sealed))
    }

    /// The checkpoint: `frozen` (the writes of the segments up to `sealed`) goes to the inner
    /// storage in one batch and is flushed there; then those segments are deleted.
    fn write_out(&self, frozen: Frozen, sealed: u64) -> Result<()> {
        let io = |e: std::io::Error| io_error(&self.path, e);
        let writes = frozen
            .iter()
            .map(|(k, v)| match v {
                Some(v) => Write::Put(k.clone(), v.clone()),
                None => Write::Delete(k.clone()),
            })
            .collect();
        self.inner.apply(writes)?;
        self.inner.flush()?;
        // What is now in the inner storage leaves the overlay, unless it was written again
        // meanwhile.
        {
            let mut pending = self.pending();
            for (key, value) in frozen {
                if pending.overlay.get(&key) == Some(&value) {
                    pending.overlay.remove(&key);
                    pending.overlay_bytes = pending
                        .overlay_bytes
                        .saturating_sub(entry_size(&key, &value));
                }
            }
        }
        // A segment left behind by a crash here is replayed at the next start, harmlessly.
        for (_, segment) in segments(&self.path)
            .map_err(io)?
            .into_iter()
            .filter(|&(number, _)| number <= sealed)
        {
            remove_segment(&self.path, &segment).map_err(io)?;
        }
        Ok(())
    }
}

/// The file of segment `number` of the journal at `path`: the path followed by `.` and the number.
fn segment_path(path: &Path, number: u64) -> PathBuf {
    with_suffix(path, &format!(".{number}"))
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory that holds the journal at `path`.
fn journal_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The segments of the journal at `path` that exist, oldest first, with their numbers.
pub fn segments(path: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let Some(name) = path.file_name() else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(journal_dir(path))? {
        let entry = entry?;
        let file_name = entry.file_name();
        let number = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(name.to_str()?))
            .and_then(|n| n.strip_prefix('.'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Create segment `number`, empty, and sync the directory so that the file itself survives a
/// crash: syncing a new file's data does not make its name durable.
fn create_segment(path: &Path, number: u64) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .open(segment_path(path, number))?;
    sync_dir(path)?;
    Ok(file)
}

/// Delete a segment whose writes sled holds durably, and sync the directory before the next
/// one goes. Segments go oldest first, so what a crash leaves is always the newest ones: an
/// older segment replayed alone over sled's newer state would take some keys back.
fn remove_segment(path: &Path, segment: &Path) -> std::io::Result<()> {
    std::fs::remove_file(segment)?;
    sync_dir(path)
}

/// Sync the directory that holds the journal at `path`.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(journal_dir(path))?.sync_all()
}

/// Where a checkpoint of a journal written before segments copied what it kept.
fn legacy_copy_path(journal: &Path) -> PathBuf {
    with_suffix(journal, ".next")
}

#[cfg(test)]
mod tests;
