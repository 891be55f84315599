//! tandem-core: everything tandem knows, with no sockets and no command line.
//!
//! The modules follow the architecture, from the document out to the wire:
//! - [`model`]: a mentoring pair's development plan as an automerge document,
//!   [`model::Workspace`]: goals and milestones, notes, check-ins with ratings, action items,
//!   resources and participants, one file per kind of item.
//! - [`store`]: what a device keeps on disk: the [`store::Storage`] trait with its backends (sled
//!   by default), documents as snapshot plus incremental chunks ([`store::docstore`]), one device's
//!   [`store::Home`] with private notes and sync bookkeeping, the quick path for adding items, and
//!   bundles.
//! - [`protocol`]: the automerge-repo websocket protocol v1: messages, their CBOR codec, and
//!   document ids.
//! - [`sync`]: the sans-IO sync engine: one document with one peer, the relay's side and the
//!   client's.
//! - [`program`]: the coordinators' view of many pairs: content-free facts read from a workspace,
//!   and the figures a program report shows.
//!
//! `model` and `protocol` stand alone; `store` builds on both, and `sync` on `protocol` and
//! `store`. The binaries (`tandem`, `tandem-server`) add the terminal and the sockets.
//!
//! ```
//! use tandem_core::model::{NewGoal, Role, Workspace};
//! let now = jiff::Timestamp::from_second(1_790_000_000).unwrap();
//! let (mut ws, _me) =
//!     Workspace::create("Ana & Ben", "Ana", Role::Mentor, automerge::ActorId::random(), now)?;
//! let goal = ws.add_goal(NewGoal { title: "Ship a Rust CLI".into(), ..Default::default() })?;
//! ws.add_milestone(&goal, "Read the book", None)?;
//! assert_eq!(ws.goal(&goal)?.progress(), (0, 1));
//! # Ok::<(), tandem_core::Error>(())
//! ```

mod error;
pub mod model;
pub mod program;
pub mod protocol;
pub mod store;
pub mod sync;

pub use automerge;
pub use error::{Chain, Error, Result};
pub use jiff;
