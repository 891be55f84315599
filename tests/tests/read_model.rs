//! End-to-end tests of the read model: `tandem plan`, the lists and `show` print exactly the same
//! whether they read the read model or the document, and a read model that is missing, damaged or
//! behind the document is rebuilt without anyone noticing.
//!
//! Each test runs every read command twice: once as it is (from the read model, when current) and
//! once right after the read model was deleted, which makes the command read the document.

use tandem_core::model::{NewGoal, Workspace};
use tandem_core::store::docstore;
use tandem_core::store::{SledStorage, Storage, Write};
use tandem_tests::{add_the_rust_cli_goal, Home, NOW};

/// A workspace with items of every kind, private notes, a long note (so that later additions
/// take the quick path) and a few edits. Returns the home and the ids the read commands show.
fn workspace() -> (Home, Vec<String>) {
    let home = Home::new();
    home.init("Ana & Ben — backend growth", "Ana", "mentor");
    let goal = add_the_rust_cli_goal(&home);
    let milestone = home.add(&["milestone", "add", &goal, "Read the book"]);
    home.ok(&["milestone", "done", &goal, &milestone]);
    home.add(&["goal", "add", "Learn async", "--due", "2026-11-01"]);
    // Varied text, so that the document is big enough for the quick path.
    let long: String = (0..4000)
        .map(|i| format!("{} ", i * 7919 % 100_003))
        .collect();
    let note = home
        .with_stdin(&long)
        .ok(&["-q", "note", "add", "--title", "Reading log", "-"])
        .trim()
        .to_string();
    home.add(&[
        "note",
        "add",
        "--goal",
        &goal,
        "Start with clap's derive API.",
    ]);
    let private = home.add(&["note", "add", "--private", "Only on this device"]);
    let checkin = home.add(&[
        "checkin",
        "add",
        "--at",
        "2026-11-20 15:00",
        "--agenda",
        "Review the first PR",
    ]);
    home.ok(&["checkin", "rate", &checkin, "4", "--comment", "useful"]);
    home.add(&["action", "add", "Open the PR", "--due", "2026-11-25"]);
    let done = home.add(&["action", "add", "Install rustup", "--goal", &goal]);
    home.ok(&["action", "done", &done]);
    home.add(&["action", "add", "Review", "--checkin", &checkin]);
    home.add(&[
        "resource",
        "add",
        "The Book",
        "https://doc.rust-lang.org/book/",
    ]);
    let archived = home.add(&["goal", "add", "Old idea"]);
    home.ok(&["goal", "archive", &archived]);
    (home, vec![goal, note, private, checkin])
}

/// Every read command the read model serves, for people and for programs.
fn read_commands(ids: &[String]) -> Vec<Vec<String>> {
    let (goal, note, private, checkin) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["plan"],
        vec!["goal", "list"],
        vec!["goal", "list", "--all"],
        vec!["goal", "show", goal],
        vec!["note", "list"],
        vec!["note", "list", "--all"],
        vec!["note", "show", note],
        vec!["note", "show", private],
        vec!["action", "list"],
        vec!["action", "list", "--open"],
        vec!["checkin", "list"],
        vec!["checkin", "show", checkin],
        vec!["resource", "list"],
    ];
    let json: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| std::iter::once("--json").chain(c.iter().copied()).collect())
        .collect();
    commands.extend(json);
    commands
        .into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect()
}

/// Run `f` on the home's store while no command runs.
fn with_store<T>(home: &Home, f: impl FnOnce(&SledStorage) -> T) -> T {
    let store = SledStorage::open(&home.store()).expect("the store opens");
    let out = f(&store);
    store.flush().unwrap();
    out
}

/// The keys of every read model in the home.
fn read_model_keys(home: &Home) -> Vec<Vec<u8>> {
    with_store(home, |store| store.scan_keys(b"view/").unwrap())
}

fn delete_read_models(home: &Home) {
    let keys = read_model_keys(home);
    with_store(home, |store| {
        store
            .apply(keys.into_iter().map(Write::Delete).collect())
            .unwrap()
    });
}

