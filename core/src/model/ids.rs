//! Item ids: the random keys under which goals, notes, check-ins, action items, resources and
//! milestones live in their collections.
//!
//! People type any unique prefix of an id; [`crate::model::Workspace::resolve`] turns the prefix
//! into an [`ItemId`], the full id of an item that exists. From there on the id travels as that
//! type, so a prefix cannot be mistaken for an id, or a title for either.

use serde::{Deserialize, Serialize};

/// The full id of an item. tandem writes 16 lowercase hex digits, but an id is whatever key the
/// item has in the document: another client may use another form, and reading accepts it as it
/// is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(String);

impl ItemId {
    /// A new random id: 16 lowercase hex digits.
    pub fn random() -> Self {
        Self(format!("{:016x}", rand::random::<u64>()))
    }

    /// An id as the document holds it (a key of a collection).
    pub fn from_stored(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ItemId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ItemId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl PartialEq<str> for ItemId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ItemId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
