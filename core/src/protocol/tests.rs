//! Tests of the message codec: every message type round-trips, the byte forms that JS (cbor-x)
//! and samod write decode, and hostile or malformed frames are errors, never panics.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use proptest::prelude::*;

use super::decode::{f16_bits_to_f64, MAX_DEPTH};
use super::*;

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
    /// Starts a message map of `len` entries in all, beginning with `type`, `senderId` and
    /// `targetId` in the order docs/protocol.md section 4 lists them for repo messages.
    fn addressed(len: usize, message_type: &str, sender_id: &str, target_id: &str) -> Self {
        Self::default()
            .map(len)
            .text("type")
            .text(message_type)
            .text("senderId")
            .text(sender_id)
            .text("targetId")
            .text(target_id)
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
            heads: encode_heads(&[ChangeHash([7; 32])]),
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

/// The join frame from docs/protocol.md section 7, byte for byte as cbor-x writes it.
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
    // The key order is the one docs/protocol.md section 7 captured from the JS server.
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
    let frame = Cbor::addressed(5, "remote-subscription-change", "a", "b")
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
    Cbor::addressed(7, "ephemeral", "alice", "bob")
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
    let frame = Cbor::addressed(5, "sync", "alice", "server")
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
    let frame = Cbor::addressed(4, "doc-unavailable", "s", "t")
        .text("documentId")
        .bytes(id.as_bytes())
        .done();
    let message = decode(&frame).expect("decodes");
    assert_eq!(message.document_id(), Some(DOC));
    assert_eq!(message.parse_document_id(), Some(Ok(id)));
}

#[test]
fn document_id_bytes_of_wrong_length_are_rejected() {
    let frame = Cbor::addressed(4, "doc-unavailable", "s", "t")
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
    let frame = Cbor::addressed(4, "sync", "alice", "server")
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
    let frame = Cbor::addressed(5, "request", "a", "b")
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
    let frame = Cbor::addressed(5, "remote-heads-changed", "a", "b")
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
