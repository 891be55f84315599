use super::*;
use crate::store::{MemoryStorage, Write};
use crate::sync::ClientSession;
use automerge::transaction::Transactable;
use automerge::ROOT;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const DOC: &str = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";

/// A storage that counts atomic writes and can be told to refuse them, as a full disk does.
#[derive(Default)]
struct Disk {
    inner: MemoryStorage,
    writes: AtomicUsize,
    full: AtomicBool,
}

impl Storage for Disk {
    fn get(&self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> crate::Result<()> {
        self.apply(vec![Write::Put(key.to_vec(), value.to_vec())])
    }
    fn delete(&self, key: &[u8]) -> crate::Result<()> {
        self.apply(vec![Write::Delete(key.to_vec())])
    }
    fn scan_prefix(&self, prefix: &[u8]) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan_prefix(prefix)
    }
    fn apply(&self, writes: Vec<Write>) -> crate::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(crate::Error::Storage {
                path: "disk".into(),
                source: sled::Error::Io(std::io::Error::other("no space left on device")),
            });
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(writes)
    }
    fn flush(&self) -> crate::Result<()> {
        Ok(())
    }
}

/// A relay on `disk` with a mentor and two mentees synced on one plan, and their next
/// messages to the relay, each carrying one new check-in.
fn three_editing(disk: &Arc<Disk>) -> (Relay, Vec<ClientSession>, Vec<Message>) {
    let mut relay = Relay::new(disk.clone(), "relay").unwrap();
    let mut base = AutoCommit::new();
    base.put(ROOT, "goal", "shared plan").unwrap();
    base.commit();
    let mut people = Vec::new();
    let mut inbox = Vec::new();
    for name in ["mentor", "mentee-1", "mentee-2"] {
        let mut c = ClientSession::new(name, None);
        c.add_doc(DOC, base.fork(), None);
        let (_, reply) = relay.join(c.join(), Access::full()).unwrap();
        c.receive(reply).unwrap();
        inbox.extend(c.start());
        people.push(c);
    }
    for _ in 0..20 {
        for m in std::mem::take(&mut inbox) {
            let from = m.sender_id().unwrap().to_string();
            relay.receive(&from, m).unwrap();
        }
        for (to, m) in relay.commit(Instant::now()).unwrap() {
            let c = people
                .iter_mut()
                .find(|c| c.join().sender_id() == Some(&to));
            inbox.extend(c.unwrap().receive(m).unwrap());
        }
    }
    assert!(inbox.is_empty(), "the three settled");
    let mut edits = Vec::new();
    for (i, c) in people.iter_mut().enumerate() {
        let mut newer = c.doc_mut(DOC).unwrap().fork();
        newer.put(ROOT, format!("check-in {i}"), i as i64).unwrap();
        newer.commit();
        edits.extend(c.local_update(DOC, &mut newer).unwrap());
    }
    assert_eq!(edits.len(), 3);
    (relay, people, edits)
}

#[test]
fn a_plan_changed_by_several_people_in_one_batch_is_written_once() {
    let disk = Arc::new(Disk::default());
    let (mut relay, _people, edits) = three_editing(&disk);
    let before = disk.writes.load(Ordering::SeqCst);
    let stored_before = relay.stats().changes_stored;
    for m in edits {
        let from = m.sender_id().unwrap().to_string();
        relay.receive(&from, m).unwrap();
    }
    assert_eq!(
        disk.writes.load(Ordering::SeqCst),
        before,
        "receiving writes nothing; the batch's seal does"
    );
    let out = relay.commit(Instant::now()).unwrap();
    assert_eq!(disk.writes.load(Ordering::SeqCst), before + 1);
    assert_eq!(relay.stats().changes_stored, stored_before + 3);
    assert_eq!(out.len(), 3, "one message to each person: {out:?}");
}

#[test]
fn a_change_that_cannot_be_written_is_never_acknowledged() {
    let disk = Arc::new(Disk::default());
    let (mut relay, _people, edits) = three_editing(&disk);
    disk.full.store(true, Ordering::SeqCst);
    let mentor_edit = edits.into_iter().next().unwrap();
    relay.receive("mentor", mentor_edit).unwrap();
    let out = relay.commit(Instant::now()).unwrap();
    let mut told: Vec<&str> = out.iter().map(|(to, _)| to.as_str()).collect();
    told.sort_unstable();
    assert_eq!(told, ["mentee-1", "mentee-2", "mentor"]);
    for (_, m) in &out {
        let Message::Error { message, .. } = m else {
            panic!("only errors, no sync message speaking of the unwritten change: {m:?}");
        };
        assert!(message.contains("could not store"), "{message}");
    }
    assert_eq!(
        relay.stats().documents_in_memory,
        0,
        "the unwritten copy is dropped"
    );
    // Once the disk has room again, the plan reloads as it was stored, without the change.
    disk.full.store(false, Ordering::SeqCst);
    let (mut stored, _) = docstore::load(disk.as_ref(), DOC).unwrap().unwrap();
    assert!(automerge::ReadDoc::get(&stored, ROOT, "check-in 0")
        .unwrap()
        .is_none());
    assert_eq!(stored.get_heads().len(), 1);
}
