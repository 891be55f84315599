//! The web app in a real browser: headless Chromium (the operating system's package, at
//! `/usr/bin/chromium` or `$TANDEM_CHROMIUM`) driven by playwright-core, on a real
//! `tandem-server` that serves the embedded app, beside the real `tandem` CLI.
//!
//! Each test prepares a relay that needs tokens and Ana's workspace on it (made with the CLI),
//! then runs one scenario of `web/e2e/run.mjs`, which drives the browsers and the CLI and says
//! what failed. A machine without node or Chromium fails these tests with a clear message rather
//! than skipping them. The scenarios run one at a time: each starts a browser, and the machine
//! running the tests may have two cores.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;
use tandem_tests::{
    add_the_rust_cli_goal, path_str, run_bounded, tandem, workspace_root, Home, Relay,
};

/// One browser at a time.
static BROWSER: Mutex<()> = Mutex::new(());

fn web_dir() -> PathBuf {
    workspace_root().join("web")
}

fn chromium() -> String {
    let path = std::env::var("TANDEM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "no Chromium at {path}: install Debian's `chromium` package (as .ci/run does) or set \
         TANDEM_CHROMIUM; the web app's tests never pass by skipping"
    );
    path
}

/// `npm ci` in web/ once, when playwright-core is missing.
fn ensure_web_packages() {
    static READY: Mutex<bool> = Mutex::new(false);
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if *ready {
        return;
    }
    let installed = web_dir()
        .join("node_modules")
        .join("playwright-core")
        .join("package.json");
    if !installed.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(web_dir());
        let out = run_bounded(cmd, Duration::from_secs(300));
        assert!(
            out.status.success(),
            "`npm ci` in web/ failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *ready = true;
}

/// A relay that needs tokens, with Ana's workspace on it (a goal, and a title that would be
/// markup if it were ever treated as HTML), and a write and a read token for it.
struct Setup {
    relay: Relay,
    ana: Home,
    workspace: String,
    write: String,
    read: String,
}

impl Setup {
    /// Sync `home` with the relay, with the write token.
    fn sync(&self, home: &Home) {
        home.ok(&[
            "-q",
            "sync",
            "--server",
            &self.relay.url(),
            "--token",
            &self.write,
        ]);
    }
}

/// A relay that needs tokens, with a write token for every workspace (labelled `browsers`), and
/// the workspace `plan` writes in Ana's home synced to it, with a read token for it. `plan`
/// returns the workspace's id; `read_label` is the read token's `--label` arguments, if any.
/// Every setup below is made here, so the browsers always meet the same kind of relay.
fn on_relay(plan: impl FnOnce(&Home) -> String, read_label: &[&str]) -> Setup {
    let relay = Relay::start();
    let write = relay.token(&["--all", "--role", "write", "--label", "browsers"]);
    let ana = Home::new();
    let workspace = plan(&ana);
    ana.ok(&["-q", "sync", "--server", &relay.url(), "--token", &write]);
    let mut read_args = vec!["--workspace", workspace.as_str(), "--role", "read"];
    read_args.extend_from_slice(read_label);
    let read = relay.token(&read_args);
    Setup {
        relay,
        ana,
        workspace,
        write,
        read,
    }
}

fn setup() -> Setup {
    on_relay(
        |ana| {
            let workspace = ana.init("Ana & Ben", "Ana", "mentor");
            ana.add(&["goal", "add", "Ship a Rust CLI", "--due", "2026-12-20"]);
            ana.add(&["goal", "add", "<img src=x onerror=alert(1)>"]);
            workspace
        },
        &["--label", "observer"],
    )
}

/// Create a workspace in `home`, with `name` as its mentor, as if 40 days ago, so that a pulse
/// survey is due and the default 14-day rhythm is overdue; returns its id.
fn init_40_days_ago(home: &Home, title: &str, name: &str) -> String {
    let now = tandem_core::jiff::Timestamp::now().as_second();
    let began = tandem_core::jiff::Timestamp::from_second(now - 40 * 86_400)
        .expect("40 days ago is an instant")
        .to_string();
    home.call()
        .env("TANDEM_NOW", &began)
        .ok(&[
            "-q", "init", "--title", title, "--name", name, "--role", "mentor",
        ])
        .trim()
        .to_string()
}

/// A workspace that began 40 days ago, so that a pulse survey is due and the first check-in is
/// late by the default 14-day rhythm, with Ana's goal and one milestone of it.
fn setup_measures() -> Setup {
    on_relay(
        |ana| {
            let workspace = init_40_days_ago(ana, "Ana & Ben", "Ana");
            let goal = ana.add(&["goal", "add", "Ship a Rust CLI"]);
            ana.add(&["milestone", "add", &goal, "Read the book"]);
            workspace
        },
        &[],
    )
}

/// Run one scenario of web/e2e/run.mjs with `config` (plus the browser's path); when it fails,
/// panic with its output and whatever `context` adds (a relay's log, say).
fn run_scenario(name: &str, mut config: serde_json::Value, context: &dyn Fn() -> String) {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    ensure_web_packages();
    config["chromium"] = serde_json::json!(chromium());
    let mut cmd = Command::new("node");
    cmd.arg(web_dir().join("e2e").join("run.mjs"))
        .arg(name)
        .arg(config.to_string())
        .current_dir(web_dir());
    let out = run_bounded(cmd, Duration::from_secs(180));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser scenario `{name}` failed:\n{stdout}\n{stderr}\n{}",
        context()
    );
}

