//! TLS on the relay's port: `wss://` and `https://` with rustls (ring), and certificate
//! renewals without a restart.
//!
//! Read this if you change how the certificate is loaded. [`TlsFiles`] names the PEM files;
//! [`TlsFiles::load`] reads them into a resolver that hands rustls the current certificate for
//! every new handshake. [`TlsFiles::reload`] (which `tandem-server` calls on `SIGHUP`) reads
//! the files again and swaps the certificate in: connections already open keep theirs, new
//! ones get the new one, and a bad file leaves the previous certificate in place.

use anyhow::{anyhow, bail, Context as _, Result};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The certificate chain and private key files of a TLS relay, and the certificate currently
/// served from them.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain (PEM), leaf first, as issued (e.g. Let's Encrypt's `fullchain.pem`).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    resolver: Arc<Resolver>,
}

/// Hands rustls whatever certificate was loaded last.
struct Resolver {
    current: RwLock<Arc<CertifiedKey>>,
}

/// Says nothing about the key: a `ServerConfig` is printed with `{:?}` now and then, and its
/// private key has no business in a log.
impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver { .. }")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a whole certificate (it is only ever replaced whole).
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read and check a certificate chain and its key.
fn read_pair(cert: &PathBuf, key: &PathBuf) -> Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("cannot read the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no PEM certificate", cert.display());
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow!("cannot read the private key {}: {e}", key.display()))?;
    CertifiedKey::from_der(chain, private, &provider()).with_context(|| {
        format!(
            "the key {} does not fit the certificate {}",
            key.display(),
            cert.display()
        )
    })
}

impl TlsFiles {
    /// Read the certificate and key; fails if either is unreadable or they do not match.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<Self> {
        let (cert, key) = (cert.into(), key.into());
        let pair = read_pair(&cert, &key)?;
        Ok(Self {
            cert,
            key,
            resolver: Arc::new(Resolver {
                current: RwLock::new(Arc::new(pair)),
            }),
        })
    }

    /// Read the files again and serve the new certificate to new connections. On error the
    /// previous certificate stays.
    pub fn reload(&self) -> Result<()> {
        let pair = read_pair(&self.cert, &self.key)?;
        *self
            .resolver
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
        Ok(())
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3, HTTP/1.1 only (websockets upgrade from
    /// it), certificates from the resolver.
    pub(crate) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_no_client_auth()
            .with_cert_resolver(self.resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}
