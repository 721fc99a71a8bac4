//! The Gemini Live API protocol, without IO.
//!
//! `gemlive-protocol` holds typed models of every client and server message ([`wire`]), a
//! lenient decoder that reports unknown fields ([`decode_server`], [`decode_client`]), the
//! classification of close codes ([`Close`]), what each model supports ([`models`]), and a
//! client [`Session`]: a state machine that turns frames into [`Event`]s and commands into
//! frames. It never touches a socket or a clock: time is an argument, like quinn-proto and str0m.
//! `gemlive-transport` drives it over a WebSocket; you can drive it over anything.
//!
//! # The run loop
//!
//! After every input (`handle_frame`, `handle_close`, `handle_timeout`) and every command
//! (`send_*`, `close`), drain [`Session::poll_output`] until [`Output::Idle`], then wait for the
//! next frame, command, or the `wake_at` deadline.
//!
//! ```
//! use std::time::Instant;
//! use gemlive_protocol::{Event, Output, Session, SessionConfig, wire};
//!
//! let now = Instant::now();
//! let mut setup = wire::Setup::new("models/gemini-3.1-flash-live-preview");
//! setup.output_audio_transcription = Some(Default::default());
//! let mut session = Session::new(SessionConfig::new(setup), now)?;
//!
//! // The setup frame goes out first.
//! let Output::Transmit(frame) = session.poll_output() else { unreachable!() };
//! assert!(frame.starts_with(r#"{"setup":{"model":"models/gemini-3.1-flash-live-preview""#));
//!
//! // The server answers in binary frames of pretty-printed JSON.
//! session.handle_frame(b"{\n  \"setupComplete\": {}\n}\n", now)?;
//! assert!(matches!(session.poll_output(), Output::Event(Event::SetupComplete { .. })));
//!
//! session.send_text("Hello? Gemini are you there?")?;
//! let Output::Transmit(frame) = session.poll_output() else { unreachable!() };
//! assert_eq!(frame, r#"{"realtimeInput":{"text":"Hello? Gemini are you there?"}}"#);
//!
//! session.handle_frame(br#"{"serverContent": {"modelTurn": {"parts": [
//!     {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAABAA=="}}]},
//!     "outputTranscription": {"text": "Yes"}}}"#, now)?;
//! session.handle_frame(br#"{"serverContent": {"turnComplete": true},
//!     "usageMetadata": {"totalTokenCount": 12}}"#, now)?;
//! let mut events = Vec::new();
//! while let Output::Event(e) = session.poll_output() {
//!     events.push(e);
//! }
//! assert!(matches!(&events[0], Event::Audio { data, sample_rate: 24_000, .. } if data.len() == 4));
//! assert!(matches!(&events[1], Event::OutputTranscript { text, .. } if text == "Yes"));
//! assert!(matches!(events[2], Event::Usage(_)));
//! assert!(matches!(events[3], Event::TurnComplete { .. }));
//! # Ok::<(), gemlive_protocol::Error>(())
//! ```
//!
//! # Leniency and strictness
//!
//! Decoding accepts what real peers send: camelCase and snake_case keys at any depth, standard
//! and URL-safe base64 with or without padding, int64 as numbers or strings, `40.0` for ints,
//! durations like `"0.200s"`, enum names in any case, and frames that carry several keys.
//! Unknown fields are never an error: the client session surfaces them as
//! [`Event::Unrecognized`], and a server can reject them like Google does with
//! [`UnknownField::google_reason`]. Encoding is canonical: camelCase, unset fields omitted,
//! standard base64. Audio is decoded once, into bytes; nothing downstream sees base64.
#![warn(missing_docs)]

pub mod close;
pub mod decode;
mod error;
mod event;
pub mod models;
#[cfg(feature = "replay")]
pub mod replay;
mod session;
mod speech;
pub mod wire;

pub use close::{Close, CloseKind, Fault};
pub use decode::{DecodeError, Decoded, UnknownField, decode_client, decode_server};
pub use error::{Error, Misuse, Violation};
pub use event::{Event, PendingTurn, Speech};
pub use models::Backend;
pub use session::{
    CloseInfo, DEFAULT_SPEECH_KEPT, DEFAULT_STALL_TIMEOUT, INPUT_SAMPLE_RATE, MAX_TIME_LEFT,
    OUTPUT_SAMPLE_RATE, Output, SPARE_FRAMES, Session, SessionConfig, ends_interaction, pcm_mime,
    pcm_rate,
};
