//! End-to-end tests of the offline workspace: the real `tandem` binary in temporary homes.
//!
//! Themes, in order: the README tour, convergence of two devices exchanging bundles, private
//! notes, bad input (which must fail with exit code 1, one line on stderr, and no damage), and
//! usage errors (exit code 2). Every test makes its own homes, so they run in parallel.

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use tandem_core::automerge::{self, transaction::Transactable, AutoCommit, ROOT};
use tandem_core::model::{Role, Workspace};
use tandem_core::store::Bundle;
use tandem_tests::{
    add_the_rust_cli_goal, assert_one_line, conflict_values, edit_the_meeting_note_apart, exchange,
    pair, path_str, tandem, text, usage_error, user_error, Home, ANAS_NOTE_EDIT, BENS_NOTE_EDIT,
    MEETING_NOTE, MEETING_NOTE_MERGED, NOW,
};

// ----- helpers -----

/// The `id` of every object in a JSON array, in order.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .expect("every item has an id")
                .to_string()
        })
        .collect()
}

/// The first `n` characters of an id, as a person would type it.
fn prefix(id: &str, n: usize) -> &str {
    &id[..n]
}

/// A home's workspace as exported before a run of rejected commands, to prove afterwards that
/// none of them changed anything (a rejected command that half-wrote would show up here).
struct Guarded<'h> {
    home: &'h Home,
    before: Value,
}

impl<'h> Guarded<'h> {
    fn new(home: &'h Home) -> Self {
        Self {
            home,
            before: home.export_json(),
        }
    }

    fn assert_undamaged(&self) {
        assert_eq!(
            self.home.export_json(),
            self.before,
            "a rejected command changed the workspace"
        );
    }
}

/// Write `bundle` into `home`'s directory as a file and return its path.
fn write_bundle(home: &Home, name: &str, bundle: &Bundle) -> std::path::PathBuf {
    let file = home.file(name);
    std::fs::write(&file, bundle.encode()).expect("cannot write the bundle");
    file
}

/// Read a bundle file back with tandem-core, to tamper with it.
fn read_bundle(file: &Path) -> Bundle {
    Bundle::decode(&std::fs::read(file).expect("cannot read the bundle")).expect("a valid bundle")
}

/// The pinned clock as a timestamp, for documents built directly with tandem-core.
fn now() -> tandem_core::jiff::Timestamp {
    NOW.parse().expect("NOW is RFC 3339")
}

// ----- the README tour -----

/// The tour's workspace: a goal with two milestones (one done), notes, a rated check-in, three
/// actions (one done, one overdue against the pinned clock) and a resource.
struct Tour {
    home: Home,
    goal: String,
    overdue: String,
    upcoming: String,
    finished: String,
    checkin: String,
}

fn tour() -> Tour {
    let home = Home::new();
    home.init("Ana & Ben — backend growth", "Ana", "mentor");
    let goal = add_the_rust_cli_goal(&home);
    let read = home.add(&["milestone", "add", prefix(&goal, 4), "Read the book"]);
    home.add(&[
        "milestone",
        "add",
        &goal,
        "Write the parser",
        "--due",
        "2026-12-10",
    ]);
    home.ok(&["milestone", "done", prefix(&goal, 5), prefix(&read, 4)]);
    home.add(&[
        "note",
        "add",
        "--goal",
        prefix(&goal, 6),
        "Start with clap's derive API.",
    ]);
    home.with_stdin("Notes from the train:\nread chapter 9 today\n")
        .ok(&["-q", "note", "add", "--title", "From stdin", "-"]);
    let checkin = home.add(&[
        "checkin",
        "add",
        "--at",
        "2026-11-20 15:00",
        "--agenda",
        "Review the first PR",
    ]);
    home.ok(&[
        "checkin",
        "rate",
        prefix(&checkin, 4),
        "4",
        "--comment",
        "useful",
    ]);
    let overdue = home.add(&[
        "action",
        "add",
        "Open the PR",
        "--due",
        "2026-11-25",
        "--owner",
        "Ana",
    ]);
    let upcoming = home.add(&["action", "add", "Read chapter 10", "--due", "2026-12-05"]);
    let finished = home.add(&["action", "add", "Install rustup", "--goal", &goal]);
    home.ok(&["action", "done", prefix(&finished, 4)]);
    home.ok(&[
        "resource",
        "add",
        "The Rust Book",
        "https://doc.rust-lang.org/book/",
        "--note",
        "ch. 9",
    ]);
    Tour {
        home,
        goal,
        overdue,
        upcoming,
        finished,
        checkin,
    }
}

#[test]
fn init_prints_the_workspace_id_and_lists_it_as_current_with_its_automerge_url() {
    let home = Home::new();
    let id = home.init("Ana & Ben", "Ana", "mentor");
    let list = home.json(&["workspaces"]);
    assert_eq!(ids(&list), [id.as_str()]);
    assert_eq!(list[0]["current"], true);
    assert_eq!(text(&list[0], "url"), format!("automerge:{id}"));
    assert_eq!(text(&list[0], "title"), "Ana & Ben");
}

#[test]
fn plan_shows_goals_with_milestone_progress_and_overdue_actions() {
    let t = tour();
    let plan = t.home.ok(&["plan"]);
    for expected in [
        "Ana & Ben — backend growth",
        "Ship a Rust CLI",
        "1/2",
        "Open the PR",
        "OVERDUE",
        "Read chapter 10",
        "Review the first PR",
    ] {
        assert!(plan.contains(expected), "plan lacks {expected:?}:\n{plan}");
    }
    assert!(
        !plan.contains("Install rustup"),
        "a done action is not open:\n{plan}"
    );
    let overdue_lines: Vec<&str> = plan.lines().filter(|l| l.contains("OVERDUE")).collect();
    assert_eq!(
        overdue_lines.len(),
        1,
        "only one action is overdue:\n{plan}"
    );
    assert!(overdue_lines[0].contains("Open the PR"));
}

