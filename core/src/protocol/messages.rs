//! The messages of the automerge-repo network protocol v1, and their CBOR wire form.
//!
//! Decoding is written by hand over [`minicbor::Decoder`] rather than derived, because the
//! two implementations we must talk to write the same message differently: cbor-x (JS) uses
//! non-minimal map headers and `undefined` for missing optional fields, samod uses minimal
//! headers and may send `documentId` as bytes, and either may add keys we do not know. A
//! derived decoder would reject some of these forms. Every frame comes from the network, so
//! decoding must return an error, and never panic, on any input at all.

use std::borrow::Cow;
use std::collections::BTreeMap;

use automerge::ChangeHash;
use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use super::ids::{decode_heads, DocumentId, IdError};

/// The only protocol version that exists, sent in `join` and `peer`.
pub const PROTOCOL_VERSION: &str = "1";

/// How deeply containers (maps and arrays) may nest in a frame, counting the message map.
///
/// No real message goes deeper than 4 levels (`newHeads` → storage id → `heads` → head).
/// The limit keeps hostile input cheap to reject, and it keeps our own code honest: nothing
/// here recurses per level, but a limit means that stays true if that ever changes.
const MAX_DEPTH: usize = 32;

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

/// One protocol message. The variants follow section 4 of PROTOCOL.md.
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
        /// The versions the client speaks. Absent means "1" (PROTOCOL.md section 5).
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

    /// Encodes this message; see [`encode`].
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a message; see [`decode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
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
    /// `data` is empty, which PROTOCOL.md section 1 forbids.
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

/// Skips one CBOR data item, whatever it is, without recursing.
///
/// `depth` is how many containers already enclose the item. We keep our own stack of open
/// containers so that hostile nesting costs heap (bounded by [`MAX_DEPTH`]) rather than
/// call stack, and so that we do not depend on how a minicbor build implements `skip`.
fn skip_value(d: &mut Decoder<'_>, depth: usize) -> Result<(), DecodeError> {
    // How many items each open container still holds; `None` marks an indefinite container,
    // which ends at a break byte instead.
    let mut open: Vec<Option<u64>> = Vec::new();
    loop {
        let mut item_done = true;
        match d.datatype()? {
            // A tag only prefixes the item that follows it, so it does not finish an item.
            Type::Tag => {
                d.tag()?;
                continue;
            }
            ty @ (Type::Array | Type::ArrayIndef | Type::Map | Type::MapIndef) => {
                let items = if matches!(ty, Type::Map | Type::MapIndef) {
                    match d.map()? {
                        // A map holds a key and a value per entry. A count too big to double
                        // cannot fit in any frame, so the input is simply short.
                        Some(n) => Some(n.checked_mul(2).ok_or(DecodeError::Truncated)?),
                        None => None,
                    }
                } else {
                    d.array()?
                };
                if items != Some(0) {
                    if depth + open.len() >= MAX_DEPTH {
                        return Err(DecodeError::TooDeep { max: MAX_DEPTH });
                    }
                    open.push(items);
                    item_done = false;
                }
            }
            Type::Break => {
                // A break may only close the innermost container, and only an indefinite one.
                if open.last() != Some(&None) {
                    return Err(DecodeError::Malformed {
                        reason: format!("unexpected break at byte {}", d.position()),
                    });
                }
                d.set_position(d.position() + 1);
                open.pop();
            }
            Type::Unknown(byte) => {
                return Err(DecodeError::Malformed {
                    reason: format!("reserved initial byte {byte:#04x} at byte {}", d.position()),
                });
            }
            // Everything else is a scalar or a (possibly chunked) string; minicbor skips those
            // in a flat loop.
            _ => d.skip()?,
        }
        if item_done {
            // Count the finished item against its definite containers, closing each one that
            // this completes, since a closed container is in turn a finished item.
            loop {
                match open.last_mut() {
                    None => return Ok(()),
                    Some(None) => break,
                    Some(Some(remaining)) => {
                        *remaining -= 1;
                        if *remaining > 0 {
                            break;
                        }
                        open.pop();
                    }
                }
            }
        }
    }
}

/// Reads a map key, which must be text. Indefinite-length text is accepted because it is
/// valid CBOR, even though no known implementation writes it.
fn read_key<'b>(d: &mut Decoder<'b>) -> Result<Cow<'b, str>, DecodeError> {
    match d.datatype()? {
        Type::String => Ok(Cow::Borrowed(d.str()?)),
        Type::StringIndef => Ok(Cow::Owned(collect_text(d)?)),
        other => Err(DecodeError::NonTextKey {
            position: d.position(),
            found: other.to_string(),
        }),
    }
}

/// Reads indefinite-length text by joining its chunks.
fn collect_text(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    let mut text = String::new();
    for chunk in d.str_iter()? {
        text.push_str(chunk?);
    }
    Ok(text)
}

/// Walks a map (definite or indefinite), calling `on_entry` with each key while the decoder
/// sits at the value. `on_entry` must consume exactly that value.
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    mut on_entry: impl FnMut(&mut Decoder<'b>, Cow<'b, str>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let ty = d.datatype()?;
    if !matches!(ty, Type::Map | Type::MapIndef) {
        return Err(wrong_type(field, "a map", ty));
    }
    let mut remaining = d.map()?;
    loop {
        match &mut remaining {
            Some(0) => return Ok(()),
            Some(n) => *n -= 1,
            None => {
                if d.datatype()? == Type::Break {
                    d.set_position(d.position() + 1);
                    return Ok(());
                }
            }
        }
        let key = read_key(d)?;
        on_entry(d, key)?;
    }
}

/// Walks an array (definite or indefinite), calling `on_item` at each element, which it
/// must consume.
fn for_each_item<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    mut on_item: impl FnMut(&mut Decoder<'b>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let ty = d.datatype()?;
    if !matches!(ty, Type::Array | Type::ArrayIndef) {
        return Err(wrong_type(field, "an array", ty));
    }
    let mut remaining = d.array()?;
    loop {
        match &mut remaining {
            Some(0) => return Ok(()),
            Some(n) => *n -= 1,
            None => {
                if d.datatype()? == Type::Break {
                    d.set_position(d.position() + 1);
                    return Ok(());
                }
            }
        }
        on_item(d)?;
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: Type) -> DecodeError {
    DecodeError::WrongType {
        field,
        expected,
        found: found.to_string(),
    }
}

/// Reports whether the value at the decoder is `null` or `undefined`, which cbor-x writes
/// for a JS field that is present but has no value. We treat both as "absent".
fn is_nothing(d: &Decoder<'_>) -> Result<bool, DecodeError> {
    Ok(matches!(d.datatype()?, Type::Null | Type::Undefined))
}

fn read_text(d: &mut Decoder<'_>, field: &'static str) -> Result<String, DecodeError> {
    match d.datatype()? {
        Type::String => Ok(d.str()?.to_owned()),
        Type::StringIndef => collect_text(d),
        other => Err(wrong_type(field, "a text string", other)),
    }
}

/// Reads a byte string, skipping any tags in front of it. cbor-x tags a Uint8Array when
/// `tagUint8Array` is on; the JS adapter turns that off, but skipping costs nothing.
fn read_bytes(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<u8>, DecodeError> {
    while d.datatype()? == Type::Tag {
        d.tag()?;
    }
    match d.datatype()? {
        Type::Bytes => Ok(d.bytes()?.to_vec()),
        Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter()? {
                bytes.extend_from_slice(chunk?);
            }
            Ok(bytes)
        }
        other => Err(wrong_type(field, "a byte string", other)),
    }
}

fn read_bool(d: &mut Decoder<'_>, field: &'static str) -> Result<bool, DecodeError> {
    match d.datatype()? {
        Type::Bool => Ok(d.bool()?),
        other => Err(wrong_type(field, "a bool", other)),
    }
}

/// Converts IEEE 754 half-precision bits to an f64.
///
/// minicbor only decodes f16 with its `half` feature, which this crate does not enable, and
/// the conversion is short enough not to need a dependency for it.
fn f16_bits_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x03ff);
    let magnitude = match exponent {
        0 => mantissa * 2f64.powi(-24),
        0x1f if mantissa == 0.0 => f64::INFINITY,
        0x1f => f64::NAN,
        _ => (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15),
    };
    sign * magnitude
}

/// Reads a non-negative integer that may arrive as a CBOR uint or as a float.
///
/// JS numbers are doubles; cbor-x normally writes integral ones as uints, but other encoders
/// may not, and samod accepts floats for the same reason.
fn read_uint(d: &mut Decoder<'_>, field: &'static str) -> Result<u64, DecodeError> {
    let value = match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => return Ok(d.u64()?),
        Type::F16 => {
            let start = d.position();
            let input = d.input();
            let bits = input
                .get(start + 1..start + 3)
                .ok_or(DecodeError::Truncated)?;
            d.set_position(start + 3);
            f16_bits_to_f64(u16::from_be_bytes([bits[0], bits[1]]))
        }
        Type::F32 | Type::F64 => d.f64()?,
        other => return Err(wrong_type(field, "an unsigned integer", other)),
    };
    // 2^64 is the first double that does not fit in a u64; every double below it that has
    // no fractional part converts exactly.
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < TWO_POW_64 {
        // The checks above make this cast exact.
        Ok(value as u64)
    } else {
        Err(DecodeError::NotAnInteger {
            field,
            value: value.to_string(),
        })
    }
}

fn read_text_array(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<String>, DecodeError> {
    let mut items = Vec::new();
    for_each_item(d, field, |d| {
        items.push(read_text(d, field)?);
        Ok(())
    })?;
    Ok(items)
}

/// Reads `documentId`, which is text from JS but may be a 16-byte byte string from samod.
/// Bytes become the base58check text, so callers see one form.
fn read_document_id(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    const FIELD: &str = "documentId";
    match d.datatype()? {
        Type::String | Type::StringIndef => read_text(d, FIELD),
        Type::Bytes | Type::BytesIndef | Type::Tag => {
            let bytes = read_bytes(d, FIELD)?;
            DocumentId::from_slice(&bytes)
                .map(|id| id.to_string())
                .map_err(|_| DecodeError::DocumentIdBytes { len: bytes.len() })
        }
        other => Err(wrong_type(FIELD, "a text or byte string", other)),
    }
}

fn read_peer_metadata(d: &mut Decoder<'_>, depth: usize) -> Result<PeerMetadata, DecodeError> {
    let mut metadata = PeerMetadata::default();
    let mut seen_storage_id = false;
    let mut seen_is_ephemeral = false;
    for_each_entry(d, "peerMetadata", |d, key| {
        match key.as_ref() {
            "storageId" => {
                check_first(&mut seen_storage_id, "storageId")?;
                metadata.storage_id = if is_nothing(d)? {
                    skip_value(d, depth)?;
                    None
                } else {
                    Some(read_text(d, "storageId")?)
                };
            }
            "isEphemeral" => {
                check_first(&mut seen_is_ephemeral, "isEphemeral")?;
                // A missing isEphemeral is falsy in JS, so it means "not ephemeral" here too.
                metadata.is_ephemeral = if is_nothing(d)? {
                    skip_value(d, depth)?;
                    false
                } else {
                    read_bool(d, "isEphemeral")?
                };
            }
            _ => skip_value(d, depth)?,
        }
        Ok(())
    })?;
    Ok(metadata)
}

fn read_new_heads(
    d: &mut Decoder<'_>,
    depth: usize,
) -> Result<BTreeMap<String, RemoteHeads>, DecodeError> {
    const TYPE: &str = "remote-heads-changed";
    let mut new_heads = BTreeMap::new();
    for_each_entry(d, "newHeads", |d, storage_id| {
        let mut heads = None;
        let mut timestamp = None;
        for_each_entry(d, "newHeads", |d, key| {
            match key.as_ref() {
                "heads" if !is_nothing(d)? => {
                    if heads.is_some() {
                        return Err(DecodeError::DuplicateField { field: "heads" });
                    }
                    heads = Some(read_text_array(d, "heads")?);
                }
                "timestamp" if !is_nothing(d)? => {
                    if timestamp.is_some() {
                        return Err(DecodeError::DuplicateField { field: "timestamp" });
                    }
                    timestamp = Some(read_uint(d, "timestamp")?);
                }
                _ => skip_value(d, depth + 1)?,
            }
            Ok(())
        })?;
        let entry = RemoteHeads {
            heads: heads.ok_or(DecodeError::MissingField {
                message_type: TYPE,
                field: "heads",
            })?,
            timestamp: timestamp.ok_or(DecodeError::MissingField {
                message_type: TYPE,
                field: "timestamp",
            })?,
        };
        if new_heads.insert(storage_id.into_owned(), entry).is_some() {
            return Err(DecodeError::DuplicateField { field: "newHeads" });
        }
        Ok(())
    })?;
    Ok(new_heads)
}

fn check_first(seen: &mut bool, field: &'static str) -> Result<(), DecodeError> {
    if std::mem::replace(seen, true) {
        Err(DecodeError::DuplicateField { field })
    } else {
        Ok(())
    }
}

/// The keys of the message map and where each value starts, gathered in a first pass so
/// that fields can then be read in whatever order the message type needs, whatever order
/// they arrived in.
struct Fields<'b> {
    input: &'b [u8],
    entries: Vec<(Cow<'b, str>, usize)>,
}

impl<'b> Fields<'b> {
    /// Reads the top-level map, checking that every value is well-formed and not too deep
    /// and that nothing follows the map.
    fn scan(input: &'b [u8]) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(input);
        let ty = d.datatype()?;
        if !matches!(ty, Type::Map | Type::MapIndef) {
            return Err(DecodeError::NotAMap {
                found: ty.to_string(),
            });
        }
        let mut entries = Vec::new();
        for_each_entry(&mut d, "message", |d, key| {
            entries.push((key, d.position()));
            skip_value(d, 1)
        })?;
        let count = input.len() - d.position();
        if count > 0 {
            return Err(DecodeError::TrailingBytes { count });
        }
        Ok(Self { input, entries })
    }

    /// A decoder at the value of `key`, or `None` if the key is absent, `null` or
    /// `undefined`. A key that appears twice is an error.
    fn get(&self, key: &'static str) -> Result<Option<Decoder<'b>>, DecodeError> {
        let mut found = None;
        for (name, position) in &self.entries {
            if name == key {
                if found.is_some() {
                    return Err(DecodeError::DuplicateField { field: key });
                }
                found = Some(*position);
            }
        }
        let Some(position) = found else {
            return Ok(None);
        };
        let mut d = Decoder::new(self.input);
        d.set_position(position);
        if is_nothing(&d)? {
            return Ok(None);
        }
        Ok(Some(d))
    }

    fn opt<T>(
        &self,
        key: &'static str,
        read: impl FnOnce(&mut Decoder<'b>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        self.get(key)?.map(|mut d| read(&mut d)).transpose()
    }

    fn req<T>(
        &self,
        message_type: &'static str,
        key: &'static str,
        read: impl FnOnce(&mut Decoder<'b>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.opt(key, read)?.ok_or(DecodeError::MissingField {
            message_type,
            field: key,
        })
    }

    fn text(&self, message_type: &'static str, key: &'static str) -> Result<String, DecodeError> {
        self.req(message_type, key, |d| read_text(d, key))
    }

    fn opt_text(&self, key: &'static str) -> Result<Option<String>, DecodeError> {
        self.opt(key, |d| read_text(d, key))
    }

    fn document_id(&self, message_type: &'static str) -> Result<String, DecodeError> {
        self.req(message_type, "documentId", read_document_id)
    }

    /// Reads `data`, which must not be empty (PROTOCOL.md section 1).
    fn data(&self, message_type: &'static str) -> Result<Vec<u8>, DecodeError> {
        let data = self.req(message_type, "data", |d| read_bytes(d, "data"))?;
        if data.is_empty() {
            return Err(DecodeError::EmptyData { message_type });
        }
        Ok(data)
    }

    /// Reads `peerMetadata`, falling back to `metadata`, the name the README's CDDL uses
    /// and samod also reads.
    fn peer_metadata(&self) -> Result<Option<PeerMetadata>, DecodeError> {
        match self.opt("peerMetadata", |d| read_peer_metadata(d, 2))? {
            Some(metadata) => Ok(Some(metadata)),
            None => self.opt("metadata", |d| read_peer_metadata(d, 2)),
        }
    }
}

/// Decodes one frame into a [`Message`].
///
/// The frame must be exactly one CBOR map with text keys. Keys may come in any order, map
/// headers may use any length form, unknown keys are ignored, and `null` or `undefined`
/// count as absent. An unknown `type` decodes to [`Message::Unknown`] so that the caller can
/// ignore it, as the JS Repo does.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let fields = Fields::scan(bytes)?;
    let type_name = fields
        .opt("type", |d| read_text(d, "type"))?
        .ok_or(DecodeError::MissingType)?;
    let message = match type_name.as_str() {
        "join" => {
            const T: &str = "join";
            Message::Join {
                sender_id: fields.text(T, "senderId")?,
                supported_protocol_versions: fields.opt("supportedProtocolVersions", |d| {
                    read_text_array(d, "supportedProtocolVersions")
                })?,
                peer_metadata: fields.peer_metadata()?,
            }
        }
        "peer" => {
            const T: &str = "peer";
            Message::Peer {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                selected_protocol_version: fields.text(T, "selectedProtocolVersion")?,
                peer_metadata: fields.peer_metadata()?,
            }
        }
        "error" => Message::Error {
            message: fields.text("error", "message")?,
            sender_id: fields.opt_text("senderId")?,
            target_id: fields.opt_text("targetId")?,
        },
        "leave" => Message::Leave {
            sender_id: fields.text("leave", "senderId")?,
        },
        "request" => {
            const T: &str = "request";
            Message::Request {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                document_id: fields.document_id(T)?,
                data: fields.data(T)?,
            }
        }
        "sync" => {
            const T: &str = "sync";
            Message::Sync {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                document_id: fields.document_id(T)?,
                data: fields.data(T)?,
            }
        }
        "doc-unavailable" => {
            const T: &str = "doc-unavailable";
            Message::DocUnavailable {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                document_id: fields.document_id(T)?,
            }
        }
        "ephemeral" => {
            const T: &str = "ephemeral";
            Message::Ephemeral {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                count: fields.req(T, "count", |d| read_uint(d, "count"))?,
                session_id: fields.text(T, "sessionId")?,
                document_id: fields.document_id(T)?,
                data: fields.data(T)?,
            }
        }
        "remote-subscription-change" => {
            const T: &str = "remote-subscription-change";
            Message::RemoteSubscriptionChange {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                add: fields.opt("add", |d| read_text_array(d, "add"))?,
                remove: fields.opt("remove", |d| read_text_array(d, "remove"))?,
            }
        }
        "remote-heads-changed" => {
            const T: &str = "remote-heads-changed";
            Message::RemoteHeadsChanged {
                sender_id: fields.text(T, "senderId")?,
                target_id: fields.text(T, "targetId")?,
                document_id: fields.document_id(T)?,
                new_heads: fields.req(T, "newHeads", |d| read_new_heads(d, 2))?,
            }
        }
        _ => Message::Unknown { type_name },
    };
    Ok(message)
}

/// Encodes a message as one CBOR map, ready to send as one binary WebSocket frame.
///
/// The output uses minimal headers and no tags, and leaves out absent optional fields rather
/// than writing `null`, since PROTOCOL.md section 2 asks for exactly that. The encoder does
/// not refuse an empty `data`: callers must not send one (PROTOCOL.md section 1), and
/// [`decode`] rejects it on the way in. [`Message::Unknown`] encodes as a map holding only
/// its `type`.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    // Writing into a Vec<u8> cannot fail: minicbor's `Write` for Vec has an uninhabited
    // error type, and these calls produce no other kind of error.
    write_message(&mut e, message).expect("writing cbor into a Vec<u8> is infallible");
    e.into_writer()
}

type EncodeResult = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

/// The number of map entries a set of optional fields adds.
fn present(fields: &[bool]) -> u64 {
    fields.iter().filter(|&&present| present).count() as u64
}

fn write_message(e: &mut Encoder<Vec<u8>>, message: &Message) -> EncodeResult {
    let type_name = message.type_name();
    match message {
        Message::Join {
            sender_id,
            supported_protocol_versions,
            peer_metadata,
        } => {
            e.map(
                2 + present(&[
                    supported_protocol_versions.is_some(),
                    peer_metadata.is_some(),
                ]),
            )?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            if let Some(versions) = supported_protocol_versions {
                e.str("supportedProtocolVersions")?;
                write_text_array(e, versions)?;
            }
            if let Some(metadata) = peer_metadata {
                e.str("peerMetadata")?;
                write_peer_metadata(e, metadata)?;
            }
        }
        Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            peer_metadata,
        } => {
            e.map(4 + present(&[peer_metadata.is_some()]))?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("selectedProtocolVersion")?
                .str(selected_protocol_version)?;
            if let Some(metadata) = peer_metadata {
                e.str("peerMetadata")?;
                write_peer_metadata(e, metadata)?;
            }
        }
        Message::Error {
            message,
            sender_id,
            target_id,
        } => {
            e.map(2 + present(&[sender_id.is_some(), target_id.is_some()]))?;
            e.str("type")?.str(type_name)?;
            e.str("message")?.str(message)?;
            if let Some(sender_id) = sender_id {
                e.str("senderId")?.str(sender_id)?;
            }
            if let Some(target_id) = target_id {
                e.str("targetId")?.str(target_id)?;
            }
        }
        Message::Leave { sender_id } => {
            e.map(2)?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
        }
        Message::Request {
            sender_id,
            target_id,
            document_id,
            data,
        }
        | Message::Sync {
            sender_id,
            target_id,
            document_id,
            data,
        } => {
            e.map(5)?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("documentId")?.str(document_id)?;
            e.str("data")?.bytes(data)?;
        }
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => {
            e.map(4)?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("documentId")?.str(document_id)?;
        }
        Message::Ephemeral {
            sender_id,
            target_id,
            count,
            session_id,
            document_id,
            data,
        } => {
            e.map(7)?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("count")?.u64(*count)?;
            e.str("sessionId")?.str(session_id)?;
            e.str("documentId")?.str(document_id)?;
            e.str("data")?.bytes(data)?;
        }
        Message::RemoteSubscriptionChange {
            sender_id,
            target_id,
            add,
            remove,
        } => {
            e.map(3 + present(&[add.is_some(), remove.is_some()]))?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            if let Some(add) = add {
                e.str("add")?;
                write_text_array(e, add)?;
            }
            if let Some(remove) = remove {
                e.str("remove")?;
                write_text_array(e, remove)?;
            }
        }
        Message::RemoteHeadsChanged {
            sender_id,
            target_id,
            document_id,
            new_heads,
        } => {
            e.map(5)?;
            e.str("type")?.str(type_name)?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("documentId")?.str(document_id)?;
            e.str("newHeads")?.map(new_heads.len() as u64)?;
            for (storage_id, entry) in new_heads {
                e.str(storage_id)?.map(2)?;
                e.str("heads")?;
                write_text_array(e, &entry.heads)?;
                e.str("timestamp")?.u64(entry.timestamp)?;
            }
        }
        Message::Unknown { type_name } => {
            e.map(1)?;
            e.str("type")?.str(type_name)?;
        }
    }
    Ok(())
}

fn write_text_array(e: &mut Encoder<Vec<u8>>, items: &[String]) -> EncodeResult {
    e.array(items.len() as u64)?;
    for item in items {
        e.str(item)?;
    }
    Ok(())
}

fn write_peer_metadata(e: &mut Encoder<Vec<u8>>, metadata: &PeerMetadata) -> EncodeResult {
    e.map(1 + present(&[metadata.storage_id.is_some()]))?;
    if let Some(storage_id) = &metadata.storage_id {
        e.str("storageId")?.str(storage_id)?;
    }
    e.str("isEphemeral")?.bool(metadata.is_ephemeral)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

    /// Builds CBOR by hand, so that tests can produce the exact byte forms other encoders
    /// write (map16 headers, `undefined`, floats, tags) rather than what minicbor prefers.
    #[derive(Default)]
    struct Cbor(Vec<u8>);

    impl Cbor {
        fn head(mut self, major: u8, len: usize) -> Self {
            let major = major << 5;
            match len {
                0..=23 => self.0.push(major | len as u8),
                24..=0xff => self.0.extend([major | 24, len as u8]),
                _ => {
                    self.0.push(major | 25);
                    self.0.extend((len as u16).to_be_bytes());
                }
            }
            self
        }
        /// A map header in cbor-x's non-minimal two-byte-length form (`b9 0005`).
        fn map16(mut self, len: u16) -> Self {
            self.0.push(0xb9);
            self.0.extend(len.to_be_bytes());
            self
        }
        fn map(self, len: usize) -> Self {
            self.head(5, len)
        }
        fn array(self, len: usize) -> Self {
            self.head(4, len)
        }
        fn text(mut self, text: &str) -> Self {
            self = self.head(3, text.len());
            self.0.extend(text.as_bytes());
            self
        }
        fn bytes(mut self, bytes: &[u8]) -> Self {
            self = self.head(2, bytes.len());
            self.0.extend(bytes);
            self
        }
        fn raw(mut self, bytes: &[u8]) -> Self {
            self.0.extend(bytes);
            self
        }
        fn done(self) -> Vec<u8> {
            self.0
        }
    }

    const UNDEFINED: &[u8] = &[0xf7];
    const NULL: &[u8] = &[0xf6];
    const TRUE: &[u8] = &[0xf5];

    fn sync_message() -> Message {
        Message::Sync {
            sender_id: "alice".into(),
            target_id: "server".into(),
            document_id: DOC.into(),
            data: vec![0x42, 1, 2, 3],
        }
    }

    fn every_message_type() -> Vec<Message> {
        let mut new_heads = BTreeMap::new();
        new_heads.insert(
            "8c5f5a3e-storage".to_owned(),
            RemoteHeads {
                heads: super::super::ids::encode_heads(&[ChangeHash([7; 32])]),
                timestamp: 1_700_000_000_123,
            },
        );
        vec![
            Message::join(
                "probe-peer",
                Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
            ),
            Message::Join {
                sender_id: "bare".into(),
                supported_protocol_versions: None,
                peer_metadata: None,
            },
            Message::peer(
                "server",
                "probe-peer",
                Some(PeerMetadata {
                    storage_id: Some("18df0000-0000-4000-8000-000000000000".into()),
                    is_ephemeral: false,
                }),
            ),
            Message::Error {
                message: "unsupported protocol version".into(),
                sender_id: Some("server".into()),
                target_id: None,
            },
            Message::Leave {
                sender_id: "alice".into(),
            },
            Message::Request {
                sender_id: "alice".into(),
                target_id: "server".into(),
                document_id: DOC.into(),
                data: vec![0x42; 10],
            },
            sync_message(),
            Message::DocUnavailable {
                sender_id: "server".into(),
                target_id: "alice".into(),
                document_id: DOC.into(),
            },
            Message::Ephemeral {
                sender_id: "alice".into(),
                target_id: "bob".into(),
                count: 7,
                session_id: "k3j2h1".into(),
                document_id: DOC.into(),
                data: vec![0xa0],
            },
            Message::RemoteSubscriptionChange {
                sender_id: "alice".into(),
                target_id: "server".into(),
                add: Some(vec!["storage-a".into()]),
                remove: None,
            },
            Message::RemoteHeadsChanged {
                sender_id: "server".into(),
                target_id: "alice".into(),
                document_id: DOC.into(),
                new_heads,
            },
            Message::Unknown {
                type_name: "future-thing".into(),
            },
        ]
    }

    /// The join frame from PROTOCOL.md section 7, byte for byte as cbor-x writes it.
    fn js_join_frame() -> Vec<u8> {
        Cbor::default()
            .map16(4)
            .text("type")
            .text("join")
            .text("senderId")
            .text("probe-peer")
            .text("peerMetadata")
            .map16(2)
            .text("storageId")
            .raw(UNDEFINED)
            .text("isEphemeral")
            .raw(TRUE)
            .text("supportedProtocolVersions")
            .array(1)
            .text("1")
            .done()
    }

    #[test]
    fn every_message_type_round_trips() {
        for message in every_message_type() {
            let bytes = encode(&message);
            assert_eq!(decode(&bytes), Ok(message.clone()), "{message:?}");
            assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }

    #[test]
    fn encoding_uses_minimal_headers_and_plain_byte_strings() {
        let bytes = encode(&sync_message());
        // A five-key map has the one-byte header a5, as samod writes it.
        assert_eq!(bytes[0], 0xa5);
        let data_key = Cbor::default().text("data").done();
        let at = bytes
            .windows(data_key.len())
            .position(|w| w == data_key)
            .expect("data key");
        // The value right after "data" is an untagged four-byte byte string.
        assert_eq!(&bytes[at + data_key.len()..], &[0x44, 0x42, 1, 2, 3]);
    }

    #[test]
    fn encoding_leaves_out_absent_fields_instead_of_writing_null() {
        let bytes = encode(&Message::Join {
            sender_id: "a".into(),
            supported_protocol_versions: None,
            peer_metadata: Some(PeerMetadata::default()),
        });
        assert!(!bytes.contains(&0xf6) && !bytes.contains(&0xf7));
        assert_eq!(bytes[0], 0xa3);
    }

    #[test]
    fn join_constructor_offers_protocol_version_one() {
        let bytes = encode(&Message::join("a", None));
        let expected = Cbor::default()
            .text("supportedProtocolVersions")
            .array(1)
            .text("1")
            .done();
        assert!(bytes.windows(expected.len()).any(|w| w == expected));
    }

    #[test]
    fn js_style_join_with_map16_headers_and_undefined_storage_id_decodes() {
        let frame = js_join_frame();
        assert_eq!(&frame[..3], &[0xb9, 0x00, 0x04]);
        assert_eq!(
            decode(&frame),
            Ok(Message::Join {
                sender_id: "probe-peer".into(),
                supported_protocol_versions: Some(vec!["1".into()]),
                peer_metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
            })
        );
    }

    #[test]
    fn js_style_peer_reply_with_map16_header_decodes() {
        // The key order is the one PROTOCOL.md section 7 captured from the JS server.
        let frame = Cbor::default()
            .map16(5)
            .text("type")
            .text("peer")
            .text("senderId")
            .text("js-sync-server")
            .text("peerMetadata")
            .map16(2)
            .text("storageId")
            .text("18df")
            .text("isEphemeral")
            .raw(&[0xf4])
            .text("selectedProtocolVersion")
            .text("1")
            .text("targetId")
            .text("probe-peer")
            .done();
        assert_eq!(&frame[..5], &[0xb9, 0x00, 0x05, 0x64, b't']);
        assert_eq!(
            decode(&frame),
            Ok(Message::peer(
                "js-sync-server",
                "probe-peer",
                Some(PeerMetadata {
                    storage_id: Some("18df".into()),
                    is_ephemeral: false,
                })
            ))
        );
    }

    #[test]
    fn indefinite_length_map_decodes() {
        let frame = Cbor::default()
            .raw(&[0xbf])
            .text("senderId")
            .text("a")
            .text("type")
            .text("leave")
            .raw(&[0xff])
            .done();
        assert_eq!(
            decode(&frame),
            Ok(Message::Leave {
                sender_id: "a".into()
            })
        );
    }

    #[test]
    fn unknown_keys_are_ignored_whatever_their_values() {
        let frame = Cbor::default()
            .map(7)
            .text("extra")
            .map(1)
            .text("nested")
            .array(2)
            .raw(&[0x01, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0])
            .text("type")
            .text("sync")
            .text("tagged")
            .raw(&[0xc1, 0x1a, 0, 0, 0, 1])
            .text("senderId")
            .text("alice")
            .text("targetId")
            .text("server")
            .text("documentId")
            .text(DOC)
            .text("data")
            .bytes(&[0x42, 1, 2, 3])
            .done();
        assert_eq!(decode(&frame), Ok(sync_message()));
    }

    #[test]
    fn undefined_and_null_optional_fields_count_as_absent() {
        let frame = Cbor::default()
            .map(5)
            .text("type")
            .text("remote-subscription-change")
            .text("senderId")
            .text("a")
            .text("targetId")
            .text("b")
            .text("add")
            .raw(NULL)
            .text("remove")
            .raw(UNDEFINED)
            .done();
        assert_eq!(
            decode(&frame),
            Ok(Message::RemoteSubscriptionChange {
                sender_id: "a".into(),
                target_id: "b".into(),
                add: None,
                remove: None,
            })
        );
    }

    #[test]
    fn metadata_key_is_accepted_as_an_alias_for_peer_metadata() {
        let frame = Cbor::default()
            .map(3)
            .text("type")
            .text("join")
            .text("senderId")
            .text("a")
            .text("metadata")
            .map(1)
            .text("isEphemeral")
            .raw(TRUE)
            .done();
        let Ok(Message::Join { peer_metadata, .. }) = decode(&frame) else {
            panic!("join expected");
        };
        assert_eq!(
            peer_metadata,
            Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true
            })
        );
    }

    #[test]
    fn unknown_type_decodes_to_unknown() {
        let frame = Cbor::default()
            .map(3)
            .text("type")
            .text("presence-v9")
            .text("count")
            .text("not a number, and that is fine")
            .text("senderId")
            .raw(&[0x05])
            .done();
        assert_eq!(
            decode(&frame),
            Ok(Message::Unknown {
                type_name: "presence-v9".into()
            })
        );
    }

    fn ephemeral_with_count(count: &[u8]) -> Vec<u8> {
        Cbor::default()
            .map(7)
            .text("type")
            .text("ephemeral")
            .text("senderId")
            .text("alice")
            .text("targetId")
            .text("bob")
            .text("count")
            .raw(count)
            .text("sessionId")
            .text("s")
            .text("documentId")
            .text(DOC)
            .text("data")
            .bytes(&[0xa0])
            .done()
    }

    fn decoded_count(count: &[u8]) -> Result<u64, DecodeError> {
        match decode(&ephemeral_with_count(count))? {
            Message::Ephemeral { count, .. } => Ok(count),
            other => panic!("ephemeral expected, got {other:?}"),
        }
    }

    #[test]
    fn float_count_is_accepted() {
        // 3.0 as f64, f32 and f16, then 2^53 as f64.
        assert_eq!(decoded_count(&[0xfb, 0x40, 0x08, 0, 0, 0, 0, 0, 0]), Ok(3));
        assert_eq!(decoded_count(&[0xfa, 0x40, 0x40, 0, 0]), Ok(3));
        assert_eq!(decoded_count(&[0xf9, 0x42, 0x00]), Ok(3));
        assert_eq!(
            decoded_count(&[0xfb, 0x43, 0x40, 0, 0, 0, 0, 0, 0]),
            Ok(1 << 53)
        );
        assert_eq!(decoded_count(&[0x19, 0x01, 0x00]), Ok(256));
    }

    #[test]
    fn fractional_negative_or_non_finite_count_is_rejected() {
        // 2.5, -1.0, NaN (f16), and a negative integer.
        for count in [
            &[0xfb, 0x40, 0x04, 0, 0, 0, 0, 0, 0][..],
            &[0xfb, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0],
            &[0xf9, 0x7e, 0x00],
        ] {
            assert!(
                matches!(
                    decoded_count(count),
                    Err(DecodeError::NotAnInteger { field: "count", .. })
                ),
                "{count:02x?}"
            );
        }
        assert!(matches!(
            decoded_count(&[0x20]),
            Err(DecodeError::WrongType { field: "count", .. })
        ));
    }

    #[test]
    fn tagged_data_is_accepted() {
        let frame = Cbor::default()
            .map(5)
            .text("type")
            .text("sync")
            .text("senderId")
            .text("alice")
            .text("targetId")
            .text("server")
            .text("documentId")
            .text(DOC)
            .text("data")
            .raw(&[0xd8, 0x40])
            .bytes(&[0x42, 1, 2, 3])
            .done();
        assert_eq!(decode(&frame), Ok(sync_message()));
    }

    #[test]
    fn document_id_as_sixteen_bytes_becomes_base58check_text() {
        let id: DocumentId = DOC.parse().expect("known id");
        let frame = Cbor::default()
            .map(4)
            .text("type")
            .text("doc-unavailable")
            .text("senderId")
            .text("s")
            .text("targetId")
            .text("t")
            .text("documentId")
            .bytes(id.as_bytes())
            .done();
        let message = decode(&frame).expect("decodes");
        assert_eq!(message.document_id(), Some(DOC));
        assert_eq!(message.parse_document_id(), Some(Ok(id)));
    }

    #[test]
    fn document_id_bytes_of_wrong_length_are_rejected() {
        let frame = Cbor::default()
            .map(4)
            .text("type")
            .text("doc-unavailable")
            .text("senderId")
            .text("s")
            .text("targetId")
            .text("t")
            .text("documentId")
            .bytes(&[1; 15])
            .done();
        assert_eq!(
            decode(&frame),
            Err(DecodeError::DocumentIdBytes { len: 15 })
        );
    }

    #[test]
    fn legacy_document_id_text_round_trips_unchanged() {
        let legacy = "5f2c1c1e-7d3a-4b8e-9a7e-0c6f2f1d9b11";
        let message = Message::DocUnavailable {
            sender_id: "s".into(),
            target_id: "t".into(),
            document_id: legacy.into(),
        };
        let decoded = decode(&encode(&message)).expect("decodes");
        assert_eq!(decoded.document_id(), Some(legacy));
        assert!(matches!(decoded.parse_document_id(), Some(Ok(_))));
    }

    #[test]
    fn missing_required_field_is_reported_by_name() {
        let frame = Cbor::default()
            .map(4)
            .text("type")
            .text("sync")
            .text("senderId")
            .text("alice")
            .text("targetId")
            .text("server")
            .text("data")
            .bytes(&[1])
            .done();
        assert_eq!(
            decode(&frame),
            Err(DecodeError::MissingField {
                message_type: "sync",
                field: "documentId"
            })
        );
        let frame = Cbor::default()
            .map(2)
            .text("type")
            .text("leave")
            .text("senderId")
            .raw(UNDEFINED)
            .done();
        assert_eq!(
            decode(&frame),
            Err(DecodeError::MissingField {
                message_type: "leave",
                field: "senderId"
            })
        );
    }

    #[test]
    fn missing_type_is_an_error() {
        let frame = Cbor::default().map(1).text("senderId").text("a").done();
        assert_eq!(decode(&frame), Err(DecodeError::MissingType));
    }

    #[test]
    fn empty_data_is_rejected() {
        let mut message = sync_message();
        if let Message::Sync { data, .. } = &mut message {
            data.clear();
        }
        assert_eq!(
            decode(&encode(&message)),
            Err(DecodeError::EmptyData {
                message_type: "sync"
            })
        );
    }

    #[test]
    fn data_as_text_is_rejected() {
        let frame = Cbor::default()
            .map(5)
            .text("type")
            .text("request")
            .text("senderId")
            .text("a")
            .text("targetId")
            .text("b")
            .text("documentId")
            .text(DOC)
            .text("data")
            .text("not bytes")
            .done();
        assert!(matches!(
            decode(&frame),
            Err(DecodeError::WrongType { field: "data", .. })
        ));
    }

    #[test]
    fn duplicate_known_key_is_rejected() {
        let frame = Cbor::default()
            .map(3)
            .text("type")
            .text("leave")
            .text("senderId")
            .text("a")
            .text("senderId")
            .text("b")
            .done();
        assert_eq!(
            decode(&frame),
            Err(DecodeError::DuplicateField { field: "senderId" })
        );
    }

    #[test]
    fn bare_number_is_an_error() {
        assert!(matches!(decode(&[0x05]), Err(DecodeError::NotAMap { .. })));
        assert!(matches!(
            decode(&[0xfb, 0x40, 0x08, 0, 0, 0, 0, 0, 0]),
            Err(DecodeError::NotAMap { .. })
        ));
    }

    #[test]
    fn null_and_array_are_errors() {
        assert!(matches!(decode(NULL), Err(DecodeError::NotAMap { .. })));
        assert!(matches!(decode(&[0x80]), Err(DecodeError::NotAMap { .. })));
    }

    #[test]
    fn empty_and_truncated_input_are_errors() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated));
        let frame = encode(&sync_message());
        for len in 0..frame.len() {
            assert!(decode(&frame[..len]).is_err(), "prefix of {len} bytes");
        }
        // A header that promises more entries than the frame holds.
        assert_eq!(
            decode(&[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn non_text_key_is_an_error() {
        let frame = Cbor::default()
            .map(2)
            .text("type")
            .text("leave")
            .raw(&[0x01])
            .text("a")
            .done();
        assert!(matches!(
            decode(&frame),
            Err(DecodeError::NonTextKey { position: 12, .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut frame = encode(&sync_message());
        frame.push(0x00);
        assert_eq!(decode(&frame), Err(DecodeError::TrailingBytes { count: 1 }));
        // Two messages in one frame are also trailing bytes.
        let mut two = encode(&sync_message());
        two.extend(encode(&sync_message()));
        assert!(matches!(
            decode(&two),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn stray_break_is_an_error() {
        let frame = Cbor::default()
            .map(2)
            .text("type")
            .text("leave")
            .text("x")
            .raw(&[0xff])
            .done();
        assert!(matches!(decode(&frame), Err(DecodeError::Malformed { .. })));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for (open, close) in [(0x81u8, None), (0x9f, Some(0xffu8)), (0xa1, None)] {
            let depth = 200_000;
            let mut cbor = Cbor::default()
                .map(2)
                .text("type")
                .text("leave")
                .text("deep");
            for _ in 0..depth {
                cbor = cbor.raw(&[open]);
                if open == 0xa1 {
                    cbor = cbor.text("k");
                }
            }
            cbor = cbor.raw(&[0x00]);
            if let Some(close) = close {
                cbor = cbor.raw(&vec![close; depth]);
            }
            assert_eq!(
                decode(&cbor.done()),
                Err(DecodeError::TooDeep { max: MAX_DEPTH })
            );
        }
        // A long chain of tags nests nothing and must not overflow either.
        let mut frame = Cbor::default().map(1).text("x").done();
        frame.extend(std::iter::repeat_n(0xc1, 100_000));
        frame.push(0x00);
        assert_eq!(decode(&frame), Err(DecodeError::MissingType));
    }

    #[test]
    fn nesting_up_to_the_limit_is_skipped_and_one_more_level_is_not() {
        let nested = |levels: usize| {
            let mut cbor = Cbor::default()
                .map(3)
                .text("type")
                .text("leave")
                .text("senderId")
                .text("a")
                .text("deep");
            for _ in 0..levels {
                cbor = cbor.raw(&[0x81]);
            }
            cbor.raw(&[0x00]).done()
        };
        // The message map is level 1, so MAX_DEPTH - 1 arrays inside it reach the limit.
        assert!(decode(&nested(MAX_DEPTH - 1)).is_ok());
        assert_eq!(
            decode(&nested(MAX_DEPTH)),
            Err(DecodeError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn remote_heads_entry_missing_timestamp_is_reported() {
        let frame = Cbor::default()
            .map(5)
            .text("type")
            .text("remote-heads-changed")
            .text("senderId")
            .text("a")
            .text("targetId")
            .text("b")
            .text("documentId")
            .text(DOC)
            .text("newHeads")
            .map(1)
            .text("storage")
            .map(1)
            .text("heads")
            .array(0)
            .done();
        assert_eq!(
            decode(&frame),
            Err(DecodeError::MissingField {
                message_type: "remote-heads-changed",
                field: "timestamp"
            })
        );
    }

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_bits_to_f64(0x3c00), 1.0);
        assert_eq!(f16_bits_to_f64(0xc000), -2.0);
        assert_eq!(f16_bits_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_bits_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_bits_to_f64(0x7c00), f64::INFINITY);
        assert!(f16_bits_to_f64(0x7e00).is_nan());
    }

    #[test]
    fn error_messages_are_lowercase_and_name_the_problem() {
        let err = DecodeError::MissingField {
            message_type: "sync",
            field: "data",
        };
        assert_eq!(
            err.to_string(),
            "sync message is missing required field \"data\""
        );
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-z0-9-]{0,12}"]
    }

    fn data() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 1..48)
    }

    fn texts() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(text(), 0..4)
    }

    fn metadata() -> impl Strategy<Value = Option<PeerMetadata>> {
        proptest::option::of((proptest::option::of(text()), any::<bool>()).prop_map(
            |(storage_id, is_ephemeral)| PeerMetadata {
                storage_id,
                is_ephemeral,
            },
        ))
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let heads = prop::collection::btree_map(
            text(),
            (texts(), any::<u64>()).prop_map(|(heads, timestamp)| RemoteHeads { heads, timestamp }),
            0..3,
        );
        prop_oneof![
            (text(), proptest::option::of(texts()), metadata()).prop_map(|(s, v, m)| {
                Message::Join {
                    sender_id: s,
                    supported_protocol_versions: v,
                    peer_metadata: m,
                }
            }),
            (text(), text(), text(), metadata()).prop_map(|(s, t, v, m)| Message::Peer {
                sender_id: s,
                target_id: t,
                selected_protocol_version: v,
                peer_metadata: m,
            }),
            (
                text(),
                proptest::option::of(text()),
                proptest::option::of(text())
            )
                .prop_map(|(message, sender_id, target_id)| Message::Error {
                    message,
                    sender_id,
                    target_id,
                }),
            text().prop_map(|sender_id| Message::Leave { sender_id }),
            (text(), text(), text(), data()).prop_map(|(s, t, d, data)| Message::Request {
                sender_id: s,
                target_id: t,
                document_id: d,
                data,
            }),
            (text(), text(), text(), data()).prop_map(|(s, t, d, data)| Message::Sync {
                sender_id: s,
                target_id: t,
                document_id: d,
                data,
            }),
            (text(), text(), text()).prop_map(|(s, t, d)| Message::DocUnavailable {
                sender_id: s,
                target_id: t,
                document_id: d,
            }),
            (text(), text(), any::<u64>(), text(), text(), data()).prop_map(
                |(s, t, count, session_id, d, data)| Message::Ephemeral {
                    sender_id: s,
                    target_id: t,
                    count,
                    session_id,
                    document_id: d,
                    data,
                }
            ),
            (
                text(),
                text(),
                proptest::option::of(texts()),
                proptest::option::of(texts())
            )
                .prop_map(|(s, t, add, remove)| Message::RemoteSubscriptionChange {
                    sender_id: s,
                    target_id: t,
                    add,
                    remove,
                }),
            (text(), text(), text(), heads).prop_map(|(s, t, d, new_heads)| {
                Message::RemoteHeadsChanged {
                    sender_id: s,
                    target_id: t,
                    document_id: d,
                    new_heads,
                }
            }),
            // A known type name would decode as that type, so unknown names avoid them.
            "[a-z]{1,8}-x".prop_map(|type_name| Message::Unknown { type_name }),
        ]
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_corrupted_valid_frames(
            message in arb_message(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&message);
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let len = cut.index(bytes.len() + 1);
            let _ = decode(&bytes[..len]);
            let _ = decode(&bytes);
        }

        #[test]
        fn encode_then_decode_is_identity(message in arb_message()) {
            prop_assert_eq!(decode(&encode(&message)), Ok(message));
        }
    }
}
