//! The messages of the automerge-repo network protocol v1, as values.
//!
//! [`Message`] has one variant per message type; [`super::decode`] and [`super::encode`] turn
//! frames into these values and back.

use std::collections::BTreeMap;

use automerge::ChangeHash;

use super::ids::{decode_heads, DocumentId, IdError};

/// The only protocol version that exists, sent in `join` and `peer`.
pub const PROTOCOL_VERSION: &str = "1";

/// What a peer tells the other side about its storage during the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerMetadata {
    /// The peer's StorageId (a UUID string), if it persists documents at all.
    pub storage_id: Option<String>,
    /// Whether the peer expects not to come back with this StorageId, so that there is no
    /// point persisting sync state for it.
    pub is_ephemeral: bool,
}

/// One entry of `newHeads` in `remote-heads-changed`: what a storage peer has of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHeads {
    /// The heads, each the base58check text of a change hash. They are kept as text so that
    /// a head we cannot parse does not make us drop the whole message.
    pub heads: Vec<String>,
    /// When the originating peer saw these heads, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

impl RemoteHeads {
    /// Parses the heads into change hashes.
    pub fn decode_heads(&self) -> Result<Vec<ChangeHash>, IdError> {
        decode_heads(&self.heads)
    }
}

/// One protocol message. The variants follow section 4 of docs/protocol.md.
///
/// Peer ids, storage ids and document ids are kept as the strings that arrived. That lets a
/// relay forward a message it does not fully understand without changing it; use
/// [`Message::parse_document_id`] when the id itself is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `join`: the first frame a client sends on a new socket.
    Join {
        /// The client's PeerId.
        sender_id: String,
        /// The versions the client speaks. Absent means "1" (docs/protocol.md section 5).
        supported_protocol_versions: Option<Vec<String>>,
        /// The client's storage metadata.
        peer_metadata: Option<PeerMetadata>,
    },
    /// `peer`: the server's reply to `join`.
    Peer {
        /// The server's PeerId.
        sender_id: String,
        /// The client's PeerId.
        target_id: String,
        /// The version the server picked; always [`PROTOCOL_VERSION`] today.
        selected_protocol_version: String,
        /// The server's storage metadata.
        peer_metadata: Option<PeerMetadata>,
    },
    /// `error`: the sender is about to close the socket, and says why.
    Error {
        /// A human-readable reason.
        message: String,
        /// The sender's PeerId, which JS adds.
        sender_id: Option<String>,
        /// The receiver's PeerId, which JS adds.
        target_id: Option<String>,
    },
    /// `leave`: an advisory goodbye that JS websocket peers neither send nor handle.
    Leave {
        /// The departing PeerId.
        sender_id: String,
    },
    /// `request`: a sync message from a peer that has no copy of the document.
    Request {
        /// The sender's PeerId.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// The document id as it arrived (normally base58check).
        document_id: String,
        /// An automerge sync message; never empty.
        data: Vec<u8>,
    },
    /// `sync`: an automerge sync message for one document.
    Sync {
        /// The sender's PeerId.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// The document id as it arrived (normally base58check).
        document_id: String,
        /// An automerge sync message; never empty.
        data: Vec<u8>,
    },
    /// `doc-unavailable`: the sender cannot supply a document that was requested.
    DocUnavailable {
        /// The sender's PeerId.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// The document id as it arrived.
        document_id: String,
    },
    /// `ephemeral`: an application broadcast about a document that is not stored.
    Ephemeral {
        /// The original author's PeerId, which stays the same when the message is forwarded.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// A per-session counter that receivers use to drop duplicates.
        count: u64,
        /// The author's session, created once per Repo instance.
        session_id: String,
        /// The document id as it arrived.
        document_id: String,
        /// The payload, in practice a CBOR-encoded application value; never empty.
        data: Vec<u8>,
    },
    /// `remote-subscription-change`: which storage ids the sender wants head updates for.
    RemoteSubscriptionChange {
        /// The sender's PeerId.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// Storage ids to start following.
        add: Option<Vec<String>>,
        /// Storage ids to stop following.
        remove: Option<Vec<String>>,
    },
    /// `remote-heads-changed`: gossip about which heads storage peers hold.
    RemoteHeadsChanged {
        /// The sender's PeerId.
        sender_id: String,
        /// The receiver's PeerId.
        target_id: String,
        /// The document id as it arrived.
        document_id: String,
        /// The heads per StorageId.
        new_heads: BTreeMap<String, RemoteHeads>,
    },
    /// A message whose `type` we do not know. It is decoded rather than rejected because
    /// the JS Repo silently drops such messages, and a compatible peer should do the same.
    Unknown {
        /// The `type` value that arrived.
        type_name: String,
    },
}

