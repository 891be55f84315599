//! `tandem bundle import` on hostile files.
//!
//! A bundle arrives on a USB stick or a LAN share, so it may be damaged or crafted. Its checksum
//! only proves the file is intact, not that its author meant well, so this target also builds
//! bundles with a valid checksum around arbitrary or damaged automerge documents. Decoding and
//! importing must return an error, never panic, whether the home is empty (the import joins the
//! workspace) or already has the workspace (the import merges). An import that succeeds must
//! leave a workspace every command can read and write, and importing the same bundle again must
//! be harmless.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tandem_core::jiff::Timestamp;
use tandem_core::model::{NewAction, NewGoal, NewNote, Role};
use tandem_core::store::{Bundle, Home, MemoryStorage, Storage, Write};

fn now() -> Timestamp {
    Timestamp::from_second(1_795_860_000).expect("a valid instant")
}

/// A real workspace, its home's store (to import into a home that has it) and its bundle.
struct Seeds {
    store: Vec<(Vec<u8>, Vec<u8>)>,
    bundle: Bundle,
    /// Documents that are valid automerge but not (quite) workspaces.
    others: Vec<Vec<u8>>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let storage = Arc::new(MemoryStorage::default());
        let home = Home::open(storage.clone()).unwrap();
        let mut ws = home
            .create_workspace("Ana & Ben", "Ana", Role::Mentor, now())
            .unwrap();
        let goal = ws
            .ws
            .add_goal(NewGoal {
                title: "Ship a Rust CLI".into(),
                due: Some("2026-12-20".parse().unwrap()),
                description: Some("with tests ☕".into()),
                ..Default::default()
            })
            .unwrap();
        ws.ws.add_milestone(&goal, "Read the book", None).unwrap();
        ws.ws
            .add_note(NewNote {
                body: "We met today. Next week we pair on tests.".into(),
                goal: Some(goal.clone()),
                tags: vec!["weekly".into()],
                ..Default::default()
            })
            .unwrap();
        let checkin = ws
            .ws
            .add_checkin("2026-11-28T10:00:00Z".parse().unwrap(), "Progress")
            .unwrap();
        ws.ws.rate_checkin(&checkin, 4, Some("good")).unwrap();
        ws.ws
            .add_action(NewAction {
                title: "Write the README".into(),
                goal: Some(goal),
                ..Default::default()
            })
            .unwrap();
        ws.ws
            .add_resource("The book", "https://doc.rust-lang.org/book/", None)
            .unwrap();
        home.save(&mut ws).unwrap();
        let bundle = home.export_bundle(ws.id(), now()).unwrap();

        let mut others = Vec::new();
        let mut plain = tandem_core::automerge::AutoCommit::new();
        others.push(plain.save());
        use tandem_core::automerge::transaction::Transactable;
        plain
            .put(tandem_core::automerge::ROOT, "kind", "tandem/workspace")
            .unwrap();
        plain
            .put(tandem_core::automerge::ROOT, "schema", 99)
            .unwrap();
        others.push(plain.save());
        Seeds {
            store: storage.scan_prefix(b"").unwrap(),
            bundle,
            others,
        }
    })
}

