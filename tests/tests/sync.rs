//! End-to-end tests of syncing through the relay: the real `tandem` and `tandem-server` binaries,
//! on loopback ports, in temporary homes and data directories.
//!
//! Themes, in order: two people converge through a token-protected relay; the relay restarts
//! and crashes without losing acknowledged changes; access (read-only, revoked tokens); a late
//! device; an unreachable relay; `status`; `sync --watch`; `tandem demo`. Every test starts its
//! own relay, so they run in parallel, and every process is killed when its test ends.

use serde_json::Value;
use std::time::Duration;
use tandem_tests::{
    conflict_values, edit_the_meeting_note_and_goal_status_apart, failed_sync, goal_titles,
    has_goal, poll, text, Home, Relay, MEETING_NOTE, MEETING_NOTE_MERGED, NOW,
};

// ----- helpers -----

/// The names of a workspace's participants, sorted.
fn participant_names(export: &Value) -> Vec<String> {
    let mut names: Vec<String> = export["participants"]
        .as_array()
        .unwrap_or_else(|| panic!("no participants in {export}"))
        .iter()
        .map(|p| text(p, "name").to_string())
        .collect();
    names.sort();
    names
}

/// `tandem status --json` of the current (only) workspace.
fn status(home: &Home) -> Value {
    let rows = home.json(&["status"]);
    let rows = rows.as_array().expect("status is a list");
    assert_eq!(rows.len(), 1, "one workspace: {rows:?}");
    rows[0].clone()
}

/// The number of changes `status` says are not yet on the relay.
fn unsynced(home: &Home) -> u64 {
    status(home)["unsynced_changes"]
        .as_u64()
        .expect("unsynced_changes is a number")
}

/// An invite code from `home` for `role`.
fn invite(home: &Home, role: &str) -> String {
    home.ok(&["-q", "invite", "--role", role])
        .trim()
        .to_string()
}

/// A link `home` makes for an observer it names.
fn observer_invite(home: &Home, name: &str) -> String {
    home.ok(&["-q", "invite", "--role", "observer", "--name", name])
        .trim()
        .to_string()
}

/// A new home that joins `from`'s current workspace with an invite for `role`, as `name`.
fn joined(from: &Home, role: &str, name: &str) -> Home {
    let home = Home::new();
    home.ok(&["join", &invite(from, role), "--name", name]);
    home
}

/// Sync `home` with `relay` at its current address, moving the workspace there, as a device
/// must once the relay has restarted on a new port.
fn sync_at_the_relays_new_address(home: &Home, relay: &Relay, token: &str) {
    home.ok(&["sync", "--server", &relay.url(), "--token", token, "--move"]);
}

/// A relay that needs tokens, a write token for every workspace, and Ana's workspace on it with
/// a goal; Ben joined it with an invite. Returns (relay, token, ana, ben).
fn pair_on_relay() -> (Relay, String, Home, Home) {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write", "--label", "Ana"]);
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI", "--due", "2026-12-20"]);
    ana.ok(&["sync", "--server", &relay.url(), "--token", &token]);
    let ben = joined(&ana, "mentee", "Ben");
    (relay, token, ana, ben)
}

// ----- two people, one relay -----

#[test]
fn mentor_and_mentee_converge_through_a_token_protected_relay_after_offline_edits() {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write"]);
    let ana = Home::new();
    let ws = ana.init("Ana & Ben", "Ana", "mentor");
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI", "--due", "2026-12-20"]);
    let note = ana.add(&["note", "add", MEETING_NOTE]);
    ana.ok(&["sync", "--server", &relay.url(), "--token", &token]);

    // Ben joins with an invite: its link names the relay, and its code is exchanged there for a
    // token for this workspace.
    let code = invite(&ana, "mentee");
    assert!(
        code.starts_with("http://127.0.0.1:") && code.contains("/j/"),
        "{code}"
    );
    let ben = Home::new();
    let joined = ben.ok(&["join", &code, "--name", "Ben"]);
    assert!(joined.contains("Ben"), "{joined}");
    assert_eq!(ben.json(&["workspaces"])[0]["id"], ws.as_str());
    assert_eq!(
        ben.json(&["goal", "show", &goal])["title"],
        "Ship a Rust CLI"
    );

    // Offline, concurrently: the same note body edited in different places, the same goal's
    // status set to different values, and new goals on both sides.
    edit_the_meeting_note_and_goal_status_apart(&ana, &ben, &note, &goal);
    let new_goals = [
        ana.add(&["goal", "add", "Give a talk"]),
        ben.add(&["goal", "add", "Write a blog post"]),
        ben.add(&["goal", "add", "Mentor a newcomer"]),
    ];

    // Ana pushes, Ben pushes and pulls, Ana pulls. No --server: both remember the relay.
    ana.ok(&["sync"]);
    let report = ben.json(&["sync"]);
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["relays"][0]["workspaces"][0]["received"]
            .as_u64()
            .unwrap()
            > 0,
        "Ben received Ana's changes: {report}"
    );
    ana.ok(&["sync"]);

    let export = ana.export_json();
    assert_eq!(export, ben.export_json(), "the two homes differ after sync");
    let body = text(&ana.json(&["note", "show", &note]), "body").to_string();
    assert_eq!(body, MEETING_NOTE_MERGED, "both note edits are kept");
    for id in &new_goals {
        ana.json(&["goal", "show", id]);
    }
    assert_eq!(participant_names(&export), ["Ana", "Ben"]);
    let conflicts = ana.json(&["conflicts"]);
    assert_eq!(conflicts, ben.json(&["conflicts"]));
    assert_eq!(
        conflict_values(&conflicts, &goal, "status"),
        [
            ("active".to_string(), "Ana".to_string()),
            ("done".to_string(), "Ben".to_string())
        ],
        "{conflicts}"
    );
    assert_eq!(unsynced(&ana), 0);
    assert_eq!(unsynced(&ben), 0);
}