#[test]
fn plan_json_has_the_goals_actions_and_check_ins() {
    let t = tour();
    let plan = t.home.json(&["plan"]);
    assert_eq!(text(&plan, "title"), "Ana & Ben — backend growth");
    let goal = &plan["goals"][0];
    assert_eq!(text(goal, "id"), t.goal);
    assert_eq!(text(goal, "status"), "open");
    assert_eq!(text(goal, "due"), "2026-12-20");
    assert_eq!(text(goal, "owner"), "Ana");
    let done: Vec<bool> = goal["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["done"].as_bool().unwrap())
        .collect();
    assert_eq!(done.iter().filter(|d| **d).count(), 1, "{goal}");
    assert_eq!(done.len(), 2);
    let mut open = ids(&plan["open_actions"]);
    open.sort();
    let mut expected = vec![t.overdue.clone(), t.upcoming.clone()];
    expected.sort();
    assert_eq!(open, expected);
    assert_eq!(ids(&plan["overdue_actions"]), [t.overdue.as_str()]);
    assert_eq!(text(&plan["last_checkin"], "id"), t.checkin);
    assert!(plan["next_checkin"].is_null());
    assert_eq!(plan["conflicts"], 0);
    assert!(plan["unsynced_changes"].as_u64().unwrap() > 0);
    assert_eq!(text(&plan["participants"][0], "name"), "Ana");
    assert_eq!(text(&plan["participants"][0], "role"), "mentor");
}

#[test]
fn action_list_filters_open_and_overdue_items() {
    let t = tour();
    let all = ids(&t.home.json(&["action", "list"]));
    assert_eq!(all.len(), 3);
    for id in [&t.overdue, &t.upcoming, &t.finished] {
        assert!(all.contains(id));
    }
    let open = ids(&t.home.json(&["action", "list", "--open"]));
    assert_eq!(open.len(), 2);
    assert!(!open.contains(&t.finished));
    assert_eq!(
        ids(&t.home.json(&["action", "list", "--overdue"])),
        [t.overdue.as_str()]
    );
    let text_list = t.home.ok(&["action", "list", "--overdue"]);
    assert!(text_list.contains("Open the PR") && !text_list.contains("Read chapter 10"));

    // Reopening a done action makes it open again; it has no due date, so it is not overdue.
    t.home.ok(&["action", "reopen", &t.finished]);
    assert_eq!(ids(&t.home.json(&["action", "list", "--open"])).len(), 3);
    assert_eq!(
        t.home
            .json(&["action", "list", "--overdue"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn milestones_are_marked_done_by_id_prefixes() {
    let t = tour();
    let goal = t.home.json(&["goal", "show", prefix(&t.goal, 3)]);
    let milestones = goal["milestones"].as_array().unwrap();
    let read = milestones
        .iter()
        .find(|m| m["title"] == "Read the book")
        .unwrap();
    let parser = milestones
        .iter()
        .find(|m| m["title"] == "Write the parser")
        .unwrap();
    assert_eq!(read["done"], true);
    assert_eq!(parser["done"], false);
    assert_eq!(text(parser, "due"), "2026-12-10");

    t.home.ok(&[
        "milestone",
        "done",
        prefix(&t.goal, 4),
        prefix(text(parser, "id"), 4),
    ]);
    let shown = t.home.ok(&["goal", "show", &t.goal]);
    assert!(shown.contains("2/2"), "{shown}");
    t.home.ok(&["milestone", "undo", &t.goal, text(read, "id")]);
    assert!(t.home.ok(&["plan"]).contains("1/2"));
}

#[test]
fn notes_are_added_from_an_argument_or_from_standard_input() {
    let t = tour();
    let notes = t.home.json(&["note", "list"]);
    let notes = notes.as_array().unwrap();
    assert_eq!(notes.len(), 2);
    let from_arg = notes
        .iter()
        .find(|n| n["body"] == "Start with clap's derive API.")
        .unwrap();
    assert_eq!(text(from_arg, "goal"), t.goal);
    assert_eq!(text(from_arg, "created_by_name"), "Ana");
    let from_stdin = notes.iter().find(|n| n["title"] == "From stdin").unwrap();
    let body = text(from_stdin, "body");
    assert!(
        body.starts_with("Notes from the train:\nread chapter 9 today"),
        "stdin body: {body:?}"
    );
    let shown = t
        .home
        .ok(&["note", "show", prefix(text(from_stdin, "id"), 5)]);
    assert!(shown.contains("read chapter 9 today"), "{shown}");
}

#[test]
fn check_ins_record_time_agenda_and_one_rating_per_person() {
    let t = tour();
    let checkin = t.home.json(&["checkin", "show", &t.checkin]);
    assert_eq!(text(&checkin, "at"), "2026-11-20T15:00:00Z");
    assert_eq!(text(&checkin, "agenda"), "Review the first PR");
    assert_eq!(checkin["ratings"].as_array().unwrap().len(), 1);
    assert_eq!(checkin["ratings"][0]["rating"], 4);
    assert_eq!(text(&checkin["ratings"][0], "comment"), "useful");
    assert_eq!(text(&checkin["ratings"][0], "name"), "Ana");

    // Rating again replaces the person's rating rather than adding a second one.
    t.home.ok(&["checkin", "rate", &t.checkin, "5"]);
    let checkin = t.home.json(&["checkin", "show", &t.checkin]);
    assert_eq!(checkin["ratings"].as_array().unwrap().len(), 1);
    assert_eq!(checkin["ratings"][0]["rating"], 5);
}

#[test]
fn check_in_local_times_are_read_in_the_local_time_zone() {
    let home = Home::new();
    home.init("Zones", "Ana", "mentor");
    let id = home.call().env("TZ", "Europe/Berlin").ok(&[
        "-q",
        "checkin",
        "add",
        "--at",
        "2026-11-20 15:00",
    ]);
    let checkin = home.json(&["checkin", "show", id.trim()]);
    assert_eq!(text(&checkin, "at"), "2026-11-20T14:00:00Z");
    let rfc = home.add(&["checkin", "add", "--at", "2026-12-01T09:30:00+02:00"]);
    assert_eq!(
        text(&home.json(&["checkin", "show", &rfc]), "at"),
        "2026-12-01T07:30:00Z"
    );
}

#[test]
fn goal_descriptions_and_check_in_notes_are_edited_in_the_editor() {
    let t = tour();
    t.home.ok(&[
        "goal",
        "set",
        &t.goal,
        "--description",
        "Ship it by December.",
    ]);
    t.home
        .with_editor("sed -i 's/December/mid December/'")
        .ok(&["goal", "edit", prefix(&t.goal, 4)]);
    let goal = t.home.json(&["goal", "show", &t.goal]);
    assert_eq!(text(&goal, "description"), "Ship it by mid December.");

    t.home
        .with_editor("printf 'Went well.\\n' >")
        .ok(&["checkin", "edit", &t.checkin]);
    let checkin = t.home.json(&["checkin", "show", &t.checkin]);
    assert_eq!(text(&checkin, "notes").trim_end(), "Went well.");
}

#[test]
fn a_failing_editor_leaves_the_text_unchanged() {
    let t = small();
    let note = t.home.add(&["note", "add", "Keep me as I am."]);
    let guard = Guarded::new(&t.home);
    let stderr = user_error(&t.home, &["note", "edit", &note]);
    assert!(stderr.contains("editor"), "{stderr}");
    guard.assert_undamaged();
    let shown = t.home.json(&["note", "show", &note]);
    assert_eq!(text(&shown, "body"), "Keep me as I am.");
}

#[test]
fn goal_set_changes_fields_and_goal_list_filters_by_status() {
    let t = tour();
    let other = t.home.add(&["goal", "add", "Give a talk"]);
    t.home.ok(&[
        "goal",
        "set",
        prefix(&other, 5),
        "--status",
        "active",
        "--title",
        "Give a lightning talk",
    ]);
    assert_eq!(
        ids(&t.home.json(&["goal", "list", "--status", "active"])),
        [other.as_str()]
    );
    assert_eq!(
        ids(&t.home.json(&["goal", "list", "--status", "open"])),
        [t.goal.as_str()]
    );
    t.home.ok(&["goal", "archive", &other]);
    assert_eq!(ids(&t.home.json(&["goal", "list"])), [t.goal.as_str()]);
    assert_eq!(
        t.home
            .json(&["goal", "list", "--all"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    t.home.ok(&["goal", "restore", &other]);
    let restored = t.home.json(&["goal", "show", &other]);
    assert_eq!(text(&restored, "title"), "Give a lightning talk");
    assert_eq!(restored["archived"], false);
}

#[test]
fn write_commands_print_the_changed_item_as_json() {
    let home = Home::new();
    home.init("JSON", "Ana", "mentor");
    let goal = home.json(&["goal", "add", "Learn async", "--due", "2027-01-31"]);
    let id = text(&goal, "id").to_string();
    assert_eq!(text(&goal, "title"), "Learn async");
    assert_eq!(text(&goal, "due"), "2027-01-31");
    let set = home.json(&["goal", "set", &id, "--status", "done"]);
    assert_eq!(text(&set, "id"), id);
    assert_eq!(text(&set, "status"), "done");
    let note = home.json(&["note", "add", "hello"]);
    assert_eq!(text(&note, "body"), "hello");
}

#[test]
fn log_names_who_changed_what() {
    let t = tour();
    let log = t.home.ok(&["log"]);
    assert!(log.contains("Ana"), "{log}");
    assert!(log.contains("Ship a Rust CLI"), "{log}");
    assert!(log.lines().count() >= 10, "{log}");
    assert!(
        log.lines().all(|l| l.contains("Ana")),
        "every change is Ana's:\n{log}"
    );
    assert_eq!(t.home.ok(&["log", "-n", "3"]).lines().count(), 3);
}

#[test]
fn export_writes_markdown_and_json_that_hold_everything() {
    let t = tour();
    let md = t.home.ok(&["export", "--format", "md"]);
    for expected in [
        "# Ana & Ben — backend growth",
        "Ship a Rust CLI",
        "Read the book",
        "Open the PR",
        "Review the first PR",
        "Start with clap's derive API.",
        "https://doc.rust-lang.org/book/",
    ] {
        assert!(md.contains(expected), "markdown lacks {expected:?}:\n{md}");
    }

    let file = t.home.file("plan.json");
    t.home
        .ok(&["export", "--format", "json", "-o", path_str(&file)]);
    let json: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        json,
        t.home.export_json(),
        "-o writes what stdout would show"
    );
    assert_eq!(json["schema"], 1);
    assert_eq!(ids(&json["goals"]), [t.goal.as_str()]);
    assert_eq!(json["notes"].as_array().unwrap().len(), 2);
    assert_eq!(json["checkins"].as_array().unwrap().len(), 1);
    assert_eq!(json["actions"].as_array().unwrap().len(), 3);
    assert_eq!(json["resources"].as_array().unwrap().len(), 1);
    assert_eq!(
        text(&json["resources"][0], "url"),
        "https://doc.rust-lang.org/book/"
    );
}

#[test]
fn a_mentor_switches_between_workspaces() {
    let home = Home::new();
    let first = home.init("Ana & Ben", "Ana", "mentor");
    let second = home.init("Ana & Cleo", "Ana", "mentor");
    home.add(&["goal", "add", "Cleo's goal"]);
    home.ok(&["-w", "Ana & Ben", "goal", "add", "Ben's goal"]);
    assert_eq!(text(&home.json(&["plan"]), "id"), second);
    home.ok(&["switch", prefix(&first, 6)]);
    let goals = home.json(&["goal", "list"]);
    assert_eq!(goals.as_array().unwrap().len(), 1);
    assert_eq!(text(&goals[0], "title"), "Ben's goal");
    let list = home.json(&["workspaces"]);
    let current: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(text(current[0], "id"), first);
}

#[test]
fn a_workspace_is_chosen_by_a_title_prefix_and_an_ambiguous_one_lists_the_candidates() {
    let home = Home::new();
    let ben = home.init("Ana & Ben", "Ana", "mentor");
    let cleo = home.init("Ana & Cleo", "Ana", "mentor");
    home.ok(&["-w", "ana & b", "goal", "add", "Ben's goal"]);
    assert_eq!(text(&home.json(&["-w", "Ana & B", "plan"]), "id"), ben);
    assert_eq!(text(&home.json(&["-w", "ANA & C", "plan"]), "id"), cleo);
    let stderr = user_error(&home, &["-w", "Ana", "plan"]);
    assert!(
        stderr.contains("matches several workspaces")
            && stderr.contains(&format!("Ana & Ben ({ben})"))
            && stderr.contains(&format!("Ana & Cleo ({cleo})")),
        "{stderr}"
    );
    let (code, stderr) = home.fails(&["--json", "-w", "Ana", "plan"]);
    assert_eq!(code, 1);
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["code"], "ambiguous", "{error}");
    // An exact title wins over a longer one it begins.
    let longer = home.init("Ana & Ben 2", "Ana", "mentor");
    assert_eq!(text(&home.json(&["-w", "Ana & Ben", "plan"]), "id"), ben);
    assert_eq!(
        text(&home.json(&["-w", "ana & ben 2", "plan"]), "id"),
        longer
    );
}

// ----- convergence: two devices, bundles, no server -----

/// Ana and Ben after a round of concurrent offline edits, before they exchange anything.
struct Diverged {
    ana: Home,
    ben: Home,
    goal: String,
    note: String,
    /// Ana's bundle from before the concurrent edits, to import late and out of order.
    stale: std::path::PathBuf,
    new_goals: Vec<String>,
}

fn diverged() -> Diverged {
    let (ana, ben) = pair();
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI", "--due", "2026-12-20"]);
    let note = ana.add(&["note", "add", MEETING_NOTE]);
    let stale = ana.bundle("stale.tandem");
    ben.ok(&["bundle", "import", path_str(&stale)]);

    // Offline, concurrently: the same note body edited in different places…
    edit_the_meeting_note_apart(&ana, &ben, prefix(&note, 4));
    // …the same goal's status and due date set to different values…
    ana.ok(&[
        "goal",
        "set",
        &goal,
        "--status",
        "active",
        "--due",
        "2027-01-10",
    ]);
    ben.ok(&[
        "goal",
        "set",
        &goal,
        "--status",
        "done",
        "--due",
        "2027-02-01",
    ]);
    // …and new goals on both sides.
    let new_goals = vec![
        ana.add(&["goal", "add", "Give a talk"]),
        ana.add(&["goal", "add", "Review a crate"]),
        ben.add(&["goal", "add", "Write a blog post"]),
        ben.add(&["goal", "add", "Mentor a newcomer"]),
    ];
    Diverged {
        ana,
        ben,
        goal,
        note,
        stale,
        new_goals,
    }
}

/// Check that both homes show exactly the same workspace through every read command that
/// matters, and return Ana's export.
fn assert_same(ana: &Home, ben: &Home, note: &str) -> Value {
    let export = ana.export_json();
    assert_eq!(export, ben.export_json(), "exports differ");
    assert_eq!(
        ana.json(&["goal", "list"]),
        ben.json(&["goal", "list"]),
        "goal lists differ"
    );
    assert_eq!(
        ana.json(&["note", "show", note]),
        ben.json(&["note", "show", note]),
        "notes differ"
    );
    assert_eq!(
        ana.json(&["conflicts"]),
        ben.json(&["conflicts"]),
        "conflicts differ"
    );
    export
}

#[test]
fn two_homes_converge_after_concurrent_offline_edits_in_any_import_order() {
    let d = diverged();
    let (ana, ben) = (&d.ana, &d.ben);
    let from_ana = ana.bundle("ana.tandem");
    let from_ben = ben.bundle("ben.tandem");
    ben.ok(&["bundle", "import", path_str(&from_ana)]);
    ana.ok(&["bundle", "import", path_str(&from_ben)]);
    // Importing again, and importing an older bundle after newer ones, changes nothing.
    let settled = ana.export_json();
    ana.ok(&["bundle", "import", path_str(&from_ben)]);
    ana.ok(&["bundle", "import", path_str(&d.stale)]);
    ben.ok(&["bundle", "import", path_str(&d.stale)]);
    ben.ok(&["bundle", "import", path_str(&from_ana)]);
    assert_eq!(
        ana.export_json(),
        settled,
        "re-importing changed Ana's workspace"
    );

    let export = assert_same(ana, ben, &d.note);
    let body = text(&ana.json(&["note", "show", &d.note]), "body").to_string();
    assert_eq!(body, MEETING_NOTE_MERGED);
    let goals = ids(&export["goals"]);
    for id in d.new_goals.iter().chain([&d.goal]) {
        assert!(goals.contains(id), "goal {id} missing from {goals:?}");
    }
    assert_eq!(goals.len(), 5);
    let names: Vec<&str> = export["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(p, "name"))
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"Ana") && names.contains(&"Ben"),
        "{names:?}"
    );
}

#[test]
fn the_same_bundles_give_the_same_result_whichever_arrives_first() {
    let d = diverged();
    let from_ana = d.ana.bundle("ana.tandem");
    let from_ben = d.ben.bundle("ben.tandem");
    // A third device of Ana's receives the bundles in the opposite order to her laptop.
    let tablet = Home::new();
    tablet.ok(&[
        "bundle",
        "import",
        path_str(&from_ben),
        "--name",
        "Ana",
        "--role",
        "mentor",
    ]);
    tablet.ok(&["bundle", "import", path_str(&d.stale)]);
    tablet.ok(&["bundle", "import", path_str(&from_ana)]);
    d.ana.ok(&["bundle", "import", path_str(&d.stale)]);
    d.ana.ok(&["bundle", "import", path_str(&from_ben)]);
    d.ben.ok(&["bundle", "import", path_str(&from_ana)]);
    // The tablet joined as Ana (a second device of the same person), which adds one change;
    // hand it back so everyone has everything.
    let from_tablet = tablet.bundle("tablet.tandem");
    d.ana.ok(&["bundle", "import", path_str(&from_tablet)]);
    d.ben.ok(&["bundle", "import", path_str(&from_tablet)]);
    let export = assert_same(&d.ana, &d.ben, &d.note);
    assert_eq!(tablet.export_json(), export);
    assert_eq!(
        export["participants"].as_array().unwrap().len(),
        2,
        "the tablet is Ana's device"
    );
}

#[test]
fn concurrent_field_changes_are_listed_as_conflicts_with_both_values_until_set_again() {
    let d = diverged();
    let (ana, ben) = (&d.ana, &d.ben);
    assert_eq!(
        ana.json(&["conflicts"]),
        Value::Array(vec![]),
        "no conflict before exchanging"
    );
    exchange(ana, ben);
    for home in [ana, ben] {
        let conflicts = home.json(&["conflicts"]);
        assert_eq!(
            conflict_values(&conflicts, &d.goal, "status"),
            [
                ("active".into(), "Ana".into()),
                ("done".into(), "Ben".into())
            ]
        );
        assert_eq!(
            conflict_values(&conflicts, &d.goal, "due"),
            [
                ("2027-01-10".into(), "Ana".into()),
                ("2027-02-01".into(), "Ben".into())
            ]
        );
        assert_eq!(conflicts.as_array().unwrap().len(), 2, "{conflicts}");
        assert_eq!(home.json(&["plan"])["conflicts"], 2);
        let listing = home.ok(&["conflicts"]);
        assert!(
            listing.contains("active") && listing.contains("done"),
            "{listing}"
        );
    }
    // Both sides show the same winner meanwhile.
    assert_eq!(
        ana.json(&["goal", "show", &d.goal])["status"],
        ben.json(&["goal", "show", &d.goal])["status"]
    );

    // Setting the status again resolves that conflict everywhere once the change travels.
    ben.ok(&["goal", "set", prefix(&d.goal, 4), "--status", "dropped"]);
    exchange(ana, ben);
    for home in [ana, ben] {
        let conflicts = home.json(&["conflicts"]);
        assert!(
            conflict_values(&conflicts, &d.goal, "status").is_empty(),
            "{conflicts}"
        );
        assert_eq!(
            conflict_values(&conflicts, &d.goal, "due").len(),
            2,
            "{conflicts}"
        );
        assert_eq!(
            text(&home.json(&["goal", "show", &d.goal]), "status"),
            "dropped"
        );
    }
    ana.ok(&["goal", "set", &d.goal, "--due", "2027-01-31"]);
    exchange(ana, ben);
    for home in [ana, ben] {
        assert_eq!(home.json(&["conflicts"]), Value::Array(vec![]));
        assert_eq!(
            text(&home.json(&["goal", "show", &d.goal]), "due"),
            "2027-01-31"
        );
    }
    assert_same(ana, ben, &d.note);
}

#[test]
fn joining_from_a_bundle_adds_the_partner_and_history_names_both() {
    let (ana, ben) = pair();
    let joined = ben.json(&["plan"]);
    let roles: Vec<(&str, &str)> = joined["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (text(p, "name"), text(p, "role")))
        .collect();
    assert!(
        roles.contains(&("Ana", "mentor")) && roles.contains(&("Ben", "mentee")),
        "{roles:?}"
    );
    ben.add(&["goal", "add", "Ben's own goal"]);
    exchange(&ana, &ben);
    let log = ana.ok(&["log"]);
    let bens_line = log
        .lines()
        .find(|l| l.contains("Ben's own goal"))
        .expect(&log);
    assert!(bens_line.contains("Ben"), "{log}");
    let anas_line = log
        .lines()
        .find(|l| l.contains("created workspace"))
        .expect(&log);
    assert!(anas_line.contains("Ana"), "{log}");
    let goal = &ana.json(&["goal", "list"])[0];
    assert_eq!(text(goal, "created_by_name"), "Ben");
}

#[test]
fn a_note_edited_while_a_bundle_arrives_keeps_both_edits() {
    let (ana, ben) = pair();
    let note = ana.add(&["note", "add", MEETING_NOTE]);
    exchange(&ana, &ben);
    ben.with_editor(BENS_NOTE_EDIT).ok(&["note", "edit", &note]);
    let from_ben = ben.bundle("ben.tandem");
    // Ana's editor is open while Ben's bundle is imported in another terminal; her save is a
    // diff against the text she saw, so it must not undo Ben's edit.
    let import = format!(
        "'{}' --home '{}' bundle import '{}' >/dev/null && {ANAS_NOTE_EDIT}",
        path_str(&tandem()),
        path_str(ana.path()),
        path_str(&from_ben),
    );
    ana.with_editor(&import).ok(&["note", "edit", &note]);
    let body = text(&ana.json(&["note", "show", &note]), "body").to_string();
    assert_eq!(body, MEETING_NOTE_MERGED);
    exchange(&ana, &ben);
    assert_same(&ana, &ben, &note);
    let log = ana.ok(&["log"]);
    assert!(
        log.lines()
            .any(|l| l.contains("Ana") && l.contains("edited note")),
        "{log}"
    );
}

#[test]
fn concurrent_ratings_milestones_and_archiving_all_survive_a_merge() {
    let (ana, ben) = pair();
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI"]);
    let checkin = ana.add(&["checkin", "add", "--at", "2026-11-27 09:00"]);
    let note = ana.add(&["note", "add", "Draft agenda"]);
    exchange(&ana, &ben);

    ana.ok(&["checkin", "rate", &checkin, "5", "--comment", "great"]);
    ben.ok(&["checkin", "rate", &checkin, "3", "--comment", "too short"]);
    ana.add(&["milestone", "add", &goal, "Ana's milestone"]);
    ben.add(&["milestone", "add", &goal, "Ben's milestone"]);
    ana.ok(&["note", "archive", &note]);
    ben.with_editor("sed -i 's/Draft/Final/'")
        .ok(&["note", "edit", &note]);
    exchange(&ana, &ben);

    assert_same(&ana, &ben, &note);
    let ratings = ana.json(&["checkin", "show", &checkin])["ratings"].clone();
    let mut got: Vec<(String, i64)> = ratings
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(r, "name").to_string(), r["rating"].as_i64().unwrap()))
        .collect();
    got.sort();
    assert_eq!(got, [("Ana".to_string(), 5), ("Ben".to_string(), 3)]);
    let milestones = ana.json(&["goal", "show", &goal])["milestones"].clone();
    assert_eq!(milestones.as_array().unwrap().len(), 2, "{milestones}");
    // The archived note keeps Ben's concurrent edit; it is hidden, not thrown away.
    assert!(ids(&ana.json(&["note", "list"])).is_empty());
    let archived = ana.json(&["note", "show", &note]);
    assert_eq!(archived["archived"], true);
    assert_eq!(text(&archived, "body"), "Final agenda");
    assert_eq!(ids(&ben.json(&["note", "list", "--all"])), [note.as_str()]);
}

#[test]
fn a_title_rewritten_on_both_sides_is_a_conflict_with_both_values_until_set_again() {
    let (ana, ben) = pair();
    let goal = ana.add(&["goal", "add", "Portfolio site"]);
    exchange(&ana, &ben);
    // Titles are replaced as a whole, so two offline rewrites must not merge into a third title
    // that neither person wrote.
    ana.ok(&["goal", "set", &goal, "--title", "Portfolio site (Ana)"]);
    ben.ok(&["goal", "set", &goal, "--title", "Portfolio v2"]);
    exchange(&ana, &ben);
    for home in [&ana, &ben] {
        let conflicts = home.json(&["conflicts"]);
        assert_eq!(
            conflict_values(&conflicts, &goal, "title"),
            [
                ("Portfolio site (Ana)".into(), "Ana".into()),
                ("Portfolio v2".into(), "Ben".into())
            ],
            "{conflicts}"
        );
        let title = home.json(&["goal", "show", &goal])["title"].clone();
        assert!(
            title == "Portfolio site (Ana)" || title == "Portfolio v2",
            "the title shown is one of the two: {title}"
        );
        let listing = home.ok(&["conflicts"]);
        assert!(
            listing.contains("Portfolio site (Ana)") && listing.contains("Portfolio v2"),
            "{listing}"
        );
    }
    // Setting the title again ends the conflict everywhere.
    ben.ok(&["goal", "set", &goal, "--title", "Portfolio site v2"]);
    exchange(&ana, &ben);
    for home in [&ana, &ben] {
        assert_eq!(home.json(&["conflicts"]), Value::Array(vec![]));
        assert_eq!(
            text(&home.json(&["goal", "show", &goal]), "title"),
            "Portfolio site v2"
        );
    }
}

#[test]
fn concurrent_description_edits_merge_and_an_archived_goal_keeps_later_changes() {
    let (ana, ben) = pair();
    let goal = ana.add(&[
        "goal",
        "add",
        "Ship a Rust CLI",
        "--description",
        "Ship a Rust CLI",
    ]);
    exchange(&ana, &ben);
    // Descriptions are prose, so two edits of different parts merge instead of one replacing the
    // other.
    ana.ok(&[
        "goal",
        "set",
        &goal,
        "--description",
        "Ship a Rust CLI tool",
    ]);
    ben.ok(&[
        "goal",
        "set",
        &goal,
        "--description",
        "Ship a fast Rust CLI",
    ]);
    // Ben archives the goal while Ana, unaware, gives it to him.
    ben.ok(&["goal", "archive", &goal]);
    ana.ok(&["goal", "set", &goal, "--owner", "Ben"]);
    exchange(&ana, &ben);
    for home in [&ana, &ben] {
        let shown = home.json(&["goal", "show", &goal]);
        assert_eq!(text(&shown, "description"), "Ship a fast Rust CLI tool");
        assert_eq!(text(&shown, "owner"), "Ben");
        assert_eq!(shown["archived"], true);
        assert!(ids(&home.json(&["goal", "list"])).is_empty());
        assert_eq!(home.json(&["conflicts"]), Value::Array(vec![]));
    }
}

#[test]
fn importing_the_same_bundle_twice_reports_nothing_new() {
    let (ana, ben) = pair();
    ana.add(&["goal", "add", "One more goal"]);
    let bundle = ana.bundle("again.tandem");
    let first = ben.json(&["bundle", "import", path_str(&bundle)]);
    assert!(first["new_changes"].as_u64().unwrap() >= 1, "{first}");
    assert_eq!(first["created"], false);
    let again = ben.json(&["bundle", "import", path_str(&bundle)]);
    assert_eq!(again["new_changes"], 0, "{again}");
    let text_out = ben.ok(&["bundle", "import", path_str(&bundle)]);
    assert!(text_out.contains("already had everything"), "{text_out}");
}

#[test]
fn importing_an_older_bundle_reports_nothing_new() {
    let (ana, ben) = pair();
    let old = ana.bundle("old.tandem");
    ben.ok(&["bundle", "import", path_str(&old)]);
    ben.add(&["goal", "add", "Something Ben did since"]);
    let report = ben.json(&["bundle", "import", path_str(&old)]);
    assert_eq!(report["new_changes"], 0, "{report}");
}

// ----- private notes -----

#[test]
fn private_notes_stay_on_their_device() {
    let (ana, ben) = pair();
    let private = ana.add(&["note", "add", "--private", "Ben seems stuck on lifetimes."]);
    let shared = ana.add(&["note", "add", "Lifetimes reading list"]);
    let listed = ana.json(&["note", "list"]);
    let mine: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["private"] == true)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(text(mine[0], "id"), private);
    assert!(ana.ok(&["note", "list"]).contains("Ben seems stuck"));
    assert_eq!(
        text(&ana.json(&["note", "show", &private]), "body"),
        "Ben seems stuck on lifetimes."
    );

    exchange(&ana, &ben);
    assert_eq!(ids(&ben.json(&["note", "list"])), [shared.as_str()]);
    let stderr = user_error(&ben, &["note", "show", &private]);
    assert!(stderr.contains("no note matches"), "{stderr}");
    let everything = serde_json::to_string(&ben.export_json()).unwrap();
    assert!(
        !everything.contains("stuck on lifetimes"),
        "private text reached Ben"
    );
    // Even after the exchange, Ana still has it, exactly once.
    assert_eq!(ids(&ana.json(&["note", "list"])).len(), 2);
}

#[test]
fn workspaces_lists_only_shared_workspaces() {
    let home = Home::new();
    let id = home.init("Ana & Ben", "Ana", "mentor");
    home.add(&["note", "add", "--private", "just for me"]);
    assert_eq!(ids(&home.json(&["workspaces"])), [id]);
    let stderr = user_error(&home, &["switch", "private"]);
    assert!(stderr.contains("no workspace matches"), "{stderr}");
}

// ----- bad input: exit 1, one line, nothing damaged -----

/// A small workspace to aim bad input at: a goal with a milestone, a check-in and an action.
struct Small {
    home: Home,
    goal: String,
    checkin: String,
}

fn small() -> Small {
    let home = Home::new();
    home.init("Ana & Ben", "Ana", "mentor");
    let goal = home.add(&["goal", "add", "Ship a Rust CLI", "--due", "2026-12-20"]);
    home.add(&["milestone", "add", &goal, "Read the book"]);
    let checkin = home.add(&[
        "checkin",
        "add",
        "--at",
        "2026-11-20 15:00",
        "--agenda",
        "PR",
    ]);
    home.add(&["action", "add", "Open the PR", "--due", "2026-11-25"]);
    Small {
        home,
        goal,
        checkin,
    }
}

#[test]
fn unknown_ids_are_rejected_for_every_kind() {
    let s = small();
    let guard = Guarded::new(&s.home);
    for args in [
        vec!["goal", "show", "zz"],
        vec!["goal", "set", "zz", "--status", "done"],
        vec!["note", "show", "zz"],
        vec!["action", "done", "zz"],
        vec!["checkin", "rate", "zz", "3"],
        vec!["milestone", "done", &s.goal, "zz"],
        vec!["milestone", "add", "zz", "Orphan"],
    ] {
        let stderr = user_error(&s.home, &args);
        assert!(stderr.contains("matches 'zz'"), "{stderr}");
    }
    guard.assert_undamaged();
}

#[test]
fn an_ambiguous_prefix_lists_the_candidates() {
    let home = Home::new();
    home.init("Many goals", "Ana", "mentor");
    // Sixteen hex digits can start an id, so seventeen goals always share a first digit.
    let mut goals: Vec<String> = Vec::new();
    let shared = loop {
        let id = home.add(&["goal", "add", &format!("Goal {}", goals.len())]);
        let first = id[..1].to_string();
        let repeated = goals.iter().any(|g| g.starts_with(&first));
        goals.push(id);
        if repeated {
            break first;
        }
    };
    let guard = Guarded::new(&home);
    let stderr = user_error(&home, &["goal", "show", &shared]);
    assert!(stderr.contains("ambiguous"), "{stderr}");
    for id in goals.iter().filter(|g| g.starts_with(&shared)) {
        assert!(
            stderr.contains(id.as_str()),
            "candidate {id} not listed: {stderr}"
        );
    }
    user_error(&home, &["goal", "set", &shared, "--status", "done"]);
    guard.assert_undamaged();
}

#[test]
fn bad_dates_are_rejected() {
    let s = small();
    let guard = Guarded::new(&s.home);
    // Dates are checked by the command line itself, so a bad one is a usage error that says
    // what a date looks like.
    for args in [
        vec!["goal", "add", "Later", "--due", "2026-13-01"],
        vec!["goal", "add", "Later", "--due", "tomorrow"],
        vec!["goal", "set", &s.goal, "--due", "2026-02-30"],
        vec!["milestone", "add", &s.goal, "Later", "--due", "2026/12/01"],
        vec!["action", "add", "Later", "--due", "2026-1-1"],
    ] {
        let stderr = usage_error(&s.home, &args);
        assert!(stderr.contains("invalid date"), "{stderr}");
        assert!(stderr.contains("expected YYYY-MM-DD"), "{stderr}");
    }
    let stderr = usage_error(&s.home, &["checkin", "add", "--at", "next tuesday"]);
    assert!(stderr.contains("invalid date and time"), "{stderr}");
    assert!(stderr.contains("YYYY-MM-DD HH:MM"), "{stderr}");
    guard.assert_undamaged();
}

#[test]
fn ratings_outside_one_to_five_and_bad_statuses_are_rejected() {
    let s = small();
    let guard = Guarded::new(&s.home);
    // Ratings, like statuses, are checked by the command line itself: a usage error.
    for rating in ["0", "6", "abc", "4.5"] {
        let stderr = usage_error(&s.home, &["checkin", "rate", &s.checkin, rating]);
        assert!(
            stderr.contains("RATING") && stderr.contains("1 to 5"),
            "{stderr}"
        );
    }
    // A status is checked by the command line itself, so a bad one is a usage error.
    let stderr = usage_error(&s.home, &["goal", "set", &s.goal, "--status", "finished"]);
    assert!(stderr.contains("open, active, done, dropped"), "{stderr}");
    guard.assert_undamaged();
}

#[test]
fn an_unknown_workspace_is_rejected() {
    let s = small();
    let guard = Guarded::new(&s.home);
    let stderr = user_error(&s.home, &["-w", "nope", "plan"]);
    assert!(stderr.contains("no workspace matches 'nope'"), "{stderr}");
    user_error(&s.home, &["-w", "nope", "goal", "add", "Lost"]);
    user_error(&s.home, &["switch", "nope"]);
    guard.assert_undamaged();
}

#[test]
fn commands_before_init_explain_how_to_start() {
    let home = Home::new();
    let bundle = home.file("x.tandem");
    for args in [
        vec!["plan"],
        vec!["goal", "list"],
        vec!["goal", "add", "Too early"],
        vec!["note", "add", "Too early"],
        vec!["bundle", "export", path_str(&bundle)],
    ] {
        let stderr = user_error(&home, &args);
        assert!(
            stderr.contains("no workspace yet") && stderr.contains("tandem init"),
            "{stderr}"
        );
    }
    assert!(home.ok(&["workspaces"]).contains("tandem init"));
    assert_eq!(home.json(&["workspaces"]), Value::Array(vec![]));
    assert!(!bundle.exists());
}

#[test]
fn a_truncated_or_random_bundle_is_rejected() {
    let (ana, ben) = pair();
    ana.add(&["goal", "add", "Travel goal"]);
    let good = std::fs::read(ana.bundle("good.tandem")).unwrap();
    let guard = Guarded::new(&ben);
    let truncated = ben.file("truncated.tandem");
    std::fs::write(&truncated, &good[..good.len() * 2 / 3]).unwrap();
    let stderr = user_error(&ben, &["bundle", "import", path_str(&truncated)]);
    assert!(stderr.contains("truncated or damaged"), "{stderr}");

    let random = ben.file("random.tandem");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).unwrap();
    let stderr = user_error(&ben, &["bundle", "import", path_str(&random)]);
    assert!(stderr.contains("not a tandem bundle"), "{stderr}");

    let stderr = user_error(
        &ben,
        &["bundle", "import", path_str(&ben.file("missing.tandem"))],
    );
    assert!(stderr.contains("cannot read"), "{stderr}");
    guard.assert_undamaged();
    // Ben can still import the intact copy afterwards.
    let intact = ben.file("intact.tandem");
    std::fs::write(&intact, &good).unwrap();
    ben.ok(&["bundle", "import", path_str(&intact)]);
    assert_eq!(
        ids(&ben.json(&["goal", "list"])),
        ids(&ana.json(&["goal", "list"]))
    );
}

#[test]
fn a_bundle_of_something_other_than_a_workspace_is_rejected() {
    let home = Home::new();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "hello", "world").unwrap();
    let bundle = Bundle {
        workspace: tandem_core::store::new_document_id(),
        title: "Not a workspace".into(),
        exported_at: NOW.into(),
        doc: doc.save(),
    };
    let file = write_bundle(&home, "foreign.tandem", &bundle);
    let stderr = user_error(
        &home,
        &["bundle", "import", path_str(&file), "--name", "Ben"],
    );
    assert!(stderr.contains("not a tandem workspace"), "{stderr}");

    // A well-formed bundle whose document bytes are not automerge at all.
    let garbage = Bundle {
        doc: b"definitely not automerge".to_vec(),
        ..bundle
    };
    let file = write_bundle(&home, "garbage.tandem", &garbage);
    let stderr = user_error(
        &home,
        &["bundle", "import", path_str(&file), "--name", "Ben"],
    );
    assert!(stderr.contains("does not load"), "{stderr}");
    assert_eq!(
        home.json(&["workspaces"]),
        Value::Array(vec![]),
        "nothing was joined"
    );
}

#[test]
fn a_bundle_of_private_notes_is_refused() {
    let home = Home::new();
    let mut private = Workspace::create_private(automerge::ActorId::random(), now()).unwrap();
    let bundle = Bundle {
        workspace: format!("private-{}", tandem_core::store::new_document_id()),
        title: String::new(),
        exported_at: NOW.into(),
        doc: private.doc_mut().save(),
    };
    let file = write_bundle(&home, "private.tandem", &bundle);
    let stderr = user_error(
        &home,
        &["bundle", "import", path_str(&file), "--name", "Ben"],
    );
    assert!(stderr.contains("private"), "{stderr}");
}

#[test]
fn importing_an_unknown_workspace_without_a_name_asks_for_one() {
    let (ana, _ben) = pair();
    let newcomer = Home::new();
    let bundle = ana.bundle("for-cleo.tandem");
    let stderr = user_error(&newcomer, &["bundle", "import", path_str(&bundle)]);
    assert!(stderr.contains("--name"), "{stderr}");
    assert_eq!(newcomer.json(&["workspaces"]), Value::Array(vec![]));
    // A home with another workspace must not merge a foreign one into it either.
    let other = Home::new();
    other.init("Other pair", "Dee", "mentor");
    let guard = Guarded::new(&other);
    let stderr = user_error(&other, &["bundle", "import", path_str(&bundle)]);
    assert!(stderr.contains("--name"), "{stderr}");
    guard.assert_undamaged();
}

#[test]
fn a_workspace_from_a_newer_schema_asks_for_an_upgrade() {
    // A workspace this home has never seen.
    let home = Home::new();
    let (mut ws, _) = Workspace::create(
        "From the future",
        "Zed",
        Role::Mentor,
        automerge::ActorId::random(),
        now(),
    )
    .unwrap();
    ws.doc_mut().put(ROOT, "schema", 99u64).unwrap();
    let bundle = Bundle {
        workspace: tandem_core::store::new_document_id(),
        title: "From the future".into(),
        exported_at: NOW.into(),
        doc: ws.doc_mut().save(),
    };
    let file = write_bundle(&home, "future.tandem", &bundle);
    let stderr = user_error(
        &home,
        &["bundle", "import", path_str(&file), "--name", "Ben"],
    );
    assert!(
        stderr.contains("schema") && stderr.contains("upgrade"),
        "{stderr}"
    );
    assert_eq!(
        home.json(&["workspaces"]),
        Value::Array(vec![]),
        "nothing was joined"
    );

    // A newer version of a workspace the home already has: refused, and the old one intact.
    let (ana, _ben) = pair();
    let mut bundle = read_bundle(&ana.bundle("now.tandem"));
    let mut doc = AutoCommit::load(&bundle.doc).unwrap();
    doc.put(ROOT, "schema", 99u64).unwrap();
    bundle.doc = doc.save();
    let file = write_bundle(&ana, "upgraded.tandem", &bundle);
    let guard = Guarded::new(&ana);
    let stderr = user_error(&ana, &["bundle", "import", path_str(&file)]);
    assert!(
        stderr.contains("schema") && stderr.contains("upgrade"),
        "{stderr}"
    );
    guard.assert_undamaged();
    ana.ok(&["goal", "add", "Still works"]);
}

#[test]
fn a_store_locked_by_another_process_is_reported_as_in_use() {
    let home = Home::new();
    home.init("Locked", "Ana", "mentor");
    let guard = Guarded::new(&home);
    let held = sled::Config::new()
        .path(home.store())
        .open()
        .expect("the test takes the lock");
    let started = Instant::now();
    // A short bound, so that the test need not wait the default minute.
    let (code, stderr) = home.fails(&["--wait", "2", "goal", "add", "Blocked"]);
    let waited = started.elapsed();
    assert_eq!(code, 1, "{stderr}");
    // The notice that it waits, then the one line of the error.
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(lines[0], "waiting for another tandem command to finish…");
    assert_one_line(lines[1], &["goal", "add"]);
    assert!(
        lines[1].contains("in use") && lines[1].contains("after 2 s"),
        "{stderr}"
    );
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(8),
        "gave up after {waited:?}"
    );
    // Under --json the error is JSON, and the notice is left out.
    let (code, stderr) = home.fails(&["--json", "--wait", "1", "goal", "add", "Blocked"]);
    assert_eq!(code, 1);
    let error: Value = serde_json::from_str(stderr.trim()).expect("one JSON error");
    assert_eq!(error["code"], "locked");
    drop(held);
    guard.assert_undamaged();
}

