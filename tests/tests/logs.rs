//! The relay's logs never carry a secret: at trace level, in both log formats, no access
//! token and no invite code appears, whatever the tokens were used for.

use serde_json::Value;
use tandem_tests::{Home, Relay};

/// The token inside an invite code (`tandem1` + base58 of a JSON object with `t`).
fn token_in(code: &str) -> String {
    let bytes = bs58::decode(code.trim_start_matches("tandem1"))
        .into_vec()
        .expect("an invite code is base58");
    let invite: Value = serde_json::from_slice(&bytes).expect("an invite code is JSON");
    invite["t"]
        .as_str()
        .expect("the invite carries a token")
        .to_string()
}

/// Every way a token reaches the relay, once; returns the secrets used.
fn exercise_tokens(relay: &mut Relay) -> Vec<String> {
    let operator = relay.token(&["--all", "--role", "write", "--label", "Ana"]);
    let by_query = relay.token(&["--all", "--role", "write", "--label", "query"]);
    let doomed = relay.token(&["--all", "--role", "read", "--label", "doomed"]);

    // A bearer token on the websocket, then an invite over HTTP and a join with its token.
    let ana = Home::new();
    ana.init("Ana & Ben", "Ana", "mentor");
    ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["sync", "--server", &relay.url(), "--token", &operator]);
    let code = ana
        .ok(&["-q", "invite", "--role", "mentee"])
        .trim()
        .to_string();
    let invited = token_in(&code);
    let ben = Home::new();
    ben.ok(&["join", &code, "--name", "Ben"]);

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
    let id = relay
        .tokens()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "doomed")
        .expect("the doomed token is listed")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = relay.token_cmd(&["revoke", &id]);
    assert!(out.status.success());
    dan.fails(&["sync", "--server", &relay.url(), "--token", &doomed]);
    vec![
        operator,
        by_query,
        doomed,
        invited,
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
