//! Identifiers that appear on the wire: document ids, automerge URLs and change-hash heads.
//!
//! automerge-repo writes every binary identifier as base58check text (the Bitcoin alphabet,
//! followed by the first four bytes of a double SHA-256 of the payload). We use the same form
//! so that ids and URLs copied between tandem and JS clients mean the same document.

use std::fmt;
use std::str::FromStr;

use automerge::ChangeHash;

/// The URL scheme that prefixes every automerge URL.
const URL_SCHEME: &str = "automerge:";

/// The longest base58check text a 16-byte document id can produce.
///
/// The payload plus its checksum is 20 bytes, which needs at most 28 base58 digits. Checking
/// the length first stops a hostile peer from making us run the quadratic base58 decoder on
/// a megabyte-long "id".
const MAX_DOCUMENT_ID_CHARS: usize = 28;

/// The length of a hyphenated UUID string, which older automerge-repo versions used as ids.
const LEGACY_UUID_CHARS: usize = 36;

/// The longest base58check text a 32-byte change hash can produce (36 bytes with checksum).
const MAX_HEAD_CHARS: usize = 50;

/// Errors from parsing document ids, automerge URLs and heads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text is neither base58check nor a hyphenated UUID.
    #[error("invalid document id {input:?}: {reason}")]
    InvalidDocumentId {
        /// The text that failed to parse.
        input: String,
        /// Why base58check decoding failed.
        reason: bs58::decode::Error,
    },
    /// The text is longer than any document id can be, so it was not decoded at all.
    #[error("invalid document id {input:?}: {len} characters is too long")]
    DocumentIdTooLong {
        /// The first characters of the text, cut short so that errors stay small.
        input: String,
        /// The full length of the text in bytes.
        len: usize,
    },
    /// The base58check payload decoded fine but is not 16 bytes long.
    #[error("invalid document id {input:?}: payload is {len} bytes, expected 16")]
    WrongDocumentIdLength {
        /// The text that failed to parse.
        input: String,
        /// The payload length that was found.
        len: usize,
    },
    /// A byte string meant to hold a document id is not 16 bytes long.
    #[error("invalid document id bytes: {len} bytes, expected 16")]
    WrongDocumentIdBytes {
        /// The length that was found.
        len: usize,
    },
    /// The URL does not start with `automerge:`.
    #[error("invalid automerge url {input:?}: it must start with \"automerge:\"")]
    MissingUrlScheme {
        /// The text that failed to parse.
        input: String,
    },
    /// The URL's document id part failed to parse.
    #[error("invalid automerge url {input:?}: {reason}")]
    InvalidUrlDocumentId {
        /// The whole URL.
        input: String,
        /// The document id error.
        reason: Box<IdError>,
    },
    /// The URL has a `#` but one of the heads between the `|` separators is empty.
    #[error("invalid automerge url {input:?}: empty head")]
    EmptyHead {
        /// The whole URL.
        input: String,
    },
    /// A head is not valid base58check.
    #[error("invalid head {input:?}: {reason}")]
    InvalidHead {
        /// The head text that failed to parse.
        input: String,
        /// Why base58check decoding failed.
        reason: bs58::decode::Error,
    },
    /// A head is longer than any change hash can be, so it was not decoded at all.
    #[error("invalid head {input:?}: {len} characters is too long")]
    HeadTooLong {
        /// The first characters of the head, cut short so that errors stay small.
        input: String,
        /// The full length of the text in bytes.
        len: usize,
    },
    /// A head decoded fine but is not a 32-byte change hash.
    #[error("invalid head {input:?}: payload is {len} bytes, expected 32")]
    WrongHeadLength {
        /// The head text that failed to parse.
        input: String,
        /// The payload length that was found.
        len: usize,
    },
}

/// Keeps at most 64 characters of untrusted text for an error message.
///
/// Errors carry the bad input so that logs are useful, but an attacker-sized input would
/// otherwise be copied into every error.
fn excerpt(input: &str) -> String {
    input.chars().take(64).collect()
}