#[derive(Arbitrary, Debug)]
enum WorkspaceId {
    Same,
    Private,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Doc {
    /// The real workspace's bytes, damaged.
    Damaged {
        flips: Vec<(u32, u8)>,
        cut: Option<u32>,
        insert: Option<(u32, Vec<u8>)>,
    },
    /// A valid automerge document that is not a workspace this build reads.
    Other(u8),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Input {
    /// A whole file of arbitrary bytes.
    File(Vec<u8>),
    /// The real bundle file with bytes flipped (its checksum then fails, almost always).
    DamagedFile(Vec<(u32, u8)>),
    /// A bundle with a valid checksum around arbitrary fields.
    Crafted {
        workspace: WorkspaceId,
        title: String,
        exported_at: String,
        doc: Doc,
        into_existing: bool,
        join: Option<(String, u8)>,
    },
}

fn empty_home() -> Home {
    Home::open(Arc::new(MemoryStorage::default())).unwrap()
}

fn existing_home() -> Home {
    let storage = MemoryStorage::default();
    storage
        .apply(
            seeds()
                .store
                .iter()
                .map(|(k, v)| Write::Put(k.clone(), v.clone()))
                .collect(),
        )
        .unwrap();
    Home::open(Arc::new(storage)).unwrap()
}

fn role(r: u8) -> Role {
    match r % 3 {
        0 => Role::Mentor,
        1 => Role::Mentee,
        _ => Role::Observer,
    }
}

/// Import, and if that worked, use the workspace as the next commands would.
fn import(home: &Home, bytes: &[u8], join: Option<(&str, Role)>) {
    let Ok(bundle) = Bundle::decode(bytes) else {
        return;
    };
    let Ok(report) = home.import_bundle(&bundle, join.clone(), now()) else {
        return;
    };
    let mut opened = home
        .open_workspace(&report.workspace, now())
        .unwrap_or_else(|e| panic!("an imported workspace does not open: {e}"));
    let ws = &mut opened.ws;
    let _ = ws.snapshot(&report.workspace.to_string());
    let _ = ws.conflicts();
    let _ = ws.history(Some(50));
    for g in ws.goals() {
        let _ = ws.goal(&g.id);
        let _ = g.progress();
    }
    for a in ws.actions() {
        let _ = a.is_overdue("2026-11-28".parse().unwrap());
    }
    for p in ws.participants() {
        let _ = ws.display_name(&p.id);
    }
    let _ = home.unsynced_changes(&mut opened);
    // The next `tandem goal add` works (or is refused cleanly, e.g. read-only).
    if opened
        .ws
        .add_goal(NewGoal {
            title: "After the import".into(),
            ..Default::default()
        })
        .is_ok()
    {
        let _ = home.save(&mut opened);
    }
    let _ = home.export_bundle(&report.workspace, now());
    // Importing the same bundle again is harmless.
    let again = home
        .import_bundle(&bundle, join, now())
        .unwrap_or_else(|e| panic!("importing the same bundle twice failed: {e}"));
    assert!(
        !again.created,
        "the second import created the workspace again"
    );
}

fuzz_target!(|input: Input| {
    let seeds = seeds();
    match input {
        Input::File(bytes) => import(&empty_home(), &bytes, Some(("Ben", Role::Mentee))),
        Input::DamagedFile(flips) => {
            let mut bytes = seeds.bundle.encode();
            for (at, x) in flips {
                let n = bytes.len();
                bytes[at as usize % n] ^= x;
            }
            import(&existing_home(), &bytes, None);
        }
        Input::Crafted {
            workspace,
            title,
            exported_at,
            doc,
            into_existing,
            join,
        } => {
            let doc = match doc {
                Doc::Damaged { flips, cut, insert } => {
                    let mut b = seeds.bundle.doc.clone();
                    for (at, x) in flips {
                        let n = b.len();
                        b[at as usize % n] ^= x;
                    }
                    if let Some((at, extra)) = insert {
                        let at = at as usize % (b.len() + 1);
                        b.splice(at..at, extra);
                    }
                    if let Some(cut) = cut {
                        b.truncate(cut as usize);
                    }
                    b
                }
                Doc::Other(i) => seeds.others[i as usize % seeds.others.len()].clone(),
                Doc::Raw(b) => b,
            };
            let bundle = Bundle {
                workspace: match workspace {
                    WorkspaceId::Same => seeds.bundle.workspace.clone(),
                    WorkspaceId::Private => format!("private-{}", seeds.bundle.workspace),
                    WorkspaceId::Other(s) => s,
                },
                title,
                exported_at,
                doc,
            };
            let home = if into_existing {
                existing_home()
            } else {
                empty_home()
            };
            let join = join.map(|(name, r)| (name, role(r)));
            import(
                &home,
                &bundle.encode(),
                join.as_ref().map(|(n, r)| (n.as_str(), r.clone())),
            );
        }
    }
});
