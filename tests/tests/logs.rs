//! The relay's logs never carry a secret: at trace level, in both log formats, no access
//! token and no invite code appears, whatever the tokens were used for.

use serde_json::Value;
use tandem_tests::{text, Home, Relay};

/// Redeem an invite code at the relay by hand, as the web app does; returns the token.
fn redeem(relay: &Relay, code: &str) -> String {
    use std::io::{Read, Write};
    let addr = relay.url().trim_start_matches("ws://").to_string();
    let body = serde_json::json!({ "code": code }).to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /v1/invites/redeem HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let json = answer.split_once("\r\n\r\n").expect("an HTTP answer").1;
    let json: Value = serde_json::from_str(json).expect("a JSON answer");
    json["token"].as_str().expect("a token").to_string()
}

/// Every way a token reaches the relay, once; returns the secrets used.
fn exercise_tokens(relay: &mut Relay) -> Vec<String> {
    let operator = relay.token(&["--all", "--role", "write", "--label", "Ana"]);
    let by_query = relay.token(&["--all", "--role", "write", "--label", "query"]);
    let doomed = relay.token(&["--all", "--role", "read", "--label", "doomed"]);

    // A bearer token on the websocket, then invites over HTTP: one joined by its link, one
    // redeemed by hand and its token used, one listed and revoked, and a wrong code.
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["sync", "--server", &relay.url(), "--token", &operator]);
    let made = ana.json(&["invite", "--role", "mentee"]);
    let (code, link) = (
        text(&made, "code").to_string(),
        text(&made, "link").to_string(),
    );
    let ben = Home::new();
    ben.ok(&["join", &link, "--name", "Ben"]);
    let second = ana.json(&["invite", "--role", "observer", "--name", "Olga"]);
    let second_code = text(&second, "code").to_string();
    let invited = redeem(relay, &second_code);
    let watcher = Home::new();
    watcher.init("Watcher", "Wes", "mentor");
    watcher.run(&["sync", "--server", &relay.url(), "--token", &invited]);
    let third = ana.json(&["invite", "--device"]);
    let third_code = text(&third, "code").to_string();
    ana.ok(&["invite", "revoke", text(&third, "id")]);
    Home::new().fails(&["join", &third_code, "--server", &relay.url(), "--name", "X"]);

    // A token in the URL's query, as browsers send it.
    let cleo = Home::new();
    cleo.init("Cleo's plan", "Cleo", "mentor");
    let url = format!("{}/?token={by_query}", relay.url());
    cleo.ok(&["sync", "--server", &url]);

    // Refusals: a forged token, and one revoked by the operator.
    let dan = Home::new();
    dan.init("Dan's plan", "Dan", "mentor");
    dan.fails(&[
        "sync",
        "--server",
        &relay.url(),
        "--token",
        "tdm_forgedforgedforged",
    ]);
    let id = relay.token_id("doomed");
    let out = relay.token_cmd(&["revoke", &id]);
    assert!(out.status.success());
    dan.fails(&["sync", "--server", &relay.url(), "--token", &doomed]);
    vec![
        operator,
        by_query,
        doomed,
        invited,
        code.replace('-', ""),
        second_code.replace('-', ""),
        third_code.replace('-', ""),
        code,
        "tdm_forgedforgedforged".into(),
    ]
}

fn assert_no_secret_in(logs: &str, secrets: &[String]) {
    assert!(
        logs.lines().count() > 50,
        "trace level logs more than that:\n{logs}"
    );
    for secret in secrets {
        // The part after the `tdm_` prefix is the secret; look for it alone too, in case a log
        // line splits or escapes the prefix.
        let bare = secret.trim_start_matches("tdm_");
        assert!(
            !logs.contains(bare),
            "a secret ({}…) appears in the relay's logs",
            &secret[..8]
        );
    }
}

#[test]
fn no_token_or_invite_code_appears_in_the_relays_logs_at_trace_level() {
    for format in ["text", "json"] {
        let mut relay =
            Relay::start_with(false, &["--log-format", format], &[("RUST_LOG", "trace")]);
        let secrets = exercise_tokens(&mut relay);
        let logs = relay.stop_and_logs();
        if format == "json" {
            for line in logs.lines() {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            }
        }
        assert_no_secret_in(&logs, &secrets);
    }
}
