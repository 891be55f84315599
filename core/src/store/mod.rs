//! Everything a device keeps on disk: byte-oriented key-value storage and its backends, and what
//! tandem builds on it.
//!
//! The layers, from the bottom:
//! - [`Storage`] (this file), with [`MemoryStorage`] and [`SledStorage`]: keys and bytes. Keys
//!   are built as [`StorageKey`]s (`key.rs`), whose segments cannot contain the `/` separator.
//! - [`docstore`]: automerge documents as snapshot and incremental chunks, with their sync states.
//! - [`Home`]: one device's workspaces, its identity and its bookkeeping; what the CLI opens.
//! - [`quick`]: adding an item as one change built from a document's tip, without loading it.
//! - [`read_model`]: what the read commands show, kept beside a document by its heads, so that
//!   reading does not load it.
//! - [`Bundle`]: a workspace as one file, for sharing without a relay.
//!
//! Read this if you are adding a backend or changing how documents are laid out on disk. The
//! [`Storage`] trait is deliberately small so that a backend is easy to write and to test: keys are
//! byte strings ordered lexicographically, values are opaque bytes.
//!
//! Contract every backend keeps:
//! - A successful [`Storage::put`], [`Storage::delete`] or [`Storage::apply`] is visible to every
//!   later read through the same handle, and to other handles of the same backend.
//! - [`Storage::apply`] is atomic: after a crash either all of a batch is present or none of it.
//! - Nothing is promised to survive a crash until [`Storage::flush`] returns `Ok`. Callers flush
//!   before they report success to a user or acknowledge data to a peer.
//! - Handles are `Send + Sync`; concurrent writers to different keys do not interfere.
//!
//! [`MemoryStorage`] is for tests; [`SledStorage`] is the default on disk. Both run the same
//! conformance suite in `tests` below.

pub mod docstore;
pub mod journal;
pub mod quick;
pub mod read_model;

mod bundle;
mod doc_ref;
mod home;
mod key;
mod memory;
mod sled_backend;

pub use bundle::Bundle;
pub use doc_ref::DocRef;
pub use home::{
    new_document_id, Home, ImportReport, Opened, RedeemedInvite, RelaySettings, WorkspaceInfo,
};
pub use journal::{CheckpointCounts, Journaled};
pub use key::StorageKey;
pub use memory::MemoryStorage;
pub use read_model::WorkspaceView;
pub use sled_backend::{SledStorage, DEFAULT_LOCK_WAIT};

use crate::Result;

/// One write in an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace a value.
    Put(Vec<u8>, Vec<u8>),
    /// Remove a key if present.
    Delete(Vec<u8>),
}

/// A small, documented byte store. See the module docs for the contract.
pub trait Storage: Send + Sync {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Insert or replace the value under `key`.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Remove `key`; removing a missing key is not an error.
    fn delete(&self, key: &[u8]) -> Result<()>;
    /// Every key and value whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Every key that starts with `prefix`, in key order, without reading the values: a backend
    /// that keeps large values apart can answer this much faster than [`Storage::scan_prefix`].
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .scan_prefix(prefix)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    /// Apply all writes atomically.
    fn apply(&self, writes: Vec<Write>) -> Result<()>;
    /// Make every write so far durable.
    fn flush(&self) -> Result<()>;
}

impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        (**self).put(key, value)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        (**self).delete(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan_prefix(prefix)
    }
    fn scan_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        (**self).scan_keys(prefix)
    }
    fn apply(&self, writes: Vec<Write>) -> Result<()> {
        (**self).apply(writes)
    }
    fn flush(&self) -> Result<()> {
        (**self).flush()
    }
}

#[cfg(test)]
mod tests {
    //! One conformance suite, run against every backend.
    use super::*;

    fn conformance(store: &dyn Storage) {
        assert_eq!(store.get(b"a").unwrap(), None);
        store.put(b"a/1", b"one").unwrap();
        store.put(b"a/2", b"two").unwrap();
        store.put(b"b/1", b"other").unwrap();
        assert_eq!(store.get(b"a/1").unwrap(), Some(b"one".to_vec()));
        let scanned = store.scan_prefix(b"a/").unwrap();
        assert_eq!(
            scanned,
            vec![
                (b"a/1".to_vec(), b"one".to_vec()),
                (b"a/2".to_vec(), b"two".to_vec())
            ]
        );
        assert_eq!(
            store.scan_keys(b"a/").unwrap(),
            vec![b"a/1".to_vec(), b"a/2".to_vec()]
        );
        store.put(b"a/1", b"uno").unwrap();
        assert_eq!(store.get(b"a/1").unwrap(), Some(b"uno".to_vec()));
        store.delete(b"a/1").unwrap();
        store.delete(b"missing").unwrap();
        assert_eq!(store.get(b"a/1").unwrap(), None);
        store
            .apply(vec![
                Write::Put(b"c/1".to_vec(), b"x".to_vec()),
                Write::Delete(b"a/2".to_vec()),
                Write::Put(b"c/2".to_vec(), b"y".to_vec()),
            ])
            .unwrap();
        assert_eq!(store.scan_prefix(b"a/").unwrap(), vec![]);
        assert_eq!(store.scan_prefix(b"c/").unwrap().len(), 2);
        store.flush().unwrap();
        assert_eq!(store.scan_prefix(b"").unwrap().len(), 3);
    }

    #[test]
    fn memory_storage_keeps_the_contract() {
        conformance(&MemoryStorage::default());
    }

    #[test]
    fn sled_storage_keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStorage::open(dir.path()).unwrap();
        conformance(&store);
    }

    #[test]
    fn sled_storage_survives_reopen_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStorage::open(dir.path()).unwrap();
            store.put(b"k", b"v").unwrap();
            store.flush().unwrap();
        }
        let store = SledStorage::open(dir.path()).unwrap();
        assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_second_open_of_a_sled_directory_reports_it_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _first = SledStorage::open(dir.path()).unwrap();
        let second = SledStorage::open_with_wait(dir.path(), std::time::Duration::from_millis(50));
        assert!(
            matches!(second, Err(crate::Error::StoreLocked { .. })),
            "{second:?}"
        );
    }
}
