//! The relay's sans-IO sync engine, fed by up to three peers at once.
//!
//! Each input is a script of operations: peers join (with well-formed or arbitrary frames),
//! send arbitrary frames, send `sync`/`request` messages whose data is arbitrary or a damaged
//! copy of a real automerge sync message, send ephemeral and gossip messages, converse honestly
//! with the relay through a real [`ClientSession`], edit their documents, disconnect; the relay
//! evicts idle documents and restarts on the same storage. Whatever the script, the relay must
//! never panic (refusing a peer with an error is fine), and everything it stored must load again.
//!
//! automerge has been seen to panic on hostile sync data, and the engine contains that with
//! `catch_unwind` by design (`SyncError::Panicked`). libfuzzer-sys's panic hook would abort on
//! such a contained panic, so this target installs its own hook: contained panics are allowed
//! (each distinct one is printed once, for the record), and a panic that escapes the engine is
//! reported and aborts the run as a crash.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tandem_core::automerge::transaction::Transactable;
use tandem_core::automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use tandem_core::protocol::{DocumentId, Message, PeerMetadata, RemoteHeads};
use tandem_core::store::{docstore, MemoryStorage, Storage};
use tandem_core::sync::{Access, ClientSession, DocSync, Relay};

const PEERS: [&str; 3] = ["p0", "p1", "p2"];
const MAX_OPS: usize = 48;

/// Fixed material every input draws on: two valid document ids and real sync messages.
struct Seeds {
    docs: [String; 2],
    /// automerge sync messages recorded from real exchanges (with and without changes).
    messages: Vec<Vec<u8>>,
}

fn sample_doc(tag: &str, n: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "kind", "tandem/workspace").unwrap();
    doc.put(ROOT, "schema", 1).unwrap();
    let text = doc.put_object(ROOT, "title", ObjType::Text).unwrap();
    doc.splice_text(&text, 0, 0, &format!("{tag} plan"))
        .unwrap();
    let goals = doc.put_object(ROOT, "goals", ObjType::Map).unwrap();
    for i in 0..n {
        let g = doc
            .put_object(&goals, format!("{tag}{i}"), ObjType::Map)
            .unwrap();
        doc.put(&g, "status", "open").unwrap();
        let list = doc.put_object(&g, "tags", ObjType::List).unwrap();
        doc.insert(&list, 0, i as i64).unwrap();
        doc.commit();
    }
    doc
}

/// Sync two documents until quiet, recording every message.
fn record(a: &mut AutoCommit, b: &mut AutoCommit, out: &mut Vec<Vec<u8>>) {
    let (mut sa, mut sb) = (DocSync::default(), DocSync::default());
    for _ in 0..16 {
        let (ma, mb) = (sa.generate(a), sb.generate(b));
        if ma.is_none() && mb.is_none() {
            return;
        }
        if let Some(m) = ma {
            out.push(m.clone());
            sb.receive(b, DocSync::decode(&m).unwrap()).unwrap();
        }
        if let Some(m) = mb {
            out.push(m.clone());
            sa.receive(a, DocSync::decode(&m).unwrap()).unwrap();
        }
    }
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut messages = Vec::new();
        let mut a = sample_doc("a", 3);
        let mut empty = AutoCommit::new();
        record(&mut a, &mut empty, &mut messages);
        // Concurrent edits on both sides, so messages carry changes in both directions.
        let mut b = a.fork();
        a.put(ROOT, "left", "x").unwrap();
        a.commit();
        b.put(ROOT, "right", 7).unwrap();
        b.commit();
        record(&mut a, &mut b, &mut messages);
        let mut c = sample_doc("c", 2);
        record(&mut c, &mut a, &mut messages);
        Seeds {
            docs: [
                DocumentId::from([1u8; 16]).to_string(),
                DocumentId::from([2u8; 16]).to_string(),
            ],
            messages,
        }
    })
}

// ----- the script -----

#[derive(Arbitrary, Debug)]
enum Version {
    Absent,
    One,
    List(Vec<String>),
}

#[derive(Arbitrary, Debug)]
enum AccessKind {
    Full,
    ReadOnly,
    /// Only the document with this index (mod 2).
    Scoped(u8, bool),
}

