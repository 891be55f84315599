//! The program report behind `GET /v1/program`: how every pair in a program token's scope is
//! doing, in numbers only (docs/program.md).
//!
//! Read this if you change how the report is gathered. The hubs own the live documents; this
//! reads the *stored* ones, which are the relay's durable state (the hub saves and flushes a
//! batch before it tells anyone about it), so the report never waits for, locks or wakes a hub.
//!
//! Loading a document is the expensive part, so the content-free [`PairFacts`] of each one are
//! cached by the document's heads. Each request first reads every document's *tip* (a small
//! record written beside the chunks in the same atomic batch; see
//! `tandem_core::store::docstore`), which names its current heads: a document whose heads are
//! those of its cached facts is not loaded at all. The rest are loaded on a few threads at once,
//! their facts extracted and cached under the heads they were loaded with. The figures relative
//! to now (`PairFacts::summary`) are computed on every request, so a cached answer never goes
//! stale as days pass. Documents that are not shared workspaces (another automerge-repo client's
//! documents) are remembered as such by their heads too, and left out.
//!
//! Nothing here logs a token or a word of content: only counts, timings and document ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tandem_core::jiff::Timestamp;
use tandem_core::model::Workspace;
use tandem_core::program::{self, PairFacts, ProgramReport};
use tandem_core::store::docstore;
use tandem_core::store::Storage;
use tracing::{debug, warn};

use crate::tokens::Scope;

/// What is known about one stored document at some heads.
#[derive(Debug, Clone)]
struct Cached {
    /// The heads (hex) the facts were read at.
    heads: Vec<String>,
    /// The facts, or `None` for a document that is not a shared workspace.
    facts: Option<Arc<PairFacts>>,
}

/// The relay's program reports: the store and the cache of facts.
pub(crate) struct ProgramView {
    storage: Arc<dyn Storage>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Held for a whole report, so that a burst of requests (a dashboard opened in several tabs)
    /// loads each changed document once: the second request waits, then finds the cache warm.
    one_at_a_time: Mutex<()>,
    threads: usize,
}

