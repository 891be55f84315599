use super::*;
use crate::store::MemoryStorage;
use crate::sync::ClientSession;
use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};

const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

/// A relay and `n` joined clients that have synced one shared document.
struct Group {
    relay: Relay,
    clients: Vec<ClientSession>,
    /// Messages on their way to the relay.
    to_relay: Vec<Message>,
    /// Messages counted since the last reset, in both directions.
    frames: usize,
}

impl Group {
    fn new(n: usize) -> Self {
        let mut relay = Relay::new(Arc::new(MemoryStorage::default()), "relay").unwrap();
        let mut base = AutoCommit::new();
        base.put(ROOT, "goal", "shared plan").unwrap();
        base.commit();
        let mut clients = Vec::new();
        let mut to_relay = Vec::new();
        for i in 0..n {
            let mut c = ClientSession::new(format!("mentee-{i}"), None);
            c.add_doc(DOC, base.fork(), None);
            let (_, reply) = relay.join(c.join(), Access::full()).unwrap();
            c.receive(reply).unwrap();
            to_relay.extend(c.start());
            clients.push(c);
        }
        let mut group = Self {
            relay,
            clients,
            to_relay,
            frames: 0,
        };
        group.settle();
        group.frames = 0;
        group
    }

    /// One batch at the relay: everything that has arrived is received, committed once,
    /// and delivered; the clients' answers are queued for the next batch.
    fn batch(&mut self) {
        for message in std::mem::take(&mut self.to_relay) {
            self.frames += 1;
            let from = message.sender_id().unwrap().to_string();
            self.relay.receive(&from, message).unwrap();
        }
        for (to, message) in self.relay.commit(Instant::now()).unwrap() {
            self.frames += 1;
            let client = self
                .clients
                .iter_mut()
                .find(|c| c.join().sender_id() == Some(to.as_str()))
                .unwrap();
            self.to_relay.extend(client.receive(message).unwrap());
        }
    }

    /// Batches until nobody has anything to say, with a cap so a loop cannot hang the test.
    fn settle(&mut self) {
        for _ in 0..50 {
            self.batch();
            if self.to_relay.is_empty() && !self.relay.has_pending() {
                return;
            }
        }
        panic!("the relay and its clients did not settle in 50 batches");
    }

    /// Client `i` changes its own field of the shared document and tells the relay.
    fn edit(&mut self, i: usize, round: usize) {
        let client = &mut self.clients[i];
        let mut newer = client.doc_mut(DOC).unwrap().fork();
        newer
            .put(ROOT, format!("check-in by {i}"), round as i64)
            .unwrap();
        newer.commit();
        let out = client.local_update(DOC, &mut newer).unwrap();
        self.to_relay.extend(out);
    }

    fn assert_converged(&mut self, n: usize, m: usize) {
        let heads = self.clients[0].doc_mut(DOC).unwrap().get_heads();
        for c in &mut self.clients {
            let doc = c.doc_mut(DOC).unwrap();
            assert_eq!(doc.get_heads(), heads);
            for i in 0..n {
                let seen = doc.get(ROOT, format!("check-in by {i}")).unwrap();
                assert_eq!(seen.unwrap().0.as_i64(), Some(m as i64 - 1));
            }
        }
    }
}

/// Every peer edits at once, M times. Bound: 4 messages per edit. Per round the relay
/// receives the N changes in one batch and answers each peer once (N messages carrying the
/// others' changes and acknowledging its own); each peer acknowledges that (N messages),
/// and the relay has nothing more to say because every peer now holds its heads: 3 per
/// edit. The fourth is slack for automerge's Bloom filters, whose false positives (about
/// 1%, and random here since actors are) each cost one more exchange with one peer. An
/// engine that answers every message at once sends N² messages per round instead, and
/// each is answered, so at 5 and 10 peers it breaks this bound at once.
#[test]
fn concurrent_edits_cost_at_most_four_messages_each() {
    for (n, m) in [(2, 5), (5, 10), (10, 10)] {
        let mut group = Group::new(n);
        for round in 0..m {
            for i in 0..n {
                group.edit(i, round);
            }
            group.settle();
        }
        group.assert_converged(n, m);
        assert!(
            group.frames <= 4 * n * m,
            "{n} peers × {m} edits: {} messages, more than {}",
            group.frames,
            4 * n * m
        );
    }
}

/// Peers take turns, each edit settling before the next: the relay's least batched case.
/// Bound: 2N + 1 messages per edit. The editor's change (1) is answered to it (1) and sent
/// to the N − 1 others, who acknowledge it (2(N − 1)); nothing else is said. The one more
/// is slack for Bloom filter false positives (see the test of concurrent edits).
#[test]
fn edits_in_turn_cost_about_two_messages_per_peer_each() {
    let (n, m) = (5, 6);
    let mut group = Group::new(n);
    for round in 0..m {
        for i in 0..n {
            group.edit(i, round);
            group.settle();
        }
    }
    group.assert_converged(n, m);
    assert!(
        group.frames <= (2 * n + 1) * (n * m),
        "{} messages for {} edits",
        group.frames,
        n * m
    );
}

/// Edits arrive while answers are still on their way (each batch carries a new edit from
/// one peer and the answers to the previous batch). Nothing here batches several edits,
/// so the bound is that of edits in turn, 2N per edit, plus one message per edit of slack
/// for Bloom filter false positives.
#[test]
fn edits_overlapping_answers_cost_no_more_than_edits_in_turn() {
    let (n, m) = (5, 8);
    let mut group = Group::new(n);
    for round in 0..m {
        for i in 0..n {
            group.edit(i, round);
            group.batch();
        }
    }
    group.settle();
    group.assert_converged(n, m);
    assert!(
        group.frames <= (2 * n + 1) * (n * m),
        "{} messages for {} edits",
        group.frames,
        n * m
    );
}
