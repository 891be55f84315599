//! Encoding [`Message`]s as frames of the automerge-repo network protocol v1.

use std::collections::BTreeMap;

use minicbor::Encoder;

use super::messages::{Message, PeerMetadata, RemoteHeads};

/// Encodes a message as one CBOR map, ready to send as one binary WebSocket frame.
///
/// The output uses minimal headers and no tags, and leaves out absent optional fields rather
/// than writing `null`, since docs/protocol.md section 2 asks for exactly that. The encoder does
/// not refuse an empty `data`: callers must not send one (docs/protocol.md section 1), and
/// [`super::decode()`] rejects it on the way in. [`Message::Unknown`] encodes as a map holding only
/// its `type`.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    // Writing into a Vec<u8> cannot fail: minicbor's `Write` for Vec has an uninhabited
    // error type, and these calls produce no other kind of error.
    write_map(&mut e, &message_entries(message))
        .expect("writing cbor into a Vec<u8> is infallible");
    e.into_writer()
}

impl Message {
    /// Encodes this message; see [`encode()`].
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
}

type EncodeResult = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

/// A field's value, in the CBOR form it takes on the wire.
#[derive(Clone, Copy)]
enum Value<'m> {
    Text(&'m str),
    Bytes(&'m [u8]),
    Uint(u64),
    Bool(bool),
    TextArray(&'m [String]),
    PeerMetadata(&'m PeerMetadata),
    NewHeads(&'m BTreeMap<String, RemoteHeads>),
}

/// One entry of a map: its key, and its value or `None` for an absent optional field.
///
/// Absent fields are left out of the map, and its header counts only the ones present, so a
/// message type is written as nothing more than the list of its fields in wire order.
type Entry<'m> = (&'m str, Option<Value<'m>>);

/// The entries of a message's map: `type` first, then the fields in the order of
/// docs/protocol.md section 4.
fn message_entries(message: &Message) -> Vec<Entry<'_>> {
    use Value::{Bytes, NewHeads, Text, TextArray, Uint};
    let mut entries = vec![("type", Some(Text(message.type_name())))];
    match message {
        Message::Join {
            sender_id,
            supported_protocol_versions,
            peer_metadata,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            (
                "supportedProtocolVersions",
                supported_protocol_versions.as_deref().map(TextArray),
            ),
            (
                "peerMetadata",
                peer_metadata.as_ref().map(Value::PeerMetadata),
            ),
        ]),
        Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            peer_metadata,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            (
                "selectedProtocolVersion",
                Some(Text(selected_protocol_version)),
            ),
            (
                "peerMetadata",
                peer_metadata.as_ref().map(Value::PeerMetadata),
            ),
        ]),
        Message::Error {
            message,
            sender_id,
            target_id,
        } => entries.extend([
            ("message", Some(Text(message))),
            ("senderId", sender_id.as_deref().map(Text)),
            ("targetId", target_id.as_deref().map(Text)),
        ]),
        Message::Leave { sender_id } => entries.push(("senderId", Some(Text(sender_id)))),
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
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            ("documentId", Some(Text(document_id))),
            ("data", Some(Bytes(data))),
        ]),
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            ("documentId", Some(Text(document_id))),
        ]),
        Message::Ephemeral {
            sender_id,
            target_id,
            count,
            session_id,
            document_id,
            data,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            ("count", Some(Uint(*count))),
            ("sessionId", Some(Text(session_id))),
            ("documentId", Some(Text(document_id))),
            ("data", Some(Bytes(data))),
        ]),
        Message::RemoteSubscriptionChange {
            sender_id,
            target_id,
            add,
            remove,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            ("add", add.as_deref().map(TextArray)),
            ("remove", remove.as_deref().map(TextArray)),
        ]),
        Message::RemoteHeadsChanged {
            sender_id,
            target_id,
            document_id,
            new_heads,
        } => entries.extend([
            ("senderId", Some(Text(sender_id))),
            ("targetId", Some(Text(target_id))),
            ("documentId", Some(Text(document_id))),
            ("newHeads", Some(NewHeads(new_heads))),
        ]),
        Message::Unknown { .. } => {}
    }
    entries
}

/// Writes a map of the entries that are present, with a header that counts only those.
fn write_map(e: &mut Encoder<Vec<u8>>, entries: &[Entry<'_>]) -> EncodeResult {
    let present = entries.iter().filter(|(_, value)| value.is_some()).count();
    e.map(present as u64)?;
    for (key, value) in entries {
        if let Some(value) = value {
            e.str(key)?;
            write_value(e, *value)?;
        }
    }
    Ok(())
}

/// Writes one value. Peer metadata and each entry of `newHeads` are maps with fixed keys, so
/// they are written as lists of entries too.
fn write_value(e: &mut Encoder<Vec<u8>>, value: Value<'_>) -> EncodeResult {
    match value {
        Value::Text(text) => {
            e.str(text)?;
        }
        Value::Bytes(bytes) => {
            e.bytes(bytes)?;
        }
        Value::Uint(number) => {
            e.u64(number)?;
        }
        Value::Bool(flag) => {
            e.bool(flag)?;
        }
        Value::TextArray(items) => {
            e.array(items.len() as u64)?;
            for item in items {
                e.str(item)?;
            }
        }
        Value::PeerMetadata(metadata) => write_map(
            e,
            &[
                ("storageId", metadata.storage_id.as_deref().map(Value::Text)),
                ("isEphemeral", Some(Value::Bool(metadata.is_ephemeral))),
            ],
        )?,
        Value::NewHeads(new_heads) => {
            e.map(new_heads.len() as u64)?;
            for (storage_id, entry) in new_heads {
                e.str(storage_id)?;
                write_map(
                    e,
                    &[
                        ("heads", Some(Value::TextArray(&entry.heads))),
                        ("timestamp", Some(Value::Uint(entry.timestamp))),
                    ],
                )?;
            }
        }
    }
    Ok(())
}