impl std::fmt::Debug for ProgramView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramView")
            .field("cached", &self.lock().len())
            .finish()
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the stored documents")]
pub(crate) struct ReportError(#[source] tandem_core::Error);

impl ProgramView {
    /// A view of the documents in `storage`, loading on at most `threads` threads at once.
    pub fn new(storage: Arc<dyn Storage>, threads: usize) -> Self {
        Self {
            storage,
            cache: Mutex::new(HashMap::new()),
            one_at_a_time: Mutex::new(()),
            threads: threads.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // The map is only ever read or replaced entry by entry, so a poisoned lock holds
        // nothing half-written.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The report of the workspaces in `scope` as of `now`. Blocking (storage reads and
    /// automerge work): call it off the async runtime.
    pub fn report(&self, scope: &Scope, now: Timestamp) -> Result<ProgramReport, ReportError> {
        let _one_at_a_time = self.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let listed = self.list(scope)?;
        let mut facts = Vec::with_capacity(listed.len());
        let mut stale = Vec::new();
        {
            let cache = self.lock();
            for (id, heads) in listed.iter() {
                match cache.get(id) {
                    Some(hit) if &hit.heads == heads => facts.extend(hit.facts.clone()),
                    _ => stale.push(id.clone()),
                }
            }
        }
        let loaded = self.load_all(&stale, now);
        {
            let mut cache = self.lock();
            for (id, cached) in loaded.iter() {
                cache.insert(id.clone(), cached.clone());
            }
            if *scope == Scope::All {
                // Every stored document was listed, so anything else in the cache is gone.
                let present: std::collections::HashSet<&String> =
                    listed.iter().map(|(id, _)| id).collect();
                cache.retain(|id, _| present.contains(id));
            }
        }
        facts.extend(loaded.into_iter().filter_map(|(_, c)| c.facts));
        let summaries = facts.iter().map(|f| f.summary(now)).collect();
        let report = ProgramReport::new(now, summaries);
        debug!(
            workspaces = report.workspaces.len(),
            loaded = stale.len(),
            millis = started.elapsed().as_millis() as u64,
            "program report"
        );
        Ok(report)
    }

    /// The documents of `scope` that the store holds, each with its current heads (hex).
    fn list(&self, scope: &Scope) -> Result<Vec<(String, Vec<String>)>, ReportError> {
        match scope {
            Scope::All => Ok(docstore::list_tips(self.storage.as_ref())
                .map_err(ReportError)?
                .into_iter()
                .map(|(id, tip)| (id, tip.heads))
                .collect()),
            Scope::Docs(ids) => {
                let mut listed = Vec::new();
                for id in ids {
                    if let Some(tip) =
                        docstore::load_tip(self.storage.as_ref(), id).map_err(ReportError)?
                    {
                        listed.push((id.clone(), tip.heads));
                    }
                }
                Ok(listed)
            }
        }
    }

    /// Load the documents `ids` on up to `threads` threads, and read their facts.
    fn load_all(&self, ids: &[String], now: Timestamp) -> Vec<(String, Cached)> {
        if ids.is_empty() {
            return Vec::new();
        }
        let next = AtomicUsize::new(0);
        let workers = self.threads.min(ids.len());
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(id) = ids.get(i) else { break };
                            if let Some(cached) = self.load_one(id, now) {
                                done.push((id.clone(), cached));
                            }
                        }
                        done
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// Load one stored document and read its facts; `None` when it cannot be read now (it is
    /// tried again on the next request).
    fn load_one(&self, id: &str, now: Timestamp) -> Option<Cached> {
        let loaded = match docstore::load(self.storage.as_ref(), id) {
            Ok(loaded) => loaded?,
            Err(e) => {
                warn!(doc = %id, "program report skipped a document: {}", tandem_core::Chain(&e));
                return None;
            }
        };
        let (mut doc, _) = loaded;
        let heads = doc.get_heads().iter().map(|h| h.to_string()).collect();
        if !program::is_workspace(&doc) {
            return Some(Cached { heads, facts: None });
        }
        // A workspace of a newer schema is left out rather than misread.
        let facts = match Workspace::open(doc, id, now) {
            Ok(mut ws) => Some(Arc::new(PairFacts::extract(&mut ws, id))),
            Err(e) => {
                debug!(doc = %id, "program report leaves out a document: {e}");
                None
            }
        };
        Some(Cached { heads, facts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_core::automerge::transaction::Transactable;
    use tandem_core::automerge::ActorId;
    use tandem_core::model::{NewGoal, Role};
    use tandem_core::protocol::DocumentId;
    use tandem_core::store::docstore::DocState;
    use tandem_core::store::MemoryStorage;

    fn store_workspace(storage: &dyn Storage, title: &str) -> (String, Workspace, DocState) {
        let now = Timestamp::now();
        let (ws, _) =
            Workspace::create(title, "Ana", Role::Mentor, ActorId::random(), now).unwrap();
        let id = DocumentId::random().to_string();
        let mut state = DocState::new();
        let mut doc = ws.into_doc();
        docstore::save(storage, &id, &mut doc, &mut state).unwrap();
        let ws = Workspace::open(doc, &id, now).unwrap();
        (id, ws, state)
    }

    #[test]
    fn facts_are_cached_by_heads_and_read_again_when_a_document_changes() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::default());
        let (a, mut ws, mut state) = store_workspace(storage.as_ref(), "Ana & Ben");
        let (b, _, _) = store_workspace(storage.as_ref(), "Cleo & Dan");
        // A document another automerge-repo client keeps on the relay is not a workspace.
        let other = DocumentId::random().to_string();
        let mut foreign = tandem_core::automerge::AutoCommit::new();
        foreign
            .put(tandem_core::automerge::ROOT, "kind", "todo-list")
            .unwrap();
        docstore::save(storage.as_ref(), &other, &mut foreign, &mut DocState::new()).unwrap();
        let view = ProgramView::new(storage.clone(), 2);
        let now = Timestamp::now();

        let report = view.report(&Scope::All, now).unwrap();
        let titles: Vec<&str> = report.workspaces.iter().map(|w| w.title.as_str()).collect();
        assert_eq!(titles, ["Ana & Ben", "Cleo & Dan"]);
        assert_eq!(
            view.lock().len(),
            3,
            "the foreign document is remembered too"
        );

        ws.add_goal(NewGoal {
            title: "Ship".into(),
            ..Default::default()
        })
        .unwrap();
        docstore::save(storage.as_ref(), &a, ws.doc_mut(), &mut state).unwrap();
        let report = view.report(&Scope::All, now).unwrap();
        let ana = report.workspaces.iter().find(|w| w.id == a).unwrap();
        assert_eq!(ana.goals.open, 1, "a changed document is read again");

        let scoped = view.report(&Scope::Docs(vec![b.clone()]), now).unwrap();
        assert_eq!(scoped.workspaces.len(), 1);
        assert_eq!(scoped.workspaces[0].id, b);
        let missing = view
            .report(&Scope::Docs(vec![DocumentId::random().to_string()]), now)
            .unwrap();
        assert!(missing.workspaces.is_empty());
    }
}
