//! Every figure of the program report, with a pinned clock.

use super::*;
use crate::model::{
    Kind, NewAction, NewCareerStep, NewGoal, NewKudos, NewNote, NewSurvey, SettingsChanges,
};
use automerge::ActorId;

const NOW: &str = "2026-11-29T22:00:00Z";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    t(NOW)
}

/// `now` minus a whole number of days.
fn ago(days: i64) -> Timestamp {
    days_before(now(), days)
}

/// Facts of a pair that is doing well, to be changed one field at a time.
fn healthy() -> PairFacts {
    PairFacts {
        id: "doc".into(),
        title: "Ana & Ben".into(),
        participants: vec![
            Person {
                name: "Ana".into(),
                role: "mentor".into(),
            },
            Person {
                name: "Ben".into(),
                role: "mentee".into(),
            },
        ],
        created_at: Some(t("2026-05-01T09:00:00Z")),
        goals: GoalCounts::default(),
        milestones: MilestoneCounts::default(),
        checkins: vec![ago(3)],
        ratings: Vec::new(),
        pulses: Vec::new(),
        open_actions: Vec::new(),
        career_steps: Vec::new(),
        checkin_rhythm_days: 14,
        last_activity: Some(ago(1)),
    }
}

fn score(at: Timestamp, value: f64) -> Score {
    Score { at, value }
}

#[test]
fn a_healthy_pair_is_not_at_risk() {
    let s = healthy().summary(now());
    assert!(!s.at_risk);
    assert!(s.risk_reasons.is_empty());
    assert_eq!(s.days_since_last_checkin, Some(3));
    assert_eq!(s.checkins_90d, 1);
    assert_eq!(s.last_activity.as_deref(), Some("2026-11-28T22:00:00Z"));
}

#[test]
fn check_ins_are_counted_over_90_days_and_by_month_and_only_once_past() {
    let mut f = healthy();
    f.checkins = vec![
        t("2026-05-31T10:00:00Z"), // before the six months shown
        ago(91),                   // 2026-08-30, outside the 90 days
        ago(89),                   // 2026-09-01
        t("2026-10-05T10:00:00Z"),
        t("2026-10-20T10:00:00Z"),
        t("2026-11-02T10:00:00Z"),
        t("2026-12-02T10:00:00Z"), // still to come
    ];
    let s = f.summary(now());
    assert_eq!(s.checkins_90d, 4);
    assert_eq!(s.checkins_by_month, vec![0, 0, 1, 1, 2, 1]);
    assert_eq!(s.days_since_last_checkin, Some(27));
}

#[test]
fn days_since_the_last_check_in_is_null_without_a_past_one() {
    let mut f = healthy();
    f.checkins = vec![t("2026-12-02T10:00:00Z")];
    let s = f.summary(now());
    assert_eq!(s.days_since_last_checkin, None);
    assert_eq!(s.checkins_90d, 0);
}

#[test]
fn the_months_are_the_last_six_ending_with_this_one_across_a_year_end() {
    let report = ProgramReport::new(t("2027-02-01T00:30:00Z"), Vec::new());
    assert_eq!(
        report.months,
        ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
    );
    assert_eq!(report.generated_at, "2027-02-01T00:30:00Z");
    let report = ProgramReport::new(now(), Vec::new());
    assert_eq!(
        report.months,
        ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    );
}

#[test]
fn ratings_average_over_90_days_and_trend_between_the_two_halves() {
    let mut f = healthy();
    f.ratings = vec![
        score(ago(100), 1.0), // outside the 90 days
        score(ago(80), 4.0),
        score(ago(60), 3.0),
        score(ago(30), 5.0),
        score(ago(10), 4.0),
        score(ago(10), 5.0),
    ];
    let s = f.summary(now());
    // (4 + 3 + 5 + 4 + 5) / 5
    assert_eq!(s.rating_avg_90d, Some(4.2));
    // (5 + 4 + 5) / 3 − (4 + 3) / 2 = 4.67 − 3.5
    assert_eq!(s.rating_trend, Some(1.17));
    // By month, every score up to now counts, the one of 21 August too: August 1, September
    // (4 + 3) / 2, October 5, November (4 + 5) / 2.
    assert_eq!(
        s.rating_by_month,
        vec![None, None, Some(1.0), Some(3.5), Some(5.0), Some(4.5)]
    );
}