#[test]
fn a_writer_waits_for_another_process_to_release_the_home() {
    let home = Home::new();
    home.init("Busy", "Ana", "mentor");
    // This test's process holds the home the way a long tandem command would, for three seconds,
    // while a tandem process that wants to write starts.
    let held = sled::Config::new()
        .path(home.store())
        .open()
        .expect("the test takes the lock");
    let (loud, quiet) = std::thread::scope(|s| {
        let loud = s.spawn(|| home.run(&["goal", "add", "Waited for"]));
        let quiet = s.spawn(|| home.run(&["-q", "goal", "add", "Waited quietly"]));
        std::thread::sleep(Duration::from_secs(3));
        drop(held);
        (loud.join().unwrap(), quiet.join().unwrap())
    });
    for out in [&loud, &quiet] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&loud.stderr),
        "waiting for another tandem command to finish…\n"
    );
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let titles: Vec<Value> = home
        .json(&["goal", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["title"].clone())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
}

#[test]
fn errors_are_json_on_stderr_under_json_with_the_same_exit_codes() {
    let s = small();
    let error = |args: &[&str], code: i32| -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (exit, stderr) = s.home.fails(&all);
        assert_eq!(exit, code, "{stderr}");
        let value: Value = serde_json::from_str(stderr.trim())
            .unwrap_or_else(|e| panic!("not one JSON value ({e}): {stderr}"));
        assert!(value["error"].as_str().is_some_and(|e| !e.is_empty()));
        value
    };
    assert_eq!(error(&["goal", "show", "ffffffff"], 1)["code"], "not_found");
    assert_eq!(error(&["-w", "nope", "plan"], 1)["code"], "not_found");
    assert_eq!(error(&["goal", "add", " "], 1)["code"], "invalid");
    assert_eq!(
        error(&["goal", "set", "--status", "x", "g"], 2)["code"],
        "usage"
    );
    assert_eq!(error(&["goal", "frobnicate"], 2)["code"], "usage");
    // Without --json the same errors stay one line for people.
    let (code, stderr) = s.home.fails(&["goal", "show", "ffffffff"]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("tandem: no goal matches"), "{stderr}");
}

