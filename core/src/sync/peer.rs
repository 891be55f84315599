//! One document synced with one remote peer.

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;

/// Why an incoming sync message was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not an automerge sync message.
    #[error("invalid sync message: {0}")]
    Decode(String),
    /// automerge rejected the changes in the message.
    #[error("invalid changes in sync message: {0}")]
    Apply(String),
    /// automerge panicked on the message. The document copy it was applied to may be
    /// inconsistent and must be discarded (the relay reloads it from storage).
    #[error("sync message crashed the decoder; the document copy was discarded")]
    Panicked,
}

/// The sync of one document with one peer.
#[derive(Debug)]
pub struct DocSync {
    state: sync::State,
}

impl Default for DocSync {
    fn default() -> Self {
        Self::new(None)
    }
}

impl DocSync {
    /// Start from a persisted state (which remembers what the peer already has) or from scratch.
    pub fn new(persisted: Option<sync::State>) -> Self {
        Self {
            state: persisted.unwrap_or_default(),
        }
    }

    /// The automerge sync state.
    pub fn state(&self) -> &sync::State {
        &self.state
    }

    /// The next message for the peer, if there is anything to say.
    pub fn generate(&mut self, doc: &mut AutoCommit) -> Option<Vec<u8>> {
        doc.sync()
            .generate_sync_message(&mut self.state)
            .map(|m| m.encode())
    }

    /// The next message for the peer, if there is anything to say, with whether it obliges the
    /// peer to answer (it carries changes, or asks for some). The relay uses that to hold back
    /// further messages until the answer comes (see `Relay::seal`).
    ///
    /// Unlike automerge's own rule, it stays silent when it would only repeat what the peer
    /// already heard: no changes, nothing needed, and the heads it last told the peer. automerge
    /// speaks again whenever any message has arrived since its last one, so when the peer's
    /// message crossed ours (the peer wrote before it had read us) it sends a reminder, the
    /// peer answers it, and under load those crossings feed each other until most of the
    /// traffic moves no edit at all. The peer reads our earlier message anyway and answers
    /// that.
    pub fn generate_expecting_answer(&mut self, doc: &mut AutoCommit) -> Option<(Vec<u8>, bool)> {
        let told_before = self
            .state
            .have_responded
            .then(|| self.state.last_sent_heads.clone());
        // automerge answers a peer whose sync history it does not recognise with a reset,
        // which looks like a reminder but must go out.
        let resetting = self.state.their_have.as_ref().is_some_and(|have| {
            have.first().is_some_and(|h| {
                h.last_sync
                    .iter()
                    .any(|hash| doc.get_change_meta_by_hash(hash).is_none())
            })
        });
        let m = doc.sync().generate_sync_message(&mut self.state)?;
        let repeats_itself = !resetting
            && m.changes.is_empty()
            && m.need.is_empty()
            && told_before.is_some_and(|heads| heads == m.heads);
        if repeats_itself {
            return None;
        }
        let expects = !m.changes.is_empty() || !m.need.is_empty();
        Some((m.encode(), expects))
    }

    /// Decode a sync message without applying it, e.g. to check whether it carries changes.
    pub fn decode(data: &[u8]) -> Result<sync::Message, SyncError> {
        // automerge's decoder has been seen to panic on hostile input; contain it.
        match std::panic::catch_unwind(|| sync::Message::decode(data)) {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(SyncError::Decode(e.to_string())),
            Err(_) => Err(SyncError::Panicked),
        }
    }

    /// Apply a message from the peer to `doc`. Returns whether the document gained changes.
    pub fn receive(
        &mut self,
        doc: &mut AutoCommit,
        message: sync::Message,
    ) -> Result<bool, SyncError> {
        let before = doc.get_heads();
        let state = &mut self.state;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            receive_without_needless_walk(doc, state, message)
        }));
        match result {
            Ok(Ok(())) => Ok(doc.get_heads() != before),
            Ok(Err(e)) => Err(SyncError::Apply(e.to_string())),
            Err(_) => Err(SyncError::Panicked),
        }
    }

    /// Whether the peer has said it holds exactly our heads: everything we have is on its side.
    pub fn peer_has_everything(&self, doc: &mut AutoCommit) -> bool {
        let mut ours = doc.get_heads();
        let Some(theirs) = &self.state.their_heads else {
            return false;
        };
        let mut theirs = theirs.clone();
        ours.sort();
        theirs.sort();
        ours == theirs
    }

    /// Whether the peer has told us anything yet in this session.
    pub fn heard_from_peer(&self) -> bool {
        self.state.their_heads.is_some()
    }
}