impl Message {
    /// A `join` that offers [`PROTOCOL_VERSION`], as every client should send.
    pub fn join(sender_id: impl Into<String>, peer_metadata: Option<PeerMetadata>) -> Self {
        Self::Join {
            sender_id: sender_id.into(),
            supported_protocol_versions: Some(vec![PROTOCOL_VERSION.to_owned()]),
            peer_metadata,
        }
    }

    /// A `peer` reply that selects [`PROTOCOL_VERSION`].
    pub fn peer(
        sender_id: impl Into<String>,
        target_id: impl Into<String>,
        peer_metadata: Option<PeerMetadata>,
    ) -> Self {
        Self::Peer {
            sender_id: sender_id.into(),
            target_id: target_id.into(),
            selected_protocol_version: PROTOCOL_VERSION.to_owned(),
            peer_metadata,
        }
    }

    /// A `request` if `request` is true, else a `sync`.
    ///
    /// The two carry the same fields and differ only in what they say about the sender: a
    /// `request` holds nothing of the document yet and asks to be told `doc-unavailable` if
    /// the receiver cannot provide it (docs/protocol.md section 4).
    pub fn sync_or_request(
        request: bool,
        sender_id: impl Into<String>,
        target_id: impl Into<String>,
        document_id: impl Into<String>,
        data: Vec<u8>,
    ) -> Self {
        let (sender_id, target_id, document_id) =
            (sender_id.into(), target_id.into(), document_id.into());
        if request {
            Self::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        } else {
            Self::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            }
        }
    }

    /// The wire `type` of this message.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Join { .. } => "join",
            Self::Peer { .. } => "peer",
            Self::Error { .. } => "error",
            Self::Leave { .. } => "leave",
            Self::Request { .. } => "request",
            Self::Sync { .. } => "sync",
            Self::DocUnavailable { .. } => "doc-unavailable",
            Self::Ephemeral { .. } => "ephemeral",
            Self::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Self::RemoteHeadsChanged { .. } => "remote-heads-changed",
            Self::Unknown { type_name } => type_name,
        }
    }

    /// The sender's PeerId, which a server checks against the socket's bound peer.
    pub fn sender_id(&self) -> Option<&str> {
        match self {
            Self::Join { sender_id, .. }
            | Self::Peer { sender_id, .. }
            | Self::Leave { sender_id }
            | Self::Request { sender_id, .. }
            | Self::Sync { sender_id, .. }
            | Self::DocUnavailable { sender_id, .. }
            | Self::Ephemeral { sender_id, .. }
            | Self::RemoteSubscriptionChange { sender_id, .. }
            | Self::RemoteHeadsChanged { sender_id, .. } => Some(sender_id),
            Self::Error { sender_id, .. } => sender_id.as_deref(),
            Self::Unknown { .. } => None,
        }
    }

    /// The receiver's PeerId, if the message names one.
    pub fn target_id(&self) -> Option<&str> {
        match self {
            Self::Peer { target_id, .. }
            | Self::Request { target_id, .. }
            | Self::Sync { target_id, .. }
            | Self::DocUnavailable { target_id, .. }
            | Self::Ephemeral { target_id, .. }
            | Self::RemoteSubscriptionChange { target_id, .. }
            | Self::RemoteHeadsChanged { target_id, .. } => Some(target_id),
            Self::Error { target_id, .. } => target_id.as_deref(),
            Self::Join { .. } | Self::Leave { .. } | Self::Unknown { .. } => None,
        }
    }

    /// The document id exactly as it arrived, for the messages that carry one.
    pub fn document_id(&self) -> Option<&str> {
        match self {
            Self::Request { document_id, .. }
            | Self::Sync { document_id, .. }
            | Self::DocUnavailable { document_id, .. }
            | Self::Ephemeral { document_id, .. }
            | Self::RemoteHeadsChanged { document_id, .. } => Some(document_id),
            _ => None,
        }
    }

    /// Parses the document id, for the messages that carry one.
    ///
    /// Parsing is separate from decoding so that a message with an id form we do not
    /// understand can still be logged, answered or forwarded.
    pub fn parse_document_id(&self) -> Option<Result<DocumentId, IdError>> {
        self.document_id().map(str::parse)
    }
}

