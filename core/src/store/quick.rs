//! Adding items without loading the document.
//!
//! Read this if a command that adds something got slow on a big workspace. Loading a document costs
//! time in proportion to its whole history (about a second for 10,000 items with 1 MB of notes),
//! while adding a goal touches nothing that exists. So `add` commands build their one automerge
//! change directly from the document's [`Tip`](crate::store::docstore::Tip) — its heads, its
//! largest op, this device's last sequence number — and the ids of the collections, and append it
//! as an incremental chunk.
//!
//! **Invariant:** a quick change is exactly the change the ordinary path would make (same keys,
//! same value types, Text for human-written strings, one change with the same message); the
//! tests below build both and compare. Anything the quick path cannot be sure of (no tip, a tip
//! written by another actor, a document due for compaction, an unknown owner) sends the command
//! down the ordinary path instead.

use crate::model::draft::{Draft, Field};
use automerge::legacy::{ElementId, Key, ObjectId, Op, OpId, OpType};
use automerge::{ActorId, ChangeHash, ExpandedChange, ObjType, ScalarValue};
use std::num::NonZeroU64;

/// Where a collection map lives: the op that created it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjRef {
    pub counter: u64,
    pub actor: String,
}

impl ObjRef {
    /// The reference for a document object id, if it is not the root.
    pub fn from_exid(id: &automerge::ObjId) -> Option<Self> {
        match id {
            automerge::ObjId::Id(counter, actor, _) => Some(Self {
                counter: *counter,
                actor: actor.to_hex_string(),
            }),
            automerge::ObjId::Root => None,
        }
    }

    fn object(&self) -> Option<ObjectId> {
        let actor = ActorId::from(hex::decode(&self.actor).ok()?);
        Some(ObjectId::Id(OpId(self.counter, actor)))
    }
}

/// Builds the operations of one change, numbering them from the change's start op.
pub struct ChangeBuilder {
    actor: ActorId,
    next: u64,
    ops: Vec<Op>,
}

impl ChangeBuilder {
    fn new(actor: ActorId, start_op: u64) -> Self {
        Self {
            actor,
            next: start_op,
            ops: Vec::new(),
        }
    }

    fn push(&mut self, action: OpType, obj: &ObjectId, key: Key, insert: bool) -> OpId {
        let id = OpId(self.next, self.actor.clone());
        self.next += 1;
        self.ops.push(Op {
            action,
            obj: obj.clone(),
            key,
            pred: Vec::new().into(),
            insert,
        });
        id
    }

    /// A new map under `key` of `obj`.
    pub fn map(&mut self, obj: &ObjectId, key: &str) -> ObjectId {
        ObjectId::Id(self.push(OpType::Make(ObjType::Map), obj, Key::Map(key.into()), false))
    }

    /// A scalar under `key` of `obj`.
    pub fn put(&mut self, obj: &ObjectId, key: &str, value: ScalarValue) {
        self.push(OpType::Put(value), obj, Key::Map(key.into()), false);
    }

    /// A string scalar, when there is one.
    pub fn put_opt(&mut self, obj: &ObjectId, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.put(obj, key, ScalarValue::Str(v.into()));
        }
    }

    /// A Text object under `key` holding `text`, one op per character as automerge splices it.
    pub fn text(&mut self, obj: &ObjectId, key: &str, text: &str) {
        let text_obj = ObjectId::Id(self.push(
            OpType::Make(ObjType::Text),
            obj,
            Key::Map(key.into()),
            false,
        ));
        let mut previous = ElementId::Head;
        for ch in text.chars() {
            let id = self.push(
                OpType::Put(ScalarValue::Str(ch.to_string().into())),
                &text_obj,
                Key::Seq(previous),
                true,
            );
            previous = ElementId::Id(id);
        }
    }

    /// The finished change.
    fn finish(
        self,
        seq: u64,
        start_op: u64,
        deps: Vec<ChangeHash>,
        time: i64,
        message: String,
    ) -> automerge::Change {
        let expanded = ExpandedChange {
            operations: self.ops,
            actor_id: self.actor,
            hash: None,
            seq,
            start_op: NonZeroU64::new(start_op).expect("start ops count from 1"),
            time,
            message: Some(message),
            deps,
            extra_bytes: Vec::new(),
            author: None,
        };
        automerge::Change::from(expanded)
    }
}

/// Everything a quick add needs to know about the stored document.
#[derive(Debug, Clone)]
pub struct QuickContext {
    pub tip: crate::store::docstore::Tip,
    pub actor: ActorId,
    /// The collection the item goes into.
    pub collection: ObjRef,
    /// The acting participant, recorded as `created_by`.
    pub me: Option<String>,
    /// Seconds since the Unix epoch, for the change; and its stored RFC 3339 form.
    pub time: i64,
    pub stamp: String,
}

/// A new item as one change, field for field what [`crate::model::Workspace::insert`]
/// writes. `None` when the tip was written by another actor (its sequence number is unknown).
pub fn item_change(ctx: &QuickContext, draft: &Draft) -> Option<automerge::Change> {
    if ctx.tip.actor != ctx.actor.to_hex_string() {
        return None;
    }
    let collection = ctx.collection.object()?;
    let start_op = ctx.tip.max_op + 1;
    let mut b = ChangeBuilder::new(ctx.actor.clone(), start_op);
    let item = b.map(&collection, &draft.id);
    for field in Draft::header(ctx.me.as_deref(), &ctx.stamp)
        .iter()
        .chain(&draft.fields)
    {
        match field {
            Field::Text(key, value) => b.text(&item, key, value),
            Field::Str(key, value) => b.put_opt(&item, key, value.as_deref()),
            Field::Bool(key, value) => b.put(&item, key, ScalarValue::Boolean(*value)),
            Field::Map(key) => {
                b.map(&item, key);
            }
            Field::Flags(key, flags) => {
                let map = b.map(&item, key);
                for flag in flags {
                    b.put(&map, flag, ScalarValue::Boolean(true));
                }
            }
        }
    }
    Some(b.finish(
        ctx.tip.seq + 1,
        start_op,
        ctx.tip.head_hashes(),
        ctx.time,
        draft.message.clone(),
    ))
}
