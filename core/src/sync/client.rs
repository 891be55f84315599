//! The client's side of the protocol: one relay, the workspaces of a home.

use super::peer::{DocSync, SyncError};
use crate::protocol::{Message, PeerMetadata};
use automerge::{sync, AutoCommit, ChangeHash};
use std::collections::BTreeMap;

/// Why a client session cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The relay closed the session with an `error` message.
    #[error("the relay refused: {0}")]
    Refused(String),
    /// The relay sent something out of order.
    #[error("unexpected {0} message from the relay")]
    Unexpected(String),
    /// A sync message from the relay could not be applied.
    #[error("document {doc}: {source}")]
    Sync {
        doc: String,
        #[source]
        source: SyncError,
    },
}

/// How one document's sync is going.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocProgress {
    pub id: String,
    /// Changes received from the relay in this session.
    pub received: usize,
    /// Whether the relay has said it holds everything this side has.
    pub relay_has_everything: bool,
    /// Whether the relay answered `doc-unavailable` (it has never seen the document).
    pub unavailable: bool,
}

#[derive(Debug)]
struct ClientDoc {
    doc: AutoCommit,
    sync: DocSync,
    start_heads: Vec<ChangeHash>,
    unavailable: bool,
    /// A followed (observer's) document: only what the relay holds is in the session, and local
    /// updates are never added, so nothing is ever pushed.
    pull_only: bool,
}

/// A client's session with one relay.
#[derive(Debug)]
pub struct ClientSession {
    peer_id: String,
    storage_id: Option<String>,
    relay: Option<(String, Option<String>)>,
    docs: BTreeMap<String, ClientDoc>,
}

impl ClientSession {
    /// A session for a peer that persists under `storage_id` (tandem homes do), so the relay
    /// keeps its sync state across connections.
    pub fn new(peer_id: impl Into<String>, storage_id: Option<String>) -> Self {
        Self {
            peer_id: peer_id.into(),
            storage_id,
            relay: None,
            docs: BTreeMap::new(),
        }
    }

    /// The first message on a new connection.
    pub fn join(&self) -> Message {
        Message::join(
            self.peer_id.clone(),
            Some(PeerMetadata {
                storage_id: self.storage_id.clone(),
                is_ephemeral: self.storage_id.is_none(),
            }),
        )
    }

    /// The relay's peer id and storage id, once it has answered `join`.
    pub fn relay(&self) -> Option<(&str, Option<&str>)> {
        self.relay.as_ref().map(|(p, s)| (p.as_str(), s.as_deref()))
    }

    /// Add a document to sync, with the sync state persisted for this relay if there is one.
    pub fn add_doc(
        &mut self,
        id: impl Into<String>,
        mut doc: AutoCommit,
        persisted: Option<sync::State>,
    ) {
        let start_heads = doc.get_heads();
        self.docs.insert(
            id.into(),
            ClientDoc {
                doc,
                sync: DocSync::new(persisted),
                start_heads,
                unavailable: false,
                pull_only: false,
            },
        );
    }

    /// Add a document this device only follows (an observer's): the session starts from the
    /// part of `local` the relay is known to hold (`relay_heads`; nothing when unknown) and never
    /// sends anything else. A followed copy may hold changes the relay lacks, e.g. someone's
    /// unsynced work imported from a bundle; pushing them would get the connection refused, and
    /// every later sync with it, so they stay local until their author syncs them.
    pub fn add_pull_only_doc(
        &mut self,
        id: impl Into<String>,
        local: &mut AutoCommit,
        relay_heads: Option<&[ChangeHash]>,
    ) -> Result<(), ClientError> {
        let id = id.into();
        let doc = match relay_heads {
            Some(heads) if !heads.is_empty() => {
                local.fork_at(heads).map_err(|e| ClientError::Sync {
                    doc: id.clone(),
                    source: SyncError::Apply(e.to_string()),
                })?
            }
            _ => AutoCommit::new(),
        };
        self.add_doc(id.clone(), doc, None);
        if let Some(entry) = self.docs.get_mut(&id) {
            entry.pull_only = true;
        }
        Ok(())
    }

    /// The document, e.g. to save it after changes arrived.
    pub fn doc_mut(&mut self, id: &str) -> Option<&mut AutoCommit> {
        self.docs.get_mut(id).map(|d| &mut d.doc)
    }

    /// Replace a document with a newer local version (after a local edit in watch mode) and
    /// return what to send. The sync state carries over, so only the new changes travel.
    pub fn local_update(
        &mut self,
        id: &str,
        newer: &mut AutoCommit,
    ) -> Result<Vec<Message>, ClientError> {
        let Some(entry) = self.docs.get_mut(id) else {
            return Ok(Vec::new());
        };
        if entry.pull_only {
            return Ok(Vec::new());
        }
        entry.doc.merge(newer).map_err(|e| ClientError::Sync {
            doc: id.to_string(),
            source: SyncError::Apply(e.to_string()),
        })?;
        Ok(self.generate(id).into_iter().collect())
    }

    /// The sync state to persist for this relay.
    pub fn sync_state(&self, id: &str) -> Option<&sync::State> {
        self.docs.get(id).map(|d| d.sync.state())
    }

    /// Ids of the documents in the session.
    pub fn doc_ids(&self) -> Vec<String> {
        self.docs.keys().cloned().collect()
    }