/// Run one scenario of web/e2e/run.mjs against `s`; panics with its output when it fails.
fn scenario(name: &str, s: &Setup, extra: serde_json::Value) {
    let mut config = serde_json::json!({
        "base": format!("http://127.0.0.1:{}", s.relay.port()),
        "relay": s.relay.url(),
        "workspace": s.workspace,
        "write": s.write,
        "read": s.read,
        "tandem": path_str(&tandem()),
        "home": path_str(s.ana.path()),
    });
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    run_scenario(name, config, &|| {
        format!("--- relay log ---\n{}", s.relay.stderr())
    });
    // The relay never writes a token into its log, whatever the browsers did.
    let log = s.relay.stderr();
    for token in [&s.write, &s.read] {
        assert!(
            !log.contains(token.as_str()),
            "a token reached the relay's log"
        );
    }
}

/// Define one test per line, `test_name => "scenario"`, each running that scenario of
/// web/e2e/run.mjs against a fresh [`setup`] with nothing added: most of what the browsers check
/// needs only Ana's workspace on the relay.
macro_rules! scenarios_on_anas_workspace {
    ($($test:ident => $scenario:literal;)*) => {
        $(
            #[test]
            fn $test() {
                scenario($scenario, &setup(), serde_json::json!({}));
            }
        )*
    };
}

scenarios_on_anas_workspace! {
    two_browsers_and_the_cli_edit_one_plan_and_converge => "converge";
    a_browser_edits_offline_reloads_offline_and_syncs_when_back => "offline";
    concurrent_note_edits_from_the_cli_and_a_browser_both_survive => "text";
    a_read_token_gives_a_read_only_app => "readonly";
    the_join_page_says_clearly_when_a_code_is_not_valid => "join";
    an_invite_link_joins_a_browser_and_a_used_or_revoked_one_is_refused_clearly => "invite";
    an_observers_invite_link_gives_a_read_only_app => "observer";
    every_field_edited_in_a_browser_reads_back_in_the_cli => "edit";
    a_conflict_shows_both_values_and_one_click_settles_it => "conflict";
    at_phone_width_every_screen_fits_and_every_control_has_a_name => "phone";
    // The report is a fixture in the contract's form (web/e2e/program-fixture.json), served in
    // the browser in place of the relay's answer, so every figure and chart is checked against
    // known numbers; `the_program_page_shows_the_relays_report_to_a_program_token` reads the
    // relay's own report.
    the_program_page_shows_a_report_risks_first_with_charts_at_desktop_and_phone_width =>
        "programFixture";
}

#[test]
fn an_expired_invite_link_is_refused_clearly() {
    let s = setup();
    // The shortest time an invite may last is a minute; the wait happens before this test takes
    // its turn with the browser, so the other browser tests run meanwhile.
    let made = s
        .ana
        .json(&["invite", "--role", "mentee", "--expires", "1m"]);
    let link = made["link"]
        .as_str()
        .expect("the invite has a link")
        .to_string();
    let code = made["code"]
        .as_str()
        .expect("the invite has a code")
        .to_string();
    std::thread::sleep(Duration::from_secs(62));
    scenario("expired", &s, serde_json::json!({ "link": link }));
    assert!(
        !s.relay.stderr().contains(&code),
        "an invite code reached the relay's log"
    );
}

