//! Access tokens for the relay, kept in a small JSON file beside its store.
//!
//! Read this if you operate a relay or change how its connections are authorised. A token is a
//! secret string (`tdm_` + base58 of 24 random bytes) that a client presents when it connects.
//! The relay never stores the token itself, only the hex SHA-256 of it, so a copy of the file
//! does not let anyone connect. Each entry has a role (read, write, or program), the workspaces
//! (document ids) it opens or `"*"` for all of them, and an optional revocation time. A program
//! token is a coordinator's: it opens no document through sync at all and only reads the
//! content-free report of its workspaces at `GET /v1/program` (docs/program.md).
//!
//! The file lives outside sled on purpose: sled locks its directory for as long as the relay
//! runs, and the operator's `tandem-server token create|list|revoke` commands must work while
//! it does. Writers take an advisory lock on a sibling `.lock` file for the read-modify-write,
//! then write a temporary file and rename it over the old one, so a reader sees either the old
//! file or the new one, never half of either. The relay notices changes by the file's
//! modification time and size ([`Fingerprint`]) and reloads it.
//!
//! There are no sockets or tasks here; the relay decides when to read and what to do with a
//! revoked token.
//!
//! The file looks like this:
//!
//! ```json
//! {
//!   "version": 1,
//!   "tokens": [
//!     {
//!       "id": "3f9a2c1d",
//!       "label": "Ana's laptop",
//!       "hash": "9b74c9897bac770ffc029102a200c5de…",
//!       "role": "write",
//!       "workspaces": ["4NMNnkMhL8jXrdJ9jamS58PAVdXu"],
//!       "created_at": "2026-11-30T10:00:00Z"
//!     },
//!     { "id": "77e01b5a", "label": "coordinator", "hash": "…", "role": "read",
//!       "workspaces": "*", "created_at": "…", "revoked_at": "2026-12-01T08:00:00Z" }
//!   ]
//! }
//! ```
//!
//! ```
//! use tandem_server::tokens::{Role, Scope, TokenFile};
//! let mut file = TokenFile::default();
//! let (token, entry) = file.mint(Role::Read, Scope::All, "coordinator", None, "2026-11-30T10:00:00Z");
//! assert!(token.starts_with("tdm_"));
//! assert_eq!(file.verify(&token).map(|e| e.id.as_str()), Some(entry.id.as_str()));
//! assert!(!file.verify(&token).unwrap().access().write);
//! ```

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;
use tandem_core::jiff;
use tandem_core::protocol::DocumentId;
use tandem_core::sync::Access;

/// The prefix of every token, so that a leaked one is easy to recognise and to grep for.
pub const TOKEN_PREFIX: &str = "tdm_";

/// The token file's name inside the relay's data directory.
pub const FILE_NAME: &str = "tokens.json";

/// How many random bytes a token carries.
const TOKEN_BYTES: usize = 24;

/// The newest file format this code writes and reads.
const FORMAT_VERSION: u32 = 1;

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a token file this version understands.
    #[error("{path} is not a valid token file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// No token has the given id.
    #[error("no token has the id '{0}' (see `tandem-server token list`)")]
    UnknownId(String),
    /// A workspace given for a scope is not a document id.
    #[error("'{0}' is not a workspace id (expected an automerge document id such as 4NMNnkMhL8jXrdJ9jamS58PAVdXu)")]
    BadWorkspace(String),
    /// A role other than read, write or program.
    #[error("unknown role '{0}': expected read, write or program")]
    BadRole(String),
}

/// What a token lets its holder do to the workspaces in its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Receive documents; any change sent is refused.
    Read,
    /// Receive documents and send changes.
    Write,
    /// A program coordinator's: no document through sync, only the program report of the
    /// workspaces in scope (`GET /v1/program`), which holds no content.
    Program,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Program => "program",
        })
    }
}

impl FromStr for Role {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "program" => Ok(Role::Program),
            other => Err(TokenError::BadRole(other.to_string())),
        }
    }
}

/// Which workspaces a token opens. On disk: `"*"` or a list of document ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScopeRepr", into = "ScopeRepr")]
pub enum Scope {
    /// Every workspace on the relay, including ones created later.
    All,
    /// Exactly these document ids, in their canonical base58check form.
    Docs(Vec<String>),
}

