//! The coordinators' view of a mentoring program: how each pair is doing, in numbers only.
//!
//! Read this if you change what `GET /v1/program` reports (docs/program.md describes the JSON).
//! A coordinator runs a program of many pairs and needs to see which ones need attention, but is
//! not part of any pair: they must never read a goal's title, a note, an agenda or a comment.
//! So the relay reads each workspace into [`PairFacts`], which hold only counts, instants,
//! dates, the workspace's title and its participants' names and roles; nothing written as prose
//! or as an item's title ever enters them. The facts depend on the document alone, so the relay
//! caches them by the document's heads, and [`PairFacts::summary`] turns them into the figures
//! relative to "now" ([`PairSummary`]) on every request. [`ProgramReport`] is the whole answer.
//!
//! Rules every figure follows: archived items never count; an average is `None` (JSON `null`)
//! when there is nothing to average; averages and trends are rounded to two decimals; time
//! windows are counted back from now (the last 90 days are the instants after `now − 90 days` up
//! to `now`), and months are calendar months in UTC.
//!
//! ```
//! use tandem_core::model::{Role, Workspace};
//! use tandem_core::program::{PairFacts, ProgramReport, RiskReason};
//! let created = "2026-10-01T09:00:00Z".parse().unwrap();
//! let (mut ws, _) =
//!     Workspace::create("Ana & Ben", "Ana", Role::Mentor, tandem_core::automerge::ActorId::random(), created)?;
//! let facts = PairFacts::extract(&mut ws, "4NMNnkMhL8jXrdJ9jamS58PAVdXu");
//! let now = "2026-11-29T22:00:00Z".parse().unwrap();
//! let summary = facts.summary(now);
//! assert!(summary.at_risk);
//! assert_eq!(summary.risk_reasons, [RiskReason::NoRecentCheckin, RiskReason::Inactive]);
//! let report = ProgramReport::new(now, vec![summary]);
//! assert_eq!(report.months.last().map(String::as_str), Some("2026-11"));
//! # Ok::<(), tandem_core::Error>(())
//! ```

use crate::model::survey::SURVEY_SCALE;
use crate::model::time::Stored;
use crate::model::{fields, GoalStatus, Kind, Role, Workspace, WORKSPACE_KIND};
use automerge::ROOT;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

/// The window of the averages and of `checkins_90d`, in days.
const RECENT_DAYS: i64 = 90;
/// Each half of the window a trend compares, in days.
const TREND_DAYS: i64 = 45;
/// How long a workspace may go without any change before it counts as inactive, in days.
const INACTIVE_DAYS: i64 = 30;
/// A pulse average below this is low.
const LOW_PULSE: f64 = 3.0;
/// How many calendar months the monthly series cover, the current one included.
pub const MONTHS: usize = 6;

/// One participant as a coordinator sees them: a name and a role, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub role: String,
}

/// How many goals are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalCounts {
    pub open: u32,
    pub active: u32,
    pub done: u32,
    pub dropped: u32,
}

/// How many milestones are done, of how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneCounts {
    pub done: u32,
    pub total: u32,
}

/// How many action items are open, and how many of those are past their due date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCounts {
    pub open: u32,
    pub overdue: u32,
}

/// A score (a check-in rating, or a pulse survey's mean) and when it was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub at: Timestamp,
    pub value: f64,
}

/// An open action item: only its due date matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAction {
    pub due: Option<Date>,
}

/// What a workspace says about how its pair is doing, with every word of content left out.
///
/// These depend on the document alone (never on the clock), so they can be cached by the
/// document's heads. Extract them with [`PairFacts::extract`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairFacts {
    /// The workspace's document id.
    pub id: String,
    pub title: String,
    /// Mentors first, then mentees, then observers; by name within a role.
    pub participants: Vec<Person>,
    /// When the workspace was created, if that parses.
    pub created_at: Option<Timestamp>,
    pub goals: GoalCounts,
    /// Milestones of goals that are not archived.
    pub milestones: MilestoneCounts,
    /// When each check-in is (or was), earliest first.
    pub checkins: Vec<Timestamp>,
    /// Every rating, timed by the check-in it rates.
    pub ratings: Vec<Score>,
    /// Every pulse survey answer, timed by when it was given.
    pub pulses: Vec<Score>,
    pub open_actions: Vec<OpenAction>,
    /// The dates of the participants' career steps.
    pub career_steps: Vec<Date>,
    pub checkin_rhythm_days: i64,
    /// The newest change time recorded in the document.
    pub last_activity: Option<Timestamp>,
}