    fn generate(&mut self, id: &str) -> Option<Message> {
        let (relay, _) = self.relay.as_ref()?;
        let entry = self.docs.get_mut(id)?;
        let data = entry.sync.generate(&mut entry.doc)?;
        Some(Message::Sync {
            sender_id: self.peer_id.clone(),
            target_id: relay.clone(),
            document_id: id.to_string(),
            data,
        })
    }

    /// Handle a message from the relay; returns what to send back.
    pub fn receive(&mut self, message: Message) -> Result<Vec<Message>, ClientError> {
        match message {
            Message::Peer {
                sender_id,
                peer_metadata,
                ..
            } => {
                self.relay = Some((sender_id, peer_metadata.and_then(|m| m.storage_id)));
                Ok(Vec::new())
            }
            Message::Error { message, .. } => Err(ClientError::Refused(message)),
            Message::Sync {
                document_id, data, ..
            }
            | Message::Request {
                document_id, data, ..
            } => {
                if self.relay.is_none() {
                    return Err(ClientError::Unexpected("sync before peer".into()));
                }
                let Some(entry) = self.docs.get_mut(&document_id) else {
                    // The relay never announces documents, so this is a document we dropped;
                    // ignoring it is what automerge-repo does too.
                    return Ok(Vec::new());
                };
                let decoded = DocSync::decode(&data).map_err(|source| ClientError::Sync {
                    doc: document_id.clone(),
                    source,
                })?;
                entry
                    .sync
                    .receive(&mut entry.doc, decoded)
                    .map_err(|source| ClientError::Sync {
                        doc: document_id.clone(),
                        source,
                    })?;
                entry.unavailable = false;
                Ok(self.generate(&document_id).into_iter().collect())
            }
            Message::DocUnavailable { document_id, .. } => {
                if let Some(entry) = self.docs.get_mut(&document_id) {
                    entry.unavailable = true;
                }
                Ok(Vec::new())
            }
            // Nothing else needs an answer from a client that does not use ephemeral messages.
            _ => Ok(Vec::new()),
        }
    }

    /// The first sync message for every document; call once the relay has answered `join`.
    pub fn start(&mut self) -> Vec<Message> {
        let ids = self.doc_ids();
        ids.iter().filter_map(|id| self.generate(id)).collect()
    }

    /// Where each document stands.
    pub fn progress(&mut self) -> Vec<DocProgress> {
        self.docs
            .iter_mut()
            .map(|(id, d)| {
                let received = d.doc.get_changes(&d.start_heads).len();
                DocProgress {
                    id: id.clone(),
                    received,
                    relay_has_everything: d.sync.peer_has_everything(&mut d.doc),
                    unavailable: d.unavailable,
                }
            })
            .collect()
    }

    /// Whether every document is on the relay in full and nothing is left to exchange.
    pub fn settled(&mut self) -> bool {
        self.docs
            .values_mut()
            .all(|d| d.sync.peer_has_everything(&mut d.doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, ROOT};

    /// Plays a relay's side for one document: applies the client's sync messages to `relay`
    /// and answers, until neither side has anything more to say. Returns every change the
    /// client sent.
    fn exchange(session: &mut ClientSession, relay: &mut AutoCommit, id: &str) -> usize {
        let mut state = sync::State::new();
        let mut sent = 0;
        let mut outgoing = session.start();
        for _ in 0..20 {
            let mut replies = Vec::new();
            for m in outgoing.drain(..) {
                let Message::Sync { data, .. } = m else {
                    continue;
                };
                let msg = sync::Message::decode(&data).unwrap();
                sent += msg.changes.len();
                relay.sync().receive_sync_message(&mut state, msg).unwrap();
            }
            if let Some(answer) = relay.sync().generate_sync_message(&mut state) {
                replies.extend(
                    session
                        .receive(Message::Sync {
                            sender_id: "relay".into(),
                            target_id: "client".into(),
                            document_id: id.into(),
                            data: answer.encode(),
                        })
                        .unwrap(),
                );
            }
            if replies.is_empty() {
                break;
            }
            outgoing = replies;
        }
        sent
    }

    #[test]
    fn a_followed_document_pulls_what_the_relay_has_and_never_pushes_its_own() {
        let id = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";
        // The relay and this device share the first change; the device also holds a change
        // the relay lacks (someone's unsynced work from a bundle), the relay one from Ben.
        let mut local = AutoCommit::new();
        local.put(ROOT, "title", "Ana & Ben").unwrap();
        local.commit();
        let shared = local.get_heads();
        let mut relay = local.fork();
        local.put(ROOT, "from_bundle", "not on the relay").unwrap();
        local.commit();
        relay.put(ROOT, "from_ben", "on the relay").unwrap();
        relay.commit();

        let mut session = ClientSession::new("client", Some("home".into()));
        session
            .receive(Message::peer("relay", "client", None))
            .unwrap();
        session
            .add_pull_only_doc(id, &mut local, Some(&shared))
            .unwrap();
        assert_eq!(exchange(&mut session, &mut relay, id), 0, "nothing pushed");
        assert!(relay.get(ROOT, "from_bundle").unwrap().is_none());
        let pulled = session.doc_mut(id).unwrap();
        assert!(pulled.get(ROOT, "from_ben").unwrap().is_some());
        // A newer local version is not taken into the session either.
        assert!(session.local_update(id, &mut local).unwrap().is_empty());
        assert!(session.settled());
    }
}
