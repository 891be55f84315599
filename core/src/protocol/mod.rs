//! The automerge-repo websocket protocol v1 (see docs/protocol.md).
//!
//! tandem speaks this protocol so that its clients and sync server can talk to official
//! automerge-repo peers (JS 2.x and samod) as well as to each other. This module only turns
//! frames into values and back. It opens no sockets and runs no tasks, so the same code
//! serves the CLI, the server and the tests, and every rule can be tested without a network.
//!
//! [`ids`] holds the identifiers that appear on the wire: base58check document ids,
//! `automerge:` URLs and change-hash heads. `messages.rs` holds the [`Message`] enum,
//! `decode.rs` and `encode.rs` its CBOR codec ([`decode()`], [`encode()`]), and `tests.rs` the
//! codec's tests. The decoder is deliberately lenient about the forms that real peers differ
//! on (map header widths, key order, `undefined` fields, floats for counts, unknown keys and
//! types), and strict about everything else, because every frame it sees comes from the
//! network and may be hostile.

pub mod ids;

mod decode;
mod encode;
mod messages;
#[cfg(test)]
mod tests;

pub use decode::decode;
pub use encode::encode;
pub use ids::{
    decode_head, decode_heads, encode_head, encode_heads, AutomergeUrl, DocumentId, IdError,
};
pub use messages::{DecodeError, Message, PeerMetadata, RemoteHeads, PROTOCOL_VERSION};
