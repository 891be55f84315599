//! `tandem`: the command-line client. It parses arguments, opens the home, calls tandem-core and
//! prints; everything else lives in tandem-core.

mod cli;
mod commands;
mod context;
mod editor;
mod ics;
mod net;
mod render;
mod tls;
mod values;

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tandem_server::quiet_on_closed_pipe();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    if cli.global.workspace.len() > 1 && !matches!(cli.command, cli::Command::Sync(_)) {
        use clap::CommandFactory;
        let err = cli::Cli::command().error(
            ErrorKind::ArgumentConflict,
            "-w names one workspace here; only `tandem sync` takes several",
        );
        return usage_error(err);
    }
    let json = cli.global.json;
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A command may find its flags incomplete only once it runs (`tandem survey` without
            // a terminal to ask in); that is a usage error like those clap reports.
            let err = match err.downcast::<clap::Error>() {
                Ok(usage) => return usage_error(usage),
                Err(err) => err,
            };
            // One line, with the chain of causes, so scripts and people both get the reason.
            let message = format!("{err:#}");
            if json {
                print_json_error(&message, error_code(&err));
            } else {
                // Errors may quote document text (a workspace's title), so they are escaped too.
                eprintln!("tandem: {}", render::line(&message));
            }
            ExitCode::from(1)
        }
    }
}

/// A command line clap refused (exit code 2), or a request for help or the version (exit code
/// 0). Under `--json` a refusal is a JSON error with the code `usage`; clap has not parsed the
/// flags yet, so `--json` is looked for among the arguments as typed.
fn usage_error(err: clap::Error) -> ExitCode {
    let refused = !matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if refused && std::env::args_os().skip(1).any(|a| a == "--json") {
        let detail = err.to_string();
        let first = detail.lines().next().unwrap_or_default();
        print_json_error(first.strip_prefix("error: ").unwrap_or(first), "usage");
        return ExitCode::from(2);
    }
    let _ = err.print();
    ExitCode::from(if refused { 2 } else { 0 })
}

/// `{"error": "…", "code": "…"}` on one line of stderr, for programs that asked for JSON.
fn print_json_error(message: &str, code: &str) {
    let value = serde_json::json!({ "error": message, "code": code });
    eprintln!("{value}");
}

/// The code of an error for `--json`: tandem-core's own (see `tandem_core::Error::code`) when the
/// error comes from there, `io` for a file that cannot be read or written, `failed` otherwise.
fn error_code(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(core) = cause.downcast_ref::<tandem_core::Error>() {
            return core.code();
        }
    }
    if err
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some())
    {
        return "io";
    }
    "failed"
}