/// The id of one automerge document: 16 random bytes (a UUID v4, as automerge-repo creates).
///
/// It displays and parses as base58check, the form automerge-repo puts on the wire and in
/// URLs, e.g. `4NMNnkMhL8jXrdJ9jamS58PAVdXu`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    /// Creates a new random id.
    ///
    /// We use a UUID v4 so that the bytes look exactly like the ids JS clients create.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().into_bytes())
    }

    /// Wraps 16 raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Wraps a byte slice, which must be exactly 16 bytes long.
    ///
    /// samod sometimes sends a `documentId` as a CBOR byte string, which lands here.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdError> {
        <[u8; 16]>::try_from(bytes)
            .map(Self)
            .map_err(|_| IdError::WrongDocumentIdBytes { len: bytes.len() })
    }

    /// The 16 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<[u8; 16]> for DocumentId {
    fn from(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

/// Reports whether `input` has the 8-4-4-4-12 hyphenated UUID shape.
///
/// Only this shape is accepted as a legacy id. The uuid crate also parses other forms, but
/// automerge-repo never wrote them, and accepting them would let one document have many ids.
fn is_hyphenated_uuid(input: &str) -> bool {
    input.len() == LEGACY_UUID_CHARS
        && input.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl FromStr for DocumentId {
    type Err = IdError;

    /// Parses base58check text, or a hyphenated UUID as older automerge-repo versions wrote.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if is_hyphenated_uuid(input) {
            // The shape check makes this parse succeed; if it somehow did not, the text falls
            // through to base58 decoding, which reports it as too long.
            if let Ok(uuid) = uuid::Uuid::try_parse(input) {
                return Ok(Self(uuid.into_bytes()));
            }
        }
        if input.len() > MAX_DOCUMENT_ID_CHARS {
            return Err(IdError::DocumentIdTooLong {
                input: excerpt(input),
                len: input.len(),
            });
        }
        let payload = bs58::decode(input)
            .with_check(None)
            .into_vec()
            .map_err(|reason| IdError::InvalidDocumentId {
                input: input.to_owned(),
                reason,
            })?;
        <[u8; 16]>::try_from(payload.as_slice())
            .map(Self)
            .map_err(|_| IdError::WrongDocumentIdLength {
                input: input.to_owned(),
                len: payload.len(),
            })
    }
}

/// Encodes one change hash the way automerge-repo writes heads: base58check of its 32 bytes.
pub fn encode_head(head: &ChangeHash) -> String {
    bs58::encode(head.0).with_check().into_string()
}

/// Decodes one head written by [`encode_head`] (or by automerge-repo's `encodeHeads`).
pub fn decode_head(input: &str) -> Result<ChangeHash, IdError> {
    if input.len() > MAX_HEAD_CHARS {
        return Err(IdError::HeadTooLong {
            input: excerpt(input),
            len: input.len(),
        });
    }
    let payload = bs58::decode(input)
        .with_check(None)
        .into_vec()
        .map_err(|reason| IdError::InvalidHead {
            input: input.to_owned(),
            reason,
        })?;
    <[u8; 32]>::try_from(payload.as_slice())
        .map(ChangeHash)
        .map_err(|_| IdError::WrongHeadLength {
            input: input.to_owned(),
            len: payload.len(),
        })
}

/// Encodes heads for a URL or a `remote-heads-changed` message, keeping their order.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(encode_head).collect()
}

/// Decodes heads written by [`encode_heads`], failing on the first bad one.
pub fn decode_heads<S: AsRef<str>>(heads: &[S]) -> Result<Vec<ChangeHash>, IdError> {
    heads
        .iter()
        .map(|head| decode_head(head.as_ref()))
        .collect()
}

/// An `automerge:` URL: a document id, optionally pinned to a set of heads.
///
/// The text form is `automerge:<DocumentId>` or `automerge:<DocumentId>#<head>|<head>…`, as
/// automerge-repo 2.x writes it. An empty `heads` means "the latest version" and has no `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AutomergeUrl {
    /// The document the URL points at.
    pub document_id: DocumentId,
    /// The heads the URL is pinned to, in the order they were written; empty means latest.
    pub heads: Vec<ChangeHash>,
}

