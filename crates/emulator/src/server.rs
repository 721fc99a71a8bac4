//! The listening socket: TLS (optional), HTTP request heads, routing to the token endpoint or a Live session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use http_server::{BodyError, Io, Listener, Request, Server};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::auth::TokenStore;
use crate::config::EmulatorConfig;
use crate::http::{self, MAX_BODY};
use crate::replay::Replay;
use crate::route::{Route, route};
use crate::script::Script;
use crate::store::SessionStore;
use crate::{Error, connection, setup, tls};

/// How long shutdown waits for open connections to close before aborting them (a peer that
/// never sent its request head, say); the others see the stop signal and close (1001).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// State shared by every connection of one emulator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) seed: u64,
    pub(crate) tokens: TokenStore,
    pub(crate) sessions: SessionStore,
    pub(crate) script: Option<Arc<Script>>,
    pub(crate) replay: Option<Arc<Replay>>,
    /// Live connections currently open.
    pub(crate) live: AtomicUsize,
    /// Connections accepted so far (numbers session ids and recordings).
    pub(crate) accepted: AtomicU64,
}

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    tls: bool,
    ca_file: Option<PathBuf>,
    server: Server,
}

impl Emulator {
    /// Binds and starts serving in the background (on the current tokio runtime).
    pub async fn start(config: EmulatorConfig) -> Result<Self, Error> {
        config.validate()?;
        let (acceptor, ca_file) = match &config.tls {
            Some(t) => {
                let (cfg, ca) = tls::server_config(&t.dir)?;
                (Some(tokio_rustls::TlsAcceptor::from(cfg)), Some(ca))
            }
            None => (None, None),
        };
        if let Some(dir) = &config.record_dir {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let listener = Listener::bind(config.bind)
            .await
            .map_err(|source| Error::Bind {
                addr: config.bind,
                source,
            })?;
        let script = config.script.clone().map(Arc::new);
        let seed = script
            .as_ref()
            .and_then(|s| s.seed)
            .or(config.seed)
            .unwrap_or_else(crate::ids::random_seed);
        let sessions = match &config.state_file {
            Some(file) => SessionStore::persistent(file),
            None => SessionStore::default(),
        };
        let shared = Arc::new(Shared {
            replay: config.replay.clone().map(Arc::new),
            config,
            seed,
            tokens: TokenStore::default(),
            sessions,
            script,
            live: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
        });
        let server = listener.serve(SHUTDOWN_GRACE, move |tcp, stop| {
            handle_tcp(tcp, acceptor.clone(), shared.clone(), stop)
        });
        Ok(Self {
            tls: ca_file.is_some(),
            ca_file,
            server,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// `ws://127.0.0.1:PORT`, or `wss://localhost:PORT` with TLS (the certificate names `localhost`).
    /// Clients append `/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`.
    pub fn base_url(&self) -> String {
        if self.tls {
            format!("wss://localhost:{}", self.local_addr().port())
        } else {
            format!("ws://{}", self.local_addr())
        }
    }

    /// The HTTP base for `POST /v1alpha/auth_tokens` (`http://...` or `https://localhost:PORT`).
    pub fn http_url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.local_addr().port())
        } else {
            format!("http://{}", self.local_addr())
        }
    }

    /// With TLS: the CA certificate clients must trust.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Stops accepting, closes every open connection (1001 going away) and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

async fn handle_tcp(
    tcp: TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut io: Box<dyn Io> = match acceptor {
        Some(a) => Box::new(a.accept(tcp).await?),
        None => Box::new(tcp),
    };
    let Ok(Some(mut req)) = http_server::read_request(&mut io, &http::LIMITS).await else {
        return Ok(());
    };
    match route(&req.path) {
        Route::Live(endpoint) if req.is_websocket_upgrade() => {
            connection::serve(io, req, endpoint, shared, stop).await
        }
        Route::AuthTokens if req.method == "POST" => mint_token(&mut io, &mut req, &shared).await,
        Route::AuthTokens => {
            http::respond_json(
                &mut io,
                405,
                &http::google_error(405, "Method not allowed."),
            )
            .await
        }
        Route::Live(_) => {
            http::respond_json(
                &mut io,
                400,
                &http::google_error(400, "Expected a WebSocket upgrade request."),
            )
            .await
        }
        Route::NotFound => {
            let msg = format!(
                "The requested URL {} was not found on this server.",
                req.path
            );
            http::respond_json(&mut io, 404, &http::google_error(404, &msg)).await
        }
    }
}

/// `POST /v1alpha/auth_tokens`: needs a valid API key, like Google.
async fn mint_token(
    io: &mut Box<dyn Io>,
    req: &mut Request,
    shared: &Shared,
) -> std::io::Result<()> {
    let key = req
        .query("key")
        .or_else(|| req.header("x-goog-api-key"))
        .map(str::to_owned);
    let key_ok = key
        .as_deref()
        .is_some_and(|k| !k.is_empty() && shared.config.api_key.as_deref().is_none_or(|c| c == k))
        || (shared.config.anonymous && crate::auth::is_anonymous(req));
    if !key_ok {
        let (status, msg) = match key {
            None => (
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
            ),
            Some(_) => (400, "API key not valid. Please pass a valid API key."),
        };
        return http::respond_json(io, status, &http::google_error(status, msg)).await;
    }
    let body = match req.read_body(io, MAX_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge { .. }) => {
            return http::respond_json(
                io,
                413,
                &http::google_error(400, "Request payload too large."),
            )
            .await;
        }
        Err(BodyError::BadLength) => {
            return http::respond_json(
                io,
                400,
                &http::google_error(400, "Invalid Content-Length."),
            )
            .await;
        }
        Err(e) => return Err(std::io::Error::other(e)),
    };
    match shared.tokens.mint(
        &body,
        SystemTime::now(),
        shared.seed,
        setup::validate_locked_setup,
    ) {
        Ok(token) => {
            http::respond_json(
                io,
                200,
                &serde_json::to_string_pretty(&token).unwrap_or_default(),
            )
            .await
        }
        Err(e) => http::respond_json(io, e.status, &http::google_error(e.status, &e.message)).await,
    }
}

impl Shared {
    pub(crate) fn next_connection(&self) -> u64 {
        self.accepted.fetch_add(1, Ordering::Relaxed) + 1
    }
}