#[derive(Arbitrary, Debug)]
enum Data {
    Bytes(Vec<u8>),
    /// A recorded sync message with bytes flipped and possibly cut short.
    Seed {
        index: u8,
        flips: Vec<(u16, u8)>,
        cut: Option<u16>,
    },
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A well-formed join (a reconnect if the peer is already joined).
    Join {
        peer: u8,
        storage: Option<u8>,
        ephemeral: bool,
        version: Version,
        access: AccessKind,
    },
    /// A first frame of arbitrary bytes.
    JoinRaw {
        peer: u8,
        frame: Vec<u8>,
    },
    /// An arbitrary frame from a joined peer.
    Raw {
        peer: u8,
        frame: Vec<u8>,
    },
    /// `sync` or `request` for a document (or an invalid id), from the peer or claiming to be
    /// from someone else.
    Sync {
        peer: u8,
        doc: u8,
        request: bool,
        honest: bool,
        data: Data,
    },
    Ephemeral {
        peer: u8,
        doc: u8,
        count: u64,
        session: u8,
        data: Vec<u8>,
    },
    /// One of the advisory messages a relay may ignore, or one a client must not send.
    Other {
        peer: u8,
        kind: u8,
        doc: u8,
        heads: Vec<String>,
        storage: String,
    },
    /// The peer's real client syncs its document with the relay for a few rounds.
    Converse {
        peer: u8,
        rounds: u8,
    },
    /// The peer's client changes its document.
    Edit {
        peer: u8,
        key: u8,
        value: i64,
    },
    Disconnect {
        peer: u8,
    },
    Evict,
    /// Graceful shutdown and a new relay on the same storage.
    Restart,
}

// ----- the world the script runs in -----

struct Peer {
    name: &'static str,
    doc_id: String,
    client: ClientSession,
    /// Messages the relay sent this peer, not yet read by its client.
    inbox: Vec<Message>,
    joined: bool,
}

impl Peer {
    fn new(index: usize) -> Self {
        let seeds = seeds();
        let doc_id = seeds.docs[index % 2].clone();
        let mut client = ClientSession::new(PEERS[index], Some(format!("storage-{index}")));
        client.add_doc(
            doc_id.clone(),
            sample_doc(PEERS[index], index + 1)
                .with_actor(tandem_core::automerge::ActorId::from([index as u8 + 1; 16])),
            None,
        );
        Self {
            name: PEERS[index],
            doc_id,
            client,
            inbox: Vec::new(),
            joined: false,
        }
    }

    /// A fresh client session with the same document, as after a reconnect.
    fn reset(&mut self) {
        let doc = self
            .client
            .doc_mut(&self.doc_id)
            .map(|d| d.clone())
            .unwrap_or_default();
        let index = PEERS.iter().position(|p| *p == self.name).unwrap();
        self.client = ClientSession::new(self.name, Some(format!("storage-{index}")));
        self.client.add_doc(self.doc_id.clone(), doc, None);
        self.inbox.clear();
        self.joined = false;
    }
}

struct World {
    store: Arc<MemoryStorage>,
    relay: Relay,
    peers: Vec<Peer>,
}

impl World {
    fn new() -> Self {
        let store = Arc::new(MemoryStorage::default());
        let relay = Relay::new(store.clone(), "relay").expect("a relay on memory storage");
        Self {
            store,
            relay,
            peers: (0..3).map(Peer::new).collect(),
        }
    }

    /// Commit the relay's batch and deliver what it releases, as the server does.
    fn deliver(&mut self) {
        let out = self
            .relay
            .commit(std::time::Instant::now())
            .expect("memory storage never fails to flush");
        for (to, message) in out {
            if let Some(p) = self.peers.iter_mut().find(|p| p.name == to && p.joined) {
                p.inbox.push(message);
            }
        }
    }

    /// A frame from a joined peer: deliver the replies, or close the peer as the server does.
    fn send(&mut self, i: usize, message: Message) {
        if !self.peers[i].joined {
            return;
        }
        let name = self.peers[i].name;
        match self.relay.receive(name, message) {
            Ok(()) => self.deliver(),
            Err(_) => {
                self.relay.disconnect(name);
                self.peers[i].reset();
            }
        }
    }

