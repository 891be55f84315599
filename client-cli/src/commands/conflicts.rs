//! `tandem conflicts`: fields two people set concurrently, with both values.

use super::shared::paint;
use crate::context::Context;
use crate::render::line;
use anyhow::Result;
use tandem_core::model::{first_line, short};

pub fn run(ctx: &Context) -> Result<()> {
    let p = paint(ctx);
    let home = ctx.home()?;
    let o = ctx.workspace(&home)?;
    let list = o.ws.conflicts();
    if ctx.json {
        return ctx.print_json(&list);
    }
    if list.is_empty() {
        ctx.say("No conflicts: every field has one value.");
        return Ok(());
    }
    for c in &list {
        let id = if c.id.is_empty() {
            String::new()
        } else {
            format!(" {}", line(short(&c.id)))
        };
        println!(
            "{}{} “{}” — {}",
            c.kind,
            p.cyan(&id),
            line(&first_line(&c.title, 40)),
            p.bold(&line(&c.field))
        );
        for v in &c.values {
            let shown = match &v.value {
                serde_json::Value::String(s) => format!("“{}”", line(&first_line(s, 50))),
                other => other.to_string(),
            };
            let mark = if v.winner {
                p.dim(" (shown now)")
            } else {
                String::new()
            };
            println!("    {} set {shown}{mark}", line(&v.author));
        }
    }
    ctx.say(p.dim(
        "Setting a field again (e.g. tandem goal set ID --status …, tandem progress set ID \
         --date …, tandem rhythm --checkins N, or answering tandem survey again) resolves its \
         conflict.",
    ));
    Ok(())
}