/// What automerge's `receive_sync_message` does, without its walk over the document's history
/// when that walk could not change anything.
///
/// On every message, automerge forgets the changes it sent this peer that the peer's heads now
/// cover (`State::sent_hashes`). It does so by visiting every ancestor of those heads, the whole
/// history, even when it remembers nothing, or when the peer's heads are our own and so cover
/// everything. Its cost grows with each edit of the document: on a relay at saturation it was
/// 8% of all the relay's CPU, and the share grew as the documents did (BENCHMARKS.md, "fourth
/// round"). In those two cases the outcome is known without the walk (nothing to forget, or
/// everything), and this function does the rest of automerge 0.12's steps itself, in its order.
/// In every other case, it hands the message to automerge after applying the changes, which is
/// the same thing. `receiving_matches_automerge` checks the outcome against automerge's own on
/// random exchanges; keep it passing when automerge is upgraded.
///
/// [`DocSync::receive`] uses it, with automerge's panics contained; it is public for callers
/// that keep a bare `sync::State`, such as the load generator.
pub fn receive_without_needless_walk(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    mut message: sync::Message,
) -> Result<(), automerge::AutomergeError> {
    if state.read_only {
        return doc.sync().receive_sync_message(state, message);
    }
    state.in_flight = false;
    let before = doc.get_heads();
    if let Some(flags) = message.flags {
        let mut capabilities = vec![sync::Capability::MessageV2];
        if flags.contains(sync::MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(sync::Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        if flags.contains(sync::MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(sync::MessageFlags::READ_ONLY);
    }
    let carried_changes = !message.changes.is_empty();
    let ours = if carried_changes {
        let changes: Vec<u8> = message.changes.iter().flatten().copied().collect();
        doc.load_incremental(&changes)?;
        message.changes = sync::ChunkList::empty();
        let after = doc.get_heads();
        state.shared_heads = advance_shared_heads(&before, &after, &state.shared_heads);
        after
    } else {
        before.clone()
    };
    let peer_has_all_of_ours = same_set(&message.heads, &ours);
    if !state.sent_hashes.is_empty() && !peer_has_all_of_ours {
        // The walk is needed: automerge takes over with the changes already applied. It takes
        // the flags again, to the same effect. The one step where a message without changes
        // could differ (one whose heads are our own settles what we last told the peer) cannot
        // apply, since the peer's heads are not ours.
        return doc.sync().receive_sync_message(state, message);
    }
    if peer_has_all_of_ours {
        // Everything we ever sent is in our history, which the peer's heads now cover.
        state.sent_hashes.clear();
    }
    if !carried_changes && message.heads == before {
        state.last_sent_heads.clone_from(&message.heads);
    }
    let known: Vec<automerge::ChangeHash> = if peer_has_all_of_ours {
        message.heads.clone()
    } else {
        message
            .heads
            .iter()
            .filter(|hash| doc.get_change_meta_by_hash(hash).is_some())
            .copied()
            .collect()
    };
    if known.len() == message.heads.len() {
        state.shared_heads.clone_from(&message.heads);
        // A peer that lost all its data starts again from nothing.
        if message.heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = Default::default();
        }
    } else {
        state.shared_heads.extend(known);
        state.shared_heads.sort();
        state.shared_heads.dedup();
    }
    state.their_have = Some(message.have);
    state.their_heads = Some(message.heads);
    state.their_need = Some(message.need);
    Ok(())
}

/// The heads both sides now have, after changes from the peer moved ours from `before` to
/// `after`: our new heads, and the shared heads that are still heads of ours. Sorted, as
/// automerge keeps them.
fn advance_shared_heads(
    before: &[automerge::ChangeHash],
    after: &[automerge::ChangeHash],
    shared: &[automerge::ChangeHash],
) -> Vec<automerge::ChangeHash> {
    let mut advanced: Vec<automerge::ChangeHash> = after
        .iter()
        .filter(|head| !before.contains(head))
        .chain(shared.iter().filter(|head| after.contains(head)))
        .copied()
        .collect();
    advanced.sort();
    advanced.dedup();
    advanced
}

/// Whether two lists of heads name the same changes; a hostile peer may repeat one.
fn same_set(a: &[automerge::ChangeHash], b: &[automerge::ChangeHash]) -> bool {
    a.iter().all(|hash| b.contains(hash)) && b.iter().all(|hash| a.contains(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    /// Exchange messages until both sides are quiet, with a cap so a bug cannot hang the test.
    pub(crate) fn sync_until_quiet(a: &mut AutoCommit, b: &mut AutoCommit) {
        let (mut sa, mut sb) = (DocSync::default(), DocSync::default());
        for _ in 0..20 {
            let ma = sa.generate(a);
            let mb = sb.generate(b);
            if ma.is_none() && mb.is_none() {
                return;
            }
            if let Some(m) = ma {
                sb.receive(b, DocSync::decode(&m).unwrap()).unwrap();
            }
            if let Some(m) = mb {
                sa.receive(a, DocSync::decode(&m).unwrap()).unwrap();
            }
        }
        panic!("sync did not settle in 20 rounds");
    }

    #[test]
    fn two_documents_converge_and_know_it() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "x", 1).unwrap();
        let mut b = AutoCommit::new();
        b.put(ROOT, "y", 2).unwrap();
        sync_until_quiet(&mut a, &mut b);
        assert_eq!(a.get_heads(), b.get_heads());
    }

    #[test]
    fn a_message_that_crossed_ours_is_not_answered_with_a_reminder() {
        let mut relay = AutoCommit::new();
        relay.put(ROOT, "goal", "shared plan").unwrap();
        relay.commit();
        let mut mentee = AutoCommit::new();
        let (mut ours, mut theirs) = (DocSync::default(), sync::State::new());
        for _ in 0..10 {
            let to_mentee = ours.generate_expecting_answer(&mut relay);
            let to_relay = mentee.sync().generate_sync_message(&mut theirs);
            if to_mentee.is_none() && to_relay.is_none() {
                break;
            }
            if let Some((m, _)) = to_mentee {
                let m = sync::Message::decode(&m).unwrap();
                mentee.sync().receive_sync_message(&mut theirs, m).unwrap();
            }
            if let Some(m) = to_relay {
                ours.receive(&mut relay, m).unwrap();
            }
        }
        assert_eq!(relay.get_heads(), mentee.get_heads());
        // The relay passes on a check-in; the mentee reads it and acknowledges.
        relay.put(ROOT, "check-in 1", "monday").unwrap();
        relay.commit();
        let (first, expects) = ours.generate_expecting_answer(&mut relay).unwrap();
        assert!(expects);
        let first = sync::Message::decode(&first).unwrap();
        mentee
            .sync()
            .receive_sync_message(&mut theirs, first)
            .unwrap();
        let ack = mentee.sync().generate_sync_message(&mut theirs).unwrap();
        // Before that acknowledgement arrives, the relay passes on a second check-in.
        relay.put(ROOT, "check-in 2", "tuesday").unwrap();
        relay.commit();
        let (second, _) = ours.generate_expecting_answer(&mut relay).unwrap();
        // The acknowledgement of the first crossed the second on the way.
        ours.receive(&mut relay, ack).unwrap();
        let mut automerge_alone = ours.state.clone();
        assert!(
            relay
                .sync()
                .generate_sync_message(&mut automerge_alone)
                .is_some(),
            "automerge by itself would send a reminder here"
        );
        assert!(ours.generate_expecting_answer(&mut relay).is_none());
        // The mentee reads the second check-in and answers it, and both are in step.
        let second = sync::Message::decode(&second).unwrap();
        mentee
            .sync()
            .receive_sync_message(&mut theirs, second)
            .unwrap();
        let ack = mentee.sync().generate_sync_message(&mut theirs).unwrap();
        ours.receive(&mut relay, ack).unwrap();
        assert!(ours.generate_expecting_answer(&mut relay).is_none());
        assert_eq!(relay.get_heads(), mentee.get_heads());
    }

    /// One step of a random exchange between three copies of a plan.
    #[derive(Debug, Clone)]
    enum Step {
        /// Copy `who` writes a value.
        Edit { who: usize, key: u8 },
        /// Copy `from` queues what automerge would send copy `to` now, on their connection.
        Send { from: usize, to: usize },
        /// The oldest message in flight from `from` to `to` arrives.
        Deliver { from: usize, to: usize },
        /// `from` sends and `to` reads it at once, then queues its answer.
        Exchange { from: usize, to: usize },
        /// The connection between `from` and `to` drops: messages in flight are lost, and both
        /// sides start again with a fresh sync state.
        Reconnect { from: usize, to: usize },
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        let pair = (0..3usize, 0..3usize).prop_filter("two copies", |(a, b)| a != b);
        prop_oneof![
            3 => (0..3usize, 0..4u8).prop_map(|(who, key)| Step::Edit { who, key }),
            2 => pair.clone().prop_map(|(from, to)| Step::Send { from, to }),
            3 => pair.clone().prop_map(|(from, to)| Step::Deliver { from, to }),
            5 => pair.clone().prop_map(|(from, to)| Step::Exchange { from, to }),
            1 => pair.prop_map(|(from, to)| Step::Reconnect { from, to }),
        ]
    }

    /// Three copies of a plan, each with a sync state and a queue of messages in flight for
    /// each other copy.
    struct Exchange {
        docs: Vec<AutoCommit>,
        states: Vec<Vec<sync::State>>,
        in_flight: Vec<Vec<std::collections::VecDeque<Vec<u8>>>>,
    }

    impl Exchange {
        fn send(&mut self, from: usize, to: usize) {
            let state = &mut self.states[from][to];
            if let Some(m) = self.docs[from].sync().generate_sync_message(state) {
                self.in_flight[from][to].push_back(m.encode());
            }
        }

        /// Deliver the oldest message from `from` to `to` both ways, automerge's and ours, and
        /// fail unless they agree.
        fn deliver(
            &mut self,
            from: usize,
            to: usize,
        ) -> Result<(), proptest::test_runner::TestCaseError> {
            let Some(bytes) = self.in_flight[from][to].pop_front() else {
                return Ok(());
            };
            let message = || sync::Message::decode(&bytes).unwrap();
            let (mut doc, mut state) = (self.docs[to].clone(), self.states[to][from].clone());
            doc.sync()
                .receive_sync_message(&mut state, message())
                .unwrap();
            let (ours, our_state) = (&mut self.docs[to], &mut self.states[to][from]);
            receive_without_needless_walk(ours, our_state, message()).unwrap();
            proptest::prop_assert_eq!(doc.get_heads(), ours.get_heads());
            proptest::prop_assert_eq!(&state, &*our_state);
            Ok(())
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// `receive_without_needless_walk` leaves the document and the sync state exactly as
        /// automerge's own `receive_sync_message` does, whatever the exchange. (About half the
        /// messages that arrive while sent changes are remembered take the path without the
        /// walk here; each step of that path was checked to fail this test when broken.)
        #[test]
        fn receiving_matches_automerge(steps in proptest::collection::vec(step(), 1..150)) {
            let mut x = Exchange {
                docs: (0..3).map(|_| AutoCommit::new()).collect(),
                states: vec![vec![sync::State::new(); 3]; 3],
                in_flight: vec![vec![Default::default(); 3]; 3],
            };
            for step in steps {
                match step {
                    Step::Edit { who, key } => {
                        let n = x.docs[who].get_heads().len() as i64;
                        x.docs[who].put(ROOT, format!("goal {key}"), n).unwrap();
                        x.docs[who].commit();
                    }
                    Step::Send { from, to } => x.send(from, to),
                    Step::Deliver { from, to } => x.deliver(from, to)?,
                    Step::Exchange { from, to } => {
                        x.send(from, to);
                        while !x.in_flight[from][to].is_empty() {
                            x.deliver(from, to)?;
                        }
                        x.send(to, from);
                    }
                    Step::Reconnect { from, to } => {
                        for (a, b) in [(from, to), (to, from)] {
                            x.in_flight[a][b].clear();
                            x.states[a][b] = sync::State::new();
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x42", b"\x42\x00\x05garbage", &[0xff; 64]] {
            assert!(DocSync::decode(bytes).is_err());
        }
    }
}
