//! `tandem-server token create|list|revoke`: the operator's view of `tokens.json`.
//!
//! These commands edit the token file directly (see [`tandem_server::tokens`]); they never touch
//! the sled store, so they work while a relay runs on the same data directory. A running relay
//! notices the change within a few seconds, and closes live connections of a revoked token.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use std::path::Path;
use tandem_server::tokens::{self, Role, Scope, TokenEntry};

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token and print it (it is shown only this once).
    Create(CreateArgs),
    /// List tokens (never the tokens themselves, which are not stored).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `token list`).
    Revoke {
        /// The token's id.
        id: String,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("scope").required(true).args(["workspace", "all"])))]
pub(crate) struct CreateArgs {
    /// A workspace (automerge document id or `automerge:` URL) the token opens, or for a
    /// program token reports on; repeatable.
    #[arg(long)]
    pub workspace: Vec<String>,
    /// Every workspace on the relay, including ones created later.
    #[arg(long)]
    pub all: bool,
    /// What the token may do: read or write its workspaces through sync, or (program) read
    /// only the coordinators' report of them at /v1/program, which holds no content.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Who or what the token is for.
    #[arg(long, default_value = "")]
    pub label: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// Receive the workspaces; changes are refused.
    Read,
    /// Receive the workspaces and send changes.
    Write,
    /// A coordinator's: no workspace through sync, only the program report.
    Program,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Read => Role::Read,
            RoleArg::Write => Role::Write,
            RoleArg::Program => Role::Program,
        }
    }
}

pub(crate) fn run(command: &TokenCommand, path: &Path) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let scope = if args.all {
                Scope::All
            } else {
                Scope::docs(&args.workspace)?
            };
            let (token, entry) = tokens::create(path, args.role.into(), scope, &args.label, None)?;
            // The token alone goes to stdout so that scripts can capture it; the rest is for
            // the operator.
            println!("{token}");
            eprintln!(
                "created token {} ({}, workspaces {}); it is shown only once and stored hashed in {}",
                entry.id,
                entry.role,
                entry.workspaces,
                path.display()
            );
        }
        TokenCommand::List { json } => {
            let file = tokens::read(path)?;
            if *json {
                let list: Vec<serde_json::Value> = file.tokens.iter().map(entry_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if file.tokens.is_empty() {
                eprintln!("no tokens yet; create one with `tandem-server token create`");
            } else {
                println!(
                    "{:<8}  {:<7}  {:<8}  {:<20}  {:<20}  WORKSPACES",
                    "ID", "ROLE", "STATUS", "CREATED", "LABEL"
                );
                for e in &file.tokens {
                    let status = if e.is_active() { "active" } else { "revoked" };
                    println!(
                        "{:<8}  {:<7}  {:<8}  {:<20}  {:<20}  {}",
                        e.id,
                        e.role.to_string(),
                        status,
                        e.created_at,
                        e.label,
                        e.workspaces
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let entry = tokens::revoke(path, id)?;
            println!(
                "revoked token {}{}; a running relay closes its connections within seconds",
                entry.id,
                if entry.label.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", entry.label)
                }
            );
        }
    }
    Ok(())
}

/// A token entry for `token list --json`: everything but the hash, plus `active`.
fn entry_json(e: &TokenEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "label": e.label,
        "role": e.role,
        "workspaces": e.workspaces,
        "created_at": e.created_at,
        "created_by": e.created_by,
        "revoked_at": e.revoked_at,
        "active": e.is_active(),
    })
}
