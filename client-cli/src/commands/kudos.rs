//! `tandem kudos NAME "TEXT"`: a few words of recognition for the other person, optionally for a
//! goal. Kudos count among the pair's wins in `plan` and `export`.

use super::shared::{report, write};
use crate::context::Context;
use anyhow::Result;
use clap::Args;
use tandem_core::model::{Kind, NewKudos};

#[derive(Debug, Args)]
pub struct KudosArgs {
    /// Who the kudos are for: a participant's name, or a prefix of their id.
    name: String,
    /// What you recognise them for.
    text: String,
    /// The goal the kudos are about, by id or id prefix.
    #[arg(long, value_name = "ID")]
    goal: Option<String>,
}

pub fn run(ctx: &Context, args: KudosArgs) -> Result<()> {
    let KudosArgs { name, text, goal } = args;
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
        &format!("kudos for {}", crate::render::line(&to)),
        &id,
        &text,
        &kudos,
    )
}
