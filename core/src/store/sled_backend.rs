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
