use super::*;
use crate::store::MemoryStorage;
use crate::sync::ClientSession;
use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};

fn relay() -> (Arc<MemoryStorage>, Relay) {
    let store = Arc::new(MemoryStorage::default());
    let relay = Relay::new(store.clone(), "relay").unwrap();
    (store, relay)
}

/// Deliver messages between a relay and clients until nobody has anything to say.
fn pump(
    relay: &mut Relay,
    clients: &mut [(&str, &mut ClientSession)],
    mut inbox: Vec<(String, Message)>,
) {
    for _ in 0..200 {
        if inbox.is_empty() {
            return;
        }
        let mut next = Vec::new();
        for (to, msg) in inbox.drain(..) {
            if to == "relay" {
                let from = msg.sender_id().unwrap().to_string();
                relay.receive(&from, msg).expect("relay accepts");
            } else {
                let client = clients.iter_mut().find(|(name, _)| *name == to).unwrap();
                for reply in client.1.receive(msg).unwrap() {
                    next.push(("relay".to_string(), reply));
                }
            }
        }
        // Everything the relay received this round is one batch.
        next.extend(relay.commit(Instant::now()).unwrap());
        inbox = next;
    }
    panic!("messages did not settle");
}

fn connect(
    relay: &mut Relay,
    client: &mut ClientSession,
    access: Access,
) -> Vec<(String, Message)> {
    let (_, reply) = relay.join(client.join(), access).unwrap();
    assert!(client.receive(reply).unwrap().is_empty());
    client
        .start()
        .into_iter()
        .map(|m| ("relay".to_string(), m))
        .collect()
}

fn doc_with(key: &str) -> AutoCommit {
    let mut d = AutoCommit::new();
    d.put(ROOT, key, true).unwrap();
    d.commit();
    d
}

const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

#[test]
fn two_clients_converge_through_the_relay() {
    let (store, mut relay) = relay();
    let mut a = ClientSession::new("a", Some("store-a".into()));
    let mut b = ClientSession::new("b", None);
    let mut base = doc_with("base");
    let mut mentor = base.fork();
    mentor.put(ROOT, "mentor", 1).unwrap();
    let mut mentee = base.fork();
    mentee.put(ROOT, "mentee", 2).unwrap();
    a.add_doc(DOC, mentor, None);
    b.add_doc(DOC, mentee, None);
    let first = connect(&mut relay, &mut a, Access::full());
    pump(&mut relay, &mut [("a", &mut a)], first);
    assert!(a.settled());
    let second = connect(&mut relay, &mut b, Access::full());
    pump(&mut relay, &mut [("a", &mut a), ("b", &mut b)], second);
    let da = a.doc_mut(DOC).unwrap();
    assert!(da.get(ROOT, "mentee").unwrap().is_some());
    let db = b.doc_mut(DOC).unwrap();
    assert!(db.get(ROOT, "mentor").unwrap().is_some());
    assert!(a.settled() && b.settled());
    // The relay stored the merged document durably.
    let (mut stored, _) = docstore::load(store.as_ref(), DOC).unwrap().unwrap();
    assert_eq!(stored.get_heads(), a.doc_mut(DOC).unwrap().get_heads());
}

#[test]
fn an_unknown_document_is_unavailable_until_someone_uploads_it() {
    let (_, mut relay) = relay();
    let reader = ClientSession::new("reader", None);
    relay.join(reader.join(), Access::full()).unwrap();
    let request = Message::Request {
        sender_id: "reader".into(),
        target_id: "relay".into(),
        document_id: DOC.into(),
        data: DocSync::default().generate(&mut AutoCommit::new()).unwrap(),
    };
    relay.receive("reader", request).unwrap();
    let out = relay.commit(Instant::now()).unwrap();
    assert!(matches!(
        out.as_slice(),
        [(_, Message::DocUnavailable { .. })]
    ));
    let mut writer = ClientSession::new("writer", None);
    writer.add_doc(DOC, doc_with("x"), None);
    let first = connect(&mut relay, &mut writer, Access::full());
    let mut delivered_to_reader = false;
    let mut inbox = first;
    for _ in 0..20 {
        let mut next = Vec::new();
        for (to, msg) in inbox.drain(..) {
            if to == "relay" {
                let from = msg.sender_id().unwrap().to_string();
                relay.receive(&from, msg).unwrap();
            } else if to == "reader" {
                delivered_to_reader |= matches!(msg, Message::Sync { .. });
            } else {
                next.extend(
                    writer
                        .receive(msg)
                        .unwrap()
                        .into_iter()
                        .map(|m| ("relay".to_string(), m)),
                );
            }
        }
        next.extend(relay.commit(Instant::now()).unwrap());
        inbox = next;
    }
    assert!(
        delivered_to_reader,
        "the waiting reader was synced once the document arrived"
    );
}

