//! End-to-end tests of measuring how a mentoring pair is doing, with the real `tandem` binary in
//! temporary homes: the rhythm of check-ins and pulse surveys, `checkin add --repeat`, the pulse
//! survey (due, answered, merged across two homes), kudos and career steps in `plan` and
//! `export`, `plan --all`, and the iCalendar export.
//!
//! The clock is pinned with TANDEM_NOW (the workspace is made at [`tandem_tests::NOW`]); a
//! command run "later" overrides it.

use serde_json::Value;
use tandem_tests::{exchange, join_from_bundle, pair, path_str, usage_error, user_error, Home};

// ----- helpers -----

/// `tandem --json ARGS` at the instant `at`.
fn json_at(home: &Home, at: &str, args: &[&str]) -> Value {
    home.call().env("TANDEM_NOW", at).json(args)
}

/// `tandem ARGS` at the instant `at`, which must succeed; its standard output.
fn ok_at(home: &Home, at: &str, args: &[&str]) -> String {
    home.call().env("TANDEM_NOW", at).ok(args)
}

/// Ben's first career step, from intern to junior on 2026-11-20, which the career-step tests
/// then change; returns its id.
fn bens_step_from_intern_to_junior(ben: &Home) -> String {
    ben.add(&[
        "progress",
        "add",
        "--date",
        "2026-11-20",
        "--from",
        "Intern",
        "--to",
        "Junior",
    ])
}

/// 31 days after the workspace was made: the first survey period.
const A_MONTH_LATER: &str = "2026-12-29T10:00:00Z";

const ANSWERS: [&str; 6] = ["--progress", "4", "--relationship", "5", "--recommend", "3"];

// ----- the rhythm -----

#[test]
fn the_rhythm_defaults_to_two_weeks_and_a_month_and_only_a_mentor_sets_it() {
    let (ana, ben) = pair();
    let rhythm = ana.json(&["rhythm"]);
    assert_eq!(
        rhythm,
        serde_json::json!({"checkin_rhythm_days": 14, "survey_rhythm_days": 30})
    );
    let refused = user_error(&ben, &["rhythm", "--checkins", "7"]);
    assert!(refused.contains("only mentors"), "{refused}");
    assert_eq!(ben.json(&["rhythm"])["checkin_rhythm_days"], 14);
    let set = ana.json(&["rhythm", "--checkins", "7", "--surveys", "60"]);
    assert_eq!(
        set,
        serde_json::json!({"checkin_rhythm_days": 7, "survey_rhythm_days": 60})
    );
    for bad in ["0", "366", "often"] {
        let err = usage_error(&ana, &["rhythm", "--checkins", bad]);
        assert!(err.contains("from 1 to 365"), "{err}");
    }
    exchange(&ana, &ben);
    assert_eq!(ben.json(&["rhythm"]), set);
    // The plan says when the next check-in is due: a rhythm after the workspace was made.
    let plan = ana.json(&["plan"]);
    assert_eq!(plan["rhythm"]["checkin_rhythm_days"], 7);
    assert_eq!(plan["rhythm"]["next_checkin_due"], "2026-12-05T10:00:00Z");
    assert_eq!(plan["rhythm"]["overdue_days"], 0);
    let text = ana.ok(&["plan"]);
    assert!(
        text.contains("Next check-in due Sat 5 Dec (in 7 days)"),
        "{text}"
    );
    let late = json_at(&ana, "2026-12-09T12:00:00Z", &["plan"]);
    assert_eq!(late["rhythm"]["overdue_days"], 4);
    let text = ok_at(&ana, "2026-12-09T12:00:00Z", &["plan"]);
    assert!(text.contains("Check-in overdue by 4 days"), "{text}");
}

