//! The relay on the internet: tandem homes syncing through `wss://`, certificate errors a
//! person can act on, and a certificate renewed (SIGHUP) under connected clients. Every
//! certificate is made at test time by a CA that exists only for the test.

mod certs;

use certs::TestCa;
use std::path::Path;
use std::time::Duration;
use tandem_tests::{failed_sync, has_goal, path_str, poll, Home, Relay};

/// A token relay serving TLS with `cert` and `key`, started as README.md shows.
fn tls_relay(cert: &Path, key: &Path) -> Relay {
    Relay::start_with(
        false,
        &[
            "--tls-cert",
            path_str(cert),
            "--tls-key",
            path_str(key),
            "--log-format",
            "json",
        ],
        &[],
    )
}

/// Whether a goal titled `title` shows up in `home` within ten seconds, carried there by a
/// `sync --watch`.
fn goal_arrives(home: &Home, title: &str) -> bool {
    poll(Duration::from_secs(10), || {
        has_goal(home, title).then_some(())
    })
    .is_some()
}

/// Sync Ana's home to the TLS `relay` with `token`, trusting `ca_file`, then invite Ben, who
/// joins as her mentee trusting the same file; returns Ben's home. The invite goes over
/// https:// with the CA Ana's home remembered for the workspace.
fn sync_and_invite_mentee(ana: &Home, relay: &Relay, token: &str, ca_file: &Path) -> Home {
    ana.ok(&[
        "sync",
        "--server",
        &relay.url(),
        "--token",
        token,
        "--ca-file",
        path_str(ca_file),
    ]);
    let code = ana
        .ok(&["-q", "invite", "--role", "mentee"])
        .trim()
        .to_string();
    let ben = Home::new();
    ben.ok(&[
        "join",
        &code,
        "--name",
        "Ben",
        "--ca-file",
        path_str(ca_file),
    ]);
    ben
}

#[test]
fn two_homes_sync_through_a_wss_relay_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("pair");
    let ca_file = ca.write(dir.path(), "ca");
    let (cert, key) = ca.issue_loopback(dir.path(), "relay");
    let relay = tls_relay(&cert, &key);
    assert!(relay.url().starts_with("wss://"), "{}", relay.url());
    let token = relay.token(&["--all", "--role", "write"]);

    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI"]);
    let ben = sync_and_invite_mentee(&ana, &relay, &token, &ca_file);
    assert!(has_goal(&ben, "Ship a Rust CLI"));

    // From here on neither passes the CA again: it is remembered with the relay.
    ben.add(&["goal", "add", "Write a blog post"]);
    ben.ok(&["sync"]);
    ana.ok(&["sync"]);
    assert!(has_goal(&ana, "Write a blog post"), "{}", relay.log());
    let status = ana.json(&["status"]);
    assert_eq!(status[0]["relay"], relay.url().as_str());
}

#[test]
fn each_certificate_problem_gets_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("errors");
    let ca_file = ca.write(dir.path(), "ca");
    let ca_arg = path_str(&ca_file);
    let home = Home::new();
    home.init("Ana & Ben", "Ana", "mentor");

    let (cert, key) = ca.issue(dir.path(), "expired", &["127.0.0.1"], (2020, 2021));
    let expired = tls_relay(&cert, &key);
    let line = failed_sync(&home, &["--server", &expired.url(), "--ca-file", ca_arg]);
    assert!(
        line.contains("certificate for 127.0.0.1 has expired"),
        "{line}"
    );

    let (cert, key) = ca.issue(dir.path(), "elsewhere", &["relay.example"], (2020, 2100));
    let elsewhere = tls_relay(&cert, &key);
    let line = failed_sync(&home, &["--server", &elsewhere.url(), "--ca-file", ca_arg]);
    assert!(
        line.contains("not valid for the host name 127.0.0.1"),
        "{line}"
    );

    let (cert, key) = ca.issue_loopback(dir.path(), "good");
    let good = tls_relay(&cert, &key);
    let line = failed_sync(&home, &["--server", &good.url()]);
    assert!(line.contains("unknown certificate authority"), "{line}");
    assert!(line.contains("--ca-file"), "{line}");

    // A wss:// URL for a relay that speaks plain ws://.
    let plain = Relay::start_open();
    let url = plain.url().replacen("ws://", "wss://", 1);
    let line = failed_sync(&home, &["--server", &url]);
    assert!(line.contains("did not answer with TLS"), "{line}");

    // A CA file that is not one is refused before anything is tried.
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "hello").unwrap();
    let line = failed_sync(
        &home,
        &["--server", &good.url(), "--ca-file", path_str(&bogus)],
    );
    assert!(line.contains("holds no PEM certificate"), "{line}");
    // Nothing failed was remembered.
    assert!(home.json(&["status"])[0]["relay"].is_null());
}

