//! Who may connect, and with what access: the relay's view of `tokens.json`.
//!
//! The file itself is read and written by [`crate::tokens`]; this module keeps the
//! current version in memory, reloads it when the file changes on disk (the operator's
//! `token` commands run in another process), and turns a presented token into an [`Access`].
//! The state lock is a plain mutex held only for in-memory lookups and swaps, never across file
//! I/O or an await, so async tasks may call [`Auth::authorize`] directly; file reads and writes
//! happen on blocking threads.

use crate::tokens::{self, Fingerprint, Role, Scope, TokenError, TokenFile};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tandem_core::sync::Access;

/// The tokens a relay accepts, or `open` for everyone.
#[derive(Debug)]
pub(crate) struct Auth {
    open: bool,
    path: PathBuf,
    state: Mutex<State>,
    /// Held for a whole reload (file I/O included) so that two reloads cannot install their
    /// versions out of order; lookups never take it.
    reloading: Mutex<()>,
}

#[derive(Debug)]
struct State {
    file: TokenFile,
    /// The on-disk version `file` was read from; a different fingerprint means reload.
    fingerprint: Option<Fingerprint>,
    /// Tokens that stopped working in a reload whose caller could not act on it (an
    /// invite); the next [`Auth::refresh`] reports them, so no revocation is ever missed.
    gone: Vec<String>,
}

/// What an accepted connection may do, and which token it presented (for revocation).
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub token_id: Option<String>,
    /// Whether the token was minted through an invite (for the redemption count).
    pub invited: bool,
    pub access: Access,
}

/// Why a connection was turned away. The text never contains the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denied {
    Missing,
    Unknown,
    Revoked { id: String },
}

impl Denied {
    pub fn reason(&self) -> String {
        match self {
            Denied::Missing => "no token presented".into(),
            Denied::Unknown => "unknown token".into(),
            Denied::Revoked { id } => format!("token {id} is revoked"),
        }
    }
}

/// Why an invite was refused, mapped to an HTTP status by the caller.
#[derive(Debug)]
pub(crate) enum InviteError {
    /// 401: no valid bearer token.
    Unauthorized(String),
    /// 403: the token may not invite to this workspace.
    Forbidden(String),
    /// 500: the token file could not be updated.
    Internal(String),
}

impl Auth {
    /// Load the token file at `path` (a missing file means no tokens yet).
    pub fn load(path: &Path, open: bool) -> Result<Self, TokenError> {
        let (file, fingerprint) = tokens::read_with_fingerprint(path)?;
        Ok(Self {
            open,
            path: path.to_path_buf(),
            state: Mutex::new(State {
                file,
                fingerprint,
                gone: Vec::new(),
            }),
            reloading: Mutex::new(()),
        })
    }

