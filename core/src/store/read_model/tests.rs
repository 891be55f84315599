use super::*;
use crate::model::draft::Draft;
use crate::model::{GoalChanges, NewGoal, NewNote, Role};
use crate::protocol::DocumentId;
use crate::store::{DocRef, Home, MemoryStorage};
use std::sync::Arc;

/// The writes that remove a document's read model, as if it had never been built.
fn remove_writes(store: &dyn Storage, doc_id: &str) -> Result<Vec<Write>> {
    let mut writes = vec![
        Write::Delete(view_key(doc_id)?.into_bytes()),
        Write::Delete(added_key(doc_id)?.into_bytes()),
    ];
    for part in store.scan_keys(&parts_prefix(doc_id)?)? {
        writes.push(Write::Delete(part));
    }
    Ok(writes)
}

fn now() -> Timestamp {
    Timestamp::from_second(1_795_000_000).unwrap()
}

/// A home with a workspace big enough that the quick path appends rather than compacts.
fn home_with_workspace() -> (Home, DocumentId) {
    let home = Home::open(Arc::new(MemoryStorage::default())).unwrap();
    let mut opened = home
        .create_workspace("Ana & Ben", "Ana", Role::Mentor, now())
        .unwrap();
    opened
        .ws
        .add_note(NewNote {
            title: Some("Kickoff".into()),
            // Varied text, so that the snapshot leaves room for dozens of quick additions.
            body: (0..20_000)
                .map(|i| format!("{} ", i * 7919 % 100_003))
                .collect(),
            ..Default::default()
        })
        .unwrap();
    for title in ["Ship it", "Learn Rust"] {
        opened.ws.add_goal(goal(title)).unwrap();
    }
    home.save(&mut opened).unwrap();
    (home, *opened.id())
}

fn goal(title: &str) -> NewGoal {
    NewGoal {
        title: title.into(),
        description: Some("why it matters".into()),
        due: Some(jiff::civil::date(2026, 12, 31)),
        owner: Some("Ana".into()),
    }
}

/// What the read commands must show, read from the document itself.
fn truth(home: &Home, id: &DocumentId) -> (Snapshot, usize, usize) {
    let mut opened = home.open_workspace(id, now()).unwrap();
    let unsynced = home.unsynced_changes(&mut opened).unwrap();
    (
        opened.ws.snapshot(&id.to_string()),
        opened.ws.conflicts().len(),
        unsynced,
    )
}

fn shown(view: &WorkspaceView) -> (Snapshot, usize, usize) {
    (
        view.snapshot().clone(),
        view.conflicts(),
        view.unsynced_changes(),
    )
}

/// Whether the stored read model answers as it is, without a rebuild.
fn current(home: &Home, id: &DocumentId) -> bool {
    let synced = home.synced_records(id).unwrap();
    load(
        home.store().as_ref(),
        DocRef::Workspace(*id),
        &synced,
        now(),
    )
    .unwrap()
    .is_some()
}

/// The view a read command gets must be what the document says.
fn assert_true_view(home: &Home, id: &DocumentId) {
    let view = home.view_workspace(id, now()).unwrap();
    assert_eq!(shown(&view), truth(home, id));
}

#[test]
fn every_save_leaves_a_read_model_that_shows_what_the_document_does() {
    let (home, id) = home_with_workspace();
    assert!(current(&home, &id), "the save wrote the read model");
    assert_true_view(&home, &id);
    let mut opened = home.open_workspace(&id, now()).unwrap();
    let g = opened.ws.goals()[0].id.clone();
    let changes = GoalChanges {
        title: Some("Ship it well".into()),
        ..Default::default()
    };
    opened.ws.set_goal(&g, changes).unwrap();
    home.save(&mut opened).unwrap();
    assert!(current(&home, &id));
    let view = home.view_workspace(&id, now()).unwrap();
    assert_eq!(view.goal(&g).unwrap().title, "Ship it well");
    assert_eq!(shown(&view), truth(&home, &id));
}

