//! Decoding frames of the automerge-repo network protocol v1 into [`Message`]s.
//!
//! Decoding is written by hand over [`minicbor::Decoder`] rather than derived, because the
//! two implementations we must talk to write the same message differently: cbor-x (JS) uses
//! non-minimal map headers and `undefined` for missing optional fields, samod uses minimal
//! headers and may send `documentId` as bytes, and either may add keys we do not know. A
//! derived decoder would reject some of these forms. Every frame comes from the network, so
//! decoding must return an error, and never panic, on any input at all.

use std::borrow::Cow;
use std::collections::BTreeMap;

use minicbor::data::Type;
use minicbor::Decoder;

use super::ids::DocumentId;
use super::messages::{DecodeError, Message, PeerMetadata, RemoteHeads};

/// How deeply containers (maps and arrays) may nest in a frame, counting the message map.
///
/// No real message goes deeper than 4 levels (`newHeads` → storage id → `heads` → head).
/// The limit keeps hostile input cheap to reject, and it keeps our own code honest: nothing
/// here recurses per level, but a limit means that stays true if that ever changes.
pub(super) const MAX_DEPTH: usize = 32;

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
pub(super) fn f16_bits_to_f64(bits: u16) -> f64 {
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

    /// These fields as those of a message of a known type, which names that type when a
    /// required field is missing.
    fn of_type(self, message_type: &'static str) -> TypedFields<'b> {
        TypedFields {
            fields: self,
            message_type,
        }
    }
}

/// The fields of a message whose `type` is known, read one by one in the order the type
/// lists them, so that the first field that is wrong is the one reported.
struct TypedFields<'b> {
    fields: Fields<'b>,
    message_type: &'static str,
}

impl<'b> TypedFields<'b> {
    fn req<T>(
        &self,
        key: &'static str,
        read: impl FnOnce(&mut Decoder<'b>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.fields
            .opt(key, read)?
            .ok_or(DecodeError::MissingField {
                message_type: self.message_type,
                field: key,
            })
    }

    fn text(&self, key: &'static str) -> Result<String, DecodeError> {
        self.req(key, |d| read_text(d, key))
    }

    fn opt_text(&self, key: &'static str) -> Result<Option<String>, DecodeError> {
        self.fields.opt(key, |d| read_text(d, key))
    }

    fn opt_text_array(&self, key: &'static str) -> Result<Option<Vec<String>>, DecodeError> {
        self.fields.opt(key, |d| read_text_array(d, key))
    }

    fn uint(&self, key: &'static str) -> Result<u64, DecodeError> {
        self.req(key, |d| read_uint(d, key))
    }

    fn document_id(&self) -> Result<String, DecodeError> {
        self.req("documentId", read_document_id)
    }

    /// Reads `data`, which must not be empty (docs/protocol.md section 1).
    fn data(&self) -> Result<Vec<u8>, DecodeError> {
        let data = self.req("data", |d| read_bytes(d, "data"))?;
        if data.is_empty() {
            return Err(DecodeError::EmptyData {
                message_type: self.message_type,
            });
        }
        Ok(data)
    }

    /// Reads `peerMetadata`, falling back to `metadata`, the name the README's CDDL uses
    /// and samod also reads.
    fn peer_metadata(&self) -> Result<Option<PeerMetadata>, DecodeError> {
        match self
            .fields
            .opt("peerMetadata", |d| read_peer_metadata(d, 2))?
        {
            Some(metadata) => Ok(Some(metadata)),
            None => self.fields.opt("metadata", |d| read_peer_metadata(d, 2)),
        }
    }

    fn new_heads(&self) -> Result<BTreeMap<String, RemoteHeads>, DecodeError> {
        self.req("newHeads", |d| read_new_heads(d, 2))
    }
}

/// The `type` of every message in docs/protocol.md section 4, as the `'static` text that a
/// [`DecodeError`] names a message type with.
const KNOWN_TYPES: [&str; 10] = [
    "join",
    "peer",
    "error",
    "leave",
    "request",
    "sync",
    "doc-unavailable",
    "ephemeral",
    "remote-subscription-change",
    "remote-heads-changed",
];

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
    let Some(message_type) = KNOWN_TYPES.into_iter().find(|known| *known == type_name) else {
        return Ok(Message::Unknown { type_name });
    };
    let m = fields.of_type(message_type);
    let message = match message_type {
        "join" => Message::Join {
            sender_id: m.text("senderId")?,
            supported_protocol_versions: m.opt_text_array("supportedProtocolVersions")?,
            peer_metadata: m.peer_metadata()?,
        },
        "peer" => Message::Peer {
            sender_id: m.text("senderId")?,
            target_id: m.text("targetId")?,
            selected_protocol_version: m.text("selectedProtocolVersion")?,
            peer_metadata: m.peer_metadata()?,
        },
        "error" => Message::Error {
            message: m.text("message")?,
            sender_id: m.opt_text("senderId")?,
            target_id: m.opt_text("targetId")?,
        },
        "leave" => Message::Leave {
            sender_id: m.text("senderId")?,
        },
        "request" | "sync" => Message::sync_or_request(
            message_type == "request",
            m.text("senderId")?,
            m.text("targetId")?,
            m.document_id()?,
            m.data()?,
        ),
        "doc-unavailable" => Message::DocUnavailable {
            sender_id: m.text("senderId")?,
            target_id: m.text("targetId")?,
            document_id: m.document_id()?,
        },
        "ephemeral" => Message::Ephemeral {
            sender_id: m.text("senderId")?,
            target_id: m.text("targetId")?,
            count: m.uint("count")?,
            session_id: m.text("sessionId")?,
            document_id: m.document_id()?,
            data: m.data()?,
        },
        "remote-subscription-change" => Message::RemoteSubscriptionChange {
            sender_id: m.text("senderId")?,
            target_id: m.text("targetId")?,
            add: m.opt_text_array("add")?,
            remove: m.opt_text_array("remove")?,
        },
        "remote-heads-changed" => Message::RemoteHeadsChanged {
            sender_id: m.text("senderId")?,
            target_id: m.text("targetId")?,
            document_id: m.document_id()?,
            new_heads: m.new_heads()?,
        },
        // Every name in KNOWN_TYPES has its arm above; this one only completes the match.
        _ => Message::Unknown { type_name },
    };
    Ok(message)
}

impl Message {
    /// Decodes a message; see [`decode()`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
    }
}
