//! Who is who, and invites people can handle: the real binaries on loopback relays.
//!
//! Each test is one of the failures people met before: a mentee's invite taking over the
//! mentor's name, invites that were long bearer tokens working forever, and devices that could
//! never attach to the relay again.

use serde_json::Value;
use tandem_tests::{text, Home, Relay};

/// A relay that needs tokens, with Ana's workspace on it (Ana is its mentor).
fn ana_on_relay() -> (Relay, Home, String) {
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write", "--label", "Ana"]);
    let ana = Home::new();
    let ws = ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["-q", "sync", "--server", &relay.url(), "--token", &token]);
    (relay, ana, ws)
}

/// `invite --json` with `args`.
fn invite(home: &Home, args: &[&str]) -> Value {
    let mut all = vec!["invite"];
    all.extend_from_slice(args);
    home.json(&all)
}

/// The participants `participant list --json` shows, as (name, role, devices).
fn people(home: &Home) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = home
        .json(&["participant", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                text(p, "name").to_string(),
                text(p, "role").to_string(),
                p["devices"].as_array().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn identity_is_not_a_name() {
    let (_relay, ana, _) = ana_on_relay();
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();

    // Ben, with a mentee's invite, cannot take the mentor Ana's name...
    let ben = Home::new();
    let (code, err) = ben.fails(&["join", &link, "--name", "ana"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("“Ana” is already a participant"), "{err}");
    assert!(err.contains("tandem invite --device"), "{err}");
    assert!(err.contains("the same code works again"), "{err}");
    // ...so he joins under his own name, as a mentee, with the same single-use code: the
    // refused join redeemed it, and this device kept what it bought.
    let joined = ben.ok(&["join", &link, "--name", "Ben"]);
    assert!(
        joined.contains("Joined “Ana & Ben” as Ben (mentee)"),
        "{joined}"
    );
    // The code was still redeemed only once: nobody else can use it.
    let (_, err) = Home::new().fails(&["join", &link, "--name", "Cleo"]);
    assert!(err.contains("not valid or has expired"), "{err}");
    ana.ok(&["-q", "sync"]);
    assert_eq!(
        people(&ana),
        vec![
            ("Ana".into(), "mentor".into(), 1),
            ("Ben".into(), "mentee".into(), 1)
        ]
    );

    // A mentee cannot mint a mentor's invite.
    let (code, err) = ben.fails(&["invite", "--role", "mentor"]);
    assert_eq!(code, 1);
    assert!(err.contains("only mentors can invite mentors"), "{err}");

    // Ana's second device joins as Ana only through her own device invite.
    let device = invite(&ana, &["--device"]);
    assert_eq!(device["role"], "mentor");
    let laptop = Home::new();
    laptop.ok(&["join", device["link"].as_str().unwrap()]);
    ana.ok(&["-q", "sync"]);
    assert_eq!(
        people(&ana),
        vec![
            ("Ana".into(), "mentor".into(), 2),
            ("Ben".into(), "mentee".into(), 1)
        ]
    );
    assert!(laptop.ok(&["participant", "list"]).contains("Ana (you)"));

    // Names change, and stay unique.
    ben.ok(&["participant", "rename", "Ben", "Benjamin"]);
    let (_, err) = ben.fails(&["participant", "rename", "Benjamin", "ana"]);
    assert!(err.contains("already the name"), "{err}");

    // A mentor removes a participant; the removed device refuses its own later changes.
    ben.ok(&["-q", "sync"]);
    ana.ok(&["-q", "sync"]);
    let (_, err) = ben.fails(&["participant", "remove", "Ana"]);
    assert!(err.contains("only mentors"), "{err}");
    ben.add(&["goal", "add", "Seen by Ana before the removal"]);
    ben.ok(&["-q", "sync"]);
    ana.ok(&["-q", "sync"]);
    // Offline, before the removal reaches him, Ben writes more.
    ben.add(&["goal", "add", "Written after the removal"]);
    ana.ok(&["participant", "remove", "Benjamin"]);
    ana.ok(&["-q", "sync"]);
    ben.ok(&["-q", "sync"]);
    // Every tandem client refuses what he wrote after the removal, and keeps the rest: Ana's,
    // and a new device's that gets the workspace from the relay.
    ana.ok(&["-q", "sync"]);
    let cleo = Home::new();
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    cleo.ok(&["join", &link, "--name", "Cleo"]);
    for home in [&ana, &cleo, &ben] {
        let goals = home.ok(&["goal", "list"]);
        assert!(goals.contains("Seen by Ana before the removal"), "{goals}");
        assert!(!goals.contains("Written after the removal"), "{goals}");
    }
    assert!(ana.ok(&["participant", "list"]).contains(
        "1 change(s) that removed participants' devices made after their removal are refused"
    ));
    // Ana builds on what she is shown, and that reaches everyone.
    ana.add(&["goal", "add", "After Ben left"]);
    ana.ok(&["-q", "sync"]);
    cleo.ok(&["-q", "sync"]);
    let goals = cleo.ok(&["goal", "list"]);
    assert!(
        goals.contains("After Ben left") && !goals.contains("Written after the removal"),
        "{goals}"
    );
    let goal = ben.json(&["goal", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, err) = ben.fails(&["goal", "set", &goal, "--status", "done"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("removed you"), "{err}");
    // Adding takes a faster path, which refuses too.
    let (code, err) = ben.fails(&["goal", "add", "After removal"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("removed you"), "{err}");
    let listed = ana.ok(&["participant", "list"]);
    assert!(
        listed.contains("Benjamin") && listed.contains("removed"),
        "{listed}"
    );
}

#[test]
fn observers_are_listed_by_the_mentor_who_invites_them() {
    let (_relay, ana, _) = ana_on_relay();
    // An observer's invite names the observer: they cannot write their own entry.
    let (code, err) = ana.fails(&["invite", "--role", "observer"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--name"), "{err}");
    let (_, err) = ana.fails(&["invite", "--role", "mentee", "--name", "Ben"]);
    assert!(err.contains("--name names an observer"), "{err}");
    let (_, err) = ana.fails(&["invite", "--role", "observer", "--name", "ANA"]);
    assert!(err.contains("“Ana” is already a participant"), "{err}");

    let made = invite(&ana, &["--role", "observer", "--name", "Cora"]);
    assert_eq!(made["role"], "observer");
    assert!(made["participant"].is_string(), "{made}");
    // Cora is listed at once, with no device, and the log says who invited her.
    assert_eq!(
        people(&ana),
        vec![
            ("Ana".into(), "mentor".into(), 1),
            ("Cora".into(), "observer".into(), 0)
        ]
    );
    let log = ana.ok(&["log"]);
    assert!(log.contains("invited Cora as observer"), "{log}");

    // She joins as herself, read-only, without typing a name; partners see her.
    let cora = Home::new();
    let joined = cora.ok(&["join", made["link"].as_str().unwrap()]);
    assert!(joined.contains("as Cora (observer)"), "{joined}");
    assert!(cora.ok(&["participant", "list"]).contains("Cora (you)"));
    let ben = Home::new();
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    ben.ok(&["join", &link, "--name", "Ben"]);
    let listed = ben.ok(&["participant", "list"]);
    assert!(
        listed.contains("Cora") && listed.contains("observer"),
        "{listed}"
    );
    // Nobody else can take her name.
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, err) = Home::new().fails(&["join", &link, "--name", "cora"]);
    assert!(err.contains("“Cora” is already a participant"), "{err}");
}

#[test]
fn invites_are_short_single_use_expiring_and_revocable() {
    let (relay, ana, ws) = ana_on_relay();
    let made = invite(&ana, &["--role", "mentee"]);
    let code = made["code"].as_str().unwrap().to_string();
    assert!(code.len() <= 16, "{code}");
    assert_eq!(
        made["link"].as_str().unwrap(),
        format!("{}/j/{code}", relay.url().replacen("ws://", "http://", 1))
    );
    assert!(made["expires_at"].is_string());
    assert_eq!(made["workspace"], ws.as_str());

    // Read aloud and typed in lower case, with the relay given.
    let ben = Home::new();
    ben.ok(&[
        "join",
        &code.to_lowercase().replace('-', " "),
        "--server",
        &relay.url(),
        "--name",
        "Ben",
    ]);
    // Used once, it is spent.
    let cleo = Home::new();
    let (_, err) = cleo.fails(&["join", &code, "--server", &relay.url(), "--name", "Cleo"]);
    assert!(err.contains("not valid or has expired"), "{err}");

    // Listed, then revoked: a revoked code is refused exactly like a spent one.
    let two = invite(
        &ana,
        &[
            "--role",
            "observer",
            "--name",
            "Olga",
            "--uses",
            "2",
            "--expires",
            "2h",
        ],
    );
    let listed = ana.json(&["invite", "list"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["uses_left"], 2);
    assert_eq!(listed[0]["role"], "observer");
    assert!(!serde_json::to_string(listed).unwrap().contains(&code));
    ana.ok(&["invite", "revoke", listed[0]["id"].as_str().unwrap()]);
    assert!(ana.json(&["invite", "list"]).as_array().unwrap().is_empty());
    let (_, again) = cleo.fails(&["join", two["link"].as_str().unwrap(), "--name", "Cleo"]);
    assert_eq!(again, err, "a revoked code looks like a spent one");

    // The expiry is told in the inviter's own time, labelled with its zone, not in UTC.
    let told = ana
        .call()
        .env("TZ", "Asia/Tokyo")
        .run(&["invite", "--role", "mentee"]);
    let told = String::from_utf8_lossy(&told.stdout).to_string();
    assert!(told.contains(" JST."), "{told}");
    let listed = ana.call().env("TZ", "Asia/Tokyo").run(&["invite", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(listed.contains(" JST "), "{listed}");
}

#[test]
fn devices_that_hold_the_workspace_can_attach_to_the_relay_again() {
    let (relay, ana, _) = ana_on_relay();
    // Ben got the workspace from a bundle and made changes offline.
    let bundle = ana.bundle("ana");
    let ben = Home::new();
    ben.ok(&[
        "bundle",
        "import",
        bundle.to_str().unwrap(),
        "--name",
        "Ben",
    ]);
    ben.add(&["goal", "add", "Written before joining"]);

    // Joining attaches the relay to his copy and keeps his change.
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    let out = ben.ok(&["join", &link]);
    assert!(out.contains("local changes are kept"), "{out}");
    ana.ok(&["-q", "sync"]);
    let titles = ana.ok(&["goal", "list"]);
    assert!(titles.contains("Written before joining"), "{titles}");

    // His token is revoked: sync fails, and a new invite brings him back.
    let tokens = relay.tokens();
    let his = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"].as_str().unwrap_or("").contains("mentee"))
        .expect("the redeemed token is listed");
    assert!(relay
        .token_cmd(&["revoke", his["id"].as_str().unwrap()])
        .status
        .success());
    ben.add(&["goal", "add", "Written while revoked"]);
    let (code, _) = ben.fails(&["-q", "sync"]);
    assert_eq!(code, 1);
    let link = invite(&ana, &["--role", "mentee"])["link"]
        .as_str()
        .unwrap()
        .to_string();
    ben.ok(&["join", &link]);
    ana.ok(&["-q", "sync"]);
    assert!(ana.ok(&["goal", "list"]).contains("Written while revoked"));
    // Still one Ben.
    assert_eq!(
        people(&ana),
        vec![
            ("Ana".into(), "mentor".into(), 1),
            ("Ben".into(), "mentee".into(), 1)
        ]
    );
}

#[test]
fn an_open_relay_invites_with_the_automerge_url() {
    let relay = Relay::start_open();
    let ana = Home::new();
    let ws = ana.init("Ana & Ben", "Ana", "mentor");
    ana.ok(&["-q", "sync", "--server", &relay.url()]);
    let made = invite(&ana, &[]);
    assert!(made["code"].is_null());
    assert_eq!(made["url"], format!("automerge:{ws}"));
    assert_eq!(made["relay"], relay.url());
    let ben = Home::new();
    ben.ok(&[
        "join",
        made["url"].as_str().unwrap(),
        "--server",
        &relay.url(),
        "--name",
        "Ben",
    ]);
    assert_eq!(people(&ben).len(), 2);
}
