//! A faithful local Gemini Live API server, for offline development and tests.
//!
//! The emulator speaks the Live API's WebSocket protocol the way Google's servers do: every endpoint path
//! (Gemini API `v1`/`v1beta`/`v1alpha`, the ephemeral-token `BidiGenerateContentConstrained` method and
//! Vertex AI's `LlmBidiService`), Google's authentication forms, strict validation with Google's close codes
//! and reasons, binary frames of pretty-printed JSON. Behind it a deterministic responder answers text and
//! speech with streamed text or paced 24 kHz audio, calls declared functions, handles barge-in, resumption
//! and `goAway`. Scripts override the responder or inject faults; recorded sessions can be replayed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gemlive_emulator::Error> {
//! use gemlive_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig { speed: f64::INFINITY, ..EmulatorConfig::default() }).await?;
//! let url = format!(
//!     "{}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=any",
//!     emulator.base_url()
//! );
//! // ... connect a Live client to `url` ...
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Pacing: [`EmulatorConfig::speed`] is a factor on emulated time (`1.0` = real time, `f64::INFINITY` = no
//! pacing); tests run with `f64::INFINITY` or a large factor.

mod auth;
mod close;
mod config;
mod connection;
mod engine;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod ids;
mod layout;
mod recorder;
pub mod replay;
mod responder;
mod route;
pub mod script;
mod search;
mod server;
mod setup;
mod store;
mod synth;
mod time;
mod tls;
mod tools;
mod vad;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use close::fit_close_reason;
pub use config::{EmulatorConfig, SPEED_ENV, TlsConfig, Voice, parse_speed, speed_from_env};
pub use replay::Replay;
pub use script::Script;
pub use server::Emulator;
pub use tls::CA_FILE;

/// Everything that can go wrong starting or configuring the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid [`EmulatorConfig`] value.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Certificate generation or TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A scenario file is invalid.
    #[error("invalid script: {0}")]
    Script(String),
    /// A recording is invalid.
    #[error("invalid recording: {0}")]
    Replay(String),
}

/// Runs an emulator until Ctrl-C, for the `gemlive emulator` command. `ready` is called once it listens (to
/// print [`Emulator::base_url`] and [`Emulator::ca_file`]).
pub async fn run(config: EmulatorConfig, ready: impl FnOnce(&Emulator)) -> Result<(), Error> {
    let emulator = Emulator::start(config).await?;
    tracing::info!(url = %emulator.base_url(), "emulator listening");
    ready(&emulator);
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    Ok(())
}
