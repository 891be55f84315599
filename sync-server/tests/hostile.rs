//! Hostile and broken clients: each is closed with an `error` message, alone, while a
//! well-behaved pair keeps syncing through the same relay.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tandem_core::automerge::AutoCommit;
use tandem_core::protocol::Message;
use tandem_server::ServerConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// An open relay with small limits, so that the limits are quick to reach.
fn hostile_config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        max_message_bytes: 1 << 20,
        max_messages_per_sec: 200,
        max_messages_burst: 400,
        ..open_config(dir)
    }
}

#[derive(Debug, Clone, Copy)]
enum Attack {
    TextFrame,
    Garbage,
    BareCborNumber,
    BareCborNull,
    EmptyFrame,
    JoinWithoutSenderId,
    UnsupportedProtocolVersion,
    FirstFrameNotJoin,
    WrongSenderId,
    InvalidSyncData,
    InvalidDocumentId,
    OversizedFrame,
    Flood,
}

/// What the relay's error message must contain for each attack.
fn expected(attack: Attack) -> &'static str {
    match attack {
        Attack::TextFrame => "text frames are not supported",
        Attack::Garbage
        | Attack::BareCborNumber
        | Attack::BareCborNull
        | Attack::EmptyFrame
        | Attack::JoinWithoutSenderId => "invalid message",
        Attack::UnsupportedProtocolVersion => "unsupported protocol version",
        Attack::FirstFrameNotJoin => "expected a join message first",
        Attack::WrongSenderId => "senderId does not match",
        Attack::InvalidSyncData => "invalid sync message",
        Attack::InvalidDocumentId => "invalid documentId",
        Attack::OversizedFrame => "message too large",
        Attack::Flood => "too many messages",
    }
}

fn sync_to_relay(sender: &str, doc: &str, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: sender.into(),
        target_id: "relay".into(),
        document_id: doc.into(),
        data,
    }
}