/// Why a pair needs a coordinator's attention, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskReason {
    /// No check-in has taken place within twice the check-in rhythm (counted from the
    /// workspace's creation when there has been none).
    NoRecentCheckin,
    /// The pulse surveys of the last 90 days average below 3.
    LowPulse,
    /// Nothing in the workspace changed for 30 days.
    Inactive,
    /// A reason a newer relay reports that this build has no name for.
    #[serde(other)]
    Other,
}

impl RiskReason {
    /// The reason in a few words, for a person.
    pub fn describe(self) -> &'static str {
        match self {
            RiskReason::NoRecentCheckin => "no recent check-in",
            RiskReason::LowPulse => "low pulse",
            RiskReason::Inactive => "inactive",
            RiskReason::Other => "another reason",
        }
    }
}

/// How one pair is doing as of a given instant: one entry of `GET /v1/program`'s `workspaces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSummary {
    pub id: String,
    pub title: String,
    pub participants: Vec<Person>,
    pub goals: GoalCounts,
    pub milestones: MilestoneCounts,
    pub checkins_90d: u32,
    pub checkin_rhythm_days: i64,
    pub days_since_last_checkin: Option<i64>,
    pub rating_avg_90d: Option<f64>,
    pub rating_trend: Option<f64>,
    pub pulse_avg_90d: Option<f64>,
    pub pulse_trend: Option<f64>,
    pub actions: ActionCounts,
    pub career_steps_12m: u32,
    pub last_activity: Option<String>,
    pub checkins_by_month: Vec<u32>,
    pub pulse_by_month: Vec<Option<f64>>,
    pub rating_by_month: Vec<Option<f64>>,
    pub at_risk: bool,
    pub risk_reasons: Vec<RiskReason>,
}

/// The whole answer of `GET /v1/program`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramReport {
    pub generated_at: String,
    /// The months of the monthly series, oldest first, as `YYYY-MM`.
    pub months: Vec<String>,
    /// Pairs at risk first, then by title.
    pub workspaces: Vec<PairSummary>,
}

impl ProgramReport {
    /// The report as of `now` over `workspaces`, which it sorts.
    pub fn new(now: Timestamp, mut workspaces: Vec<PairSummary>) -> Self {
        workspaces.sort_by(|a, b| {
            b.at_risk
                .cmp(&a.at_risk)
                .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.id.cmp(&b.id))
        });
        Self {
            generated_at: instant(now),
            months: month_starts(now)
                .iter()
                .map(|m| m.strftime("%Y-%m").to_string())
                .collect(),
            workspaces,
        }
    }
}

/// Whether a loaded document is a shared workspace, the only kind a program reports on.
pub fn is_workspace(doc: &automerge::AutoCommit) -> bool {
    fields::get_string(doc, &ROOT, "kind").as_deref() == Some(WORKSPACE_KIND)
}

