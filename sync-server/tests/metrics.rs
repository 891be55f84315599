//! `/metrics` under a known load: every counter matches what the test did.

mod common;

use common::*;
use std::collections::HashMap;
use tandem_server::tokens::{Role, Scope};
use tandem_server::ServerConfig;

fn get(m: &HashMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("no {series} in {m:#?}"))
}

#[tokio::test]
async fn metrics_count_a_known_load() {
    let dir = tempfile::tempdir().unwrap();
    // A checkpoint after every flush that finds none running, so that some complete.
    let server = TestServer::start(ServerConfig {
        checkpoint_bytes: 1,
        ..config(dir.path())
    })
    .await;
    let before = metrics(server.addr).await;
    assert_eq!(get(&before, "tandem_connections"), 0.0);
    assert_eq!(get(&before, "tandem_refusals_total{reason=\"token\"}"), 0.0);
    assert_eq!(get(&before, "tandem_flush_seconds_count"), 0.0);
    // What the relay stores as it starts may already have been checkpointed, so only the
    // failures are known here.
    assert_eq!(get(&before, "tandem_checkpoint_failures_total"), 0.0);

    let doc = doc_id();
    let (mentor, _) = server.token(Role::Write, Scope::docs(&[&doc]).unwrap());
    // Two refusals: no token, and a forged one.
    assert_eq!(refused_status(&server.url(None)).await, 401);
    assert_eq!(refused_status(&server.url(Some("tdm_forged"))).await, 401);
    // One invite, redeemed once; its token then serves two connections.
    let body = format!(r#"{{"workspace":"{doc}","role":"mentee"}}"#);
    let (status, answer) = http(
        server.addr,
        "POST",
        "/v1/invites",
        Some(&mentor),
        Some(&body),
    )
    .await;
    assert_eq!(status, 201);
    let redeem = serde_json::json!({ "code": answer["code"] }).to_string();
    let (status, answer) = http(
        server.addr,
        "POST",
        "/v1/invites/redeem",
        None,
        Some(&redeem),
    )
    .await;
    assert_eq!(status, 200);
    let invited = answer["token"].as_str().unwrap().to_string();

    let mut ana = Peer::share(
        &server.url(Some(&mentor)),
        "ana",
        &doc,
        doc_with("start", 0),
    )
    .await;
    let ben_url = server.url(Some(&invited));
    let mut first_ben = Peer::catch_up(&ben_url, "ben-laptop", &doc, "start").await;
    let mut ben = Peer::catch_up(&ben_url, "ben", &doc, "start").await;
    // Five changes from Ana, each seen by Ben.
    for i in 0..5 {
        let key = format!("goal-{i}");
        ana.send_change_to(&mut ben, &doc, &key, i).await;
    }
    first_ben.ws.close(None).await.unwrap();
    expect_closed(&mut first_ben.ws).await;

    let sent = ana.sent + first_ben.sent + ben.sent;
    let m = wait_for_metrics(server.addr, |m| {
        m.get("tandem_connections") == Some(&2.0)
            && m.get("tandem_peers") == Some(&2.0)
            && m.get("tandem_messages_received_total") == Some(&(sent as f64))
    })
    .await;
    assert_eq!(get(&m, "tandem_connections_accepted_total"), 3.0);
    assert_eq!(get(&m, "tandem_refusals_total{reason=\"token\"}"), 2.0);
    assert_eq!(get(&m, "tandem_refusals_total{reason=\"protocol\"}"), 0.0);
    assert_eq!(get(&m, "tandem_invites_created_total"), 1.0);
    assert_eq!(get(&m, "tandem_invite_redemptions_total"), 1.0);
    assert_eq!(get(&m, "tandem_documents_in_memory"), 1.0);
    // Ana's first change and her five goals.
    assert_eq!(get(&m, "tandem_changes_stored_total"), 6.0);
    let received = ana.received + first_ben.received + ben.received;
    assert!(get(&m, "tandem_messages_sent_total") >= received as f64);
    assert!(get(&m, "tandem_received_bytes_total") >= sent as f64);
    assert!(get(&m, "tandem_sent_bytes_total") >= received as f64);
    let flushes = get(&m, "tandem_flush_seconds_count");
    assert!(flushes >= 6.0, "{flushes} flushes");
    assert_eq!(get(&m, "tandem_flush_seconds_bucket{le=\"+Inf\"}"), flushes);
    // Checkpoints run beside the flushes, so the load's may still be under way.
    let started = get(&before, "tandem_checkpoints_total");
    let mut m = m;
    for _ in 0..100 {
        if get(&m, "tandem_checkpoints_total") > started {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        m = metrics(server.addr).await;
    }
    assert!(get(&m, "tandem_checkpoints_total") > started);
    assert_eq!(get(&m, "tandem_checkpoint_failures_total"), 0.0);
    server.stop().await;
}
