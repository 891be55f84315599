//! Keys in a [`Storage`](super::Storage): segments joined by `/`.
//!
//! The layout (`doc/<id>/<kind>/<hash>`, `ws/<id>/me`, …) relies on `/` separating segments, and
//! some segments come from elsewhere: a document id read from a bundle, a relay's storage id. A
//! segment that held a `/` could reach into another document's keys, or be mistaken for a longer
//! key when keys are listed by prefix. So a key is built only from checked segments, and a key
//! that cannot be built is an error, never a write somewhere unexpected.

use crate::{Error, Result};

/// The separator between the segments of a key.
pub const SEPARATOR: char = '/';

/// A storage key whose segments are non-empty and free of the separator `/`. It dereferences to the
/// bytes the byte-oriented [`Storage`](super::Storage) trait takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    /// The key of `segments`; refused when a segment is empty or contains the separator.
    pub fn new<S: AsRef<str>>(segments: &[S]) -> Result<Self> {
        let mut key = String::new();
        for segment in segments {
            let segment = segment.as_ref();
            if segment.is_empty() || segment.contains(SEPARATOR) {
                return Err(Error::Invalid(format!(
                    "'{segment}' cannot be part of a storage key: it is empty or contains '{SEPARATOR}'"
                )));
            }
            if !key.is_empty() {
                key.push(SEPARATOR);
            }
            key.push_str(segment);
        }
        if key.is_empty() {
            return Err(Error::Invalid("a storage key needs a segment".into()));
        }
        Ok(Self(key))
    }

    /// This key with one more segment.
    pub fn join(&self, segment: &str) -> Result<Self> {
        let tail = Self::new(&[segment])?;
        Ok(Self(format!("{}{SEPARATOR}{}", self.0, tail.0)))
    }

    /// The bytes every key below this one starts with: this key and a separator.
    pub fn children(&self) -> Vec<u8> {
        format!("{}{SEPARATOR}", self.0).into_bytes()
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's bytes, owned (for a [`Write`](super::Write)).
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

impl std::ops::Deref for StorageKey {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Display for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_joins_its_segments() {
        let key = StorageKey::new(&["ws", "4NMNnkMhL8jXrdJ9jamS58PAVdXu", "me"]).unwrap();
        assert_eq!(key.as_str(), "ws/4NMNnkMhL8jXrdJ9jamS58PAVdXu/me");
        assert_eq!(&*key, b"ws/4NMNnkMhL8jXrdJ9jamS58PAVdXu/me");
        assert_eq!(
            key.join("x").unwrap().as_str(),
            "ws/4NMNnkMhL8jXrdJ9jamS58PAVdXu/me/x"
        );
        assert_eq!(key.children(), b"ws/4NMNnkMhL8jXrdJ9jamS58PAVdXu/me/");
    }

    #[test]
    fn a_segment_cannot_reach_into_other_keys() {
        assert!(StorageKey::new(&["doc", "a/snapshot", "x"]).is_err());
        assert!(StorageKey::new(&["doc", "", "x"]).is_err());
        assert!(StorageKey::new::<&str>(&[]).is_err());
        let doc = StorageKey::new(&["doc", "a"]).unwrap();
        assert!(doc.join("../b").is_err());
        assert!(doc.join("").is_err());
    }
}
