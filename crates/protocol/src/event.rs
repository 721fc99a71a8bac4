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
        /// The MIME type as the server sent it, e.g. `audio/pcm;rate=24000`.
        mime_type: String,
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
    /// The model's turn was cut short: its connection ended (or the turn stalled) before the
    /// turn was complete. Output of the cut turn that came before this event is all of it that
    /// will come. `turns` says what happens to the user's input: each turn is either sent again
    /// on the new connection (its new answer follows, from the start) or has to be asked again.
    TurnCut {
        /// Why: the close that ended the connection, or a local one
        /// ([`CloseKind::Stalled`](crate::CloseKind::Stalled),
        /// [`CloseKind::GoAwayDeadline`](crate::CloseKind::GoAwayDeadline)).
        cause: Close,
        /// The user turns the server had not answered: the typed ones oldest first, then the
        /// speech (see [`PendingTurn::speech`]) when audio the server had not covered was cut.
        /// Empty when the cut turn was not started by anything the client can name.
        turns: Vec<PendingTurn>,
    },
    /// The connection ended and the session will resume on a new one. Drivers that resume
    /// automatically (gemlive-transport's) emit it; a bare [`Session`](crate::Session) never does.
    Reconnecting {
        /// Why the connection ended.
        cause: Close,
        /// The attempt that starts after `delay`: 1 for the first after a connection ended.
        attempt: u32,
        /// How long until it starts (backoff).
        delay: Duration,
    },
    /// The session is over. Always the last event.
    Closed(Close),
}

/// A user turn the server had not answered when its connection ended (see [`Event::TurnCut`]).
///
/// A typed turn has a number and its text. Speech has neither (the server's voice activity
/// detection decides where spoken turns begin and end): it comes as one `PendingTurn` with
/// number 0, empty text and [`PendingTurn::speech`] saying how much audio was sent again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTurn {
    /// Which one: the n-th user turn of the session (1-based), counting text turns
    /// (`realtimeInput.text`) and `clientContent` turns with `turnComplete`, across connections.
    /// 0 for speech.
    pub number: u64,
    /// What the user said (typed); empty for speech.
    pub text: String,
    /// Sent again on the new connection: its answer follows. `false`: the application has to
    /// ask again (resending is off, the turn was already resent too often, or the session ends).
    pub resent: bool,
    /// For speech: the audio the break cut, `None` for a typed turn.
    pub speech: Option<Speech>,
}

/// The audio of a [`PendingTurn`] that is speech: what the client had sent since the last
/// point the server covers (a resumable handle, or the end of a whole answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Speech {
    /// The audio kept, sent again when the turn is `resent` (at most
    /// [`SessionConfig::speech_kept`](crate::SessionConfig::speech_kept)).
    pub audio: Duration,
    /// Older audio of the same stretch that did not fit in the bound and is not sent again: the
    /// start of a long utterance the server will not hear (zero when nothing was dropped).
    pub dropped: Duration,
}

impl Event {
    /// The words of the model's answer in this event: model text that is not a thought summary
    /// ([`Event::Text`]), or the transcript of its speech ([`Event::OutputTranscript`], when
    /// output transcription is on). `None` for every other event.
    ///
    /// ```
    /// use gemlive_protocol::Event;
    /// let event = Event::OutputTranscript { text: "Hello".into(), finished: false };
    /// assert_eq!(event.text(), Some("Hello"));
    /// let thought = Event::Text { text: "hmm".into(), thought: true };
    /// assert_eq!(thought.text(), None);
    /// ```
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text {
                text,
                thought: false,
            }
            | Self::OutputTranscript { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The PCM16 LE bytes of an [`Event::Audio`], like the Python SDK's `response.data`.
    pub fn audio(&self) -> Option<&Bytes> {
        match self {
            Self::Audio { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The MIME type of an [`Event::Audio`] (`audio/pcm;rate=24000`).
    pub fn audio_mime_type(&self) -> Option<&str> {
        match self {
            Self::Audio { mime_type, .. } => Some(mime_type),
            _ => None,
        }
    }
}
