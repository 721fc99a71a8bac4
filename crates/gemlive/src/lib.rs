//! Google's Gemini Live API from Rust: the one crate to add.
//!
//! The shape is the official SDKs': a [`Client`] for a backend, `client.live().connect(model,
//! config)` for a [`Session`], `send_client_content` / `send_realtime_input` /
//! `send_tool_response` to talk, and [`Session::receive`] for the model's turn, event by event.
//! Underneath, the session runs on `gemlive-transport`'s driver: bounded channels that never
//! drop an event, close codes classified with a hint, `goAway` and resumption handled.
//!
//! ```no_run
//! use gemlive::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> gemlive::Result<()> {
//!     let client = Client::from_env()?; // GEMINI_API_KEY
//!     let mut session = client
//!         .live()
//!         .connect("gemini-3.1-flash-live-preview", LiveConfig::audio().transcription())
//!         .await?;
//!     session.send_realtime_input("Hello? Gemini are you there?").await?;
//!     let mut wav = Wav::create("audio.wav")?;
//!     let mut turn = session.receive();
//!     while let Some(event) = turn.next().await? {
//!         wav.write(&event)?;
//!         if let Some(text) = event.text() {
//!             print!("{text}");
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Backends
//!
//! * [`Client::new`] / [`Client::from_env`]: the Gemini API with an API key.
//! * [`Client::ephemeral`]: an ephemeral token minted with [`Client::tokens`].
//! * [`Client::vertex`]: Vertex AI with refreshable access tokens ([`TokenProvider`]).
//! * [`Client::emulator`] (feature `emulator`): the built-in emulator, in process, no key, no
//!   network. [`Client::from_env_or_emulator`] picks the Gemini API when a key is set and says
//!   which it chose: the crate's examples use it, so they run on a fresh clone.
//! * [`Client::endpoint`]: any Live-compatible server.
//!
//! # Features
//!
//! * `audio` (default): [`Wav`] and [`audio`] (WAV sources and sinks, resampling, pacing).
//! * `device`: microphone and speaker (`audio::device`, cpal; ALSA headers on Linux).
//! * `emulator`: [`Client::emulator`] and the [`emulator`] crate.
//!
//! # Layers
//!
//! Everything here is built on crates that can be used alone: [`protocol`] (`gemlive-protocol`:
//! the wire types and a sans-IO session, no tokio, no sockets) and [`transport`]
//! (`gemlive-transport`: connections, the driver task, recording, [`EventTap`]).
//! [`Session::split`] and [`LiveConfig::transport`] reach into the transport when needed.
//!
//! The crate's `examples/` are the Live API quickstart, step by step: `quickstart_1_text`,
//! `quickstart_2_audio`, `quickstart_3_loop`, `quickstart_4_resume`, `realtime_audio`,
//! `interruption`.
#![warn(missing_docs)]

mod client;
mod config;
mod error;
#[cfg(feature = "vertex")]
mod google;
mod session;
mod tokens;
#[cfg(feature = "audio")]
mod wav;

pub use client::{Client, Live, StaticToken, TokenFuture, TokenProvider};
pub use config::{IntoLiveConfig, LiveConfig, LiveTools, Resume};
pub use error::{Error, Result};
#[cfg(feature = "vertex")]
pub use google::GoogleCredentials;
pub use session::{IntoClientContent, RealtimeInput, Sender, Session, Turn};
pub use tokens::{AuthToken, TokenConfig, TokenError, Tokens};
#[cfg(feature = "audio")]
pub use wav::Wav;

pub use protocol::models::DEFAULT_MODEL;
pub use protocol::{Close, CloseKind, Event, Fault};
pub use transport::{ApiVersion, Auth, EventTap, Secret};

/// The wire types (the Python SDK's `google.genai.types`): [`Content`](types::Content),
/// [`Part`](types::Part), [`FunctionResponse`](types::FunctionResponse),
/// [`Tool`](types::Tool), [`Setup`](types::Setup), ...
pub mod types {
    pub use protocol::wire::*;
}

#[cfg(feature = "audio")]
pub use audio;
#[cfg(feature = "emulator")]
pub use emulator;
pub use protocol;
/// Tools the session runs itself ([`LiveConfig::tools`]): the `gemlive-tools` crate.
#[cfg(feature = "tools")]
pub use tools;
pub use transport;

/// The crate README's snippets, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// What a Live application needs, in one import: `use gemlive::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "audio")]
    pub use crate::Wav;
    pub use crate::types::{Content, FunctionResponse, Modality, Part};
    pub use crate::{Client, Event, LiveConfig, RealtimeInput, Session};
    #[cfg(feature = "tools")]
    pub use tools::{Tool, ToolEvent, Tools};
}
