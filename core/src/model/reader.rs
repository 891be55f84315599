//! What the plan's derived figures read — the check-in rhythm, whether a pulse survey is due,
//! the wins — so that they come out the same from the document ([`Workspace`]) and from the
//! read model kept beside it (`store/read_model.rs`), which `tandem plan` reads without loading
//! the document.

use super::rhythm::Rhythm;
use super::wins::Win;
use super::{CheckIn, Goal, Kudos, Participant, Settings, SurveyAnswer, Workspace};
use jiff::civil::Date;
use jiff::Timestamp;

/// A pair's plan as the derived figures read it. The provided methods are the figures; an
/// implementation gives the items they are computed from.
pub trait PairReader {
    /// The pair's rhythms.
    fn settings(&self) -> Settings;
    /// When the workspace was created, if that reads as an instant.
    fn created_at(&self) -> Option<Timestamp>;
    /// Every check-in, archived ones included, in meeting order.
    fn checkins(&self) -> Vec<CheckIn>;
    /// Every goal, archived ones included.
    fn goals(&self) -> Vec<Goal>;
    /// Every kudos, archived ones included.
    fn kudos(&self) -> Vec<Kudos>;
    /// The participant with this id, if believed.
    fn participant(&self, id: &str) -> Option<Participant>;
    /// Every pulse survey answer.
    fn surveys(&self) -> Vec<SurveyAnswer>;

    /// Where the pair stands against its check-in rhythm at `now` (see `rhythm.rs`).
    fn rhythm(&self, now: Timestamp) -> Rhythm {
        super::rhythm::rhythm(self, now)
    }

    /// Every win up to `now`, newest first; those without a date come last.
    fn wins(&self, now: Timestamp) -> Vec<Win> {
        super::wins::wins(self, now)
    }

    /// The recent wins before `now`, newest first (see `wins.rs`).
    fn recent_wins(&self, now: Timestamp) -> Vec<Win> {
        super::wins::recent_wins(self, now)
    }

    /// The survey period `today` (a UTC date) falls in.
    fn survey_period(&self, today: Date) -> i64 {
        super::survey::survey_period_of(self, today)
    }

    /// Whether `participant` is asked to answer the pulse survey on `today` (a UTC date).
    fn survey_due(&self, participant: &str, today: Date) -> bool {
        super::survey::survey_due(self, participant, today)
    }
}

impl PairReader for Workspace {
    fn settings(&self) -> Settings {
        Workspace::settings(self)
    }
    fn created_at(&self) -> Option<Timestamp> {
        Workspace::created_at(self)
    }
    fn checkins(&self) -> Vec<CheckIn> {
        Workspace::checkins(self)
    }
    fn goals(&self) -> Vec<Goal> {
        Workspace::goals(self)
    }
    fn kudos(&self) -> Vec<Kudos> {
        Workspace::kudos(self)
    }
    fn participant(&self, id: &str) -> Option<Participant> {
        Workspace::participant(self, id)
    }
    fn surveys(&self) -> Vec<SurveyAnswer> {
        Workspace::surveys(self)
    }
}
