//! `gemlive web`: a voice console for the Gemini Live API in the browser, served by the `gemlive`
//! binary, and the production pattern behind it: the API key stays on the server.
//!
//! One port serves a single page (built into the binary) and two ways to reach the Live API:
//!
//! * **relay**: the page talks to this server over `/relay` (see [`page`] for the protocol), and
//!   the server drives the Live session with the `gemlive` crate's client (automatic resumption,
//!   every move and cut turn told to the page, optional recording) and answers tool calls with
//!   its own tools (typed Rust functions, commands, MCP servers: [`WebConfig::tools`]). The
//!   browser never sees a credential; its resumption handle is a sealed box only this server (or
//!   a twin with the same secret) can open, so a reload resumes the conversation and any
//!   instance behind a load balancer can serve it.
//! * **direct**: the page asks `/api/token` for a single-use ephemeral token that locks its setup,
//!   and connects to the Live endpoint itself.
//!
//! Loopback by default. Another address needs a shared secret; every API call and the relay check
//! `Host` (no DNS rebinding) and `Origin` (no other web site), and messages are size-limited.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gemlive_web::gemlive::Client;
//! use gemlive_web::{Upstream, WebConfig, WebServer};
//!
//! let upstream = Upstream::new(Client::from_env()?); // GEMINI_API_KEY
//! let server = WebServer::start(WebConfig::new(upstream)).await?;
//! println!("open {}", server.url());
//! # Ok(()) }
//! ```

mod assets;
mod guard;
mod http;
mod metrics;
pub mod page;
mod relay;
mod seal;
mod server;
mod settings;
mod upstream;

use std::net::{Ipv4Addr, SocketAddr};

pub use metrics::{Histogram, Metrics};
pub use server::WebServer;
pub use settings::{Sensitivity, Settings, SettingsError, VOICES};
pub use upstream::Upstream;
pub use {gemlive, tools};

/// The default number of relayed sessions one server holds at once.
pub const DEFAULT_MAX_SESSIONS: usize = 1000;

/// Everything a [`WebServer`] needs.
#[derive(Debug)]
pub struct WebConfig {
    /// Where to listen. Default `127.0.0.1:0`. Any address that is not loopback needs
    /// [`secret`](Self::secret).
    pub bind: SocketAddr,
    /// The shared secret (at least 16 characters) a page must present once (`/?secret=...`).
    pub secret: Option<transport::Secret>,
    /// Public origins the page is served from, behind a proxy or load balancer
    /// (`https://voice.example.com`): their `Host` and `Origin` are accepted.
    pub origins: Vec<url::Url>,
    /// The model of a page that names none.
    pub default_model: String,
    /// Relayed sessions held at once; more are refused with 503.
    pub max_sessions: usize,
    /// Offer direct mode (needs an API key on a Gemini API endpoint).
    pub direct: bool,
    /// The Live API side.
    pub upstream: Upstream,
    /// Tools the relay declares in every relayed session and runs itself (typed functions,
    /// commands, MCP servers' tools); the page shows their calls and results. Calls of other
    /// functions (the page's demo tool) are left to the page. Direct mode does not declare
    /// them: there, the browser talks to the Live API alone.
    pub tools: tools::Tools,
}

impl WebConfig {
    /// Loopback on a free port, the default model, relay and direct mode.
    pub fn new(upstream: Upstream) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            secret: None,
            origins: Vec::new(),
            default_model: protocol::models::DEFAULT_MODEL.to_owned(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            direct: true,
            upstream,
            tools: tools::Tools::new(),
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An unsafe or impossible configuration.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The system's random generator failed.
    #[error("the system's random generator failed")]
    Random,
}
