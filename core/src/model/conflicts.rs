//! Fields that two people set concurrently.
//!
//! automerge never loses either value of a concurrent write: it picks a winner deterministically
//! and keeps the other as a conflict. tandem shows both until someone sets the field again, which
//! supersedes both values and so resolves the conflict without any special command.

use crate::model::fields::{get_map, keys};
use crate::model::{Kind, Workspace};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::Serialize;

/// What a conflicted field belongs to: the workspace itself, or an item of some kind. It
/// serializes as the word a person would use (`workspace`, `goal`, `action item`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOn {
    Workspace,
    Item(Kind),
}

impl ConflictOn {
    /// The word a person would use.
    pub fn noun(self) -> &'static str {
        match self {
            ConflictOn::Workspace => "workspace",
            ConflictOn::Item(kind) => kind.noun(),
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

impl Workspace {
    /// Every field of every item (and the workspace title) that holds concurrent values.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let doc = self.doc();
        let mut out = Vec::new();
        let authors = |id: &automerge::ObjId| {
            actor_of(id)
                .and_then(|a| self.participant_for_actor(&a))
                .map(|p| p.name)
                .unwrap_or_else(|| "someone".to_string())
        };
        let mut scan = |kind: ConflictOn, id: &str, title: &str, obj: &ObjId, prefix: &str| {
            // One pass over the map finds the conflicted keys; only those are looked up again.
            let conflicted: Vec<String> = doc
                .map_range(obj, ..)
                .filter(|item| item.conflict)
                .map(|item| item.key.into_owned())
                .collect();
            for field in conflicted {
                let all = doc.get_all(obj, field.as_str()).unwrap_or_default();
                if all.len() < 2 {
                    continue;
                }
                // Nested maps (milestones, ratings, tags) are scanned on their own below; a
                // conflict on the map itself only means both sides created it.
                if all
                    .iter()
                    .all(|(v, _)| matches!(v, Value::Object(ObjType::Map)))
                {
                    continue;
                }
                let winner = doc
                    .get(obj, field.as_str())
                    .ok()
                    .flatten()
                    .map(|(_, id)| id);
                out.push(Conflict {
                    kind,
                    id: id.to_string(),
                    title: title.to_string(),
                    field: format!("{prefix}{field}"),
                    values: all
                        .iter()
                        .map(|(v, vid)| ConflictValue {
                            value: value_json(doc, v, vid),
                            author: authors(vid),
                            winner: winner.as_ref() == Some(vid),
                        })
                        .collect(),
                });
            }
        };
        scan(ConflictOn::Workspace, "", &self.title(), &ROOT, "");
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
                scan(ConflictOn::Item(kind), &id, &title, &obj, "");
                for nested in ["milestones", "ratings"] {
                    if let Some(map) = get_map(doc, &obj, nested) {
                        for sub in keys(doc, &map) {
                            if let Some(sub_obj) = get_map(doc, &map, &sub) {
                                let prefix = format!("{nested}.{}.", crate::model::short(&sub));
                                scan(ConflictOn::Item(kind), &id, &title, &sub_obj, &prefix);
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests::{merge_both, pair};
    use crate::model::{GoalChanges, GoalStatus, ItemId, Kind, NewGoal, Workspace};
    use automerge::transaction::Transactable;
    use automerge::ObjType;

    #[test]
    fn concurrent_field_edits_are_listed_as_conflicts_until_set_again() {
        let (mut ana, mut ben) = pair();
        let goal = ana
            .add_goal(NewGoal {
                title: "Ship it".into(),
                ..Default::default()
            })
            .unwrap();
        merge_both(&mut ana, &mut ben);
        ana.set_goal(
            &goal,
            GoalChanges {
                status: Some(GoalStatus::Active),
                ..Default::default()
            },
        )
        .unwrap();
        ben.set_goal(
            &goal,
            GoalChanges {
                status: Some(GoalStatus::Done),
                ..Default::default()
            },
        )
        .unwrap();
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
        ana.set_goal(
            &goal,
            GoalChanges {
                status: Some(GoalStatus::Active),
                ..Default::default()
            },
        )
        .unwrap();
        merge_both(&mut ana, &mut ben);
        assert!(ben.conflicts().is_empty());
        assert_eq!(ben.goal(&goal).unwrap().status, GoalStatus::Active);
    }

    /// Ana and Ben, who both have the goal "Portfolio site".
    fn a_shared_goal() -> (Workspace, Workspace, ItemId) {
        let (mut ana, mut ben) = pair();
        let goal = ana
            .add_goal(NewGoal {
                title: "Portfolio site".into(),
                ..Default::default()
            })
            .unwrap();
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
            [
                ("Portfolio site (Ana)".to_string(), "Ana".to_string()),
                ("Portfolio v2".to_string(), "Ben".to_string())
            ]
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
            [
                ("Portfolio site (Ana)".to_string(), "Ana".to_string()),
                ("Portfolio v2".to_string(), "Ben".to_string())
            ]
        );
        // Setting it again, as a scalar, ends the conflict.
        retitle(&mut ana, &goal, "Portfolio");
        merge_both(&mut ana, &mut ben);
        assert!(ben.conflicts().is_empty());
        assert_eq!(ben.goal(&goal).unwrap().title, "Portfolio");
    }
}
