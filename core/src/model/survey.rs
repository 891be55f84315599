//! The pulse survey: every few weeks (the survey rhythm) the mentor and the mentee each say, from
//! 1 to 5, how the mentee is progressing, how the relationship is going and whether they would
//! recommend the programme, with an optional comment.
//!
//! Answers live in the root map `surveys`, keyed `"<participant id>:<period>"`, so each person has
//! one entry per period and two people answering at once never collide; answering again in the
//! same period rewrites that entry. A period is the number of whole survey rhythms between the
//! day the workspace was created and today, both as UTC dates. Today is passed in.

use super::fields::{
    check_size, ensure_map, get_all_maps, get_int, get_map, get_stored, get_string, keys, set_text,
};
use super::time::{today as date_in, Stored};
use super::{Meta, PairReader, Role, Workspace};
use crate::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value, ROOT};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The answers a survey question accepts.
pub const SURVEY_SCALE: std::ops::RangeInclusive<i64> = 1..=5;

/// One person's answers for one period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SurveyAnswer {
    /// The entry's key, `"<participant id>:<period>"`.
    pub id: String,
    pub participant: String,
    pub name: String,
    pub period: i64,
    pub progress: i64,
    pub relationship: i64,
    pub recommend: i64,
    pub comment: String,
    /// When the answers were last given.
    pub at: Option<Stored<Timestamp>>,
    #[serde(flatten)]
    pub meta: Meta,
}

impl SurveyAnswer {
    /// The pulse score of this answer: the mean of its three answers.
    pub fn score(&self) -> f64 {
        (self.progress + self.relationship + self.recommend) as f64 / 3.0
    }
}

/// Answers to the pulse survey, from 1 to 5 each.
#[derive(Debug, Clone, Default)]
pub struct NewSurvey {
    pub progress: i64,
    pub relationship: i64,
    pub recommend: i64,
    pub comment: Option<String>,
}

/// The key of a participant's answer in a period.
pub fn survey_key(participant: &str, period: i64) -> String {
    format!("{participant}:{period}")
}

/// Check one answer to a survey question.
pub fn check_answer(question: &str, value: i64) -> Result<i64> {
    if SURVEY_SCALE.contains(&value) {
        Ok(value)
    } else {
        Err(Error::Invalid(format!(
            "invalid {question} answer {value}: expected a whole number from 1 to 5"
        )))
    }
}

/// The UTC date of `at`, the calendar surveys count in.
pub fn today_in_utc(at: Timestamp) -> Date {
    date_in(at, &TimeZone::UTC)
}

/// The survey period `today` falls in, for a workspace created on `created` (both UTC dates)
/// with a survey every `rhythm_days`; never negative.
pub fn survey_period(created: Date, today: Date, rhythm_days: i64) -> i64 {
    let elapsed = created
        .until((jiff::Unit::Day, today))
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0);
    (elapsed.max(0)) / rhythm_days.max(1)
}

