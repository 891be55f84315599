//! The relay end to end, in process: sync, durability across restarts, tokens, HTTP.

mod common;

use common::*;
use tandem_core::automerge::AutoCommit;
use tandem_core::protocol::Message;
use tandem_core::store::{docstore, Journaled};
use tandem_core::sync::{ClientSession, DocSync};
use tandem_server::tokens::{Role, Scope};
use tandem_server::ServerConfig;

#[tokio::test]
async fn two_peers_sync_a_document_through_the_relay() {
    let (_dir, server) = fresh_relay(config).await;
    let (token, _) = server.token(Role::Write, Scope::All);
    let doc = doc_id();
    let base = doc_with("base", 1);

    let mut ana = Peer::join(
        &server.url(Some(&token)),
        session("ana", &doc, base.clone()),
    )
    .await;
    ana.change(&doc, "mentor", 1).await;
    ana.sync_until(|s| s.settled()).await;

    let mut ben = Peer::join(&server.url(Some(&token)), session("ben", &doc, base)).await;
    ben.change(&doc, "mentee", 2).await;
    ben.sync_until(|s| has(s, &doc, "mentor") && s.settled())
        .await;
    // Ana is still connected, so Ben's change is pushed to her.
    ana.sync_until(|s| has(s, &doc, "mentee")).await;

    let h = health(server.addr).await;
    assert_eq!(h["peers"], 2);
    assert!(h["changes_stored"].as_u64().unwrap() >= 2, "{h}");
    server.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let doc = doc_id();
    let server = TestServer::start(config(dir.path())).await;
    let (token, _) = server.token(Role::Write, Scope::All);
    let _ana = Peer::share(&server.url(Some(&token)), "ana", &doc, doc_with("kept", 7)).await;
    server.stop().await;

    let server = TestServer::start(config(dir.path())).await;
    let _ben = Peer::catch_up(&server.url(Some(&token)), "ben", &doc, "kept").await;
    server.stop().await;
}

#[tokio::test]
async fn a_read_only_token_reads_but_its_change_is_refused_and_not_stored() {
    let doc = doc_id();
    let (dir, server) = fresh_relay(config).await;
    let (writer, _) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    let (reader, _) = server.token(Role::Read, Scope::docs(&[&doc]).unwrap());
    let _ana = Peer::share(
        &server.url(Some(&writer)),
        "ana",
        &doc,
        doc_with("written", 1),
    )
    .await;

    let url = server.url(Some(&reader));
    let mut coordinator = Peer::catch_up(&url, "coordinator", &doc, "written").await;
    coordinator.change(&doc, "sneaky", 1).await;
    let error = expect_error_and_close(&mut coordinator.ws).await;
    assert!(error.contains("read-only"), "{error}");
    server.stop().await;

    let store = Journaled::open_sled(&dir.path().join("sled")).unwrap();
    let (stored, _) = docstore::load(&store, &doc).unwrap().unwrap();
    use tandem_core::automerge::{ReadDoc, ROOT};
    assert!(stored.get(ROOT, "written").unwrap().is_some());
    assert!(stored.get(ROOT, "sneaky").unwrap().is_none());
}