// ----- the relay goes away and comes back -----

#[test]
fn relay_restarts_and_crashes_lose_nothing_it_acknowledged() {
    let (mut relay, token, ana, ben) = pair_on_relay();

    // A graceful restart between syncs: the port changes, the data stays. A new address is
    // another relay as far as a device can tell, so each sync moves the workspace there.
    ana.add(&["goal", "add", "Before the restart"]);
    ana.ok(&["sync"]);
    relay.restart();
    sync_at_the_relays_new_address(&ben, &relay, &token);
    assert!(
        has_goal(&ben, "Before the restart"),
        "{:?}",
        goal_titles(&ben)
    );

    ben.add(&["goal", "add", "From Ben, before another restart"]);
    ben.ok(&["sync"]);
    relay.restart();
    sync_at_the_relays_new_address(&ana, &relay, &token);
    assert!(has_goal(&ana, "From Ben, before another restart"));

    // SIGKILL right after `tandem sync` said the relay has it: acknowledged means durable.
    ana.add(&["goal", "add", "Acknowledged before the crash"]);
    ana.add(&["note", "add", "A note the relay must keep"]);
    let report = ana.json(&["sync"]);
    assert_eq!(
        report["relays"][0]["workspaces"][0]["relay_has_everything"], true,
        "{report}"
    );
    relay.crash_and_restart();
    // Ben fetches from the restarted relay; Ana does not sync first, so only what the relay
    // stored before the crash can reach him.
    sync_at_the_relays_new_address(&ben, &relay, &token);
    assert!(
        has_goal(&ben, "Acknowledged before the crash"),
        "lost in the crash: {:?}\n{}",
        goal_titles(&ben),
        relay.log()
    );
    let notes = ben.json(&["note", "list"]);
    assert!(
        notes.to_string().contains("A note the relay must keep"),
        "{notes}"
    );
    sync_at_the_relays_new_address(&ana, &relay, &token);
    assert_eq!(ana.export_json(), ben.export_json());
}

// ----- access -----

