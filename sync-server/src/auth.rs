//! Who may connect, and with what access: the relay's view of `tokens.json`.
//!
//! The file itself is read and written by [`crate::tokens`]; this module keeps the
//! current version in memory, reloads it when the file changes on disk (the operator's
//! `token` commands run in another process), and turns a presented token into an [`Access`].
//! The state lock is a plain mutex held only for in-memory lookups and swaps, never across file
//! I/O or an await, so async tasks may call [`Auth::authorize`] directly; file reads and writes
//! happen on blocking threads.

use crate::invites::{InviteEntry, NewInvite, Redeemed};
use crate::tokens::{self, Fingerprint, Role, Scope, TokenEntry, TokenError, TokenFile};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tandem_core::jiff::Timestamp;
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

/// What an accepted connection may do, and which tokens it presented (for revocation): one,
/// or several from a browser signed in to several workspaces; none on an open relay.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub token_ids: Vec<String>,
    /// The token's role; an open relay grants everyone `Write`.
    pub role: Role,
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

/// Why the program report was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProgramDenied {
    /// 401: no valid token.
    Token(Denied),
    /// 403: a valid token, but a read or write one.
    NotProgram,
}

/// What a program token is told when it asks for anything about invites.
pub(crate) const PROGRAM_NO_INVITES: &str = "a program token cannot manage invites";

