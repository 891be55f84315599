use super::*;
use crate::store::MemoryStorage;

fn put(k: &str, v: &str) -> Write {
    Write::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// How many bytes the segments of the journal at `path` hold together.
fn journal_bytes(path: &Path) -> u64 {
    segments(path)
        .unwrap()
        .iter()
        .map(|(_, segment)| std::fs::metadata(segment).unwrap().len())
        .sum()
}

/// The segment that flushes append to.
fn newest_segment(path: &Path) -> PathBuf {
    segments(path).unwrap().pop().expect("a segment").1
}

/// Whatever a flush acknowledged comes back after a crash that lost every write the inner
/// storage had not flushed (here: all of them, by starting from an empty one).
#[test]
fn flushed_writes_survive_the_loss_of_the_inner_storage() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let store = Journaled::open(Arc::new(MemoryStorage::default()), &path).unwrap();
    store
        .apply(vec![put("doc/a/1", "goal"), put("tip/a", "1")])
        .unwrap();
    store
        .apply(vec![
            put("doc/a/2", "milestone"),
            Write::Delete(b"doc/a/1".to_vec()),
        ])
        .unwrap();
    store.flush().unwrap();
    store.put(b"never-flushed", b"x").unwrap();
    drop(store);

    let fresh = Arc::new(MemoryStorage::default());
    let reopened = Journaled::open(fresh.clone(), &path).unwrap();
    assert_eq!(
        fresh.get(b"doc/a/2").unwrap().as_deref(),
        Some(&b"milestone"[..])
    );
    assert_eq!(fresh.get(b"tip/a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        fresh.get(b"doc/a/1").unwrap(),
        None,
        "the delete is replayed in order"
    );
    assert_eq!(fresh.get(b"never-flushed").unwrap(), None);
    assert_eq!(journal_bytes(&path), 0, "replayed, then emptied");
    assert_eq!(
        segments(&path).unwrap().len(),
        1,
        "the replayed ones are gone"
    );
    drop(reopened);
}

/// Two notes written and flushed one after the other, the journal then damaged by `damage`
/// and replayed into an empty store, which is returned.
fn two_notes_replayed_after(damage: impl FnOnce(&Path)) -> Arc<MemoryStorage> {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let store = Journaled::open(Arc::new(MemoryStorage::default()), &path).unwrap();
    for (key, value) in [(&b"note/1"[..], &b"first"[..]), (b"note/2", b"second")] {
        store.put(key, value).unwrap();
        store.flush().unwrap();
    }
    drop(store);
    damage(&newest_segment(&path));
    let fresh = Arc::new(MemoryStorage::default());
    Journaled::open(fresh.clone(), &path).unwrap();
    fresh
}

#[test]
fn a_record_cut_short_is_dropped_with_what_follows() {
    let replayed = two_notes_replayed_after(|path| {
        let len = std::fs::metadata(path).unwrap().len();
        let file = OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(len - 3).unwrap();
    });
    assert!(replayed.get(b"note/1").unwrap().is_some());
    assert_eq!(replayed.get(b"note/2").unwrap(), None);
}

#[test]
fn a_damaged_record_is_refused_by_its_checksum() {
    let replayed = two_notes_replayed_after(|path| {
        let mut bytes = std::fs::read(path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(path, &bytes).unwrap();
    });
    assert!(replayed.get(b"note/1").unwrap().is_some());
    assert_eq!(replayed.get(b"note/2").unwrap(), None);
}

#[test]
fn reads_see_every_write_before_the_inner_storage_has_it() {
    let tmp = dir();
    let inner = Arc::new(MemoryStorage::default());
    inner.put(b"doc/a/incremental/1", b"old chunk").unwrap();
    inner.put(b"doc/a/snapshot/1", b"old snapshot").unwrap();
    let store = Journaled::open(inner.clone(), &tmp.path().join("journal")).unwrap();
    store
        .apply(vec![
            put("doc/a/snapshot/2", "compacted"),
            Write::Delete(b"doc/a/incremental/1".to_vec()),
            Write::Delete(b"doc/a/snapshot/1".to_vec()),
            put("tip/a", "2"),
        ])
        .unwrap();
    store.flush().unwrap();
    assert_eq!(inner.get(b"tip/a").unwrap(), None, "not checkpointed yet");
    assert_eq!(store.get(b"tip/a").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(store.get(b"doc/a/snapshot/1").unwrap(), None);
    let listed = store.scan_prefix(b"doc/a/").unwrap();
    assert_eq!(
        listed,
        [(b"doc/a/snapshot/2".to_vec(), b"compacted".to_vec())]
    );
    assert_eq!(
        store.scan_keys(b"doc/a/").unwrap(),
        [b"doc/a/snapshot/2".to_vec()]
    );
    store.checkpoint().unwrap();
    assert_eq!(inner.scan_prefix(b"doc/a/").unwrap(), listed);
    assert_eq!(inner.get(b"tip/a").unwrap().as_deref(), Some(&b"2"[..]));
    assert!(store.journal.pending().overlay.is_empty());
    assert_eq!(store.scan_prefix(b"doc/a/").unwrap(), listed);
}

/// A key written again and again (a document's tip) counts once towards the overlay's
/// size, so it does not make every later flush a checkpoint.
#[test]
fn a_key_written_many_times_counts_once_in_the_overlay() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(MemoryStorage::default());
    let store = Journaled::with_checkpoint(inner.clone(), &path, 10_000).unwrap();
    for i in 0..200 {
        store.put(b"tip/a", &[i as u8; 100]).unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.journal.pending().overlay_bytes, 105);
    store.put(b"note/1", b"first").unwrap();
    store.flush().unwrap();
    assert_eq!(
        inner.get(b"note/1").unwrap(),
        None,
        "a small write after a checkpoint is not checkpointed at once"
    );
}

/// What is appended while sled takes a checkpoint stays in the journal, in the segment
/// after the sealed one.
#[test]
fn writes_made_during_a_checkpoint_stay_in_the_journal() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(MemoryStorage::default());
    let store = Journaled::with_checkpoint(inner.clone(), &path, u64::MAX).unwrap();
    store.put(b"goal/1", b"before").unwrap();
    store.flush().unwrap();
    let (frozen, sealed) = store.journal.seal().unwrap();
    store.put(b"goal/2", b"during").unwrap();
    store.flush().unwrap();
    store.journal.write_out(frozen, sealed).unwrap();
    assert!(inner.get(b"goal/1").unwrap().is_some());
    assert_eq!(inner.get(b"goal/2").unwrap(), None);
    drop(store);
    let fresh = Arc::new(MemoryStorage::default());
    Journaled::open(fresh.clone(), &path).unwrap();
    assert_eq!(
        fresh.get(b"goal/1").unwrap(),
        None,
        "covered by the checkpoint"
    );
    assert_eq!(
        fresh.get(b"goal/2").unwrap().as_deref(),
        Some(&b"during"[..])
    );
}

/// An inner storage a test controls: its flush can wait behind a gate until the test opens
/// it (or give up after 10 s and note that it did), and its disk can be full, so that every
/// batch of writes fails. Batches are counted either way.
struct TestStorage {
    memory: MemoryStorage,
    full: bool,
    attempts: std::sync::atomic::AtomicUsize,
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    gave_up: std::sync::atomic::AtomicBool,
}

impl TestStorage {
    fn new(full: bool, open: bool) -> Self {
        Self {
            memory: MemoryStorage::default(),
            full,
            attempts: Default::default(),
            open: std::sync::Mutex::new(open),
            opened: Default::default(),
            gave_up: Default::default(),
        }
    }

    /// A storage whose flush waits for the gate.
    fn gated() -> Self {
        Self::new(false, false)
    }

    /// A storage whose disk is full.
    fn full() -> Self {
        Self::new(true, true)
    }
}

impl Storage for TestStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.memory.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.apply(vec![Write::Put(key.to_vec(), value.to_vec())])
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.apply(vec![Write::Delete(key.to_vec())])
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.memory.scan_prefix(prefix)
    }
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.memory.scan_keys(prefix)
    }
    fn apply(&self, writes: Vec<Write>) -> Result<()> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.full {
            return Err(io_error(
                Path::new("full"),
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        self.memory.apply(writes)
    }
    fn flush(&self) -> Result<()> {
        let open = self.open.lock().unwrap();
        let (_gate, waited) = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(10), |open| !*open)
            .unwrap();
        if waited.timed_out() {
            self.gave_up.store(true, Ordering::SeqCst);
        }
        self.memory.flush()
    }
}

