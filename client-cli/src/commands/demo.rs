//! `tandem demo`: the whole story in one command.
//!
//! A relay starts in this process on a loopback port with temporary storage; Ana (mentor) and Ben
//! (mentee) get temporary homes. Every step runs the real command, printed as a person would type
//! it, so the demo doubles as a tour of the CLI.

use crate::cli::Cli;
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tandem_core::model::Role;
use tandem_core::store::{Home, SledStorage};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's homes and relay data in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// At the end, keep the relay running and print a link that opens the merged plan in a
    /// browser (the web app the relay serves); Ctrl-C stops it.
    #[arg(long)]
    serve: bool,
}

struct Person {
    name: &'static str,
    home: PathBuf,
}

impl Person {
    /// Run one tandem command line for this person, echoing it first. The command sees the demo's
    /// colour and editor through its context.
    fn run(&self, ctx: &Context, args: &[&str]) -> Result<()> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') || a.is_empty() {
                    format!("\"{a}\"")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("\n{}$ tandem {}", self.name.to_lowercase(), shown.join(" "));
        let mut argv = vec![
            "tandem".to_string(),
            "--home".into(),
            self.home.display().to_string(),
        ];
        argv.extend(args.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(&argv).context("the demo built a bad command line")?;
        let person = Context {
            // Keep colour decisions consistent with the demo's own output.
            color: ctx.color,
            editor: ctx.editor.clone(),
            ..Context::new(&cli.global)?
        };
        cli.command.execute(&person)
    }

    fn home(&self) -> Result<Home> {
        let store = SledStorage::open(&self.home.join("store"))?;
        Ok(Home::open(Arc::new(store))?)
    }

    /// The id of the first item whose title matches, for commands that need an id.
    fn id_of(&self, what: &str, title: &str) -> Result<String> {
        let home = self.home()?;
        let ws = home.resolve(None)?;
        let opened = home.open_workspace(&ws, tandem_core::jiff::Timestamp::now())?;
        let found = match what {
            "goal" => opened
                .ws
                .goals()
                .into_iter()
                .find(|g| g.title == title)
                .map(|g| g.id),
            "note" => opened
                .ws
                .notes()
                .into_iter()
                .find(|n| n.title == title)
                .map(|n| n.id),
            "checkin" => opened
                .ws
                .checkins()
                .into_iter()
                .find(|c| c.agenda == title)
                .map(|c| c.id),
            "action" => opened
                .ws
                .actions()
                .into_iter()
                .find(|a| a.title == title)
                .map(|a| a.id),
            _ => None,
        };
        match found {
            Some(id) => Ok(id[..6].to_string()),
            None => bail!("the demo lost track of {what} “{title}”"),
        }
    }

    fn milestone_of(&self, goal: &str, title: &str) -> Result<String> {
        let home = self.home()?;
        let ws = home.resolve(None)?;
        let opened = home.open_workspace(&ws, tandem_core::jiff::Timestamp::now())?;
        let full = opened.ws.resolve(tandem_core::model::Kind::Goal, goal)?;
        let m = opened
            .ws
            .goal(&full)?
            .milestones
            .into_iter()
            .find(|m| m.title == title);
        match m {
            Some(m) => Ok(m.id[..6].to_string()),
            None => bail!("the demo lost track of milestone “{title}”"),
        }
    }

    /// The id of the current workspace, as `tandem workspaces` prints it.
    fn workspace_id(&self) -> Result<String> {
        let home = self.home()?;
        let ws = home.resolve(None)?;
        let opened = home.open_workspace(&ws, tandem_core::jiff::Timestamp::now())?;
        Ok(opened.id().to_string())
    }

    fn export(&self) -> Result<String> {
        let home = self.home()?;
        let ws = home.resolve(None)?;
        let opened = home.open_workspace(&ws, tandem_core::jiff::Timestamp::now())?;
        Ok(serde_json::to_string(
            &opened.ws.snapshot(&opened.id().to_string()),
        )?)
    }
}

fn say(ctx: &Context, text: &str) {
    let bar = "─".repeat(72);
    if ctx.color {
        println!("\n\x1b[1;36m{bar}\n{text}\n{bar}\x1b[0m");
    } else {
        println!("\n{bar}\n{text}\n{bar}");
    }
}

/// The demo's context with an editor stand-in: `sed -i` replacing `from` with `to`, so the demo
/// edits text the way a person would in `$EDITOR`, through the same merge path.
fn scripted_editor(ctx: &Context, from: &str, to: &str) -> Context {
    Context {
        editor: Some(format!("sed -i 's/{from}/{to}/'")),
        ..ctx.clone()
    }
}

