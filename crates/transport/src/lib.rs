//! Connections, endpoints, auth and the async client that drives a
//! [`protocol`] session over a WebSocket to the Gemini Live API.
//!
//! * [`connect`] takes a [`ClientConfig`] (an [`Endpoint`], an [`Auth`], the
//!   `setup` message and the timeouts), opens the WebSocket (rustls with the
//!   webpki and system roots plus an optional CA file, through an HTTP
//!   CONNECT proxy from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` when set), sends
//!   the setup and waits for `setupComplete`. A close during setup is an
//!   [`Error::Closed`] with the server's code and reason and the protocol
//!   crate's classification and hint.
//! * It returns a [`LiveSender`] (clone it into as many tasks as you like)
//!   and a [`LiveEvents`] stream of [`protocol::Event`]s ending with
//!   `Event::Closed`; [`LiveEvents::next_turn`] yields one model turn at a
//!   time, like the Python SDK's `session.receive()`.
//! * One driver task owns the connection and the [`protocol::Session`].
//!   Channels are bounded: a slow reader slows the socket down, never loses
//!   events, and never blocks senders.
//! * Sessions outlive their connections ([`ClientConfig::auto_resume`], on by
//!   default): after a `goAway` (once no turn is open, or shortly before its
//!   deadline), a retriable close (network loss, 1011) or a stalled turn, the
//!   driver resumes on a new connection with the latest handle, paced by a
//!   [`ResumePolicy`] (exponential backoff with jitter, a cap, attempt and
//!   time budgets); it gives up with a classified close
//!   ([`CloseKind::ResumeFailed`](protocol::CloseKind::ResumeFailed)).
//! * No turn hangs and none is lost silently: a turn whose connection ends
//!   yields `Event::TurnCut`, which names the user turns that were sent again
//!   on the new connection (their answers follow) and those to ask again,
//!   typed or spoken (the speech not yet answered, up to 30 s of it);
//!   a turn without progress for [`ClientConfig::stall_timeout`] is cut the
//!   same way. [`Turn::next`] always ends.
//! * [`RecorderConfig`] records every frame as a fixture (JSONL), secrets
//!   scrubbed, audio optionally trimmed.
//! * [`Connection`] is the seam: [`WsConnection`] in production,
//!   [`memory::pair`] in tests.
//!
//! Credentials live in [`Secret`]s: never in `Debug`, logs, errors, URLs or
//! recordings. The API key comes from `GOOGLE_API_KEY` or `GEMINI_API_KEY`;
//! **`GOOGLE_API_KEY` wins when both are set**, as in the official SDKs.
//!
//! # Example
//!
//! The same client runs over an in-memory connection, here with a scripted
//! server (against Google, use [`connect`] as in its documentation):
//!
//! ```
//! use gemlive_transport::memory::pair;
//! use gemlive_transport::protocol::{Event, SessionConfig, wire::Setup};
//! use gemlive_transport::{SessionOptions, start};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), gemlive_transport::Error> {
//! let (conn, mut server) = pair(16);
//! tokio::spawn(async move {
//!     let _setup = server.recv_json().await;
//!     server.send_json(&json!({"setupComplete": {}})).await;
//!     let _text = server.recv_json().await;
//!     server.send_json(&json!({"serverContent": {"modelTurn": {"parts": [{"text": "Hi!"}]}}})).await;
//!     server.send_json(&json!({"serverContent": {"turnComplete": true}})).await;
//!     server.close(1000, "").await;
//! });
//!
//! let setup = Setup::new("models/gemini-3.1-flash-live-preview");
//! let (sender, mut events) = start(conn, SessionOptions::new(SessionConfig::new(setup))).await?;
//! sender.send_text("Hello").await?;
//! let mut answer = String::new();
//! let mut turn = events.next_turn();
//! while let Some(event) = turn.next().await? {
//!     if let Event::Text { text, .. } = event {
//!         answer.push_str(&text);
//!     }
//! }
//! assert_eq!(answer, "Hi!");
//! assert!(matches!(events.next().await, Some(Event::Closed(close)) if close.is_normal()));
//! # Ok(()) }
//! ```

mod client;
mod connection;
mod endpoint;
mod error;
mod http;
pub mod memory;
mod proxy;
mod recorder;
mod secret;
mod tls;
mod ws;

pub use client::{
    AuthFuture, AuthProvider, ClientConfig, DEFAULT_EVENT_CAPACITY, EventTap, LiveEvents,
    LiveSender, ResumePolicy, SessionInfo, SessionOptions, Turn, WeakLiveSender, connect, start,
    start_resumable,
};
pub use connection::{Connection, Incoming};
pub use endpoint::{
    API_KEY_ENV_VARS, ApiVersion, Auth, ConfigError, Endpoint, VertexApiVersion, is_loopback_host,
};
pub use error::Error;
pub use http::{HttpResponse, post_json};
pub use protocol;
pub use proxy::{ProxyConfig, ProxyError};
pub use recorder::{AudioPolicy, Recorder, RecorderConfig};
pub use secret::Secret;
pub use tls::{TlsConfig, TlsError};
pub use ws::{DEFAULT_IDLE_TIMEOUT, DEFAULT_READ_BUFFER, WsConnection, WsOptions};
