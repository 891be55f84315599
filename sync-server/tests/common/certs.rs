//! Certificates made at test time, and TLS clients that trust them.
//!
//! The CA itself is the end-to-end tests' (`tests/tests/certs/mod.rs`), included here so that
//! both test suites make certificates the same way; this file adds what only the relay's own
//! tests need: rustls clients.

use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[path = "../../../tests/tests/certs/mod.rs"]
mod ca;
pub use ca::TestCa;

/// A rustls client configuration that trusts a test CA only.
pub trait TrustsTestCa {
    fn client_config(&self) -> Arc<rustls::ClientConfig>;
}

impl TrustsTestCa for TestCa {
    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from_pem_slice(self.pem.as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

/// Open a `wss://` websocket trusting `config`'s roots.
pub async fn connect_tls(
    url: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<super::Ws, tokio_tungstenite::tungstenite::Error> {
    let request = url.into_client_request().unwrap();
    let connector = tokio_tungstenite::Connector::Rustls(config);
    tokio::time::timeout(
        super::WAIT,
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector)),
    )
    .await
    .expect("connect in time")
    .map(|(ws, _)| ws)
}

/// A TLS connection to the relay at `addr`, trusting `config`'s roots.
pub async fn tls_stream(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::from(addr.ip());
    tokio::time::timeout(
        super::WAIT,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .expect("a TLS handshake in time")
    .expect("the relay's certificate is trusted")
}
