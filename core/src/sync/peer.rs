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
    pub fn generate_expecting_answer(&mut self, doc: &mut AutoCommit) -> Option<(Vec<u8>, bool)> {
        doc.sync().generate_sync_message(&mut self.state).map(|m| {
            let expects = !m.changes.is_empty() || !m.need.is_empty();
            (m.encode(), expects)
        })
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
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b""[..], b"\x42", b"\x42\x00\x05garbage", &[0xff; 64]] {
            assert!(DocSync::decode(bytes).is_err());
        }
    }
}
