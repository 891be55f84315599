//! Tests of the workspace as a whole: schema checks, id prefixes, archiving, edits made against
//! an older version, and convergence of replicas; and the two-person fixture the tests of single
//! kinds share.

use super::*;
use automerge::transaction::Transactable;

pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

pub(super) fn pair() -> (Workspace, Workspace) {
    let (mut ana, _) =
        Workspace::create("Ana & Ben", "Ana", Role::Mentor, ActorId::random(), now()).unwrap();
    let mut doc = ana.doc_mut().fork();
    doc.set_actor(ActorId::random());
    let mut ben = Workspace::open(doc, "test", now()).unwrap();
    let actor = ben.doc().get_actor().clone();
    let pid = ben.add_participant("Ben", Role::Mentee, &actor).unwrap();
    ben.act_as(Some(pid));
    ana.doc_mut().merge(ben.doc_mut()).unwrap();
    (ana, ben)
}

pub(super) fn merge_both(a: &mut Workspace, b: &mut Workspace) {
    a.doc_mut().merge(b.doc_mut()).unwrap();
    b.doc_mut().merge(a.doc_mut()).unwrap();
}

/// Add a goal with only its title set: the plain goal most tests start a plan from.
pub(super) fn add_goal_titled(ws: &mut Workspace, title: &str) -> ItemId {
    ws.add_goal(NewGoal {
        title: title.into(),
        ..Default::default()
    })
    .unwrap()
}

/// Move `goal` to `status`, changing nothing else about it.
pub(super) fn set_goal_status(ws: &mut Workspace, goal: &ItemId, status: GoalStatus) {
    let changes = GoalChanges {
        status: Some(status),
        ..Default::default()
    };
    ws.set_goal(goal, changes).unwrap();
}

