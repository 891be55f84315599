//! Interop with the official JavaScript implementation, automerge-repo 2.5.6 (`tests/js`):
//! a JS client on `tandem-server`, and tandem clients on the reference Node sync server.
//!
//! Each test needs `node` (>= 20) and installs the pinned npm packages if they are missing; a
//! machine without node fails these tests with a clear message instead of skipping them.

use serde_json::{json, Value};
use std::time::Duration;
mod certs;

use std::path::PathBuf;
use tandem_tests::{
    edit_the_meeting_note_and_goal_status_apart, ensure_js, js_client, js_client_command,
    js_client_with_env, path_str, text, Background, Home, JsOutput, NodeServer, Relay,
    MEETING_NOTE, MEETING_NOTE_MERGED,
};

// ----- helpers -----

/// The workspace a JS client writes: the shape of a tandem workspace, plain JSON (so every
/// string becomes automerge Text, as automerge 3 writes by default).
fn js_workspace() -> Value {
    json!({
        "schema": 1,
        "kind": "tandem-workspace",
        "title": "From JS",
        "created_at": "2026-11-28T10:00:00Z",
        "participants": {},
        "goals": {
            "g1": {
                "title": "JS goal",
                "description": "",
                "status": "open",
                "archived": false,
                "milestones": {}
            }
        },
        "notes": {},
        "checkins": {},
        "actions": {},
        "resources": {}
    })
}

/// A `tandem join` code, built exactly as `tandem invite` builds one: `tandem1` followed by the
/// base58 of `{"r": relay, "w": document id, ["t": token,] "o": role, "n": title}`.
fn invite_code(relay: &str, doc_id: &str, token: Option<&str>, role: &str, title: &str) -> String {
    let mut invite = json!({ "r": relay, "w": doc_id, "o": role, "n": title });
    if let Some(token) = token {
        invite["t"] = json!(token);
    }
    let bytes = serde_json::to_vec(&invite).unwrap();
    format!("tandem1{}", bs58::encode(bytes).into_string())
}

/// The goal titled `title` in a `goal list --json`.
fn goal<'v>(list: &'v Value, title: &str) -> &'v Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|g| g["title"] == title)
        .unwrap_or_else(|| panic!("no goal “{title}” in {list}"))
}

/// The values of a JSON object (a map keyed by id), whatever the keys.
fn items(map: &Value) -> Vec<&Value> {
    map.as_object()
        .unwrap_or_else(|| panic!("not a map: {map}"))
        .values()
        .collect()
}

/// A `tandem-server` reached over `wss://` (open, or needing tokens), with a certificate from a
/// CA made for the test; returns the relay and the CA's certificate file (with the directory
/// holding it, which must live as long as the file is used).
fn wss_relay(open: bool) -> (Relay, (tempfile::TempDir, PathBuf)) {
    let dir = tempfile::tempdir().unwrap();
    let ca = certs::TestCa::new("interop");
    let ca_file = ca.write(dir.path(), "ca");
    let (cert, key) = ca.issue_loopback(dir.path(), "relay");
    let relay = Relay::start_with(
        open,
        &["--tls-cert", path_str(&cert), "--tls-key", path_str(&key)],
        &[],
    );
    (relay, (dir, ca_file))
}

/// An open `tandem-server`, reached over `ws://`, or over `wss://` with a certificate from a CA
/// made for the test: the JS client trusts it through `NODE_EXTRA_CA_CERTS`, tandem through
/// `--ca-file`.
struct OpenRelay {
    relay: Relay,
    /// The CA's certificate file (and the directory holding it), for `wss://`.
    ca: Option<(tempfile::TempDir, PathBuf)>,
}

impl OpenRelay {
    fn start(tls: bool) -> Self {
        if !tls {
            return Self {
                relay: Relay::start_open(),
                ca: None,
            };
        }
        let (relay, ca) = wss_relay(true);
        Self {
            relay,
            ca: Some(ca),
        }
    }

    fn url(&self) -> String {
        self.relay.url()
    }

    /// Run the JS client, trusting the relay's CA if it has one.
    fn js(&self, args: &[&str]) -> JsOutput {
        match &self.ca {
            Some((_, ca)) => js_client_with_env(args, &[("NODE_EXTRA_CA_CERTS", path_str(ca))]),
            None => js_client(args),
        }
    }