/// The relay's flushers must never wait for sled: a checkpoint runs beside them.
#[test]
fn flushes_go_on_while_a_checkpoint_waits_for_the_inner_storage() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(TestStorage::gated());
    let store = Journaled::with_checkpoint(inner.clone(), &path, 100).unwrap();
    store.put(b"goal/1", &[1; 200]).unwrap();
    store.flush().unwrap();
    store.put(b"goal/2", b"while sled is busy").unwrap();
    store.flush().unwrap();
    *inner.open.lock().unwrap() = true;
    inner.opened.notify_all();
    store.wait_for_checkpoint();
    assert!(
        !inner.gave_up.load(Ordering::SeqCst),
        "the flushes waited for the checkpoint"
    );
    assert!(inner.memory.get(b"goal/1").unwrap().is_some());
    assert_eq!(
        store.get(b"goal/2").unwrap().as_deref(),
        Some(&b"while sled is busy"[..])
    );
    drop(store);
    // The checkpoint may or may not have taken the second write with it; either way it is
    // in the inner storage or in the journal.
    let reopened = Journaled::open(inner, &path).unwrap();
    assert_eq!(
        reopened.get(b"goal/2").unwrap().as_deref(),
        Some(&b"while sled is busy"[..])
    );
}

/// A checkpoint that fails loses nothing, is not tried again at every flush, and a clean
/// shutdown's checkpoint reports it.
#[test]
fn a_failing_checkpoint_keeps_the_journal_and_waits_before_trying_again() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(TestStorage::full());
    let store = Journaled::with_checkpoint(inner.clone(), &path, 100).unwrap();
    store.put(b"goal/1", &[1; 200]).unwrap();
    store.flush().unwrap();
    store.wait_for_checkpoint();
    assert_eq!(inner.attempts.load(Ordering::SeqCst), 1);
    for i in 0..100u8 {
        store.put(b"goal/2", &[i; 10]).unwrap();
        store.flush().unwrap();
        store.wait_for_checkpoint();
    }
    let attempts = inner.attempts.load(Ordering::SeqCst);
    assert!(attempts < 10, "{attempts} checkpoints tried in a row");
    assert_eq!(
        store.checkpoint_counts(),
        CheckpointCounts {
            done: 0,
            failed: attempts as u64
        }
    );
    assert_eq!(
        store.get(b"goal/2").unwrap().as_deref(),
        Some(&[99; 10][..])
    );
    assert!(store.checkpoint().is_err());
    drop(store);
    let fresh = Arc::new(MemoryStorage::default());
    Journaled::open(fresh.clone(), &path).unwrap();
    assert_eq!(
        fresh.get(b"goal/1").unwrap().as_deref(),
        Some(&[1; 200][..])
    );
    assert_eq!(
        fresh.get(b"goal/2").unwrap().as_deref(),
        Some(&[99; 10][..])
    );
}