/// Run one attack on a fresh connection and return the relay's error message; the connection
/// must be closed afterwards.
async fn attack(url: &str, attack: Attack, doc: &str) -> String {
    let mut ws = connect(url).await;
    let me = format!("mallory-{attack:?}");
    match attack {
        Attack::TextFrame => send_raw(&mut ws, WsMessage::Text("hello".into())).await,
        Attack::Garbage => {
            send_raw(&mut ws, WsMessage::Binary(vec![0xff, 0x00, 0x13].into())).await
        }
        Attack::BareCborNumber => send_raw(&mut ws, WsMessage::Binary(vec![0x01].into())).await,
        Attack::BareCborNull => send_raw(&mut ws, WsMessage::Binary(vec![0xf6].into())).await,
        Attack::EmptyFrame => send_raw(&mut ws, WsMessage::Binary(Vec::new().into())).await,
        Attack::JoinWithoutSenderId => {
            // {"type": "join"}
            let bytes = b"\xa1\x64type\x64join".to_vec();
            send_raw(&mut ws, WsMessage::Binary(bytes.into())).await
        }
        Attack::UnsupportedProtocolVersion => {
            let join = Message::Join {
                sender_id: me.clone(),
                supported_protocol_versions: Some(vec!["2".into()]),
                peer_metadata: None,
            };
            send(&mut ws, &join).await
        }
        Attack::FirstFrameNotJoin => {
            let data = tandem_core::sync::DocSync::default()
                .generate(&mut AutoCommit::new())
                .unwrap();
            send(&mut ws, &sync_to_relay(&me, doc, data)).await
        }
        Attack::WrongSenderId => {
            join_as(&mut ws, &me).await;
            let data = tandem_core::sync::DocSync::default()
                .generate(&mut AutoCommit::new())
                .unwrap();
            send(&mut ws, &sync_to_relay("ana", doc, data)).await
        }
        Attack::InvalidSyncData => {
            join_as(&mut ws, &me).await;
            send(&mut ws, &sync_to_relay(&me, doc, vec![0x42, 1, 2, 3])).await
        }
        Attack::InvalidDocumentId => {
            join_as(&mut ws, &me).await;
            send(&mut ws, &sync_to_relay(&me, "../../etc", vec![0x42])).await
        }
        Attack::OversizedFrame => {
            join_as(&mut ws, &me).await;
            // The relay stops reading mid-frame, so the send may never finish; it runs on its
            // own while the answer is read.
            let (mut sink, mut stream) = ws.split();
            let big = WsMessage::Binary(vec![0u8; 2 << 20].into());
            let sending = tokio::spawn(async move {
                let _ = sink.send(big).await;
                sink
            });
            let error = expect_error_and_close(&mut stream).await;
            sending.abort();
            return error;
        }
        Attack::Flood => {
            join_as(&mut ws, &me).await;
            for _ in 0..2000 {
                let leave = Message::Leave {
                    sender_id: me.clone(),
                };
                if ws
                    .feed(WsMessage::Binary(leave.encode().into()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let _ = ws.flush().await;
        }
    }
    expect_error_and_close(&mut ws).await
}

#[tokio::test]
async fn each_hostile_input_closes_only_its_own_connection() {
    let (_dir, server) = fresh_relay(hostile_config).await;
    let url = server.url(None);
    let doc = doc_id();
    let (mut ana, mut ben) = syncing_pair(&url, &doc).await;

    let attacks = [
        Attack::TextFrame,
        Attack::Garbage,
        Attack::BareCborNumber,
        Attack::BareCborNull,
        Attack::EmptyFrame,
        Attack::JoinWithoutSenderId,
        Attack::UnsupportedProtocolVersion,
        Attack::FirstFrameNotJoin,
        Attack::WrongSenderId,
        Attack::InvalidSyncData,
        Attack::InvalidDocumentId,
        Attack::OversizedFrame,
        Attack::Flood,
    ];
    for (i, &kind) in attacks.iter().enumerate() {
        let error = attack(&url, kind, &doc).await;
        assert!(
            error.contains(expected(kind)),
            "{kind:?}: unexpected error {error:?}"
        );
        // The pair is unaffected: a change still travels from Ana to Ben.
        let key = format!("after-{kind:?}");
        ana.send_change_to(&mut ben, &doc, &key, i as i64).await;
    }
    ben.send_change_to(&mut ana, &doc, "ben-last", 1).await;
    wait_for_health(server.addr, |h| h["peers"] == 2 && h["connections"] == 2).await;
    server.stop().await;
}

#[tokio::test]
async fn a_slow_reader_is_dropped_and_the_others_keep_syncing() {
    let (_dir, server) = fresh_relay(|dir| ServerConfig {
        outbox_capacity: 32,
        ..open_config(dir)
    })
    .await;
    let url = server.url(None);
    let doc = doc_id();
    let mut ana = Peer::share(&url, "ana", &doc, doc_with("start", 0)).await;
    let mut slow = Peer::catch_up(&url, "slow", &doc, "start").await;
    let mut ben = Peer::catch_up(&url, "ben", &doc, "start").await;

    // From here on `slow` reads nothing, while Ben keeps reading, as a healthy client does
    // (he only receives ephemeral messages meanwhile, which his session would ignore anyway).
    let (stop_reading, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let mut ben_ws = ben.ws;
    let ben_reader = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => return ben_ws,
                frame = ben_ws.next() => assert!(frame.is_some(), "ben was disconnected"),
            }
        }
    });
    // Ana broadcasts large ephemeral messages, which the relay forwards to every other peer
    // of the document. They are paced: a burst larger than the outbox, delivered in one hub
    // batch, would overflow even a reader that keeps up (that is what the outbox size is for).
    let payload = vec![7u8; 64 * 1024];
    for count in 1..=300u64 {
        let message = Message::Ephemeral {
            sender_id: "ana".into(),
            target_id: "relay".into(),
            count,
            session_id: "s".into(),
            document_id: doc.clone(),
            data: payload.clone(),
        };
        send(&mut ana.ws, &message).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    wait_for_health(server.addr, |h| h["peers"] == 2).await;
    stop_reading.send(()).unwrap();
    ben.ws = ben_reader.await.unwrap();
    ana.send_change_to(&mut ben, &doc, "still-working", 1).await;
    expect_closed(&mut slow.ws).await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_dropped() {
    let (_dir, server) = fresh_relay(|dir| ServerConfig {
        ping_interval: Duration::from_millis(100),
        ..open_config(dir)
    })
    .await;
    let mut ws = connect(&server.url(None)).await;
    send(&mut ws, &Message::join("sleepy", None)).await;
    // Not reading means tungstenite never answers the relay's pings.
    wait_for_health(server.addr, |h| h["connections"] == 0 && h["peers"] == 0).await;
    server.stop().await;
}

#[tokio::test]
async fn a_second_connection_of_the_same_peer_replaces_the_first() {
    let (_dir, server) = fresh_relay(open_config).await;
    let doc = doc_id();
    let mut first = Peer::share(&server.url(None), "ana", &doc, doc_with("a", 1)).await;
    let mut second = Peer::join(&server.url(None), session("ana", &doc, doc_with("b", 2))).await;
    expect_closed(&mut first.ws).await;
    second.sync_until(|s| s.settled()).await;
    server.stop().await;
}

#[tokio::test]
async fn the_error_message_names_the_relay_and_the_peer() {
    let (_dir, server) = fresh_relay(hostile_config).await;
    let mut ws = connect(&server.url(None)).await;
    let relay = join_as(&mut ws, "eve").await;
    send_raw(&mut ws, WsMessage::Text("hi".into())).await;
    let Some(Message::Error {
        message,
        sender_id,
        target_id,
    }) = recv(&mut ws).await
    else {
        panic!("no error message");
    };
    assert!(message.contains("text frames"), "{message}");
    assert_eq!(sender_id.as_deref(), Some(relay.as_str()));
    assert_eq!(target_id.as_deref(), Some("eve"));
    expect_closed(&mut ws).await;
    server.stop().await;
}

#[tokio::test]
async fn thousands_of_connections_opened_and_dropped_leave_the_pair_syncing() {
    let (_dir, server) = fresh_relay(hostile_config).await;
    let url = server.url(None);
    let doc = doc_id();
    let (mut ana, mut ben) = syncing_pair(&url, &doc).await;

    // 2,000 connections in waves of 100: half join first, half just vanish after the upgrade.
    for wave in 0..20 {
        let mut open = Vec::new();
        for i in 0..100 {
            let mut ws = connect(&url).await;
            if i % 2 == 0 {
                join_as(&mut ws, &format!("drive-by-{wave}-{i}")).await;
            }
            open.push(ws);
        }
        drop(open);
        let key = format!("wave-{wave}");
        ana.send_change_to(&mut ben, &doc, &key, wave).await;
    }
    // Every dropped connection is forgotten: only the pair remains.
    wait_for_health(server.addr, |h| h["peers"] == 2 && h["connections"] == 2).await;
    server.stop().await;
}

/// A real change with one byte flipped, in a well-formed sync message.
fn corrupt_change_message() -> Vec<u8> {
    let mut source = doc_with("evil", 1);
    let mut change = source.get_last_local_change().unwrap().raw_bytes().to_vec();
    let middle = change.len() / 2;
    change[middle] ^= 0x55;
    tandem_core::automerge::sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: Vec::new(),
        changes: vec![change].into(),
        flags: None,
        version: tandem_core::automerge::sync::MessageVersion::V1,
    }
    .encode()
}

#[tokio::test]
async fn a_corrupt_change_is_never_stored_or_passed_on() {
    let (_dir, server) = fresh_relay(hostile_config).await;
    let url = server.url(None);

    // For a document the relay does not hold, automerge refuses the change: the connection is
    // closed with an error.
    let mut ws = connect(&url).await;
    join_as(&mut ws, "mallory-new").await;
    send(
        &mut ws,
        &sync_to_relay("mallory-new", &doc_id(), corrupt_change_message()),
    )
    .await;
    let error = expect_error_and_close(&mut ws).await;
    assert!(error.contains("invalid changes"), "{error}");

    // For a document it holds, automerge drops the change silently (its checksum fails), so the
    // connection stays; what matters is that nothing of it is stored or reaches anyone.
    let doc = doc_id();
    let mut ana = Peer::share(&url, "ana", &doc, doc_with("start", 0)).await;
    let mut ws = connect(&url).await;
    join_as(&mut ws, "mallory-old").await;
    send(
        &mut ws,
        &sync_to_relay("mallory-old", &doc, corrupt_change_message()),
    )
    .await;
    ana.change(&doc, "after", 1).await;
    ana.sync_until(|s| s.settled()).await;
    let mut ben = Peer::catch_up(&url, "ben", &doc, "after").await;
    assert!(!has(&mut ben.session, &doc, "evil"));
    server.stop().await;
}

// ----- hostile HTTP and TLS -----

mod http_and_tls {
    use super::common::certs::{connect_tls, tls_stream, TestCa, TrustsTestCa};
    use super::common::*;
    use std::time::Duration;
    use tandem_server::tokens::{Role, Scope};
    use tandem_server::{ServerConfig, TlsFiles};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::Instant;

    /// How long the relay gives a client for its request head or its TLS handshake here.
    const PATIENCE: Duration = Duration::from_millis(300);

    /// Read what the relay sends until it closes the connection; panics if it stays open past
    /// `limit`. Returns the bytes read (bounded: a relay that talks on is a failure too).
    async fn read_until_closed(
        stream: &mut (impl tokio::io::AsyncRead + Unpin),
        limit: Duration,
    ) -> Vec<u8> {
        let deadline = Instant::now() + limit;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => panic!("the relay kept the connection open past {limit:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return answer,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buf[..n]);
                    assert!(answer.len() < 64 * 1024, "the relay answered at length");
                }
            }
        }
    }

    fn status_of(answer: &[u8]) -> Option<u16> {
        let text = String::from_utf8_lossy(answer);
        text.split(' ').nth(1).and_then(|s| s.parse().ok())
    }

    /// A token relay on TLS with short patience, and a pair syncing one document through it.
    async fn setup(dir: &std::path::Path) -> (TestServer, TestCa, String, Peer, Peer) {
        let ca = TestCa::new("hostile");
        let (cert, key) = ca.issue_loopback(dir, "relay");
        let server = TestServer::start(ServerConfig {
            tls: Some(TlsFiles::load(&cert, &key).unwrap()),
            header_timeout: PATIENCE,
            tls_handshake_timeout: PATIENCE,
            max_connections: 200,
            ..config(&dir.join("data"))
        })
        .await;
        let (token, _) = server.token(Role::Write, Scope::All);
        let doc = doc_id();
        let (ana, ben) = syncing_pair_tls(&server.url_tls(Some(&token)), &ca, &doc).await;
        (server, ca, doc, ana, ben)
    }

    #[tokio::test]
    async fn slow_and_oversized_request_heads_are_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (server, ca, doc, mut ana, mut ben) = setup(dir.path()).await;

        // Slow headers: one header line every 100 ms, for ever.
        let started = Instant::now();
        let mut slow = tls_stream(server.addr, ca.client_config()).await;
        slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        let dribble = async {
            for i in 0.. {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let line = format!("X-Slow-{i}: x\r\n");
                if slow.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), dribble).await;
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(3),
            "a slow head was tolerated for {elapsed:?}"
        );
        ana.send_change_to(&mut ben, &doc, "after-slow", 1).await;

        // A head larger than the relay's buffer, and one with too many headers: 431.
        let big = format!(
            "GET /health HTTP/1.1\r\nHost: relay\r\nX-Big: {}\r\n\r\n",
            "a".repeat(64 * 1024)
        );
        let many = format!(
            "GET /health HTTP/1.1\r\nHost: relay\r\n{}\r\n",
            (0..200)
                .map(|i| format!("X-{i}: y\r\n"))
                .collect::<String>()
        );
        for request in [big, many] {
            let mut stream = tls_stream(server.addr, ca.client_config()).await;
            // The relay may stop reading before the whole head is written.
            let _ = stream.write_all(request.as_bytes()).await;
            let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
            assert_eq!(status_of(&answer), Some(431), "{answer:?}");
        }
        ana.send_change_to(&mut ben, &doc, "after-oversized", 1)
            .await;
        server.stop().await;
    }

    #[tokio::test]
    async fn many_half_open_tls_handshakes_time_out_while_the_pair_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let (server, ca, doc, mut ana, mut ben) = setup(dir.path()).await;

        // 150 connections: some say nothing, some start a ClientHello and stall.
        let mut stalled = Vec::new();
        for i in 0..150 {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            if i % 2 == 0 {
                stream
                    .write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                    .await
                    .unwrap();
            }
            stalled.push(stream);
        }
        ana.send_change_to(&mut ben, &doc, "during-half-open", 1)
            .await;
        for stream in &mut stalled {
            read_until_closed(stream, PATIENCE + Duration::from_secs(3)).await;
        }
        ana.send_change_to(&mut ben, &doc, "after-half-open", 1)
            .await;
        // Every permit came back: a new client is served at once.
        let (status, metrics) = https(server.addr, ca.client_config(), "GET", "/health").await;
        assert_eq!(status, 200, "{metrics}");
        server.stop().await;
    }

    #[tokio::test]
    async fn upgrades_without_a_token_and_unknown_paths_are_refused_cheaply() {
        let dir = tempfile::tempdir().unwrap();
        let (server, ca, doc, mut ana, mut ben) = setup(dir.path()).await;

        for url in [server.url_tls(None), server.url_tls(Some("tdm_forged"))] {
            match connect_tls(&url, ca.client_config()).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 401)
                }
                other => panic!("expected 401, got {:?}", other.map(|_| ())),
            }
        }
        // An upgrade that is not a websocket handshake at all.
        let mut stream = tls_stream(server.addr, ca.client_config()).await;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        assert_eq!(status_of(&answer), Some(400));
        ana.send_change_to(&mut ben, &doc, "after-upgrades", 1)
            .await;

        for i in 0..100 {
            let path = format!("/{}/../wp-admin/{i}?x=%zz", "a".repeat(i));
            let mut stream = tls_stream(server.addr, ca.client_config()).await;
            let request = format!("GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let answer = read_until_closed(&mut stream, Duration::from_secs(3)).await;
            assert_eq!(status_of(&answer), Some(404));
            assert!(answer.len() < 1024);
        }
        ana.send_change_to(&mut ben, &doc, "after-unknown-paths", 1)
            .await;
        wait_for_metric(&server, &ca, "tandem_refusals_total{reason=\"token\"}", 2).await;
        wait_for_metric(
            &server,
            &ca,
            "tandem_refusals_total{reason=\"bad_upgrade\"}",
            1,
        )
        .await;
        server.stop().await;
    }

    /// Wait until `/metrics` shows `series` at `value`.
    async fn wait_for_metric(server: &TestServer, ca: &TestCa, series: &str, value: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut stream = tls_stream(server.addr, ca.client_config()).await;
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")
                .await
                .unwrap();
            let answer = read_until_closed(&mut stream, WAIT).await;
            let text = String::from_utf8_lossy(&answer).into_owned();
            let found = text
                .lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<u64>().ok());
            if found == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{series} never reached {value}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
