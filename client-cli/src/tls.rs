//! TLS towards a relay: which certificates to trust, and what to say when one is refused.
//!
//! `wss://` and `https://` relays are verified against the operating system's roots (read with
//! rustls-native-certs, which also honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), plus the
//! private certificate authority given with `--ca-file`, if any. rustls runs on the `ring`
//! provider everywhere in tandem.
//!
//! A refused certificate becomes one line that names the problem ([`explain`]): expired, not
//! for this host name, or signed by an authority this device does not trust.

use anyhow::{anyhow, bail, Context as _, Result};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// The crypto provider: ring, not rustls's default aws-lc-rs, which builds twice as slowly.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file holding one or more CA certificates.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("cannot read the CA file {}: {e}", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    Ok(certs)
}

/// The roots to trust: the system's, plus those of `ca_file`.
pub fn roots(ca_file: Option<&Path>) -> Result<Vec<CertificateDer<'static>>> {
    let native = rustls_native_certs::load_native_certs();
    let mut roots = native.certs;
    if let Some(path) = ca_file {
        roots.extend(read_ca_file(path)?);
    }
    Ok(roots)
}

/// A client configuration that trusts [`roots`].
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut store = RootCertStore::empty();
    // Unparseable system certificates are skipped, as browsers do; a bad `--ca-file` already
    // failed in `roots`.
    let (_added, _ignored) = store.add_parsable_certificates(roots(ca_file)?);
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The rustls error somewhere in `error`'s chain (tokio-rustls wraps it in an `io::Error`).
pub fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = inner.downcast_ref::<rustls::Error>() {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}

/// One line naming what went wrong with TLS towards `host`.
pub fn explain(error: &rustls::Error, host: &str) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the relay's certificate for {host} has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the relay's certificate for {host} is not valid yet (check this device's clock)")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the relay's certificate is not valid for the host name {host}")
            }
            CertificateError::UnknownIssuer => format!(
                "the relay's certificate for {host} is signed by an unknown certificate authority; if the relay uses a private CA, pass its certificate with --ca-file"
            ),
            CertificateError::Revoked => format!("the relay's certificate for {host} is revoked"),
            other => format!("the relay's certificate for {host} was refused: {other}"),
        },
        rustls::Error::InvalidMessage(_) => format!(
            "the relay at {host} did not answer with TLS; if it serves plain ws://, use a ws:// URL"
        ),
        other => format!("TLS with the relay at {host} failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_get_one_line_each() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(
            explain(&expired, "relay.example"),
            "the relay's certificate for relay.example has expired"
        );
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(explain(&name, "relay.example").contains("not valid for the host name"));
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(explain(&unknown, "relay.example").contains("--ca-file"));
        for e in [expired, name, unknown] {
            assert!(!explain(&e, "h").contains('\n'));
        }
    }

    #[test]
    fn a_rustls_error_is_found_inside_an_io_error() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let wrapped = anyhow::Error::new(io).context("connecting");
        let found = find_rustls_error(wrapped.as_ref());
        assert!(matches!(
            found,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let error = read_ca_file(&path).unwrap_err().to_string();
        assert!(error.contains("holds no PEM certificate"), "{error}");
        assert!(read_ca_file(&dir.path().join("missing.pem")).is_err());
    }
}