/// What every read command prints: as things are, or (`fresh`) from the document, the read model
/// deleted before each command.
fn outputs(home: &Home, ids: &[String], fresh: bool) -> Vec<String> {
    read_commands(ids)
        .iter()
        .map(|command| {
            if fresh {
                delete_read_models(home);
            }
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            format!("$ tandem {}\n{}", args.join(" "), home.ok(&args))
        })
        .collect()
}

fn assert_same(from_read_model: &[String], from_document: &[String]) {
    assert_eq!(from_read_model.len(), from_document.len());
    for (a, b) in from_read_model.iter().zip(from_document) {
        assert_eq!(a, b, "the read model and the document disagree");
    }
}

#[test]
fn reads_print_the_same_from_the_read_model_as_from_the_document() {
    let (home, ids) = workspace();
    assert!(
        !read_model_keys(&home).is_empty(),
        "the commands that wrote left a read model"
    );
    let cached = outputs(&home, &ids, false);
    let fresh = outputs(&home, &ids, true);
    assert_same(&cached, &fresh);
    assert!(cached[0].contains("Ship a Rust CLI") && cached[0].contains("OVERDUE"));
    // Deleted before the last command, it was rebuilt by it: the next reads find it again.
    assert!(!read_model_keys(&home).is_empty(), "rebuilt");
    assert_same(&outputs(&home, &ids, false), &fresh);

    // Goals added by the quick path reach the read model without a rebuild.
    for i in 0..3 {
        home.add(&["goal", "add", &format!("Quick goal {i}"), "--owner", "Ben"]);
    }
    home.add(&["note", "add", "A quick note"]);
    assert!(
        read_model_keys(&home)
            .iter()
            .any(|k| k.ends_with(b"/added")),
        "the quick path recorded what it added"
    );
    let cached = outputs(&home, &ids, false);
    assert!(cached[0].contains("Quick goal 2"), "{}", cached[0]);
    assert_same(&cached, &outputs(&home, &ids, true));
}

#[test]
fn a_damaged_read_model_is_rebuilt_silently() {
    let (home, ids) = workspace();
    let fresh = outputs(&home, &ids, true);
    // Every stored part of every read model overwritten with bytes that are not JSON.
    let keys = read_model_keys(&home);
    assert!(keys.iter().any(|k| k.windows(6).any(|w| w == b"/part/")));
    with_store(&home, |store| {
        let garbage = keys
            .iter()
            .map(|k| Write::Put(k.clone(), b"\xff\x00 not a read model".to_vec()))
            .collect();
        store.apply(garbage).unwrap();
    });
    assert_same(&outputs(&home, &ids, false), &fresh);
    // Cut short: the last part of each read model gone.
    with_store(&home, |store| {
        let parts: Vec<Vec<u8>> = store
            .scan_keys(b"view/")
            .unwrap()
            .into_iter()
            .filter(|k| k.windows(6).any(|w| w == b"/part/"))
            .collect();
        store
            .apply(vec![Write::Delete(parts.last().unwrap().clone())])
            .unwrap();
    });
    assert_same(&outputs(&home, &ids, false), &fresh);
}

#[test]
fn a_read_model_behind_the_document_is_rebuilt() {
    let (home, ids) = workspace();
    outputs(&home, &ids, false);
    // A goal arrives the way a sync merges changes: saved beside the chunks, without the read
    // model being touched.
    with_store(&home, |store| {
        let doc = docstore::list(store).unwrap();
        let doc = doc
            .iter()
            .find(|d| !d.starts_with("private"))
            .expect("the workspace");
        let (raw, mut state) = docstore::load(store, doc).unwrap().unwrap();
        let now = NOW.parse().unwrap();
        let mut ws = Workspace::open(raw, doc, now).unwrap();
        ws.add_goal(NewGoal {
            title: "Arrived from Ben".into(),
            ..Default::default()
        })
        .unwrap();
        docstore::save(store, doc, ws.doc_mut(), &mut state).unwrap();
    });
    let cached = outputs(&home, &ids, false);
    assert!(cached[0].contains("Arrived from Ben"), "{}", cached[0]);
    assert_same(&cached, &outputs(&home, &ids, true));
}
