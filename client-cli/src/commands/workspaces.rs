//! `tandem init`, `tandem workspaces`, `tandem switch`.

use crate::context::Context;
use anyhow::Result;
use serde_json::json;

pub fn init(ctx: &Context, title: &str, name: &str, role: &str) -> Result<()> {
    let home = ctx.home()?;
    let opened = home.create_workspace(title, name, role.parse()?, ctx.now)?;
    if ctx.json {
        return ctx.print_json(&json!({
            "id": opened.id,
            "url": format!("automerge:{}", opened.id),
            "title": opened.ws.title(),
            "participant": opened.ws.me(),
        }));
    }
    if ctx.quiet {
        println!("{}", opened.id);
    } else {
        println!("Created workspace “{}” ({})", opened.ws.title(), opened.id);
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
        println!("{mark} {}  {}", w.id, w.title);
    }
    Ok(())
}

pub fn switch(ctx: &Context, selector: &str) -> Result<()> {
    let home = ctx.home()?;
    let id = home.switch(selector)?;
    let info = home.workspaces()?.into_iter().find(|w| w.id == id);
    let title = info.map(|w| w.title).unwrap_or_default();
    if ctx.json {
        return ctx.print_json(&json!({ "id": id, "title": title, "current": true }));
    }
    ctx.say(format!("Switched to “{title}” ({id})"));
    Ok(())
}
