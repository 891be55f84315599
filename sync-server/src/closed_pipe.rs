//! The panic hook both binaries install first thing in `main`.
//!
//! It lives in this library because both `tandem-server` and `tandem` (which links this crate to
//! run a relay in process for `tandem demo`) need it, and core, which prints nothing, should not
//! carry it.

/// End quietly, with the status a SIGPIPE would give (141), when standard output is a pipe that
/// closed early (`tandem export | head`, `tandem-server token list | head`). Rust's `println!`
/// panics then, and catching that once at the start of `main` is simpler than handling it at every
/// print.
pub fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
