//! End-to-end tests of relays belonging to workspaces: the real `tandem` and `tandem-server`
//! binaries on loopback ports, in temporary homes.
//!
//! A home's workspaces may sync with different relays (a mentor in two programs keeps each
//! program's plans on that program's relay): `sync --server` never moves a workspace bound to
//! another relay unless told to with `--move`, plain `sync` uses each workspace's own relay, and
//! `sync --watch` follows every workspace on every relay, picks up new ones, gives up on a relay
//! that refuses its token (only that one) and says who changed what. An observer syncs pull-only,
//! so changes it holds from a bundle never get it refused.

use serde_json::Value;
use std::time::Duration;
use tandem_tests::{has_goal, poll, text, Background, Home, Relay};

/// `tandem status --json`'s row for the workspace `id`.
fn status_of(home: &Home, id: &str) -> Value {
    let rows = home.json(&["status"]);
    rows.as_array()
        .expect("status is a list")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no status row for {id}: {rows}"))
        .clone()
}

/// The relay URL `status` shows for the workspace `id`.
fn relay_of(home: &Home, id: &str) -> String {
    text(&status_of(home, id), "relay").to_string()
}

/// Whether the relay holds everything of the workspace `id` (as far as this home knows).
fn fully_synced(home: &Home, id: &str) -> bool {
    status_of(home, id)["unsynced_changes"] == 0
}

