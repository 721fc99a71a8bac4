//! What a session tells its application.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::close::Close;
use crate::decode::{DecodeError, UnknownField};
use crate::error::Violation;
use crate::wire::{
    CodeExecutionResult, ExecutableCode, FunctionCall, GroundingMetadata, InteractionStatus,
    TurnCompleteReason, UrlContextMetadata, UsageMetadata, VadSignalType, VoiceActivityType,
};

/// Something that happened in a session. One server frame can produce several events, in this
/// order: setup, input transcripts, model parts, output transcripts, metadata, generation
/// complete, interrupted, usage, turn complete, tool calls, goAway, resumption, voice activity.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted the setup; commands may be sent now.
    SetupComplete {
        /// Vertex's session id.
        session_id: Option<String>,
        /// Whether this connection resumed an earlier session with a handle.
        resumed: bool,
    },
    /// Model text (TEXT modality), or a thought summary when `thought` is set.
    Text {
        /// The text delta.
        text: String,
        /// A thought summary (`includeThoughts`), not part of the answer.
        thought: bool,
    },
    /// A chunk of model speech: PCM16 little-endian mono, already base64-decoded.
    Audio {
        /// The samples.
        data: Bytes,
        /// Sample rate from the MIME type (24 kHz when the MIME type does not say).
        sample_rate: u32,
        /// The `now` passed with the frame that carried it: when it came off the socket, for
        /// latency and playback bookkeeping.
        received: Instant,
    },
    /// Inline data that is not audio.
    InlineData {
        /// Its MIME type.
        mime_type: String,
        /// The bytes.
        data: Bytes,
    },
    /// An opaque thought signature to keep with the turn.
    ThoughtSignature(Bytes),
    /// Code the model generated.
    ExecutableCode(ExecutableCode),
    /// The result of running it.
    CodeExecutionResult(CodeExecutionResult),
    /// A transcript fragment of the user's speech.
    InputTranscript {
        /// The text.
        text: String,
        /// The server marked the transcript final.
        finished: bool,
        /// A low-latency partial (`interimInputTranscription`), to be replaced later.
        interim: bool,
    },
    /// A transcript fragment of the model's speech.
    OutputTranscript {
        /// The text.
        text: String,
        /// The server marked the transcript final.
        finished: bool,
    },
    /// Search grounding for the turn.
    Grounding(Box<GroundingMetadata>),
    /// URL context retrieval results.
    UrlContext(Box<UrlContextMetadata>),
    /// The model finished generating (not sent when interrupted); playback may still be running.
    GenerationComplete,
    /// User input cut the generation: flush playback now.
    Interrupted,
    /// The model waits for the user to continue.
    WaitingForInput,
    /// Token usage, before the `TurnComplete` it came with.
    Usage(Box<UsageMetadata>),
    /// The model's turn is over.
    TurnComplete {
        /// Why, when the server says.
        reason: Option<TurnCompleteReason>,
        /// `IN_PROGRESS` means more output may follow; `IDLE` means all is done.
        status: Option<InteractionStatus>,
    },
    /// Functions to run; answer with `Session::send_tool_response`.
    ToolCall {
        /// The calls, in order.
        calls: Vec<FunctionCall>,
    },
    /// Pending calls cancelled by an interruption.
    ToolCallCancellation {
        /// Their ids.
        ids: Vec<String>,
    },
    /// The server will end this connection after `time_left`; resume on a new one before `deadline`.
    GoAway {
        /// As the server said, up to [`MAX_TIME_LEFT`](crate::MAX_TIME_LEFT).
        time_left: Duration,
        /// `now + time_left`, from the `now` passed with the frame.
        deadline: Instant,
    },
    /// A resumption update. The session keeps the latest handle that came with `resumable: true`.
    Resumption {
        /// The new handle (empty or absent when not resumable).
        handle: Option<String>,
        /// Whether the session can be resumed from this point.
        resumable: bool,
        /// Vertex transparent mode: the last client message the server consumed.
        last_consumed_index: Option<i64>,
    },
    /// The server's VAD saw speech start or end.
    VoiceActivity {
        /// Start or end.
        kind: VoiceActivityType,
        /// From the start of the session's audio.
        audio_offset: Option<Duration>,
    },
    /// Vertex's explicit VAD signal.
    VadSignal {
        /// Start or end of speech.
        kind: VadSignalType,
    },
    /// The frame carried fields this version does not know; everything else in it was handled.
    Unrecognized {
        /// The unknown fields.
        fields: Vec<UnknownField>,
    },
    /// A frame that could not be decoded was skipped; the session goes on.
    Malformed(DecodeError),
    /// The server broke the protocol; the session goes on.
    Violation(Violation),
    /// The session is over. Always the last event.
    Closed(Close),
}
