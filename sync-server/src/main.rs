//! `tandem-server`: parse arguments, set up logging, and run the relay or a token command.
//!
//! Logs go to stderr (`RUST_LOG`, default `info,automerge=warn`). stdout carries only what scripts read: the
//! `listening on 127.0.0.1:PORT` line once the socket is bound, and a new token.

mod token_cmd;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tandem_server::{ServerConfig, TlsFiles};
use tracing_subscriber::EnvFilter;

/// The default log filter. automerge's own spans are kept at `warn`: at `info`, its span on
/// `load_changes` formats the document's whole change graph for every incoming change, which
/// cost 8-10 ms of relay CPU per edit on a 10,000-change document (BENCHMARKS.md).
const DEFAULT_LOG: &str = "info,automerge=warn";

/// tandem's relay: an automerge-repo websocket sync server.
#[derive(Debug, Parser)]
#[command(name = "tandem-server", version, about)]
struct Cli {
    /// Where documents and tokens are stored.
    #[arg(
        long,
        global = true,
        default_value = "./tandem-data",
        env = "TANDEM_SERVER_DATA"
    )]
    data: PathBuf,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3030")]
    listen: String,
    /// Accept everyone without a token, with full access. Only for a trusted network.
    #[arg(long)]
    open: bool,
    /// The most connections served at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// The largest websocket message accepted, in bytes.
    #[arg(long, default_value_t = 256 << 20)]
    max_message_bytes: usize,
    /// Drop documents from memory after this many idle seconds.
    #[arg(long, default_value_t = 300)]
    idle_evict_secs: u64,
    /// Serve wss:// and https:// with this certificate chain (PEM, leaf first). Reloaded,
    /// with the key, on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// How log lines are written to stderr: text for people, json (one object a line) for a
    /// log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// How many threads share the documents' sync work (default: the number of cores).
    #[arg(long)]
    hub_threads: Option<usize>,
    /// Move the journal's writes into the store once they add up to this many KiB. More keeps
    /// more in memory and makes a restart after a crash replay more; less makes the store work
    /// more often.
    #[arg(
        long,
        value_name = "KIB",
        default_value_t = tandem_core::store::journal::CHECKPOINT_BYTES >> 10,
        value_parser = clap::value_parser!(u64).range(1..=1 << 20)
    )]
    checkpoint_kib: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage access tokens (works while the relay runs).
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
}

impl Cli {
    /// The relay's configuration; reads the TLS files, if any.
    fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles::load(cert, key)?),
            _ => None,
        };
        Ok(ServerConfig {
            data_dir: self.data.clone(),
            open: self.open,
            max_connections: self.max_connections,
            max_message_bytes: self.max_message_bytes,
            idle_evict: Duration::from_secs(self.idle_evict_secs),
            hub_threads: self
                .hub_threads
                .unwrap_or_else(|| ServerConfig::default().hub_threads)
                .max(1),
            checkpoint_bytes: self.checkpoint_kib << 10,
            tls,
            ..ServerConfig::default()
        })
    }

    /// The token file, which needs no TLS files read.
    fn tokens_path(&self) -> PathBuf {
        ServerConfig {
            data_dir: self.data.clone(),
            ..ServerConfig::default()
        }
        .tokens_path()
    }
}

fn main() -> ExitCode {
    tandem_server::quiet_on_closed_pipe();
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    let result = match &cli.command {
        Some(Command::Token(cmd)) => token_cmd::run(cmd, &cli.tokens_path()),
        None => serve(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: &Cli) -> anyhow::Result<()> {
    let config = cli.server_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&cli.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cli.listen))?;
        let addr = listener.local_addr()?;
        // The SIGHUP handler is in place before the port is announced, so that a script may
        // signal a renewal as soon as it has seen the port.
        if let Some(tls) = config.tls.clone() {
            tracing::info!(cert = %tls.cert.display(), "serving wss:// and https://; SIGHUP reloads the certificate");
            reload_on_hangup(tls);
        }
        tracing::info!("listening on {addr}");
        // Tests and scripts start the relay on port 0 and read the port from this line.
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {addr}")?;
        stdout.flush()?;
        tandem_server::run(listener, config, shutdown_signal()).await
    })
}