impl Workspace {
    /// Record the acting participant's answers for the period `today` (a UTC date) falls in;
    /// answering again in that period rewrites them. Returns the entry's key.
    pub fn answer_survey(&mut self, answer: NewSurvey, today: Date) -> Result<String> {
        let progress = check_answer("progress", answer.progress)?;
        let relationship = check_answer("relationship", answer.relationship)?;
        let recommend = check_answer("recommend", answer.recommend)?;
        if let Some(c) = &answer.comment {
            check_size("survey comment", c)?;
        }
        let me = self.me.clone().ok_or_else(|| {
            Error::Invalid(
                "this device is not a participant of the workspace, so it cannot answer the \
                 survey"
                    .into(),
            )
        })?;
        let period = self.survey_period(today);
        let key = survey_key(&me, period);
        let stamp = self.stamp();
        // The entry may exist more than once: two devices of the same person that answered this
        // period offline each made it. Answering again writes every copy, so they agree again
        // and the conflict between them ends.
        let mut copies: Vec<ObjId> = Vec::new();
        for map in get_all_maps(&self.doc, &ROOT, "surveys") {
            for (value, id) in self.doc.get_all(&map, key.as_str())? {
                if matches!(value, Value::Object(ObjType::Map)) && !copies.contains(&id) {
                    copies.push(id);
                }
            }
        }
        if copies.is_empty() {
            let surveys = ensure_map(&mut self.doc, &ROOT, "surveys")?;
            let entry = self.doc.put_object(&surveys, key.as_str(), ObjType::Map)?;
            self.doc.put(&entry, "participant", me.as_str())?;
            self.doc.put(&entry, "period", period)?;
            self.doc.put(&entry, "created_by", me.as_str())?;
            self.doc.put(&entry, "created_at", stamp.as_str())?;
            copies.push(entry);
        }
        for entry in &copies {
            self.doc.put(entry, "progress", progress)?;
            self.doc.put(entry, "relationship", relationship)?;
            self.doc.put(entry, "recommend", recommend)?;
            set_text(
                &mut self.doc,
                entry,
                "comment",
                answer.comment.as_deref().unwrap_or(""),
            )?;
            self.doc.put(entry, "at", stamp.as_str())?;
            self.doc.put(entry, "archived", false)?;
        }
        self.commit(format!(
            "answered the pulse survey for period {period}: {progress}/{relationship}/{recommend}"
        ));
        Ok(key)
    }

    fn read_survey(&self, key: &str, obj: &ObjId) -> Option<SurveyAnswer> {
        let participant = get_string(&self.doc, obj, "participant")
            .or_else(|| key.rsplit_once(':').map(|(p, _)| p.to_string()))?;
        let period = get_int(&self.doc, obj, "period")
            .or_else(|| key.rsplit_once(':').and_then(|(_, n)| n.parse().ok()))?;
        Some(SurveyAnswer {
            id: key.to_string(),
            name: self.display_name(&participant),
            participant,
            period,
            progress: get_int(&self.doc, obj, "progress")?,
            relationship: get_int(&self.doc, obj, "relationship")?,
            recommend: get_int(&self.doc, obj, "recommend")?,
            comment: get_string(&self.doc, obj, "comment").unwrap_or_default(),
            at: get_stored(&self.doc, obj, "at"),
            meta: self.meta(obj),
        })
    }

    /// Every survey answer, archived ones included, by period and then by name. An entry
    /// missing an answer (written by another client) is left out.
    pub fn surveys(&self) -> Vec<SurveyAnswer> {
        let mut seen = std::collections::HashSet::new();
        let mut all = Vec::new();
        for map in get_all_maps(&self.doc, &ROOT, "surveys") {
            for key in keys(&self.doc, &map) {
                if !seen.insert(key.clone()) {
                    continue;
                }
                if let Some(s) =
                    get_map(&self.doc, &map, &key).and_then(|obj| self.read_survey(&key, &obj))
                {
                    all.push(s);
                }
            }
        }
        all.sort_by(|a, b| (a.period, &a.name, &a.id).cmp(&(b.period, &b.name, &b.id)));
        all
    }
}

/// The survey period `today` (a UTC date) falls in; 0 when the workspace's creation time
/// does not read as an instant.
pub(super) fn survey_period_of<R: PairReader + ?Sized>(r: &R, today: Date) -> i64 {
    let Some(created) = r.created_at() else {
        return 0;
    };
    let created = today_in_utc(created);
    survey_period(created, today, r.settings().survey_rhythm_days)
}

