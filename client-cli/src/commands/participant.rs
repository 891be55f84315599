//! `tandem participant`: the people of a workspace, renamed or removed by id or name.

use crate::context::Context;
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use tandem_core::model::{Participant, Role, Workspace};

#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Everyone in the workspace, with their role and devices.
    List,
    /// Change a participant's name (yours, or anyone's if you are a mentor).
    Rename {
        /// The participant: a name or an id.
        who: String,
        /// The new name, unique in the workspace.
        name: String,
    },
    /// Remove a participant (mentors only): tandem clients refuse their later changes.
    Remove {
        /// The participant: a name or an id.
        who: String,
    },
}

impl ParticipantCommand {
    pub fn writes(&self) -> bool {
        !matches!(self, ParticipantCommand::List)
    }
}

/// The participant `who` names, by id or case-insensitive name.
fn find(ws: &Workspace, who: &str) -> Result<Participant> {
    ws.participants()
        .into_iter()
        .find(|p| p.id == who || p.name.eq_ignore_ascii_case(who.trim()))
        .ok_or_else(|| anyhow!("no participant is called “{who}” (see `tandem participant list`)"))
}

pub fn run(ctx: &Context, cmd: ParticipantCommand) -> Result<()> {
    let home = ctx.home()?;
    let id = home.resolve(ctx.selector())?;
    let mut opened = home.open_workspace(&id, ctx.now)?;
    let me = opened.ws.me().and_then(|me| opened.ws.participant(me));
    let mentor = me
        .as_ref()
        .is_some_and(|p| p.role == Role::Mentor && !p.is_removed());
    match cmd {
        ParticipantCommand::List => {
            let (people, ignored) = opened.ws.checked_participants();
            for entry in &ignored {
                eprintln!(
                    "warning: ignored participant entry {}: {}",
                    crate::render::line(&entry.id),
                    crate::render::line(&entry.reason)
                );
            }
            if ctx.json {
                return ctx.print_json(&people);
            }
            for p in &people {
                let you = if me.as_ref().is_some_and(|m| m.id == p.id) {
                    " (you)"
                } else {
                    ""
                };
                let removed = if p.is_removed() { "  removed" } else { "" };
                // Names come from the document, which another client may have written.
                let name = crate::render::line(&p.name);
                println!(
                    "{}  {name}{you}  {}  {} device(s){removed}",
                    p.id,
                    p.role,
                    p.devices.len()
                );
            }
            let refused = opened.ws.refused_changes();
            if refused > 0 {
                println!(
                    "{refused} change(s) that removed participants' devices made after their removal are refused: kept in the document, never shown or built on."
                );
            }
            Ok(())
        }
        ParticipantCommand::Rename { who, name } => {
            let target = find(&opened.ws, &who)?;
            let own = me.as_ref().is_some_and(|m| m.id == target.id);
            if !own && !mentor {
                bail!("only mentors can rename other participants");
            }
            opened.ws.rename_participant(&target.id, &name)?;
            home.save(&mut opened)?;
            if !ctx.quiet && !ctx.json {
                println!("{} is now called {}.", target.name, name.trim());
            }
            Ok(())
        }
        ParticipantCommand::Remove { who } => {
            if !mentor {
                bail!("only mentors can remove participants");
            }
            let target = find(&opened.ws, &who)?;
            if me.as_ref().is_some_and(|m| m.id == target.id) {
                bail!("you cannot remove yourself");
            }
            opened.ws.remove_participant(&target.id)?;
            home.save(&mut opened)?;
            if !ctx.quiet && !ctx.json {
                println!(
                    "Removed {} from “{}”; what they wrote before stays, and whatever their devices write from now on is refused by every tandem client.",
                    target.name,
                    opened.ws.title()
                );
            }
            Ok(())
        }
    }
}
