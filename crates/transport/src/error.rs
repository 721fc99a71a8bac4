//! The crate's one public [`Error`].

use std::time::Duration;

use protocol::{Close, PendingTurn};

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
    /// The session ended: the server's close (or a local one: 1006 for a
    /// lost connection, a setup timeout), classified by the protocol crate
    /// with whose fault it is and a hint for the user.
    #[error("session {0}")]
    Closed(Close),
    /// The model's turn was cut short (its connection ended, or it stalled)
    /// and was not sent again: ask again. The session may go on; see
    /// `Event::TurnCut` for the event the stream carried.
    #[error("{}", turn_cut(cause, turns))]
    TurnCut {
        /// Why the turn was cut, classified.
        cause: Close,
        /// The user turns that were not answered (none of the first was resent).
        turns: Vec<PendingTurn>,
    },
    /// [`LiveSender::try_send_audio`](crate::LiveSender::try_send_audio) found the session's
    /// command queue full (this many commands waiting): the connection is slower than the
    /// input, or the session is moving to a new connection. Nothing was queued.
    #[error(
        "the session's command queue is full ({0} commands waiting for the connection); this one was not queued: drop it (realtime audio goes stale) or wait for room with send_audio().await"
    )]
    QueueFull(usize),
    /// The protocol session rejected a frame or a command.
    #[error(transparent)]
    Protocol(protocol::Error),
    /// An [`AuthProvider`](crate::AuthProvider) could not give a credential (its own error
    /// is the source; its message says what to do).
    #[error("credentials: {0}")]
    Credentials(Box<dyn std::error::Error + Send + Sync>),
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
    /// The classified close, when this error is one (code, reason, kind,
    /// fault, hint), e.g. for a CLI's exit code.
    pub fn close(&self) -> Option<&Close> {
        match self {
            Self::Closed(close) | Self::TurnCut { cause: close, .. } => Some(close),
            _ => None,
        }
    }
}

fn turn_cut(cause: &Close, turns: &[PendingTurn]) -> String {
    let mut message = String::from("the turn was cut short");
    let lost: Vec<String> = turns
        .iter()
        .filter(|t| !t.resent)
        .map(|t| match t.speech {
            Some(s) => format!("what was said ({:.1} s of audio)", s.audio.as_secs_f64()),
            None => format!("turn {} ({:?})", t.number, t.text),
        })
        .collect();
    if !lost.is_empty() {
        message.push_str(&format!(", ask again: {}", lost.join(", ")));
    }
    message.push_str(&format!("; the connection {cause}"));
    message
}

impl From<protocol::Error> for Error {
    /// A command refused because the session is over becomes [`Error::Closed`].
    fn from(error: protocol::Error) -> Self {
        match error {
            protocol::Error::Closed(close) => Self::Closed(close),
            other => Self::Protocol(other),
        }
    }
}
