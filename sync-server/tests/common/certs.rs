//! Certificates made at test time: a private CA, and relay certificates it signs.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A certificate authority that exists only for one test.
pub struct TestCa {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A relay certificate and its key, as PEM files.
pub struct RelayCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Write the CA certificate to `dir/ca.pem`.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }

    /// A certificate for `names`, valid from `not_before` to `not_after` (years), written to
    /// `dir/{stem}.pem` and `dir/{stem}.key`.
    pub fn issue_dated(
        &self,
        dir: &Path,
        stem: &str,
        names: &[&str],
        valid: (i32, i32),
    ) -> RelayCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, stem);
        params.not_before = rcgen::date_time_ymd(valid.0, 1, 1);
        params.not_after = rcgen::date_time_ymd(valid.1, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let relay = RelayCert {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&relay.cert, cert.pem()).unwrap();
        std::fs::write(&relay.key, key.serialize_pem()).unwrap();
        relay
    }

    /// A certificate for 127.0.0.1 and localhost, valid now.
    pub fn issue(&self, dir: &Path, stem: &str) -> RelayCert {
        self.issue_dated(dir, stem, &["127.0.0.1", "localhost"], (2020, 2100))
    }

    /// A client configuration that trusts this CA only.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
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
