//! The crate's one public [`Error`].

use std::time::Duration;

use crate::shim::{CloseClass, CloseInfo};

use crate::endpoint::ConfigError;
use crate::proxy::ProxyError;
use crate::tls::TlsError;

/// Everything that can go wrong while connecting to or talking with a Live
/// API server. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration mistake (no traffic happened).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS could not be configured.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The proxy failed or refused the tunnel.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    /// TCP connect to the server failed.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port`.
        target: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The TLS handshake failed (certificate not trusted, wrong name, ...).
    #[error("TLS handshake with {host} failed: {source}")]
    TlsHandshake {
        /// The server name.
        host: String,
        /// The rustls error, wrapped by tokio-rustls.
        source: std::io::Error,
    },
    /// The server answered the WebSocket upgrade with an HTTP error.
    #[error("WebSocket upgrade rejected with HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Handshake {
        /// HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// A WebSocket protocol or IO error.
    #[error("WebSocket: {0}")]
    WebSocket(#[from] async_tungstenite::tungstenite::Error),
    /// The connection ended without a close frame.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// Connecting (TCP, proxy, TLS, upgrade) took too long.
    #[error("connecting took longer than {0:?}")]
    ConnectTimeout(Duration),
    /// No frame (not even a pong) arrived for the idle timeout.
    #[error("no data from the server for {0:?} (idle timeout)")]
    IdleTimeout(Duration),
    /// `setupComplete` did not arrive in time.
    #[error("no setupComplete within {0:?}")]
    SetupTimeout(Duration),
    /// The session was closed; `class` says whose fault it was and what to do.
    #[error("session closed with {} {}{}", close.code, if close.reason.is_empty() { "(no reason)" } else { close.reason.as_str() }, if class.hint.is_empty() { String::new() } else { format!(" (hint: {})", class.hint) })]
    Closed {
        /// Code and reason as the server sent them (1006 when there was no close frame).
        close: CloseInfo,
        /// The protocol crate's classification.
        class: CloseClass,
    },
    /// The protocol session rejected a frame or a command.
    #[error(transparent)]
    Protocol(#[from] crate::shim::Error),
    /// The recorder could not write its file.
    #[error("recorder {path}: {source}")]
    Recorder {
        /// The recording file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
}

impl Error {
    /// The classified close, when this error is one.
    pub fn close(&self) -> Option<(&CloseInfo, &CloseClass)> {
        match self {
            Self::Closed { close, class } => Some((close, class)),
            _ => None,
        }
    }
}
