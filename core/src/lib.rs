//! tandem-core: everything tandem knows, with no sockets and no command line.
pub mod protocol;
