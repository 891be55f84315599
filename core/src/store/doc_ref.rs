//! Which document of a home something refers to: a shared workspace, or a workspace's private
//! notes.
//!
//! Both are automerge documents stored the same way, but private notes never leave the device:
//! they are never listed as a workspace, synced or bundled. Code asks a [`DocRef`] which one it
//! has instead of looking at the id's text. Only the id a document is stored under still marks
//! private notes with a `private-` prefix, so homes written before keep working; that text is
//! read and written here and nowhere else.

use crate::protocol::DocumentId;

/// How the id of a private notes document begins in the store.
const PRIVATE_PREFIX: &str = "private-";

/// A document of a home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocRef {
    /// A shared workspace, stored under its automerge-repo document id.
    Workspace(DocumentId),
    /// The private notes kept beside a workspace on this device only.
    Private(DocumentId),
}

impl DocRef {
    /// Read the id a document is stored under; `None` when it is not a document id of either
    /// kind.
    pub fn from_stored(id: &str) -> Option<Self> {
        match id.strip_prefix(PRIVATE_PREFIX) {
            Some(rest) => rest.parse().ok().map(DocRef::Private),
            None => id.parse().ok().map(DocRef::Workspace),
        }
    }

    /// Whether this is a private notes document, which never leaves the device.
    pub fn is_private(&self) -> bool {
        matches!(self, DocRef::Private(_))
    }

    /// The automerge-repo document id.
    pub fn document_id(&self) -> DocumentId {
        match self {
            DocRef::Workspace(id) | DocRef::Private(id) => *id,
        }
    }
}

/// The id the document is stored under.
impl std::fmt::Display for DocRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocRef::Workspace(id) => write!(f, "{id}"),
            DocRef::Private(id) => write!(f, "{PRIVATE_PREFIX}{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_notes_are_told_apart_by_their_kind() {
        let id = DocumentId::random();
        let shared = DocRef::from_stored(&id.to_string()).unwrap();
        assert_eq!(shared, DocRef::Workspace(id));
        assert!(!shared.is_private());
        let private = DocRef::from_stored(&DocRef::Private(id).to_string()).unwrap();
        assert_eq!(private, DocRef::Private(id));
        assert!(private.is_private());
        assert_eq!(private.document_id(), id);
        assert!(DocRef::from_stored("private-").is_none());
        assert!(DocRef::from_stored("not/an/id").is_none());
    }
}