    /// `tandem join CODE --name NAME`, trusting the relay's CA if it has one.
    fn join(&self, home: &Home, code: &str, name: &str) {
        let mut args = vec!["join", code, "--name", name, "--timeout", "20"];
        if let Some((_, ca)) = &self.ca {
            args.extend(["--ca-file", path_str(ca)]);
        }
        home.ok(&args);
    }
}

/// A JS client creates the tandem-shaped workspace on `relay`; returns its `automerge:` URL and
/// document id.
fn js_create(relay: &OpenRelay) -> (String, String) {
    let json = js_workspace().to_string();
    let created = relay
        .js(&["create", "--server", &relay.url(), "--json", &json])
        .ok();
    (
        text(&created, "url").to_string(),
        text(&created, "documentId").to_string(),
    )
}

/// A JS client reads the document at `url` from `server`.
fn js_read(server: &str, url: &str) -> Value {
    js_client(&["read", "--server", server, "--doc", url]).ok()["doc"].clone()
}

/// A JS client reads the document at `url` from `relay`.
fn js_read_from(relay: &OpenRelay, url: &str) -> Value {
    relay
        .js(&["read", "--server", &relay.url(), "--doc", url])
        .ok()["doc"]
        .clone()
}

/// An open `tandem-server` (over `wss://` if `tls`) holding a workspace a JS client created, and
/// Ben, who joined it with `tandem join`. Returns (relay, automerge URL, ben).
fn js_workspace_joined_by_ben(tls: bool) -> (OpenRelay, String, Home) {
    ensure_js();
    let relay = OpenRelay::start(tls);
    let (url, doc_id) = js_create(&relay);
    let ben = Home::new();
    let code = invite_code(&relay.url(), &doc_id, None, "mentee", "From JS");
    relay.join(&ben, &code, "Ben");
    let workspaces = ben.json(&["workspaces"]);
    assert_eq!(workspaces[0]["id"], doc_id.as_str(), "{workspaces}");
    assert_eq!(workspaces[0]["url"], url.as_str(), "{workspaces}");
    (relay, url, ben)
}

// ----- a JS client on tandem's relay -----

#[test]
fn a_workspace_written_by_a_js_client_opens_in_tandem_and_tandem_edits_reach_js() {
    js_workspace_opens_in_tandem_and_tandem_edits_reach_js(false);
}

#[test]
fn a_workspace_written_by_a_js_client_opens_in_tandem_and_tandem_edits_reach_js_over_wss() {
    js_workspace_opens_in_tandem_and_tandem_edits_reach_js(true);
}

fn js_workspace_opens_in_tandem_and_tandem_edits_reach_js(tls: bool) {
    let (relay, url, ben) = js_workspace_joined_by_ben(tls);
    let goals = ben.json(&["goal", "list"]);
    let g1 = goal(&goals, "JS goal");
    assert_eq!(g1["status"], "open", "{g1}");
    assert_eq!(text(g1, "id"), "g1");
    assert_eq!(ben.json(&["plan"])["title"], "From JS");

    ben.ok(&["goal", "set", "g1", "--status", "active"]);
    ben.add(&["goal", "add", "Tandem goal", "--due", "2027-01-15"]);
    ben.ok(&["-q", "sync"]);

    let doc = js_read_from(&relay, &url);
    assert_eq!(doc["goals"]["g1"]["status"], "active", "{doc}");
    assert_eq!(doc["goals"]["g1"]["title"], "JS goal", "{doc}");
    let added: Vec<&Value> = items(&doc["goals"])
        .into_iter()
        .filter(|g| g["title"] == "Tandem goal")
        .collect();
    assert_eq!(added.len(), 1, "{doc}");
    assert_eq!(added[0]["due"], "2027-01-15", "{doc}");
    let people = items(&doc["participants"]);
    assert!(
        people
            .iter()
            .any(|p| p["name"] == "Ben" && p["role"] == "mentee"),
        "{doc}"
    );
}

#[test]
fn edits_made_by_a_js_client_reach_tandem_on_sync() {
    js_edits_reach_tandem_on_sync(false);
}

#[test]
fn edits_made_by_a_js_client_reach_tandem_on_sync_over_wss() {
    js_edits_reach_tandem_on_sync(true);
}