#[test]
fn a_store_full_of_garbage_is_reported_as_damaged_without_panicking() {
    let home = Home::new();
    home.init("Soon corrupt", "Ana", "mentor");
    home.add(&["goal", "add", "Will be lost"]);
    let mut damaged = 0;
    for entry in std::fs::read_dir(home.store()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let len = std::fs::metadata(&path).unwrap().len().max(64) as usize;
            let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8 ^ 0xA5).collect();
            std::fs::write(&path, garbage).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "the store has files");
    for args in [vec!["plan"], vec!["goal", "add", "New"], vec!["workspaces"]] {
        let stderr = user_error(&home, &args);
        assert!(stderr.contains("store"), "{stderr}");
    }
}

#[test]
fn a_store_with_flipped_bytes_is_reported_as_damaged() {
    let home = Home::new();
    home.init("Bit rot", "Ana", "mentor");
    home.add(&["goal", "add", "Will rot"]);
    let db = home.store().join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    for i in (0..bytes.len()).step_by(97) {
        bytes[i] ^= 0x5A;
    }
    std::fs::write(&db, bytes).unwrap();
    let stderr = user_error(&home, &["plan"]);
    assert!(
        stderr.contains("store") && stderr.contains("damaged"),
        "{stderr}"
    );
}

// ----- usage errors: exit 2 -----

