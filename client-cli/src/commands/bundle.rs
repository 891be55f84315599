//! `tandem bundle export|import`: changes on a USB stick.

use crate::context::Context;
use crate::render::line;
use crate::values;
use anyhow::{Context as _, Result};
use clap::Subcommand;
use serde::Serialize;
use std::path::PathBuf;
use tandem_core::model::Role;
use tandem_core::store::Bundle;

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write the workspace's changes to FILE.
    Export {
        /// The bundle file to write.
        file: PathBuf,
    },
    /// Merge the changes in FILE; joins the workspace if this device does not have it yet.
    Import {
        /// The bundle file to read.
        file: PathBuf,
        /// Your name, when joining a workspace this device does not have yet.
        #[arg(long)]
        name: Option<String>,
        /// Your role, when joining.
        #[arg(long, value_parser = values::role(), default_value = "mentee")]
        role: Role,
    },
}

impl BundleCommand {
    /// Whether the command changes this device's store: exporting only reads it.
    pub fn writes(&self) -> bool {
        matches!(self, BundleCommand::Import { .. })
    }
}

/// What `bundle export --json` prints (fields in the order `--json` has always printed them).
#[derive(Serialize)]
struct Written<'a> {
    bytes: usize,
    file: &'a PathBuf,
    id: &'a str,
    title: &'a str,
}

pub fn run(ctx: &Context, cmd: BundleCommand) -> Result<()> {
    match cmd {
        BundleCommand::Export { file } => {
            let home = ctx.home()?;
            let id = home.resolve(ctx.selector())?;
            let bundle = home.export_bundle(&id, ctx.now)?;
            drop(home);
            let bytes = bundle.encode();
            // Write to a temporary name and rename, so a half-written bundle never sits at FILE.
            let tmp = file.with_extension("tandem-partial");
            std::fs::write(&tmp, &bytes)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &file)
                .with_context(|| format!("cannot write {}", file.display()))?;
            if ctx.json {
                return ctx.print_json(&Written {
                    bytes: bytes.len(),
                    file: &file,
                    id: &id.to_string(),
                    title: &bundle.title,
                });
            }
            ctx.say(format!(
                "Wrote “{}” to {} ({} bytes)",
                line(&bundle.title),
                file.display(),
                bytes.len()
            ));
            Ok(())
        }
        BundleCommand::Import { file, name, role } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let bundle = Bundle::decode(&bytes)
                .with_context(|| format!("cannot import {}", file.display()))?;
            let home = ctx.home()?;
            let join = name.as_ref().map(|n| (n.as_str(), role));
            let report = home.import_bundle(&bundle, join, ctx.now)?;
            if ctx.json {
                return ctx.print_json(&report);
            }
            if report.created {
                ctx.say(format!(
                    "Joined “{}” ({}) with {} change(s)",
                    line(&report.title),
                    report.workspace,
                    report.new_changes
                ));
            } else if report.new_changes == 0 {
                ctx.say(format!(
                    "“{}” already had everything in {}",
                    line(&report.title),
                    file.display()
                ));
            } else {
                ctx.say(format!(
                    "Merged {} new change(s) into “{}”",
                    report.new_changes,
                    line(&report.title)
                ));
            }
            Ok(())
        }
    }
}