#[test]
fn averages_and_trends_are_null_when_there_is_nothing_to_compare() {
    let mut f = healthy();
    let s = f.summary(now());
    assert_eq!(s.rating_avg_90d, None);
    assert_eq!(s.rating_trend, None);
    assert_eq!(s.pulse_avg_90d, None);
    assert_eq!(s.pulse_trend, None);
    assert_eq!(s.pulse_by_month, vec![None; MONTHS]);
    // Only the latest half has scores: an average, but no trend.
    f.ratings = vec![score(ago(5), 4.0)];
    f.pulses = vec![score(ago(5), 3.5)];
    let s = f.summary(now());
    assert_eq!(s.rating_avg_90d, Some(4.0));
    assert_eq!(s.rating_trend, None);
    assert_eq!(s.pulse_avg_90d, Some(3.5));
    assert_eq!(s.pulse_trend, None);
}

#[test]
fn pulse_figures_follow_the_same_rules_as_ratings() {
    let mut f = healthy();
    f.pulses = vec![
        score(ago(70), 4.0),
        score(ago(50), 3.0),
        score(ago(20), 3.0),
        score(ago(2), 4.0 + 1.0 / 3.0),
    ];
    let s = f.summary(now());
    assert_eq!(s.pulse_avg_90d, Some(3.58));
    // (3 + 4.33) / 2 − (4 + 3) / 2
    assert_eq!(s.pulse_trend, Some(0.17));
    assert_eq!(
        s.pulse_by_month,
        vec![None, None, None, Some(4.0), Some(3.0), Some(3.67)]
    );
    assert!(!s.at_risk);
}

#[test]
fn a_low_pulse_puts_a_pair_at_risk() {
    let mut f = healthy();
    f.pulses = vec![score(ago(10), 2.0), score(ago(20), 3.0)];
    let s = f.summary(now());
    assert_eq!(s.pulse_avg_90d, Some(2.5));
    assert_eq!(s.risk_reasons, [RiskReason::LowPulse]);
    // Exactly 3 is not low.
    f.pulses = vec![score(ago(10), 3.0)];
    assert!(!f.summary(now()).at_risk);
    // An old low pulse has left the window.
    f.pulses = vec![score(ago(95), 1.0)];
    assert!(!f.summary(now()).at_risk);
}

#[test]
fn no_check_in_within_twice_the_rhythm_puts_a_pair_at_risk() {
    let mut f = healthy();
    f.checkin_rhythm_days = 7;
    f.checkins = vec![ago(14)];
    assert!(
        !f.summary(now()).at_risk,
        "exactly twice the rhythm is within"
    );
    f.checkins = vec![ago(14) - SignedDuration::from_secs(1)];
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::NoRecentCheckin]);
    // A longer rhythm forgives the same gap.
    f.checkin_rhythm_days = 30;
    assert!(!f.summary(now()).at_risk);
    // A check-in still to come does not count as one that took place.
    f.checkin_rhythm_days = 7;
    f.checkins = vec![ago(20), t("2026-12-01T10:00:00Z")];
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::NoRecentCheckin]);
}

#[test]
fn without_any_check_in_the_gap_counts_from_the_workspaces_creation() {
    let mut f = healthy();
    f.checkins.clear();
    f.created_at = Some(ago(10));
    assert!(!f.summary(now()).at_risk, "a new pair has time to meet");
    f.created_at = Some(ago(29));
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::NoRecentCheckin]);
    f.created_at = None;
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::NoRecentCheckin]);
}

#[test]
fn thirty_days_without_a_change_is_inactive() {
    let mut f = healthy();
    f.last_activity = Some(ago(30));
    assert!(!f.summary(now()).at_risk, "exactly 30 days is still active");
    f.last_activity = Some(ago(31));
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::Inactive]);
    f.last_activity = None;
    assert_eq!(f.summary(now()).risk_reasons, [RiskReason::Inactive]);
}

#[test]
fn every_reason_is_reported_in_the_agreed_order() {
    let mut f = healthy();
    f.checkins = vec![ago(60)];
    f.pulses = vec![score(ago(40), 1.0)];
    f.last_activity = Some(ago(40));
    let s = f.summary(now());
    assert!(s.at_risk);
    assert_eq!(
        s.risk_reasons,
        [
            RiskReason::NoRecentCheckin,
            RiskReason::LowPulse,
            RiskReason::Inactive
        ]
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["risk_reasons"],
        serde_json::json!(["no_recent_checkin", "low_pulse", "inactive"])
    );
}

