//! `tandem kudos NAME "TEXT"`: a few words of recognition for the other person, optionally for a
//! goal. Kudos count among the pair's wins in `plan` and `export`. `tandem kudos list`, `set`,
//! `archive` and `restore` look after the ones given so far.

use super::shared::{
    change_personal_record, list_items, paint, read, report, row_marks, write, PersonalRecord,
};
use crate::context::Context;
use crate::render::line;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use tandem_core::model::{
    first_line, short, ItemId, Kind, Kudos, KudosChanges, NewKudos, Role, Workspace,
};

#[derive(Debug, Args)]
// `tandem kudos NAME TEXT` gives kudos; a first word naming a subcommand lists or archives them
// instead (a participant called "list" is named by an id prefix).
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct KudosArgs {
    #[command(subcommand)]
    action: Option<KudosAction>,
    /// Who the kudos are for: a participant's name, or a prefix of their id.
    #[arg(required = true)]
    name: Option<String>,
    /// What you recognise them for.
    #[arg(required = true)]
    text: Option<String>,
    /// The goal the kudos are about, by id or id prefix.
    #[arg(long, value_name = "ID")]
    goal: Option<String>,
}

#[derive(Debug, Subcommand)]
enum KudosAction {
    /// List the kudos given so far.
    List {
        /// Include archived kudos.
        #[arg(long)]
        all: bool,
    },
    /// Change the words of kudos you gave, or the goal they are about.
    Set {
        /// The kudos' id or id prefix.
        id: String,
        /// New words (the change merges as a text diff).
        #[arg(long)]
        text: Option<String>,
        /// The goal the kudos are about, by id or id prefix.
        #[arg(long, value_name = "ID")]
        goal: Option<String>,
    },
    /// Archive kudos (they stay in history and can be restored; their author or a mentor only).
    Archive {
        /// The kudos' id or id prefix.
        id: String,
    },
    /// Restore archived kudos (their author or a mentor only).
    Restore {
        /// The kudos' id or id prefix.
        id: String,
    },
}

impl KudosArgs {
    /// Whether the command changes the workspace: all but `list` do.
    pub fn writes(&self) -> bool {
        !matches!(self.action, Some(KudosAction::List { .. }))
    }
}

pub fn run(ctx: &Context, args: KudosArgs) -> Result<()> {
    match args.action {
        Some(KudosAction::List { all }) => list(ctx, all),
        Some(KudosAction::Set { id, text, goal }) => set(ctx, &id, text, goal),
        Some(KudosAction::Archive { id }) => archive(ctx, &id, true),
        Some(KudosAction::Restore { id }) => archive(ctx, &id, false),
        None => {
            let (Some(name), Some(text)) = (args.name, args.text) else {
                bail!("say who the kudos are for and what for: tandem kudos NAME \"TEXT\"");
            };
            give(ctx, name, text, args.goal)
        }
    }
}

fn give(ctx: &Context, name: String, text: String, goal: Option<String>) -> Result<()> {
    let (_, o, id) = write(ctx, |ws| {
        let to = ws.find_participant(&name)?.id;
        let goal = goal.map(|g| ws.resolve(Kind::Goal, &g)).transpose()?;
        ws.give_kudos(NewKudos { to, text, goal })
    })?;
    let kudos = o.ws.kudos().into_iter().find(|k| k.id == id);
    let (to, text) = kudos
        .as_ref()
        .map(|k| (k.to_name.clone(), k.text.clone()))
        .unwrap_or_default();
    report(
        ctx,
        "Added",
        &format!("kudos for {}", line(&to)),
        &id,
        &text,
        &kudos,
    )
}

fn list(ctx: &Context, all: bool) -> Result<()> {
    let p = paint(ctx);
    let (_, o) = read(ctx)?;
    let empty = "No kudos yet. Give some with: tandem kudos NAME \"TEXT\"";
    list_items(ctx, o.kudos(), all, empty, |k| {
        let goal = k
            .goal
            .as_ref()
            .map(|g| format!(" {}", p.dim(&format!("(goal {})", short(g)))))
            .unwrap_or_default();
        println!(
            "{}  {} → {}: {}{goal}{}",
            p.cyan(short(&k.id)),
            p.bold(&k.from_name),
            p.bold(&k.to_name),
            line(&first_line(&k.text, 60)),
            row_marks(p, &k.meta)
        );
    })
}

/// Whether the acting participant is `owner` or a mentor still taking part.
pub fn owner_or_mentor(ws: &Workspace, owner: &str) -> bool {
    ws.me()
        .and_then(|me| ws.participant(me))
        .is_some_and(|p| !p.is_removed() && (p.id == owner || p.role == Role::Mentor))
}

impl PersonalRecord for Kudos {
    const NOUN: &'static str = "kudos";
    fn resolve(ws: &Workspace, prefix: &str) -> tandem_core::Result<ItemId> {
        ws.resolve_kudos(prefix)
    }
    fn read(ws: &Workspace, id: &ItemId) -> tandem_core::Result<Option<Self>> {
        Ok(ws.kudos().into_iter().find(|k| k.id == *id))
    }
    fn owner(&self) -> &str {
        &self.from
    }
    fn label(&self) -> String {
        self.text.clone()
    }
}

fn set(ctx: &Context, prefix: &str, text: Option<String>, goal: Option<String>) -> Result<()> {
    let only_the_author = |ws: &Workspace, from: &str| {
        // Kudos are the author's own words, so nobody else rewords them (a mentor may archive
        // them).
        if ws.me() != Some(from) {
            bail!("only the kudos' author can change them");
        }
        Ok(())
    };
    change_personal_record::<Kudos>(ctx, prefix, "Updated", only_the_author, |ws, id| {
        let goal = goal.map(|g| ws.resolve(Kind::Goal, &g)).transpose()?;
        ws.set_kudos(id, KudosChanges { text, goal })
    })
}

fn archive(ctx: &Context, prefix: &str, archived: bool) -> Result<()> {
    let verb = if archived { "archive" } else { "restore" };
    let author_or_mentor = |ws: &Workspace, from: &str| {
        if !owner_or_mentor(ws, from) {
            bail!("only the kudos' author or a mentor can {verb} them");
        }
        Ok(())
    };
    let done = if archived { "Archived" } else { "Restored" };
    change_personal_record::<Kudos>(ctx, prefix, done, author_or_mentor, |ws, id| {
        ws.archive_kudos(id, archived)
    })
}
