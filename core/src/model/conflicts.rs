//! Fields that two people set concurrently.
//!
//! automerge never loses either value of a concurrent write: it picks a winner deterministically
//! and keeps the other as a conflict. tandem shows both until someone sets the field again, which
//! supersedes both values and so resolves the conflict without any special command.

use crate::model::fields::{get_all_maps, get_map, get_string, keys};
use crate::model::{Kind, Workspace};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::Serialize;

/// What a conflicted field belongs to: the workspace itself, its settings, or an item of some
/// kind. It serializes as the word a person would use (`workspace`, `goal`, `action item`,
/// `settings`, `survey answer`, `kudos`, `career step`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOn {
    Workspace,
    Item(Kind),
    /// The pair's rhythms.
    Settings,
    SurveyAnswer,
    Kudos,
    CareerStep,
}

impl ConflictOn {
    /// The word a person would use.
    pub fn noun(self) -> &'static str {
        match self {
            ConflictOn::Workspace => "workspace",
            ConflictOn::Item(kind) => kind.noun(),
            ConflictOn::Settings => "settings",
            ConflictOn::SurveyAnswer => "survey answer",
            ConflictOn::Kudos => "kudos",
            ConflictOn::CareerStep => "career step",
        }
    }
}

impl std::fmt::Display for ConflictOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.noun())
    }
}

impl Serialize for ConflictOn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.noun())
    }
}

/// One value of a conflicted field, and who wrote it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConflictValue {
    pub value: serde_json::Value,
    pub author: String,
    /// Whether automerge currently shows this value (the deterministic winner).
    pub winner: bool,
}

/// A field with more than one concurrent value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conflict {
    pub kind: ConflictOn,
    pub id: String,
    pub title: String,
    pub field: String,
    pub values: Vec<ConflictValue>,
}

fn value_json(doc: &AutoCommit, value: &Value<'_>, id: &automerge::ObjId) -> serde_json::Value {
    match value {
        Value::Object(ObjType::Text) => doc
            .text(id)
            .map(serde_json::Value::String)
            .unwrap_or_default(),
        Value::Object(_) => serde_json::Value::String("(object)".into()),
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => serde_json::Value::String(s.to_string()),
            ScalarValue::Boolean(b) => serde_json::Value::Bool(*b),
            ScalarValue::Int(i) => (*i).into(),
            ScalarValue::Uint(u) => (*u).into(),
            ScalarValue::F64(f) => serde_json::json!(f),
            ScalarValue::Null => serde_json::Value::Null,
            other => serde_json::Value::String(other.to_string()),
        },
    }
}

fn actor_of(id: &automerge::ObjId) -> Option<ActorId> {
    match id {
        automerge::ObjId::Id(_, actor, _) => Some(actor.clone()),
        automerge::ObjId::Root => None,
    }
}

/// Fields an entry of the newer collections records about its own making and about when it was
/// last answered. Two devices that each create the same entry (the same person answering the
/// same survey period on two devices) write them differently, and two devices answering again at
/// once write `at` concurrently, but nobody sets them by hand: they are never shown as a
/// conflict, while the answers written with them are.
const BOOKKEEPING: [&str; 3] = ["created_at", "created_by", "at"];

/// The copies of each item of a collection that older documents lack (surveys, kudos, career
/// steps), by key, each with the winning copy first. Two devices that each create the collection,
/// or the same entry in it, make several maps where there would be one; readers take the first
/// (see [`get_all_maps`]), and a field set differently in them is a conflict like any other.
fn copies_by_key(doc: &AutoCommit, collection: &str) -> Vec<(String, Vec<ObjId>)> {
    let mut by_key: Vec<(String, Vec<ObjId>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for map in get_all_maps(doc, &ROOT, collection) {
        for key in keys(doc, &map) {
            let mut found: Vec<ObjId> = get_map(doc, &map, &key).into_iter().collect();
            for (value, id) in doc.get_all(&map, key.as_str()).unwrap_or_default() {
                if matches!(value, Value::Object(ObjType::Map)) && !found.contains(&id) {
                    found.push(id);
                }
            }
            if found.is_empty() {
                continue;
            }
            match index.get(&key) {
                Some(&at) => by_key[at].1.extend(found),
                None => {
                    index.insert(key.clone(), by_key.len());
                    by_key.push((key, found));
                }
            }
        }
    }
    by_key
}

/// Collects the conflicts of a workspace, naming their authors.
struct Scan<'a> {
    ws: &'a Workspace,
    out: Vec<Conflict>,
}

