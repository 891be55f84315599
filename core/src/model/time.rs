//! Dates and times as the workspace stores them: scalar strings, always in UTC for instants.
//!
//! Due dates are calendar dates (`YYYY-MM-DD`) because a goal is due on a day, not at an instant.
//! Check-in times are instants stored as RFC 3339 in UTC (`2026-12-03T14:00:00Z`) so that a pair
//! in two time zones agrees on when they meet; they are shown in the reader's local zone.
//!
//! The model's API speaks [`jiff::civil::Date`] and [`jiff::Timestamp`]; only this file knows
//! the stored forms. What is read back is a [`Stored`] value, because another client may have
//! written something that does not parse, and reading must never fail.

use crate::{Error, Result};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A date or an instant read from the document: the value, or the stored text when it does not
/// parse.
///
/// tandem always writes the forms above, but another client may not. A value that does not parse
/// is kept as it was stored rather than dropped, so it is still shown (as it is) and exported
/// unchanged; it is never counted as overdue or as past or future, and it sorts after every value
/// that parses. A value that parses is exported in tandem's own form, which for an instant means
/// UTC with a `Z` and no zero fractions (`2026-12-03T14:00:00.000Z` from JavaScript reads back as
/// `2026-12-03T14:00:00Z`, the same instant).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stored<T> {
    /// The stored text parsed.
    Valid(T),
    /// The stored text, which does not parse as this kind of value.
    Unparsed(String),
}

/// A value with a stored form: how it is written and how stored text is read back.
pub trait StoredForm: Sized + std::fmt::Display {
    /// Parse stored text; `None` when it is not this kind of value.
    fn parse_stored(stored: &str) -> Option<Self>;
}

impl StoredForm for Date {
    fn parse_stored(stored: &str) -> Option<Self> {
        parse_date(stored).ok()
    }
}

impl StoredForm for Timestamp {
    fn parse_stored(stored: &str) -> Option<Self> {
        stored.parse().ok()
    }
}

impl<T: StoredForm> Stored<T> {
    /// Read stored text; this never fails.
    pub fn from_stored(stored: &str) -> Self {
        match T::parse_stored(stored) {
            Some(value) => Stored::Valid(value),
            None => Stored::Unparsed(stored.to_string()),
        }
    }

    /// The value, when the stored text parsed.
    pub fn valid(&self) -> Option<&T> {
        match self {
            Stored::Valid(value) => Some(value),
            Stored::Unparsed(_) => None,
        }
    }
}

impl<T> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Stored::Valid(value)
    }
}

/// The stored form, or the stored text as it is.
impl<T: std::fmt::Display> std::fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stored::Valid(value) => f.pad(&value.to_string()),
            Stored::Unparsed(text) => f.pad(text),
        }
    }
}

/// Serialized as a string, the same one the document holds, so the `--json` shapes stay strings.
impl<T: std::fmt::Display> serde::Serialize for Stored<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: StoredForm> serde::Deserialize<'de> for Stored<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let stored = <String as serde::Deserialize>::deserialize(d)?;
        Ok(Self::from_stored(&stored))
    }
}

/// Parse a due date given as `YYYY-MM-DD`.
pub fn parse_date(input: &str) -> Result<Date> {
    input.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "invalid date '{input}': expected YYYY-MM-DD, e.g. 2026-12-31"
        ))
    })
}

/// When a check-in happens, as a person typed it: an instant (RFC 3339, with its offset), or a
/// civil date and time that only means something once a time zone is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// RFC 3339 with an offset: an instant already.
    Instant(Timestamp),
    /// `YYYY-MM-DD[ HH:MM[:SS]]` (a date alone means 09:00), in the reader's zone.
    Local(DateTime),
}

impl std::str::FromStr for When {
    type Err = Error;

    /// Parse a date and time typed by a person: RFC 3339, or a civil
    /// `YYYY-MM-DD[ HH:MM[:SS]]`.
    fn from_str(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if let Ok(ts) = trimmed.parse::<Timestamp>() {
            return Ok(When::Instant(ts));
        }
        let civil = trimmed.replacen(' ', "T", 1);
        if let Ok(dt) = civil.parse::<DateTime>() {
            return Ok(When::Local(dt));
        }
        match parse_date(&civil) {
            Ok(date) => Ok(When::Local(date.at(9, 0, 0, 0))),
            Err(_) => Err(Error::Invalid(format!(
                "invalid date and time '{input}': expected YYYY-MM-DD HH:MM (local time) or RFC 3339"
            ))),
        }
    }
}