#[test]
fn a_read_only_token_fetches_but_its_changes_are_refused_and_kept_locally() {
    let (relay, _token, ana, _ben) = pair_on_relay();

    // Cora, a coordinator, joins with an observer invite (a read-only token). Whatever the
    // exit code of this first join (see `an_observer_joins_and_syncs_without_errors`), she
    // fetched the workspace.
    let cora = Home::new();
    cora.run(&["join", &observer_invite(&ana, "Cora")]);
    assert!(
        has_goal(&cora, "Ship a Rust CLI"),
        "{:?}",
        goal_titles(&cora)
    );

    // A later change of Ana's reaches her too, with an operator-made read token for everything.
    let read = relay.token(&["--all", "--role", "read", "--label", "coordinator"]);
    ana.add(&["goal", "add", "Second goal"]);
    ana.ok(&["sync"]);
    cora.run(&["-q", "sync", "--server", &relay.url(), "--token", &read]);
    assert!(has_goal(&cora, "Second goal"), "{:?}", goal_titles(&cora));

    // As an observer her device refuses changes to the shared plan at once, in one line.
    let (code, stderr) = cora.fails(&["goal", "add", "Written by the observer"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(!has_goal(&cora, "Written by the observer"));
    // Private notes still work for her.
    cora.ok(&["note", "add", "--private", "Check in with Ana about pacing"]);

    // The relay enforces the same: Eve got the plan on a USB stick and made changes, but she
    // only has the read token. Her sync is refused in one line and her change stays with her.
    let eve = Home::new();
    let stick = ana.bundle("for-eve");
    eve.ok(&[
        "bundle",
        "import",
        stick.to_str().unwrap(),
        "--name",
        "Eve",
        "--role",
        "mentor",
    ]);
    eve.add(&["goal", "add", "Written by the observer"]);
    let line = failed_sync(&eve, &["--server", &relay.url(), "--token", &read]);
    assert!(line.contains("read-only"), "{line}");
    assert!(has_goal(&eve, "Written by the observer"));
    assert!(unsynced(&eve) > 0, "{}", status(&eve));

    // The relay does not have it: a device joining now sees Ana's goals and nothing of Cora's.
    let dan = joined(&ana, "mentor", "Dan");
    let titles = goal_titles(&dan);
    assert!(titles.contains(&"Second goal".to_string()), "{titles:?}");
    assert!(
        !titles.contains(&"Written by the observer".to_string()),
        "the relay stored a read-only change: {titles:?}"
    );
    // Cora is listed because Ana listed her when inviting her; Eve, who wrote her own entry
    // with a read-only token, is not.
    let names = participant_names(&dan.export_json());
    assert!(
        names.contains(&"Cora".to_string()) && !names.contains(&"Eve".to_string()),
        "the relay stored a read-only participant: {names:?}"
    );
}

#[test]
fn an_observer_joins_and_syncs_without_errors() {
    let (_relay, _token, ana, _ben) = pair_on_relay();
    let cora = Home::new();
    cora.ok(&["join", &observer_invite(&ana, "Cora")]);
    ana.add(&["goal", "add", "Second goal"]);
    ana.ok(&["sync"]);
    cora.ok(&["sync"]);
    assert!(has_goal(&cora, "Second goal"));
}

#[test]
fn a_revoked_token_is_turned_away_and_local_changes_are_kept() {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write", "--label", "ana-laptop"]);
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.ok(&["sync", "--server", &relay.url(), "--token", &token]);

    let id = relay.token_id("ana-laptop");
    assert!(
        !relay.tokens().to_string().contains(&token),
        "tokens are stored hashed"
    );
    let out = relay.token_cmd(&["revoke", &id]);
    assert!(out.status.success(), "{out:?}");

    ana.add(&["goal", "add", "Written after the revocation"]);
    let line = failed_sync(&ana, &[]);
    assert!(line.to_lowercase().contains("token"), "{line}");
    assert!(has_goal(&ana, "Written after the revocation"));
    assert!(unsynced(&ana) > 0, "{}", status(&ana));

    // With a new token from the operator the same device catches up.
    let fresh = relay.token(&["--all", "--role", "write"]);
    ana.ok(&["-q", "sync", "--token", &fresh]);
    assert_eq!(unsynced(&ana), 0);
}

// ----- devices -----

#[test]
fn a_device_that_joins_late_receives_everything() {
    let (_relay, _token, ana, ben) = pair_on_relay();
    let goal = ana.json(&["goal", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ana.add(&["milestone", "add", &goal, "Read the book"]);
    ana.add(&["note", "add", "--goal", &goal, "Start with clap."]);
    let checkin = ben.add(&[
        "checkin",
        "add",
        "--at",
        "2026-11-20 15:00",
        "--agenda",
        "PR",
    ]);
    ben.ok(&["checkin", "rate", &checkin, "4", "--comment", "useful"]);
    ben.add(&["action", "add", "Open the PR", "--due", "2026-11-25"]);
    ben.add(&[
        "resource",
        "add",
        "The Book",
        "https://doc.rust-lang.org/book/",
    ]);
    ana.ok(&["-q", "sync"]);
    ben.ok(&["-q", "sync"]);
    ana.ok(&["-q", "sync"]);

    // Ana's second device joins as Ana, through her device invite: it gets everything and is
    // added to her devices.
    let laptop = Home::new();
    laptop.ok(&["join", ana.ok(&["-q", "invite", "--device"]).trim()]);
    ana.ok(&["-q", "sync"]);
    ben.ok(&["-q", "sync"]);
    let export = laptop.export_json();
    assert_eq!(export, ana.export_json());
    assert_eq!(export, ben.export_json());
    assert_eq!(participant_names(&export), ["Ana", "Ben"]);
    let ana_record = export["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Ana")
        .unwrap();
    assert_eq!(ana_record["devices"].as_array().unwrap().len(), 2);
    for list in [
        ["checkin", "list"],
        ["action", "list"],
        ["resource", "list"],
        ["note", "list"],
    ] {
        assert_eq!(laptop.json(&list).as_array().unwrap().len(), 1, "{list:?}");
    }
}

// ----- no relay -----

/// The URL of a loopback port that was free a moment ago (bound, noted, released), where
/// nothing listens.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("ws://127.0.0.1:{port}")
}

#[test]
fn sync_with_nothing_listening_fails_in_one_line_and_keeps_everything() {
    let url = dead_url();
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Written offline"]);
    let before = ana.export_json();

    let line = failed_sync(&ana, &["--server", &url, "--timeout", "5"]);
    assert!(line.starts_with("tandem: cannot reach the relay"), "{line}");
    assert_eq!(
        ana.export_json(),
        before,
        "a failed sync changed the workspace"
    );
    let st = status(&ana);
    assert_eq!(st["last_sync"], Value::Null, "{st}");
    assert!(unsynced(&ana) > 0, "{st}");
    let human = ana.ok(&["status"]);
    assert!(human.contains("last sync: never"), "{human}");

    // Without --quiet the error is still the last line, after the progress line.
    let (code, stderr) = ana.fails(&["sync", "--server", &url, "--timeout", "5"]);
    assert_eq!(code, 1);
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("tandem: cannot reach the relay"),
        "{stderr}"
    );
}

#[test]
fn a_failed_sync_to_a_wrong_address_does_not_forget_the_token() {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write"]);
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &relay.url(), "--token", &token]);
    // --move, so the sync really tries the wrong address (without it, it is refused at once).
    let line = failed_sync(&ana, &["--server", &dead_url(), "--move", "--timeout", "5"]);
    assert!(line.contains("cannot reach"), "{line}");
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
}

