//! `tandem`: the command-line client. It parses arguments, opens the home, calls tandem-core and
//! prints; everything else lives in tandem-core.

mod cli;
mod commands;
mod context;
mod editor;
mod net;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, with the chain of causes, so scripts and people both get the reason.
            eprintln!("tandem: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// `tandem export | head` closes the pipe early; Rust's `println!` then panics. A Unix tool
/// should end quietly instead, with the status a SIGPIPE would give, so the panic is caught
/// here rather than at every print.
fn quiet_on_closed_pipe() {
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
