//! Proxies for the WebSocket: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` /
//! `NO_PROXY` from the environment or an explicit proxy URL, tunnelled with
//! HTTP `CONNECT` (optionally with Basic proxy credentials).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::endpoint::{ConfigError, parse_ip};
use crate::secret::redact_url;

/// Which proxy the WebSocket goes through.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// Read the environment at connect time (the default):
    /// `wss://` uses `HTTPS_PROXY`, then `ALL_PROXY`; `ws://` uses
    /// `HTTP_PROXY`, then `ALL_PROXY` (each also in lower case, which wins).
    /// Hosts matching `NO_PROXY` and loopback hosts go direct.
    #[default]
    FromEnv,
    /// Always connect directly.
    Direct,
    /// Always use this proxy, even for loopback hosts:
    /// `http://[user:password@]host:port` or `https://...` (HTTP CONNECT),
    /// `socks5://` or `socks5h://` (SOCKS5, names resolved by the proxy).
    Url(Url),
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FromEnv => f.write_str("FromEnv"),
            Self::Direct => f.write_str("Direct"),
            Self::Url(url) => f.debug_tuple("Url").field(&redact_url(url)).finish(),
        }
    }
}

impl ProxyConfig {
    /// An explicit proxy URL (`http://host:port`, `socks5h://host:1080`, ...).
    pub fn url(url: &str) -> Result<Self, ConfigError> {
        let url = parse_proxy_url(url)?;
        Ok(Self::Url(url))
    }

    /// The proxy to use for `target` (a `ws`/`wss` URL), if any.
    pub fn proxy_for(&self, target: &Url) -> Result<Option<Url>, ConfigError> {
        self.proxy_for_with(target, |name| std::env::var(name).ok())
    }

