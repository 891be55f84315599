//! Who changed what, and when, from automerge's own change metadata.
//!
//! Every change tandem makes carries a message written for people ("added goal 3fa2c1d0 …") and
//! the time it was made. The author is found by mapping the change's actor to the participant
//! whose device it is, so history names people rather than actor ids.

use crate::model::time::Stored;
use crate::model::Workspace;
use serde::Serialize;

/// One change in the history of a workspace.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    pub hash: String,
    pub author: String,
    pub actor: String,
    /// Seconds since the Unix epoch, as recorded by the author's device.
    pub time: i64,
    pub at: Stored<jiff::Timestamp>,
    pub message: String,
}

impl Workspace {
    /// The workspace's history, newest first, at most `limit` entries (all when `None`).
    pub fn history(&mut self, limit: Option<usize>) -> Vec<HistoryEntry> {
        let people = self.participants();
        let names: std::collections::HashMap<String, String> = people
            .iter()
            .flat_map(|p| p.devices.iter().map(move |d| (d.clone(), p.name.clone())))
            .collect();
        let metas: Vec<HistoryEntry> = self
            .doc_mut()
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| {
                let actor = m.actor.to_hex_string();
                HistoryEntry {
                    hash: m.hash.to_string(),
                    author: names
                        .get(&actor)
                        .cloned()
                        .unwrap_or_else(|| format!("device {}", &actor[..actor.len().min(8)])),
                    time: m.timestamp,
                    at: jiff::Timestamp::from_second(m.timestamp)
                        .map(Stored::Valid)
                        .unwrap_or(Stored::Unparsed(String::new())),
                    message: m
                        .message
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "(change without a description)".to_string()),
                    actor,
                }
            })
            .collect();
        // Changes come in causal order; newest first reads best, with causal order breaking ties
        // between changes stamped in the same second.
        let mut indexed: Vec<(usize, HistoryEntry)> = metas.into_iter().enumerate().collect();
        indexed.sort_by(|(ia, a), (ib, b)| b.time.cmp(&a.time).then(ib.cmp(ia)));
        let iter = indexed.into_iter().map(|(_, e)| e);
        match limit {
            Some(n) => iter.take(n).collect(),
            None => iter.collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests::{add_goal_titled, merge_both, pair};

    #[test]
    fn history_names_the_people_who_made_each_change() {
        let (mut ana, mut ben) = pair();
        add_goal_titled(&mut ben, "Ben's goal");
        merge_both(&mut ana, &mut ben);
        let history = ana.history(None);
        assert_eq!(history[0].author, "Ben");
        assert!(history[0].message.contains("Ben's goal"));
        assert!(history
            .iter()
            .any(|h| h.author == "Ana" && h.message.contains("created workspace")));
    }
}
