//! Wins: what the pair has achieved, derived from the document and never stored — goals and
//! milestones done, streaks of check-ins kept to the rhythm, and kudos.
//!
//! A goal or milestone done before `done_at` was recorded (by an older tandem) is still a win,
//! listed without a date. The instant that counts as now is passed in.

use super::rhythm::days;
use super::time::Stored;
use super::{GoalStatus, ItemId, PairReader};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How many of the most recent wins `plan` shows, and how far back it looks, in days.
pub const RECENT_WINS: usize = 5;
pub const RECENT_WIN_DAYS: i64 = 30;

/// The fewest check-ins in a row, each within the rhythm of the one before, that make a streak.
pub const STREAK_MIN: usize = 3;

/// What kind of win.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WinKind {
    GoalDone,
    MilestoneDone,
    CheckinStreak,
    Kudos,
}

/// One win.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Win {
    pub kind: WinKind,
    /// The goal, milestone, kudos, or the last check-in of a streak.
    pub id: ItemId,
    /// When it happened; absent for a goal or milestone done before that was recorded.
    pub at: Option<Stored<Timestamp>>,
    /// The goal's or milestone's title, or the kudos' text; empty for a streak.
    pub title: String,
    /// The goal a milestone or kudos belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<ItemId>,
    /// The number of check-ins in a streak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// Who gave kudos and who received them, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl Win {
    fn new(kind: WinKind, id: &ItemId, at: Option<Stored<Timestamp>>, title: &str) -> Self {
        Self {
            kind,
            id: id.clone(),
            at,
            title: title.to_string(),
            goal: None,
            count: None,
            from: None,
            to: None,
        }
    }

    /// The instant of the win, when it has one that parses.
    pub fn instant(&self) -> Option<Timestamp> {
        self.at.as_ref().and_then(|a| a.valid().copied())
    }
}

/// Every win up to `now`, newest first; those without a date come last.
pub(super) fn wins<R: PairReader + ?Sized>(r: &R, now: Timestamp) -> Vec<Win> {
    let mut wins = Vec::new();
    for goal in r.goals().into_iter().filter(|g| !g.meta.archived) {
        if goal.status == GoalStatus::Done {
            wins.push(Win::new(
                WinKind::GoalDone,
                &goal.id,
                goal.done_at.clone(),
                &goal.title,
            ));
        }
        for m in goal
            .milestones
            .iter()
            .filter(|m| m.done && !m.meta.archived)
        {
            let mut win = Win::new(WinKind::MilestoneDone, &m.id, m.done_at.clone(), &m.title);
            win.goal = Some(goal.id.clone());
            wins.push(win);
        }
    }
    wins.extend(streaks(r, now));
    for k in r.kudos().into_iter().filter(|k| !k.meta.archived) {
        let mut win = Win::new(WinKind::Kudos, &k.id, k.meta.created_at.clone(), &k.text);
        win.goal = k.goal;
        win.from = Some(k.from_name);
        win.to = Some(k.to_name);
        wins.push(win);
    }
    wins.retain(|w| w.instant().is_none_or(|t| t <= now));
    wins.sort_by(|a, b| {
        (b.instant().is_some(), b.instant(), &b.id).cmp(&(
            a.instant().is_some(),
            a.instant(),
            &a.id,
        ))
    });
    wins
}

/// The wins of the last [`RECENT_WIN_DAYS`] days before `now`, newest first, at most
/// [`RECENT_WINS`] of them.
pub(super) fn recent_wins<R: PairReader + ?Sized>(r: &R, now: Timestamp) -> Vec<Win> {
    let since = now.checked_sub(days(RECENT_WIN_DAYS)).unwrap_or(now);
    wins(r, now)
        .into_iter()
        .filter(|w| w.instant().is_some_and(|t| t >= since))
        .take(RECENT_WINS)
        .collect()
}

/// Runs of at least [`STREAK_MIN`] past check-ins, each at most the check-in rhythm after
/// the one before; each run is one win, dated by its last check-in.
fn streaks<R: PairReader + ?Sized>(r: &R, now: Timestamp) -> Vec<Win> {
    let rhythm = days(r.settings().checkin_rhythm_days);
    let past: Vec<(Timestamp, ItemId)> = r
        .checkins()
        .into_iter()
        .filter(|c| !c.meta.archived)
        .filter_map(|c| c.at.valid().copied().map(|t| (t, c.id)))
        .filter(|(t, _)| *t <= now)
        .collect();
    let mut wins = Vec::new();
    let mut run: Vec<&(Timestamp, ItemId)> = Vec::new();
    let mut close = |run: &mut Vec<&(Timestamp, ItemId)>| {
        if run.len() >= STREAK_MIN {
            let (at, id) = run[run.len() - 1];
            let mut win = Win::new(WinKind::CheckinStreak, id, Some(Stored::Valid(*at)), "");
            win.count = Some(run.len());
            wins.push(win);
        }
        run.clear();
    };
    for item in &past {
        if let Some((last, _)) = run.last() {
            if item.0.duration_since(*last) > rhythm {
                close(&mut run);
            }
        }
        run.push(item);
    }
    close(&mut run);
    wins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{add_goal_titled, merge_both, now, pair, set_goal_status};
    use crate::model::NewKudos;

    #[test]
    fn wins_list_goals_milestones_streaks_and_kudos_newest_first() {
        let (mut ana, mut ben) = pair();
        let goal = add_goal_titled(&mut ana, "Ship it");
        let m = ana.add_milestone(&goal, "Draft", None).unwrap();
        ana.set_milestone_done(&goal, &m, true).unwrap();
        set_goal_status(&mut ana, &goal, GoalStatus::Done);
        assert_eq!(ana.goal(&goal).unwrap().done_at, Some(Stored::Valid(now())));
        // Four check-ins a week apart, then a gap, then two more: one streak of four.
        for week in [-60, -53, -46, -39, -10, -3] {
            ana.add_checkin(now().checked_add(days(week)).unwrap(), "")
                .unwrap();
        }
        merge_both(&mut ana, &mut ben);
        let ana_id = ana.me().unwrap().to_string();
        ben.give_kudos(NewKudos {
            to: ana_id,
            text: "Thanks!".into(),
            goal: None,
        })
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let wins = ana.wins(now());
        let kinds: Vec<WinKind> = wins.iter().map(|w| w.kind).collect();
        assert!(kinds.contains(&WinKind::GoalDone));
        assert!(kinds.contains(&WinKind::MilestoneDone));
        assert!(kinds.contains(&WinKind::Kudos));
        let streaks: Vec<&Win> = wins
            .iter()
            .filter(|w| w.kind == WinKind::CheckinStreak)
            .collect();
        assert_eq!(streaks.len(), 1);
        assert_eq!(streaks[0].count, Some(4));
        // The streak is older than 30 days, so it is not recent.
        let recent = ana.recent_wins(now());
        assert_eq!(recent.len(), 3, "{recent:?}");
        assert!(recent.iter().all(|w| w.kind != WinKind::CheckinStreak));
        // Reopening the goal drops its date and the win.
        set_goal_status(&mut ana, &goal, GoalStatus::Active);
        assert_eq!(ana.goal(&goal).unwrap().done_at, None);
        ana.set_milestone_done(&goal, &m, false).unwrap();
        assert!(ana.goal(&goal).unwrap().milestones[0].done_at.is_none());
        assert_eq!(ana.wins(now()).len(), 2);
    }
}