#[test]
fn a_checkpoint_flushes_the_inner_storage_and_empties_the_journal() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(MemoryStorage::default());
    let store = Journaled::with_checkpoint(inner.clone(), &path, 100).unwrap();
    store.put(b"small", b"x").unwrap();
    store.flush().unwrap();
    assert!(journal_bytes(&path) > 0);
    store.put(b"large", &[7; 200]).unwrap();
    store.flush().unwrap();
    store.wait_for_checkpoint();
    assert_eq!(journal_bytes(&path), 0);
    assert_eq!(
        segments(&path).unwrap().len(),
        1,
        "the sealed segment is gone"
    );
    assert_eq!(
        store.checkpoint_counts(),
        CheckpointCounts { done: 1, failed: 0 }
    );
    store.put(b"after", b"y").unwrap();
    store.flush().unwrap();
    assert!(journal_bytes(&path) > 0);
    assert_eq!(inner.get(b"large").unwrap().as_deref(), Some(&[7; 200][..]));
}

/// A checkpoint that stopped after sled had its writes but before deleting the sealed
/// segment (a crash) leaves that segment to be replayed over sled's newer state: the newer
/// segments come after it, so every key ends as it was last written.
#[test]
fn a_sealed_segment_left_behind_by_a_crash_replays_harmlessly() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(MemoryStorage::default());
    let store = Journaled::with_checkpoint(inner.clone(), &path, u64::MAX).unwrap();
    store.put(b"goal/1", b"first title").unwrap();
    store.put(b"tip/a", b"1").unwrap();
    store.flush().unwrap();
    let sealed_file = newest_segment(&path);
    let sealed_copy = std::fs::read(&sealed_file).unwrap();
    let (frozen, sealed) = store.journal.seal().unwrap();
    store.put(b"goal/1", b"second title").unwrap();
    store.flush().unwrap();
    store.journal.write_out(frozen, sealed).unwrap();
    assert!(!sealed_file.exists(), "deleted once sled has it");
    drop(store);
    std::fs::write(&sealed_file, sealed_copy).unwrap();
    let reopened = Journaled::open(inner.clone(), &path).unwrap();
    assert_eq!(
        inner.get(b"goal/1").unwrap().as_deref(),
        Some(&b"second title"[..])
    );
    assert_eq!(inner.get(b"tip/a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(journal_bytes(&path), 0);
    drop(reopened);
}

/// A checkpoint writes to sled only what a segment holds: a write made but not yet flushed
/// when the checkpoint starts is appended to the segment it seals, so that segment and sled
/// agree.
#[test]
fn a_checkpoint_seals_what_is_pending_into_its_segment() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let inner = Arc::new(MemoryStorage::default());
    let store = Journaled::with_checkpoint(inner.clone(), &path, u64::MAX).unwrap();
    store.put(b"note/1", b"flushed").unwrap();
    store.flush().unwrap();
    store.put(b"note/2", b"not yet flushed").unwrap();
    let sealed_file = newest_segment(&path);
    let (frozen, _) = store.journal.seal().unwrap();
    let replayed = Arc::new(MemoryStorage::default());
    for writes in complete_records(&std::fs::read(&sealed_file).unwrap()) {
        replayed.apply(writes).unwrap();
    }
    let in_segment: Frozen = replayed
        .scan_prefix(b"")
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    assert_eq!(frozen, in_segment);
    assert!(store.journal.pending().records.is_empty());
}

/// A journal in one file, as written before segments, is replayed and then removed.
#[test]
fn a_journal_written_before_segments_is_replayed() {
    let tmp = dir();
    let path = tmp.path().join("journal");
    let mut record = Vec::new();
    encode(&[put("goal/1", "kept")], &mut record);
    std::fs::write(&path, &record).unwrap();
    std::fs::write(legacy_copy_path(&path), b"a copy cut short").unwrap();
    let fresh = Arc::new(MemoryStorage::default());
    let store = Journaled::open(fresh.clone(), &path).unwrap();
    assert_eq!(fresh.get(b"goal/1").unwrap().as_deref(), Some(&b"kept"[..]));
    assert!(!path.exists() && !legacy_copy_path(&path).exists());
    store.put(b"goal/2", b"new").unwrap();
    store.flush().unwrap();
    assert!(journal_bytes(&path) > 0, "new writes go to a segment");
}