/// Reload the certificate on every SIGHUP, so a renewal needs no restart.
/// Must be called inside the runtime.
fn reload_on_hangup(tls: TlsFiles) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; certificate renewals need a restart");
            return;
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => {
                        tracing::info!(cert = %tls.cert.display(), "reloaded the certificate")
                    }
                    Err(e) => tracing::error!(
                        "could not reload the certificate, keeping the previous one: {e:#}"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = tls;
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received SIGINT"),
        _ = term => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let cli = Cli::try_parse_from(["tandem-server"]).unwrap();
        assert_eq!(cli.listen, "127.0.0.1:3030");
        let config = cli.server_config().unwrap();
        assert_eq!(config.max_message_bytes, 256 << 20);
        assert!(!config.open);
        assert!(config.hub_threads >= 1);
        assert!(cli.command.is_none());
        assert_eq!(cli.log_format, LogFormat::Text);
        assert!(config.tls.is_none());
        assert_eq!(
            config.checkpoint_bytes,
            tandem_core::store::journal::CHECKPOINT_BYTES
        );
    }

    #[test]
    fn tls_needs_both_files_and_logs_may_be_json() {
        assert!(Cli::try_parse_from(["tandem-server", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["tandem-server", "--tls-key", "k.pem"]).is_err());
        let cli = Cli::try_parse_from([
            "tandem-server",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.log_format, LogFormat::Json);
        let error = cli.server_config().unwrap_err().to_string();
        assert!(error.contains("/nonexistent/c.pem"), "{error}");
    }

    #[test]
    fn server_flags_are_parsed() {
        let cli = Cli::try_parse_from([
            "tandem-server",
            "--data",
            "/tmp/x",
            "--listen",
            "127.0.0.1:0",
            "--open",
            "--max-connections",
            "5",
            "--idle-evict-secs",
            "9",
            "--hub-threads",
            "3",
            "--checkpoint-kib",
            "64",
        ])
        .unwrap();
        let config = cli.server_config().unwrap();
        assert_eq!(config.hub_threads, 3);
        assert_eq!(config.checkpoint_bytes, 64 << 10);
        assert!(Cli::try_parse_from(["tandem-server", "--checkpoint-kib", "0"]).is_err());
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert!(config.open);
        assert_eq!(config.max_connections, 5);
        assert_eq!(config.idle_evict, Duration::from_secs(9));
    }

    #[test]
    fn token_commands_are_parsed() {
        let cli = Cli::try_parse_from([
            "tandem-server",
            "token",
            "create",
            "--workspace",
            "a",
            "--workspace",
            "b",
            "--role",
            "read",
            "--data",
            "/d",
        ])
        .unwrap();
        assert_eq!(cli.data, PathBuf::from("/d"));
        let Some(Command::Token(token_cmd::TokenCommand::Create(args))) = cli.command else {
            panic!("expected token create");
        };
        assert_eq!(args.workspace, vec!["a", "b"]);
        assert!(Cli::try_parse_from([
            "tandem-server",
            "token",
            "create",
            "--all",
            "--workspace",
            "a",
            "--role",
            "read"
        ])
        .is_err());
        assert!(
            Cli::try_parse_from(["tandem-server", "token", "create", "--role", "read"]).is_err()
        );
        let cli = Cli::try_parse_from([
            "tandem-server",
            "token",
            "create",
            "--all",
            "--role",
            "program",
        ])
        .unwrap();
        let Some(Command::Token(token_cmd::TokenCommand::Create(args))) = cli.command else {
            panic!("expected token create");
        };
        assert!(matches!(args.role, token_cmd::RoleArg::Program));
        assert!(Cli::try_parse_from(["tandem-server", "token", "revoke", "abc"]).is_ok());
        assert!(Cli::try_parse_from(["tandem-server", "token", "list", "--json"]).is_ok());
    }
}
