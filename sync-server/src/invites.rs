//! Invite codes: short, single-use by default, expiring secrets that a partner exchanges for a
//! relay token scoped to one workspace.
//!
//! Read this if you change how people are invited. A code is 12 characters of Crockford base32
//! (60 random bits), shown grouped as `ABCD-EFGH-JKMN` so that it can be read aloud; parsing
//! forgives case, spaces, dashes and the look-alikes I, L (read as 1) and O (read as 0). The
//! relay keeps only the hex SHA-256 of the canonical 12 characters, in the `invites` list of
//! `tokens.json` (see [`crate::tokens`]), so an invite is created, redeemed and revoked under
//! the same file lock as the tokens it mints, and the operator's `token` commands keep working
//! while the relay runs. A file without `invites` (written before invites existed) reads as
//! having none, and a relay that predates them ignores the list.
//!
//! Redemption answers a wrong, used-up, revoked and expired code in exactly the same way, so a
//! guesser learns nothing from the answer; 60 bits and the per-address rate limit in `http.rs`
//! make guessing hopeless anyway.

use crate::tokens::{constant_time_eq, Role, Scope, TokenFile};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tandem_core::jiff::Timestamp;

/// Crockford's base32 alphabet: digits and letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How many characters a code has, without its dashes.
pub const CODE_LEN: usize = 12;

/// How long an invite lasts unless its maker says otherwise: seven days.
pub const DEFAULT_EXPIRY_SECS: u64 = 7 * 24 * 3600;

/// The longest an invite may last: ninety days.
pub const MAX_EXPIRY_SECS: u64 = 90 * 24 * 3600;

/// The most redemptions one invite may allow.
pub const MAX_USES: u32 = 100;

/// What an invite is asked for: the workspace it opens, the role it grants, how many times and
/// for how long it can be redeemed, whose device it adds (if it adds one) and its maker's label.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub workspace: String,
    pub role: InviteRole,
    pub uses: u32,
    pub expires_in_secs: u64,
    pub participant: Option<String>,
    pub label: String,
}

/// The role a person takes in the workspace through an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteRole {
    Mentee,
    Mentor,
    Observer,
}

impl InviteRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mentee" => Some(Self::Mentee),
            "mentor" => Some(Self::Mentor),
            "observer" => Some(Self::Observer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mentee => "mentee",
            Self::Mentor => "mentor",
            Self::Observer => "observer",
        }
    }

    /// The relay access the minted token carries: observers only read.
    pub fn access(self) -> Role {
        match self {
            Self::Observer => Role::Read,
            Self::Mentee | Self::Mentor => Role::Write,
        }
    }
}

/// One invite as `tokens.json` records it; the code itself is not here, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteEntry {
    /// A public handle for listing and revoking; it says nothing about the code.
    pub id: String,
    /// Lowercase hex SHA-256 of the canonical code.
    pub hash: String,
    pub workspace: String,
    pub role: InviteRole,
    /// How many more times the code may be redeemed.
    pub uses_left: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    #[serde(default)]
    pub label: String,
    /// For an invite a person made for their own devices: their participant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The id of the token that made the invite.
    pub created_by: String,
    /// RFC 3339, UTC; present once the invite is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl InviteEntry {
    /// Whether the code can still be redeemed at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none()
            && self.uses_left > 0
            && self
                .expires_at
                .parse::<Timestamp>()
                .is_ok_and(|expires| expires > now)
    }
}

/// What a successful redemption gives the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub token: String,
    pub workspace: String,
    pub role: InviteRole,
    pub participant: Option<String>,
}