#[test]
fn an_edit_of_an_archived_item_is_kept() {
    let (mut ana, mut ben) = pair();
    let goal = add_goal_titled(&mut ana, "Old");
    merge_both(&mut ana, &mut ben);
    ana.archive(Kind::Goal, &goal).unwrap();
    ben.set_goal(
        &goal,
        GoalChanges {
            title: Some("Renamed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    merge_both(&mut ana, &mut ben);
    let g = ana.goal(&goal).unwrap();
    assert!(g.meta.archived);
    assert_eq!(g.title, "Renamed");
}

#[test]
fn a_status_or_role_this_build_does_not_know_reads_and_exports_as_stored() {
    let (mut ana, _) = pair();
    let goal = add_goal_titled(&mut ana, "Paused for now");
    // Another client, say a newer tandem, writes values this build has no name for.
    let obj = ana.item(Kind::Goal, &goal).unwrap();
    ana.doc_mut().put(&obj, "status", "paused").unwrap();
    let people = get_map(ana.doc(), &ROOT, "participants").unwrap();
    let ben = ana
        .participants()
        .into_iter()
        .find(|p| p.name == "Ben")
        .unwrap();
    let ben_obj = get_map(ana.doc(), &people, &ben.id).unwrap();
    ana.doc_mut().put(&ben_obj, "role", "sponsor").unwrap();

    let g = ana.goal(&goal).unwrap();
    assert_eq!(g.status, GoalStatus::Unknown("paused".into()));
    let ben = ana
        .participants()
        .into_iter()
        .find(|p| p.name == "Ben")
        .unwrap();
    assert_eq!(ben.role, Role::Unknown("sponsor".into()));
    // The `--json` shapes carry the stored strings, known or not, and read back the same.
    let json = serde_json::to_value(ana.snapshot("d")).unwrap();
    assert_eq!(json["goals"][0]["status"], "paused");
    let roles: Vec<&str> = json["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["mentor", "sponsor"]);
    let back: Snapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, ana.snapshot("d"));
    // A person may type only the known values.
    assert!("paused".parse::<GoalStatus>().is_err());
    assert_eq!(
        " Active ".parse::<GoalStatus>().unwrap(),
        GoalStatus::Active
    );
    assert_eq!("coordinator".parse::<Role>().unwrap(), Role::Observer);
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let (mut ana, _) = pair();
    ana.doc_mut().put(ROOT, "schema", 2_i64).unwrap();
    let doc = ana.into_doc();
    let err = Workspace::open(doc, "d", now()).unwrap_err();
    assert!(err.to_string().contains("upgrade tandem"), "{err}");
}

#[test]
fn a_document_that_is_not_a_workspace_is_refused() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "hello", "world").unwrap();
    assert!(matches!(
        Workspace::open(doc, "d", now()),
        Err(Error::NotAWorkspace { .. })
    ));
}

#[test]
fn prefixes_resolve_when_unique_and_list_candidates_when_not() {
    let ids = vec![
        "3fa10000".to_string(),
        "3fb20000".to_string(),
        "a0000000".to_string(),
    ];
    assert_eq!(
        resolve_prefix("goal", "3fa", ids.clone()).unwrap(),
        "3fa10000"
    );
    let err = resolve_prefix("goal", "3f", ids.clone()).unwrap_err();
    assert!(err.to_string().contains("3fa10000, 3fb20000"), "{err}");
    assert!(matches!(
        resolve_prefix("goal", "b", ids),
        Err(Error::UnknownId { .. })
    ));
}

#[test]
fn an_edit_made_against_an_older_version_keeps_what_arrived_meanwhile() {
    let (mut ana, mut ben) = pair();
    let note = ana
        .add_note(NewNote {
            body: "one two three".into(),
            ..Default::default()
        })
        .unwrap();
    merge_both(&mut ana, &mut ben);
    let base = ana.doc_mut().get_heads();
    // Ben's edit arrives while Ana's editor is open on "one two three".
    ben.edit_note_body(&note, "zero one two three").unwrap();
    ana.doc_mut().merge(ben.doc_mut()).unwrap();
    ana.edit_since(&base, |ws| ws.edit_note_body(&note, "one two three four"))
        .unwrap();
    assert_eq!(ana.note(&note).unwrap().body, "zero one two three four");
    // The branch's actor is recorded as Ana's device, so history still names her.
    assert!(ana
        .history(Some(3))
        .iter()
        .all(|h| !h.author.starts_with("device")));
}

mod convergence {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        AddGoal(String),
        SetStatus(usize, usize),
        Archive(usize),
        EditNote(usize, String),
        AddMilestone(usize),
        AddAction(String),
        Merge(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            "[a-z ]{1,12}".prop_map(Op::AddGoal),
            (0..8usize, 0..4usize).prop_map(|(g, s)| Op::SetStatus(g, s)),
            (0..8usize).prop_map(Op::Archive),
            (0..40usize, "[a-zé☕ ]{0,6}").prop_map(|(p, t)| Op::EditNote(p, t)),
            (0..8usize).prop_map(Op::AddMilestone),
            "[a-z ]{1,12}".prop_map(Op::AddAction),
            (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Merge(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Three replicas apply random operations and merge at random; once everyone has
        /// merged everything, all three show the same workspace and nothing added is lost.
        #[test]
        fn replicas_converge_and_lose_nothing(ops in proptest::collection::vec((0..3usize, op()), 1..40)) {
            let (mut a, _) = Workspace::create("P", "Ana", Role::Mentor, ActorId::random(), now()).unwrap();
            let note = a.add_note(NewNote { body: "shared note body".into(), ..Default::default() }).unwrap();
            let mut replicas = vec![a];
            for _ in 0..2 {
                let mut doc = replicas[0].doc_mut().fork();
                doc.set_actor(ActorId::random());
                replicas.push(Workspace::open(doc, "p", now()).unwrap());
            }
            let mut added_goals = 0;
            for (r, op) in ops {
                let ws = &mut replicas[r];
                let goals: Vec<ItemId> = ws.goals().into_iter().map(|g| g.id).collect();
                match op {
                    Op::AddGoal(t) => { ws.add_goal(NewGoal { title: format!("g{t}"), ..Default::default() }).unwrap(); added_goals += 1; }
                    Op::SetStatus(g, s) => if let Some(id) = goals.get(g % goals.len().max(1)) {
                        ws.set_goal(id, GoalChanges { status: Some(GoalStatus::from_stored(GoalStatus::KNOWN[s])), ..Default::default() }).unwrap();
                    },
                    Op::Archive(g) => if let Some(id) = goals.get(g % goals.len().max(1)) { ws.archive(Kind::Goal, id).unwrap(); },
                    Op::EditNote(p, t) => {
                        let body = ws.note(&note).unwrap().body;
                        let mut cut = p.min(body.len());
                        while !body.is_char_boundary(cut) { cut -= 1; }
                        let edited = format!("{}{t}{}", &body[..cut], &body[cut..]);
                        ws.edit_note_body(&note, &edited).unwrap();
                    }
                    Op::AddMilestone(g) => if let Some(id) = goals.get(g % goals.len().max(1)) { ws.add_milestone(id, "m", None).unwrap(); },
                    Op::AddAction(t) => { ws.add_action(NewAction { title: format!("a{t}"), ..Default::default() }).unwrap(); }
                    Op::Merge(x, y) if x != y => {
                        let mut other = replicas[y].doc_mut().fork();
                        replicas[x].doc_mut().merge(&mut other).unwrap();
                    }
                    Op::Merge(..) => {}
                }
            }
            for x in 0..3 {
                for y in 0..3 {
                    if x != y {
                        let mut other = replicas[y].doc_mut().fork();
                        replicas[x].doc_mut().merge(&mut other).unwrap();
                    }
                }
            }
            let first = replicas[0].snapshot("p");
            prop_assert_eq!(first.goals.len(), added_goals);
            for r in &replicas[1..] {
                prop_assert_eq!(&r.snapshot("p"), &first);
                prop_assert_eq!(r.conflicts(), replicas[0].conflicts());
            }
        }
    }
}

#[test]
fn a_snapshot_from_before_surveys_kudos_and_career_steps_still_reads() {
    let (mut ana, _) = pair();
    let goal = add_goal_titled(&mut ana, "Ship it");
    ana.add_milestone(&goal, "Draft", None).unwrap();
    let mut json = serde_json::to_value(ana.snapshot("d")).unwrap();
    let root = json.as_object_mut().unwrap();
    for key in ["settings", "surveys", "kudos", "career_steps"] {
        root.remove(key).unwrap();
    }
    let g = root["goals"][0].as_object_mut().unwrap();
    g.remove("done_at").unwrap();
    g["milestones"][0]
        .as_object_mut()
        .unwrap()
        .remove("done_at");
    let back: Snapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back.settings, Settings::default());
    assert!(back.surveys.is_empty() && back.kudos.is_empty() && back.career_steps.is_empty());
    assert_eq!(back.goals[0].done_at, None);
    assert_eq!(back.goals[0].milestones[0].done_at, None);
}