impl Scan<'_> {
    fn author(&self, id: &ObjId) -> String {
        actor_of(id)
            .and_then(|a| self.ws.participant_for_actor(&a))
            .map(|p| p.name)
            .unwrap_or_else(|| "someone".to_string())
    }

    /// Record the conflicted fields of one item, kept in `copies` (winner first; usually one).
    /// Within one copy, a field with concurrent values is a conflict; across copies, a field
    /// that a person sets holding different values is one too.
    /// Fields named in `skip` are never reported.
    fn item(
        &mut self,
        kind: ConflictOn,
        id: &str,
        title: &str,
        copies: &[ObjId],
        prefix: &str,
        skip: &[&str],
    ) {
        let doc = self.ws.doc();
        let fields: Vec<String> = if let [only] = copies {
            // One pass over the map finds the conflicted keys; only those are looked up again.
            doc.map_range(only, ..)
                .filter(|item| item.conflict)
                .map(|item| item.key.into_owned())
                .collect()
        } else {
            let every: std::collections::BTreeSet<String> = copies
                .iter()
                .flat_map(|c| doc.map_range(c, ..).map(|item| item.key.into_owned()))
                .collect();
            every.into_iter().collect()
        };
        for field in fields {
            if skip.contains(&field.as_str()) {
                continue;
            }
            let per_copy: Vec<Vec<(Value<'_>, ObjId)>> = copies
                .iter()
                .map(|c| doc.get_all(c, field.as_str()).unwrap_or_default())
                .collect();
            let within = per_copy.iter().any(|values| values.len() > 1);
            let all: Vec<(Value<'_>, ObjId)> = per_copy.into_iter().flatten().collect();
            if all.len() < 2 {
                continue;
            }
            // Nested maps (milestones, ratings, tags) are scanned on their own; a conflict on the
            // map itself only means both sides created it.
            if all
                .iter()
                .all(|(v, _)| matches!(v, Value::Object(ObjType::Map)))
            {
                continue;
            }
            let values: Vec<serde_json::Value> =
                all.iter().map(|(v, vid)| value_json(doc, v, vid)).collect();
            if !within && values.iter().all(|v| *v == values[0]) {
                continue;
            }
            // What readers show: the winning value of the first copy that has the field.
            let winner = copies
                .iter()
                .find_map(|c| doc.get(c, field.as_str()).ok().flatten())
                .map(|(_, id)| id);
            let mut shown: Vec<ConflictValue> = Vec::new();
            for ((_, vid), value) in all.iter().zip(values) {
                let value = ConflictValue {
                    value,
                    author: self.author(vid),
                    winner: winner.as_ref() == Some(vid),
                };
                // The same answer by the same person, written into each copy, is listed once.
                let same =
                    |v: &&mut ConflictValue| v.value == value.value && v.author == value.author;
                match shown.iter_mut().find(same) {
                    Some(seen) if copies.len() > 1 => seen.winner |= value.winner,
                    _ => shown.push(value),
                }
            }
            if shown.len() < 2 {
                continue;
            }
            let values = shown;
            self.out.push(Conflict {
                kind,
                id: id.to_string(),
                title: title.to_string(),
                field: format!("{prefix}{field}"),
                values,
            });
        }
    }
}

impl Workspace {
    /// Every field of every item (and the workspace title, and its settings) that holds
    /// concurrent values.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let doc = self.doc();
        let mut scan = Scan {
            ws: self,
            out: Vec::new(),
        };
        let workspace_title = self.title();
        scan.item(
            ConflictOn::Workspace,
            "",
            &workspace_title,
            &[ROOT],
            "",
            &[],
        );
        for kind in Kind::ALL {
            let Some(coll) = get_map(doc, &ROOT, kind.collection()) else {
                continue;
            };
            for id in keys(doc, &coll) {
                let Some(obj) = get_map(doc, &coll, &id) else {
                    continue;
                };
                let title =
                    crate::model::fields::get_string(doc, &obj, "title").unwrap_or_default();
                let on = ConflictOn::Item(kind);
                scan.item(on, &id, &title, std::slice::from_ref(&obj), "", &[]);
                for nested in ["milestones", "ratings"] {
                    if let Some(map) = get_map(doc, &obj, nested) {
                        for sub in keys(doc, &map) {
                            if let Some(sub_obj) = get_map(doc, &map, &sub) {
                                let prefix = format!("{nested}.{}.", crate::model::short(&sub));
                                scan.item(
                                    ConflictOn::Item(kind),
                                    &id,
                                    &title,
                                    &[sub_obj],
                                    &prefix,
                                    &[],
                                );
                            }
                        }
                    }
                }
            }
        }
        let settings = get_all_maps(doc, &ROOT, "settings");
        if !settings.is_empty() {
            scan.item(
                ConflictOn::Settings,
                "",
                &workspace_title,
                &settings,
                "",
                &BOOKKEEPING,
            );
        }
        for (key, copies) in copies_by_key(doc, "surveys") {
            let title = match key.rsplit_once(':') {
                Some((who, period)) => format!("{}, period {period}", self.display_name(who)),
                None => key.clone(),
            };
            scan.item(
                ConflictOn::SurveyAnswer,
                &key,
                &title,
                &copies,
                "",
                &BOOKKEEPING,
            );
        }
        for (id, copies) in copies_by_key(doc, "kudos") {
            let title = get_string(doc, &copies[0], "text").unwrap_or_default();
            scan.item(ConflictOn::Kudos, &id, &title, &copies, "", &BOOKKEEPING);
        }
        for (id, copies) in copies_by_key(doc, "career_steps") {
            let role = |key| get_string(doc, &copies[0], key).unwrap_or_default();
            let title = format!("{} → {}", role("role_before"), role("role_after"));
            scan.item(
                ConflictOn::CareerStep,
                &id,
                &title,
                &copies,
                "",
                &BOOKKEEPING,
            );
        }
        scan.out
    }
}