#[test]
fn a_certificate_renewed_with_sighup_keeps_connected_clients_and_serves_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("old"), TestCa::new("new"));
    let old_ca_file = old_ca.write(dir.path(), "old-ca");
    let new_ca_file = new_ca.write(dir.path(), "new-ca");
    let (cert, key) = old_ca.issue_loopback(dir.path(), "relay");
    let mut relay = tls_relay(&cert, &key);
    let token = relay.token(&["--all", "--role", "write"]);

    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    let ben = sync_and_invite_mentee(&ana, &relay, &token, &old_ca_file);
    let mut watch_ana = ana.spawn(&["sync", "--watch"]);
    let mut watch_ben = ben.spawn(&["sync", "--watch"]);
    ana.add(&["goal", "add", "Before the renewal"]);
    assert!(
        goal_arrives(&ben, "Before the renewal"),
        "{}\n{}",
        watch_ana.log(),
        watch_ben.log()
    );

    // The renewal: a certificate from another CA in the same files, then SIGHUP.
    let (renewed_cert, renewed_key) = new_ca.issue_loopback(dir.path(), "renewed");
    std::fs::copy(&renewed_cert, &cert).unwrap();
    std::fs::copy(&renewed_key, &key).unwrap();
    relay.signal("HUP");
    assert!(
        poll(Duration::from_secs(10), || relay
            .stderr()
            .contains("reloaded the certificate")
            .then_some(()))
        .is_some(),
        "{}",
        relay.log()
    );

    // The watchers, connected with the old certificate, keep carrying changes.
    ana.add(&["goal", "add", "After the renewal"]);
    assert!(
        goal_arrives(&ben, "After the renewal"),
        "{}\n{}",
        watch_ana.log(),
        watch_ben.log()
    );
    assert!(
        !watch_ben.log().contains("Reconnecting"),
        "{}",
        watch_ben.log()
    );
    assert!(
        !watch_ana.log().contains("Reconnecting"),
        "{}",
        watch_ana.log()
    );

    // New connections get the new certificate: the old CA no longer verifies it, for an invite
    // over https:// as for a websocket.
    let (code, stderr) = ana.fails(&["-q", "invite", "--role", "observer", "--name", "Olga"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.trim_end().lines().count() == 1 && stderr.contains("unknown certificate authority"),
        "{stderr}"
    );
    let cleo = Home::new();
    cleo.init("Cleo's plan", "Cleo", "mentor");
    let line = failed_sync(
        &cleo,
        &[
            "--server",
            &relay.url(),
            "--token",
            &token,
            "--ca-file",
            path_str(&old_ca_file),
        ],
    );
    assert!(line.contains("unknown certificate authority"), "{line}");
    cleo.ok(&[
        "sync",
        "--server",
        &relay.url(),
        "--token",
        &token,
        "--ca-file",
        path_str(&new_ca_file),
    ]);
    watch_ana.stop_with("INT");
    watch_ben.stop_with("INT");
}
