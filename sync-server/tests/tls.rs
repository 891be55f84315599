//! The relay over TLS: `wss://` and `https://` on one port, hostile bytes on that port, and a
//! certificate renewed while clients stay connected.

mod common;

use common::certs::{connect_tls, TestCa, TrustsTestCa};
use common::*;
use std::time::Duration;
use tandem_server::{ServerConfig, TlsFiles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An open relay serving TLS with a certificate from `ca`.
async fn tls_server(dir: &std::path::Path, ca: &TestCa) -> (TestServer, TlsFiles) {
    let (cert, key) = ca.issue_loopback(dir, "relay");
    let files = TlsFiles::load(&cert, &key).unwrap();
    let server = TestServer::start(ServerConfig {
        open: true,
        tls: Some(files.clone()),
        ..config(&dir.join("data"))
    })
    .await;
    (server, files)
}

/// Whether the relay closes `stream` (EOF or reset) within the test's wait.
async fn closed_by_relay(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A TLS alert may come first; the close follows.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn two_peers_sync_through_wss_and_health_answers_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("relay");
    let (server, _) = tls_server(dir.path(), &ca).await;
    let doc = doc_id();
    let (mut ana, mut ben) = syncing_pair_tls(&server.url_tls(None), &ca, &doc).await;
    ben.change(&doc, "from-ben", 1).await;
    // The writer keeps answering the relay until it holds the change, as a real client does,
    // so the test does not depend on what was still in flight when it wrote.
    ben.sync_until(|s| s.settled()).await;
    ana.sync_until(|s| has(s, &doc, "from-ben")).await;
    let (status, health) = https(server.addr, ca.client_config(), "GET", "/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["peers"], 2);
    server.stop().await;
}

#[tokio::test]
async fn plaintext_and_garbage_on_the_tls_port_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("relay");
    let (server, _) = tls_server(dir.path(), &ca).await;
    let doc = doc_id();
    let (mut ana, mut ben) = syncing_pair_tls(&server.url_tls(None), &ca, &doc).await;

    let attempts: [&[u8]; 3] = [
        b"GET /health HTTP/1.1\r\nHost: relay\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
        &[0xff; 4096],
    ];
    for (i, bytes) in attempts.iter().enumerate() {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        assert!(
            closed_by_relay(&mut stream).await,
            "attempt {i} stayed open"
        );
        let key = format!("after-{i}");
        ana.send_change_to(&mut ben, &doc, &key, i as i64).await;
    }
    // A plain websocket client gets no websocket either.
    let plain = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.url(None)))
        .await
        .expect("an answer in time");
    assert!(plain.is_err());
    wait_for_health_tls(&server, &ca, |h| h["connections"] == 2).await;
    server.stop().await;
}

#[tokio::test]
async fn a_reloaded_certificate_serves_new_connections_and_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (TestCa::new("old"), TestCa::new("new"));
    let (server, files) = tls_server(dir.path(), &old_ca).await;
    let doc = doc_id();
    let (mut ana, mut ben) = syncing_pair_tls(&server.url_tls(None), &old_ca, &doc).await;

    // A bad file is refused and the old certificate stays in service.
    std::fs::write(&files.cert, "not a certificate").unwrap();
    assert!(files.reload().is_err());
    assert!(connect_tls(&server.url_tls(None), old_ca.client_config())
        .await
        .is_ok());

    // The renewal: new files in the same place, then a reload.
    let (renewed_cert, renewed_key) = new_ca.issue_loopback(dir.path(), "renewed");
    std::fs::copy(&renewed_cert, &files.cert).unwrap();
    std::fs::copy(&renewed_key, &files.key).unwrap();
    files.reload().unwrap();
    assert!(
        connect_tls(&server.url_tls(None), old_ca.client_config())
            .await
            .is_err(),
        "new connections get the new certificate"
    );
    let ws = connect_tls(&server.url_tls(None), new_ca.client_config())
        .await
        .unwrap();
    let mut cleo = Peer::catch_up_over(ws, "cleo", &doc, "start").await;

    // The connections made before the renewal carry on.
    ana.change(&doc, "after-renewal", 1).await;
    ana.sync_until(|s| s.settled()).await;
    ben.sync_until(|s| has(s, &doc, "after-renewal")).await;
    cleo.sync_until(|s| has(s, &doc, "after-renewal")).await;
    server.stop().await;
}

/// Wait until `/health`, read over HTTPS, satisfies `check`.
async fn wait_for_health_tls(
    server: &TestServer,
    ca: &TestCa,
    check: impl Fn(&serde_json::Value) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, h) = https(server.addr, ca.client_config(), "GET", "/health").await;
        if check(&h) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health never matched: {h}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
