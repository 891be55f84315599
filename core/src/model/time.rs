//! Dates and times as the workspace stores them: scalar strings, always in UTC for instants.
//!
//! Due dates are calendar dates (`YYYY-MM-DD`) because a goal is due on a day, not at an instant.
//! Check-in times are instants stored as RFC 3339 in UTC (`2026-12-03T14:00:00Z`) so that a pair
//! in two time zones agrees on when they meet; they are shown in the reader's local zone.

use crate::{Error, Result};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Parse a due date given as `YYYY-MM-DD`.
pub fn parse_date(input: &str) -> Result<String> {
    let date: Date = input.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "invalid date '{input}': expected YYYY-MM-DD, e.g. 2026-12-31"
        ))
    })?;
    Ok(date.to_string())
}

/// Parse a date and time typed by a person: RFC 3339, or a civil `YYYY-MM-DD[ HH:MM[:SS]]` taken
/// in `zone`. Returns the stored form (RFC 3339, UTC, whole seconds).
pub fn parse_datetime(input: &str, zone: &TimeZone) -> Result<String> {
    let trimmed = input.trim();
    let bad = || {
        Error::Invalid(format!(
            "invalid date and time '{input}': expected YYYY-MM-DD HH:MM (local time) or RFC 3339"
        ))
    };
    let ts = if let Ok(ts) = trimmed.parse::<Timestamp>() {
        ts
    } else {
        let civil = trimmed.replacen(' ', "T", 1);
        let dt: DateTime = match civil.parse::<DateTime>() {
            Ok(dt) => dt,
            Err(_) => civil.parse::<Date>().map_err(|_| bad())?.at(9, 0, 0, 0),
        };
        zone.to_timestamp(dt).map_err(|_| bad())?
    };
    Ok(format_instant(ts))
}

/// The stored form of an instant.
pub fn format_instant(ts: Timestamp) -> String {
    // Whole seconds keep the stored strings short and comparable as text.
    let secs = Timestamp::from_second(ts.as_second()).unwrap_or(ts);
    secs.to_string()
}

/// Show a stored instant in `zone` as `YYYY-MM-DD HH:MM`; unparseable input is shown unchanged.
pub fn display_instant(stored: &str, zone: &TimeZone) -> String {
    match stored.parse::<Timestamp>() {
        Ok(ts) => ts
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => stored.to_string(),
    }
}

/// The calendar date of `now` in `zone`, for comparing against due dates.
pub fn today(now: Timestamp, zone: &TimeZone) -> String {
    now.to_zoned_datetime(zone.clone()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real_calendar_days() {
        assert_eq!(parse_date("2026-12-31").unwrap(), "2026-12-31");
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("tomorrow").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn civil_times_are_read_in_the_given_zone_and_stored_in_utc() {
        let zone = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(
            parse_datetime("2026-12-03 15:00", &zone).unwrap(),
            "2026-12-03T13:00:00Z"
        );
        assert_eq!(
            parse_datetime("2026-12-03T15:00:00+01:00", &zone).unwrap(),
            "2026-12-03T14:00:00Z"
        );
        assert!(parse_datetime("next week", &zone).is_err());
        assert_eq!(
            display_instant("2026-12-03T13:00:00Z", &zone),
            "2026-12-03 15:00"
        );
    }
}
