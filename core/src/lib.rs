//! tandem-core: everything tandem knows, with no sockets and no command line.
//!
//! - [`model::Workspace`]: a mentoring pair's development plan as an automerge document —
//!   goals and milestones, notes, check-ins with ratings, action items, resources, participants.
//! - [`store::Home`]: one device's workspaces on a [`store::Storage`] (sled by default), with
//!   private notes, bundles and sync bookkeeping.
//! - [`store::docstore`]: documents as snapshot plus incremental chunks, compacted as automerge-repo does.
//! - [`protocol`]: the automerge-repo websocket protocol v1 codec and document ids.
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
pub mod protocol;
pub mod store;
pub mod sync;

pub use automerge;
pub use error::{Error, Result};
pub use jiff;