#[test]
fn a_read_only_peer_cannot_change_a_document() {
    let (store, mut relay) = relay();
    let mut c = ClientSession::new("c", None);
    c.add_doc(DOC, doc_with("x"), None);
    let read_only = Access {
        docs: None,
        write: false,
        writable: None,
    };
    let mut inbox = connect(&mut relay, &mut c, read_only);
    let mut refused = false;
    for _ in 0..10 {
        let mut next = Vec::new();
        for (_, msg) in inbox.drain(..) {
            match relay.receive("c", msg) {
                Ok(()) => {
                    for (_, m) in relay.commit(Instant::now()).unwrap() {
                        next.extend(
                            c.receive(m)
                                .unwrap()
                                .into_iter()
                                .map(|r| ("relay".to_string(), r)),
                        );
                    }
                }
                Err(e) => {
                    assert!(e.message.contains("read-only"));
                    refused = true;
                }
            }
        }
        inbox = next;
    }
    assert!(refused);
    assert!(
        docstore::load(store.as_ref(), DOC).unwrap().is_none(),
        "nothing was stored"
    );
}

#[test]
fn a_union_of_accesses_writes_only_where_one_of_them_writes() {
    let set = |ids: &[&str]| Some(ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>());
    let write_a = Access {
        docs: set(&["a"]),
        write: true,
        writable: None,
    };
    let read_b = Access {
        docs: set(&["b"]),
        write: false,
        writable: None,
    };
    let both = write_a.union(&read_b);
    assert_eq!(both.docs, set(&["a", "b"]));
    assert!(both.may_write("a") && both.may_read("b") && !both.may_write("b"));
    assert!(!both.may_read("c") && !both.may_write("c"));
    // A read token for every document beside a write token for one keeps the others read-only.
    let read_all = Access {
        docs: None,
        write: false,
        writable: None,
    };
    let wide = read_all.union(&write_a);
    assert!(wide.may_read("z") && !wide.may_write("z") && wide.may_write("a"));
    // Two read tokens write nothing; a full token beside anything writes everything.
    let reads = read_b.union(&Access {
        docs: set(&["c"]),
        write: false,
        writable: None,
    });
    assert!(!reads.write && reads.may_read("c"));
    assert_eq!(Access::full().union(&read_b), Access::full());
    assert_eq!(write_a.union(&write_a), write_a);
}

#[test]
fn a_scoped_peer_sees_other_documents_as_unavailable() {
    let (_, mut relay) = relay();
    let scoped = Access {
        docs: Some(HashSet::from(["other".to_string()])),
        write: true,
        writable: None,
    };
    relay.join(Message::join("p", None), scoped).unwrap();
    let msg = Message::Sync {
        sender_id: "p".into(),
        target_id: "relay".into(),
        document_id: DOC.into(),
        data: DocSync::default().generate(&mut doc_with("x")).unwrap(),
    };
    relay.receive("p", msg).unwrap();
    let out = relay.commit(Instant::now()).unwrap();
    assert!(matches!(
        out.as_slice(),
        [(_, Message::DocUnavailable { .. })]
    ));
}

#[test]
fn hostile_messages_are_refused_with_a_reason() {
    let (_, mut relay) = relay();
    relay
        .join(Message::join("p", None), Access::full())
        .unwrap();
    let wrong_sender = Message::Leave {
        sender_id: "q".into(),
    };
    assert!(relay
        .receive("p", wrong_sender)
        .unwrap_err()
        .message
        .contains("senderId"));
    let garbage = Message::Sync {
        sender_id: "p".into(),
        target_id: "relay".into(),
        document_id: DOC.into(),
        data: vec![0x42, 1, 2, 3],
    };
    assert!(relay.receive("p", garbage).is_err());
    let bad_id = Message::Sync {
        sender_id: "p".into(),
        target_id: "relay".into(),
        document_id: "not-a-doc-id".into(),
        data: vec![0x42],
    };
    assert!(relay
        .receive("p", bad_id)
        .unwrap_err()
        .message
        .contains("documentId"));
    let old = Message::Join {
        sender_id: "x".into(),
        supported_protocol_versions: Some(vec!["0".into()]),
        peer_metadata: None,
    };
    assert_eq!(
        relay.join(old, Access::full()).unwrap_err().message,
        "unsupported protocol version"
    );
}

#[test]
fn shutdown_stores_nothing_for_a_document_that_was_only_asked_for() {
    let (store, mut relay) = relay();
    let mut c = ClientSession::new("c", None);
    c.add_doc(DOC, AutoCommit::new(), None);
    let first = connect(&mut relay, &mut c, Access::full());
    pump(&mut relay, &mut [("c", &mut c)], first);
    relay.shutdown().unwrap();
    assert!(docstore::list(store.as_ref()).unwrap().is_empty());
}

#[test]
fn idle_documents_are_evicted_and_reload_on_demand() {
    let (_, mut relay) = relay();
    let mut c = ClientSession::new("c", None);
    c.add_doc(DOC, doc_with("x"), None);
    let first = connect(&mut relay, &mut c, Access::full());
    pump(&mut relay, &mut [("c", &mut c)], first);
    relay.disconnect("c");
    assert_eq!(relay.evict_idle(Instant::now(), Duration::ZERO), 1);
    assert_eq!(relay.stats().documents_in_memory, 0);
    let mut again = ClientSession::new("c2", None);
    again.add_doc(DOC, AutoCommit::new(), None);
    let first = connect(&mut relay, &mut again, Access::full());
    pump(&mut relay, &mut [("c2", &mut again)], first);
    assert!(again
        .doc_mut(DOC)
        .unwrap()
        .get(ROOT, "x")
        .unwrap()
        .is_some());
}
