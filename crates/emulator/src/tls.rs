//! `--tls`: a local CA and a `localhost` server certificate, generated on first use and kept in a directory.
//!
//! Clients trust `ca.pem` (for Python: `SSL_CERT_FILE=<dir>/ca.pem`; for rustls: add it as a root).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// File name of the CA certificate clients must trust.
pub const CA_FILE: &str = "ca.pem";
const CERT_FILE: &str = "server.pem";
const KEY_FILE: &str = "server.key";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

/// Creates `ca.pem`, `server.pem` and `server.key` in `dir` unless they exist.
fn ensure_files(dir: &Path) -> Result<(), Error> {
    if [CA_FILE, CERT_FILE, KEY_FILE]
        .iter()
        .all(|f| dir.join(f).is_file())
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "gemlive emulator local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(tls_err)?;
    let issuer = Issuer::new(ca, ca_key);

    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut leaf = CertificateParams::new(names).map_err(tls_err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(tls_err)?;

    let write = |name: &str, data: String| -> Result<(), Error> {
        let p = dir.join(name);
        std::fs::write(&p, data).map_err(io(&p))
    };
    write(KEY_FILE, leaf_key.serialize_pem())?;
    write(CERT_FILE, format!("{}{}", leaf_cert.pem(), ca_cert.pem()))?;
    write(CA_FILE, ca_cert.pem())
}

/// Loads (creating on first use) the server configuration; returns it with the path of `ca.pem`.
pub(crate) fn server_config(dir: &Path) -> Result<(Arc<rustls::ServerConfig>, PathBuf), Error> {
    ensure_files(dir)?;
    let cert_path = dir.join(CERT_FILE);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(tls_err)?
        .collect::<Result<_, _>>()
        .map_err(tls_err)?;
    let key = PrivateKeyDer::from_pem_file(dir.join(KEY_FILE)).map_err(tls_err)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), dir.join(CA_FILE)))
}