#[test]
fn usage_errors_exit_with_code_two() {
    let s = small();
    let guard = Guarded::new(&s.home);
    for args in [
        vec!["bogus"],
        vec!["goal", "add"],
        vec!["goal"],
        vec!["init", "--title", "T", "--name", "N", "--role", "boss"],
        vec!["export", "--format", "pdf"],
        vec!["checkin", "rate", &s.checkin],
        vec!["bundle", "import", "x", "--role", "admin", "--name", "N"],
        vec!["plan", "--no-such-flag"],
    ] {
        let (code, stderr) = s.home.fails(&args);
        assert_eq!(code, 2, "`tandem {}`: {stderr}", args.join(" "));
        // clap explains the mistake, or prints the help when a subcommand is missing.
        assert!(
            stderr.starts_with("error: ") || stderr.contains("Usage:"),
            "{stderr}"
        );
    }
    guard.assert_undamaged();
}

// ----- safe display -----

#[test]
fn text_that_would_drive_the_terminal_is_shown_escaped_and_on_one_row() {
    let (ana, ben) = pair();
    // Ben's title would rename Ana's terminal window, and its newline would split her list row.
    let title = "Own it \u{1b}]0;pwned\u{7}\nsecond line";
    let goal = ben.add(&["goal", "add", title]);
    ben.add(&["note", "add", "Body \u{1b}[2J\nline two", "--title", title]);
    exchange(&ana, &ben);
    let escaped = "Own it \\e]0;pwned\\u{7} ↵ second line";
    for args in [
        vec!["goal", "list"],
        vec!["goal", "show", goal.as_str()],
        vec!["plan"],
        vec!["note", "list"],
        vec!["log"],
    ] {
        let out = ana.ok(&args);
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}'),
            "`tandem {}` printed a control character:\n{out:?}",
            args.join(" ")
        );
        let rows: Vec<&str> = out.lines().filter(|l| l.contains("Own it")).collect();
        assert!(!rows.is_empty(), "{out}");
        for row in rows {
            assert!(
                row.contains("Own it \\e]0;pwned\\u{7}"),
                "`tandem {}`: {row}",
                args.join(" ")
            );
        }
        assert!(
            !out.lines()
                .any(|l| l.trim_start().starts_with("second line")),
            "`tandem {}` split a row:\n{out}",
            args.join(" ")
        );
    }
    assert!(ana.ok(&["goal", "list"]).contains(escaped));
    // Prose keeps its lines but not its escapes.
    let note = ana.ok(&["note", "show", &ids(&ana.json(&["note", "list"]))[0]]);
    assert!(note.contains("Body \\e[2J\nline two"), "{note}");
    // JSON is for programs and keeps the text as it was written.
    assert_eq!(text(&ana.json(&["goal", "show", &goal]), "title"), title);
}

