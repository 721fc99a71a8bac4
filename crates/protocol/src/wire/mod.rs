//! Typed models of every Live API message, one to one with the JSON.
//!
//! Rust fields are snake_case. Encoding writes camelCase, omits unset fields, writes bytes as
//! standard base64 and int64 as strings. Decoding accepts camelCase and snake_case at any depth,
//! standard and URL-safe base64 with or without padding, int64 as numbers or strings, integral
//! floats where ints are expected, durations like `"0.200s"`, and enum names in any case.
//! Decode through [`crate::decode_client`] / [`crate::decode_server`] to learn about unknown fields.
//!
//! Every field is documented from the protocol reference: what it means, and where only one
//! backend (the Gemini Developer API or Vertex AI) or some models take it.

mod client;
mod content;
mod enums;
mod server;
mod setup;
pub(crate) mod values;

pub use client::{
    ClientContent, ClientMessage, ContextUpdate, RealtimeInput, ToolResponse, ToolsUpdate,
};
pub use content::{
    Blob, CodeExecutionResult, Content, ExecutableCode, FileData, FunctionCall, FunctionResponse,
    FunctionResponsePart, Part, PartMediaResolution, PartialArg, Segment, VideoMetadata,
};
pub use enums::{
    ActivityHandling, Behavior, EndSensitivity, InteractionStatus, Language, MediaResolution,
    Modality, Outcome, Scheduling, SchemaType, StartSensitivity, ThinkingLevel, TranscriptionMode,
    TurnCompleteReason, TurnCoverage, VadSignalType, VoiceActivityType,
};
pub use server::{
    BilledToolCall, GoAway, GroundingChunk, GroundingMetadata, GroundingSupport,
    ModalityTokenCount, SearchEntryPoint, SearchResultMapping, ServerContent, ServerMessage,
    SessionResumptionUpdate, SetupComplete, ToolCall, ToolCallCancellation, Transcription,
    UrlContextMetadata, UrlMetadata, UsageMetadata, VoiceActivity, VoiceActivityDetectionSignal,
    WebChunk, WordInfo,
};
pub use setup::{
    AudioTranscriptionConfig, AutomaticActivityDetection, AvatarConfig,
    ContextWindowCompressionConfig, CustomizedAvatar, FunctionDeclaration, GenerationConfig,
    GoogleSearch, HistoryConfig, LanguageHints, PrebuiltVoiceConfig, ProactivityConfig,
    RealtimeInputConfig, ReplicatedVoiceConfig, SafetySetting, Schema, SessionResumptionConfig,
    Setup, SlidingWindow, SpeechConfig, ThinkingConfig, Tool, TranslationConfig, VoiceConfig,
    VoiceConsentSignature,
};
pub use values::{Base64, Empty, ProtoDuration, Unset, decode_base64, encode_base64_into};