fn js_edits_reach_tandem_on_sync(tls: bool) {
    let (relay, url, ben) = js_workspace_joined_by_ben(tls);
    let edited = relay
        .js(&[
            "edit",
            "--server",
            &relay.url(),
            "--doc",
            &url,
            "--splice",
            "goals.g1.title:0:0:Shared ",
            "--splice",
            "title:5:2:Node",
            "--set",
            "goals.g1.status=done",
            "--set",
            "goals.g1.description=Written in JavaScript",
        ])
        .ok();
    assert_eq!(edited["doc"]["goals"]["g1"]["title"], "Shared JS goal");

    let report = ben.json(&["sync"]);
    assert_eq!(report["ok"], true, "{report}");
    let g1 = ben.json(&["goal", "show", "g1"]);
    assert_eq!(g1["title"], "Shared JS goal", "{g1}");
    assert_eq!(g1["status"], "done", "{g1}");
    assert_eq!(g1["description"], "Written in JavaScript", "{g1}");
    assert_eq!(
        ben.json(&["plan"])["title"],
        "From Node",
        "the workspace title"
    );
}

#[test]
fn an_unknown_document_is_unavailable_and_still_arrives_later() {
    ensure_js();
    let relay = Relay::start();
    let token = relay.token(&["--all", "--role", "write"]);
    let fresh = js_client(&["new-url"]).ok();
    let url = text(&fresh, "url").to_string();
    let doc_id = text(&fresh, "documentId").to_string();

    // Nobody has it: the relay says so.
    let read = js_client(&[
        "read",
        "--server",
        &relay.url(),
        "--token",
        &token,
        "--doc",
        &url,
    ]);
    assert_eq!(read.code, 3, "{read:?}");
    assert_eq!(read.json(), json!({ "unavailable": true }));
    let ben = Home::new();
    let code = invite_code(&relay.url(), &doc_id, Some(&token), "mentee", "Later");
    let (exit, stderr) = ben.fails(&["join", &code, "--name", "Ben", "--timeout", "10"]);
    assert_eq!(exit, 1, "{stderr}");
    assert!(
        stderr.contains("does not have this workspace yet"),
        "{stderr}"
    );

    // A client waits for it (and is told it is unavailable), then another creates it.
    let mut waiter = Background::spawn(
        js_client_command(&[
            "wait-for",
            "--server",
            &relay.url(),
            "--token",
            &token,
            "--doc",
            &url,
            "--path",
            "title",
            "--equals",
            "Arrived late",
            "--timeout",
            "20000",
            "--trace",
        ]),
        "client.mjs wait-for",
    );
    let told = tandem_tests::poll(Duration::from_secs(15), || {
        waiter
            .stderr()
            .contains("\"type\":\"doc-unavailable\"")
            .then_some(())
    });
    assert!(
        told.is_some(),
        "the waiter never heard doc-unavailable\n{}",
        waiter.log()
    );
    js_client(&[
        "create",
        "--server",
        &relay.url(),
        "--token",
        &token,
        "--doc",
        &url,
        "--json",
        r#"{"title":"Arrived late"}"#,
    ])
    .ok();
    let exit = waiter.wait(Duration::from_secs(25));
    assert!(
        exit.is_some_and(|e| e.success()),
        "the waiter did not receive the document ({exit:?})\n{}",
        waiter.log()
    );
    let got: Value = serde_json::from_str(waiter.stdout().trim()).expect("one JSON line");
    assert_eq!(got["doc"]["title"], "Arrived late");
}

// ----- tandem clients on the reference Node sync server -----