/// Why a frame could not be decoded into a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame ended in the middle of a CBOR item (or was empty).
    #[error("truncated cbor: the frame ended in the middle of an item")]
    Truncated,
    /// The frame is not well-formed CBOR.
    #[error("malformed cbor: {reason}")]
    Malformed {
        /// What the CBOR decoder reported.
        reason: String,
    },
    /// The frame is CBOR, but not a map.
    #[error("expected a cbor map at the top level, found {found}")]
    NotAMap {
        /// The CBOR type that was found instead.
        found: String,
    },
    /// A map in the message has a key that is not a text string.
    #[error("map key at byte {position} is a {found}, not a text string")]
    NonTextKey {
        /// The byte offset of the key.
        position: usize,
        /// The CBOR type that was found instead.
        found: String,
    },
    /// Bytes follow the message map, which would mean two messages in one frame.
    #[error("{count} trailing bytes after the message map")]
    TrailingBytes {
        /// How many bytes follow the map.
        count: usize,
    },
    /// Maps or arrays nest deeper than any message needs.
    #[error("cbor nesting deeper than {max} levels")]
    TooDeep {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The message has no `type`.
    #[error("message has no \"type\" field")]
    MissingType,
    /// A field that this message type requires is absent, `null` or `undefined`.
    #[error("{message_type} message is missing required field {field:?}")]
    MissingField {
        /// The message `type`.
        message_type: &'static str,
        /// The wire key of the field.
        field: &'static str,
    },
    /// A field holds a CBOR value of the wrong kind.
    #[error("field {field:?} should be {expected}, found {found}")]
    WrongType {
        /// The wire key of the field.
        field: &'static str,
        /// What the field should hold.
        expected: &'static str,
        /// The CBOR type that was found.
        found: String,
    },
    /// A field that must be a non-negative integer holds a negative, fractional or
    /// non-finite float, or one too large for a u64.
    #[error("field {field:?} should be a non-negative integer, found {value}")]
    NotAnInteger {
        /// The wire key of the field.
        field: &'static str,
        /// The number that was found, as text.
        value: String,
    },
    /// A field appears twice in one map. We reject this because implementations disagree on
    /// which copy wins, and that disagreement could let a frame mean different things to a
    /// relay and to its final receiver.
    #[error("field {field:?} appears more than once")]
    DuplicateField {
        /// The wire key of the field.
        field: &'static str,
    },
    /// `data` is empty, which docs/protocol.md section 1 forbids.
    #[error("{message_type} message has an empty \"data\" field")]
    EmptyData {
        /// The message `type`.
        message_type: &'static str,
    },
    /// `documentId` arrived as a byte string that is not 16 bytes long.
    #[error("documentId byte string is {len} bytes, expected 16")]
    DocumentIdBytes {
        /// The length that was found.
        len: usize,
    },
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(err: minicbor::decode::Error) -> Self {
        if err.is_end_of_input() {
            Self::Truncated
        } else {
            Self::Malformed {
                reason: err.to_string(),
            }
        }
    }
}