    /// [`ProxyConfig::proxy_for`] over any environment lookup.
    pub fn proxy_for_with(
        &self,
        target: &Url,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Url>, ConfigError> {
        match self {
            Self::Direct => Ok(None),
            Self::Url(url) => Ok(Some(url.clone())),
            Self::FromEnv => {
                let var = |name: &str| {
                    env(&name.to_ascii_lowercase())
                        .or_else(|| env(name))
                        .filter(|v| !v.trim().is_empty())
                };
                let host = target.host_str().unwrap_or_default();
                let port = target.port_or_known_default().unwrap_or(443);
                if crate::endpoint::is_loopback_host(target) {
                    return Ok(None);
                }
                if let Some(no_proxy) = var("NO_PROXY")
                    && no_proxy_matches(&no_proxy, host, port)
                {
                    return Ok(None);
                }
                let scheme_var = if target.scheme() == "ws" {
                    "HTTP_PROXY"
                } else {
                    "HTTPS_PROXY"
                };
                match var(scheme_var).or_else(|| var("ALL_PROXY")) {
                    Some(raw) => parse_proxy_url(&raw).map(Some),
                    None => Ok(None),
                }
            }
        }
    }
}

fn parse_proxy_url(raw: &str) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    // curl and most tools accept `host:port` without a scheme.
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("http://{raw}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| ConfigError::InvalidProxy(format!("cannot parse the proxy URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(ConfigError::InvalidProxy(format!(
            "{} proxies are not supported (use http://, https://, socks5:// or socks5h://)",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::InvalidProxy(
            "the proxy URL has no host".to_owned(),
        ));
    }
    Ok(url)
}

/// `NO_PROXY` matching as curl and Go do it: `*` matches everything; an
/// entry is a domain (matching itself and its subdomains, a leading `.` or
/// `*.` is ignored), an IP address, or a CIDR block, optionally with `:port`.
pub(crate) fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.parse().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = split_port(&entry);
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            if let Some((net, bits)) = name.split_once('/') {
                return match (parse_ip(net), bits.parse::<u8>(), host_ip) {
                    (Some(net), Ok(bits), Some(ip)) => in_cidr(ip, net, bits),
                    _ => false,
                };
            }
            if let Some(ip) = parse_ip(name) {
                return host_ip == Some(ip);
            }
            let domain = name
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_end_matches('.');
            !domain.is_empty()
                && (host == domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

/// Splits `host:port`, `[v6]:port` and bare hosts/IPs (an IPv6 address
/// without brackets has no port).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
        return (entry, None);
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// A proxy failure. Messages name the proxy without its credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// TCP to the proxy failed.
    #[error("cannot reach proxy {proxy}: {source}")]
    Connect {
        /// The proxy, redacted.
        proxy: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The proxy refused the tunnel.
    #[error("proxy {proxy} refused CONNECT {target}: {status_line}")]
    Refused {
        /// The proxy, redacted.
        proxy: String,
        /// `host:port` we asked for.
        target: String,
        /// The proxy's status line, e.g. `HTTP/1.1 407 Proxy Authentication Required`.
        status_line: String,
    },
    /// The proxy answered something that is not HTTP.
    #[error("proxy {proxy} sent an invalid CONNECT response: {detail}")]
    BadResponse {
        /// The proxy, redacted.
        proxy: String,
        /// What was wrong.
        detail: String,
    },
}

const MAX_CONNECT_RESPONSE: usize = 16 * 1024;

/// A byte stream the WebSocket can run over (TCP, or TLS to a proxy).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Opens a tunnel to `host:port` through `proxy`: `http://` and `https://`
/// proxies with `CONNECT`, `socks5://` (names resolved here) and
/// `socks5h://` (names resolved by the proxy). `tls` is used to reach an
/// `https://` proxy.
pub(crate) async fn connect_via_proxy(
    proxy: &Url,
    host: &str,
    port: u16,
    tls: impl FnOnce() -> Result<Arc<rustls::ClientConfig>, crate::TlsError>,
) -> Result<Box<dyn Io>, crate::Error> {
    let shown = redact_url(proxy);
    let proxy_host = proxy
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let default_port = if proxy.scheme().starts_with("socks") {
        1080
    } else {
        80
    };
    let proxy_port = proxy.port_or_known_default().unwrap_or(default_port);
    let mut tcp = TcpStream::connect((proxy_host.as_str(), proxy_port))
        .await
        .map_err(|source| ProxyError::Connect {
            proxy: shown.clone(),
            source,
        })?;
    tcp.set_nodelay(true).ok();
    match proxy.scheme() {
        "https" => {
            let name =
                ServerName::try_from(proxy_host.clone()).map_err(|_| ProxyError::BadResponse {
                    proxy: shown.clone(),
                    detail: format!("{proxy_host:?} is not a valid TLS server name"),
                })?;
            let mut stream = TlsConnector::from(tls()?)
                .connect(name, tcp)
                .await
                .map_err(|source| ProxyError::Connect {
                    proxy: shown.clone(),
                    source,
                })?;
            http_connect(&mut stream, proxy, &shown, host, port).await?;
            Ok(Box::new(stream))
        }
        "socks5" | "socks5h" => {
            socks5_connect(&mut tcp, proxy, &shown, host, port).await?;
            Ok(Box::new(tcp))
        }
        _ => {
            http_connect(&mut tcp, proxy, &shown, host, port).await?;
            Ok(Box::new(tcp))
        }
    }
}

/// `CONNECT host:port` on an open connection to an HTTP proxy.
async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &Url,
    shown: &str,
    host: &str,
    port: u16,
) -> Result<(), ProxyError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if !proxy.username().is_empty() {
        let user = percent_decode(proxy.username());
        let pass = percent_decode(proxy.password().unwrap_or_default());
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    let io_err = |source| ProxyError::Connect {
        proxy: shown.to_owned(),
        source,
    };
    stream.write_all(request.as_bytes()).await.map_err(io_err)?;
    stream.flush().await.map_err(io_err)?;

    // Read the response head byte by byte so that nothing after it (the
    // server's first TLS bytes) is consumed here.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_RESPONSE {
            return Err(ProxyError::BadResponse {
                proxy: shown.to_owned(),
                detail: "response head larger than 16 KiB".to_owned(),
            });
        }
        let byte = stream.read_u8().await.map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ProxyError::BadResponse {
                proxy: shown.to_owned(),
                detail: "connection closed before the response head ended".to_owned(),
            },
            _ => io_err(e),
        })?;
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default().trim().to_owned();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(code) if version.starts_with("HTTP/1.") && (200..300).contains(&code) => Ok(()),
        Some(_) if version.starts_with("HTTP/1.") => Err(ProxyError::Refused {
            proxy: shown.to_owned(),
            target: authority,
            status_line,
        }),
        _ => Err(ProxyError::BadResponse {
            proxy: shown.to_owned(),
            detail: format!("status line {status_line:?}"),
        }),
    }
}