impl Scope {
    /// A scope over the given workspaces. Each may be a document id or an `automerge:` URL;
    /// they are stored in canonical form so that they match what clients put on the wire.
    pub fn docs<S: AsRef<str>>(workspaces: &[S]) -> Result<Self, TokenError> {
        let mut ids = Vec::new();
        for w in workspaces {
            let id = canonical_doc_id(w.as_ref())?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(Scope::Docs(ids))
    }

    /// Whether the scope includes `doc`.
    pub fn includes(&self, doc: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Docs(ids) => ids.iter().any(|d| d == doc),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Docs(ids) => f.write_str(&ids.join(",")),
        }
    }
}

/// The on-disk shape of a [`Scope`]: the string `"*"` or an array of ids.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ScopeRepr {
    Star(String),
    List(Vec<String>),
}

impl TryFrom<ScopeRepr> for Scope {
    type Error = String;
    fn try_from(repr: ScopeRepr) -> Result<Self, Self::Error> {
        match repr {
            ScopeRepr::Star(s) if s == "*" => Ok(Scope::All),
            ScopeRepr::Star(s) => Err(format!(
                "workspaces must be \"*\" or a list of ids, found \"{s}\""
            )),
            ScopeRepr::List(ids) => Ok(Scope::Docs(ids)),
        }
    }
}

impl From<Scope> for ScopeRepr {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::All => ScopeRepr::Star("*".into()),
            Scope::Docs(ids) => ScopeRepr::List(ids),
        }
    }
}

/// The canonical (base58check) form of a workspace id given as an id or an `automerge:` URL.
pub fn canonical_doc_id(input: &str) -> Result<String, TokenError> {
    let trimmed = input.trim();
    let bare = trimmed.strip_prefix("automerge:").unwrap_or(trimmed);
    // A URL may carry heads after '#'; they say nothing about which document it is.
    let bare = bare.split('#').next().unwrap_or(bare);
    bare.parse::<DocumentId>()
        .map(|id| id.to_string())
        .map_err(|_| TokenError::BadWorkspace(input.to_string()))
}

/// One token as the file records it. The token string itself is not here, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// A short random id, shown by `token list` and used by `token revoke`.
    pub id: String,
    /// Who or what the token is for, as the operator described it.
    #[serde(default)]
    pub label: String,
    /// Lowercase hex SHA-256 of the token string.
    pub hash: String,
    pub role: Role,
    pub workspaces: Scope,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The id of the token that minted this one through an invite, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// RFC 3339, UTC; present once the token is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TokenEntry {
    /// Whether the token still works.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// What a connection holding this token may do. A program token's scope names the
    /// workspaces of its report, not documents to sync: through sync it opens none, so the relay
    /// answers `doc-unavailable` to everything it asks for.
    pub fn access(&self) -> Access {
        if self.role == Role::Program {
            return Access {
                docs: Some(HashSet::new()),
                write: false,
                writable: None,
            };
        }
        Access {
            docs: match &self.workspaces {
                Scope::All => None,
                Scope::Docs(ids) => Some(ids.iter().cloned().collect::<HashSet<_>>()),
            },
            write: self.role == Role::Write,
            writable: None,
        }
    }
}

/// The whole token file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFile {
    pub version: u32,
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    /// Invite codes, by hash (see [`crate::invites`]); absent from files written before invites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invites: Vec<crate::invites::InviteEntry>,
}

impl Default for TokenFile {
    fn default() -> Self {
        Self {
            version: FORMAT_VERSION,
            tokens: Vec::new(),
            invites: Vec::new(),
        }
    }
}