#[test]
fn a_removed_participants_later_changes_are_refused_in_the_browser_too() {
    let s = setup();
    // Ben writes one goal Ana sees, then, offline, another after Ana has removed him; his sync
    // brings that one to the relay anyway.
    let ben = Home::new();
    let link = s.ana.json(&["invite", "--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    ben.ok(&["join", &link, "--name", "Ben"]);
    ben.add(&["goal", "add", "Ben's goal before the removal"]);
    ben.ok(&["-q", "sync"]);
    s.ana.ok(&["-q", "sync"]);
    ben.add(&["goal", "add", "Ben's goal after the removal"]);
    s.ana.ok(&["participant", "remove", "Ben"]);
    s.ana.ok(&["-q", "sync"]);
    ben.ok(&["-q", "sync"]);
    s.ana.ok(&["-q", "sync"]);
    scenario("removed", &s, serde_json::json!({}));
}

/// One browser, a mentor's say, joins two workspaces on one relay by two invite links: Ana's,
/// as an observer (read), and Cleo's, as a mentee (write), which began 40 days ago, so its
/// check-in is late and a pulse survey is due. Both keep syncing with the CLI, each with its own
/// access, and the start page lists both with what needs attention.
#[test]
fn one_browser_joins_two_workspaces_keeps_both_syncing_and_lists_them_on_its_start_page() {
    let s = setup();
    s.ana.add(&[
        "action",
        "add",
        "Send the reading list",
        "--due",
        "2020-01-06",
    ]);
    s.sync(&s.ana);
    let cleo = Home::new();
    let second = init_40_days_ago(&cleo, "Cleo & Ben", "Cleo");
    s.sync(&cleo);
    scenario(
        "workspaces",
        &s,
        serde_json::json!({ "home2": path_str(cleo.path()), "workspace2": second }),
    );
}

#[test]
fn tandem_demo_serve_prints_a_link_that_opens_the_merged_plan() {
    let home = Home::new();
    let mut demo = home.spawn(&["demo", "--serve"]);
    let link = demo.wait_for_line("    http://", Duration::from_secs(120));
    let link = format!("http://{link}");
    run_scenario("demo", serde_json::json!({ "link": link }), &|| {
        format!("--- tandem demo --serve ---\n{}", demo.log())
    });
    demo.signal("INT");
    let status = demo.wait(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "`tandem demo --serve` did not stop cleanly on Ctrl-C: {status:?}\n{}",
        demo.log()
    );
}

#[test]
fn the_plan_shows_the_rhythm_asks_for_the_pulse_survey_and_counts_kudos_as_wins() {
    scenario("measures", &setup_measures(), serde_json::json!({}));
}

/// The same, and then the CLI's own `survey`, `kudos`, `progress` and `rhythm` read what the
/// browser wrote, and what they write shows in the browser.
#[test]
fn pulse_surveys_kudos_and_career_steps_cross_between_the_app_and_the_cli() {
    scenario(
        "measures",
        &setup_measures(),
        serde_json::json!({ "measuresCli": true }),
    );
}

#[test]
fn the_program_page_shows_the_relays_report_to_a_program_token() {
    let s = setup();
    let cleo = Home::new();
    cleo.init("Cleo & Dan", "Cleo", "mentor");
    cleo.add(&["goal", "add", "Lead the design review"]);
    s.sync(&cleo);
    let program = s
        .relay
        .token(&["--all", "--role", "program", "--label", "coordinator"]);
    scenario("program", &s, serde_json::json!({ "program": program }));
    assert!(
        !s.relay.stderr().contains(&program),
        "the program token reached the relay's log"
    );
}

/// The plan the README's screenshots show: two goals with milestones (two of three done), two
/// actions and two check-ins, in Ana's new workspace; returns the workspace's id.
fn readme_plan(ana: &Home) -> String {
    let workspace = ana.init("Ana & Ben", "Ana", "mentor");
    let cli = add_the_rust_cli_goal(ana);
    for (i, step) in ["Read the book", "Write the parser", "Publish 0.1"]
        .iter()
        .enumerate()
    {
        let m = ana.add(&["milestone", "add", &cli, step]);
        if i < 2 {
            ana.ok(&["-q", "milestone", "done", &cli, &m]);
        }
    }
    let talk = ana.add(&[
        "goal",
        "add",
        "Give a talk at the meetup",
        "--due",
        "2027-02-10",
    ]);
    ana.add(&["milestone", "add", &talk, "Pick a topic"]);
    ana.add(&[
        "action",
        "add",
        "Send Ben the chapter list",
        "--due",
        "2026-11-20",
        "--owner",
        "Ana",
    ]);
    ana.add(&[
        "action",
        "add",
        "Book a room for the rehearsal",
        "--due",
        "2027-01-15",
    ]);
    ana.add(&[
        "checkin",
        "add",
        "--at",
        "2026-11-27T16:00:00Z",
        "--agenda",
        "The parser",
    ]);
    ana.add(&[
        "checkin",
        "add",
        "--at",
        "2026-12-11T16:00:00Z",
        "--agenda",
        "Release plan",
    ]);
    workspace
}

/// Not a check: writes the screenshots that README.md shows, when asked with
/// `cargo test -p tandem-tests --test web screenshots -- --ignored`.
#[test]
#[ignore]
fn screenshots() {
    let s = on_relay(readme_plan, &[]);
    let out = workspace_root().join("docs");
    scenario(
        "screenshots",
        &s,
        serde_json::json!({ "out": path_str(&out) }),
    );
    scenario(
        "programFixture",
        &s,
        serde_json::json!({ "out": path_str(&out) }),
    );
}
