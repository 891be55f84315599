//! The pair's rhythm: how often they mean to meet and to answer the pulse survey (the workspace's
//! `settings`), and when the next check-in is due.
//!
//! Settings live in a root map `settings` of signed integers; a document without them (every
//! older one) reads the defaults. Only a mentor changes them; the command line checks that, like
//! its other mentor-only actions. Nothing here reads the clock: the instant that counts as now is
//! passed in.

use super::fields::{ensure_map, get_all_maps, get_int, get_stored};
use super::time::{format_instant, Stored};
use super::{PairReader, Workspace};
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::ROOT;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The check-in rhythm of a workspace without settings, in days.
pub const DEFAULT_CHECKIN_RHYTHM_DAYS: i64 = 14;
/// The survey rhythm of a workspace without settings, in days.
pub const DEFAULT_SURVEY_RHYTHM_DAYS: i64 = 30;
/// The rhythms a person may choose, in days.
pub const RHYTHM_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

/// How often the pair means to meet and to answer the pulse survey.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Settings {
    pub checkin_rhythm_days: i64,
    pub survey_rhythm_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            checkin_rhythm_days: DEFAULT_CHECKIN_RHYTHM_DAYS,
            survey_rhythm_days: DEFAULT_SURVEY_RHYTHM_DAYS,
        }
    }
}

/// Changes to the settings; `None` leaves a rhythm alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsChanges {
    pub checkin_rhythm_days: Option<i64>,
    pub survey_rhythm_days: Option<i64>,
}

/// Where the pair stands against its check-in rhythm at some instant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rhythm {
    pub checkin_rhythm_days: i64,
    pub survey_rhythm_days: i64,
    /// The next check-in planned, or else when one is due by the rhythm; absent only when the
    /// workspace has no readable creation time and no check-in.
    pub next_checkin_due: Option<Stored<Timestamp>>,
    /// Whole days past `next_checkin_due`; 0 when it is not past.
    pub overdue_days: i64,
}

/// Check a rhythm typed by a person.
pub fn check_rhythm(what: &str, days: i64) -> Result<i64> {
    if RHYTHM_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(Error::Invalid(format!(
            "invalid {what} rhythm {days}: expected a whole number of days from {} to {}",
            RHYTHM_DAYS.start(),
            RHYTHM_DAYS.end()
        )))
    }
}

/// `days` whole days as a duration.
pub(super) fn days(days: i64) -> SignedDuration {
    SignedDuration::from_hours(days * 24)
}

impl Workspace {
    /// The pair's rhythms; a missing or out-of-range value (written by another client) reads as
    /// its default.
    pub fn settings(&self) -> Settings {
        let maps = get_all_maps(&self.doc, &ROOT, "settings");
        let read = |key: &str, default: i64| {
            maps.iter()
                .find_map(|m| get_int(&self.doc, m, key))
                .filter(|d| RHYTHM_DAYS.contains(d))
                .unwrap_or(default)
        };
        Settings {
            checkin_rhythm_days: read("checkin_rhythm_days", DEFAULT_CHECKIN_RHYTHM_DAYS),
            survey_rhythm_days: read("survey_rhythm_days", DEFAULT_SURVEY_RHYTHM_DAYS),
        }
    }

    /// Change the rhythms; only the given ones are written. Whether the person may (only a
    /// mentor may) is for the caller to check.
    pub fn set_settings(&mut self, changes: SettingsChanges) -> Result<Settings> {
        let checkins = changes
            .checkin_rhythm_days
            .map(|d| check_rhythm("check-in", d))
            .transpose()?;
        let surveys = changes
            .survey_rhythm_days
            .map(|d| check_rhythm("survey", d))
            .transpose()?;
        if checkins.is_none() && surveys.is_none() {
            return Err(Error::Invalid(
                "nothing to change: give at least one of --checkins, --surveys".into(),
            ));
        }
        // Two devices that each created the settings made two maps; writing the rhythm into
        // every one of them leaves them agreeing, which ends a conflict between them.
        let mut maps = get_all_maps(&self.doc, &ROOT, "settings");
        if maps.is_empty() {
            maps.push(ensure_map(&mut self.doc, &ROOT, "settings")?);
        }
        let mut what = Vec::new();
        for (key, days, said) in [
            ("checkin_rhythm_days", checkins, "check-ins"),
            ("survey_rhythm_days", surveys, "pulse surveys"),
        ] {
            let Some(d) = days else { continue };
            for map in &maps {
                self.doc.put(map, key, d)?;
            }
            what.push(format!("{said} every {d} days"));
        }
        self.commit(format!("set the rhythm: {}", what.join(", ")));
        Ok(self.settings())
    }

    /// When the workspace was created, if that reads as an instant.
    pub fn created_at(&self) -> Option<Timestamp> {
        get_stored::<Timestamp>(&self.doc, &ROOT, "created_at").and_then(|s| s.valid().copied())
    }
}

