//! The web app's session cookie at the HTTP level: one browser signed in to several workspaces
//! of one relay, each with its own token's access, on one websocket.

mod common;

use common::*;
use futures_util::StreamExt;
use std::net::SocketAddr;
use tandem_core::automerge::AutoCommit;
use tandem_core::protocol::Message;
use tandem_core::sync::ClientSession;
use tandem_server::tokens::{Role, Scope};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Keep syncing `peer` until the relay sends an error and closes; return the error's text.
/// Answering the relay matters: a change is only sent once the relay has said what it has, and
/// the wait is bounded even though the relay's pings keep an idle connection talking.
async fn sync_until_refused(peer: &mut Peer) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, peer.ws.next())
            .await
            .expect("the relay refuses in time");
        let message = match frame {
            Some(Ok(WsMessage::Binary(bytes))) => Message::decode(&bytes).unwrap(),
            Some(Ok(_)) => continue,
            _ => panic!("the connection closed without an error message"),
        };
        if let Message::Error { message, .. } = message {
            expect_closed(&mut peer.ws).await;
            return message;
        }
        for reply in peer.session.receive(message).unwrap_or_default() {
            send(&mut peer.ws, &reply).await;
        }
    }
}

/// One HTTP/1.1 exchange sending `cookie` (a `tandem_session=...` pair) as a browser would.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let header = cookie.map(|cookie| ("Cookie", cookie));
    http_with(addr, method, path, header, body).await
}