#[tokio::test]
async fn connections_without_a_valid_token_get_401() {
    let (_dir, server) = fresh_relay(config).await;
    assert_eq!(refused_status(&server.url(None)).await, 401);
    assert_eq!(refused_status(&server.url(Some("tdm_nope"))).await, 401);
    let (token, _) = server.token(Role::Write, Scope::All);
    // Both ways of presenting a token work.
    connect(&server.url(Some(&token))).await;
    connect_bearer(&server.url(None), &token).await.unwrap();
    assert!(connect_bearer(&server.url(None), "tdm_wrong")
        .await
        .is_err());
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_token_is_turned_away_and_its_live_connection_closed() {
    let doc = doc_id();
    let (_dir, server) = fresh_relay(config).await;
    let (token, id) = server.token(Role::Write, Scope::All);
    let (other, _) = server.token(Role::Write, Scope::All);
    let mut ana = Peer::share(&server.url(Some(&token)), "ana", &doc, doc_with("a", 1)).await;
    let mut ben = Peer::catch_up(&server.url(Some(&other)), "ben", &doc, "a").await;

    tandem_server::tokens::revoke(&server.tokens_path(), &id).unwrap();
    let error = expect_error_and_close(&mut ana.ws).await;
    assert_eq!(error, "token revoked");
    assert_eq!(refused_status(&server.url(Some(&token))).await, 401);

    // Only the revoked token's connection went away.
    ben.change(&doc, "b", 2).await;
    ben.sync_until(|s| s.settled()).await;
    server.stop().await;
}

#[tokio::test]
async fn open_mode_needs_no_token() {
    let (_dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let _ana = Peer::share(&server.url(None), "ana", &doc, doc_with("x", 1)).await;
    assert_eq!(health(server.addr).await["open"], true);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_document_is_unavailable_until_someone_uploads_it() {
    let (_dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let mut reader = connect(&server.url(None)).await;
    let relay = join_as(&mut reader, "reader").await;
    let request = Message::Request {
        sender_id: "reader".into(),
        target_id: relay,
        document_id: doc.clone(),
        data: DocSync::default().generate(&mut AutoCommit::new()).unwrap(),
    };
    send(&mut reader, &request).await;
    assert!(matches!(
        recv(&mut reader).await,
        Some(Message::DocUnavailable { .. })
    ));
    let _ana = Peer::share(&server.url(None), "ana", &doc, doc_with("x", 1)).await;
    // The waiting reader is synced as soon as the document exists.
    assert!(matches!(
        recv(&mut reader).await,
        Some(Message::Sync { .. })
    ));
    server.stop().await;
}

#[tokio::test]
async fn health_reports_the_relay() {
    let (_dir, server) = fresh_relay(config).await;
    let h = health(server.addr).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["connections"], 0);
    assert!(h["uptime_secs"].is_u64());
    assert!(h["documents_in_memory"].is_u64());
    let (status, _) = http(server.addr, "GET", "/nope", None, None).await;
    assert_eq!(status, 404);
    let (status, _) = http(server.addr, "POST", "/health", None, Some("")).await;
    assert_eq!(status, 405);
    server.stop().await;
}

/// Make an invite with `bearer`; returns the whole answer.
async fn make_invite(server: &TestServer, bearer: &str, body: &str) -> (u16, serde_json::Value) {
    http(server.addr, "POST", "/v1/invites", Some(bearer), Some(body)).await
}

/// Redeem `code`; returns the status and the answer.
async fn redeem(server: &TestServer, code: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "code": code }).to_string();
    http(server.addr, "POST", "/v1/invites/redeem", None, Some(&body)).await
}

#[tokio::test]
async fn an_invite_code_mints_a_token_for_that_workspace_only() {
    let (_dir, server) = fresh_relay(config).await;
    let (doc, other_doc) = (doc_id(), doc_id());
    let (mentor, _) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    let body = format!(r#"{{"workspace":"{doc}","role":"mentee","label":"Ben"}}"#);

    let (status, answer) = make_invite(&server, &mentor, &body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["workspace"], doc.as_str());
    assert_eq!(answer["role"], "mentee");
    assert_eq!(answer["uses"], 1);
    let code = answer["code"].as_str().unwrap().to_string();
    assert!(code.len() <= 16, "{code}");
    assert_eq!(code.len(), 14);
    assert_eq!(
        answer["link"].as_str().unwrap(),
        format!("http://{}/j/{code}", server.addr)
    );
    assert!(answer["id"].as_str().unwrap() != code);
    // The code is not in the token file, in any form.
    let file = std::fs::read_to_string(server.tokens_path()).unwrap();
    assert!(!file.contains(&code) && !file.contains(&code.replace('-', "")));

    // Redeemed once, typed sloppily, it gives a write token for the workspace...
    let (status, answer) = redeem(&server, &format!(" {} ", code.to_lowercase())).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["workspace"], doc.as_str());
    assert_eq!(answer["role"], "mentee");
    assert!(answer["participant"].is_null());
    let invited = answer["token"].as_str().unwrap().to_string();
    assert!(invited.starts_with("tdm_"));
    let _ana = Peer::share(&server.url(Some(&mentor)), "ana", &doc, doc_with("plan", 1)).await;
    let _ben = Peer::catch_up(&server.url(Some(&invited)), "ben", &doc, "plan").await;
    // ...and nothing else: another workspace is unavailable to it.
    let mut scoped = ClientSession::new("ben2", None);
    scoped.add_doc(&other_doc, doc_with("secret", 1), None);
    let mut ben2 = Peer::join(&server.url(Some(&invited)), scoped).await;
    ben2.sync_until(|s| s.progress()[0].unavailable).await;

    // An observer's invite gives a read token, which cannot invite.
    let observer = format!(r#"{{"workspace":"{doc}","role":"observer"}}"#);
    let (_, answer) = make_invite(&server, &mentor, &observer).await;
    let (_, answer) = redeem(&server, answer["code"].as_str().unwrap()).await;
    let reader = answer["token"].as_str().unwrap().to_string();
    assert_eq!(answer["role"], "observer");
    assert_eq!(make_invite(&server, &reader, &body).await.0, 403);

    // Refusals: no token, an unknown token, another workspace, a bad body.
    let (status, answer) = http(server.addr, "POST", "/v1/invites", None, Some(&body)).await;
    assert_eq!(status, 401);
    assert_eq!(answer["code"], "unauthorized");
    assert_eq!(make_invite(&server, "tdm_bad", &body).await.0, 401);
    let elsewhere = format!(r#"{{"workspace":"{other_doc}","role":"mentee"}}"#);
    assert_eq!(make_invite(&server, &mentor, &elsewhere).await.0, 403);
    for bad in [
        "not json",
        r#"{"workspace":"nope","role":"mentee"}"#,
        r#"{"role":"mentee"}"#,
        &format!(r#"{{"workspace":"{doc}","role":"write"}}"#),
        &format!(r#"{{"workspace":"{doc}","role":"mentee","uses":0}}"#),
        &format!(r#"{{"workspace":"{doc}","role":"mentee","expires_in_secs":5}}"#),
    ] {
        let (status, answer) = make_invite(&server, &mentor, bad).await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_used_revoked_and_expired_codes_are_answered_alike() {
    let (_dir, server) = fresh_relay(config).await;
    let doc = doc_id();
    let (mentor, _) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    let body = format!(r#"{{"workspace":"{doc}","role":"mentee","uses":2}}"#);
    let code = |answer: &serde_json::Value| answer["code"].as_str().unwrap().to_string();

    let (_, used) = make_invite(&server, &mentor, &body).await;
    assert_eq!(used["uses"], 2);
    assert_eq!(redeem(&server, &code(&used)).await.0, 200);
    assert_eq!(redeem(&server, &code(&used)).await.0, 200);
    let (_, revoked) = make_invite(&server, &mentor, &body).await;
    let (_, expired) = make_invite(&server, &mentor, &body).await;
    let (_, open) = make_invite(&server, &mentor, &body).await;

    // Listing shows the open invites, never their codes.
    let path = format!("/v1/invites?workspace={doc}");
    let (status, listed) = http(server.addr, "GET", &path, Some(&mentor), None).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{listed}");
    assert!(!listed.to_string().contains(&code(&open)));
    assert!(listed[0]["uses_left"] == 2 && listed[0]["expires_at"].is_string());
    assert_eq!(http(server.addr, "GET", &path, None, None).await.0, 401);

    // Revoking takes the invite's id, and only a token covering its workspace may.
    let other = doc_id();
    let (stranger, _) = server.token(Role::Write, Scope::docs(&[&other]).unwrap());
    let revoke = format!("/v1/invites/{}", revoked["id"].as_str().unwrap());
    assert_eq!(
        http(server.addr, "DELETE", &revoke, Some(&stranger), None)
            .await
            .0,
        404
    );
    assert_eq!(
        http(server.addr, "DELETE", &revoke, Some(&mentor), None)
            .await
            .0,
        204
    );
    // An invite whose time is up, as the file records it.
    let expired_id = expired["id"].as_str().unwrap().to_string();
    tandem_server::tokens::update(&server.tokens_path(), |file| {
        let invite = file
            .invites
            .iter_mut()
            .find(|i| i.id == expired_id)
            .unwrap();
        invite.expires_at = "2020-01-01T00:00:00Z".into();
        Ok(())
    })
    .unwrap();

    let mut answers = Vec::new();
    for c in [
        code(&used),
        code(&revoked),
        code(&expired),
        "ZZZZ-ZZZZ-ZZZZ".into(),
        "nonsense".into(),
    ] {
        answers.push(redeem(&server, &c).await);
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0], "every refusal looks the same");
    }
    assert_eq!(answers[0].0, 404);
    assert_eq!(
        answers[0].1,
        serde_json::json!({"error": "this invite code is not valid or has expired", "code": "invite_invalid"})
    );
    assert_eq!(redeem(&server, &code(&open)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn redemption_is_rate_limited_per_client_address() {
    let (_dir, server) = fresh_relay(config).await;
    let doc = doc_id();
    let (mentor, _) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    let (_, answer) = make_invite(
        &server,
        &mentor,
        &format!(r#"{{"workspace":"{doc}","role":"mentee"}}"#),
    )
    .await;
    for _ in 0..10 {
        assert_eq!(redeem(&server, "AAAA-AAAA-AAAA").await.0, 404);
    }
    // The eleventh attempt within the minute is refused, even with the right code.
    let (status, refused) = redeem(&server, answer["code"].as_str().unwrap()).await;
    assert_eq!(status, 429);
    assert_eq!(refused["code"], "rate_limited");
    server.stop().await;
}

#[tokio::test]
async fn an_open_relay_makes_no_invites() {
    let (_dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let body = format!(r#"{{"workspace":"{doc}","role":"mentee"}}"#);
    let (status, answer) = http(server.addr, "POST", "/v1/invites", None, Some(&body)).await;
    assert_eq!(status, 409);
    assert_eq!(answer["code"], "open_relay");
    assert_eq!(redeem(&server, "AAAA-AAAA-AAAA").await.0, 409);
    server.stop().await;
}

#[tokio::test]
async fn asking_for_an_unknown_document_stores_nothing() {
    let (dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let _reader = Peer::share(&server.url(None), "reader", &doc, AutoCommit::new()).await;
    server.stop().await;
    let store = Journaled::open_sled(&dir.path().join("sled")).unwrap();
    assert_eq!(docstore::list(&store).unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_peer_id_cannot_be_taken_over_with_another_token() {
    let (_dir, server) = fresh_relay(config).await;
    let (ana_token, _) = server.token(Role::Write, Scope::All);
    let (mallory_token, _) = server.token(Role::Read, Scope::All);
    let doc = doc_id();
    let mut ana = Peer::share(&server.url(Some(&ana_token)), "ana", &doc, doc_with("a", 1)).await;

    let mut mallory = connect(&server.url(Some(&mallory_token))).await;
    send(&mut mallory, &Message::join("ana", None)).await;
    let error = expect_error_and_close(&mut mallory).await;
    assert!(error.contains("in use"), "{error}");

    // Ana's connection is untouched; her own reconnect (same token) still replaces it.
    ana.change(&doc, "b", 2).await;
    ana.sync_until(|s| s.settled()).await;
    let mut again = Peer::join(
        &server.url(Some(&ana_token)),
        session("ana", &doc, doc_with("c", 3)),
    )
    .await;
    expect_closed(&mut ana.ws).await;
    again.sync_until(|s| s.settled()).await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_with_many_workspaces_syncs_them_all_at_once() {
    let (_dir, server) = fresh_relay(config).await;
    let (token, _) = server.token(Role::Write, Scope::All);
    let docs: Vec<String> = (0..300).map(|_| doc_id()).collect();
    let mut full = ClientSession::new("ana", Some("ana-storage".into()));
    let mut empty = ClientSession::new("ben", Some("ben-storage".into()));
    for (i, doc) in docs.iter().enumerate() {
        full.add_doc(doc, doc_with("n", i as i64), None);
        empty.add_doc(doc, AutoCommit::new(), None);
    }
    // Neither the rate limit nor the slow-reader limit is reached by a real initial sync.
    let mut ana = Peer::join(&server.url(Some(&token)), full).await;
    ana.sync_until(|s| s.settled()).await;
    let mut ben = Peer::join(&server.url(Some(&token)), empty).await;
    ben.sync_until(|s| docs.iter().all(|d| has(s, d, "n")))
        .await;
    server.stop().await;
}

/// With documents spread over several hub threads, one connection's workspaces are handled by
/// different hubs; every one of them must still reach the other device, survive a restart, and
/// be counted once per peer in `/health`.
#[tokio::test]
async fn workspaces_spread_over_four_hub_threads_all_sync_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let sharded = ServerConfig {
        hub_threads: 4,
        ..config(dir.path())
    };
    let server = TestServer::start(sharded.clone()).await;
    let (token, _) = server.token(Role::Write, Scope::All);
    let docs: Vec<String> = (0..40).map(|_| doc_id()).collect();
    let mut full = ClientSession::new("ana", Some("ana-storage".into()));
    for (i, doc) in docs.iter().enumerate() {
        full.add_doc(doc, doc_with("n", i as i64), None);
    }
    let mut ana = Peer::join(&server.url(Some(&token)), full).await;
    ana.sync_until(|s| s.settled()).await;
    let mut empty = ClientSession::new("ben", None);
    for doc in &docs {
        empty.add_doc(doc, AutoCommit::new(), None);
    }
    let mut ben = Peer::join(&server.url(Some(&token)), empty).await;
    ben.sync_until(|s| docs.iter().all(|d| has(s, d, "n")))
        .await;
    ben.change(&docs[0], "mentee", 1).await;
    ben.change(&docs[39], "mentee", 2).await;
    ben.sync_until(|s| s.settled()).await;
    ana.sync_until(|s| has(s, &docs[0], "mentee") && has(s, &docs[39], "mentee"))
        .await;
    let h = health(server.addr).await;
    assert_eq!(h["peers"], 2, "{h}");
    server.stop().await;

    let server = TestServer::start(sharded).await;
    let mut empty = ClientSession::new("cleo", None);
    for doc in &docs {
        empty.add_doc(doc, AutoCommit::new(), None);
    }
    let mut cleo = Peer::join(&server.url(Some(&token)), empty).await;
    cleo.sync_until(|s| docs.iter().all(|d| has(s, d, "n")) && has(s, &docs[39], "mentee"))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_message_beyond_tungstenites_default_16_mib_frame_limit_is_accepted() {
    let (_dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let mut ana = Peer::share(&server.url(None), "ana", &doc, doc_with("x", 1)).await;
    // An ephemeral message is the cheapest large message: the relay decodes it in full and
    // forwards it, without automerge or storage work that would make the test slow.
    let big = Message::Ephemeral {
        sender_id: "ana".into(),
        target_id: "relay".into(),
        count: 1,
        session_id: "s".into(),
        document_id: doc.clone(),
        data: vec![1u8; 17 << 20],
    };
    send(&mut ana.ws, &big).await;
    // The connection survived it: a change still goes through.
    ana.change(&doc, "after", 1).await;
    ana.sync_until(|s| s.settled()).await;
    server.stop().await;
}