pub fn run(ctx: &Context, args: DemoArgs) -> Result<()> {
    let keep = args.keep.as_deref();
    let scratch = tempfile::Builder::new().prefix("tandem-demo-").tempdir()?;
    let root = keep
        .map(Path::to_path_buf)
        .unwrap_or_else(|| scratch.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    let ana = Person {
        name: "Ana",
        home: root.join("ana"),
    };
    let ben = Person {
        name: "Ben",
        home: root.join("ben"),
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("ws://{}", listener.local_addr()?);
    let config = tandem_server::ServerConfig {
        data_dir: root.join("relay"),
        // The demo's relay lives only as long as this process and only on loopback.
        open: true,
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(tandem_server::run(listener, config, async {
        let _ = stopped.await;
    }));

    say(ctx, &format!("A relay is running in this process at {url}.\nAna (mentor) and Ben (mentee) each have their own device, with data in\n{}.", root.display()));

    ana.run(
        ctx,
        &[
            "init",
            "--title",
            "Ana & Ben — backend growth",
            "--name",
            "Ana",
            "--role",
            "mentor",
        ],
    )?;
    ana.run(
        ctx,
        &[
            "goal",
            "add",
            "Ship a Rust CLI",
            "--due",
            "2026-12-20",
            "--owner",
            "Ana",
            "--description",
            "A small tool Ben uses every day.",
        ],
    )?;
    let goal = ana.id_of("goal", "Ship a Rust CLI")?;
    ana.run(
        ctx,
        &[
            "milestone",
            "add",
            &goal,
            "Read the book, chapters 1-8",
            "--due",
            "2026-12-05",
        ],
    )?;
    ana.run(ctx, &["milestone", "add", &goal, "Publish version 0.1"])?;
    ana.run(
        ctx,
        &[
            "note",
            "add",
            "--goal",
            &goal,
            "--title",
            "Kickoff",
            "We met today. Ben wants to build a CLI. Next steps follow.",
        ],
    )?;
    ana.run(
        ctx,
        &[
            "checkin",
            "add",
            "--at",
            "2026-12-03 15:00",
            "--agenda",
            "Review chapter 4",
        ],
    )?;
    ana.run(
        ctx,
        &[
            "action",
            "add",
            "Install rustup",
            "--owner",
            "Ben",
            "--due",
            "2026-11-20",
        ],
    )?;
    ana.run(ctx, &["sync", "--server", &url])?;
    let code = {
        let home = ana.home()?;
        let ws = home.resolve(None)?;
        drop(home);
        let _ = ws;
        invite_code(ctx, &ana)?
    };
    let mut join: Vec<&str> = vec!["join"];
    join.extend(code.iter().map(String::as_str));
    join.extend(["--name", "Ben"]);
    ben.run(ctx, &join)?;

    say(ctx, "Both go offline for a few days and edit the same plan without talking:\nthe same note, the same goal's status, and new goals on each side.");
    let note = ana.id_of("note", "Kickoff")?;
    let editing = scripted_editor(ctx, "We met today.", "We met today at noon.");
    ana.run(&editing, &["note", "edit", &note])?;
    ana.run(ctx, &["goal", "set", &goal, "--status", "active"])?;
    ana.run(
        ctx,
        &[
            "goal",
            "add",
            "Give a lightning talk",
            "--due",
            "2027-02-01",
        ],
    )?;
    let chapter = ana.milestone_of(&goal, "Read the book, chapters 1-8")?;
    ana.run(ctx, &["milestone", "done", &goal, &chapter])?;

    let editing = scripted_editor(
        ctx,
        "Next steps follow.",
        "Next steps follow: read chapter 4, write tests first.",
    );
    ben.run(&editing, &["note", "edit", &note])?;
    ben.run(ctx, &["goal", "set", &goal, "--status", "done"])?;
    ben.run(ctx, &["goal", "add", "Contribute to an open-source crate"])?;
    let action = ben.id_of("action", "Install rustup")?;
    ben.run(ctx, &["action", "done", &action])?;
    let checkin = ben.id_of("checkin", "Review chapter 4")?;
    ben.run(
        ctx,
        &[
            "checkin",
            "rate",
            &checkin,
            "5",
            "--comment",
            "Clear next steps",
        ],
    )?;

    say(ctx, "Back online: both sync through the relay.");
    ana.run(ctx, &["sync"])?;
    ben.run(ctx, &["sync"])?;
    ana.run(ctx, &["sync"])?;

    say(ctx, "The merged plan, as each of them sees it:");
    ana.run(ctx, &["plan"])?;
    ben.run(ctx, &["plan"])?;
    ben.run(ctx, &["note", "show", &note])?;
    ben.run(ctx, &["conflicts"])?;
    ana.run(ctx, &["log", "-n", "6"])?;

    let same = ana.export()? == ben.export()?;
    say(
        ctx,
        if same {
            "Both devices hold the same plan: both note edits, every goal from either side, both\nstatus values (shown as a conflict until someone sets it again). Nothing was lost."
        } else {
            "The two devices disagree — this is a bug; please report it."
        },
    );
    if args.serve && same {
        // The relay serves the web app on the same port; the workspace is named in the address's
        // fragment, which the browser keeps to itself.
        let web = url.replacen("ws://", "http://", 1);
        say(
            ctx,
            &format!(
                "The relay keeps running. Open the merged plan in a browser:\n\n    {web}/#/w/{}\n\nEdit it there and here (tandem --home {} plan, then sync). Ctrl-C stops the relay.",
                ana.workspace_id()?,
                ana.home.display()
            ),
        );
        rt.block_on(tokio::signal::ctrl_c())?;
    }
    let _ = stop.send(());
    rt.block_on(server).context("the demo relay crashed")??;
    if let Some(dir) = keep {
        println!(
            "The homes are kept in {}; try: tandem --home {}/ana plan",
            dir.display(),
            dir.display()
        );
    }
    if !same {
        bail!("the two homes did not converge");
    }
    Ok(())
}

/// Ana's invite code, printed as `tandem invite` prints it, and captured for Ben.
fn invite_code(ctx: &Context, ana: &Person) -> Result<Vec<String>> {
    println!("\nana$ tandem invite --role mentee");
    let actx = Context {
        home_dir: ana.home.clone(),
        selectors: Vec::new(),
        json: false,
        quiet: true,
        ..ctx.clone()
    };
    let join = super::invite::invite_join_args(&actx, Role::Mentee)?;
    println!("{}", join.join(" "));
    Ok(join)
}