#[test]
fn checkin_add_repeat_schedules_the_next_one_a_rhythm_after_the_latest() {
    let (ana, _ben) = pair();
    // With no check-in yet, the next is a rhythm from now.
    let first = ana.json(&["checkin", "add", "--repeat"]);
    assert_eq!(first["at"], "2026-12-12T10:00:00Z");
    ana.ok(&["checkin", "archive", first["id"].as_str().unwrap()]);
    ana.ok(&[
        "checkin",
        "add",
        "--at",
        "2026-11-20T15:30:00Z",
        "--link",
        "https://meet.example/ana-ben",
    ]);
    let next = ana.json(&["checkin", "add", "--repeat", "--agenda", "Follow-up"]);
    assert_eq!(next["at"], "2026-12-04T15:30:00Z");
    assert_eq!(next["meeting_link"], "https://meet.example/ana-ben");
    assert_eq!(next["agenda"], "Follow-up");
    assert_eq!(next["id"].as_str().unwrap().len(), 16);
    ana.ok(&["rhythm", "--checkins", "7"]);
    let after = ana.json(&["checkin", "add", "--repeat"]);
    assert_eq!(after["at"], "2026-12-11T15:30:00Z");
    usage_error(
        &ana,
        &["checkin", "add", "--repeat", "--at", "2026-12-01 10:00"],
    );
}

// ----- the pulse survey -----

#[test]
fn a_survey_is_due_after_a_rhythm_and_not_once_answered() {
    let (ana, _ben) = pair();
    // Not due in the first period.
    assert_eq!(ana.json(&["plan"])["survey_due"], false);
    assert!(!ana.ok(&["plan"]).contains("Pulse survey due"));
    let plan = json_at(&ana, A_MONTH_LATER, &["plan"]);
    assert_eq!(plan["survey_due"], true);
    let text = ok_at(&ana, A_MONTH_LATER, &["plan"]);
    assert!(
        text.contains("Pulse survey due — run `tandem survey`"),
        "{text}"
    );
    let mut args = vec!["survey"];
    args.extend_from_slice(&ANSWERS);
    args.extend_from_slice(&["--comment", "a good month"]);
    let answer = json_at(&ana, A_MONTH_LATER, &args);
    assert_eq!(answer["period"], 1);
    assert_eq!(answer["progress"], 4);
    assert_eq!(answer["comment"], "a good month");
    assert!(answer["id"].as_str().unwrap().ends_with(":1"), "{answer}");
    assert_eq!(json_at(&ana, A_MONTH_LATER, &["plan"])["survey_due"], false);
    // Answering again in the same period rewrites the one answer.
    let mut again = vec!["survey", "--progress", "2", "--relationship", "5"];
    again.extend_from_slice(&["--recommend", "4"]);
    json_at(&ana, A_MONTH_LATER, &again);
    let shown = json_at(&ana, A_MONTH_LATER, &["survey", "--show"]);
    assert_eq!(shown.as_array().unwrap().len(), 1, "{shown}");
    assert_eq!(shown[0]["progress"], 2);
    // The next period asks again.
    assert_eq!(
        json_at(&ana, "2027-01-28T10:00:00Z", &["plan"])["survey_due"],
        true
    );
}

#[test]
fn survey_answers_out_of_range_or_incomplete_are_usage_errors() {
    let (ana, _ben) = pair();
    let err = usage_error(
        &ana,
        &[
            "survey",
            "--progress",
            "6",
            "--relationship",
            "5",
            "--recommend",
            "3",
        ],
    );
    assert!(err.contains("from 1 to 5"), "{err}");
    usage_error(&ana, &["survey", "--progress", "0"]);
    usage_error(&ana, &["survey", "--progress", "4", "--relationship", "4"]);
    // Without flags and without a terminal there is no one to ask.
    let err = usage_error(&ana, &["survey"]);
    assert!(err.contains("--progress"), "{err}");
    let (code, stderr) = ana.fails(&["--json", "survey"]);
    assert_eq!(code, 2);
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["code"], "usage");
}

#[test]
fn two_people_answering_the_same_period_in_two_homes_keep_both_answers() {
    let (ana, ben) = pair();
    let mut args = vec!["survey"];
    args.extend_from_slice(&ANSWERS);
    json_at(&ana, A_MONTH_LATER, &args);
    let mut bens = vec!["survey", "--progress", "5", "--relationship", "4"];
    bens.extend_from_slice(&["--recommend", "5", "--comment", "learning a lot"]);
    json_at(&ben, A_MONTH_LATER, &bens);
    exchange(&ana, &ben);
    for home in [&ana, &ben] {
        let answers = json_at(home, A_MONTH_LATER, &["survey", "--show"]);
        let names: Vec<&str> = answers
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Ana", "Ben"], "{answers}");
        assert_eq!(answers[1]["comment"], "learning a lot");
        assert_eq!(json_at(home, A_MONTH_LATER, &["plan"])["survey_due"], false);
    }
    let text = ok_at(&ana, A_MONTH_LATER, &["survey", "--show"]);
    assert!(text.contains("learning a lot"), "{text}");
}

