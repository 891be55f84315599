//! Flag values parsed straight into core's types. A value outside the allowed ones is a usage
//! error (exit 2) that names them, reported by clap before any command runs; the lists come from
//! core, so the command line and the document cannot disagree. clap may hand on a value in the
//! case the person typed it (with `ignore_case`), so the value is parsed as typed input, never
//! read as a stored one.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use tandem_core::jiff::civil::Date;
use tandem_core::model::time::{parse_date, When};
use tandem_core::model::{GoalStatus, Role};

/// A goal status: open, active, done or dropped.
pub fn status() -> impl TypedValueParser<Value = GoalStatus> {
    PossibleValuesParser::new(GoalStatus::KNOWN).try_map(|s| s.parse::<GoalStatus>())
}

/// A participant's role: mentor, mentee or observer.
pub fn role() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::KNOWN).try_map(|s| s.parse::<Role>())
}

/// A due date, `YYYY-MM-DD`, a real day of the calendar.
pub fn date(s: &str) -> Result<Date, tandem_core::Error> {
    parse_date(s)
}

/// When a check-in happens: `YYYY-MM-DD HH:MM` in local time, or RFC 3339. The local time is
/// placed in the time zone later, from the context.
pub fn when(s: &str) -> Result<When, tandem_core::Error> {
    s.parse()
}

/// A check-in rating, a whole number from 1 to 5.
pub fn rating(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(r) if (1..=5).contains(&r) => Ok(r),
        _ => Err("expected a whole number from 1 to 5".into()),
    }
}