// ----- sizes -----

/// The limit on one field, as the documentation gives it.
const LIMIT: usize = 256 * 1024;

#[test]
fn a_huge_note_from_another_client_is_kept_but_shown_cut_and_lists_stay_small() {
    // Another client made a workspace and pasted a 6 MB note into it, with plain automerge calls.
    let (mut ws, _) = Workspace::create(
        "Thesis",
        "Zed",
        Role::Mentor,
        automerge::ActorId::random(),
        now(),
    )
    .unwrap();
    let goal = ws
        .add_goal(tandem_core::model::NewGoal {
            title: "Write the thesis".into(),
            ..Default::default()
        })
        .unwrap();
    let doc = ws.doc_mut();
    let notes = match automerge::ReadDoc::get(doc, ROOT, "notes").unwrap() {
        Some((_, id)) => id,
        None => panic!("the workspace has notes"),
    };
    let note = "0123456789abcdef";
    let obj = doc
        .put_object(&notes, note, automerge::ObjType::Map)
        .unwrap();
    doc.put(&obj, "title", "Pasted book").unwrap();
    doc.put(&obj, "archived", false).unwrap();
    doc.put(&obj, "created_at", "2026-11-28T09:00:00Z").unwrap();
    doc.put(&obj, "goal", goal.as_str()).unwrap();
    let body = doc
        .put_object(&obj, "body", automerge::ObjType::Text)
        .unwrap();
    let line = "All work and no play makes a very long note. ☕\n";
    let book = line.repeat(6 * 1024 * 1024 / line.len());
    doc.splice_text(&body, 0, 0, &book).unwrap();
    doc.commit();
    let bundle = Bundle {
        workspace: tandem_core::store::new_document_id(),
        title: "Thesis".into(),
        exported_at: NOW.into(),
        doc: doc.save(),
    };
    let ana = Home::new();
    let file = write_bundle(&ana, "book.tandem", &bundle);
    ana.ok(&["bundle", "import", path_str(&file), "--name", "Ana"]);

    // The document keeps every byte; tandem shows the first 256 KiB and says so.
    let shown = ana.json(&["note", "show", note]);
    let read = text(&shown, "body");
    assert!(
        read.len() <= LIMIT && read.len() > LIMIT - line.len(),
        "{}",
        read.len()
    );
    assert!(book.starts_with(read));
    assert_eq!(
        shown["oversized"],
        serde_json::json!([{"field": "body", "bytes": book.len()}])
    );
    let out = ana.ok(&["note", "show", note]);
    assert!(out.len() < LIMIT + 1024, "{}", out.len());
    assert!(
        out.contains("is 6.0 MiB, over the limit of 256 KiB") && out.contains("first 256 KiB"),
        "{}",
        &out[out.len() - 300..]
    );
    // Lists and the plan show one row for it, marked, and stay small.
    let list = ana.ok(&["note", "list"]);
    let row = list.lines().find(|l| l.contains("Pasted book")).unwrap();
    assert!(row.contains("(truncated)"), "{row}");
    assert!(list.len() < 1024, "{list}");
    let plan = ana.ok(&["plan"]);
    assert!(
        plan.contains("Write the thesis") && plan.len() < 4096,
        "{plan}"
    );
}