    /// Whether authentication is switched off (`--open`).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// How many tokens currently work.
    pub fn active_count(&self) -> usize {
        self.lock().file.active_ids().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-updated (every update
        // is a single assignment), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reload the file if it changed on disk. Returns the ids of tokens that worked before
    /// and no longer do, so that their live connections can be closed. Blocking (file I/O).
    pub fn refresh(&self) -> Result<Vec<String>, TokenError> {
        let current = tokens::fingerprint(&self.path)?;
        if current != self.lock().fingerprint {
            self.reload()?;
        }
        Ok(std::mem::take(&mut self.lock().gone))
    }

    /// Read the file again whatever its fingerprint, and remember which tokens stopped
    /// working for the next [`Auth::refresh`]. Blocking (file I/O).
    fn reload(&self) -> Result<(), TokenError> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let (file, fingerprint) = tokens::read_with_fingerprint(&self.path)?;
        let mut state = self.lock();
        let now_active = file.active_ids();
        let gone: Vec<String> = state
            .file
            .active_ids()
            .into_iter()
            .filter(|id| !now_active.contains(id))
            .collect();
        state.gone.extend(gone);
        state.file = file;
        state.fingerprint = fingerprint;
        Ok(())
    }

    /// Decide on a presented token. In open mode everyone gets full access.
    pub fn authorize(&self, token: Option<&str>) -> Result<Grant, Denied> {
        if self.open {
            return Ok(Grant {
                token_id: None,
                invited: false,
                access: Access::full(),
            });
        }
        let token = token.filter(|t| !t.is_empty()).ok_or(Denied::Missing)?;
        let state = self.lock();
        match state.file.lookup(token) {
            Some(entry) if entry.is_active() => Ok(Grant {
                token_id: Some(entry.id.clone()),
                invited: entry.created_by.is_some(),
                access: entry.access(),
            }),
            Some(entry) => Err(Denied::Revoked {
                id: entry.id.clone(),
            }),
            None => Err(Denied::Unknown),
        }
    }

    /// Whether the token `id` still works.
    pub fn is_active(&self, id: &str) -> bool {
        self.open || self.lock().file.get(id).is_some_and(|e| e.is_active())
    }

    /// Mint a token for exactly `workspace` with `role`, if `bearer` may invite to it: it must
    /// be an active write token whose scope includes the workspace. Returns `None` in open
    /// mode, where no token is needed. Blocking (file I/O).
    pub fn invite(
        &self,
        bearer: Option<&str>,
        workspace: &str,
        role: Role,
        label: &str,
    ) -> Result<Option<String>, InviteError> {
        if self.open {
            return Ok(None);
        }
        let bearer = bearer
            .filter(|t| !t.is_empty())
            .ok_or_else(|| InviteError::Unauthorized("a bearer token is required".into()))?;
        let scope = Scope::Docs(vec![workspace.to_string()]);
        let now = tokens::now();
        // The check runs inside the locked update, against the file as it is on disk now, so
        // a token revoked a moment ago by the operator cannot mint new ones.
        let outcome = tokens::update(&self.path, |file| {
            let parent = match file.lookup(bearer) {
                Some(e) if e.is_active() => e.clone(),
                Some(_) => return Ok(Err(InviteError::Unauthorized("token revoked".into()))),
                None => return Ok(Err(InviteError::Unauthorized("unknown token".into()))),
            };
            if parent.role != Role::Write {
                return Ok(Err(InviteError::Forbidden(
                    "a read-only token cannot invite".into(),
                )));
            }
            if !parent.workspaces.includes(workspace) {
                return Ok(Err(InviteError::Forbidden(
                    "this token has no access to that workspace".into(),
                )));
            }
            let (token, _) = file.mint(role, scope, label, Some(&parent.id), &now);
            Ok(Ok(token))
        });
        let result = match outcome {
            Ok(Ok(token)) => Ok(Some(token)),
            Ok(Err(refused)) => return Err(refused),
            Err(e) => Err(InviteError::Internal(e.to_string())),
        };
        // The file changed under our hands; read it back so the new token works at once.
        // Revocations it picks up are reported by the next `refresh`.
        if let Err(e) = self.reload() {
            tracing::warn!("could not reload the token file after an invite: {e}");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    #[test]
    fn tokens_are_checked_and_revocations_are_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let auth = Auth::load(&path, false).unwrap();
        assert_eq!(auth.authorize(None).unwrap_err(), Denied::Missing);
        let (token, entry) = tokens::create(&path, Role::Write, Scope::All, "t", None).unwrap();
        assert_eq!(auth.authorize(Some(&token)).unwrap_err(), Denied::Unknown);
        assert!(auth.refresh().unwrap().is_empty());
        let grant = auth.authorize(Some(&token)).unwrap();
        assert_eq!(grant.token_id.as_deref(), Some(entry.id.as_str()));
        assert_eq!(grant.access, Access::full());
        tokens::revoke(&path, &entry.id).unwrap();
        assert_eq!(auth.refresh().unwrap(), vec![entry.id.clone()]);
        assert!(matches!(
            auth.authorize(Some(&token)),
            Err(Denied::Revoked { .. })
        ));
        assert!(!auth.is_active(&entry.id));
    }

    #[test]
    fn only_write_tokens_with_the_workspace_may_invite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let scope = Scope::docs(&[DOC]).unwrap();
        let (writer, _) = tokens::create(&path, Role::Write, scope.clone(), "w", None).unwrap();
        let (reader, _) = tokens::create(&path, Role::Read, scope, "r", None).unwrap();
        let auth = Auth::load(&path, false).unwrap();
        let minted = auth
            .invite(Some(&writer), DOC, Role::Read, "partner")
            .unwrap()
            .unwrap();
        let grant = auth.authorize(Some(&minted)).unwrap();
        assert!(!grant.access.write);
        assert!(matches!(
            auth.invite(Some(&reader), DOC, Role::Read, ""),
            Err(InviteError::Forbidden(_))
        ));
        let other = tandem_core::protocol::DocumentId::random().to_string();
        assert!(matches!(
            auth.invite(Some(&writer), &other, Role::Read, ""),
            Err(InviteError::Forbidden(_))
        ));
        assert!(matches!(
            auth.invite(Some("tdm_nope"), DOC, Role::Read, ""),
            Err(InviteError::Unauthorized(_))
        ));
        let open = Auth::load(&path, true).unwrap();
        assert_eq!(open.invite(None, DOC, Role::Write, "").unwrap(), None);
    }

    #[test]
    fn a_revocation_read_back_by_an_invite_is_still_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let (writer, _) = tokens::create(&path, Role::Write, Scope::All, "w", None).unwrap();
        let (_, doomed) = tokens::create(&path, Role::Read, Scope::All, "r", None).unwrap();
        let auth = Auth::load(&path, false).unwrap();
        tokens::revoke(&path, &doomed.id).unwrap();
        auth.invite(Some(&writer), DOC, Role::Read, "").unwrap();
        assert_eq!(auth.refresh().unwrap(), vec![doomed.id]);
        assert!(auth.refresh().unwrap().is_empty());
    }
}
