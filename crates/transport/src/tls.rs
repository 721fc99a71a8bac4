//! TLS client configuration: rustls (ring) with the Mozilla roots from
//! `webpki-roots`, the system's certificates, and optionally a corporate CA
//! bundle file. Certificates are always verified.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Which certificate authorities to trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// Trust the Mozilla root set compiled in from `webpki-roots` (default on).
    pub webpki_roots: bool,
    /// Trust the operating system's certificates (default on). Honours
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`.
    pub native_roots: bool,
    /// A PEM file of extra CA certificates, e.g. a corporate TLS-inspection
    /// root or a test CA.
    pub extra_ca_file: Option<PathBuf>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            webpki_roots: true,
            native_roots: true,
            extra_ca_file: None,
        }
    }
}

impl TlsConfig {
    /// Trust only the CAs in `path` (no built-in or system roots): for tests
    /// and closed environments.
    pub fn only_ca_file(path: impl Into<PathBuf>) -> Self {
        Self {
            webpki_roots: false,
            native_roots: false,
            extra_ca_file: Some(path.into()),
        }
    }

    /// Builds the rustls client configuration (ALPN `http/1.1`).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native_roots {
            let native = rustls_native_certs::load_native_certs();
            for error in &native.errors {
                tracing::debug!("skipping unreadable system certificates: {error}");
            }
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            tracing::debug!("system roots: {added} added, {ignored} ignored");
        }
        if let Some(path) = &self.extra_ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TlsError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(TlsError::CaFile {
                    path: path.clone(),
                    reason: "no PEM certificates in the file".to_owned(),
                });
            }
            for cert in certs {
                roots.add(cert).map_err(|e| TlsError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        if roots.is_empty() {
            return Err(TlsError::NoRoots);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA bundle file is unreadable or holds no usable certificate.
    #[error("CA file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Every root source was switched off or empty.
    #[error("no trusted root certificates (enable webpki or system roots, or give a CA file)")]
    NoRoots,
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roots_are_available() {
        TlsConfig::default().client_config().unwrap();
    }

    #[test]
    fn bad_ca_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = TlsConfig::only_ca_file(&missing)
            .client_config()
            .unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = TlsConfig::only_ca_file(&empty).client_config().unwrap_err();
        assert!(err.to_string().contains("no PEM certificates"), "{err}");
        let none = TlsConfig {
            webpki_roots: false,
            native_roots: false,
            extra_ca_file: None,
        };
        assert!(matches!(none.client_config(), Err(TlsError::NoRoots)));
    }
}