/// Whether `participant` is asked to answer the survey on `today` (a UTC date): they are a
/// mentor or mentee still taking part, at least one rhythm has passed since the workspace
/// was created, and they have no answer for the current period.
pub(super) fn survey_due<R: PairReader + ?Sized>(r: &R, participant: &str, today: Date) -> bool {
    let Some(p) = r.participant(participant) else {
        return false;
    };
    if p.is_removed() || !matches!(p.role, Role::Mentor | Role::Mentee) {
        return false;
    }
    let period = survey_period_of(r, today);
    if period < 1 {
        return false;
    }
    let key = survey_key(participant, period);
    !r.surveys().iter().any(|s| s.id == key && !s.meta.archived)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{merge_both, now, pair};
    use jiff::civil::date;

    fn answers(p: i64, r: i64, c: i64) -> NewSurvey {
        NewSurvey {
            progress: p,
            relationship: r,
            recommend: c,
            comment: None,
        }
    }

    #[test]
    fn periods_count_whole_rhythms_since_the_workspace_was_made() {
        let made = date(2026, 11, 1);
        assert_eq!(survey_period(made, date(2026, 11, 1), 30), 0);
        assert_eq!(survey_period(made, date(2026, 11, 30), 30), 0);
        assert_eq!(survey_period(made, date(2026, 12, 1), 30), 1);
        assert_eq!(survey_period(made, date(2027, 1, 29), 30), 2);
        assert_eq!(survey_period(made, date(2027, 1, 30), 30), 3);
        assert_eq!(survey_period(made, date(2026, 10, 1), 30), 0);
        assert_eq!(survey_period(made, date(2026, 11, 8), 7), 1);
    }

    #[test]
    fn a_survey_is_due_once_a_period_and_answered_once_per_person() {
        let (mut ana, mut ben) = pair();
        let made = today_in_utc(now());
        let ana_id = ana.me().unwrap().to_string();
        let ben_id = ben.me().unwrap().to_string();
        assert!(!ana.survey_due(&ana_id, made));
        let later = made.checked_add(jiff::Span::new().days(31)).unwrap();
        assert!(ana.survey_due(&ana_id, later));
        assert!(ana.survey_due(&ben_id, later));
        let key = ana.answer_survey(answers(4, 5, 5), later).unwrap();
        assert_eq!(key, format!("{ana_id}:1"));
        assert!(!ana.survey_due(&ana_id, later));
        // Answering again in the same period rewrites the one entry.
        let mut again = answers(3, 5, 4);
        again.comment = Some("slower month".into());
        ana.answer_survey(again, later).unwrap();
        // Both people answering offline keep both answers.
        ben.answer_survey(answers(5, 5, 5), later).unwrap();
        merge_both(&mut ana, &mut ben);
        let all = ana.surveys();
        assert_eq!(all.len(), 2, "{all:?}");
        let mine = all.iter().find(|s| s.participant == ana_id).unwrap();
        assert_eq!(
            (mine.progress, mine.recommend, mine.comment.as_str()),
            (3, 4, "slower month")
        );
        assert!((mine.score() - 4.0).abs() < 1e-9);
        assert!(!ben.survey_due(&ben_id, later));
        // The next period asks again.
        let next = later.checked_add(jiff::Span::new().days(30)).unwrap();
        assert!(ana.survey_due(&ana_id, next));
        // Out-of-range answers are refused, naming the range.
        let err = ana.answer_survey(answers(6, 1, 1), later).unwrap_err();
        assert!(err.to_string().contains("from 1 to 5"), "{err}");
    }

    #[test]
    fn answers_survive_when_an_older_document_had_no_surveys_map() {
        let (mut ana, mut ben) = pair();
        // A document made before surveys existed: each side creates the map offline.
        ana.doc_mut().delete(ROOT, "surveys").unwrap();
        ana.doc_mut().commit();
        merge_both(&mut ana, &mut ben);
        let later = date(2027, 1, 1);
        ana.answer_survey(answers(4, 4, 4), later).unwrap();
        ben.answer_survey(answers(5, 5, 5), later).unwrap();
        merge_both(&mut ana, &mut ben);
        // Two maps under one key, one of them the winner; both are read.
        use automerge::ReadDoc;
        assert_eq!(ana.doc().get_all(ROOT, "surveys").unwrap().len(), 2);
        for ws in [&ana, &ben] {
            assert_eq!(ws.surveys().len(), 2);
        }
    }

    #[test]
    fn observers_are_never_asked() {
        let (mut ana, _) = pair();
        let actor = automerge::ActorId::random();
        let olga = ana.add_participant("Olga", Role::Observer, &actor).unwrap();
        let later = date(2030, 1, 1);
        assert!(!ana.survey_due(&olga, later));
    }
}
