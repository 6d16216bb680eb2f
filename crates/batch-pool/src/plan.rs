//! What a run must send: the batch's items checked against the journal, one by one.

use crate::{Destination, Error, Identity, Item, JournalState, Recorded, Version};
use std::path::Path;

/// One item a run must send, with the identity the journal records it under.
#[derive(Debug)]
pub struct Planned {
    /// The item.
    pub item: Item,
    /// Destination, key and file version, as the journal will record them.
    pub id: Identity,
    /// Why the file could not be read while planning (a missing file, a FIFO in a manifest); such
    /// an item fails without being sent.
    pub unreadable: Option<Error>,
}

/// What a run must send, and what the journal says of the rest.
#[derive(Debug, Default)]
pub struct Plan {
    /// The items to send, in the order given.
    pub todo: Vec<Planned>,
    /// Items done at this destination in their current version: not sent.
    pub skipped: usize,
    /// Items recorded for another version of their file: sent again.
    pub changed: usize,
    /// Items a stopped run was sending: sent again (with the same idempotency key).
    pub in_doubt: usize,
}

impl JournalState {
    /// Checks each item against the journal: its current version (from `version_of`, e.g.
    /// [`Version::of`] or, to compare contents, [`Version::hashed`]) and `dest` make its
    /// identity, and only items not [`Recorded::Done`] under that identity are kept.
    pub fn plan(
        &self,
        items: Vec<Item>,
        dest: &Destination,
        version_of: fn(&Path) -> Result<Version, Error>,
    ) -> Plan {
        let mut plan = Plan::default();
        for item in items {
            let (version, unreadable) = match version_of(&item.path) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e)),
            };
            let id = Identity::new(dest, &item, version);
            match self.lookup(&id) {
                Recorded::Done => {
                    plan.skipped += 1;
                    continue;
                }
                Recorded::Changed if unreadable.is_none() => plan.changed += 1,
                Recorded::InDoubt { .. } => plan.in_doubt += 1,
                _ => {}
            }
            plan.todo.push(Planned {
                item,
                id,
                unreadable,
            });
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Journal;
    use std::collections::BTreeMap;

    #[test]
    fn done_items_are_skipped_and_changed_ones_counted() {
        let dir = tempfile::tempdir().unwrap();
        let item = |name: &str| {
            let path = dir.path().join(name);
            Item {
                key: name.to_string(),
                raw_key: None,
                path,
                fields: BTreeMap::new(),
            }
        };
        std::fs::write(dir.path().join("a"), "a").unwrap();
        std::fs::write(dir.path().join("b"), "b").unwrap();
        let j = dir.path().join("j.jsonl");
        let dest = Destination::of_url("http://x/");
        {
            let (journal, state) = Journal::open(&j).unwrap();
            let plan = state.plan(vec![item("a"), item("b")], &dest, Version::of);
            assert_eq!(plan.todo.len(), 2);
            for p in &plan.todo {
                journal.done(&p.id, 1, "200").unwrap();
            }
        }
        std::fs::write(dir.path().join("b"), "bb").unwrap();
        let (_, state) = Journal::open(&j).unwrap();
        let plan = state.plan(
            vec![item("a"), item("b"), item("missing")],
            &dest,
            Version::of,
        );
        assert_eq!((plan.skipped, plan.changed), (1, 1));
        let keys: Vec<&str> = plan.todo.iter().map(|p| p.item.key.as_str()).collect();
        assert_eq!(keys, ["b", "missing"]);
        assert!(plan.todo[1].unreadable.is_some());
        let other = state.plan(
            vec![item("a")],
            &Destination::of_url("http://y/"),
            Version::of,
        );
        assert_eq!((other.todo.len(), other.skipped), (1, 0));
    }
}