/// The SOCKS5 handshake (RFC 1928, username/password from RFC 1929) and a
/// CONNECT to `host:port`.
async fn socks5_connect(
    stream: &mut TcpStream,
    proxy: &Url,
    shown: &str,
    host: &str,
    port: u16,
) -> Result<(), ProxyError> {
    let fail = |detail: String| ProxyError::BadResponse {
        proxy: shown.to_owned(),
        detail,
    };
    let io_err = |source| ProxyError::Connect {
        proxy: shown.to_owned(),
        source,
    };
    let user = percent_decode(proxy.username());
    let pass = percent_decode(proxy.password().unwrap_or_default());
    let with_auth = !user.is_empty();
    let greeting: &[u8] = if with_auth { &[5, 2, 0, 2] } else { &[5, 1, 0] };
    stream.write_all(greeting).await.map_err(io_err)?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await.map_err(io_err)?;
    match choice {
        [5, 0] => {}
        [5, 2] if with_auth => {
            let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(pass.len())) else {
                return Err(fail("SOCKS5 credentials longer than 255 bytes".to_owned()));
            };
            let mut auth = vec![1, ulen];
            auth.extend_from_slice(user.as_bytes());
            auth.push(plen);
            auth.extend_from_slice(pass.as_bytes());
            stream.write_all(&auth).await.map_err(io_err)?;
            let mut status = [0u8; 2];
            stream.read_exact(&mut status).await.map_err(io_err)?;
            if status[1] != 0 {
                return Err(ProxyError::Refused {
                    proxy: shown.to_owned(),
                    target: format!("{host}:{port}"),
                    status_line: "SOCKS5 username/password rejected".to_owned(),
                });
            }
        }
        [5, 0xff] => {
            return Err(ProxyError::Refused {
                proxy: shown.to_owned(),
                target: format!("{host}:{port}"),
                status_line: "SOCKS5 proxy accepts none of our authentication methods".to_owned(),
            });
        }
        other => return Err(fail(format!("unexpected SOCKS5 method choice {other:?}"))),
    }

    let mut request = vec![5, 1, 0];
    let address = match parse_ip(host) {
        Some(ip) => Some(ip),
        // socks5:// resolves here; socks5h:// lets the proxy resolve.
        None if proxy.scheme() == "socks5" => Some(
            tokio::net::lookup_host((host, port))
                .await
                .map_err(io_err)?
                .next()
                .ok_or_else(|| fail(format!("{host} did not resolve")))?
                .ip(),
        ),
        None => None,
    };
    match address {
        Some(IpAddr::V4(ip)) => {
            request.push(1);
            request.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            request.push(4);
            request.extend_from_slice(&ip.octets());
        }
        None => {
            let len = u8::try_from(host.len())
                .map_err(|_| fail("host name longer than 255 bytes".to_owned()))?;
            request.push(3);
            request.push(len);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await.map_err(io_err)?;

    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await.map_err(io_err)?;
    if reply[0] != 5 {
        return Err(fail(format!("not a SOCKS5 reply: {reply:?}")));
    }
    if reply[1] != 0 {
        let why = match reply[1] {
            1 => "general failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unknown error",
        };
        return Err(ProxyError::Refused {
            proxy: shown.to_owned(),
            target: format!("{host}:{port}"),
            status_line: format!("SOCKS5 error {}: {why}", reply[1]),
        });
    }
    // Skip the bound address and port.
    let skip = match reply[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => usize::from(stream.read_u8().await.map_err(io_err)?) + 2,
        other => return Err(fail(format!("unknown SOCKS5 address type {other}"))),
    };
    let mut rest = vec![0u8; skip];
    stream.read_exact(&mut rest).await.map_err(io_err)?;
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn env_selection() {
        let target = url("wss://generativelanguage.googleapis.com/ws");
        let cfg = ProxyConfig::FromEnv;
        let got = cfg
            .proxy_for_with(&target, env(&[("HTTPS_PROXY", "http://proxy:3128")]))
            .unwrap();
        assert_eq!(got.unwrap().as_str(), "http://proxy:3128/");
        let got = cfg
            .proxy_for_with(&target, env(&[("ALL_PROXY", "proxy2:8080")]))
            .unwrap();
        assert_eq!(got.unwrap().as_str(), "http://proxy2:8080/");
        let got = cfg
            .proxy_for_with(
                &target,
                env(&[
                    ("https_proxy", "http://lower:1"),
                    ("HTTPS_PROXY", "http://upper:1"),
                ]),
            )
            .unwrap();
        assert_eq!(got.unwrap().host_str(), Some("lower"));
        let got = cfg
            .proxy_for_with(
                &target,
                env(&[
                    ("HTTPS_PROXY", "http://p:1"),
                    ("NO_PROXY", ".googleapis.com"),
                ]),
            )
            .unwrap();
        assert_eq!(got, None);
        // Plain ws uses HTTP_PROXY, not HTTPS_PROXY.
        let ws = url("ws://10.1.2.3:9000/ws");
        assert_eq!(
            cfg.proxy_for_with(&ws, env(&[("HTTPS_PROXY", "http://p:1")]))
                .unwrap(),
            None
        );
        assert!(
            cfg.proxy_for_with(&ws, env(&[("HTTP_PROXY", "http://p:1")]))
                .unwrap()
                .is_some()
        );
        // Loopback never goes through an environment proxy ...
        let local = url("ws://127.0.0.1:9000/ws");
        assert_eq!(
            cfg.proxy_for_with(&local, env(&[("ALL_PROXY", "http://p:1")]))
                .unwrap(),
            None
        );
        // ... but does through an explicit one.
        let explicit = ProxyConfig::url("http://127.0.0.1:3128").unwrap();
        assert!(explicit.proxy_for_with(&local, env(&[])).unwrap().is_some());
        assert_eq!(
            ProxyConfig::Direct
                .proxy_for_with(&target, env(&[("HTTPS_PROXY", "http://p:1")]))
                .unwrap(),
            None
        );
    }

    #[test]
    fn unsupported_proxies_are_errors() {
        let target = url("wss://example.com/");
        let err = ProxyConfig::FromEnv
            .proxy_for_with(&target, env(&[("ALL_PROXY", "socks4://p:1080")]))
            .unwrap_err();
        assert!(err.to_string().contains("socks4"), "{err}");
        let socks = ProxyConfig::FromEnv
            .proxy_for_with(&target, env(&[("ALL_PROXY", "socks5h://p:1080")]))
            .unwrap();
        assert_eq!(socks.unwrap().scheme(), "socks5h");
    }

    #[test]
    fn proxy_password_is_not_shown() {
        let cfg = ProxyConfig::url("http://user:s3cret@proxy:3128").unwrap();
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn no_proxy_rules() {
        assert!(no_proxy_matches("*", "a.com", 443));
        assert!(no_proxy_matches("example.com", "example.com", 443));
        assert!(no_proxy_matches("example.com", "api.example.com", 443));
        assert!(no_proxy_matches(".example.com", "api.example.com", 443));
        assert!(no_proxy_matches("*.example.com", "api.example.com", 443));
        assert!(!no_proxy_matches("example.com", "badexample.com", 443));
        assert!(no_proxy_matches(
            "a.com, example.com:443",
            "example.com",
            443
        ));
        assert!(!no_proxy_matches("example.com:8443", "example.com", 443));
        assert!(no_proxy_matches("10.0.0.0/8", "10.2.3.4", 443));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.2.3.4", 443));
        assert!(no_proxy_matches("192.168.1.7", "192.168.1.7", 80));
        assert!(no_proxy_matches("::1", "[::1]", 80));
        assert!(no_proxy_matches("fd00::/8", "fd12::1", 80));
        assert!(!no_proxy_matches("", "example.com", 443));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%3Ac"), "a@b:c");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
