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
            doc.sync().receive_sync_message(state, message)
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

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x42", b"\x42\x00\x05garbage", &[0xff; 64]] {
            assert!(DocSync::decode(bytes).is_err());
        }
    }
}
