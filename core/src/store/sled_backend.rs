//! The default on-disk [`Storage`]: one sled database per tandem home or relay.

use super::{Storage, Write};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A [`Storage`] on a sled database directory.
///
/// sled takes an exclusive lock on its directory, so only one process at a time has a home
/// open. Commands are short, so [`SledStorage::open`] waits briefly for the lock instead of
/// failing at once when two commands overlap, and [`SledStorage::open_waiting`] waits as long as
/// its caller likes, saying so once the wait is noticeable.
#[derive(Debug, Clone)]
pub struct SledStorage {
    db: sled::Db,
    path: PathBuf,
}

/// How long [`SledStorage::open`] waits for another process to release the lock.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);

impl SledStorage {
    /// Open (or create) the database at `path`, waiting up to [`DEFAULT_LOCK_WAIT`] for a lock.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_wait(path, DEFAULT_LOCK_WAIT)
    }

    /// Open (or create) the database at `path`, waiting up to `wait` for another process to
    /// release it.
    pub fn open_with_wait(path: &Path, wait: Duration) -> Result<Self> {
        Self::open_waiting(path, wait, Duration::MAX, || {})
    }

    /// Open (or create) the database at `path`, waiting up to `wait` for another process to
    /// release it, and calling `waiting` once if the lock is still held after `notice`, so that a
    /// person knows why nothing happens. Retries back off from 15 ms to a quarter of a second:
    /// quick when two short commands overlap, cheap when a long one holds the home.
    pub fn open_waiting(
        path: &Path,
        wait: Duration,
        notice: Duration,
        waiting: impl FnOnce(),
    ) -> Result<Self> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(15);
        let mut waiting = Some(waiting);
        loop {
            remove_interrupted_snapshots(path).map_err(|e| Error::Storage {
                path: path.to_path_buf(),
                source: sled::Error::Io(e),
            })?;
            // Background flushing is off: tandem flushes explicitly at each checkpoint, and a
            // flusher thread would only add wake-ups to short-lived commands.
            let config = sled::Config::new().path(path).flush_every_ms(None);
            match config.open() {
                Ok(db) => {
                    return Ok(Self {
                        db,
                        path: path.to_path_buf(),
                    })
                }
                Err(e) if is_lock_error(&e) => {
                    let waited = started.elapsed();
                    if waited >= wait {
                        return Err(Error::StoreLocked {
                            path: path.to_path_buf(),
                            waited_secs: waited.as_secs(),
                        });
                    }
                    if waited >= notice {
                        if let Some(say) = waiting.take() {
                            say();
                        }
                    }
                    std::thread::sleep(pause.min(wait - waited));
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
                Err(sled::Error::Corruption { .. }) | Err(sled::Error::Unsupported(_)) => {
                    return Err(Error::StoreCorrupt {
                        path: path.to_path_buf(),
                        reason: "sled reports corruption".into(),
                    })
                }
                Err(sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::StoreCorrupt {
                        path: path.to_path_buf(),
                        reason: io.to_string(),
                    })
                }
                Err(source) => {
                    return Err(Error::Storage {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
    }

    /// The directory this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the database occupies on disk, as sled reports it.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.db.size_on_disk().map_err(|e| self.fail(e))
    }
}

/// Remove the snapshot a process left half-written when it was killed while opening the store at
/// `dir`, provided no process has the store open now. Returns how many files were removed.
///
/// Each time sled 0.34 opens a store that has new writes, it writes a snapshot of its page table
/// to `snap.<position>.generating`, syncs it, renames it to `snap.<position>`, and only then
/// removes the older snapshot. When it opens, it reads the newest file whose name starts with
/// `snap.`, and that includes a `.generating` file. A command killed after sled created that file
/// and before it finished writing it leaves it empty or cut short, and from then on sled refuses
/// the store ("empty/corrupt snapshot file found", reported as corruption) although nothing in it
/// is damaged: the log holds every write, and the previous complete snapshot is still there.
///
/// Removing the `.generating` file puts the store back in the state sled would have left had the
/// kill come a moment earlier, before it created the file, which its recovery handles: it reads
/// the previous snapshot and replays the log after it, exactly what the killed open was doing.
/// sled removes such files itself after its next complete snapshot. Nothing else is touched: the
/// log, the complete snapshots and the configuration stay as they are, so a store that is really
/// damaged is still reported as damaged with its files intact.
fn remove_interrupted_snapshots(dir: &Path) -> std::io::Result<usize> {
    if interrupted_snapshots(dir)?.is_empty() {
        return Ok(0);
    }
    // sled holds an exclusive lock on its `db` file for as long as the store is open. Holding the
    // same lock here shows that no process is writing a snapshot at this moment, and keeps any
    // from starting until the stale ones are gone; a process that tries meanwhile finds the store
    // locked and retries like any other overlapping command.
    let log = match std::fs::File::open(dir.join("db")) {
        Ok(log) => log,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    match log.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(0),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    // Listed again under the lock: a snapshot seen before it may have been completed since.
    let mut removed = 0;
    for file in interrupted_snapshots(dir)? {
        match std::fs::remove_file(&file) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    // Dropping `log` releases the lock.
    Ok(removed)
}

/// The snapshot files in `dir` that sled started and never completed.
fn interrupted_snapshots(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            found.push(entry.path());
        }
    }
    Ok(found)
}

fn is_lock_error(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    }
}

impl SledStorage {
    /// Damage found while reading is reported as a damaged store, with its path, so the person
    /// knows it is the disk and not their input; other failures keep sled's own words.
    fn fail(&self, e: sled::Error) -> Error {
        match e {
            sled::Error::Corruption { .. } => Error::StoreCorrupt {
                path: self.path.clone(),
                reason: "sled found corrupted data".into(),
            },
            source => Error::Storage {
                path: self.path.clone(),
                source,
            },
        }
    }
}

impl Storage for SledStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .db
            .get(key)
            .map_err(|e| self.fail(e))?
            .map(|v| v.to_vec()))
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.insert(key, value).map_err(|e| self.fail(e))?;
        Ok(())
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.db.remove(key).map_err(|e| self.fail(e))?;
        Ok(())
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.db
            .scan_prefix(prefix)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(|e| self.fail(e))
            })
            .collect()
    }
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.db
            .scan_prefix(prefix)
            .keys()
            .map(|r| r.map(|k| k.to_vec()).map_err(|e| self.fail(e)))
            .collect()
    }
    fn apply(&self, writes: Vec<Write>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for write in writes {
            match write {
                Write::Put(k, v) => batch.insert(k, v),
                Write::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch).map_err(|e| self.fail(e))
    }
    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.fail(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The complete snapshot files of the store at `dir`, oldest first.
    fn snapshots(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with("snap.") && !name.ends_with(".generating")
            })
            .collect();
        found.sort();
        found
    }

    /// A store holding a goal and then a milestone, each written by its own command, so the
    /// second open wrote a snapshot and the next open will write another.
    fn store_after_two_commands(dir: &Path) {
        for (key, value) in [(b"goal", b"Own the release"), (b"mile", b"First demo done")] {
            let store = SledStorage::open(dir).unwrap();
            store.put(key, value).unwrap();
            store.flush().unwrap();
        }
        assert!(!snapshots(dir).is_empty(), "sled wrote no snapshot");
    }

    /// What a command killed while sled was writing its next snapshot leaves behind: the
    /// snapshot's file, named after a later position than the last complete one, holding
    /// `contents` (nothing, or a part of what sled meant to write).
    fn interrupt_a_snapshot(dir: &Path, contents: &[u8]) -> PathBuf {
        let newest = snapshots(dir).pop().unwrap();
        let name = newest.file_name().unwrap().to_string_lossy().into_owned();
        let position = u64::from_str_radix(name.trim_start_matches("snap."), 16).unwrap();
        let interrupted = dir.join(format!("snap.{:016X}.generating", position + 1));
        std::fs::write(&interrupted, contents).unwrap();
        interrupted
    }

    #[test]
    fn a_store_opens_after_a_command_was_killed_while_sled_wrote_its_snapshot() {
        for contents in [&b""[..], &[0x42; 40][..]] {
            let dir = tempfile::tempdir().unwrap();
            store_after_two_commands(dir.path());
            let interrupted = interrupt_a_snapshot(dir.path(), contents);
            // sled on its own refuses such a store (a failed open writes nothing). The last
            // command's sled may still be letting go of its lock in a background thread, so a
            // lock refusal is waited out, as `SledStorage::open` does.
            let deadline = std::time::Instant::now() + DEFAULT_LOCK_WAIT;
            let plain = loop {
                let plain = sled::Config::new()
                    .path(dir.path())
                    .flush_every_ms(None)
                    .open();
                match &plain {
                    Err(e) if is_lock_error(e) && std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => break plain,
                }
            };
            assert!(
                matches!(plain, Err(sled::Error::Corruption { .. })),
                "sled opened a store with an interrupted snapshot: {plain:?}"
            );

            let store = SledStorage::open(dir.path()).unwrap();
            assert_eq!(
                store.get(b"goal").unwrap(),
                Some(b"Own the release".to_vec())
            );
            assert_eq!(
                store.get(b"mile").unwrap(),
                Some(b"First demo done".to_vec())
            );
            assert!(!interrupted.exists());
            store.put(b"note", b"Written after recovery").unwrap();
            store.flush().unwrap();
            drop(store);
            let store = SledStorage::open(dir.path()).unwrap();
            assert_eq!(store.scan_prefix(b"").unwrap().len(), 3);
        }
    }

    #[test]
    fn a_snapshot_being_written_by_a_process_that_has_the_store_open_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        store_after_two_commands(dir.path());
        let holder = SledStorage::open(dir.path()).unwrap();
        let in_progress = interrupt_a_snapshot(dir.path(), b"");
        let second = SledStorage::open_with_wait(dir.path(), Duration::from_millis(50));
        assert!(
            matches!(second, Err(Error::StoreLocked { .. })),
            "{second:?}"
        );
        assert!(in_progress.exists());
        drop(holder);
    }

    #[test]
    fn a_damaged_complete_snapshot_is_still_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        store_after_two_commands(dir.path());
        let newest = snapshots(dir.path()).pop().unwrap();
        let garbage = vec![0x5A; 64];
        std::fs::write(&newest, &garbage).unwrap();
        let opened = SledStorage::open(dir.path());
        assert!(
            matches!(opened, Err(Error::StoreCorrupt { .. })),
            "{opened:?}"
        );
        assert_eq!(std::fs::read(&newest).unwrap(), garbage);
    }
}
