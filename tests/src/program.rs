//! Programs of mentoring pairs written straight into a relay's data directory, for the tests and
//! the benchmark of `GET /v1/program`.
//!
//! A relay stores each document as automerge chunks in sled (`DATA/sled`); writing them there
//! with tandem-core while the relay is stopped is what the relay itself would have stored after
//! the pairs synced, and takes milliseconds per workspace instead of a sync each. Every change
//! is stamped with the time its [`Workspace`] handle was opened at, so a pair's history (when it
//! was created, when it last changed) is set by reopening the document at another instant:
//! [`Pair::at`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use tandem_core::automerge::{ActorId, AutoCommit};
use tandem_core::jiff::{SignedDuration, Timestamp};
use tandem_core::model::{Role, Workspace};
use tandem_core::protocol::DocumentId;
use tandem_core::store::docstore::{self, DocState};
use tandem_core::store::{SledStorage, Storage};

/// `now` moved by a whole number of days (negative: earlier).
pub fn days(now: Timestamp, days: i64) -> Timestamp {
    now.checked_add(SignedDuration::from_hours(24 * days))
        .expect("a test instant is in range")
}

/// One mentoring pair's workspace being written: a mentor and a mentee.
pub struct Pair {
    pub id: String,
    pub ws: Workspace,
    pub mentor: String,
    pub mentee: String,
}

impl Pair {
    /// A new workspace `title` of `mentor` (acting) and `mentee`, created at `created`.
    pub fn new(title: &str, mentor: &str, mentee: &str, created: Timestamp) -> Self {
        let (mut ws, mentor_id) =
            Workspace::create(title, mentor, Role::Mentor, ActorId::random(), created)
                .expect("create the workspace");
        let mentee_id = ws
            .add_participant(mentee, Role::Mentee, &ActorId::random())
            .expect("add the mentee");
        Self {
            id: DocumentId::random().to_string(),
            ws,
            mentor: mentor_id,
            mentee: mentee_id,
        }
    }

    /// From now on, stamp changes with `t`, as `who` (a participant id).
    pub fn at(&mut self, t: Timestamp, who: &str) -> &mut Workspace {
        let doc = std::mem::replace(self.ws.doc_mut(), AutoCommit::new());
        let mut ws = Workspace::open(doc, &self.id, t).expect("reopen the workspace");
        ws.act_as(Some(who.to_string()));
        self.ws = ws;
        &mut self.ws
    }

    /// The document, to be stored.
    pub fn into_doc(self) -> (String, AutoCommit) {
        (self.id, self.ws.into_doc())
    }
}

/// Store `docs` (document id, document) in the relay data directory `data` (the relay must not
/// be running: sled locks its directory) and flush.
pub fn store_docs(data: &Path, docs: Vec<(String, AutoCommit)>) {
    let storage = SledStorage::open(&data.join("sled")).expect("open the relay's store");
    for (id, mut doc) in docs {
        docstore::save(&storage, &id, &mut doc, &mut DocState::new()).expect("store a document");
    }
    storage.flush().expect("flush the relay's store");
}

/// One plain HTTP/1.1 request to the relay on `127.0.0.1:port`, with a bearer `token` if given;
/// returns the status and the body.
pub fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the relay");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("set a read timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    // The relay serves one request per plain connection and closes it, so the answer ends there.
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