#[test]
fn text_over_the_limit_is_refused_wherever_tandem_writes() {
    let home = Home::new();
    home.init("Sizes", "Ana", "mentor");
    let goal = home.add(&["goal", "add", "Read a lot"]);
    let guard = Guarded::new(&home);
    let big = "a".repeat(LIMIT + 1);
    let big_file = home.file("big.txt");
    std::fs::write(&big_file, &big).unwrap();
    let refused = |stderr: &str| {
        assert_one_line(stderr, &["(a write over the limit)"]);
        assert!(
            stderr.contains("over the limit of 256 KiB") && stderr.contains("tandem resource add"),
            "{stderr}"
        );
    };
    // The quick path (a plain note) and the ordinary one (a note about a goal).
    for args in [
        vec!["note", "add", "-"],
        vec!["note", "add", "-", "--goal", &goal],
    ] {
        let out = home.with_stdin(&big).run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        refused(&String::from_utf8_lossy(&out.stderr));
    }
    // An edit in $EDITOR.
    let editor = format!("cp '{}'", path_str(&big_file));
    let out = home.with_editor(&editor).run(&["goal", "edit", &goal]);
    assert_eq!(out.status.code(), Some(1));
    refused(&String::from_utf8_lossy(&out.stderr));
    guard.assert_undamaged();
    // Exactly the limit is fine.
    home.with_stdin(&big[1..]).ok(&["note", "add", "-"]);
}