    fn join(&mut self, i: usize, message: Message, access: Access) {
        self.peers[i].reset();
        match self.relay.join(message, access) {
            Ok((bound, reply)) => {
                // The relay binds the connection to the id in the join. Only joins as this
                // peer's own name are kept; any other id is closed at once, as a server would
                // once the test is done with it.
                if bound == self.peers[i].name {
                    self.peers[i].joined = true;
                    let _ = self.peers[i].client.receive(reply);
                } else {
                    self.relay.disconnect(&bound);
                }
            }
            Err(_) => {}
        }
    }

    fn converse(&mut self, i: usize, rounds: u8) {
        if !self.peers[i].joined {
            let join = self.peers[i].client.join();
            self.join(i, join, Access::full());
            if !self.peers[i].joined {
                return;
            }
            let start = self.peers[i].client.start();
            for m in start {
                self.send(i, m);
            }
        }
        for _ in 0..rounds.min(8) {
            let inbox = std::mem::take(&mut self.peers[i].inbox);
            if inbox.is_empty() {
                return;
            }
            for m in inbox {
                match self.peers[i].client.receive(m) {
                    Ok(replies) => {
                        for r in replies {
                            self.send(i, r);
                        }
                    }
                    Err(_) => {
                        // The relay sent something the client could not use: a bug, unless
                        // the relay itself had been fed damaged data. Either way the client
                        // closes; what matters here is that nothing panicked.
                        self.relay.disconnect(self.peers[i].name);
                        self.peers[i].reset();
                        return;
                    }
                }
            }
        }
    }