/// A fresh code, in canonical (ungrouped) form.
pub fn generate_code() -> String {
    let mut bytes = [0u8; CODE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

/// A canonical code grouped in fours for reading aloud: `ABCD-EFGH-JKMN`.
pub fn group(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of a code as someone typed it, or `None` if it cannot be one.
pub fn canonical_code(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == CODE_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

/// Lowercase hex SHA-256 of a canonical code.
pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

impl TokenFile {
    /// Add an invite; returns the code (shown once, never stored) and the entry. `created_by`
    /// is the id of the token that asked for it; `now` is the current time.
    pub fn add_invite(
        &mut self,
        invite: NewInvite,
        created_by: &str,
        now: Timestamp,
    ) -> (String, InviteEntry) {
        // Invites that can no longer be redeemed and whose time is up are dropped, so the file
        // does not grow with every invite ever made.
        self.invites.retain(|i| {
            i.is_open(now)
                || i.expires_at
                    .parse::<Timestamp>()
                    .is_ok_and(|expires| expires > now)
        });
        let code = generate_code();
        let id = loop {
            let mut bytes = [0u8; 4];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let id = format!("inv_{}", hex::encode(bytes));
            if !self.invites.iter().any(|i| i.id == id) {
                break id;
            }
        };
        let expires = now
            .checked_add(tandem_core::jiff::SignedDuration::from_secs(
                invite.expires_in_secs.min(MAX_EXPIRY_SECS) as i64,
            ))
            .unwrap_or(now);
        let entry = InviteEntry {
            id,
            hash: hash_code(&code),
            workspace: invite.workspace,
            role: invite.role,
            uses_left: invite.uses,
            created_at: stamp(now),
            expires_at: stamp(expires),
            label: invite.label,
            participant: invite.participant,
            created_by: created_by.to_string(),
            revoked_at: None,
        };
        self.invites.push(entry.clone());
        (code, entry)
    }

    /// Redeem `input` (a code as typed) at `now`: use it once and mint a token scoped to its
    /// workspace. `None` for any code that does not work, whatever the reason.
    pub fn redeem(&mut self, input: &str, now: Timestamp) -> Option<Redeemed> {
        // An unparseable code is hashed anyway, so it takes as long as a wrong one.
        let hash = hash_code(&canonical_code(input).unwrap_or_default());
        let mut found = None;
        for (at, invite) in self.invites.iter().enumerate() {
            if constant_time_eq(invite.hash.as_bytes(), hash.as_bytes()) && found.is_none() {
                found = Some(at);
            }
        }
        let invite = &mut self.invites[found?];
        if !invite.is_open(now) {
            return None;
        }
        invite.uses_left -= 1;
        let invite = invite.clone();
        let label = format!("invite {} ({})", invite.id, invite.role.as_str());
        let (token, _) = self.mint(
            invite.role.access(),
            Scope::Docs(vec![invite.workspace.clone()]),
            &label,
            Some(&invite.created_by),
            &stamp(now),
        );
        Some(Redeemed {
            token,
            workspace: invite.workspace,
            role: invite.role,
            participant: invite.participant,
        })
    }

    /// The open invites to `workspace`.
    pub fn open_invites(&self, workspace: &str, now: Timestamp) -> Vec<&InviteEntry> {
        self.invites
            .iter()
            .filter(|i| i.workspace == workspace && i.is_open(now))
            .collect()
    }

    /// The invite with id `id`.
    pub fn invite(&self, id: &str) -> Option<&InviteEntry> {
        self.invites.iter().find(|i| i.id == id)
    }

    /// Mark the invite `id` revoked at `now`; revoking twice keeps the first time.
    pub fn revoke_invite(&mut self, id: &str, now: Timestamp) -> bool {
        match self.invites.iter_mut().find(|i| i.id == id) {
            Some(invite) => {
                if invite.revoked_at.is_none() {
                    invite.revoked_at = Some(stamp(now));
                }
                true
            }
            None => false,
        }
    }
}

/// A time as the file stores it: RFC 3339 in UTC, to the second.
pub fn stamp(at: Timestamp) -> String {
    at.round(tandem_core::jiff::Unit::Second)
        .unwrap_or(at)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    /// An unlabelled invite to `DOC` as `role`, for `uses` redemptions within `secs` seconds.
    fn asked(role: InviteRole, uses: u32, secs: u64) -> NewInvite {
        NewInvite {
            workspace: DOC.to_string(),
            role,
            uses,
            expires_in_secs: secs,
            participant: None,
            label: String::new(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn codes_are_short_unambiguous_and_forgiving_to_type() {
        let code = generate_code();
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
        let grouped = group(&code);
        assert_eq!(grouped.len(), 14);
        assert!(grouped.len() <= 16);
        assert_eq!(canonical_code(&grouped).as_deref(), Some(code.as_str()));
        assert_eq!(
            canonical_code("abcd efgh-jkmn").as_deref(),
            Some("ABCDEFGHJKMN")
        );
        assert_eq!(
            canonical_code("ilo0-ABCD-EFGH").as_deref(),
            Some("1100ABCDEFGH")
        );
        assert_eq!(canonical_code("ABCD-EFGH-JKMU"), None);
        assert_eq!(canonical_code("ABCD-EFGH"), None);
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-P"), None);
        assert_eq!(canonical_code("ÄBCD-EFGH-JKMN"), None);
    }

    #[test]
    fn an_invite_is_used_up_expires_and_can_be_revoked() {
        let t0 = at("2026-11-30T10:00:00Z");
        let mut file = TokenFile::default();
        let (code, entry) = file.add_invite(asked(InviteRole::Observer, 2, 3600), "tok1", t0);
        assert!(!file.to_json().windows(12).any(|w| w == code.as_bytes()));
        let first = file.redeem(&group(&code).to_lowercase(), t0).unwrap();
        assert_eq!(first.workspace, DOC);
        assert_eq!(first.role, InviteRole::Observer);
        let grant = file.verify(&first.token).unwrap();
        assert_eq!(grant.role, Role::Read);
        assert!(grant.workspaces.includes(DOC));
        assert!(file.redeem(&code, t0).is_some());
        assert!(file.redeem(&code, t0).is_none(), "used up");
        assert!(file.open_invites(DOC, t0).is_empty());

        let (code, entry2) = file.add_invite(asked(InviteRole::Mentee, 1, 60), "t", t0);
        assert!(
            file.redeem(&code, at("2026-11-30T10:01:00Z")).is_none(),
            "expired"
        );
        let (code, _) = file.add_invite(asked(InviteRole::Mentee, 1, 60), "t", t0);
        let id = file.invites.last().unwrap().id.clone();
        assert!(file.revoke_invite(&id, t0));
        assert!(file.redeem(&code, t0).is_none(), "revoked");
        assert!(!file.revoke_invite("inv_nope", t0));
        assert!(file.redeem("", t0).is_none());
        assert_ne!(entry.id, entry2.id);
    }

    #[test]
    fn a_file_without_invites_still_reads() {
        let old = br#"{"version":1,"tokens":[]}"#;
        let file = TokenFile::parse(old, std::path::Path::new("t")).unwrap();
        assert!(file.invites.is_empty());
        assert!(!String::from_utf8(file.to_json())
            .unwrap()
            .contains("invites"));
    }
}
