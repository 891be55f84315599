//! The sans-IO sync engine: automerge-repo protocol messages in, messages out.
//!
//! Read this before touching the relay or `tandem sync`. Both sides are built from one piece,
//! [`DocSync`]: one document synced with one remote peer through an automerge `sync::State`.
//!
//! - [`Relay`] is the server side: many peers, many documents, fan-out of every change to the
//!   other peers of a document, access control per peer, lazy loading and idle eviction of
//!   documents, persisted sync states for peers with a storage id.
//! - [`ClientSession`] is the client side: one relay, the workspaces of a home.
//!
//! Neither touches a socket or a clock; the server and the CLI feed them decoded messages and
//! deliver what they return. Storage is reached through [`crate::store::Storage`].
//!
//! **Invariant (durability):** the relay writes a change to storage while handling the message
//! that carried it ([`Relay::receive`], which returns nothing to send). Messages come only from
//! the end of a batch, [`Relay::seal`], locked in a [`Batch`] that releases them only through
//! [`Batch::flush`]. A peer therefore only ever learns that the relay has a change once it is on
//! disk, whichever thread does the flush.

mod client;
mod peer;
mod relay;

pub use client::{ClientError, ClientSession, DocProgress};
pub use peer::{receive_without_needless_walk, DocSync, SyncError};
pub use relay::{Access, Batch, FlushFailed, Outgoing, PeerError, Relay, RelayStats};