    fn doc_id(&self, doc: u8) -> String {
        match doc % 3 {
            0 | 1 => seeds().docs[(doc % 3) as usize].clone(),
            _ => "not-a-document-id".to_string(),
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Join {
                peer,
                storage,
                ephemeral,
                version,
                access,
            } => {
                let i = peer as usize % 3;
                let message = Message::Join {
                    sender_id: self.peers[i].name.to_string(),
                    supported_protocol_versions: match version {
                        Version::Absent => None,
                        Version::One => Some(vec!["1".into()]),
                        Version::List(v) => Some(v),
                    },
                    peer_metadata: Some(PeerMetadata {
                        storage_id: storage.map(|s| format!("storage-{}", s % 4)),
                        is_ephemeral: ephemeral,
                    }),
                };
                let access = match access {
                    AccessKind::Full => Access::full(),
                    AccessKind::ReadOnly => Access {
                        docs: None,
                        write: false,
                        writable: None,
                    },
                    AccessKind::Scoped(d, write) => Access {
                        docs: Some(HashSet::from([seeds().docs[d as usize % 2].clone()])),
                        write,
                        writable: None,
                    },
                };
                self.join(i, message, access);
            }
            Op::JoinRaw { peer, frame } => {
                if let Ok(message) = Message::decode(&frame) {
                    self.join(peer as usize % 3, message, Access::full());
                }
            }
            Op::Raw { peer, frame } => {
                if let Ok(message) = Message::decode(&frame) {
                    self.send(peer as usize % 3, message);
                }
            }
            Op::Sync {
                peer,
                doc,
                request,
                honest,
                data,
            } => {
                let i = peer as usize % 3;
                let data = match data {
                    Data::Bytes(b) => b,
                    Data::Seed { index, flips, cut } => {
                        let messages = &seeds().messages;
                        let mut b = messages[index as usize % messages.len()].clone();
                        for (at, x) in flips {
                            let n = b.len();
                            if n > 0 {
                                b[at as usize % n] ^= x;
                            }
                        }
                        if let Some(cut) = cut {
                            b.truncate(cut as usize);
                        }
                        b
                    }
                };
                let sender_id = if honest {
                    self.peers[i].name.to_string()
                } else {
                    "mallory".to_string()
                };
                let message =
                    Message::sync_or_request(request, sender_id, "relay", self.doc_id(doc), data);
                self.send(i, message);
            }
            Op::Ephemeral {
                peer,
                doc,
                count,
                session,
                data,
            } => {
                let i = peer as usize % 3;
                let message = Message::Ephemeral {
                    sender_id: self.peers[i].name.to_string(),
                    target_id: "relay".into(),
                    count,
                    session_id: format!("s{}", session % 4),
                    document_id: self.doc_id(doc),
                    data,
                };
                self.send(i, message);
            }
            Op::Other {
                peer,
                kind,
                doc,
                heads,
                storage,
            } => {
                let i = peer as usize % 3;
                let me = self.peers[i].name.to_string();
                let document_id = self.doc_id(doc);
                let message = match kind % 7 {
                    0 => Message::Leave { sender_id: me },
                    1 => Message::DocUnavailable {
                        sender_id: me,
                        target_id: "relay".into(),
                        document_id,
                    },
                    2 => Message::RemoteSubscriptionChange {
                        sender_id: me,
                        target_id: "relay".into(),
                        add: Some(vec![storage.clone()]),
                        remove: Some(vec![storage]),
                    },
                    3 => Message::RemoteHeadsChanged {
                        sender_id: me,
                        target_id: "relay".into(),
                        document_id,
                        new_heads: BTreeMap::from([(
                            storage,
                            RemoteHeads {
                                heads,
                                timestamp: 0,
                            },
                        )]),
                    },
                    4 => Message::Error {
                        message: storage,
                        sender_id: Some(me),
                        target_id: None,
                    },
                    5 => Message::peer(me, "relay", None),
                    _ => Message::Unknown { type_name: storage },
                };
                self.send(i, message);
            }
            Op::Converse { peer, rounds } => self.converse(peer as usize % 3, rounds),
            Op::Edit { peer, key, value } => {
                let p = &mut self.peers[peer as usize % 3];
                let id = p.doc_id.clone();
                let mut newer = match p.client.doc_mut(&id) {
                    Some(doc) => doc.clone(),
                    None => return,
                };
                newer.put(ROOT, format!("k{}", key % 8), value).unwrap();
                newer.commit();
                if let Ok(out) = p.client.local_update(&id, &mut newer) {
                    let i = peer as usize % 3;
                    for m in out {
                        self.send(i, m);
                    }
                }
            }
            Op::Disconnect { peer } => {
                let i = peer as usize % 3;
                self.relay.disconnect(self.peers[i].name);
                self.peers[i].reset();
            }
            Op::Evict => {
                self.relay.evict_idle(std::time::Instant::now(), Duration::ZERO);
            }
            Op::Restart => {
                self.relay.shutdown().expect("shutdown on memory storage");
                self.check_stored();
                self.relay = Relay::new(self.store.clone(), "relay").expect("a relay restarts");
                for p in &mut self.peers {
                    p.reset();
                }
            }
        }
    }

    /// Everything the relay stored loads again: it never keeps a document it cannot read.
    fn check_stored(&self) {
        let store: &dyn Storage = self.store.as_ref();
        for id in docstore::list(store).expect("listing memory storage") {
            match docstore::load(store, &id) {
                Ok(Some((doc, _))) => {
                    let _ = doc.keys(ROOT).count();
                }
                Ok(None) => panic!("document {id} is listed but does not load"),
                Err(e) => panic!("the relay stored document {id} that does not load: {e}"),
            }
        }
    }
}

// ----- panics: contained ones are fine, escaped ones are crashes -----

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn install_hook() {
    let seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    std::panic::set_hook(Box::new(move |info| {
        let text = format!("{info}");
        let key = text.lines().next().unwrap_or_default().to_string();
        if seen.lock().map(|mut s| s.insert(key)).unwrap_or(false) {
            eprintln!("panic (printed once; contained unless reported as escaped): {text}");
        }
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }));
}

fuzz_target!(init: install_hook(), |input: Vec<Op>| {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut world = World::new();
        for op in input.into_iter().take(MAX_OPS) {
            world.run(op);
        }
        world.relay.shutdown().expect("shutdown on memory storage");
        world.check_stored();
    }));
    if outcome.is_err() {
        let last = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
        eprintln!(
            "a panic escaped the sync engine: {}",
            last.unwrap_or_default()
        );
        std::process::abort();
    }
});