impl AutomergeUrl {
    /// A URL for the latest version of a document.
    pub fn new(document_id: DocumentId) -> Self {
        Self {
            document_id,
            heads: Vec::new(),
        }
    }

    /// A URL pinned to the given heads.
    pub fn with_heads(document_id: DocumentId, heads: Vec<ChangeHash>) -> Self {
        Self { document_id, heads }
    }
}

impl From<DocumentId> for AutomergeUrl {
    fn from(document_id: DocumentId) -> Self {
        Self::new(document_id)
    }
}

impl fmt::Display for AutomergeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{URL_SCHEME}{}", self.document_id)?;
        for (i, head) in self.heads.iter().enumerate() {
            f.write_str(if i == 0 { "#" } else { "|" })?;
            f.write_str(&encode_head(head))?;
        }
        Ok(())
    }
}

impl FromStr for AutomergeUrl {
    type Err = IdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let rest = input
            .strip_prefix(URL_SCHEME)
            .ok_or_else(|| IdError::MissingUrlScheme {
                input: excerpt(input),
            })?;
        let (id_text, heads_text) = match rest.split_once('#') {
            Some((id, heads)) => (id, Some(heads)),
            None => (rest, None),
        };
        let document_id =
            id_text
                .parse::<DocumentId>()
                .map_err(|reason| IdError::InvalidUrlDocumentId {
                    input: excerpt(input),
                    reason: Box::new(reason),
                })?;
        let mut heads = Vec::new();
        if let Some(heads_text) = heads_text {
            for head in heads_text.split('|') {
                // An empty piece would come from "#", "a||b" or a trailing "|"; none of them
                // is something automerge-repo writes, so we reject rather than guess.
                if head.is_empty() {
                    return Err(IdError::EmptyHead {
                        input: excerpt(input),
                    });
                }
                heads.push(decode_head(head)?);
            }
        }
        Ok(Self { document_id, heads })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN_ID: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    fn hash(byte: u8) -> ChangeHash {
        ChangeHash([byte; 32])
    }

    #[test]
    fn random_document_ids_round_trip_through_base58check() {
        for _ in 0..100 {
            let id = DocumentId::random();
            let text = id.to_string();
            // Most ids are 27 or 28 characters, but about one in a thousand is shorter, so
            // only the upper bound that `from_str` relies on is a real invariant.
            assert!(text.len() <= MAX_DOCUMENT_ID_CHARS, "too long: {text}");
            assert_eq!(text.parse::<DocumentId>(), Ok(id));
        }
    }

    #[test]
    fn extreme_document_ids_round_trip_within_the_length_limit() {
        for bytes in [[0u8; 16], [0xff; 16]] {
            let id = DocumentId::from_bytes(bytes);
            let text = id.to_string();
            assert!(text.len() <= MAX_DOCUMENT_ID_CHARS, "too long: {text}");
            assert_eq!(text.parse::<DocumentId>(), Ok(id));
        }
        let head = ChangeHash([0xff; 32]);
        assert!(encode_head(&head).len() <= MAX_HEAD_CHARS);
        assert_eq!(decode_head(&encode_head(&head)), Ok(head));
    }

    #[test]
    fn known_js_document_id_parses_and_reencodes_identically() {
        let id: DocumentId = KNOWN_ID.parse().expect("known-good id");
        assert_eq!(id.to_string(), KNOWN_ID);
        assert_eq!(format!("{id:?}"), format!("DocumentId({KNOWN_ID})"));
    }

