//! `tandem resource`: links, books and other resources.

use super::shared::{add_item, archive, list_items, paint, read, report, row_marks, write_item};
use crate::context::Context;
use crate::render::fit;
use anyhow::Result;
use clap::Subcommand;
use tandem_core::model::draft::{Draft, People};
use tandem_core::model::{first_line, short, Kind, Resource, ResourceChanges, Workspace};

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Add a resource.
    Add {
        /// What the resource is called.
        title: String,
        /// Where to find it.
        url: String,
        /// Why it is worth a look.
        #[arg(long)]
        note: Option<String>,
    },
    /// List resources.
    List {
        /// Include archived resources.
        #[arg(long)]
        all: bool,
    },
    /// Change a resource's title, address or note.
    Set {
        /// The resource's id or id prefix.
        id: String,
        /// A new title, replacing the old one.
        #[arg(long)]
        title: Option<String>,
        /// A new address, replacing the old one.
        #[arg(long)]
        url: Option<String>,
        /// A new note on why it is worth a look (the change merges as a text diff).
        #[arg(long)]
        note: Option<String>,
    },
    /// Archive a resource (it stays in history and can be restored).
    Archive {
        /// The resource's id or id prefix.
        id: String,
    },
    /// Restore an archived resource.
    Restore {
        /// The resource's id or id prefix.
        id: String,
    },
}

impl ResourceCommand {
    /// Whether the command changes the workspace.
    pub fn writes(&self) -> bool {
        !matches!(self, ResourceCommand::List { .. })
    }
}

pub fn run(ctx: &Context, cmd: ResourceCommand) -> Result<()> {
    let p = paint(ctx);
    match cmd {
        ResourceCommand::Add { title, url, note } => add_item(
            ctx,
            "resource",
            Some(|_: &People| Draft::resource(&title, &url, note.as_deref())),
            |ws| ws.add_resource(&title, &url, note.as_deref()),
            Workspace::resource,
            |_: &Resource| title.clone(),
        ),
        ResourceCommand::List { all } => {
            let (_, o) = read(ctx)?;
            let empty = "No resources yet. Add one with: tandem resource add TITLE URL";
            list_items(ctx, o.resources(), all, empty, |r| {
                println!(
                    "{}  {}  {}{}",
                    p.cyan(short(&r.id)),
                    fit(&first_line(&r.title, 40), 40),
                    r.url,
                    row_marks(p, &r.meta)
                );
                if !r.note.trim().is_empty() {
                    println!("          {}", p.dim(&first_line(&r.note, 70)));
                }
            })
        }
        ResourceCommand::Set {
            id,
            title,
            url,
            note,
        } => {
            let changes = ResourceChanges { title, url, note };
            let (o, full) = write_item(ctx, Kind::Resource, &id, |ws, full| {
                ws.set_resource(full, changes)
            })?;
            let r = o.ws.resource(&full)?;
            report(ctx, "Updated", "resource", &full, &r.title, &r)
        }
        ResourceCommand::Archive { id } => archive(ctx, Kind::Resource, &id, true),
        ResourceCommand::Restore { id } => archive(ctx, Kind::Resource, &id, false),
    }
}