#[cfg(test)]
mod tests {
    use super::ConflictOn;
    use crate::model::survey::NewSurvey;
    use crate::model::tests::{add_goal_titled, merge_both, now, pair, set_goal_status};
    use crate::model::{
        CareerStepChanges, GoalChanges, GoalStatus, ItemId, Kind, KudosChanges, NewCareerStep,
        NewKudos, SettingsChanges, Workspace,
    };
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ObjType, ReadDoc, ROOT};
    use jiff::civil::date;

    #[test]
    fn concurrent_field_edits_are_listed_as_conflicts_until_set_again() {
        let (mut ana, mut ben) = pair();
        let goal = add_goal_titled(&mut ana, "Ship it");
        merge_both(&mut ana, &mut ben);
        set_goal_status(&mut ana, &goal, GoalStatus::Active);
        set_goal_status(&mut ben, &goal, GoalStatus::Done);
        merge_both(&mut ana, &mut ben);
        let conflicts = ana.conflicts();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "status");
        let mut authors: Vec<_> = conflicts[0]
            .values
            .iter()
            .map(|v| v.author.clone())
            .collect();
        authors.sort();
        assert_eq!(authors, ["Ana", "Ben"]);
        assert_eq!(ana.conflicts(), ben.conflicts());
        set_goal_status(&mut ana, &goal, GoalStatus::Active);
        merge_both(&mut ana, &mut ben);
        assert!(ben.conflicts().is_empty());
        assert_eq!(ben.goal(&goal).unwrap().status, GoalStatus::Active);
    }

    /// Ana and Ben, who both have the goal "Portfolio site".
    fn a_shared_goal() -> (Workspace, Workspace, ItemId) {
        let (mut ana, mut ben) = pair();
        let goal = add_goal_titled(&mut ana, "Portfolio site");
        merge_both(&mut ana, &mut ben);
        (ana, ben, goal)
    }

    /// Retitle `goal` the way this version does.
    fn retitle(ws: &mut Workspace, goal: &ItemId, title: &str) {
        let changes = GoalChanges {
            title: Some(title.into()),
            ..Default::default()
        };
        ws.set_goal(goal, changes).unwrap();
    }

    /// The values and authors of the one conflict in `ws`, sorted.
    fn the_conflict(ws: &Workspace) -> Vec<(String, String)> {
        let conflicts = ws.conflicts();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        let mut values: Vec<_> = conflicts[0]
            .values
            .iter()
            .map(|v| (v.value.as_str().unwrap().to_string(), v.author.clone()))
            .collect();
        values.sort();
        values
    }

    /// Two people retitle a goal offline: the title is replaced as a whole on each side, so the
    /// merge keeps both values as a conflict rather than a mix of the two.
    #[test]
    fn concurrent_title_rewrites_are_a_conflict_with_both_titles() {
        let (mut ana, mut ben, goal) = a_shared_goal();
        retitle(&mut ana, &goal, "Portfolio site (Ana)");
        retitle(&mut ben, &goal, "Portfolio v2");
        merge_both(&mut ana, &mut ben);
        assert_eq!(
            the_conflict(&ana),
            pair_of_strings(("Portfolio site (Ana)", "Ana"), ("Portfolio v2", "Ben"))
        );
        assert!(["Portfolio site (Ana)", "Portfolio v2"]
            .contains(&ana.goal(&goal).unwrap().title.as_str()));
    }

    /// A title replaced concurrently by an earlier version, which writes a new Text, and by this
    /// one, which writes a scalar: the conflict shows the text and the scalar alike.
    #[test]
    fn a_text_title_and_a_scalar_title_written_concurrently_are_a_conflict() {
        let (mut ana, mut ben, goal) = a_shared_goal();
        let obj = ana.item(Kind::Goal, &goal).unwrap();
        let text = ana
            .doc_mut()
            .put_object(&obj, "title", ObjType::Text)
            .unwrap();
        ana.doc_mut()
            .splice_text(&text, 0, 0, "Portfolio site (Ana)")
            .unwrap();
        ana.doc_mut().commit();
        retitle(&mut ben, &goal, "Portfolio v2");
        merge_both(&mut ana, &mut ben);
        assert_eq!(
            the_conflict(&ben),
            pair_of_strings(("Portfolio site (Ana)", "Ana"), ("Portfolio v2", "Ben"))
        );
        // Setting it again, as a scalar, ends the conflict.
        retitle(&mut ana, &goal, "Portfolio");
        merge_both(&mut ana, &mut ben);
        assert!(ben.conflicts().is_empty());
        assert_eq!(ben.goal(&goal).unwrap().title, "Portfolio");
    }

    /// A second device of Ana's, up to date with her laptop.
    fn tablet_of(ana: &mut Workspace) -> Workspace {
        let mut doc = ana.doc_mut().fork();
        doc.set_actor(ActorId::random());
        let mut tablet = Workspace::open(doc, "test", now()).unwrap();
        let me = ana.me().unwrap().to_string();
        let actor = tablet.doc().get_actor().clone();
        tablet.add_device(&me, &actor).unwrap();
        tablet.act_as(Some(me));
        merge_both(ana, &mut tablet);
        tablet
    }

    /// The values and authors of the conflict on `field` of the item `id` of `kind`, sorted;
    /// empty when there is none.
    fn values_of(ws: &Workspace, kind: ConflictOn, id: &str, field: &str) -> Vec<(String, String)> {
        let conflicts = ws.conflicts();
        let found: Vec<_> = conflicts
            .iter()
            .filter(|c| c.kind == kind && c.id == id && c.field == field)
            .collect();
        assert!(found.len() <= 1, "one entry per field: {conflicts:?}");
        let mut values: Vec<_> = found
            .iter()
            .flat_map(|c| &c.values)
            .map(|v| {
                let shown = match &v.value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (shown, v.author.clone())
            })
            .collect();
        values.sort();
        values
    }

    fn pair_of_strings(a: (&str, &str), b: (&str, &str)) -> Vec<(String, String)> {
        vec![
            (a.0.to_string(), a.1.to_string()),
            (b.0.to_string(), b.1.to_string()),
        ]
    }

    /// Assert that the conflicts in `ws` are exactly the `expected` fields of the item `id`,
    /// each with its values and authors sorted as [`values_of`] gives them: a field that two
    /// people set alike must not be listed as well.
    fn assert_only_conflicts(
        ws: &Workspace,
        on: ConflictOn,
        id: &str,
        expected: &[(&str, Vec<(String, String)>)],
    ) {
        for (field, values) in expected {
            assert_eq!(&values_of(ws, on, id, field), values, "{field}");
        }
        assert_eq!(ws.conflicts().len(), expected.len(), "{:?}", ws.conflicts());
    }

    #[test]
    fn concurrent_career_step_rewrites_are_conflicts_until_set_again() {
        let (mut ana, mut ben) = pair();
        let step = ben
            .add_career_step(NewCareerStep {
                participant: None,
                date: date(2026, 11, 2),
                role_before: "Junior developer".into(),
                role_after: "Developer".into(),
                note: None,
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        let set = |ws: &mut Workspace, day: i8, before: &str| {
            let changes = CareerStepChanges {
                date: Some(date(2026, 11, day)),
                role_before: Some(before.into()),
                ..Default::default()
            };
            ws.set_career_step(&step, changes).unwrap();
        };
        set(&mut ana, 3, "Junior dev");
        set(&mut ben, 4, "Graduate");
        merge_both(&mut ana, &mut ben);
        for ws in [&ana, &ben] {
            let date = pair_of_strings(("2026-11-03", "Ana"), ("2026-11-04", "Ben"));
            let role_before = pair_of_strings(("Graduate", "Ben"), ("Junior dev", "Ana"));
            let expected = [("date", date), ("role_before", role_before)];
            assert_only_conflicts(ws, ConflictOn::CareerStep, &step, &expected);
        }
        assert_eq!(ana.conflicts()[0].title, ben.conflicts()[0].title);
        set(&mut ben, 5, "Graduate developer");
        merge_both(&mut ana, &mut ben);
        assert!(ana.conflicts().is_empty(), "{:?}", ana.conflicts());
        let read = ana.career_step(&step).unwrap();
        assert_eq!(read.date.to_string(), "2026-11-05");
        assert_eq!(read.role_before, "Graduate developer");
        assert_eq!(read.role_after, "Developer");
    }

    #[test]
    fn one_person_answering_a_period_on_two_devices_is_a_conflict_until_answered_again() {
        let (mut ana, _ben) = pair();
        let mut tablet = tablet_of(&mut ana);
        let later = date(2027, 1, 1);
        let answers = |progress, comment: &str| NewSurvey {
            progress,
            relationship: 5,
            recommend: 4,
            comment: Some(comment.into()),
        };
        let key = ana.answer_survey(answers(4, "good month"), later).unwrap();
        tablet
            .answer_survey(answers(2, "hard month"), later)
            .unwrap();
        merge_both(&mut ana, &mut tablet);
        for ws in [&ana, &tablet] {
            let progress = pair_of_strings(("2", "Ana"), ("4", "Ana"));
            let comment = pair_of_strings(("good month", "Ana"), ("hard month", "Ana"));
            // The answers both devices gave alike, and when each was given, are no conflict.
            let expected = [("progress", progress), ("comment", comment)];
            assert_only_conflicts(ws, ConflictOn::SurveyAnswer, &key, &expected);
            assert_eq!(ws.conflicts()[0].title, "Ana, period 1");
            assert_eq!(ws.surveys().len(), 1);
        }
        // The value shown now is the one readers show.
        let shown = ana.surveys()[0].progress.to_string();
        let conflict = ana.conflicts().into_iter().find(|c| c.field == "progress");
        let winner = conflict.unwrap().values.into_iter().find(|v| v.winner);
        assert_eq!(winner.unwrap().value.to_string(), shown);
        // Answering again, on either device, ends it.
        tablet.answer_survey(answers(3, "so-so"), later).unwrap();
        merge_both(&mut ana, &mut tablet);
        assert!(ana.conflicts().is_empty(), "{:?}", ana.conflicts());
        let read = &ana.surveys()[0];
        assert_eq!((read.progress, read.comment.as_str()), (3, "so-so"));
        // When each device last answered is written by neither person by hand: two devices
        // writing it at once is no conflict.
        for (ws, at) in [
            (&mut ana, "2027-01-01T10:00:00Z"),
            (&mut tablet, "2027-01-01T11:00:00Z"),
        ] {
            let coll = ws.doc().get(ROOT, "surveys").unwrap().unwrap().1;
            let entries: Vec<automerge::ObjId> = ws
                .doc()
                .get_all(&coll, key.as_str())
                .unwrap()
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            for entry in entries {
                ws.doc_mut().put(&entry, "at", at).unwrap();
            }
            ws.doc_mut().commit();
        }
        merge_both(&mut ana, &mut tablet);
        assert!(ana.conflicts().is_empty(), "{:?}", ana.conflicts());
        // Answering again on both devices at once, now that the slot has two copies: each answer
        // is listed once, not once per copy.
        ana.answer_survey(answers(5, "so-so"), later).unwrap();
        tablet.answer_survey(answers(1, "so-so"), later).unwrap();
        merge_both(&mut ana, &mut tablet);
        let conflicts = ana.conflicts();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(
            values_of(&ana, ConflictOn::SurveyAnswer, &key, "progress"),
            pair_of_strings(("1", "Ana"), ("5", "Ana"))
        );
        assert_eq!(conflicts[0].values.iter().filter(|v| v.winner).count(), 1);
    }

    #[test]
    fn concurrent_rhythms_are_a_conflict_until_set_again_even_in_two_settings_maps() {
        let (mut ana, mut ben) = pair();
        let mut tablet = tablet_of(&mut ana);
        let rhythm = |d| SettingsChanges {
            checkin_rhythm_days: Some(d),
            survey_rhythm_days: None,
        };
        // Within one settings map.
        ana.set_settings(rhythm(7)).unwrap();
        merge_both(&mut ana, &mut tablet);
        ana.set_settings(rhythm(10)).unwrap();
        tablet.set_settings(rhythm(21)).unwrap();
        merge_both(&mut ana, &mut tablet);
        assert_eq!(
            values_of(&ana, ConflictOn::Settings, "", "checkin_rhythm_days"),
            pair_of_strings(("10", "Ana"), ("21", "Ana"))
        );
        tablet.set_settings(rhythm(14)).unwrap();
        merge_both(&mut ana, &mut tablet);
        assert!(ana.conflicts().is_empty(), "{:?}", ana.conflicts());

        // In a document without settings, two devices each create the map.
        merge_both(&mut ana, &mut ben);
        ana.doc_mut().delete(ROOT, "settings").unwrap();
        ana.doc_mut().commit();
        merge_both(&mut ana, &mut ben);
        merge_both(&mut ana, &mut tablet);
        ana.set_settings(rhythm(10)).unwrap();
        tablet.set_settings(rhythm(21)).unwrap();
        merge_both(&mut ana, &mut tablet);
        assert_eq!(ana.doc().get_all(ROOT, "settings").unwrap().len(), 2);
        let conflict = values_of(&ana, ConflictOn::Settings, "", "checkin_rhythm_days");
        assert_eq!(conflict, pair_of_strings(("10", "Ana"), ("21", "Ana")));
        // The survey rhythm, set in neither, is no conflict.
        assert_eq!(ana.conflicts().len(), 1, "{:?}", ana.conflicts());
        ana.set_settings(rhythm(12)).unwrap();
        merge_both(&mut ana, &mut tablet);
        assert!(tablet.conflicts().is_empty(), "{:?}", tablet.conflicts());
        assert_eq!(tablet.settings().checkin_rhythm_days, 12);
    }

    #[test]
    fn concurrent_kudos_field_writes_are_conflicts_until_set_again() {
        let (mut ana, mut ben) = pair();
        let to = ana.find_participant("Ben").unwrap().id;
        let (talk, post) = (
            add_goal_titled(&mut ana, "Give a talk"),
            add_goal_titled(&mut ana, "Write a post"),
        );
        let kudos = ana
            .give_kudos(NewKudos {
                to,
                text: "Great demo".into(),
                goal: None,
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        // Each side sets the goal the kudos are about; another client rewrites who they are to.
        let about = |ws: &mut Workspace, goal: &ItemId| {
            let changes = KudosChanges {
                goal: Some(goal.clone()),
                ..Default::default()
            };
            ws.set_kudos(&kudos, changes).unwrap();
        };
        about(&mut ana, &talk);
        about(&mut ben, &post);
        for (ws, to) in [(&mut ana, "p-one"), (&mut ben, "p-two")] {
            let coll = ws.doc().get(ROOT, "kudos").unwrap().unwrap().1;
            let obj = ws.doc().get(&coll, kudos.as_str()).unwrap().unwrap().1;
            ws.doc_mut().put(&obj, "to", to).unwrap();
            ws.doc_mut().commit();
        }
        merge_both(&mut ana, &mut ben);
        let on = ConflictOn::Kudos;
        let mut goals = pair_of_strings((&talk, "Ana"), (&post, "Ben"));
        goals.sort();
        let to = pair_of_strings(("p-one", "Ana"), ("p-two", "Ben"));
        assert_only_conflicts(&ben, on, &kudos, &[("goal", goals), ("to", to)]);
        let conflicts = ben.conflicts();
        assert_eq!(
            (conflicts[0].title.as_str(), conflicts[0].kind.noun()),
            ("Great demo", "kudos")
        );
        about(&mut ben, &talk);
        merge_both(&mut ana, &mut ben);
        assert!(values_of(&ana, on, &kudos, "goal").is_empty());
        assert_eq!(ana.kudos()[0].goal.as_ref(), Some(&talk));
        // Words and goal are checked like at giving.
        let empty = KudosChanges {
            text: Some(" ".into()),
            ..Default::default()
        };
        assert!(ana.set_kudos(&kudos, empty).is_err());
        assert!(ana.set_kudos(&kudos, KudosChanges::default()).is_err());
    }
}
