//! The listening socket: one request per connection, routed to the page, the JSON API or the
//! relay, each behind the [`Guard`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use http_server::{BodyError, Io, Listener, Request, Server};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::guard::{Access, Guard};
use crate::http::{LIMITS, MAX_BODY, Response};
use crate::metrics::Metrics;
use crate::seal::Sealer;
use crate::settings::{Settings, VOICES, text_via_realtime_input};
use crate::upstream::Upstream;
use crate::{Error, WebConfig, assets, relay};

/// How long [`WebServer::shutdown`] lets relayed sessions close before it ends them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) upstream: Upstream,
    pub(crate) guard: Guard,
    pub(crate) sealer: Sealer,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) default_model: String,
    /// The relay's own tools.
    pub(crate) tools: tools::Tools,
    max_sessions: usize,
    /// Where direct-mode pages connect, when direct mode is on.
    direct_url: Option<url::Url>,
    /// The page's Content-Security-Policy.
    csp: String,
}

/// A running `gemlive web` server.
#[derive(Debug)]
pub struct WebServer {
    metrics: Arc<Metrics>,
    server: Server,
}

impl WebServer {
    /// Binds and serves in the background (on the current tokio runtime).
    ///
    /// Refuses an address beyond loopback without a shared secret.
    pub async fn start(config: WebConfig) -> Result<Self, Error> {
        let loopback = config.bind.ip().is_loopback();
        let secret = config
            .secret
            .as_ref()
            .map(|s| s.expose().as_bytes().to_vec());
        if !loopback && secret.as_ref().is_none_or(|s| s.len() < 16) {
            return Err(Error::Config(format!(
                "{} is reachable from other machines: set a shared secret of at least 16 characters (GEMLIVE_WEB_SECRET)",
                config.bind
            )));
        }
        let direct_url = if config.direct {
            Some(config.upstream.direct_url().map_err(Error::Config)?)
        } else {
            None
        };
        let listener = Listener::bind(config.bind)
            .await
            .map_err(|source| Error::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr();
        let bind_host = (!loopback && !addr.ip().is_unspecified()).then(|| match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        });
        let guard = Guard::new(addr.port(), bind_host, &config.origins, secret.as_deref());
        let csp = content_security_policy(direct_url.as_ref());
        let metrics = Arc::new(Metrics::default());
        let shared = Arc::new(Shared {
            upstream: config.upstream,
            guard,
            sealer: Sealer::new(secret.as_deref())?,
            metrics: metrics.clone(),
            default_model: config.default_model,
            tools: config.tools,
            max_sessions: config.max_sessions,
            direct_url,
            csp,
        });
        let server = listener.serve(SHUTDOWN_GRACE, move |tcp, stop| {
            handle(tcp, shared.clone(), stop)
        });
        Ok(Self { metrics, server })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The page's URL (`http://127.0.0.1:PORT/`; with a secret, the page wants `?secret=` once).
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr())
    }

    /// The relay's counters and latency histograms.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Stops accepting and ends every connection. Relayed sessions are closed first (within a
    /// few seconds), so that their pages can resume them at once on another instance: the Live
    /// API refuses to resume a session whose old connection is still open.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