impl PairFacts {
    /// Read the facts of the workspace `ws`, whose document id is `id`. Needs the document
    /// mutably only to read its change times.
    pub fn extract(ws: &mut Workspace, id: &str) -> Self {
        let last_activity = ws
            .doc_mut()
            .get_changes_meta(&[])
            .iter()
            .map(|m| m.timestamp)
            .max()
            .and_then(|t| Timestamp::from_second(t).ok());
        let mut participants: Vec<(u8, Person)> = ws
            .participants()
            .into_iter()
            .filter(|p| !p.is_removed())
            .map(|p| {
                let rank = match p.role {
                    Role::Mentor => 0,
                    Role::Mentee => 1,
                    Role::Observer => 2,
                    Role::Unknown(_) => 3,
                };
                let person = Person {
                    name: p.name,
                    role: p.role.as_str().to_string(),
                };
                (rank, person)
            })
            .collect();
        participants.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));

        // Goals, check-ins and action items are the big collections, so they are read field by
        // field through `model::fields` (the readers the model's own views use), touching only
        // the fields counted here: the model's views would also read every title, description,
        // agenda and comment, only for them to be dropped, and that is most of the time a cold
        // report takes.
        let doc = ws.doc();
        let live = |coll: &str| -> Vec<automerge::ObjId> {
            let Some(map) = fields::get_map(doc, &ROOT, coll) else {
                return Vec::new();
            };
            fields::keys(doc, &map)
                .iter()
                .filter_map(|id| fields::get_map(doc, &map, id))
                .filter(|item| !fields::get_bool(doc, item, "archived"))
                .collect()
        };

        let mut goals = GoalCounts::default();
        let mut milestones = MilestoneCounts::default();
        for goal in live(Kind::Goal.collection()) {
            let status = fields::get_string(doc, &goal, "status")
                .map(|s| GoalStatus::from_stored(&s))
                .unwrap_or_default();
            match status {
                GoalStatus::Open => goals.open += 1,
                GoalStatus::Active => goals.active += 1,
                GoalStatus::Done => goals.done += 1,
                GoalStatus::Dropped => goals.dropped += 1,
                GoalStatus::Unknown(_) => {}
            }
            let Some(steps) = fields::get_map(doc, &goal, "milestones") else {
                continue;
            };
            for id in fields::keys(doc, &steps) {
                let Some(step) = fields::get_map(doc, &steps, &id) else {
                    continue;
                };
                if !fields::get_bool(doc, &step, "archived") {
                    milestones.total += 1;
                    milestones.done += u32::from(fields::get_bool(doc, &step, "done"));
                }
            }
        }

        let mut checkins = Vec::new();
        let mut ratings = Vec::new();
        for checkin in live(Kind::CheckIn.collection()) {
            let Some(at) = fields::get_stored::<Timestamp>(doc, &checkin, "at")
                .as_ref()
                .and_then(Stored::valid)
                .copied()
            else {
                continue;
            };
            checkins.push(at);
            let Some(rated) = fields::get_map(doc, &checkin, "ratings") else {
                continue;
            };
            for who in fields::keys(doc, &rated) {
                let rating = fields::get_map(doc, &rated, &who)
                    .and_then(|r| fields::get_int(doc, &r, "rating"))
                    .filter(|r| (1..=5).contains(r));
                if let Some(rating) = rating {
                    ratings.push(Score {
                        at,
                        value: rating as f64,
                    });
                }
            }
        }
        checkins.sort();

        // An answer another client wrote outside the scale is left out rather than skew the mean.
        let pulses = ws
            .surveys()
            .into_iter()
            .filter(|s| !s.meta.archived)
            .filter(|s| {
                [s.progress, s.relationship, s.recommend]
                    .iter()
                    .all(|v| SURVEY_SCALE.contains(v))
            })
            .filter_map(|s| {
                Some(Score {
                    at: s.at.as_ref()?.valid().copied()?,
                    value: s.score(),
                })
            })
            .collect();
        let career_steps = ws
            .career_steps()
            .into_iter()
            .filter(|c| !c.meta.archived)
            .filter_map(|c| c.date.valid().copied())
            .collect();

        let open_actions = live(Kind::Action.collection())
            .into_iter()
            .filter(|a| !fields::get_bool(doc, a, "done"))
            .map(|a| OpenAction {
                due: fields::get_stored::<Date>(doc, &a, "due")
                    .as_ref()
                    .and_then(Stored::valid)
                    .copied(),
            })
            .collect();

        PairFacts {
            id: id.to_string(),
            title: ws.title(),
            participants: participants.into_iter().map(|(_, p)| p).collect(),
            created_at: ws.created_at(),
            goals,
            milestones,
            checkins,
            ratings,
            pulses,
            open_actions,
            career_steps,
            checkin_rhythm_days: ws.settings().checkin_rhythm_days,
            last_activity,
        }
    }

    /// How the pair is doing as of `now`.
    pub fn summary(&self, now: Timestamp) -> PairSummary {
        let recent = window(now, RECENT_DAYS, 0);
        let latest = window(now, TREND_DAYS, 0);
        let earlier = window(now, RECENT_DAYS, TREND_DAYS);
        let today = now.to_zoned_datetime(TimeZone::UTC).date();
        let months = month_starts(now);

        let past: Vec<Timestamp> = self
            .checkins
            .iter()
            .copied()
            .filter(|at| *at <= now)
            .collect();
        let last_checkin = past.last().copied();
        let rhythm = self.checkin_rhythm_days.max(1);

        let rating_avg = average(&self.ratings, recent);
        let pulse_avg = average(&self.pulses, recent);
        let mut reasons = Vec::new();
        let since = last_checkin.or(self.created_at);
        if since.is_none_or(|t| t < days_before(now, 2 * rhythm)) {
            reasons.push(RiskReason::NoRecentCheckin);
        }
        if pulse_avg.is_some_and(|p| p < LOW_PULSE) {
            reasons.push(RiskReason::LowPulse);
        }
        if self
            .last_activity
            .is_none_or(|t| t < days_before(now, INACTIVE_DAYS))
        {
            reasons.push(RiskReason::Inactive);
        }

        let year_ago = today.checked_sub(Span::new().years(1)).unwrap_or(today);
        PairSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            participants: self.participants.clone(),
            goals: self.goals,
            milestones: self.milestones,
            checkins_90d: count(past.iter().filter(|at| recent.contains(**at)).count()),
            checkin_rhythm_days: self.checkin_rhythm_days,
            days_since_last_checkin: last_checkin.map(|t| now.duration_since(t).as_secs() / 86_400),
            rating_avg_90d: rating_avg.map(round2),
            rating_trend: trend(&self.ratings, latest, earlier),
            pulse_avg_90d: pulse_avg.map(round2),
            pulse_trend: trend(&self.pulses, latest, earlier),
            actions: ActionCounts {
                open: count(self.open_actions.len()),
                overdue: count(
                    self.open_actions
                        .iter()
                        .filter(|a| a.due.is_some_and(|d| d < today))
                        .count(),
                ),
            },
            career_steps_12m: count(
                self.career_steps
                    .iter()
                    .filter(|d| **d > year_ago && **d <= today)
                    .count(),
            ),
            last_activity: self.last_activity.map(instant),
            checkins_by_month: months
                .iter()
                .map(|m| count(past.iter().filter(|at| same_month(**at, *m)).count()))
                .collect(),
            pulse_by_month: by_month(&self.pulses, &months, now),
            rating_by_month: by_month(&self.ratings, &months, now),
            at_risk: !reasons.is_empty(),
            risk_reasons: reasons,
        }
    }
}