#[test]
fn open_actions_are_overdue_only_after_their_due_day() {
    let mut f = healthy();
    f.open_actions = vec![
        OpenAction { due: None },
        OpenAction {
            due: Some(d("2026-11-29")),
        },
        OpenAction {
            due: Some(d("2026-11-28")),
        },
        OpenAction {
            due: Some(d("2026-01-01")),
        },
    ];
    let s = f.summary(now());
    assert_eq!(
        s.actions,
        ActionCounts {
            open: 4,
            overdue: 2
        }
    );
}

#[test]
fn career_steps_count_over_the_last_twelve_months() {
    let mut f = healthy();
    f.career_steps = vec![
        d("2025-11-29"), // exactly a year ago: outside
        d("2025-11-30"),
        d("2026-06-01"),
        d("2026-11-29"),
        d("2026-12-15"), // not yet
    ];
    assert_eq!(f.summary(now()).career_steps_12m, 3);
}

#[test]
fn the_report_lists_pairs_at_risk_first_then_by_title() {
    let mut quiet = healthy();
    quiet.title = "zoe & yan".into();
    quiet.last_activity = None;
    let mut fine = healthy();
    fine.title = "Ana & Ben".into();
    let mut other = healthy();
    other.title = "bea & carl".into();
    let mut lost = healthy();
    lost.title = "Cleo & Dan".into();
    lost.checkins.clear();
    lost.created_at = None;
    let report = ProgramReport::new(
        now(),
        [fine, quiet, other, lost]
            .iter()
            .map(|f| f.summary(now()))
            .collect(),
    );
    let titles: Vec<&str> = report.workspaces.iter().map(|w| w.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Cleo & Dan", "zoe & yan", "Ana & Ben", "bea & carl"]
    );
}

