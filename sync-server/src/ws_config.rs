//! The websocket settings every relay connection uses, in one place so that every way of
//! accepting a connection (plain TCP, TLS, an HTTP framework's upgrade) shares them.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The read buffer each connection allocates up front. Most relay connections are idle most of
/// the time (a mentoring pair edits a plan a few times a day), so this is what thousands of
/// them cost at rest; tungstenite grows the buffer on demand for a larger message, which it
/// then reads in pieces of this size (a 64 KiB initial sync takes 32 reads, nothing beside the
/// automerge work it carries). 2 KiB holds a typical edit's sync message in one read.
pub(crate) const READ_BUFFER: usize = 2 * 1024;

/// How much outgoing data is gathered before it is written. The writer flushes after every
/// batch anyway, so this only bounds the gathering; tungstenite's write buffer itself starts
/// empty and grows on demand.
pub(crate) const WRITE_BUFFER: usize = 8 * 1024;

/// The websocket configuration for a relay connection: messages and frames up to
/// `max_message_bytes`, and small buffers so that an idle joined connection stays within
/// 16 KiB of relay memory.
pub(crate) fn websocket_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
}
