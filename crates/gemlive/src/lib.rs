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
//! * [`Client::vertex`] (feature `vertex`): Vertex AI with Application Default Credentials
//!   ([`GoogleCredentials`]: `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud ADC file, the
//!   metadata server); [`Client::vertex_with`] takes any [`TokenProvider`]. Tokens are asked for
//!   before every connection, the ones automatic resumption opens included, so that a session
//!   outlives its one-hour token.
//! * [`Client::emulator`] (feature `emulator`): the built-in emulator, in process, no key, no
//!   network. [`Client::from_env_or_emulator`] picks the Gemini API when a key is set and says
//!   which it chose: the crate's examples use it, so they run on a fresh clone.
//! * [`Client::endpoint`]: any Live-compatible server.
//!
//! # Sessions that survive
//!
//! Automatic resumption is on by default: when a connection ends (a `goAway`, a network drop,
//! a 1011, a stalled turn) the session moves to a new one with its latest resumption handle.
//! A turn always ends: [`Session::receive`] yields the [`Event::TurnCut`], the
//! [`Event::Reconnecting`] and the new [`Event::SetupComplete`], then the answer to the question
//! that was sent again; a question that was not sent again ends the turn with an error that
//! says to ask again, and the session goes on. [`Turn::text`] keeps only the answer that
//! completed. [`LiveConfig::transport`] reaches the policy (`resume_policy`, `auto_resume`).
//!
//! # Tools
//!
//! With the `tools` feature, the session declares and answers tools by itself: typed Rust
//! functions, shell commands, and with `mcp` the tools of MCP servers ([`tools::Tools`]).
//! [`Session::receive`] still shows the calls; [`Session::tool_events`] reports each result.
//!
//! ```
//! use gemlive::prelude::*;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct City {
//!     /// The city, e.g. "Paris".
//!     city: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> gemlive::Result<()> {
//! # let client = Client::emulator_with(gemlive::emulator::EmulatorConfig {
//! #     speed: f64::INFINITY, ..Default::default() }).await?;
//! let weather = Tool::typed("get_weather", "Weather of a city", |c: City| async move {
//!     Ok::<_, String>(format!("sunny in {}", c.city))
//! });
//! let config = LiveConfig::text().tools(weather.blocking());
//! let mut session = client.live().connect("gemini-3.8-live", config).await?;
//! session.send_realtime_input("Weather in Paris?").await?;
//! assert_eq!(session.receive().text().await?, "get_weather returned sunny in Paris.");
//! # session.close().await }
//! ```
//!
//! # Features
//!
//! * `audio` (default): [`Wav`] and [`audio`] (WAV sources and sinks, resampling, pacing).
//! * `device`: microphone and speaker (`audio::device`, cpal; ALSA headers on Linux).
//! * `emulator`: [`Client::emulator`] and the [`emulator`] crate.
//! * `tools`: [`LiveConfig::tools`] with Rust tools and shell commands ([`tools`], the
//!   `gemlive-tools` crate); `mcp`: MCP servers' tools too.
//! * `vertex`: [`Client::vertex`] and [`GoogleCredentials`] (Application Default Credentials,
//!   on the `gcp_auth` crate).
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
//! `interruption`, and `tools` (a typed Rust tool).
#![warn(missing_docs)]
// The documentation is written for every feature (docs.rs builds it so); without some of them,
// links to their items cannot resolve.
#![cfg_attr(
    not(all(
        feature = "audio",
        feature = "emulator",
        feature = "tools",
        feature = "vertex"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

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
