//! The coordinators' program report: `GET /v1/program` on the real relay and `tandem program`.
//!
//! A program of pairs with known activity is written into a relay's data directory with
//! tandem-core, then the relay is started on it. Every content field of every workspace holds
//! the same secret string, which must never reach the report (as JSON, CSV or table) or the
//! relay's log at trace level. A program token must open nothing through sync, nor touch
//! invites, nor learn more from `/health`; read and write tokens must not read the report.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tandem_core::automerge::transaction::Transactable;
use tandem_core::automerge::{AutoCommit, ROOT};
use tandem_core::jiff::Timestamp;
use tandem_core::model::{
    GoalChanges, GoalStatus, Kind, NewAction, NewCareerStep, NewGoal, NewKudos, NewNote, NewSurvey,
    SettingsChanges, Workspace,
};
use tandem_core::protocol::{DocumentId, Message};
use tandem_core::sync::ClientSession;
use tandem_tests::program::{days, http, store_docs, Pair};
use tandem_tests::{Home, Relay};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Written into every content field of every workspace.
const SECRET: &str = "Xq7-confidential-zebra";

/// The pairs of the program, by title.
struct Program {
    relay: Relay,
    ana_ben: String,
    cleo_dan: String,
    eve_finn: String,
    gil_hana: String,
    other: String,
}

/// Every kind of content a workspace holds, each holding the secret.
fn fill_with_content(ws: &mut Workspace) -> tandem_core::model::ItemId {
    let goal = ws
        .add_goal(NewGoal {
            title: format!("goal {SECRET}"),
            description: Some(format!("why {SECRET}")),
            ..Default::default()
        })
        .unwrap();
    ws.add_milestone(&goal, &format!("step {SECRET}"), None)
        .unwrap();
    ws.add_note(NewNote {
        title: Some(format!("note {SECRET}")),
        body: format!("body {SECRET}"),
        goal: Some(goal.clone()),
        tags: vec![format!("tag-{SECRET}")],
    })
    .unwrap();
    ws.add_resource(
        &format!("book {SECRET}"),
        &format!("https://example.org/{SECRET}"),
        Some(&format!("read {SECRET}")),
    )
    .unwrap();
    goal
}

fn date(t: Timestamp) -> tandem_core::jiff::civil::Date {
    t.to_zoned_datetime(tandem_core::jiff::tz::TimeZone::UTC)
        .date()
}

/// What the people of a pair say about each other and their careers, each holding the secret.
fn kudos_and_career(ws: &mut Workspace, to: &str, step: Timestamp) {
    ws.give_kudos(NewKudos {
        to: to.to_string(),
        text: format!("thanks {SECRET}"),
        goal: None,
    })
    .unwrap();
    ws.add_career_step(NewCareerStep {
        participant: Some(to.to_string()),
        date: date(step),
        role_before: format!("junior {SECRET}"),
        role_after: format!("senior {SECRET}"),
        note: Some(format!("promoted {SECRET}")),
    })
    .unwrap();
}

/// The acting person's pulse survey, answered at the handle's time `at`.
fn survey(ws: &mut Workspace, at: Timestamp, answers: [i64; 3]) {
    ws.answer_survey(
        NewSurvey {
            progress: answers[0],
            relationship: answers[1],
            recommend: answers[2],
            comment: Some(format!("feel {SECRET}")),
        },
        date(at),
    )
    .unwrap();
}

fn checkin(ws: &mut Workspace, at: Timestamp) -> tandem_core::model::ItemId {
    let id = ws.add_checkin(at, &format!("agenda {SECRET}")).unwrap();
    ws.edit_checkin_notes(&id, &format!("notes {SECRET}"))
        .unwrap();
    ws.set_checkin(
        &id,
        tandem_core::model::CheckInChanges {
            link: Some(format!("https://meet.example/{SECRET}")),
            ..Default::default()
        },
    )
    .unwrap();
    id
}

fn action(ws: &mut Workspace, due: Option<Timestamp>) -> tandem_core::model::ItemId {
    ws.add_action(NewAction {
        title: format!("do {SECRET}"),
        due: due.map(date),
        ..Default::default()
    })
    .unwrap()
}

fn set_status(ws: &mut Workspace, goal: &tandem_core::model::ItemId, status: GoalStatus) {
    ws.set_goal(
        goal,
        GoalChanges {
            status: Some(status),
            ..Default::default()
        },
    )
    .unwrap();
}