/// Why an invite was refused, mapped to an HTTP status by the caller.
#[derive(Debug)]
pub(crate) enum InviteError {
    /// 401: no valid bearer token.
    Unauthorized(String),
    /// 403: the token may not invite to this workspace.
    Forbidden(String),
    /// 404: no invite with that id that the bearer may manage.
    UnknownInvite,
    /// 409: the relay is open, so it mints no tokens and needs no invites.
    Open,
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
                token_ids: Vec::new(),
                role: Role::Write,
                access: Access::full(),
            });
        }
        let token = token.filter(|t| !t.is_empty()).ok_or(Denied::Missing)?;
        let state = self.lock();
        match state.file.lookup(token) {
            Some(entry) if entry.is_active() => Ok(Grant {
                token_ids: vec![entry.id.clone()],
                role: entry.role,
                access: entry.access(),
            }),
            Some(entry) => Err(Denied::Revoked {
                id: entry.id.clone(),
            }),
            None => Err(Denied::Unknown),
        }
    }

    /// Decide on the tokens of a browser's session: the union of what those that still work
    /// grant, each workspace with its own token's access. Tokens that no longer work are left
    /// out, so revoking one takes away only its workspaces; when none works, the first one's
    /// refusal is the answer.
    pub fn authorize_all(&self, tokens: &[String]) -> Result<Grant, Denied> {
        if self.open || tokens.is_empty() {
            return self.authorize(None);
        }
        let mut union: Option<Grant> = None;
        let mut refusal = Denied::Missing;
        for (i, token) in tokens.iter().enumerate() {
            match self.authorize(Some(token)) {
                Ok(grant) => {
                    union = Some(match union {
                        None => grant,
                        Some(mut so_far) => {
                            so_far.access = so_far.access.union(&grant.access);
                            // A session is a program session only if all it holds is program
                            // tokens; otherwise it writes if any of its tokens does.
                            so_far.role = match (so_far.role, grant.role) {
                                (Role::Program, r) | (r, Role::Program) => r,
                                (Role::Write, _) | (_, Role::Write) => Role::Write,
                                _ => Role::Read,
                            };
                            so_far.token_ids.extend(grant.token_ids);
                            so_far
                        }
                    })
                }
                Err(denied) if i == 0 => refusal = denied,
                Err(_) => {}
            }
        }
        union.ok_or(refusal)
    }

    /// The workspaces whose program report `token` may read: a program token's scope. An open
    /// relay shows every workspace to everyone, as it shows them every document.
    pub fn program_scope(&self, token: Option<&str>) -> Result<Scope, ProgramDenied> {
        if self.open {
            return Ok(Scope::All);
        }
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(ProgramDenied::Token(Denied::Missing))?;
        let state = self.lock();
        match state.file.lookup(token) {
            Some(entry) if entry.is_active() && entry.role == Role::Program => {
                Ok(entry.workspaces.clone())
            }
            Some(entry) if entry.is_active() => Err(ProgramDenied::NotProgram),
            Some(entry) => Err(ProgramDenied::Token(Denied::Revoked {
                id: entry.id.clone(),
            })),
            None => Err(ProgramDenied::Token(Denied::Unknown)),
        }
    }

    /// Whether `token` is an active program token, which may not manage invites whatever it
    /// asks for.
    pub fn is_program(&self, token: Option<&str>) -> bool {
        !self.open
            && token.is_some_and(|t| {
                self.lock()
                    .file
                    .verify(t)
                    .is_some_and(|e| e.role == Role::Program)
            })
    }

    /// The public id of `token`, working or not: what a browser names when it forgets one token
    /// of its session.
    pub fn token_id(&self, token: &str) -> Option<String> {
        self.lock().file.lookup(token).map(|e| e.id.clone())
    }

    /// Whether the token `id` still works.
    pub fn is_active(&self, id: &str) -> bool {
        self.open || self.lock().file.get(id).is_some_and(|e| e.is_active())
    }

    /// The entry of `bearer` in `file` if it may manage invites to `workspace`: an active write
    /// token whose scope includes the workspace.
    fn inviter(
        file: &TokenFile,
        bearer: Option<&str>,
        workspace: &str,
    ) -> Result<TokenEntry, InviteError> {
        let bearer = bearer
            .filter(|t| !t.is_empty())
            .ok_or_else(|| InviteError::Unauthorized("a bearer token is required".into()))?;
        let parent = match file.lookup(bearer) {
            Some(e) if e.is_active() => e.clone(),
            Some(_) => return Err(InviteError::Unauthorized("token revoked".into())),
            None => return Err(InviteError::Unauthorized("unknown token".into())),
        };
        match parent.role {
            Role::Write => {}
            Role::Read => {
                return Err(InviteError::Forbidden(
                    "a read-only token cannot manage invites".into(),
                ))
            }
            Role::Program => return Err(InviteError::Forbidden(PROGRAM_NO_INVITES.into())),
        }
        if !parent.workspaces.includes(workspace) {
            return Err(InviteError::Forbidden(
                "this token has no access to that workspace".into(),
            ));
        }
        Ok(parent)
    }

    /// Run `change` on the token file under its lock, then read the file back so that what
    /// changed (a new token, a used invite) takes effect at once. Blocking (file I/O).
    fn edit<T>(
        &self,
        change: impl FnOnce(&mut TokenFile) -> Result<T, InviteError>,
    ) -> Result<T, InviteError> {
        if self.open {
            return Err(InviteError::Open);
        }
        // The check runs inside the locked update, against the file as it is on disk now, so
        // a token revoked a moment ago by the operator cannot act any more.
        let outcome = tokens::update(&self.path, |file| Ok(change(file)));
        let result = match outcome {
            Ok(result) => result,
            Err(e) => Err(InviteError::Internal(e.to_string())),
        };
        // Revocations the reload picks up are reported by the next `refresh`.
        if let Err(e) = self.reload() {
            tracing::warn!("could not reload the token file after an invite: {e}");
        }
        result
    }

    /// Create `invite` if `bearer` may invite to its workspace: returns the code (shown once) and
    /// its entry. Blocking (file I/O).
    pub fn create_invite(
        &self,
        bearer: Option<&str>,
        invite: NewInvite,
    ) -> Result<(String, InviteEntry), InviteError> {
        self.edit(|file| {
            let parent = Self::inviter(file, bearer, &invite.workspace)?;
            Ok(file.add_invite(invite, &parent.id, Timestamp::now()))
        })
    }

    /// The open invites to `workspace`, if `bearer` may see them. Blocking (file I/O).
    pub fn list_invites(
        &self,
        bearer: Option<&str>,
        workspace: &str,
    ) -> Result<Vec<InviteEntry>, InviteError> {
        if self.open {
            return Err(InviteError::Open);
        }
        let file = tokens::read(&self.path).map_err(|e| InviteError::Internal(e.to_string()))?;
        Self::inviter(&file, bearer, workspace)?;
        Ok(file
            .open_invites(workspace, Timestamp::now())
            .into_iter()
            .cloned()
            .collect())
    }

    /// Revoke the invite `id` if `bearer` may manage invites to its workspace; an invite the
    /// bearer may not see is reported as unknown. Blocking (file I/O).
    pub fn revoke_invite(&self, bearer: Option<&str>, id: &str) -> Result<(), InviteError> {
        self.edit(|file| {
            let workspace = match file.invite(id) {
                Some(invite) => invite.workspace.clone(),
                None => {
                    // The bearer is still checked, so an unknown caller gets a 401, not a 404.
                    Self::inviter(file, bearer, "")
                        .map(|_| ())
                        .or_else(|e| match e {
                            InviteError::Forbidden(_) => Ok(()),
                            other => Err(other),
                        })?;
                    return Err(InviteError::UnknownInvite);
                }
            };
            match Self::inviter(file, bearer, &workspace) {
                Ok(_) => {}
                Err(InviteError::Forbidden(_)) => return Err(InviteError::UnknownInvite),
                Err(other) => return Err(other),
            }
            file.revoke_invite(id, Timestamp::now());
            Ok(())
        })
    }

    /// Redeem a code: `None` when it does not work, for whatever reason. Blocking (file I/O).
    pub fn redeem(&self, code: &str) -> Result<Option<Redeemed>, InviteError> {
        self.edit(|file| Ok(file.redeem(code, Timestamp::now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invites::InviteRole;
    use crate::tokens::Scope;

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
        assert_eq!(grant.token_ids, vec![entry.id.clone()]);
        assert_eq!(grant.access, Access::full());
        tokens::revoke(&path, &entry.id).unwrap();
        assert_eq!(auth.refresh().unwrap(), vec![entry.id.clone()]);
        assert!(matches!(
            auth.authorize(Some(&token)),
            Err(Denied::Revoked { .. })
        ));
        assert!(!auth.is_active(&entry.id));
    }

    fn invite(
        auth: &Auth,
        bearer: &str,
        workspace: &str,
        role: InviteRole,
    ) -> Result<String, InviteError> {
        let invite = NewInvite {
            workspace: workspace.to_string(),
            role,
            uses: 1,
            expires_in_secs: 3600,
            participant: None,
            label: String::new(),
        };
        auth.create_invite(Some(bearer), invite)
            .map(|(code, _)| code)
    }

    #[test]
    fn only_write_tokens_with_the_workspace_may_invite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let scope = Scope::docs(&[DOC]).unwrap();
        let (writer, _) = tokens::create(&path, Role::Write, scope.clone(), "w", None).unwrap();
        let (reader, _) = tokens::create(&path, Role::Read, scope, "r", None).unwrap();
        let auth = Auth::load(&path, false).unwrap();
        let code = invite(&auth, &writer, DOC, InviteRole::Observer).unwrap();
        let minted = auth.redeem(&code).unwrap().unwrap();
        let grant = auth.authorize(Some(&minted.token)).unwrap();
        assert!(!grant.access.write);
        assert!(auth.redeem(&code).unwrap().is_none());
        assert!(matches!(
            invite(&auth, &reader, DOC, InviteRole::Observer),
            Err(InviteError::Forbidden(_))
        ));
        let other = tandem_core::protocol::DocumentId::random().to_string();
        assert!(matches!(
            invite(&auth, &writer, &other, InviteRole::Observer),
            Err(InviteError::Forbidden(_))
        ));
        assert!(matches!(
            invite(&auth, "tdm_nope", DOC, InviteRole::Observer),
            Err(InviteError::Unauthorized(_))
        ));
        let open = Auth::load(&path, true).unwrap();
        assert!(matches!(
            invite(&open, &writer, DOC, InviteRole::Mentee),
            Err(InviteError::Open)
        ));
    }

    #[test]
    fn only_program_tokens_read_the_program_and_never_invite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let scope = Scope::docs(&[DOC]).unwrap();
        let (program, _) = tokens::create(&path, Role::Program, scope.clone(), "p", None).unwrap();
        let (writer, _) = tokens::create(&path, Role::Write, Scope::All, "w", None).unwrap();
        let auth = Auth::load(&path, false).unwrap();
        assert_eq!(auth.program_scope(Some(&program)), Ok(scope));
        assert_eq!(
            auth.program_scope(Some(&writer)),
            Err(ProgramDenied::NotProgram)
        );
        assert_eq!(
            auth.program_scope(None),
            Err(ProgramDenied::Token(Denied::Missing))
        );
        assert_eq!(
            auth.program_scope(Some("tdm_nope")),
            Err(ProgramDenied::Token(Denied::Unknown))
        );
        assert!(auth.is_program(Some(&program)));
        assert!(!auth.is_program(Some(&writer)));
        assert!(matches!(
            invite(&auth, &program, DOC, InviteRole::Observer),
            Err(InviteError::Forbidden(_))
        ));
        let grant = auth.authorize(Some(&program)).unwrap();
        assert_eq!(grant.role, Role::Program);
        assert_eq!(grant.access.docs, Some(Default::default()));
        let open = Auth::load(&path, true).unwrap();
        assert_eq!(open.program_scope(None), Ok(Scope::All));
        assert!(!open.is_program(Some(&program)));
    }

    #[test]
    fn invites_are_listed_and_revoked_by_their_workspace_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let (writer, _) =
            tokens::create(&path, Role::Write, Scope::docs(&[DOC]).unwrap(), "w", None).unwrap();
        let other = tandem_core::protocol::DocumentId::random().to_string();
        let (stranger, _) = tokens::create(
            &path,
            Role::Write,
            Scope::docs(&[&other]).unwrap(),
            "s",
            None,
        )
        .unwrap();
        let auth = Auth::load(&path, false).unwrap();
        let code = invite(&auth, &writer, DOC, InviteRole::Mentee).unwrap();
        let listed = auth.list_invites(Some(&writer), DOC).unwrap();
        assert_eq!(listed.len(), 1);
        let id = listed[0].id.clone();
        assert!(matches!(
            auth.revoke_invite(Some(&stranger), &id),
            Err(InviteError::UnknownInvite)
        ));
        auth.revoke_invite(Some(&writer), &id).unwrap();
        assert!(auth.list_invites(Some(&writer), DOC).unwrap().is_empty());
        assert!(auth.redeem(&code).unwrap().is_none());
    }

    #[test]
    fn a_revocation_read_back_by_an_invite_is_still_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(tokens::FILE_NAME);
        let (writer, _) = tokens::create(&path, Role::Write, Scope::All, "w", None).unwrap();
        let (_, doomed) = tokens::create(&path, Role::Read, Scope::All, "r", None).unwrap();
        let auth = Auth::load(&path, false).unwrap();
        tokens::revoke(&path, &doomed.id).unwrap();
        invite(&auth, &writer, DOC, InviteRole::Observer).unwrap();
        assert_eq!(auth.refresh().unwrap(), vec![doomed.id]);
        assert!(auth.refresh().unwrap().is_empty());
    }
}