impl When {
    /// The instant this is, taking a civil time in `zone`, to whole seconds (the stored
    /// precision).
    pub fn resolve(self, zone: &TimeZone) -> Result<Timestamp> {
        let ts = match self {
            When::Instant(ts) => ts,
            When::Local(dt) => zone.to_timestamp(dt).map_err(|e| {
                Error::Invalid(format!("{dt} is not a time in this time zone: {e}"))
            })?,
        };
        Ok(whole_seconds(ts))
    }
}

/// Parse a date and time typed by a person (see [`When`]) and take it in `zone`.
pub fn parse_datetime(input: &str, zone: &TimeZone) -> Result<Timestamp> {
    input.parse::<When>()?.resolve(zone)
}

fn whole_seconds(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

/// The stored form of an instant.
pub fn format_instant(ts: Timestamp) -> String {
    // Whole seconds keep the stored strings short and comparable as text.
    whole_seconds(ts).to_string()
}

/// Show an instant in `zone` as `YYYY-MM-DD HH:MM ZONE`, the zone being its abbreviation
/// (`CET`, `UTC`) or, for a zone without one, its offset (`+02:00`): a mentor and a mentee in two
/// zones each see their own local time, and can tell that it is theirs. A stored value that does
/// not parse is shown unchanged.
pub fn display_instant(at: &Stored<Timestamp>, zone: &TimeZone) -> String {
    match at {
        Stored::Valid(ts) => {
            let local = ts.to_zoned_datetime(zone.clone());
            let abbreviation = zone.to_offset_info(*ts).abbreviation().to_string();
            let label = if abbreviation.is_empty() {
                local.offset().to_string()
            } else {
                abbreviation
            };
            format!("{} {label}", local.strftime("%Y-%m-%d %H:%M"))
        }
        Stored::Unparsed(text) => text.clone(),
    }
}

/// The calendar date of `now` in `zone`, for comparing against due dates.
pub fn today(now: Timestamp, zone: &TimeZone) -> Date {
    now.to_zoned_datetime(zone.clone()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real_calendar_days() {
        assert_eq!(
            parse_date("2026-12-31").unwrap(),
            jiff::civil::date(2026, 12, 31)
        );
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("tomorrow").is_err());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-1-1").is_err());
    }

    #[test]
    fn civil_times_are_read_in_the_given_zone_and_stored_in_utc() {
        let zone = TimeZone::fixed(jiff::tz::offset(2));
        let stored = |input: &str| format_instant(parse_datetime(input, &zone).unwrap());
        assert_eq!(stored("2026-12-03 15:00"), "2026-12-03T13:00:00Z");
        assert_eq!(stored("2026-12-03T15:00:00+01:00"), "2026-12-03T14:00:00Z");
        assert!(parse_datetime("next week", &zone).is_err());
        assert_eq!(
            display_instant(&Stored::from_stored("2026-12-03T13:00:00Z"), &zone),
            "2026-12-03 15:00 +02"
        );
    }

    #[test]
    fn instants_are_shown_with_their_zone() {
        let at = Stored::from_stored("2026-12-03T14:00:00Z");
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(display_instant(&at, &paris), "2026-12-03 15:00 CET");
        let summer = Stored::from_stored("2026-07-03T14:00:00Z");
        assert_eq!(display_instant(&summer, &paris), "2026-07-03 16:00 CEST");
        assert_eq!(display_instant(&at, &TimeZone::UTC), "2026-12-03 14:00 UTC");
    }

    #[test]
    fn a_stored_value_that_does_not_parse_is_kept_as_it_was() {
        let due: Stored<Date> = Stored::from_stored("next week");
        assert_eq!(due, Stored::Unparsed("next week".into()));
        assert_eq!(serde_json::to_value(&due).unwrap(), "next week");
        assert!(due > Stored::Valid(jiff::civil::date(2999, 1, 1)));
        let at: Stored<Timestamp> = Stored::from_stored("soon");
        assert_eq!(display_instant(&at, &TimeZone::UTC), "soon");
        // tandem's own forms read back to the same strings.
        let due = serde_json::to_value(Stored::<Date>::from_stored("2026-12-31")).unwrap();
        assert_eq!(due, "2026-12-31");
        for stored in ["2026-12-03T14:00:00Z", "2026-12-03T14:00:00.000Z"] {
            let back = serde_json::to_value(Stored::<Timestamp>::from_stored(stored)).unwrap();
            assert_eq!(back, "2026-12-03T14:00:00Z");
        }
    }
}