/// Add `token` to the browser's session `cookie`; returns the new cookie.
async fn sign_in(addr: SocketAddr, cookie: Option<&str>, token: &str) -> String {
    let body = format!("{{\"token\": \"{token}\"}}");
    let answer = call(addr, "POST", "/v1/session", cookie, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let set = answer.set_cookie().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    answer.cookie().unwrap()
}

/// A websocket opened the way the web app opens it: with the session cookie and the page's
/// own origin.
async fn connect_cookie(server: &TestServer, cookie: &str) -> Ws {
    let mut request = server.url(None).into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Cookie", cookie.parse().unwrap());
    headers.insert("Origin", format!("http://{}", server.addr).parse().unwrap());
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect in time")
        .expect("the relay accepts the session cookie");
    ws
}

/// The access the session's entry for `workspace` grants.
fn access_of(session: &serde_json::Value, workspace: &str) -> Vec<String> {
    session["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["workspaces"]
                .as_array()
                .is_some_and(|w| w.iter().any(|d| d == workspace))
        })
        .map(|t| t["access"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn one_browser_syncs_every_workspace_it_joined_each_with_its_own_access() {
    let dir = tempfile::tempdir().unwrap();
    let (mine, theirs) = (doc_id(), doc_id());
    let server = TestServer::start(config(dir.path())).await;
    let (owner, _) = server.token(Role::Write, Scope::All);
    let (write_mine, _) = server.token(Role::Write, Scope::docs(&[&mine]).unwrap());
    let (read_theirs, read_id) = server.token(Role::Read, Scope::docs(&[&theirs]).unwrap());
    let mut seeds = session("owner", &mine, doc_with("first", 1));
    seeds.add_doc(&theirs, doc_with("second", 2), None);
    let mut owner = Peer::join(&server.url(Some(&owner)), seeds).await;
    owner.sync_until(|s| s.settled()).await;

    // Joining the second workspace keeps the first one's token in the cookie.
    let one = sign_in(server.addr, None, &write_mine).await;
    let both = sign_in(server.addr, Some(&one), &read_theirs).await;
    assert!(both.contains(&write_mine) && both.contains(&read_theirs));
    let info = call(server.addr, "GET", "/v1/session", Some(&both), None).await;
    assert_eq!(info.status, 200);
    assert_eq!(access_of(&info.body, &mine), ["write"]);
    assert_eq!(access_of(&info.body, &theirs), ["read"]);
    let mut union: Vec<String> = serde_json::from_value(info.body["workspaces"].clone()).unwrap();
    union.sort();
    let mut expected = vec![mine.clone(), theirs.clone()];
    expected.sort();
    assert_eq!(union, expected);
    // The tokens themselves are never in an answer, only their public ids.
    assert!(!info.body.to_string().contains(&write_mine));

    // One websocket syncs both workspaces; a change to the writable one is accepted...
    let mut browser = ClientSession::new("browser", Some("browser-storage".into()));
    browser.add_doc(&mine, AutoCommit::new(), None);
    browser.add_doc(&theirs, AutoCommit::new(), None);
    let mut browser = Peer::over(connect_cookie(&server, &both).await, browser).await;
    browser
        .sync_until(|s| has(s, &mine, "first") && has(s, &theirs, "second"))
        .await;
    browser.change(&mine, "from_browser", 3).await;
    browser.sync_until(|s| s.settled()).await;
    owner.sync_until(|s| has(s, &mine, "from_browser")).await;
    // ...and one to the workspace joined with a read token is refused, whatever the other token.
    browser.change(&theirs, "sneaky", 4).await;
    let error = sync_until_refused(&mut browser).await;
    assert!(error.contains("read-only"), "{error}");

    // Revoking the read token takes away its workspace only.
    let mut again = ClientSession::new("browser-2", None);
    again.add_doc(&mine, AutoCommit::new(), None);
    let mut again = Peer::over(connect_cookie(&server, &both).await, again).await;
    again.sync_until(|s| has(s, &mine, "from_browser")).await;
    tandem_server::tokens::revoke(&server.tokens_path(), &read_id).unwrap();
    assert_eq!(sync_until_refused(&mut again).await, "token revoked");
    let info = call(server.addr, "GET", "/v1/session", Some(&both), None).await;
    assert_eq!(info.status, 200);
    assert_eq!(access_of(&info.body, &mine), ["write"]);
    assert!(access_of(&info.body, &theirs).is_empty());
    let mut after = ClientSession::new("browser-3", None);
    after.add_doc(&mine, AutoCommit::new(), None);
    let mut after = Peer::over(connect_cookie(&server, &both).await, after).await;
    after.sync_until(|s| has(s, &mine, "from_browser")).await;
    after.change(&mine, "still_writable", 5).await;
    after.sync_until(|s| s.settled()).await;
    owner.sync_until(|s| has(s, &mine, "still_writable")).await;

    // The next sign-in drops the revoked token from the cookie.
    let (another, _) = server.token(Role::Read, Scope::docs(&[&theirs]).unwrap());
    let pruned = sign_in(server.addr, Some(&both), &another).await;
    assert!(!pruned.contains(&read_theirs) && pruned.contains(&write_mine));
    server.stop().await;
}

#[tokio::test]
async fn staying_signed_in_to_the_program_keeps_the_workspaces_and_leaves_alone() {
    let dir = tempfile::tempdir().unwrap();
    let doc = doc_id();
    let server = TestServer::start(config(dir.path())).await;
    let (writer, writer_id) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    let (program, program_id) = server.token(Role::Program, Scope::All);
    let pair = sign_in(server.addr, None, &writer).await;
    let both = sign_in(server.addr, Some(&pair), &program).await;
    let report = call(server.addr, "GET", "/v1/program", Some(&both), None).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let info = call(server.addr, "GET", "/v1/session", Some(&both), None).await;
    assert_eq!(info.body["access"], "write");
    assert_eq!(access_of(&info.body, &doc), ["write"]);

    // Signing out of the program forgets its token only.
    let path = format!("/v1/session/{program_id}");
    let out = call(server.addr, "DELETE", &path, Some(&both), None).await;
    assert_eq!(out.status, 204);
    let left = out.cookie().unwrap();
    assert!(left.contains(&writer) && !left.contains(&program));
    let report = call(server.addr, "GET", "/v1/program", Some(&left), None).await;
    assert_eq!(report.status, 403);
    let mut browser = Peer::over(
        connect_cookie(&server, &left).await,
        session("browser", &doc, doc_with("kept", 1)),
    )
    .await;
    browser.sync_until(|s| s.settled()).await;
    let unknown = call(server.addr, "DELETE", "/v1/session/nope", Some(&left), None).await;
    assert_eq!(unknown.status, 404);

    // Forgetting the last token clears the cookie; so does forgetting them all at once.
    let path = format!("/v1/session/{writer_id}");
    let out = call(server.addr, "DELETE", &path, Some(&left), None).await;
    assert!(out.set_cookie().unwrap().contains("Max-Age=0"));
    let all = call(server.addr, "DELETE", "/v1/session", Some(&both), None).await;
    assert_eq!(all.status, 204);
    assert!(all.set_cookie().unwrap().contains("Max-Age=0"));
    server.stop().await;
}

#[tokio::test]
async fn a_session_holds_a_bounded_number_of_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(config(dir.path())).await;
    let mut cookie: Option<String> = None;
    for _ in 0..32 {
        let (token, _) = server.token(Role::Read, Scope::docs(&[&doc_id()]).unwrap());
        cookie = Some(sign_in(server.addr, cookie.as_deref(), &token).await);
    }
    let cookie = cookie.unwrap();
    assert!(cookie.len() < 4000, "{} bytes", cookie.len());
    let (one_more, _) = server.token(Role::Read, Scope::docs(&[&doc_id()]).unwrap());
    let body = format!("{{\"token\": \"{one_more}\"}}");
    let full = call(
        server.addr,
        "POST",
        "/v1/session",
        Some(&cookie),
        Some(&body),
    )
    .await;
    assert_eq!(full.status, 409);
    assert_eq!(full.body["code"], "session_full");
    assert!(full.set_cookie().is_none());
    // A token that does not work is refused and leaves the cookie alone.
    let bad = call(
        server.addr,
        "POST",
        "/v1/session",
        Some(&cookie),
        Some("{\"token\": \"tdm_nope\"}"),
    )
    .await;
    assert_eq!(bad.status, 401);
    assert!(bad.set_cookie().is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_browser_that_joined_one_more_workspace_reconnects_under_its_peer_id() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (doc_id(), doc_id());
    let server = TestServer::start(config(dir.path())).await;
    let (one, _) = server.token(Role::Write, Scope::docs(&[&first]).unwrap());
    let (two, _) = server.token(Role::Write, Scope::docs(&[&second]).unwrap());
    let (stranger, _) = server.token(Role::Write, Scope::docs(&[&second]).unwrap());
    let before = sign_in(server.addr, None, &one).await;
    let mut old = Peer::over(
        connect_cookie(&server, &before).await,
        session("browser", &first, doc_with("a", 1)),
    )
    .await;
    old.sync_until(|s| s.settled()).await;
    // Joining the second workspace adds a token; the new connection shares one with the old, so
    // it takes the peer id over and the old one is closed.
    let after = sign_in(server.addr, Some(&before), &two).await;
    let mut both = session("browser", &first, doc_with("a", 1));
    both.add_doc(&second, doc_with("b", 2), None);
    let mut new = Peer::over(connect_cookie(&server, &after).await, both).await;
    new.sync_until(|s| s.settled()).await;
    expect_closed(&mut old.ws).await;
    // Someone else's session, with no token in common, may not take the peer id.
    let theirs = sign_in(server.addr, None, &stranger).await;
    let mut thief = connect_cookie(&server, &theirs).await;
    send(
        &mut thief,
        &session("browser", &second, AutoCommit::new()).join(),
    )
    .await;
    let error = expect_error_and_close(&mut thief).await;
    assert!(error.contains("in use"), "{error}");
    server.stop().await;
}
