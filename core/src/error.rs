//! The one error type of tandem-core.
//!
//! Every variant carries enough context to print a one-line message that a mentoring pair can act
//! on; the CLI prints them with `{:#}` and maps them to exit code 1.

use std::path::PathBuf;

/// Errors returned by tandem-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed (disk full, permissions, I/O); sled's own error is the source,
    /// so a caller that prints the chain (`{:#}` with anyhow, or [`Chain`]) shows both.
    #[error("storage error at {}", path.display())]
    Storage {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },

    /// Bookkeeping that the home stores as JSON could not be encoded.
    #[error("could not encode {what}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },

    /// Another process held the store's lock for as long as the caller was willing to wait.
    #[error(
        "the tandem home at {} is in use by another tandem process, still after {waited_secs} s; try again when it has finished",
        path.display()
    )]
    StoreLocked { path: PathBuf, waited_secs: u64 },

    /// The store's files are damaged and cannot be read.
    #[error("the store at {path} is damaged and cannot be opened: {reason}")]
    StoreCorrupt { path: PathBuf, reason: String },

    /// A stored document could not be loaded by automerge.
    #[error("document {doc} could not be loaded: {reason}")]
    DocumentCorrupt { doc: String, reason: String },

    /// The document was written by a newer tandem than this one.
    #[error("workspace {doc} uses schema version {found}, but this tandem understands up to {supported}; upgrade tandem to open it")]
    SchemaTooNew {
        doc: String,
        found: u64,
        supported: u64,
    },

    /// The document is not a tandem workspace at all.
    #[error("document {doc} is not a tandem workspace ({reason})")]
    NotAWorkspace { doc: String, reason: String },

    /// No item of that kind matches the given id or prefix.
    #[error("no {kind} matches '{prefix}'")]
    UnknownId { kind: &'static str, prefix: String },

    /// More than one item matches the given prefix.
    #[error("'{prefix}' is ambiguous: it matches {kind}s {}", candidates.join(", "))]
    AmbiguousId {
        kind: &'static str,
        prefix: String,
        candidates: Vec<String>,
    },

    /// The input was not valid for the field it was meant for.
    #[error("{0}")]
    Invalid(String),

    /// The workspace named by the user is not in this home.
    #[error("no workspace matches '{0}' in this home (see `tandem workspaces`)")]
    UnknownWorkspace(String),

    /// The user named a workspace that several workspaces match.
    #[error("'{prefix}' matches several workspaces: {}", candidates.join(", "))]
    AmbiguousWorkspace {
        prefix: String,
        candidates: Vec<String>,
    },

    /// No workspace is selected and none was named.
    #[error("no workspace yet: create one with `tandem init --title T --name N --role mentor|mentee`, or import a bundle")]
    NoWorkspace,

    /// This device joined the workspace as an observer.
    #[error("you follow “{title}” as an observer, so it is read-only on this device (private notes with --private still work)")]
    ReadOnly { title: String },

    /// A bundle file could not be read.
    #[error("bundle is unreadable: {0}")]
    BadBundle(String),

    /// automerge rejected an operation.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// Shows an error and every cause under it on one line, `outer: inner: innermost`, as anyhow's
/// `{:#}` does; for code that logs errors without anyhow (the relay's log lines).
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl Error {
    /// This error with its causes, for one log line.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }

    /// A short, stable word for the kind of error, for programs that read errors as JSON
    /// (`tandem --json` prints `{"error": …, "code": …}`): `not_found`, `ambiguous`, `invalid`,
    /// `read_only`, `locked`, `schema_too_new`, `not_a_workspace`, `damaged`, `storage` or
    /// `document`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownId { .. } | Error::UnknownWorkspace(_) | Error::NoWorkspace => {
                "not_found"
            }
            Error::AmbiguousId { .. } | Error::AmbiguousWorkspace { .. } => "ambiguous",
            Error::Invalid(_) | Error::BadBundle(_) => "invalid",
            Error::ReadOnly { .. } => "read_only",
            Error::StoreLocked { .. } => "locked",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::NotAWorkspace { .. } => "not_a_workspace",
            Error::StoreCorrupt { .. } | Error::DocumentCorrupt { .. } => "damaged",
            Error::Storage { .. } | Error::Encode { .. } => "storage",
            Error::Automerge(_) => "document",
        }
    }
}

/// A convenient alias used throughout tandem-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_error_keeps_sleds_error_as_its_cause() {
        let err = Error::Storage {
            path: PathBuf::from("/homes/ana"),
            source: sled::Error::Unsupported("a newer format".into()),
        };
        assert_eq!(err.to_string(), "storage error at /homes/ana");
        let cause = std::error::Error::source(&err).expect("the sled error is kept");
        assert_eq!(cause.to_string(), "Unsupported: a newer format");
        assert_eq!(
            err.chain().to_string(),
            "storage error at /homes/ana: Unsupported: a newer format"
        );
    }
}
