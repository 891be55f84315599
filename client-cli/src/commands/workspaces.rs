//! `tandem init`, `tandem workspaces`, `tandem switch`.

use crate::context::Context;
use crate::render::line;
use crate::values;
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use tandem_core::model::Role;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The workspace's title, e.g. "Ana & Ben — backend growth".
    #[arg(long)]
    title: String,
    /// Your name as your partner will see it.
    #[arg(long)]
    name: String,
    /// Your role in the pair.
    #[arg(long, value_parser = values::role())]
    role: Role,
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// Title, id or id prefix.
    workspace: String,
}

/// What `init --json` prints (fields in the order `--json` has always printed them).
#[derive(Serialize)]
struct Created<'a> {
    id: &'a str,
    participant: Option<&'a str>,
    title: String,
    /// The workspace's document as other automerge-repo peers name it.
    url: String,
}

/// What `switch --json` prints.
#[derive(Serialize)]
struct Switched {
    current: bool,
    id: String,
    title: String,
}

pub fn init(ctx: &Context, args: InitArgs) -> Result<()> {
    let InitArgs { title, name, role } = args;
    let home = ctx.home()?;
    let opened = home.create_workspace(&title, &name, role, ctx.now)?;
    if ctx.json {
        return ctx.print_json(&Created {
            id: &opened.id().to_string(),
            participant: opened.ws.me(),
            title: opened.ws.title(),
            url: format!("automerge:{}", opened.id()),
        });
    }
    if ctx.quiet {
        println!("{}", opened.id());
    } else {
        println!(
            "Created workspace “{}” ({})",
            opened.ws.title(),
            opened.id()
        );
        println!("It is now the current workspace. Add a goal with: tandem goal add \"…\"");
    }
    Ok(())
}

pub fn list(ctx: &Context) -> Result<()> {
    let home = ctx.home()?;
    let all = home.workspaces()?;
    if ctx.json {
        return ctx.print_json(&all);
    }
    if all.is_empty() {
        ctx.say("No workspaces yet. Create one with: tandem init --title T --name N --role mentor|mentee");
        return Ok(());
    }
    for w in all {
        let mark = if w.current { "*" } else { " " };
        println!("{mark} {}  {}", line(&w.id.to_string()), line(&w.title));
    }
    Ok(())
}

pub fn switch(ctx: &Context, args: SwitchArgs) -> Result<()> {
    let home = ctx.home()?;
    let id = home.switch(&args.workspace)?;
    let info = home.workspaces()?.into_iter().find(|w| w.id == id);
    let title = info.map(|w| w.title).unwrap_or_default();
    if ctx.json {
        return ctx.print_json(&Switched {
            current: true,
            id: id.to_string(),
            title,
        });
    }
    ctx.say(format!(
        "Switched to “{}” ({})",
        line(&title),
        line(&id.to_string())
    ));
    Ok(())
}
