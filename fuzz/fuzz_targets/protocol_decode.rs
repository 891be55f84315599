//! The automerge-repo protocol codec on arbitrary bytes.
//!
//! Every websocket frame a relay or client receives goes through `decode` first, so it must
//! return an error, never panic, on any input. What does decode must survive a round trip:
//! `encode` then `decode` gives the same message back, and encoding that again gives the same
//! bytes (the encoder's output is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_core::protocol::{decode, encode, Message};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = decode(data) else {
        return;
    };
    // The accessors a relay calls on every frame it accepts.
    let _ = message.type_name();
    let _ = message.sender_id();
    let _ = message.target_id();
    let _ = message.parse_document_id();
    if let Message::RemoteHeadsChanged { new_heads, .. } = &message {
        for heads in new_heads.values() {
            let _ = heads.decode_heads();
        }
    }

    let bytes = encode(&message);
    let again = decode(&bytes).unwrap_or_else(|e| {
        panic!("an encoded message does not decode ({e}): {message:?}\nbytes: {bytes:02x?}")
    });
    assert_eq!(again, message, "encode then decode changed the message");
    assert_eq!(encode(&again), bytes, "encoding is not canonical");
});
