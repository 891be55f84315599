use super::*;
use crate::store::MemoryStorage;
use automerge::transaction::Transactable;
use automerge::ROOT;

#[test]
fn a_change_with_a_bad_checksum_is_refused() {
    let store = Arc::new(MemoryStorage::default());
    let mut relay = Relay::new(store, "relay").unwrap();
    relay
        .join(Message::join("m", None), Access::full())
        .unwrap();
    let mut source = AutoCommit::new();
    source.put(ROOT, "evil", 1).unwrap();
    source.commit();
    let mut change = source.get_last_local_change().unwrap().raw_bytes().to_vec();
    let middle = change.len() / 2;
    change[middle] ^= 0x55;
    let message = automerge::sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: vec![change].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    };
    let out = relay.receive(
        "m",
        Message::Sync {
            sender_id: "m".into(),
            target_id: "relay".into(),
            document_id: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
            data: message.encode(),
        },
    );
    assert!(out.is_err(), "{out:?}");
}
