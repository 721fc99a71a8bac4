//! The protocol crate's errors: who is at fault, and what happened.

use crate::close::Close;
use crate::decode::DecodeError;
use crate::models::ModelNameError;

/// An error from a [`Session`](crate::Session).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame that is not a valid message (the session goes on).
    #[error("malformed {0}")]
    Decode(#[from] DecodeError),
    /// The server broke the protocol (the session goes on).
    #[error("protocol violation by the server: {0}")]
    Violation(#[from] Violation),
    /// The caller asked for something the protocol or the model does not allow.
    #[error(transparent)]
    Misuse(#[from] Misuse),
    /// The session is closed.
    #[error("session {0}")]
    Closed(Close),
}

/// The server did something the protocol does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// Content arrived before `setupComplete`.
    #[error("{0} arrived before setupComplete")]
    BeforeSetupComplete(&'static str),
    /// A second `setupComplete`.
    #[error("setupComplete arrived twice")]
    DuplicateSetupComplete,
}

/// A command the protocol, the backend or the model does not allow in the session's state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// Sent before `setupComplete`.
    #[error("the session is not ready: wait for setupComplete before sending")]
    NotReady,
    /// More than one response modality.
    #[error(
        "a session has exactly one response modality, got {0}; use AUDIO with output transcription to get text too"
    )]
    MultipleModalities(String),
    /// A modality the model cannot produce.
    #[error(
        "{model} only answers with AUDIO; ask for AUDIO and turn on output transcription for text"
    )]
    AudioOnlyModel {
        /// The model.
        model: String,
    },
    /// `sessionResumption.transparent` on the Developer API.
    #[error("transparent session resumption is Vertex-only; the Gemini API rejects it with 1007")]
    TransparentOnGeminiApi,
    /// `explicitVadSignal` on the Developer API.
    #[error("explicitVadSignal is Vertex-only; the Gemini API rejects it with 1007")]
    ExplicitVadSignalOnGeminiApi,
    /// An invalid model name.
    #[error(transparent)]
    ModelName(#[from] ModelNameError),
    /// `clientContent` after the initial history on a model that only takes it there.
    #[error(
        "{model} accepts clientContent only as initial history (historyConfig.initialHistoryInClientContent); send text with realtimeInput instead"
    )]
    ClientContentNotAllowed {
        /// The model.
        model: String,
    },
    /// A tool response with no id on the Developer API.
    #[error(
        "function response {name:?} needs the id of the call it answers (required on the Gemini API)"
    )]
    MissingToolResponseId {
        /// The function name.
        name: String,
    },
    /// A tool response for a call that is not pending.
    #[error("no pending tool call has id {0:?} (answered already, cancelled, or never made)")]
    UnknownToolCall(String),
    /// An empty tool response.
    #[error("a tool response needs at least one function response")]
    EmptyToolResponse,
    /// PCM16 audio with an odd number of bytes.
    #[error("PCM16 audio has an even number of bytes, got {0}")]
    OddPcmLength(usize),
    /// A sample rate of zero.
    #[error("the sample rate must be positive")]
    ZeroSampleRate,
    /// A video frame that is not an image.
    #[error("video frames are images (image/jpeg, image/png), got {0:?}")]
    NotAnImage(String),
    /// activityStart/activityEnd while the server's VAD is on.
    #[error("activityStart/activityEnd need automatic activity detection disabled in the setup")]
    ManualActivityWithAutomaticVad,
    /// audioStreamEnd while the server's VAD is off.
    #[error("audioStreamEnd is only used with automatic activity detection")]
    AudioStreamEndWithManualVad,
}