impl TokenFile {
    /// Parse the file's bytes; `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, TokenError> {
        let corrupt = |reason: String| TokenError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let file: TokenFile = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version > FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} is newer than this relay understands ({FORMAT_VERSION})",
                file.version
            )));
        }
        Ok(file)
    }

    /// The file's bytes, pretty-printed so an operator can read it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("token file serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The active entry for `token`, if any. Hashes are compared in constant time.
    pub fn verify(&self, token: &str) -> Option<&TokenEntry> {
        self.lookup(token).filter(|e| e.is_active())
    }

    /// The entry for `token` whether or not it is revoked, so that a caller can say which.
    pub fn lookup(&self, token: &str) -> Option<&TokenEntry> {
        let hash = hash_token(token);
        // Every entry is compared, so the time taken does not depend on where a match is.
        let mut found = None;
        for entry in &self.tokens {
            if constant_time_eq(entry.hash.as_bytes(), hash.as_bytes()) && found.is_none() {
                found = Some(entry);
            }
        }
        found
    }

    /// The entry with id `id`.
    pub fn get(&self, id: &str) -> Option<&TokenEntry> {
        self.tokens.iter().find(|e| e.id == id)
    }

    /// Ids of the tokens that currently work.
    pub fn active_ids(&self) -> HashSet<String> {
        self.tokens
            .iter()
            .filter(|e| e.is_active())
            .map(|e| e.id.clone())
            .collect()
    }

    /// Create a token, add its entry, and return the token string (shown once, never stored)
    /// with the entry. `now` is the RFC 3339 creation time.
    pub fn mint(
        &mut self,
        role: Role,
        workspaces: Scope,
        label: &str,
        created_by: Option<&str>,
        now: &str,
    ) -> (String, TokenEntry) {
        let token = generate_token();
        let id = loop {
            let mut bytes = [0u8; 4];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let id = hex::encode(bytes);
            if self.get(&id).is_none() {
                break id;
            }
        };
        let entry = TokenEntry {
            id,
            label: label.to_string(),
            hash: hash_token(&token),
            role,
            workspaces,
            created_at: now.to_string(),
            created_by: created_by.map(str::to_string),
            revoked_at: None,
        };
        self.tokens.push(entry.clone());
        (token, entry)
    }

    /// Mark the token `id` revoked at `now`. Revoking twice keeps the first time.
    pub fn revoke(&mut self, id: &str, now: &str) -> Result<TokenEntry, TokenError> {
        let entry = self
            .tokens
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or_else(|| TokenError::UnknownId(id.to_string()))?;
        if entry.revoked_at.is_none() {
            entry.revoked_at = Some(now.to_string());
        }
        Ok(entry.clone())
    }
}

/// A fresh token: `tdm_` + base58 of 24 bytes from the operating system's random source.
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", bs58::encode(bytes).into_string())
}

/// Lowercase hex SHA-256 of a token, the only form in which tokens are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compare two byte strings in time that depends only on their lengths, so that a timing
/// measurement cannot tell how much of a guessed hash was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// The current time in the form the file uses.
pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

/// What identifies one version of the file on disk: its modification time and size.
pub type Fingerprint = (SystemTime, u64);