#[test]
fn saves_of_every_kind_of_edit_keep_the_read_model_true() {
    let (home, id) = home_with_workspace();
    type Edit = Box<dyn Fn(&mut Workspace)>;
    let edits: Vec<Edit> = vec![
        Box::new(|ws| {
            let g = ws.goals()[0].id.clone();
            ws.add_milestone(&g, "Read the book", None).unwrap();
        }),
        Box::new(|ws| {
            let g = ws.goals()[0].clone();
            let m = g.milestones[0].id.clone();
            ws.set_milestone_done(&g.id, &m, true).unwrap();
        }),
        Box::new(|ws| {
            let n = ws.notes()[0].clone();
            let body = format!("Read first. {}", n.body);
            ws.edit_note_body(&n.id, &body).unwrap();
        }),
        Box::new(|ws| {
            let c = ws.add_checkin(now(), "Kickoff").unwrap();
            ws.rate_checkin(&c, 4, Some("useful")).unwrap();
        }),
        Box::new(|ws| {
            let a = ws
                .add_action(crate::model::NewAction {
                    title: "Open the PR".into(),
                    ..Default::default()
                })
                .unwrap();
            ws.set_action_done(&a, true).unwrap();
        }),
        Box::new(|ws| {
            let g = ws.goals()[1].id.clone();
            ws.archive(Kind::Goal, &g).unwrap();
        }),
        // Changes to the people or the workspace itself rebuild the read model whole.
        Box::new(|ws| {
            let me = ws.me().unwrap().to_string();
            ws.rename_participant(&me, "Ana María").unwrap();
        }),
        Box::new(|ws| ws.set_title("Ana & Ben, year two").unwrap()),
    ];
    for edit in edits {
        let mut opened = home.open_workspace(&id, now()).unwrap();
        edit(&mut opened.ws);
        home.save(&mut opened).unwrap();
        assert!(current(&home, &id));
        assert_true_view(&home, &id);
    }
    let view = home.view_workspace(&id, now()).unwrap();
    assert_eq!(view.title(), "Ana & Ben, year two");
    assert_eq!(view.goals()[0].owner.as_deref(), Some("Ana María"));
}

#[test]
fn a_missing_read_model_is_rebuilt_from_the_document() {
    let (home, id) = home_with_workspace();
    let store = home.store();
    for write in remove_writes(store.as_ref(), &id.to_string()).unwrap() {
        store.apply(vec![write]).unwrap();
    }
    assert!(store.scan_prefix(b"view/").unwrap().is_empty());
    assert!(!current(&home, &id));
    assert_true_view(&home, &id);
    assert!(current(&home, &id), "the read rebuilt it");
}

#[test]
fn a_corrupt_read_model_is_rebuilt_from_the_document() {
    let (home, id) = home_with_workspace();
    let store = home.store().clone();
    let doc = id.to_string();
    let parts = store.scan_keys(&parts_prefix(&doc).unwrap()).unwrap();
    assert!(parts.len() > 1, "a read model of several parts");
    // Each kind of damage on its own: a part that is not JSON, a part missing, a header that
    // is not one, a header that promises other parts.
    let damage: Vec<Vec<Write>> = vec![
        vec![Write::Put(parts[1].clone(), b"\xff not json".to_vec())],
        vec![Write::Delete(parts[0].clone())],
        vec![Write::Put(
            view_key(&doc).unwrap().into_bytes(),
            b"{".to_vec(),
        )],
        vec![Write::Put(
            part_key(&doc, parts.len()).unwrap().into_bytes(),
            b" ".to_vec(),
        )],
    ];
    for writes in damage {
        store.apply(writes).unwrap();
        assert!(!current(&home, &id));
        assert_true_view(&home, &id);
        assert!(current(&home, &id), "the read rebuilt it");
    }
}

#[test]
fn a_read_model_of_other_heads_is_rebuilt_from_the_document() {
    let (home, id) = home_with_workspace();
    // A save that does not go through the home (as merging a relay's changes does) leaves
    // the read model behind the document.
    let doc = id.to_string();
    let (raw, mut state) = docstore::load(home.store().as_ref(), &doc)
        .unwrap()
        .unwrap();
    let mut ws = Workspace::open(raw, &doc, now()).unwrap();
    let added = ws.add_goal(goal("Arrived from Ben")).unwrap();
    docstore::save(home.store().as_ref(), &doc, ws.doc_mut(), &mut state).unwrap();
    assert!(!current(&home, &id));
    let view = home.view_workspace(&id, now()).unwrap();
    assert_eq!(view.goal(&added).unwrap().title, "Arrived from Ben");
    assert_eq!(shown(&view), truth(&home, &id));
    assert!(current(&home, &id));
}

#[test]
fn chunks_written_without_a_tip_make_the_read_model_stale() {
    let (home, id) = home_with_workspace();
    // A version of tandem from before tips appends a chunk and leaves the tip as it was: the
    // tip's heads then still match the read model, but the chunks give it away.
    let doc = id.to_string();
    let tip_before = docstore::load_tip(home.store().as_ref(), &doc).unwrap();
    let (raw, mut state) = docstore::load(home.store().as_ref(), &doc)
        .unwrap()
        .unwrap();
    let mut ws = Workspace::open(raw, &doc, now()).unwrap();
    let added = ws.add_goal(goal("Written by an old tandem")).unwrap();
    docstore::save(home.store().as_ref(), &doc, ws.doc_mut(), &mut state).unwrap();
    let tip_key = StorageKey::new(&["tip", &doc]).unwrap();
    let old = serde_json::to_vec(&tip_before.unwrap()).unwrap();
    home.store().put(&tip_key, &old).unwrap();
    assert_eq!(
        docstore::stored_heads(home.store().as_ref(), &doc).unwrap(),
        None
    );
    let view = home.view_workspace(&id, now()).unwrap();
    assert_eq!(view.goal(&added).unwrap().title, "Written by an old tandem");
    assert_eq!(shown(&view), truth(&home, &id));
}