/// A count as the report writes it; no workspace holds four billion items.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An instant as the report writes it: RFC 3339 in UTC, whole seconds.
fn instant(t: Timestamp) -> String {
    crate::model::time::format_instant(t)
}

/// `now` minus `days` whole days, clamped to the earliest instant.
fn days_before(now: Timestamp, days: i64) -> Timestamp {
    now.checked_sub(SignedDuration::from_hours(24 * days))
        .unwrap_or(Timestamp::MIN)
}

/// The instants after `now − from_days` up to `now − to_days`.
#[derive(Debug, Clone, Copy)]
struct Window {
    after: Timestamp,
    until: Timestamp,
}

impl Window {
    fn contains(self, at: Timestamp) -> bool {
        at > self.after && at <= self.until
    }
}

fn window(now: Timestamp, from_days: i64, to_days: i64) -> Window {
    Window {
        after: days_before(now, from_days),
        until: days_before(now, to_days),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn average(scores: &[Score], within: Window) -> Option<f64> {
    mean(
        scores
            .iter()
            .filter(|s| within.contains(s.at))
            .map(|s| s.value),
    )
}

/// The average of the latest window minus that of the earlier one, when both have scores.
fn trend(scores: &[Score], latest: Window, earlier: Window) -> Option<f64> {
    Some(round2(average(scores, latest)? - average(scores, earlier)?))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The first days of the last [`MONTHS`] calendar months in UTC, oldest first, ending with the
/// month of `now`.
fn month_starts(now: Timestamp) -> Vec<Date> {
    let this = now.to_zoned_datetime(TimeZone::UTC).date().first_of_month();
    (0..MONTHS as i64)
        .rev()
        .filter_map(|back| this.checked_sub(Span::new().months(back)).ok())
        .collect()
}

fn same_month(at: Timestamp, month: Date) -> bool {
    let date = at.to_zoned_datetime(TimeZone::UTC).date();
    date.year() == month.year() && date.month() == month.month()
}

/// The average score of each month, counting only scores given up to `now`.
fn by_month(scores: &[Score], months: &[Date], now: Timestamp) -> Vec<Option<f64>> {
    months
        .iter()
        .map(|m| {
            mean(
                scores
                    .iter()
                    .filter(|s| s.at <= now && same_month(s.at, *m))
                    .map(|s| s.value),
            )
            .map(round2)
        })
        .collect()
}

#[cfg(test)]
mod tests;