#[test]
fn tandem_invites_and_joins_by_automerge_url_on_the_reference_node_server() {
    let node = NodeServer::start();
    let ana = Home::new();
    let id = ana.init("Ana & Ben", "Ana", "mentor");
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI"]);
    ana.ok(&["-q", "sync", "--server", &node.url()]);

    // The Node server makes no invites, so `invite` gives the workspace's URL and the server.
    let made = ana.json(&["invite"]);
    assert!(made["code"].is_null(), "{made}");
    assert_eq!(made["url"], format!("automerge:{id}"));
    assert_eq!(made["relay"], node.url());
    let ben = Home::new();
    ben.ok(&[
        "join",
        made["url"].as_str().unwrap(),
        "--server",
        &node.url(),
        "--name",
        "Ben",
        "--timeout",
        "20",
    ]);
    assert_eq!(
        ben.json(&["goal", "show", &goal])["title"],
        "Ship a Rust CLI"
    );
    ana.ok(&["-q", "sync"]);
    let names: Vec<String> = ana
        .json(&["participant", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Ana", "Ben"], "{}", node.log());
}

#[test]
fn tandem_clients_converge_through_the_reference_node_server() {
    let node = NodeServer::start();
    let ana = Home::new();
    let id = ana.init("Ana & Ben", "Ana", "mentor");
    let goal = ana.add(&["goal", "add", "Ship a Rust CLI"]);
    let note = ana.add(&["note", "add", MEETING_NOTE]);
    ana.ok(&["-q", "sync", "--server", &node.url()]);

    // The Node server has no invite endpoint, so Ben's code is built by hand.
    let ben = Home::new();
    let code = invite_code(&node.url(), &id, None, "mentee", "Ana & Ben");
    ben.ok(&["join", &code, "--name", "Ben", "--timeout", "20"]);
    assert_eq!(
        ben.json(&["goal", "show", &goal])["title"],
        "Ship a Rust CLI"
    );

    // Concurrent offline edits, then a sync round through the Node server.
    edit_the_meeting_note_and_goal_status_apart(&ana, &ben, &note, &goal);
    ana.add(&["goal", "add", "Give a talk"]);
    ben.add(&["goal", "add", "Write a blog post"]);
    for home in [&ana, &ben, &ana] {
        let out = home.run(&["-q", "sync"]);
        assert!(
            out.status.success(),
            "sync with the Node server failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            node.log()
        );
    }
    let export = ana.export_json();
    assert_eq!(export, ben.export_json(), "the homes differ");
    assert_eq!(
        ana.json(&["note", "show", &note])["body"],
        MEETING_NOTE_MERGED
    );
    assert_eq!(ana.json(&["conflicts"]).as_array().unwrap().len(), 1);

    // A JS client reads the same workspace from the Node server.
    let url = format!("automerge:{id}");
    let doc = js_read(&node.url(), &url);
    assert_eq!(doc["title"], "Ana & Ben", "{doc}");
    let mut titles: Vec<&str> = items(&doc["goals"])
        .iter()
        .filter_map(|g| g["title"].as_str())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Give a talk", "Ship a Rust CLI", "Write a blog post"],
        "{doc}"
    );
    let mut names: Vec<&str> = items(&doc["participants"])
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["Ana", "Ben"], "{doc}");
    let body = items(&doc["notes"])[0]["body"].clone();
    assert_eq!(body, MEETING_NOTE_MERGED, "{doc}");
}

// ----- over wss:// with tokens -----

/// A JS client (trusting the relay's private CA through `NODE_EXTRA_CA_CERTS`) and a tandem
/// home (through `--ca-file`) share a workspace through a TLS relay that needs tokens.
#[test]
fn a_js_client_and_tandem_sync_through_wss_with_a_token() {
    ensure_js();
    let (relay, (_dir, ca_file)) = wss_relay(false);
    let token = relay.token(&["--all", "--role", "write"]);
    let node_env = [("NODE_EXTRA_CA_CERTS", path_str(&ca_file))];
    let json = js_workspace().to_string();
    let created = js_client_with_env(
        &[
            "create",
            "--server",
            &relay.url(),
            "--token",
            &token,
            "--json",
            &json,
        ],
        &node_env,
    )
    .ok();
    let (url, doc_id) = (text(&created, "url"), text(&created, "documentId"));

    let ben = Home::new();
    let code = invite_code(&relay.url(), doc_id, Some(&token), "mentee", "From JS");
    ben.ok(&[
        "join",
        &code,
        "--name",
        "Ben",
        "--ca-file",
        path_str(&ca_file),
        "--timeout",
        "20",
    ]);
    assert_eq!(
        goal(&ben.json(&["goal", "list"]), "JS goal")["status"],
        "open"
    );
    ben.ok(&["goal", "set", "g1", "--status", "active"]);
    ben.ok(&["-q", "sync"]);

    let read = js_client_with_env(
        &[
            "read",
            "--server",
            &relay.url(),
            "--token",
            &token,
            "--doc",
            url,
        ],
        &node_env,
    )
    .ok();
    assert_eq!(read["doc"]["goals"]["g1"]["status"], "active", "{read}");
    // Without the CA, Node refuses the relay's certificate.
    let refused = js_client(&[
        "read",
        "--server",
        &relay.url(),
        "--token",
        &token,
        "--doc",
        url,
        "--timeout",
        "3000",
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("certificate"), "{refused:?}");
}
