//! What an operator can scrape: `GET /metrics` in the Prometheus text format.
//!
//! Read this if you add a metric. Counters kept by the connections (connections, messages and
//! bytes, refusals, invites) live in [`Metrics`] and are bumped where the event happens; the
//! engine's own figures (peers, documents in memory, changes stored) are read from the hub's
//! latest [`RelayStats`] at scrape time by a collector, so the hub keeps no second copy.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `tandem_connections` | gauge | live websocket connections |
//! | `tandem_connections_accepted_total` | counter | websocket connections accepted |
//! | `tandem_peers` | gauge | peers that have joined |
//! | `tandem_documents_in_memory` | gauge | documents held in memory |
//! | `tandem_messages_received_total`, `tandem_messages_sent_total` | counter | protocol messages |
//! | `tandem_received_bytes_total`, `tandem_sent_bytes_total` | counter | their encoded bytes |
//! | `tandem_changes_stored_total` | counter | automerge changes written to disk |
//! | `tandem_flush_seconds` | histogram | how long each storage flush took |
//! | `tandem_checkpoints_total`, `tandem_checkpoint_failures_total` | counter | journal checkpoints into sled that completed and that failed (a failure loses nothing, but the journal and memory grow until one completes) |
//! | `tandem_refusals_total{reason}` | counter | connections or requests turned away, by reason |
//! | `tandem_invites_created_total` | counter | invite codes made through `POST /v1/invites` |
//! | `tandem_invite_redemptions_total` | counter | invite codes redeemed (`POST /v1/invites/redeem` answered 200) |
//!
//! No label ever carries a token, a peer id or a document id: labels are a small fixed set, so
//! the series count stays bounded whatever clients send.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tandem_core::store::Journaled;
use tandem_core::sync::RelayStats;
use tokio::sync::watch;

/// Why a connection or request was turned away; the `reason` label of
/// `tandem_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// No token, an unknown one, or a revoked one (websocket or invite).
    Token,
    /// The TLS handshake failed or timed out (plaintext on a TLS port, garbage, a stall).
    TlsHandshake,
    /// An `Upgrade: websocket` request without a valid websocket handshake.
    BadUpgrade,
    /// A websocket closed for breaking the protocol (undecodable, text frames, no join, ...).
    Protocol,
    /// A websocket closed for sending too fast.
    RateLimit,
    /// A websocket closed for a message above the size cap.
    TooLarge,
    /// A websocket dropped for not answering pings. (Slow readers, dropped by the hub when
    /// their outbox fills, are not counted here.)
    Unresponsive,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Refusal::Token,
        Refusal::TlsHandshake,
        Refusal::BadUpgrade,
        Refusal::Protocol,
        Refusal::RateLimit,
        Refusal::TooLarge,
        Refusal::Unresponsive,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::Token => "token",
            Refusal::TlsHandshake => "tls_handshake",
            Refusal::BadUpgrade => "bad_upgrade",
            Refusal::Protocol => "protocol",
            Refusal::RateLimit => "rate_limit",
            Refusal::TooLarge => "too_large",
            Refusal::Unresponsive => "unresponsive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The relay's counters, shared by every connection.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Live websocket connections, also reported by `/health`.
    pub connections: Arc<AtomicUsize>,
    pub accepted: Counter,
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    refusals: Family<ReasonLabel, Counter>,
    pub invites_created: Counter,
    pub invite_redemptions: Counter,
    /// Seconds per storage flush; the hub observes into it.
    pub flush_seconds: Histogram,
}

/// The engine's figures, read from the hub's latest stats and the journal at scrape time.
#[derive(Debug)]
struct EngineFigures {
    stats: watch::Receiver<RelayStats>,
    connections: Arc<AtomicUsize>,
    journal: Arc<Journaled>,
}

impl Collector for EngineFigures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.stats.borrow().clone();
        let checkpoints = self.journal.checkpoint_counts();
        let gauges = [
            (
                "tandem_connections",
                "Live websocket connections",
                self.connections.load(Ordering::Relaxed) as i64,
            ),
            ("tandem_peers", "Peers that have joined", stats.peers as i64),
            (
                "tandem_documents_in_memory",
                "Documents held in memory",
                stats.documents_in_memory as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counters = [
            (
                "tandem_changes_stored",
                "Automerge changes written to disk",
                stats.changes_stored,
            ),
            (
                "tandem_peers_refused",
                "Joins the engine refused (peer id taken by another token, bad join)",
                stats.peers_refused,
            ),
            (
                "tandem_checkpoints",
                "Journal checkpoints into the store that completed",
                checkpoints.done,
            ),
            (
                "tandem_checkpoint_failures",
                "Journal checkpoints into the store that failed (nothing is lost; the journal grows)",
                checkpoints.failed,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// The relay's metrics, reading the engine's figures from `stats` and the checkpoint
    /// counts from `journal`.
    pub fn new(stats: watch::Receiver<RelayStats>, journal: Arc<Journaled>) -> Self {
        let mut registry = Registry::default();
        let connections = Arc::new(AtomicUsize::new(0));
        registry.register_collector(Box::new(EngineFigures {
            stats,
            connections: connections.clone(),
            journal,
        }));
        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let accepted = counter(
            "tandem_connections_accepted",
            "Websocket connections accepted",
        );
        let messages_in = counter("tandem_messages_received", "Protocol messages received");
        let messages_out = counter("tandem_messages_sent", "Protocol messages sent");
        let bytes_in = counter(
            "tandem_received_bytes",
            "Bytes of protocol messages received",
        );
        let bytes_out = counter("tandem_sent_bytes", "Bytes of protocol messages sent");
        let invites_created = counter(
            "tandem_invites_created",
            "Invite codes made through POST /v1/invites",
        );
        let invite_redemptions = counter(
            "tandem_invite_redemptions",
            "Invite codes redeemed for a token",
        );
        let refusals = Family::<ReasonLabel, Counter>::default();
        // Every reason is shown from the start, at zero, so that alerts need no special case.
        for reason in Refusal::ALL {
            let _ = refusals.get_or_create(&ReasonLabel {
                reason: reason.label(),
            });
        }
        registry.register(
            "tandem_refusals",
            "Connections and requests turned away, by reason",
            refusals.clone(),
        );
        // From 1 ms to about 4 s: an fsync on a healthy disk is well under 10 ms.
        let flush_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 13));
        registry.register(
            "tandem_flush_seconds",
            "How long each storage flush took",
            flush_seconds.clone(),
        );
        Self {
            registry,
            connections,
            accepted,
            messages_in,
            messages_out,
            bytes_in,
            bytes_out,
            refusals,
            invites_created,
            invite_redemptions,
            flush_seconds,
        }
    }

    /// Count a refusal.
    pub fn refused(&self, reason: Refusal) {
        self.refusals
            .get_or_create(&ReasonLabel {
                reason: reason.label(),
            })
            .inc();
    }

    /// The `Content-Type` of [`Metrics::render`]'s output.
    pub const CONTENT_TYPE: &'static str =
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