/// Ana & Ben are doing well: regular check-ins rated higher lately, a good pulse, a promotion,
/// changes yesterday.
fn ana_ben(now: Timestamp) -> Pair {
    let mut p = Pair::new("Ana & Ben", "Ana", "Ben", days(now, -100));
    let (ana, ben) = (p.mentor.clone(), p.mentee.clone());
    let ws = p.at(days(now, -100), &ana);
    ws.set_settings(SettingsChanges {
        checkin_rhythm_days: Some(21),
        survey_rhythm_days: None,
    })
    .unwrap();
    kudos_and_career(ws, &ben, days(now, -30));
    kudos_and_career(ws, &ben, days(now, -400));
    let first = fill_with_content(ws);
    for status in [GoalStatus::Active, GoalStatus::Done, GoalStatus::Dropped] {
        let g = fill_with_content(ws);
        set_status(ws, &g, status);
    }
    let archived = fill_with_content(ws);
    ws.archive(Kind::Goal, &archived).unwrap();
    let extra = ws
        .add_milestone(&first, &format!("more {SECRET}"), None)
        .unwrap();
    ws.set_milestone_done(&first, &extra, true).unwrap();
    let gone = ws
        .add_milestone(&first, &format!("gone {SECRET}"), None)
        .unwrap();
    ws.archive_milestone(&first, &gone, true).unwrap();
    let c80 = checkin(ws, days(now, -80));
    let c50 = checkin(ws, days(now, -50));
    let c30 = checkin(ws, days(now, -30));
    let c5 = checkin(ws, days(now, -5));
    checkin(ws, days(now, 7));
    let dropped = checkin(ws, days(now, -2));
    ws.archive(Kind::CheckIn, &dropped).unwrap();
    for (c, r) in [(&c80, 3), (&c50, 4), (&c30, 5), (&c5, 4), (&dropped, 1)] {
        ws.rate_checkin(c, r, Some(&format!("said {SECRET}")))
            .unwrap();
    }
    let ws = p.at(days(now, -60), &ana);
    survey(ws, days(now, -60), [4, 4, 4]);
    action(ws, Some(days(now, -10)));
    action(ws, Some(days(now, 10)));
    action(ws, None);
    let done = action(ws, Some(days(now, -20)));
    ws.set_action_done(&done, true).unwrap();
    let archived = action(ws, Some(days(now, -20)));
    ws.archive(Kind::Action, &archived).unwrap();
    let ws = p.at(days(now, -1), &ben);
    ws.rate_checkin(&c30, 5, Some(&format!("ben {SECRET}")))
        .unwrap();
    survey(ws, days(now, -1), [5, 4, 3]);
    p
}

/// Cleo & Dan never met and nothing happened since the workspace was made two months ago.
fn cleo_dan(now: Timestamp) -> Pair {
    let mut p = Pair::new("Cleo & Dan", "Cleo", "Dan", days(now, -60));
    let cleo = p.mentor.clone();
    fill_with_content(p.at(days(now, -60), &cleo));
    p
}

/// Eve & Finn keep working but last met five weeks ago, and their pulse is low.
fn eve_finn(now: Timestamp) -> Pair {
    let mut p = Pair::new("Eve & Finn", "Eve", "Finn", days(now, -50));
    let (eve, finn) = (p.mentor.clone(), p.mentee.clone());
    let ws = p.at(days(now, -50), &eve);
    checkin(ws, days(now, -35));
    let ws = p.at(days(now, -2), &eve);
    fill_with_content(ws);
    kudos_and_career(ws, &finn, days(now, -3));
    survey(ws, days(now, -2), [2, 2, 1]);
    let ws = p.at(days(now, -2), &finn);
    survey(ws, days(now, -2), [2, 3, 2]);
    p
}

/// Gil & Hana just started and met last week.
fn gil_hana(now: Timestamp) -> Pair {
    let mut p = Pair::new("Gil & Hana", "Gil", "Hana", days(now, -10));
    let gil = p.mentor.clone();
    let ws = p.at(days(now, -10), &gil);
    fill_with_content(ws);
    checkin(ws, days(now, -7));
    p
}

