//! `tandem rhythm`: how often the pair means to meet and to answer the pulse survey; and the
//! rhythm as `plan` and `checkin add --repeat` use it.

use crate::context::Context;
use crate::render::Paint;
use anyhow::{bail, Result};
use clap::Args;
use tandem_core::jiff::tz::TimeZone;
use tandem_core::jiff::{Span, Timestamp};
use tandem_core::model::rhythm::RHYTHM_DAYS;
use tandem_core::model::{Rhythm, Role, SettingsChanges, Workspace};

#[derive(Debug, Args)]
pub struct RhythmArgs {
    /// Meet every DAYS days, from 1 to 365 (mentors only).
    #[arg(long, value_name = "DAYS", value_parser = rhythm_days)]
    checkins: Option<i64>,
    /// Answer the pulse survey every DAYS days, from 1 to 365 (mentors only).
    #[arg(long, value_name = "DAYS", value_parser = rhythm_days)]
    surveys: Option<i64>,
}

impl RhythmArgs {
    /// Whether the command changes the workspace: only when it sets a rhythm.
    pub fn writes(&self) -> bool {
        self.checkins.is_some() || self.surveys.is_some()
    }
}

/// A rhythm in days, a whole number from 1 to 365; anything else is a usage error naming the
/// range.
fn rhythm_days(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(d) if RHYTHM_DAYS.contains(&d) => Ok(d),
        _ => Err(format!(
            "expected a whole number of days from {} to {}",
            RHYTHM_DAYS.start(),
            RHYTHM_DAYS.end()
        )),
    }
}

/// Refuse `what` unless the acting participant is a mentor still taking part.
pub fn mentor_only(ws: &Workspace, what: &str) -> Result<()> {
    let mentor = ws
        .me()
        .and_then(|me| ws.participant(me))
        .is_some_and(|p| p.role == Role::Mentor && !p.is_removed());
    if !mentor {
        bail!("only mentors can {what}");
    }
    Ok(())
}

pub fn run(ctx: &Context, args: RhythmArgs) -> Result<()> {
    let home = ctx.home()?;
    let mut opened = ctx.workspace(&home)?;
    let settings = if args.writes() {
        mentor_only(&opened.ws, "change the rhythm")?;
        let settings = opened.ws.set_settings(SettingsChanges {
            checkin_rhythm_days: args.checkins,
            survey_rhythm_days: args.surveys,
        })?;
        home.save(&mut opened)?;
        settings
    } else {
        opened.ws.settings()
    };
    drop(home);
    if ctx.json {
        return ctx.print_json(&settings);
    }
    let verb = if args.writes() { "Set" } else { "The" };
    ctx.say(format!(
        "{verb} rhythm: a check-in every {}, a pulse survey every {}.",
        days(settings.checkin_rhythm_days),
        days(settings.survey_rhythm_days)
    ));
    Ok(())
}

/// `1 day`, `14 days`.
pub fn days(n: i64) -> String {
    if n == 1 {
        "1 day".to_string()
    } else {
        format!("{n} days")
    }
}

/// The rhythm line of `plan`: `Next check-in due Mon 14 Dec (in 3 days)`, or how long it is
/// overdue, in the reader's zone.
pub fn rhythm_line(p: Paint, rhythm: &Rhythm, now: Timestamp, zone: &TimeZone) -> String {
    let Some(due) = rhythm.next_checkin_due.as_ref().and_then(|d| d.valid()) else {
        return "Next check-in: not known".to_string();
    };
    let local = due.to_zoned_datetime(zone.clone());
    let day = local.strftime("%a %-d %b").to_string();
    if rhythm.overdue_days > 0 {
        return p.red(&format!(
            "Check-in overdue by {} (was due {day})",
            days(rhythm.overdue_days)
        ));
    }
    let today = now.to_zoned_datetime(zone.clone()).date();
    let ahead = today
        .until((tandem_core::jiff::Unit::Day, local.date()))
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0);
    let when = match ahead {
        i64::MIN..=0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        n => format!("in {n} days"),
    };
    format!("Next check-in due {day} ({when})")
}

/// When `checkin add --repeat` schedules the next check-in, and the meeting link it carries: the
/// rhythm after the latest check-in not archived, at the same time of day in the reader's zone,
/// or the rhythm after now when there has been none.
pub fn repeat_after(
    ws: &Workspace,
    now: Timestamp,
    zone: &TimeZone,
) -> tandem_core::Result<RepeatFrom> {
    let rhythm = ws.settings().checkin_rhythm_days;
    let latest = ws
        .checkins()
        .into_iter()
        .filter(|c| !c.meta.archived)
        .filter_map(|c| c.at.valid().copied().map(|at| (at, c.meeting_link)))
        .max_by_key(|(at, _)| *at);
    let (from, link) = match latest {
        Some((at, link)) => (at, link),
        None => (now, None),
    };
    let at = from
        .to_zoned_datetime(zone.clone())
        .checked_add(Span::new().days(rhythm))
        .map_err(|e| {
            tandem_core::Error::Invalid(format!("cannot schedule the next check-in: {e}"))
        })?
        .timestamp();
    Ok(RepeatFrom { at, link })
}

/// The next check-in of a repeat: when, and the meeting link carried from the one before.
pub struct RepeatFrom {
    pub at: Timestamp,
    pub link: Option<String>,
}

/// The plan's lines about the rhythm and the survey, painted.
pub fn survey_prompt(p: Paint) -> String {
    p.yellow("Pulse survey due — run `tandem survey`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhythms_outside_a_year_are_refused_naming_the_range() {
        assert_eq!(rhythm_days("14"), Ok(14));
        for bad in ["0", "366", "-3", "two"] {
            assert!(rhythm_days(bad).unwrap_err().contains("from 1 to 365"));
        }
    }

    #[test]
    fn the_rhythm_line_says_when_or_how_late() {
        let p = Paint { on: false };
        let now: Timestamp = "2026-12-11T09:00:00Z".parse().unwrap();
        let rhythm = |due: &str, overdue| Rhythm {
            checkin_rhythm_days: 14,
            survey_rhythm_days: 30,
            next_checkin_due: Some(tandem_core::model::time::Stored::from_stored(due)),
            overdue_days: overdue,
        };
        let utc = TimeZone::UTC;
        assert_eq!(
            rhythm_line(p, &rhythm("2026-12-14T10:00:00Z", 0), now, &utc),
            "Next check-in due Mon 14 Dec (in 3 days)"
        );
        assert_eq!(
            rhythm_line(p, &rhythm("2026-12-07T10:00:00Z", 4), now, &utc),
            "Check-in overdue by 4 days (was due Mon 7 Dec)"
        );
    }
}
