//! Encoding [`Message`]s as frames of the automerge-repo network protocol v1.

use minicbor::Encoder;

use super::messages::{Message, PeerMetadata};

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
    write_message(&mut e, message).expect("writing cbor into a Vec<u8> is infallible");
    e.into_writer()
}

impl Message {
    /// Encodes this message; see [`encode()`].
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
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
