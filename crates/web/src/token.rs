//! Minting ephemeral tokens (`POST /v1alpha/auth_tokens`, reference §1.3) for direct mode: one
//! use, Google's default lifetimes (30 minutes, a new session within 60 s), and the page's setup
//! locked by a field mask that leaves only `sessionResumption` to the browser.
//!
//! A plain HTTP/1.1 exchange over the transport crate's TLS roots; no proxy support. The facade
//! crate's `client.tokens().create(...)` replaces this module when it lands.

use std::sync::Arc;
use std::time::Duration;

use protocol::wire::Setup;
use rustls_pki_types::ServerName;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use transport::{Secret, TlsConfig};
use url::Url;

const MINT_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest token response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// A minted token.
#[derive(Debug)]
pub(crate) struct Minted {
    /// `auth_tokens/...`: the credential the browser presents.
    pub(crate) name: Secret,
    /// When sessions using it stop, as the server wrote it.
    pub(crate) expire_time: Option<String>,
}

/// Why no token.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MintError {
    #[error("the token service refused (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("cannot reach the token service: {0}")]
    Network(String),
}

/// The request body: a single-use token locking every field of `setup` it sets, except the
/// resumption settings (the browser sends its handle there).
pub(crate) fn request_body(setup: &Setup) -> Value {
    let mut locked = serde_json::to_value(setup).unwrap_or_else(|_| json!({}));
    let mut mask = Vec::new();
    if let Value::Object(fields) = &mut locked {
        fields.remove("sessionResumption");
        mask.extend(fields.keys().cloned());
    }
    json!({
        "uses": 1,
        "bidiGenerateContentSetup": locked,
        "fieldMask": mask.join(","),
    })
}

/// Mints a token at `url` (`.../v1alpha/auth_tokens`) with the server's API key.
pub(crate) async fn mint(
    url: &Url,
    key: &Secret,
    tls: &TlsConfig,
    setup: &Setup,
) -> Result<Minted, MintError> {
    let body = request_body(setup).to_string();
    let exchange = post(url, key, tls, &body);
    let (status, body) = tokio::time::timeout(MINT_TIMEOUT, exchange)
        .await
        .map_err(|_| MintError::Network(format!("no answer within {MINT_TIMEOUT:?}")))??;
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status != 200 {
        let message = value["error"]["message"].as_str().map_or_else(
            || String::from_utf8_lossy(&body).chars().take(300).collect(),
            str::to_owned,
        );
        return Err(MintError::Refused { status, message });
    }
    let name = value["name"]
        .as_str()
        .filter(|n| n.starts_with("auth_tokens/"))
        .ok_or_else(|| MintError::Refused {
            status,
            message: "the answer has no token name".into(),
        })?;
    Ok(Minted {
        name: Secret::new(name),
        expire_time: value["expireTime"].as_str().map(str::to_owned),
    })
}

async fn post(
    url: &Url,
    key: &Secret,
    tls: &TlsConfig,
    body: &str,
) -> Result<(u16, Vec<u8>), MintError> {
    let net = |e: &dyn std::fmt::Display| MintError::Network(e.to_string());
    let host = url.host_str().ok_or_else(|| net(&"the URL has no host"))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| net(&e))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         x-goog-api-key: {}\r\nUser-Agent: gemlive-web/{}\r\nConnection: close\r\n\r\n",
        body.len(),
        key.expose(),
        env!("CARGO_PKG_VERSION"),
    );
    if url.scheme() == "https" {
        let config = tls.client_config().map_err(|e| net(&e))?;
        let name = ServerName::try_from(host.to_owned()).map_err(|e| net(&e))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(&config))
            .connect(name, tcp)
            .await
            .map_err(|e| net(&e))?;
        exchange(stream, &head, body).await
    } else {
        exchange(tcp, &head, body).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    head: &str,
    body: &str,
) -> Result<(u16, Vec<u8>), MintError> {
    let net = |e: std::io::Error| MintError::Network(e.to_string());
    stream.write_all(head.as_bytes()).await.map_err(net)?;
    stream.write_all(body.as_bytes()).await.map_err(net)?;
    stream.flush().await.map_err(net)?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE as u64)
        .read_to_end(&mut response)
        .await
        .map_err(net)?;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&response) {
        Ok(httparse::Status::Complete(len)) => {
            let chunked = parsed.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("transfer-encoding")
                    && String::from_utf8_lossy(h.value).contains("chunked")
            });
            let body = &response[len..];
            let body = if chunked {
                dechunk(body)
            } else {
                body.to_vec()
            };
            Ok((parsed.code.unwrap_or(0), body))
        }
        _ => Err(MintError::Network("an unreadable HTTP answer".into())),
    }
}

/// The payload of a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else {
            break;
        };
        let start = line_end + 2;
        let Some(chunk) = body.get(start..start + size) else {
            break;
        };
        out.extend_from_slice(chunk);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_locks_everything_but_resumption() {
        let mut setup = Setup::new("models/m");
        setup.session_resumption = Some(Default::default());
        setup.input_audio_transcription = Some(Default::default());
        let body = request_body(&setup);
        assert_eq!(body["uses"], 1);
        assert!(
            body["bidiGenerateContentSetup"]
                .get("sessionResumption")
                .is_none()
        );
        assert_eq!(body["fieldMask"], "inputAudioTranscription,model");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n"),
            b"abcdefg"
        );
        assert_eq!(dechunk(b"zz\r\n"), b"");
        assert_eq!(dechunk(b"10\r\nshort"), b"");
    }
}