    #[test]
    fn corrupted_checksum_is_rejected() {
        // Changing the last character changes the checksum bytes but keeps the alphabet valid.
        let mut corrupted = KNOWN_ID.to_owned();
        corrupted.pop();
        corrupted.push(if KNOWN_ID.ends_with('v') { 'w' } else { 'v' });
        let err = corrupted.parse::<DocumentId>().unwrap_err();
        assert!(
            matches!(
                err,
                IdError::InvalidDocumentId {
                    reason: bs58::decode::Error::InvalidChecksum { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(&corrupted), "{err}");
    }

    #[test]
    fn non_alphabet_characters_are_rejected() {
        // Zero is not in the Bitcoin alphabet.
        assert!(matches!(
            "0NMNnkMhL8jXrdJ9jamS58PAVdXu".parse::<DocumentId>(),
            Err(IdError::InvalidDocumentId { .. })
        ));
        assert!("".parse::<DocumentId>().is_err());
    }

    #[test]
    fn wrong_payload_length_is_rejected() {
        let short = bs58::encode([7u8; 8]).with_check().into_string();
        assert_eq!(
            short.parse::<DocumentId>(),
            Err(IdError::WrongDocumentIdLength {
                input: short.clone(),
                len: 8
            })
        );
    }

    #[test]
    fn overlong_id_is_rejected_without_decoding() {
        let long = "2".repeat(100_000);
        assert!(matches!(
            long.parse::<DocumentId>(),
            Err(IdError::DocumentIdTooLong { len: 100_000, .. })
        ));
    }

    #[test]
    fn legacy_hyphenated_uuid_is_accepted() {
        let uuid = uuid::Uuid::new_v4();
        let id: DocumentId = uuid.hyphenated().to_string().parse().expect("legacy uuid");
        assert_eq!(id.as_bytes(), uuid.as_bytes());
        // The simple (unhyphenated) form was never an automerge-repo id.
        assert!(uuid.simple().to_string().parse::<DocumentId>().is_err());
    }

    #[test]
    fn document_id_from_slice_checks_length() {
        assert_eq!(
            DocumentId::from_slice(&[1; 16]),
            Ok(DocumentId::from_bytes([1; 16]))
        );
        assert_eq!(
            DocumentId::from_slice(&[1; 15]),
            Err(IdError::WrongDocumentIdBytes { len: 15 })
        );
    }

    #[test]
    fn heads_round_trip_and_keep_order() {
        let heads = vec![hash(3), hash(1), hash(2)];
        let encoded = encode_heads(&heads);
        assert_eq!(decode_heads(&encoded), Ok(heads));
    }

    #[test]
    fn head_of_wrong_length_is_rejected() {
        let text = bs58::encode([1u8; 16]).with_check().into_string();
        assert_eq!(
            decode_head(&text),
            Err(IdError::WrongHeadLength {
                input: text.clone(),
                len: 16
            })
        );
    }

    #[test]
    fn url_without_heads_round_trips() {
        let url: AutomergeUrl = format!("automerge:{KNOWN_ID}").parse().expect("url");
        assert!(url.heads.is_empty());
        assert_eq!(url.to_string(), format!("automerge:{KNOWN_ID}"));
    }

    #[test]
    fn url_with_heads_round_trips() {
        let url = AutomergeUrl::with_heads(DocumentId::random(), vec![hash(9), hash(4)]);
        let text = url.to_string();
        assert_eq!(text.matches('|').count(), 1, "{text}");
        assert_eq!(text.parse::<AutomergeUrl>(), Ok(url));
    }

    #[test]
    fn malformed_urls_are_rejected() {
        let id = DocumentId::random();
        assert!(matches!(
            id.to_string().parse::<AutomergeUrl>(),
            Err(IdError::MissingUrlScheme { .. })
        ));
        assert!(matches!(
            format!("automerge:{id}#").parse::<AutomergeUrl>(),
            Err(IdError::EmptyHead { .. })
        ));
        assert!(matches!(
            "automerge:nope".parse::<AutomergeUrl>(),
            Err(IdError::InvalidUrlDocumentId { .. })
        ));
        assert!(matches!(
            format!("automerge:{id}#abc").parse::<AutomergeUrl>(),
            Err(IdError::InvalidHead { .. })
        ));
    }
}