/// The fingerprint of the file at `path`, or `None` if it does not exist.
pub fn fingerprint(path: &Path) -> Result<Option<Fingerprint>, TokenError> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some((
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TokenError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Read the file at `path`; a missing file is an empty one.
pub fn read(path: &Path) -> Result<TokenFile, TokenError> {
    match fs::read(path) {
        Ok(bytes) => TokenFile::parse(&bytes, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(source) => Err(TokenError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Read the file together with the fingerprint of the version that was read.
pub fn read_with_fingerprint(path: &Path) -> Result<(TokenFile, Option<Fingerprint>), TokenError> {
    // The fingerprint is taken first: if the file changes in between, the next check sees a
    // different fingerprint and reads it again, so no change is ever missed.
    let fp = fingerprint(path)?;
    Ok((read(path)?, fp))
}

/// Replace the file at `path` with `file` atomically: write a temporary file beside it, sync
/// it, and rename it into place.
pub fn write_atomic(path: &Path, file: &TokenFile) -> Result<(), TokenError> {
    let io = |source| TokenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    {
        let mut out = private_file(&tmp).map_err(io)?;
        out.write_all(&file.to_json()).map_err(io)?;
        out.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(e)
    })?;
    // Syncing the directory makes the rename itself durable; not every platform allows it.
    if let Some(dir) = dir {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Create (truncate) a file readable only by its owner, since it lists who may connect.
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Read the file, let `change` modify it, and write it back, holding an exclusive advisory
/// lock on `<path>.lock` throughout so that two writers (the operator's command and the
/// relay's invite endpoint) never lose each other's changes.
pub fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut TokenFile) -> Result<T, TokenError>,
) -> Result<T, TokenError> {
    let io = |source| TokenError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let lock_path = path.with_extension("json.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    lock.lock().map_err(io)?;
    let mut file = read(path)?;
    let result = change(&mut file)?;
    write_atomic(path, &file)?;
    // The lock is released when `lock` is dropped, also on the error paths above.
    drop(lock);
    Ok(result)
}

/// Create a token in the file at `path` and return the token string with its entry.
pub fn create(
    path: &Path,
    role: Role,
    workspaces: Scope,
    label: &str,
    created_by: Option<&str>,
) -> Result<(String, TokenEntry), TokenError> {
    let now = now();
    update(path, |file| {
        Ok(file.mint(role, workspaces, label, created_by, &now))
    })
}

/// Revoke the token `id` in the file at `path`.
pub fn revoke(path: &Path, id: &str) -> Result<TokenEntry, TokenError> {
    let now = now();
    update(path, |file| file.revoke(id, &now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    #[test]
    fn a_minted_token_verifies_and_carries_its_scope() {
        let mut file = TokenFile::default();
        let scope = Scope::docs(&[DOC]).unwrap();
        let (token, entry) = file.mint(Role::Write, scope, "ana", None, "t0");
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(bs58::decode(&token[4..]).into_vec().unwrap().len(), 24);
        let found = file.verify(&token).unwrap();
        assert_eq!(found.id, entry.id);
        let access = found.access();
        assert!(access.write);
        assert_eq!(access.docs, Some(HashSet::from([DOC.to_string()])));
        assert!(file.verify("tdm_wrong").is_none());
        assert!(!file
            .to_json()
            .windows(token.len())
            .any(|w| w == token.as_bytes()));
    }

    #[test]
    fn a_program_token_opens_no_document_through_sync() {
        let mut file = TokenFile::default();
        let (token, _) = file.mint(Role::Program, Scope::All, "coordinator", None, "t0");
        let entry = file.verify(&token).unwrap();
        assert_eq!(entry.role, Role::Program);
        assert_eq!(
            entry.access(),
            Access {
                docs: Some(HashSet::new()),
                write: false,
                writable: None,
            }
        );
        let json = String::from_utf8(file.to_json()).unwrap();
        assert!(json.contains("\"role\": \"program\""), "{json}");
        assert_eq!("program".parse::<Role>().unwrap(), Role::Program);
        assert!(matches!(
            "admin".parse::<Role>(),
            Err(TokenError::BadRole(_))
        ));
    }

    #[test]
    fn a_revoked_token_no_longer_verifies_but_is_still_found() {
        let mut file = TokenFile::default();
        let (token, entry) = file.mint(Role::Read, Scope::All, "", None, "t0");
        file.revoke(&entry.id, "t1").unwrap();
        file.revoke(&entry.id, "t2").unwrap();
        assert!(file.verify(&token).is_none());
        assert_eq!(
            file.lookup(&token).unwrap().revoked_at.as_deref(),
            Some("t1")
        );
        assert!(matches!(
            file.revoke("nope", "t3"),
            Err(TokenError::UnknownId(_))
        ));
        assert!(file.active_ids().is_empty());
    }

    #[test]
    fn the_file_round_trips_and_scopes_use_star_or_a_list() {
        let mut file = TokenFile::default();
        file.mint(Role::Read, Scope::All, "all", None, "t0");
        file.mint(
            Role::Write,
            Scope::docs(&[DOC]).unwrap(),
            "one",
            Some("abc"),
            "t0",
        );
        let json = String::from_utf8(file.to_json()).unwrap();
        assert!(json.contains("\"workspaces\": \"*\""), "{json}");
        assert!(json.contains(DOC));
        let back = TokenFile::parse(json.as_bytes(), Path::new("t")).unwrap();
        assert_eq!(back, file);
        let bad = br#"{"version":1,"tokens":[{"id":"a","hash":"h","role":"write","workspaces":"some","created_at":"t"}]}"#;
        assert!(TokenFile::parse(bad, Path::new("t")).is_err());
        let newer = br#"{"version":99,"tokens":[]}"#;
        assert!(TokenFile::parse(newer, Path::new("t")).is_err());
    }

    #[test]
    fn workspace_ids_are_canonicalised_and_checked() {
        let url = format!("automerge:{DOC}");
        assert_eq!(
            Scope::docs(&[url.as_str(), DOC]).unwrap(),
            Scope::Docs(vec![DOC.to_string()])
        );
        assert!(matches!(
            Scope::docs(&["not-a-doc"]),
            Err(TokenError::BadWorkspace(_))
        ));
    }

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn create_and_revoke_work_on_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(read(&path).unwrap(), TokenFile::default());
        assert_eq!(fingerprint(&path).unwrap(), None);
        let (token, entry) = create(&path, Role::Write, Scope::All, "ops", None).unwrap();
        let before = fingerprint(&path).unwrap().unwrap();
        assert!(read(&path).unwrap().verify(&token).is_some());
        revoke(&path, &entry.id).unwrap();
        assert!(read(&path).unwrap().verify(&token).is_none());
        assert_ne!(fingerprint(&path).unwrap().unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the token file is private to its owner");
        }
    }
}