// ----- wins, kudos and career steps -----

#[test]
fn kudos_goals_done_and_career_steps_show_in_plan_and_export() {
    let (ana, ben) = pair();
    let goal = ana.add(&["goal", "add", "Give a conference talk"]);
    exchange(&ana, &ben);
    let kudos = ben.json(&[
        "kudos",
        "ana",
        "Thanks for the review, it helped",
        "--goal",
        &goal[..6],
    ]);
    assert_eq!(kudos["from_name"], "Ben");
    assert_eq!(kudos["to_name"], "Ana");
    assert_eq!(kudos["goal"], goal.as_str());
    assert_eq!(kudos["id"].as_str().unwrap().len(), 16);
    let err = user_error(&ben, &["kudos", "Zed", "hi"]);
    assert!(err.contains("participant"), "{err}");
    let step = ben.json(&[
        "progress",
        "add",
        "--date",
        "2026-11-20",
        "--from",
        "Junior developer",
        "--to",
        "Developer",
        "--note",
        "after the review",
    ]);
    assert_eq!(step["name"], "Ben");
    assert_eq!(step["role_after"], "Developer");
    let steps = ben.json(&["progress", "list"]);
    assert_eq!(steps.as_array().unwrap().len(), 1);
    usage_error(
        &ben,
        &[
            "progress", "add", "--date", "soon", "--from", "a", "--to", "b",
        ],
    );
    exchange(&ana, &ben);
    ana.ok(&["goal", "set", &goal, "--status", "done"]);

    let plan = ana.json(&["plan"]);
    let kinds: Vec<&str> = plan["wins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"goal_done"), "{kinds:?}");
    assert!(kinds.contains(&"kudos"), "{kinds:?}");
    assert_eq!(plan["career_steps"][0]["role_before"], "Junior developer");
    let text = ana.ok(&["plan"]);
    assert!(text.contains("Goal done: Give a conference talk"), "{text}");
    assert!(
        text.contains("Kudos from Ben to Ana: Thanks for the review"),
        "{text}"
    );
    assert!(text.contains("Ben: Junior developer → Developer"), "{text}");

    let md = ana.ok(&["export", "--format", "md"]);
    for expected in [
        "## Wins",
        "Goal done: Give a conference talk",
        "## Kudos",
        "Ben → Ana: Thanks for the review, it helped",
        "## Career steps",
        "2026-11-20 Ben: Junior developer → Developer — after the review",
        "## Pulse surveys",
    ] {
        assert!(md.contains(expected), "missing {expected:?} in:\n{md}");
    }
    // The JSON export carries the new collections.
    let json = ana.export_json();
    assert_eq!(json["kudos"].as_array().unwrap().len(), 1);
    assert_eq!(json["career_steps"].as_array().unwrap().len(), 1);
    assert_eq!(json["settings"]["checkin_rhythm_days"], 14);
}

// ----- kudos and career steps looked after -----

#[test]
fn kudos_are_listed_reworded_archived_and_restored_by_their_author_or_a_mentor() {
    let (ana, ben) = pair();
    let goal = ana.add(&["goal", "add", "Give a conference talk"]);
    exchange(&ana, &ben);
    let from_ben = ben.add(&["kudos", "Ana", "Thanks for the review"]);
    let from_ana = ana.add(&["kudos", "ben", "Great demo", "--goal", &goal[..6]]);
    exchange(&ana, &ben);
    let listed = ben.json(&["kudos", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let text = ben.ok(&["kudos", "list"]);
    assert!(text.contains("Ben → Ana: Thanks for the review"), "{text}");
    assert!(text.contains(&format!("(goal {})", &goal[..8])), "{text}");

    // Only the author rewords kudos; the author or a mentor archives and restores them.
    let err = user_error(&ana, &["kudos", "set", &from_ben[..6], "--text", "Hi"]);
    assert!(err.contains("only the kudos' author"), "{err}");
    let set = ben.json(&[
        "kudos",
        "set",
        &from_ben[..6],
        "--text",
        "Thanks, it helped",
    ]);
    assert_eq!(set["text"], "Thanks, it helped");
    let err = user_error(&ben, &["kudos", "set", &from_ben, "--goal", "zzzz"]);
    assert!(err.contains("goal"), "{err}");
    let err = user_error(&ben, &["kudos", "set", &from_ben]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = user_error(&ben, &["kudos", "archive", &from_ana]);
    assert!(
        err.contains("only the kudos' author or a mentor can archive"),
        "{err}"
    );
    let archived = ben.json(&["kudos", "archive", &from_ben[..6]]);
    assert_eq!(archived["archived"], true);
    assert_eq!(ben.json(&["kudos", "list"]).as_array().unwrap().len(), 1);
    let all = ben.json(&["kudos", "list", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let text = ben.ok(&["kudos", "list", "--all"]);
    let row = text
        .lines()
        .find(|l| l.contains("Thanks, it helped"))
        .unwrap();
    assert!(row.ends_with("(archived)"), "{text}");
    exchange(&ana, &ben);
    // Archived kudos are no win.
    let plan = ana.json(&["plan"]);
    let texts: Vec<&str> = plan["wins"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["title"].as_str())
        .collect();
    assert!(!texts.iter().any(|t| t.contains("it helped")), "{plan}");
    // A mentor restores anyone's kudos.
    let restored = ana.json(&["kudos", "restore", &from_ben]);
    assert_eq!(restored["archived"], false);
    assert!(ana
        .ok(&["kudos", "restore", &from_ben])
        .contains("Restored kudos"));
    let err = user_error(&ana, &["kudos", "archive", "ffffffffff"]);
    assert!(err.contains("kudos"), "{err}");
    // The giving form is unchanged, and a bare `kudos` is still a usage error.
    assert_eq!(ana.json(&["kudos", "Ben", "And again"])["to_name"], "Ben");
    usage_error(&ana, &["kudos"]);
    usage_error(&ana, &["kudos", "Ben"]);
}

#[test]
fn career_steps_are_set_field_by_field_and_archived_by_their_person_or_a_mentor() {
    let (ana, ben) = pair();
    let step = bens_step_from_intern_to_junior(&ben);
    let anas = ana.add(&[
        "progress",
        "add",
        "--date",
        "2026-10-01",
        "--from",
        "Senior",
        "--to",
        "Lead",
    ]);
    let set = ben.json(&["progress", "set", &step[..6], "--date", "2026-11-21"]);
    assert_eq!(set["date"], "2026-11-21");
    assert_eq!(set["role_before"], "Intern");
    let set = ben.json(&[
        "progress",
        "set",
        &step,
        "--from",
        "Junior developer",
        "--to",
        "Developer",
        "--note",
        "after the review",
    ]);
    assert_eq!(
        (&set["role_before"], &set["role_after"], &set["note"]),
        (
            &Value::from("Junior developer"),
            &Value::from("Developer"),
            &Value::from("after the review")
        )
    );
    let said = ben.ok(&[
        "progress",
        "set",
        &step,
        "--note",
        "after the yearly review",
    ]);
    assert!(
        said.contains("Updated career step") && said.contains("Ben: Junior developer → Developer"),
        "{said}"
    );
    let err = user_error(&ben, &["progress", "set", &step]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = user_error(&ben, &["progress", "set", &step, "--to", " "]);
    assert!(err.contains("role after"), "{err}");
    usage_error(&ben, &["progress", "set", &step, "--date", "soon"]);
    let err = user_error(&ben, &["progress", "set", "zzzz", "--to", "CTO"]);
    assert!(err.contains("career step"), "{err}");

    exchange(&ana, &ben);
    let err = user_error(&ben, &["progress", "archive", &anas]);
    assert!(
        err.contains("only the person whose career step it is or a mentor can archive"),
        "{err}"
    );
    // Rewriting follows the same rule: Ben cannot reword Ana's step, a mentor can reword his.
    let err = user_error(&ben, &["progress", "set", &anas, "--to", "CTO"]);
    assert!(
        err.contains("only the person whose career step it is or a mentor can change it"),
        "{err}"
    );
    let reworded = ana.json(&["progress", "set", &step, "--note", "after the review, 2026"]);
    assert_eq!(reworded["note"], "after the review, 2026");
    exchange(&ana, &ben);
    // The person whose step it is archives it; a mentor restores it.
    assert_eq!(ben.json(&["progress", "archive", &step])["archived"], true);
    assert_eq!(ben.json(&["progress", "list"]).as_array().unwrap().len(), 1);
    let all = ben.json(&["progress", "list", "--all"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let text = ben.ok(&["progress", "list", "--all"]);
    let row = text.lines().find(|l| l.contains("Developer")).unwrap();
    assert!(row.ends_with("(archived)"), "{text}");
    exchange(&ana, &ben);
    assert!(ana.json(&["plan"])["career_steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["id"] != step.as_str()));
    assert_eq!(
        ana.json(&["progress", "restore", &step[..6]])["archived"],
        false
    );
    assert_eq!(ana.json(&["progress", "list"]).as_array().unwrap().len(), 2);
}

// ----- conflicts in the new collections -----

/// Every home exports a bundle, then every other home imports it.
fn exchange_all(homes: &[&Home]) {
    let bundles: Vec<_> = homes.iter().map(|h| h.bundle("out.tandem")).collect();
    for (i, bundle) in bundles.iter().enumerate() {
        for (j, home) in homes.iter().enumerate() {
            if i != j {
                home.ok(&["bundle", "import", path_str(bundle)]);
            }
        }
    }
}

/// The (value, author) pairs `tandem conflicts --json` lists for one field of one item of
/// `kind`, values of any type shown as text, sorted; empty when there is none.
fn conflict(conflicts: &Value, kind: &str, id: &str, field: &str) -> Vec<(String, String)> {
    let found: Vec<&Value> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind && c["id"] == id && c["field"] == field)
        .collect();
    assert!(found.len() <= 1, "one entry per field: {conflicts}");
    let mut values: Vec<(String, String)> = found
        .iter()
        .flat_map(|c| c["values"].as_array().unwrap())
        .map(|v| {
            let value = match &v["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (value, v["author"].as_str().unwrap().to_string())
        })
        .collect();
    values.sort();
    values
}

/// Answer the pulse survey of the first period, 5 for the relationship and for recommending.
fn answer(home: &Home, progress: &str, comment: &str) -> Value {
    let args = ["survey", "--progress", progress, "--relationship", "5"];
    let more = ["--recommend", "5", "--comment", comment];
    json_at(home, A_MONTH_LATER, &[&args[..], &more[..]].concat())
}

fn pairs(a: (&str, &str), b: (&str, &str)) -> Vec<(String, String)> {
    let mut v = vec![
        (a.0.to_string(), a.1.to_string()),
        (b.0.to_string(), b.1.to_string()),
    ];
    v.sort();
    v
}

#[test]
fn concurrent_changes_to_rhythms_surveys_kudos_and_career_steps_are_conflicts_until_set_again() {
    let (ana, ben) = pair();
    exchange(&ana, &ben);
    // A second device of Ana's.
    let tablet = Home::new();
    join_from_bundle(&ana, &tablet, "Ana", "mentor");
    let talk = ana.add(&["goal", "add", "Give a talk"]);
    let post = ana.add(&["goal", "add", "Write a post"]);
    let kudos = ana.add(&["kudos", "Ben", "Great demo"]);
    let step = bens_step_from_intern_to_junior(&ben);
    exchange_all(&[&ana, &ben, &tablet]);
    assert_eq!(tablet.json(&["conflicts"]), Value::Array(vec![]));

    // Offline, concurrently: the step's date and first role set by Ana and by Ben…
    ana.ok(&[
        "progress",
        "set",
        &step,
        "--date",
        "2026-11-03",
        "--from",
        "Trainee",
    ]);
    ben.ok(&[
        "progress",
        "set",
        &step,
        "--date",
        "2026-11-04",
        "--from",
        "Graduate",
    ]);
    // …and, on Ana's two devices, the goal of her kudos, the check-in rhythm and her answers to
    // the same period's survey.
    ana.ok(&["kudos", "set", &kudos, "--goal", &talk]);
    tablet.ok(&["kudos", "set", &kudos, "--goal", &post]);
    ana.ok(&["rhythm", "--checkins", "10"]);
    tablet.ok(&["rhythm", "--checkins", "21"]);
    let key = answer(&ana, "4", "good month")["id"]
        .as_str()
        .unwrap()
        .to_string();
    answer(&tablet, "2", "hard month");
    exchange_all(&[&ana, &ben, &tablet]);

    for home in [&ana, &ben, &tablet] {
        let conflicts = home.json(&["conflicts"]);
        assert_eq!(
            conflict(&conflicts, "career step", &step, "date"),
            pairs(("2026-11-03", "Ana"), ("2026-11-04", "Ben"))
        );
        assert_eq!(
            conflict(&conflicts, "career step", &step, "role_before"),
            pairs(("Trainee", "Ana"), ("Graduate", "Ben"))
        );
        assert_eq!(
            conflict(&conflicts, "kudos", &kudos, "goal"),
            pairs((&talk, "Ana"), (&post, "Ana"))
        );
        assert_eq!(
            conflict(&conflicts, "settings", "", "checkin_rhythm_days"),
            pairs(("10", "Ana"), ("21", "Ana"))
        );
        assert_eq!(
            conflict(&conflicts, "survey answer", &key, "progress"),
            pairs(("4", "Ana"), ("2", "Ana"))
        );
        assert_eq!(
            conflict(&conflicts, "survey answer", &key, "comment"),
            pairs(("good month", "Ana"), ("hard month", "Ana"))
        );
        // Nothing else: the answers given alike, and when each was given, are no conflict.
        assert_eq!(conflicts.as_array().unwrap().len(), 6, "{conflicts}");
        assert_eq!(home.json(&["plan"])["conflicts"], 6);
        let listing = home.ok(&["conflicts"]);
        // The step is titled by its roles as shown now, whichever first role that is.
        for expected in [
            "career step",
            " → Junior”",
            "kudos",
            "“Great demo”",
            "settings",
            "checkin_rhythm_days",
            "survey answer",
            "“Ana, period 1”",
            "“hard month”",
        ] {
            assert!(
                listing.contains(expected),
                "missing {expected:?} in:\n{listing}"
            );
        }
    }
    // Every device shows the same values meanwhile.
    let shown = |h: &Home| {
        (
            h.json(&["rhythm"]),
            h.json(&["progress", "list"]),
            h.json(&["kudos", "list"]),
            json_at(h, A_MONTH_LATER, &["survey", "--show"]),
        )
    };
    assert_eq!(shown(&ana), shown(&ben));
    assert_eq!(shown(&ana), shown(&tablet));

    // Setting each field again, on any device, resolves its conflict everywhere.
    ben.ok(&[
        "progress",
        "set",
        &step,
        "--date",
        "2026-11-05",
        "--from",
        "Graduate",
    ]);
    ana.ok(&["kudos", "set", &kudos, "--goal", &post]);
    tablet.ok(&["rhythm", "--checkins", "14"]);
    answer(&ana, "3", "so-so");
    exchange_all(&[&ana, &ben, &tablet]);
    for home in [&ana, &ben, &tablet] {
        assert_eq!(home.json(&["conflicts"]), Value::Array(vec![]));
        assert_eq!(home.json(&["rhythm"])["checkin_rhythm_days"], 14);
        let steps = home.json(&["progress", "list"]);
        assert_eq!(steps[0]["date"], "2026-11-05");
        assert_eq!(steps[0]["role_before"], "Graduate");
        assert_eq!(home.json(&["kudos", "list"])[0]["goal"], post.as_str());
        let answers = json_at(home, A_MONTH_LATER, &["survey", "--show"]);
        assert_eq!(answers.as_array().unwrap().len(), 1, "{answers}");
        assert_eq!(
            (&answers[0]["progress"], &answers[0]["comment"]),
            (&Value::from(3), &Value::from("so-so"))
        );
    }
}

// ----- plan --all -----

#[test]
fn plan_all_lists_every_workspace_on_the_device() {
    let home = Home::new();
    home.init("Ana & Ben", "Ana", "mentor");
    home.add(&["action", "add", "Send the slides", "--due", "2026-11-01"]);
    home.init("Ana & Cleo", "Ana", "mentor");
    let all = home.json(&["plan", "--all"]);
    let rows = all.as_array().expect("an array");
    assert_eq!(rows.len(), 2, "{all}");
    let row = |title: &str| {
        rows.iter()
            .find(|r| r["title"] == title)
            .unwrap_or_else(|| panic!("no {title} in {all}"))
    };
    assert_eq!(row("Ana & Ben")["overdue_actions"], 1);
    assert_eq!(row("Ana & Cleo")["overdue_actions"], 0);
    assert_eq!(row("Ana & Cleo")["current"], true);
    assert_eq!(row("Ana & Ben")["next_checkin_due"], "2026-12-12T10:00:00Z");
    assert_eq!(row("Ana & Ben")["survey_due"], false);
    let later = json_at(&home, A_MONTH_LATER, &["plan", "--all"]);
    for r in later.as_array().unwrap() {
        assert_eq!(r["survey_due"], true);
        assert_eq!(r["overdue_days"], 17);
    }
    let text = ok_at(&home, A_MONTH_LATER, &["plan", "--all"]);
    assert!(
        text.contains("Ana & Ben") && text.contains("Ana & Cleo"),
        "{text}"
    );
    assert!(text.contains("1 overdue action"), "{text}");
    assert!(text.contains("pulse survey due"), "{text}");
}

// ----- iCalendar -----

/// The content lines of an iCalendar text, unfolded: every line ends in CRLF and is at most 75
/// octets; a line starting with a space continues the one before.
fn unfold(ics: &str) -> Vec<String> {
    assert!(ics.ends_with("\r\n"), "{ics:?}");
    let mut lines: Vec<String> = Vec::new();
    for raw in ics.trim_end_matches("\r\n").split("\r\n") {
        assert!(raw.len() <= 75, "{} octets: {raw:?}", raw.len());
        assert!(!raw.contains('\n'), "a bare line feed in {raw:?}");
        match raw.strip_prefix(' ') {
            Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
            None => lines.push(raw.to_string()),
        }
    }
    lines
}

/// A text value with RFC 5545's escapes undone.
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_ics_export_is_a_calendar_of_check_ins_with_escaped_folded_text() {
    let (ana, _ben) = pair();
    let agenda = format!(
        "Goals, plans; and the talk\nThen: {}",
        "the long review of every milestone ".repeat(4)
    );
    let c = ana.json(&[
        "checkin",
        "add",
        "--at",
        "2026-12-01T14:00:00Z",
        "--agenda",
        &agenda,
        "--link",
        "https://meet.example/ana-ben",
    ]);
    let archived = ana.add(&["checkin", "add", "--at", "2026-12-08T14:00:00Z"]);
    ana.ok(&["checkin", "archive", &archived]);
    let ics = ana.ok(&["export", "--format", "ics"]);
    let lines = unfold(&ics);
    assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
    assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
    assert!(lines.contains(&"VERSION:2.0".to_string()));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let begins = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
    let ends = lines.iter().filter(|l| *l == "END:VEVENT").count();
    assert_eq!((begins, ends), (1, 1), "the archived check-in is left out");
    let value = |name: &str| {
        let prefix = format!("{name}:");
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {lines:#?}"))
            .to_string()
    };
    assert_eq!(
        value("UID"),
        format!("{}@tandem", c["id"].as_str().unwrap())
    );
    assert_eq!(value("DTSTART"), "20261201T140000Z");
    assert_eq!(value("DTEND"), "20261201T150000Z");
    assert_eq!(value("SUMMARY"), "Check-in: Ana & Ben");
    assert_eq!(value("URL"), "https://meet.example/ana-ben");
    assert_eq!(value("LOCATION"), "https://meet.example/ana-ben");
    let description = value("DESCRIPTION");
    assert!(
        description.starts_with("Goals\\, plans\\; and the talk\\nThen:"),
        "{description}"
    );
    assert_eq!(unescape(&description), agenda);
    // The description was long enough to fold.
    assert!(ics.contains("\r\n "), "{ics}");
}