#[test]
fn quick_additions_reach_the_read_model_without_a_rebuild() {
    let (home, id) = home_with_workspace();
    let mut added = Vec::new();
    for i in 0..3 {
        let new = goal(&format!("Quick {i}"));
        let item = home
            .quick_add(&id, now(), |p| Draft::goal(&new, p))
            .unwrap()
            .expect("the quick path applies");
        added.push(ItemId::from_stored(item["id"].as_str().unwrap()));
    }
    let note = NewNote {
        body: "A quick note".into(),
        ..Default::default()
    };
    home.quick_add(&id, now(), |_| Draft::note(&note))
        .unwrap()
        .expect("the quick path applies");
    assert!(current(&home, &id), "no rebuild needed");
    let view = home.view_workspace(&id, now()).unwrap();
    for g in &added {
        assert!(view.goal(g).is_ok());
    }
    // The same items, in the same order, counted as unsynced, as the document says.
    assert_eq!(shown(&view), truth(&home, &id));
}

#[test]
fn many_quick_additions_are_folded_into_the_read_model() {
    let (home, id) = home_with_workspace();
    for i in 0..FOLD_AFTER {
        let new = goal(&format!("Quick {i}"));
        home.quick_add(&id, now(), |p| Draft::goal(&new, p))
            .unwrap()
            .expect("the quick path applies");
    }
    assert_true_view(&home, &id);
    let added = added_key(&id.to_string()).unwrap();
    assert_eq!(home.store().get(&added).unwrap(), None, "folded in");
    assert!(current(&home, &id));
    assert_true_view(&home, &id);
}

#[test]
fn a_sync_that_leaves_nothing_unsynced_needs_no_rebuild() {
    let (home, id) = home_with_workspace();
    assert!(home.view_workspace(&id, now()).unwrap().unsynced_changes() > 0);
    let heads = home.load_doc(&id).unwrap().unwrap().get_heads();
    home.set_synced_heads(&id, "relay-1", &heads).unwrap();
    assert!(current(&home, &id));
    let view = home.view_workspace(&id, now()).unwrap();
    assert_eq!(view.unsynced_changes(), 0);
    assert_eq!(shown(&view), truth(&home, &id));
    // A relay that holds only part of it: only the document can count what is missing.
    let mut opened = home.open_workspace(&id, now()).unwrap();
    opened.ws.add_goal(goal("After the sync")).unwrap();
    home.save(&mut opened).unwrap();
    home.set_synced_heads(&id, "relay-2", &[]).unwrap();
    assert_true_view(&home, &id);
    assert_eq!(
        home.view_workspace(&id, now()).unwrap().unsynced_changes(),
        1
    );
}

#[test]
fn conflicts_and_prefixes_read_as_from_the_document() {
    let (home, id) = home_with_workspace();
    let mut opened = home.open_workspace(&id, now()).unwrap();
    let g = opened.ws.goals()[0].id.clone();
    let doc = id.to_string();
    let mut other = Workspace::open(opened.ws.doc_mut().fork(), &doc, now()).unwrap();
    let title = |t: &str| GoalChanges {
        title: Some(t.into()),
        ..Default::default()
    };
    other.set_goal(&g, title("Ben's title")).unwrap();
    opened.ws.set_goal(&g, title("Ana's title")).unwrap();
    opened.ws.doc_mut().merge(other.doc_mut()).unwrap();
    // Something that is not an item, which another client put among the goals.
    let goals = crate::model::fields::get_map(opened.ws.doc(), &automerge::ROOT, "goals");
    automerge::transaction::Transactable::put(
        opened.ws.doc_mut(),
        goals.unwrap(),
        format!("{}-stray", &g.as_str()[..4]),
        "not a goal",
    )
    .unwrap();
    opened.ws.doc_mut().commit();
    home.save(&mut opened).unwrap();
    let view = home.view_workspace(&id, now()).unwrap();
    assert!(view.conflicts() > 0);
    assert_eq!(shown(&view), truth(&home, &id));
    let opened = home.open_workspace(&id, now()).unwrap();
    for prefix in [&g.as_str()[..4], &g.as_str()[..2], g.as_str(), "zz", ""] {
        for kind in Kind::ALL {
            assert_eq!(
                format!("{:?}", view.resolve(kind, prefix)),
                format!("{:?}", opened.ws.resolve(kind, prefix)),
                "{kind:?} {prefix}"
            );
        }
    }
}

#[test]
fn private_notes_have_a_read_model_of_their_own() {
    let (home, id) = home_with_workspace();
    assert!(home.view_private(&id, now()).unwrap().is_none());
    let mut private = home.open_private(&id, now()).unwrap();
    let n = private
        .ws
        .add_note(NewNote {
            body: "Only mine".into(),
            ..Default::default()
        })
        .unwrap();
    home.save(&mut private).unwrap();
    let view = home.view_private(&id, now()).unwrap().unwrap();
    assert_eq!(view.note(&n).unwrap().body, "Only mine");
    assert!(view.doc().is_private());
    assert_eq!(
        view.snapshot(),
        &private.ws.snapshot(&private.doc.to_string())
    );
}