#[test]
fn status_shows_relay_last_sync_and_unsynced_changes() {
    let relay = Relay::start_open();
    let ana = Home::new();
    let ws = ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "First"]);
    let before = status(&ana);
    assert_eq!(before["id"], ws.as_str());
    assert_eq!(before["relay"], Value::Null, "{before}");
    assert_eq!(before["last_sync"], Value::Null, "{before}");
    assert!(
        before["unsynced_changes"].as_u64().unwrap() >= 2,
        "{before}"
    );

    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    let after = status(&ana);
    assert_eq!(after["relay"], relay.url().as_str(), "{after}");
    assert_eq!(after["last_sync"], NOW, "{after}");
    assert_eq!(after["unsynced_changes"], 0, "{after}");

    ana.add(&["goal", "add", "Second"]);
    assert_eq!(unsynced(&ana), 1);
    let human = ana.ok(&["status"]);
    assert!(human.contains(&relay.url()), "{human}");
    assert!(human.contains("changes not yet on the relay: 1"), "{human}");
}

// ----- watching -----

#[test]
fn watch_mode_carries_changes_to_the_partner_while_other_commands_keep_working() {
    let (_relay, _token, ana, ben) = pair_on_relay();
    let mut watch_ana = ana.spawn(&["sync", "--watch"]);
    let mut watch_ben = ben.spawn(&["sync", "--watch"]);

    // Ana keeps working while her watcher runs; the goal reaches Ben without any command.
    let goal = ana.add(&["goal", "add", "Added while watching"]);
    ana.ok(&["goal", "set", &goal, "--status", "active"]);
    ana.ok(&["plan"]);
    ana.ok(&["goal", "list"]);
    let arrived = poll(Duration::from_secs(10), || {
        ben.json(&["goal", "list"])
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["title"] == "Added while watching" && g["status"] == "active")
            .then_some(())
    });
    assert!(
        arrived.is_some(),
        "Ben never received the goal\n{}\n{}",
        watch_ana.log(),
        watch_ben.log()
    );

    // And back.
    ben.add(&["goal", "add", "Ben's answer"]);
    let back = poll(Duration::from_secs(10), || {
        has_goal(&ana, "Ben's answer").then_some(())
    });
    assert!(
        back.is_some(),
        "Ana never received Ben's goal\n{}\n{}",
        watch_ana.log(),
        watch_ben.log()
    );
    assert!(watch_ana.running() && watch_ben.running());
    for watcher in [&mut watch_ana, &mut watch_ben] {
        let exit = watcher.stop_with("INT");
        assert!(exit.success(), "{exit:?}\n{}", watcher.log());
    }
    assert_eq!(ana.export_json(), ben.export_json());
}

// ----- the demo -----

#[test]
fn demo_runs_the_whole_story() {
    let home = Home::new();
    let out = home.ok(&["demo"]);
    assert!(out.contains("Nothing was lost"), "{out}");
}