/// The program, stored in a stopped relay's data directory, then the relay started on it with
/// every log line at trace level.
fn program() -> Program {
    let now = Timestamp::now();
    let mut relay = Relay::start_with(false, &[], &[("RUST_LOG", "trace")]);
    relay.stop();
    let pairs = [ana_ben(now), cleo_dan(now), eve_finn(now), gil_hana(now)];
    let ids: Vec<String> = pairs.iter().map(|p| p.id.clone()).collect();
    let mut docs: Vec<(String, AutoCommit)> = pairs.into_iter().map(Pair::into_doc).collect();
    // Another automerge-repo client's document on the same relay: not a workspace.
    let other = DocumentId::random().to_string();
    let mut foreign = AutoCommit::new();
    foreign.put(ROOT, "kind", "todo-list").unwrap();
    foreign.put(ROOT, "title", SECRET).unwrap();
    docs.push((other.clone(), foreign));
    store_docs(&relay.data(), docs);
    relay.start_again();
    Program {
        relay,
        ana_ben: ids[0].clone(),
        cleo_dan: ids[1].clone(),
        eve_finn: ids[2].clone(),
        gil_hana: ids[3].clone(),
        other,
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn pair<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the report: {report:#}"))
}

#[test]
fn the_program_report_counts_every_pair_and_never_shows_content() {
    let mut p = program();
    let relay = &p.relay;
    let token = relay.token(&["--all", "--role", "program", "--label", "coordinator"]);
    let (status, body) = http(relay.port(), "GET", "/v1/program", Some(&token), "");
    assert_eq!(status, 200, "{body}");
    let report = json(&body);

    let titles: Vec<&str> = report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Cleo & Dan", "Eve & Finn", "Ana & Ben", "Gil & Hana"],
        "at-risk pairs first, then by title; the foreign document left out"
    );
    assert_eq!(report["months"].as_array().unwrap().len(), 6);
    assert!(!body.contains(&p.other));

    let ana = pair(&report, &p.ana_ben);
    assert_eq!(
        ana["participants"],
        serde_json::json!([{"name": "Ana", "role": "mentor"}, {"name": "Ben", "role": "mentee"}])
    );
    assert_eq!(
        ana["goals"],
        serde_json::json!({"open": 1, "active": 1, "done": 1, "dropped": 1})
    );
    assert_eq!(
        ana["milestones"],
        serde_json::json!({"done": 1, "total": 5})
    );
    assert_eq!(ana["checkins_90d"], 4);
    assert_eq!(ana["checkin_rhythm_days"], 21);
    assert_eq!(ana["days_since_last_checkin"], 5);
    // Ratings 3, 4 | 5, 5, 4: the archived check-in's 1 never counts.
    assert_eq!(ana["rating_avg_90d"], 4.2);
    assert_eq!(ana["rating_trend"], 1.17);
    assert_eq!(ana["pulse_avg_90d"], 4.0);
    assert_eq!(ana["pulse_trend"], 0.0);
    assert_eq!(
        ana["career_steps_12m"], 1,
        "one step a month ago, one too old"
    );
    assert_eq!(ana["actions"], serde_json::json!({"open": 3, "overdue": 1}));
    let by_month: i64 = ana["checkins_by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(by_month, 4, "past check-ins by month");
    let last = ana["last_activity"].as_str().unwrap();
    let last: Timestamp = last.parse().unwrap();
    let age = Timestamp::now().duration_since(last).as_hours();
    assert!((23..=25).contains(&age), "last activity a day ago: {age} h");
    assert_eq!(ana["at_risk"], false);
    assert_eq!(ana["risk_reasons"], serde_json::json!([]));

    let cleo = pair(&report, &p.cleo_dan);
    assert!(cleo["days_since_last_checkin"].is_null());
    assert!(cleo["rating_avg_90d"].is_null());
    assert_eq!(cleo["at_risk"], true);
    assert_eq!(
        cleo["risk_reasons"],
        serde_json::json!(["no_recent_checkin", "inactive"])
    );
    let eve = pair(&report, &p.eve_finn);
    assert_eq!(eve["pulse_avg_90d"], 2.0);
    assert!(eve["pulse_trend"].is_null(), "no earlier answers");
    assert_eq!(eve["career_steps_12m"], 1);
    assert_eq!(eve["checkin_rhythm_days"], 14);
    assert_eq!(eve["days_since_last_checkin"], 35);
    assert_eq!(
        eve["risk_reasons"],
        serde_json::json!(["no_recent_checkin", "low_pulse"])
    );
    let gil = pair(&report, &p.gil_hana);
    assert_eq!(gil["at_risk"], false);
    assert_eq!(gil["checkins_90d"], 1);

    // The same again, now from the cache.
    let (status, again) = http(relay.port(), "GET", "/v1/program", Some(&token), "");
    assert_eq!(status, 200);
    let mut again = json(&again);
    again["generated_at"] = report["generated_at"].clone();
    assert_eq!(again, report);

    // A token scoped to two workspaces sees only them.
    let scoped = relay.token(&[
        "--workspace",
        &p.ana_ben,
        "--workspace",
        &p.gil_hana,
        "--role",
        "program",
    ]);
    let (status, body) = http(relay.port(), "GET", "/v1/program", Some(&scoped), "");
    assert_eq!(status, 200, "{body}");
    let ids: Vec<String> = json(&body)["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [p.ana_ben.clone(), p.gil_hana.clone()]);

    // The CLI: JSON as the relay sent it, CSV with a header row, a table with reasons in words.
    let home = Home::new();
    let url = relay.url();
    let cli_json = home.json(&["program", "--server", &url, "--token", &token]);
    assert_eq!(cli_json["workspaces"], report["workspaces"]);
    let csv = home.ok(&["program", "--server", &url, "--token", &token, "--csv"]);
    let rows: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows[0].starts_with("id,title,participants,"), "{csv}");
    assert!(
        rows[1].starts_with(&format!("{},Cleo & Dan,", p.cleo_dan)),
        "{csv}"
    );
    assert!(
        rows[1].ends_with(",true,no_recent_checkin;inactive"),
        "{csv}"
    );
    assert!(
        rows[2].ends_with(",true,no_recent_checkin;low_pulse"),
        "{csv}"
    );
    let table = home.ok(&["program", "--server", &url, "--token", &token]);
    assert!(table.starts_with("4 pairs, 2 at risk"), "{table}");
    let cleo_row = table.lines().find(|l| l.starts_with("Cleo & Dan")).unwrap();
    assert!(
        cleo_row.contains("no check-in yet; no change for 60 days"),
        "{table}"
    );
    let eve_row = table.lines().find(|l| l.starts_with("Eve & Finn")).unwrap();
    assert!(
        eve_row.contains("no check-in for 35 days (rhythm 14 days); low pulse (2.0 of 5)"),
        "{table}"
    );
    let rows: Vec<&str> = table.lines().filter(|l| l.contains(" & ")).collect();
    assert!(
        rows[0].starts_with("Cleo") && rows[1].starts_with("Eve"),
        "{table}"
    );

    let logs = p.relay.stop_and_logs();
    for (what, text) in [
        ("the report", body.as_str()),
        ("the JSON", &cli_json.to_string()),
        ("the CSV", &csv),
        ("the table", &table),
        ("the relay's log", &logs),
    ] {
        assert!(!text.contains(SECRET), "{what} shows content:\n{text}");
    }
    assert!(
        !logs.contains(&token) && !logs.contains(&scoped),
        "a token in the log"
    );
    assert!(
        logs.contains("program report"),
        "the report is logged by counts"
    );
}

/// Connect to the relay's websocket with `token`, join, and ask for `docs`: every answer.
async fn sync_with(url: &str, token: &str, docs: &[String]) -> Vec<Message> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("connect in time")
    .expect("the relay accepts a program token's connection");
    // A peer id of its own per connection: the relay refuses a second connection under an id
    // whose first one it has not seen close yet, which a busy machine makes likely.
    static CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut session = ClientSession::new(format!("coordinator-peer-{n}"), None);
    ws.send(WsMessage::Binary(session.join().encode().into()))
        .await
        .unwrap();
    let mut answers = Vec::new();
    let peer = next(&mut ws).await.expect("the relay answers join");
    session.receive(peer.clone()).unwrap();
    answers.push(peer);
    for id in docs {
        session.add_doc(id.clone(), AutoCommit::new(), None);
    }
    for message in session.start() {
        ws.send(WsMessage::Binary(message.encode().into()))
            .await
            .unwrap();
    }
    // Every document is answered, with `doc-unavailable` or with a sync message.
    let answered = |answers: &[Message]| {
        docs.iter().all(|d| {
            answers.iter().any(|m| match m {
                Message::DocUnavailable { document_id, .. } | Message::Sync { document_id, .. } => {
                    document_id == d
                }
                _ => false,
            })
        })
    };
    while !answered(&answers) {
        match next(&mut ws).await {
            Some(m) => answers.push(m),
            None => break,
        }
    }
    answers
}

async fn next<S>(ws: &mut S) -> Option<Message>
where
    S: StreamExt<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the relay answers in time");
        match frame {
            Some(Ok(WsMessage::Binary(bytes))) => return Some(Message::decode(&bytes).unwrap()),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

#[test]
fn a_program_token_opens_no_document_invites_nobody_and_learns_nothing_more() {
    let p = program();
    let relay = &p.relay;
    let port = relay.port();
    let program = relay.token(&["--all", "--role", "program"]);
    let writer = relay.token(&["--all", "--role", "write"]);
    let reader = relay.token(&["--workspace", &p.ana_ben, "--role", "read"]);

    // Through sync, every document is unavailable to it, the ones in its scope included.
    let docs = vec![p.ana_ben.clone(), p.cleo_dan.clone()];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answers = runtime.block_on(sync_with(&relay.url(), &program, &docs));
    let unavailable: Vec<&String> = answers
        .iter()
        .filter_map(|m| match m {
            Message::DocUnavailable { document_id, .. } => Some(document_id),
            _ => None,
        })
        .collect();
    assert_eq!(unavailable.len(), 2, "{answers:?}");
    assert!(
        !answers.iter().any(|m| matches!(m, Message::Sync { .. })),
        "the relay sent a document to a program token: {answers:?}"
    );
    // The writer, for comparison, gets the document.
    let answers = runtime.block_on(sync_with(&relay.url(), &writer, &docs[..1]));
    assert!(answers.iter().any(|m| matches!(m, Message::Sync { .. })));

    // Invite routes refuse it, whatever it asks.
    let invite = format!(r#"{{"workspace": "{}", "role": "mentee"}}"#, p.ana_ben);
    let list = format!("/v1/invites?workspace={}", p.ana_ben);
    for (method, path, body) in [
        ("POST", "/v1/invites", invite.as_str()),
        ("POST", "/v1/invites", "not json"),
        ("GET", list.as_str(), ""),
        ("GET", "/v1/invites", ""),
        ("DELETE", "/v1/invites/abcdef", ""),
        (
            "POST",
            "/v1/invites/redeem",
            r#"{"code": "ABCD-EFGH-JKMN"}"#,
        ),
    ] {
        let (status, answer) = http(port, method, path, Some(&program), body);
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(json(&answer)["code"], "forbidden", "{method} {path}");
    }

    // /health tells it no more than anyone.
    let (_, anonymous) = http(port, "GET", "/health", None, "");
    let (status, with_token) = http(port, "GET", "/health", Some(&program), "");
    assert_eq!(status, 200);
    let keys =
        |body: &str| -> Vec<String> { json(body).as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&anonymous), keys(&with_token));
    assert!(!with_token.contains(&p.ana_ben) && !with_token.contains("Ana"));

    // Only a program token reads the report.
    let (status, answer) = http(port, "GET", "/v1/program", None, "");
    assert_eq!(status, 401, "{answer}");
    assert_eq!(json(&answer)["code"], "unauthorized");
    let (status, _) = http(port, "GET", "/v1/program", Some("tdm_not_a_token"), "");
    assert_eq!(status, 401);
    for token in [&writer, &reader] {
        let (status, answer) = http(port, "GET", "/v1/program", Some(token), "");
        assert_eq!(status, 403, "{answer}");
        assert_eq!(json(&answer)["code"], "forbidden");
    }
    let (status, _) = http(port, "POST", "/v1/program", Some(&program), "");
    assert_eq!(status, 405);

    // The CLI says so on one line.
    let home = Home::new();
    let url = relay.url();
    let (code, err) = home.fails(&["program", "--server", &url, "--token", &writer]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("403") && err.contains("program token"),
        "{err}"
    );
    assert!(!err.contains(&writer), "the error repeats the token: {err}");
    let (_, err) = home.fails(&["program", "--server", &url, "--token", "tdm_nope"]);
    assert!(err.contains("401"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("ws://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let (_, err) = home.fails(&["program", "--server", &dead, "--token", &program]);
    assert!(err.contains("cannot reach the relay"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