// ----- everything editable, everything restorable -----

#[test]
fn every_kind_can_be_changed_archived_and_restored() {
    let home = Home::new();
    home.init("Edits", "Ana", "mentor");
    let goal = home.add(&["goal", "add", "Learn Rust"]);
    let other = home.add(&["goal", "add", "Ship a CLI"]);
    let milestone = home.add(&["milestone", "add", &goal, "Read the book"]);
    let note = home.add(&["note", "add", "Chapter 4 is hard", "--tag", "rust"]);
    let checkin = home.add(&["checkin", "add", "--at", "2026-12-03 14:00"]);
    let action = home.add(&["action", "add", "Read chapter 4"]);
    let resource = home.add(&[
        "resource",
        "add",
        "The Book",
        "https://doc.rust-lang.org/book/",
    ]);

    let m = home.json(&[
        "milestone",
        "set",
        &goal,
        &milestone,
        "--title",
        "Read the whole book",
        "--due",
        "2026-12-20",
    ]);
    assert_eq!(text(&m, "title"), "Read the whole book");
    assert_eq!(text(&m, "due"), "2026-12-20");
    let n = home.json(&[
        "note",
        "set",
        &note,
        "--title",
        "Ownership",
        "--goal",
        &goal,
        "--tag",
        "book",
        "--tag",
        "hard",
    ]);
    assert_eq!(text(&n, "title"), "Ownership");
    assert_eq!(text(&n, "goal"), goal);
    assert_eq!(n["tags"], serde_json::json!(["book", "hard"]));
    let c = home.json(&[
        "checkin",
        "set",
        &checkin,
        "--at",
        "2026-12-04 15:30",
        "--agenda",
        "Borrowing",
        "--notes",
        "Went well",
        "--link",
        "https://meet.example/ana-ben",
    ]);
    assert_eq!(text(&c, "at"), "2026-12-04T15:30:00Z");
    assert_eq!(text(&c, "agenda"), "Borrowing");
    assert_eq!(text(&c, "notes"), "Went well");
    assert_eq!(text(&c, "meeting_link"), "https://meet.example/ana-ben");
    assert!(home
        .ok(&["checkin", "show", &checkin])
        .contains("link: https://meet.example/ana-ben"));
    let a = home.json(&[
        "action",
        "set",
        &action,
        "--title",
        "Read chapter 5",
        "--owner",
        "Ana",
        "--due",
        "2026-12-01",
        "--goal",
        &other,
    ]);
    assert_eq!(text(&a, "title"), "Read chapter 5");
    assert_eq!(text(&a, "owner"), "Ana");
    assert_eq!(text(&a, "due"), "2026-12-01");
    assert_eq!(text(&a, "goal"), other);
    let r = home.json(&[
        "resource",
        "set",
        &resource,
        "--title",
        "The Rust Book",
        "--url",
        "https://rust-book.cs.brown.edu/",
        "--note",
        "The interactive edition",
    ]);
    assert_eq!(text(&r, "title"), "The Rust Book");
    assert_eq!(text(&r, "url"), "https://rust-book.cs.brown.edu/");
    assert_eq!(text(&r, "note"), "The interactive edition");
    // A set with nothing to set says what could be given.
    let (code, stderr) = home.fails(&["resource", "set", &resource]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--title, --url, --note"), "{stderr}");

    // Archive everything, see it marked under --all, restore it.
    let lists: [(&str, &str); 5] = [
        ("goal", goal.as_str()),
        ("note", note.as_str()),
        ("checkin", checkin.as_str()),
        ("action", action.as_str()),
        ("resource", resource.as_str()),
    ];
    for (kind, id) in lists {
        assert_eq!(
            home.json(&[kind, "archive", id])["archived"],
            true,
            "{kind}"
        );
        let rows = home.ok(&[kind, "list", "--all"]);
        let row = rows.lines().find(|l| l.contains(prefix(id, 8))).unwrap();
        assert!(row.contains("(archived)"), "{kind}: {row}");
        assert!(!home.ok(&[kind, "list"]).contains(prefix(id, 8)), "{kind}");
        assert_eq!(
            home.json(&[kind, "restore", id])["archived"],
            false,
            "{kind}"
        );
        assert!(!home.ok(&[kind, "list"]).contains("(archived)"), "{kind}");
    }
    let archived = home.json(&["milestone", "archive", &goal, &milestone]);
    assert_eq!(archived["archived"], true);
    assert_eq!(
        home.json(&["goal", "show", &goal])["milestones"][0]["archived"],
        true
    );
    assert!(home.ok(&["goal", "list"]).contains("no milestones"));
    home.ok(&["milestone", "restore", &goal, &milestone]);
    assert!(home.ok(&["goal", "list"]).contains("0/1"));
}
