//! Refusing what a removed participant's devices write after their removal.
//!
//! A mentor removes a participant by setting `removed_at` on their entry and, beside it,
//! `removed_seen`: the heads of the document as the mentor saw it when removing them (change
//! hashes in hex, separated by spaces). Everything the removed person's devices wrote that the
//! mentor had seen is part of that history and stays, shown and kept. A change of theirs that is
//! *not* an ancestor of `removed_seen` — made after the removal, or made offline and never seen
//! by the mentor — is refused by every tandem client, unless someone still taking part built on
//! it: their work is never hidden, so what it rests on is kept with it.
//!
//! Automerge cannot drop a change: peers must hold the same changes to converge, and later changes
//! may depend on it. So a refused change is still stored and synced; what tandem refuses is to
//! *show* it or to *build on* it. When a workspace holds refused changes, [`Workspace::open`]
//! works on a fork of the document at the heads of everything else (the "view"), keeping the whole
//! document beside it as the shared one. Reads and edits go to the view; new changes made on the
//! view depend only on accepted changes, and they are copied into the shared document whenever
//! it is handed out to be saved or synced ([`Workspace::doc_mut`], [`Workspace::into_doc`]).
//! tandem clients never build on a refused change, since they never see one.
//!
//! See docs/model.md, section 4, for the rule in the document model's terms.

use super::fields::{get_map, get_string, keys};
use super::Workspace;
use crate::Result;
use automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use std::collections::HashSet;

/// The whole document, kept beside the view while the view leaves refused changes out.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) doc: AutoCommit,
    /// The view's heads when its changes were last copied into `doc`.
    pub(super) copied: Vec<ChangeHash>,
    /// How many changes the view leaves out.
    pub(super) refused: usize,
    /// The devices that made refused changes.
    pub(super) refused_actors: HashSet<ActorId>,
    /// Whether the view writes as a stand-in device (see [`Workspace::set_actor`]).
    pub(super) stand_in: bool,
}

/// The key holding the heads a mentor saw when removing someone.
pub(super) const REMOVED_SEEN: &str = "removed_seen";