#[test]
fn the_json_has_exactly_the_agreed_fields() {
    let report = ProgramReport::new(now(), vec![healthy().summary(now())]);
    let json = serde_json::to_value(&report).unwrap();
    let top: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["generated_at", "months", "workspaces"]);
    let mut keys: Vec<&str> = json["workspaces"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    let mut agreed = vec![
        "id",
        "title",
        "participants",
        "goals",
        "milestones",
        "checkins_90d",
        "checkin_rhythm_days",
        "days_since_last_checkin",
        "rating_avg_90d",
        "rating_trend",
        "pulse_avg_90d",
        "pulse_trend",
        "actions",
        "career_steps_12m",
        "last_activity",
        "checkins_by_month",
        "pulse_by_month",
        "rating_by_month",
        "at_risk",
        "risk_reasons",
    ];
    agreed.sort();
    assert_eq!(keys, agreed);
    let w = &json["workspaces"][0];
    assert_eq!(
        w["goals"],
        serde_json::json!({"open": 0, "active": 0, "done": 0, "dropped": 0})
    );
    assert_eq!(w["milestones"], serde_json::json!({"done": 0, "total": 0}));
    assert_eq!(w["actions"], serde_json::json!({"open": 0, "overdue": 0}));
    assert_eq!(
        w["participants"][0],
        serde_json::json!({"name": "Ana", "role": "mentor"})
    );
    assert!(w["rating_avg_90d"].is_null());
    // The CLI reads back what the relay wrote.
    let back: ProgramReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_reason_from_a_newer_relay_still_reads() {
    let reasons: Vec<RiskReason> =
        serde_json::from_str(r#"["inactive", "no_mentor_yet"]"#).unwrap();
    assert_eq!(reasons, [RiskReason::Inactive, RiskReason::Other]);
}

// ----- facts read from a real workspace -----

const SECRET: &str = "S3CRET-content";

/// A workspace of Ana (mentor) and Ben (mentee) created at `created`, with Ana acting.
fn pair(created: Timestamp) -> (Workspace, Workspace) {
    let (mut ana, _) =
        Workspace::create("Ana & Ben", "Ana", Role::Mentor, ActorId::random(), created).unwrap();
    let mut doc = ana.doc_mut().fork();
    doc.set_actor(ActorId::random());
    let mut ben = Workspace::open(doc, "doc", created).unwrap();
    let actor = ben.doc().get_actor().clone();
    let pid = ben.add_participant("Ben", Role::Mentee, &actor).unwrap();
    ben.act_as(Some(pid));
    ana.doc_mut().merge(ben.doc_mut()).unwrap();
    (ana, ben)
}

#[test]
fn facts_count_what_is_not_archived_and_carry_no_content() {
    let created = t("2026-11-01T09:00:00Z");
    let (mut ana, mut ben) = pair(created);
    let goal = |title: &str| NewGoal {
        title: format!("{title} {SECRET}"),
        description: Some(SECRET.into()),
        ..Default::default()
    };
    let open = ana.add_goal(goal("open")).unwrap();
    let active = ana.add_goal(goal("active")).unwrap();
    let done = ana.add_goal(goal("done")).unwrap();
    let dropped = ana.add_goal(goal("dropped")).unwrap();
    let archived = ana.add_goal(goal("archived")).unwrap();
    for (id, status) in [
        (&active, GoalStatus::Active),
        (&done, GoalStatus::Done),
        (&dropped, GoalStatus::Dropped),
    ] {
        ana.set_goal(
            id,
            crate::model::GoalChanges {
                status: Some(status),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let m1 = ana.add_milestone(&open, SECRET, None).unwrap();
    ana.add_milestone(&open, SECRET, None).unwrap();
    let m3 = ana.add_milestone(&active, SECRET, None).unwrap();
    ana.add_milestone(&archived, SECRET, None).unwrap();
    ana.set_milestone_done(&open, &m1, true).unwrap();
    ana.archive_milestone(&active, &m3, true).unwrap();
    ana.archive(Kind::Goal, &archived).unwrap();

    let c1 = ana.add_checkin(t("2026-11-10T10:00:00Z"), SECRET).unwrap();
    let c2 = ana.add_checkin(t("2026-11-24T10:00:00Z"), SECRET).unwrap();
    let gone = ana.add_checkin(t("2026-11-27T10:00:00Z"), SECRET).unwrap();
    ana.add_checkin(t("2026-12-08T10:00:00Z"), SECRET).unwrap();
    ana.edit_checkin_notes(&c1, SECRET).unwrap();
    ana.rate_checkin(&c1, 4, Some(SECRET)).unwrap();
    ana.rate_checkin(&gone, 1, Some(SECRET)).unwrap();
    ana.archive(Kind::CheckIn, &gone).unwrap();
    ben.doc_mut().merge(ana.doc_mut()).unwrap();
    ben.rate_checkin(&c1, 5, Some(SECRET)).unwrap();
    ben.rate_checkin(&c2, 3, None).unwrap();

    let action = |due: Option<&str>| NewAction {
        title: SECRET.into(),
        due: due.map(d),
        ..Default::default()
    };
    ben.add_action(action(Some("2026-11-20"))).unwrap();
    ben.add_action(action(Some("2026-12-20"))).unwrap();
    ben.add_action(action(None)).unwrap();
    let finished = ben.add_action(action(Some("2026-11-01"))).unwrap();
    let dropped_action = ben.add_action(action(Some("2026-11-01"))).unwrap();
    ben.set_action_done(&finished, true).unwrap();
    ben.archive(Kind::Action, &dropped_action).unwrap();
    ben.add_note(NewNote {
        title: Some(SECRET.into()),
        body: SECRET.into(),
        ..Default::default()
    })
    .unwrap();
    ana.doc_mut().merge(ben.doc_mut()).unwrap();

    let facts = PairFacts::extract(&mut ana, "doc");
    assert_eq!(
        facts.goals,
        GoalCounts {
            open: 1,
            active: 1,
            done: 1,
            dropped: 1
        }
    );
    assert_eq!(facts.milestones, MilestoneCounts { done: 1, total: 2 });
    assert_eq!(facts.checkins.len(), 3);
    let mut ratings: Vec<f64> = facts.ratings.iter().map(|r| r.value).collect();
    ratings.sort_by(f64::total_cmp);
    assert_eq!(ratings, [3.0, 4.0, 5.0]);
    assert_eq!(facts.open_actions.len(), 3);
    assert_eq!(facts.created_at, Some(created));
    assert_eq!(facts.checkin_rhythm_days, 14, "the default rhythm");
    assert_eq!(facts.last_activity, Some(created));
    assert_eq!(
        facts.participants,
        [
            Person {
                name: "Ana".into(),
                role: "mentor".into()
            },
            Person {
                name: "Ben".into(),
                role: "mentee".into()
            }
        ]
    );
    assert!(
        !format!("{facts:?}").contains(SECRET),
        "the facts hold content: {facts:?}"
    );

    let s = facts.summary(now());
    assert_eq!(s.checkins_90d, 2);
    assert_eq!(s.days_since_last_checkin, Some(5));
    assert_eq!(s.rating_avg_90d, Some(4.0));
    assert_eq!(
        s.actions,
        ActionCounts {
            open: 3,
            overdue: 1
        }
    );
    assert_eq!(s.checkins_by_month, vec![0, 0, 0, 0, 0, 2]);
    assert_eq!(s.rating_by_month[5], Some(4.0));
    // Every change was stamped at creation, four weeks ago.
    assert!(!s.risk_reasons.contains(&RiskReason::Inactive));
    let json = serde_json::to_string(&ProgramReport::new(now(), vec![s])).unwrap();
    assert!(!json.contains(SECRET), "{json}");
}

#[test]
fn only_shared_workspaces_are_reported_on() {
    let (ana, _) = pair(now());
    assert!(is_workspace(ana.doc()));
    let private = Workspace::create_private(ActorId::random(), now()).unwrap();
    assert!(!is_workspace(private.doc()));
    assert!(!is_workspace(&automerge::AutoCommit::new()));
}

/// `ws` from now on acting as `who` at `t`.
fn reopen(ws: Workspace, t: Timestamp, who: &str) -> Workspace {
    let mut ws = Workspace::open(ws.into_doc(), "doc", t).unwrap();
    ws.act_as(Some(who.to_string()));
    ws
}

#[test]
fn facts_read_the_rhythm_pulse_surveys_and_career_steps_without_their_words() {
    let (ana, _) = pair(t("2026-09-01T09:00:00Z"));
    let people = ana.participants();
    let id = |name: &str| people.iter().find(|p| p.name == name).unwrap().id.clone();
    let (ana_id, ben_id) = (id("Ana"), id("Ben"));

    let mut ws = reopen(ana, t("2026-10-15T10:00:00Z"), &ana_id);
    ws.set_settings(SettingsChanges {
        checkin_rhythm_days: Some(7),
        survey_rhythm_days: None,
    })
    .unwrap();
    let survey = |p, r, c| NewSurvey {
        progress: p,
        relationship: r,
        recommend: c,
        comment: Some(SECRET.into()),
    };
    ws.answer_survey(survey(2, 2, 2), d("2026-10-15")).unwrap();
    ws.give_kudos(NewKudos {
        to: ben_id.clone(),
        text: SECRET.into(),
        goal: None,
    })
    .unwrap();
    let step = |date: &str| NewCareerStep {
        participant: Some(ben_id.clone()),
        date: d(date),
        role_before: SECRET.into(),
        role_after: format!("{SECRET} senior"),
        note: Some(SECRET.into()),
    };
    ws.add_career_step(step("2026-06-01")).unwrap();
    ws.add_career_step(step("2025-01-01")).unwrap();
    let gone = ws.add_career_step(step("2026-10-01")).unwrap();
    ws.archive_career_step(&gone, true).unwrap();
    let mut ws = reopen(ws, t("2026-11-20T10:00:00Z"), &ben_id);
    ws.answer_survey(survey(4, 3, 2), d("2026-11-20")).unwrap();

    let facts = PairFacts::extract(&mut ws, "doc");
    assert_eq!(facts.checkin_rhythm_days, 7);
    assert_eq!(
        facts.pulses,
        [
            score(t("2026-10-15T10:00:00Z"), 2.0),
            score(t("2026-11-20T10:00:00Z"), 3.0)
        ]
    );
    assert_eq!(facts.career_steps, [d("2025-01-01"), d("2026-06-01")]);
    assert_eq!(facts.last_activity, Some(t("2026-11-20T10:00:00Z")));
    assert!(
        !format!("{facts:?}").contains(SECRET),
        "the facts hold content: {facts:?}"
    );

    let s = facts.summary(now());
    assert_eq!(s.checkin_rhythm_days, 7);
    assert_eq!(s.pulse_avg_90d, Some(2.5));
    assert_eq!(s.pulse_trend, Some(1.0));
    assert_eq!(
        s.pulse_by_month,
        vec![None, None, None, None, Some(2.0), Some(3.0)]
    );
    assert_eq!(s.career_steps_12m, 1);
    assert_eq!(
        s.risk_reasons,
        [RiskReason::NoRecentCheckin, RiskReason::LowPulse]
    );
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains(SECRET), "{json}");
}