/// The workspace ids a `sync --json` report sent to each relay, by relay URL.
fn synced_by_relay(report: &Value) -> Vec<(String, Vec<String>)> {
    report["relays"]
        .as_array()
        .unwrap_or_else(|| panic!("no relays in {report}"))
        .iter()
        .map(|r| {
            let ids = r["workspaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| text(w, "id").to_string())
                .collect();
            (text(r, "relay").to_string(), ids)
        })
        .collect()
}

/// Wait (at most 15 s) until `check` holds, or fail with the watcher's output.
fn eventually(watch: &mut Background, what: &str, mut check: impl FnMut() -> bool) {
    let done = poll(Duration::from_secs(15), || check().then_some(()));
    assert!(done.is_some(), "{what}\n{}", watch.log());
}

/// Ana mentors in two programs, each with its own relay: "Program A" syncs with `a`, and
/// "Program B" (current) with `b`. Returns (ana, id of A, id of B).
fn two_programs(a: &Relay, a_token: Option<&str>, b: &Relay) -> (Home, String, String) {
    let ana = Home::new();
    let first = ana.init("Program A", "Ana", "mentor");
    ana.add(&["goal", "add", "Plan of program A"]);
    let mut args = vec!["-q", "sync"];
    let a_url = a.url();
    args.extend(["--server", a_url.as_str()]);
    if let Some(t) = a_token {
        args.extend(["--token", t]);
    }
    ana.ok(&args);
    let second = ana.init("Program B", "Ana", "mentor");
    ana.add(&["goal", "add", "Plan of program B"]);
    let report = ana.json(&["sync", "--server", &b.url()]);
    // Only the current workspace went to B: Program A stays with A and is not sent to B.
    assert_eq!(
        synced_by_relay(&report),
        vec![(b.url(), vec![second.clone()])],
        "{report}"
    );
    (ana, first, second)
}

#[test]
fn sync_with_another_server_binds_only_the_current_workspace_and_move_moves_it() {
    let (a, b) = (Relay::start_open(), Relay::start_open());
    let (ana, first, second) = two_programs(&a, None, &b);
    assert_eq!(relay_of(&ana, &first), a.url());
    assert_eq!(relay_of(&ana, &second), b.url());

    // Plain sync: each workspace with its own relay, one report per relay.
    let mut plain = synced_by_relay(&ana.json(&["sync"]));
    plain.sort();
    let mut expected = vec![
        (a.url(), vec![first.clone()]),
        (b.url(), vec![second.clone()]),
    ];
    expected.sort();
    assert_eq!(plain, expected);

    // Naming Program A for relay B is refused in one line that says how to move it.
    let (code, stderr) = ana.fails(&["-w", "Program A", "sync", "--server", &b.url()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("syncs with relay") && stderr.contains("--move"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(relay_of(&ana, &first), a.url());

    // --move moves it, and says so.
    let out = ana
        .call()
        .run(&["-w", "Program A", "sync", "--server", &b.url(), "--move"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Moving"), "{stderr}");
    assert_eq!(relay_of(&ana, &first), b.url());
    assert!(fully_synced(&ana, &first));

    // -w names several workspaces for one sync; a third, on another relay, is left alone.
    let c = Relay::start_open();
    let third = ana.init("Program C", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &c.url()]);
    ana.add(&["-w", "Program A", "goal", "add", "More for A"]);
    ana.add(&["-w", "Program B", "goal", "add", "More for B"]);
    ana.add(&["-w", "Program C", "goal", "add", "More for C"]);
    let report = ana.json(&["-w", "Program A", "-w", "Program B", "sync"]);
    assert_eq!(
        synced_by_relay(&report),
        vec![(b.url(), vec![first.clone(), second.clone()])],
        "{report}"
    );
    assert!(fully_synced(&ana, &first) && fully_synced(&ana, &second));
    assert!(!fully_synced(&ana, &third));
    // Elsewhere, -w names one workspace.
    let (code, stderr) = ana.fails(&["-w", "Program A", "-w", "Program B", "goal", "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("only `tandem sync` takes several"),
        "{stderr}"
    );
}

#[test]
fn watch_picks_up_a_workspace_created_while_it_runs() {
    let relay = Relay::start_open();
    let ana = Home::new();
    ana.init("First", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    let mut watch = ana.spawn(&["sync", "--watch"]);
    poll(Duration::from_secs(10), || {
        watch.stderr().contains("Watching").then_some(())
    })
    .unwrap_or_else(|| panic!("the watch never started\n{}", watch.log()));

    let second = ana.init("Second", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    ana.add(&["-w", "Second", "goal", "add", "Written while watching"]);
    assert!(!fully_synced(&ana, &second));
    eventually(
        &mut watch,
        "the watch never synced the new workspace",
        || fully_synced(&ana, &second),
    );
    assert!(watch.running());
    assert!(watch.stop_with("INT").success(), "{}", watch.log());
}

#[test]
fn watch_gives_up_on_a_relay_that_refuses_its_token_and_keeps_the_others() {
    let (a, b) = (Relay::start(), Relay::start_open());
    let token = a.token(&["--all", "--role", "write", "--label", "ana-laptop"]);
    let (ana, _first, second) = two_programs(&a, Some(&token), &b);
    let id = a.token_id("ana-laptop");
    assert!(a.token_cmd(&["revoke", &id]).status.success());

    let mut watch = ana.spawn(&["sync", "--watch"]);
    ana.add(&["-w", "Program B", "goal", "add", "Still syncing with B"]);
    eventually(&mut watch, "relay B stopped with relay A", || {
        fully_synced(&ana, &second)
    });
    // Long enough for several retries with the watch's backoff (0.5 s, 1 s, 2 s, …).
    std::thread::sleep(Duration::from_secs(5));
    let log = watch.stderr();
    assert_eq!(
        log.matches("refused the token").count(),
        1,
        "one message, no retries:\n{}",
        watch.log()
    );
    assert!(log.contains("Program A"), "{log}");
    assert!(watch.running(), "{}", watch.log());
    assert!(watch.stop_with("INT").success(), "{}", watch.log());
}

#[test]
fn watch_says_who_changed_what_where() {
    let relay = Relay::start_open();
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    let ben = Home::new();
    let stick = ana.bundle("for-ben");
    ben.ok(&[
        "bundle",
        "import",
        stick.to_str().unwrap(),
        "--name",
        "Ben",
        "--role",
        "mentee",
    ]);
    ben.ok(&["-q", "sync", "--server", &relay.url()]);

    let mut watch = ben.spawn(&["sync", "--watch"]);
    poll(Duration::from_secs(10), || {
        watch.stderr().contains("Watching").then_some(())
    })
    .unwrap_or_else(|| panic!("the watch never started\n{}", watch.log()));
    ana.ok(&["goal", "set", &goal, "--status", "active"]);
    ana.add(&["goal", "add", "Give a talk"]);
    ana.ok(&["-q", "sync"]);
    let said = poll(Duration::from_secs(15), || {
        let out = watch.stdout();
        (out.contains("Ana changed goal 'Ship a Rust CLI' in 'Ana & Ben'")
            && out.contains("Ana added goal 'Give a talk' in 'Ana & Ben'"))
        .then_some(())
    });
    assert!(
        said.is_some(),
        "the watch did not say who changed what\n{}",
        watch.log()
    );
    assert!(watch.stop_with("INT").success(), "{}", watch.log());
}

#[test]
fn an_observer_holding_unsynced_changes_from_a_bundle_keeps_receiving_updates() {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write", "--label", "Ana"]);
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["sync", "--server", &relay.url(), "--token", &token]);
    let invite = |args: &[&str]| {
        let mut all = vec!["-q", "invite"];
        all.extend_from_slice(args);
        ana.ok(&all).trim().to_string()
    };
    let cora = Home::new();
    cora.ok(&["join", &invite(&["--role", "observer", "--name", "Cora"])]);
    let ben = Home::new();
    ben.ok(&["join", &invite(&["--role", "mentee"]), "--name", "Ben"]);

    // Ana hands Cora a bundle holding a goal she has not synced yet.
    ana.add(&["goal", "add", "Not on the relay yet"]);
    let stick = ana.bundle("for-cora");
    cora.ok(&["bundle", "import", stick.to_str().unwrap()]);
    assert!(has_goal(&cora, "Not on the relay yet"));

    // Ben's later goal still reaches Cora, and her sync never tries to push Ana's goal.
    ben.add(&["goal", "add", "From Ben"]);
    ben.ok(&["-q", "sync"]);
    cora.ok(&["-q", "sync"]);
    assert!(has_goal(&cora, "From Ben"));
    assert!(has_goal(&cora, "Not on the relay yet"));
    ben.add(&["goal", "add", "From Ben, later"]);
    ben.ok(&["-q", "sync"]);
    cora.ok(&["-q", "sync"]);
    assert!(has_goal(&cora, "From Ben, later"));

    // The relay got Ana's goal from Ana only, once she synced.
    ben.ok(&["-q", "sync"]);
    assert!(!has_goal(&ben, "Not on the relay yet"));
    ana.ok(&["-q", "sync"]);
    ben.ok(&["-q", "sync"]);
    assert!(has_goal(&ben, "Not on the relay yet"));
}
