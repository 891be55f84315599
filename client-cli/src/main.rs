//! `tandem`: the command-line client. It parses arguments, opens the home, calls tandem-core and
//! prints; everything else lives in tandem-core.

mod cli;
mod commands;
mod context;
mod editor;
mod net;
mod render;
mod tls;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tandem_server::quiet_on_closed_pipe();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, with the chain of causes, so scripts and people both get the reason.
            // Errors may quote document text (a workspace's title), so they are escaped too.
            eprintln!("tandem: {}", render::line(&format!("{err:#}")));
            ExitCode::from(1)
        }
    }
}
