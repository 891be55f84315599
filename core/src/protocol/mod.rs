//! The automerge-repo websocket protocol v1 (see shared/PROTOCOL.md).