fn content_security_policy(direct: Option<&url::Url>) -> String {
    let live = direct.map_or_else(String::new, |u| {
        format!(" {}", u.origin().ascii_serialization())
    });
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src 'self'{live}; worker-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

async fn handle(
    tcp: TcpStream,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut io: Box<dyn Io> = Box::new(tcp);
    let Ok(Some(mut req)) = http_server::read_request(&mut io, &LIMITS).await else {
        return Ok(());
    };
    if req.path == "/relay" {
        return upgrade(io, req, shared, stopped).await;
    }
    let response = route(&mut io, &mut req, &shared).await;
    response.write(&mut io).await
}

async fn route(io: &mut Box<dyn Io>, req: &mut Request, shared: &Shared) -> Response {
    let method = req.method.clone();
    let path = req.path.clone();
    let (method, path) = (method.as_str(), path.as_str());
    if let Some(asset) = assets::get(path) {
        if method != "GET" && method != "HEAD" {
            return Response::error(405, "method not allowed");
        }
        return match shared.guard.page(req) {
            Access::Granted => {
                let mut r = Response::new(200, asset.content_type, asset.body);
                if asset.content_type.starts_with("text/html") {
                    r = r
                        .header("Content-Security-Policy", shared.csp.clone())
                        .header("X-Frame-Options", "DENY")
                        .header("Cross-Origin-Opener-Policy", "same-origin")
                        .header(
                            "Permissions-Policy",
                            "microphone=(self), camera=(self), display-capture=(self)",
                        );
                }
                r
            }
            Access::SetCookie(cookie) => Response::new(303, "text/plain", "")
                .header("Location", "/")
                .header("Set-Cookie", cookie),
            Access::Denied(status, why) => Response::new(status, "text/plain; charset=utf-8", why),
        };
    }
    match (method, path) {
        ("GET", "/api/config") => match shared.guard.page(req) {
            Access::Granted => config(shared),
            Access::SetCookie(_) | Access::Denied(..) => Response::error(401, "not allowed"),
        },
        ("POST", "/api/token" | "/api/explain") => {
            if let Access::Denied(status, why) = shared.guard.api(req) {
                return Response::error(status, why);
            }
            let body = match req.read_body(io, MAX_BODY).await {
                Ok(b) => b,
                Err(BodyError::TooLarge { .. }) => {
                    return Response::error(413, "request too large");
                }
                Err(_) => return Response::error(400, "unreadable request"),
            };
            if path == "/api/token" {
                token(shared, &body).await
            } else {
                explain(&body)
            }
        }
        (_, "/api/config" | "/api/token" | "/api/explain") => {
            Response::error(405, "method not allowed")
        }
        _ => Response::error(404, "no such page"),
    }
}

fn config(shared: &Shared) -> Response {
    let models: Vec<&str> = protocol::models::all()
        .iter()
        .filter(|m| m.backend == protocol::models::Backend::GeminiApi && !m.retired)
        .map(|m| m.id)
        .collect();
    Response::json(
        200,
        &json!({
            "defaultModel": shared.default_model,
            "models": models,
            "voices": VOICES,
            "direct": shared.direct_url.is_some(),
            "tools": shared.tools.iter().map(tools::Tool::name).collect::<Vec<_>>(),
        }),
    )
}

/// Direct mode: a token locking the page's settings, and where to use it.
async fn token(shared: &Shared, body: &[u8]) -> Response {
    let Some(url) = &shared.direct_url else {
        return Response::error(404, "direct mode is off on this server");
    };
    let settings: Settings = match serde_json::from_slice(body) {
        Ok(s) => s,
        Err(e) => return Response::error(400, &format!("bad settings: {e}")),
    };
    let model = match shared
        .upstream
        .model_name(settings.model_or(&shared.default_model))
    {
        Ok(m) => m,
        Err(e) => return Response::error(400, &e),
    };
    let setup = match settings.setup(model.clone()) {
        Ok(s) => s,
        Err(e) => return Response::error(400, &e.0),
    };
    match shared.upstream.mint(&setup).await {
        Ok(minted) => {
            shared.metrics.tokens_minted.fetch_add(1, Ordering::Relaxed);
            Response::json(
                200,
                &json!({
                    "token": minted.name.expose(),
                    "url": url.as_str(),
                    "setup": setup,
                    "textViaRealtimeInput": text_via_realtime_input(&model),
                }),
            )
        }
        Err(e) => {
            tracing::warn!("cannot mint a token: {e}");
            Response::error(502, &e.to_string())
        }
    }
}

/// A close code and reason (direct mode sees them in the browser), in words.
fn explain(body: &[u8]) -> Response {
    #[derive(serde::Deserialize)]
    struct Closed {
        code: u16,
        #[serde(default)]
        reason: String,
    }
    match serde_json::from_slice::<Closed>(body) {
        Ok(c) => {
            let close = protocol::Close::from_wire(c.code, &c.reason);
            let explained = crate::page::Explained::from(&close);
            Response::json(200, &serde_json::to_value(explained).unwrap_or_default())
        }
        Err(e) => Response::error(400, &format!("bad close: {e}")),
    }
}

async fn upgrade(
    mut io: Box<dyn Io>,
    mut req: Request,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let refuse = |status: u16, why: &str| Response::new(status, "text/plain; charset=utf-8", why);
    if !req.is_websocket_upgrade() {
        return refuse(400, "expected a WebSocket upgrade")
            .write(&mut io)
            .await;
    }
    if let Access::Denied(status, why) = shared.guard.api(&req) {
        shared.metrics.refused.fetch_add(1, Ordering::Relaxed);
        tracing::info!(origin = ?req.header("origin"), host = ?req.header("host"), "relay refused: {why}");
        return refuse(status, why).write(&mut io).await;
    }
    if shared.metrics.sessions_open.load(Ordering::Relaxed) >= shared.max_sessions {
        shared.metrics.refused.fetch_add(1, Ordering::Relaxed);
        return refuse(503, "the relay is full; try again later")
            .write(&mut io)
            .await;
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(relay::MAX_MESSAGE))
        .max_frame_size(Some(relay::MAX_MESSAGE))
        .read_buffer_size(relay::READ_BUFFER);
    let ws = http_server::accept_websocket(io, &mut req, config).await?;
    relay::run(ws, shared, stopped).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use transport::Secret;

    fn config(bind: &str, secret: Option<&str>) -> WebConfig {
        let client = gemlive::Client::endpoint("http://127.0.0.1:9")
            .unwrap()
            .with_api_key("k");
        let upstream = Upstream::new(client);
        let mut config = WebConfig::new(upstream);
        config.bind = bind.parse().unwrap();
        config.secret = secret.map(Secret::new);
        config
    }

    #[tokio::test]
    async fn beyond_loopback_a_secret_is_required() {
        let err = WebServer::start(config("0.0.0.0:0", None))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("GEMLIVE_WEB_SECRET"), "{err}");
        let short = WebServer::start(config("0.0.0.0:0", Some("short"))).await;
        assert!(short.is_err());
        let server = WebServer::start(config("127.0.0.1:0", None)).await.unwrap();
        assert!(server.url().starts_with("http://127.0.0.1:"));
        server.shutdown().await;
    }

    async fn exchange(addr: SocketAddr, head: String) -> String {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut tcp, &mut answer)
            .await
            .unwrap();
        answer
    }

    #[tokio::test]
    async fn with_a_secret_the_page_needs_it_once_then_its_cookie() {
        let secret = "correct-horse-battery-staple";
        let server = WebServer::start(config("127.0.0.1:0", Some(secret)))
            .await
            .unwrap();
        let addr = server.local_addr();
        let bare = exchange(addr, format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n")).await;
        assert!(bare.starts_with("HTTP/1.1 401"), "{bare}");
        let with = exchange(
            addr,
            format!("GET /?secret={secret} HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
        )
        .await;
        assert!(with.starts_with("HTTP/1.1 303"), "{with}");
        let cookie = with
            .lines()
            .find_map(|l| l.strip_prefix("Set-Cookie: "))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();
        assert!(!cookie.contains(secret));
        let page = exchange(
            addr,
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n"),
        )
        .await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        let upgrade = |cookie: &str| {
            format!(
                "GET /relay HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n{cookie}Upgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
        };
        let relay = exchange(addr, upgrade("")).await;
        assert!(relay.starts_with("HTTP/1.1 401"), "{relay}");
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(upgrade(&format!("Cookie: {cookie}\r\n")).as_bytes())
            .await
            .unwrap();
        let mut head = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut tcp, &mut head)
            .await
            .unwrap();
        assert_eq!(&head, b"HTTP/1.1 101");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn the_page_is_served_with_a_strict_policy_and_the_api_checks_origin() {
        let server = WebServer::start(config("127.0.0.1:0", None)).await.unwrap();
        let addr = server.local_addr();
        let get = |head: String| exchange(addr, head);
        let page = get(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n")).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("Content-Security-Policy: default-src 'none'"));
        assert!(
            page.contains("ws://127.0.0.1:9"),
            "direct mode's endpoint is allowed"
        );
        let rebound = get("GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n".into()).await;
        assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");
        let token = get(format!(
            "POST /api/token HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.example\r\nContent-Length: 2\r\n\r\n{{}}"
        ))
        .await;
        assert!(token.starts_with("HTTP/1.1 403"), "{token}");
        let explain = get(format!(
            "POST /api/explain HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Length: 38\r\n\r\n{{\"code\":1007,\"reason\":\"API key not v\"}}"
        ))
        .await;
        assert!(explain.contains("\"kind\":\"InvalidApiKey\""), "{explain}");
        let missing = get(format!("GET /etc/passwd HTTP/1.1\r\nHost: {addr}\r\n\r\n")).await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        server.shutdown().await;
    }
}