/// Whole days from `due` to `now`; 0 when `now` is not past `due`.
pub fn overdue_days(due: Timestamp, now: Timestamp) -> i64 {
    let past = now.as_second() - due.as_second();
    if past <= 0 {
        0
    } else {
        past / 86_400
    }
}

/// Where the pair stands against its check-in rhythm at `now`: the next planned check-in
/// when there is one, or else the last past check-in (or the workspace's creation when there
/// has been none) plus the rhythm, and how many whole days that is past.
pub(super) fn rhythm<R: PairReader + ?Sized>(r: &R, now: Timestamp) -> Rhythm {
    let settings = r.settings();
    let times: Vec<Timestamp> = r
        .checkins()
        .into_iter()
        .filter(|c| !c.meta.archived)
        .filter_map(|c| c.at.valid().copied())
        .collect();
    let next = times.iter().filter(|t| **t > now).min().copied();
    let last = times.iter().filter(|t| **t <= now).max().copied();
    let due = next.or_else(|| {
        last.or_else(|| r.created_at())
            .and_then(|t| t.checked_add(days(settings.checkin_rhythm_days)).ok())
    });
    let overdue_days = due.map_or(0, |d| overdue_days(d, now));
    Rhythm {
        checkin_rhythm_days: settings.checkin_rhythm_days,
        survey_rhythm_days: settings.survey_rhythm_days,
        next_checkin_due: due.map(|d| Stored::from_stored(&format_instant(d))),
        overdue_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{merge_both, now, pair};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn settings_default_and_change_within_range() {
        let (mut ana, mut ben) = pair();
        assert_eq!(ana.settings(), Settings::default());
        assert_eq!(ana.settings().checkin_rhythm_days, 14);
        assert_eq!(ana.settings().survey_rhythm_days, 30);
        let set = ana
            .set_settings(SettingsChanges {
                checkin_rhythm_days: Some(7),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(set.checkin_rhythm_days, 7);
        assert_eq!(set.survey_rhythm_days, 30);
        for bad in [0, 366, -1] {
            let err = ana
                .set_settings(SettingsChanges {
                    survey_rhythm_days: Some(bad),
                    ..Default::default()
                })
                .unwrap_err();
            assert!(err.to_string().contains("from 1 to 365"), "{err}");
        }
        assert!(ana.set_settings(SettingsChanges::default()).is_err());
        merge_both(&mut ana, &mut ben);
        assert_eq!(ben.settings().checkin_rhythm_days, 7);
    }

    #[test]
    fn settings_two_devices_created_concurrently_both_count() {
        // An older document has no settings map; each side creates one offline.
        let (mut ana, mut ben) = pair();
        for ws in [&mut ana, &mut ben] {
            let doc = ws.doc_mut();
            doc.delete(ROOT, "settings").ok();
            doc.commit();
        }
        merge_both(&mut ana, &mut ben);
        ana.set_settings(SettingsChanges {
            checkin_rhythm_days: Some(7),
            ..Default::default()
        })
        .unwrap();
        ben.set_settings(SettingsChanges {
            survey_rhythm_days: Some(60),
            ..Default::default()
        })
        .unwrap();
        merge_both(&mut ana, &mut ben);
        let both = ana.settings();
        assert_eq!((both.checkin_rhythm_days, both.survey_rhythm_days), (7, 60));
        assert_eq!(ben.settings(), both);
    }

    #[test]
    fn the_next_check_in_is_planned_or_due_by_the_rhythm() {
        let (mut ana, _) = pair();
        let created = ana.created_at().unwrap();
        assert_eq!(created, now());
        // No check-in yet: due a rhythm after the workspace was made.
        let r = ana.rhythm(now());
        assert_eq!(
            r.next_checkin_due,
            Some(Stored::Valid(now().checked_add(days(14)).unwrap()))
        );
        assert_eq!(r.overdue_days, 0);
        let later = now().checked_add(days(18)).unwrap();
        assert_eq!(ana.rhythm(later).overdue_days, 4);
        // A past check-in moves the due date; a planned one is the due date.
        let past = now().checked_add(days(2)).unwrap();
        ana.add_checkin(past, "").unwrap();
        let due = ana.rhythm(later).next_checkin_due.unwrap();
        assert_eq!(due, Stored::Valid(past.checked_add(days(14)).unwrap()));
        assert_eq!(ana.rhythm(later).overdue_days, 2);
        let planned = at("2027-01-01T10:00:00Z");
        let c = ana.add_checkin(planned, "").unwrap();
        let r = ana.rhythm(later);
        assert_eq!(r.next_checkin_due, Some(Stored::Valid(planned)));
        assert_eq!(r.overdue_days, 0);
        // An archived check-in does not count.
        ana.archive(crate::model::Kind::CheckIn, &c).unwrap();
        assert_eq!(ana.rhythm(later).overdue_days, 2);
    }
}