/// Write heads as `removed_seen` holds them.
pub(super) fn format_heads(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to refuse in `doc`: the heads of everything else, how many changes are left out, and
/// the devices that made them. `None` when nothing is refused, which is the case for every
/// workspace nobody was removed from, and is found without looking at any change.
fn accepted_heads(doc: &mut AutoCommit) -> Option<(Vec<ChangeHash>, usize, HashSet<ActorId>)> {
    let participants = get_map(doc, &ROOT, "participants")?;
    // The devices of the removed participants, and the heads the mentors saw removing them.
    let mut devices: HashSet<String> = HashSet::new();
    let mut floor: Vec<ChangeHash> = Vec::new();
    for id in keys(doc, &participants) {
        let Some(entry) = get_map(doc, &participants, &id) else {
            continue;
        };
        if get_string(doc, &entry, "removed_at").is_none() {
            continue;
        }
        // A removal written before `removed_seen` existed cannot tell old changes from new
        // ones, so it refuses nothing (the removed person's own devices still refuse to write).
        let Some(seen) = get_string(doc, &entry, REMOVED_SEEN) else {
            continue;
        };
        let seen: Option<Vec<ChangeHash>> =
            seen.split_whitespace().map(|h| h.parse().ok()).collect();
        let Some(seen) = seen else {
            continue;
        };
        if let Some(d) = get_map(doc, &entry, "devices") {
            devices.extend(keys(doc, &d));
        }
        floor.extend(seen);
    }
    if devices.is_empty() {
        return None;
    }
    // Only changes no mentor had seen when removing someone are looked at. `get_changes_meta`
    // lists them in causal order without decoding their operations.
    let after: Vec<(ChangeHash, Vec<ChangeHash>, ActorId)> = doc
        .get_changes_meta(&floor)
        .into_iter()
        .map(|c| (c.hash, c.deps, c.actor.into_owned()))
        .collect();
    // Walking back from the newest: a change is kept when someone still taking part made it or
    // a kept change builds on it. So nothing a participant writes is ever hidden, even when
    // they built on a removed person's change (the web app, or a device that had not heard of
    // the removal, may): that change is then kept as theirs to keep.
    let mut kept: HashSet<ChangeHash> = HashSet::new();
    for (hash, deps, actor) in after.iter().rev() {
        if kept.contains(hash) || !devices.contains(&actor.to_hex_string()) {
            kept.insert(*hash);
            kept.extend(deps.iter().copied());
        }
    }
    let refused: HashSet<ChangeHash> = after
        .iter()
        .map(|(hash, _, _)| *hash)
        .filter(|hash| !kept.contains(hash))
        .collect();
    if refused.is_empty() {
        return None;
    }
    let actors = after
        .iter()
        .filter(|(hash, _, _)| refused.contains(hash))
        .map(|(_, _, actor)| actor.clone())
        .collect();
    // No kept change builds on a refused one, so the kept changes are closed under ancestors;
    // their heads are among the document's heads, the parents of refused changes and the heads
    // the mentors saw (an ancestor listed beside its descendant is harmless to `fork_at`).
    let mut heads: Vec<ChangeHash> = doc.get_heads();
    for (hash, deps, _) in &after {
        if refused.contains(hash) {
            heads.extend(deps.iter().copied());
        }
    }
    heads.extend(floor);
    heads.retain(|h| !refused.contains(h));
    heads.sort();
    heads.dedup();
    Some((heads, refused.len(), actors))
}

impl Workspace {
    /// The view of `doc` that leaves out what removed participants wrote after their removal,
    /// and the whole document beside it, when there is anything to leave out.
    pub(super) fn screen(mut doc: AutoCommit) -> Result<(AutoCommit, Option<Shared>)> {
        let Some((heads, refused, refused_actors)) = accepted_heads(&mut doc) else {
            return Ok((doc, None));
        };
        let mut view = doc.fork_at(&heads)?;
        view.set_actor(doc.get_actor().clone());
        let copied = view.get_heads();
        Ok((
            view,
            Some(Shared {
                doc,
                copied,
                refused,
                refused_actors,
                stand_in: false,
            }),
        ))
    }

    /// How many changes this workspace refuses: those removed participants' devices made after
    /// their removal (and any built on them).
    pub fn refused_changes(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.refused)
    }

    /// Make this device's changes as `actor`.
    ///
    /// A device whose own changes are refused cannot go on writing as itself on the view: the
    /// view lacks those changes, so its next change would repeat a sequence number the whole
    /// document already holds for that device. The view then writes as a stand-in device,
    /// recorded as another device of the person by [`Workspace::act_as`], as an edit made on a
    /// branch is (see `edit_since`).
    pub fn set_actor(&mut self, actor: ActorId) {
        if let Some(shared) = &mut self.shared {
            shared.doc.set_actor(actor.clone());
            if shared.refused_actors.contains(&actor) {
                shared.stand_in = true;
                self.doc.set_actor(ActorId::random());
                return;
            }
            shared.stand_in = false;
        }
        self.doc.set_actor(actor);
    }

    /// Record the stand-in device (see [`Workspace::set_actor`]) as a device of the person
    /// acting. The change is kept only if the workspace is saved, which a command that writes
    /// does.
    pub(super) fn record_stand_in(&mut self) {
        let stand_in = self.shared.as_ref().is_some_and(|s| s.stand_in);
        let Some(me) = self.me.clone() else {
            return;
        };
        if stand_in {
            let actor = self.doc.get_actor().clone();
            // A participant the view does not hold has nothing to record a device under; the
            // change would then be refused at saving anyway.
            let _ = self.add_device(&me, &actor);
        }
    }

    /// The device this workspace's changes are made as (a stand-in's, when there is one).
    pub fn actor(&self) -> &ActorId {
        self.doc.get_actor()
    }

    /// Copy the changes made on the view into the shared document.
    pub(super) fn copy_view_changes(&mut self) -> Result<()> {
        let Some(shared) = self.shared.as_mut() else {
            return Ok(());
        };
        let new = self.doc.get_changes(&shared.copied);
        if !new.is_empty() {
            shared.doc.apply_changes(new)?;
            shared.copied = self.doc.get_heads();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests::pair;
    use crate::model::{GoalChanges, NewGoal, Workspace};
    use automerge::{ActorId, AutoCommit};

    fn goal(title: &str) -> NewGoal {
        NewGoal {
            title: title.into(),
            ..Default::default()
        }
    }

    /// Reopen a workspace from its whole document, as a device does after storing it.
    fn reopen(ws: Workspace, actor: ActorId) -> Workspace {
        let mut doc: AutoCommit = ws.into_doc();
        doc.set_actor(actor.clone());
        let mut ws = Workspace::open(doc, "test", super::super::tests::now()).unwrap();
        ws.set_actor(actor);
        ws
    }

    fn titles(ws: &Workspace) -> Vec<String> {
        let mut titles: Vec<String> = ws.goals().into_iter().map(|g| g.title).collect();
        titles.sort();
        titles
    }

    #[test]
    fn what_a_removed_participant_writes_after_removal_is_refused_and_the_rest_kept() {
        let (mut ana, mut ben) = pair();
        let ana_actor = ana.doc().get_actor().clone();
        let before = ben.add_goal(goal("Written before the removal")).unwrap();
        ana.doc_mut().merge(ben.doc_mut()).unwrap();
        let mut ana = reopen(ana, ana_actor.clone());
        let ben_id = ana.name_holder("Ben", None).unwrap().id;
        ana.remove_participant(&ben_id).unwrap();

        // Ben, offline, has not heard of it: he rewrites his goal and adds one.
        ben.set_goal(
            &before,
            GoalChanges {
                title: Some("Rewritten after the removal".into()),
                ..Default::default()
            },
        )
        .unwrap();
        ben.add_goal(goal("Added after the removal")).unwrap();
        ana.doc_mut().merge(ben.doc_mut()).unwrap();

        let mut ana = reopen(ana, ana_actor.clone());
        assert_eq!(ana.refused_changes(), 2);
        assert_eq!(titles(&ana), ["Written before the removal"]);
        // Ana keeps working on what she is shown, and her work reaches the whole document.
        ana.add_goal(goal("Ana's next goal")).unwrap();
        let whole = ana.doc_mut().fork();
        let ana = reopen(ana, ana_actor);
        assert_eq!(
            titles(&ana),
            ["Ana's next goal", "Written before the removal"]
        );
        // The whole document keeps every change, so peers converge; any tandem client shows the
        // same plan.
        let mut other = Workspace::open(whole, "test", super::super::tests::now()).unwrap();
        assert_eq!(titles(&other), titles(&ana));
        assert!(other.doc_mut().get_changes_meta(&[]).iter().any(|c| c
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Added after the removal"))));
    }

    #[test]
    fn a_device_whose_own_changes_are_refused_writes_as_a_stand_in() {
        let (mut ana, mut ben) = pair();
        let ben_actor = ben.doc().get_actor().clone();
        let ben_id = ana.name_holder("Ben", None).unwrap().id;
        ana.remove_participant(&ben_id).unwrap();
        ben.add_goal(goal("Written after the removal")).unwrap();
        ben.doc_mut().merge(ana.doc_mut()).unwrap();

        // Ben's device reopens the workspace once the removal has reached it.
        let mut ben = reopen(ben, ben_actor.clone());
        ben.act_as(Some(ben_id.clone()));
        assert_ne!(ben.actor(), &ben_actor);
        assert!(ben
            .participant(&ben_id)
            .unwrap()
            .devices
            .contains(&ben.actor().to_hex_string()));
        // Writing on the view neither repeats a sequence number of his device nor shows his
        // refused goal; the change lands in the whole document as the stand-in's.
        ben.add_goal(goal("Another")).unwrap();
        let stand_in = ben.actor().clone();
        let mut whole = ben.into_doc();
        assert!(whole
            .get_changes_meta(&[])
            .iter()
            .any(|c| *c.actor == stand_in));
        let ws = Workspace::open(whole, "test", super::super::tests::now()).unwrap();
        assert!(!titles(&ws).contains(&"Written after the removal".to_string()));
    }

    #[test]
    fn a_refused_change_someone_built_on_is_kept_with_their_work() {
        use automerge::transaction::Transactable;
        let (mut ana, mut ben) = pair();
        let ana_actor = ana.doc().get_actor().clone();
        let ben_id = ana.name_holder("Ben", None).unwrap().id;
        ana.remove_participant(&ben_id).unwrap();
        ben.add_goal(goal("Written after the removal")).unwrap();
        // A client that does not screen (the web app, say) merges Ben's goal and writes after
        // it, so its change depends on his.
        let mut doc = ana.into_doc();
        doc.merge(ben.doc_mut()).unwrap();
        doc.put(automerge::ROOT, "title", "Ana & Ben, renamed")
            .unwrap();
        doc.commit();
        let ana = reopen(
            Workspace::open(doc, "test", super::super::tests::now()).unwrap(),
            ana_actor,
        );
        assert_eq!(ana.refused_changes(), 0);
        assert_eq!(ana.title(), "Ana & Ben, renamed");
        assert_eq!(titles(&ana), ["Written after the removal"]);
    }

    #[test]
    fn a_workspace_nobody_was_removed_from_is_not_forked() {
        let (ana, _) = pair();
        let actor = ana.doc().get_actor().clone();
        let ana = reopen(ana, actor);
        assert_eq!(ana.refused_changes(), 0);
        assert!(ana.shared.is_none());
    }
}
