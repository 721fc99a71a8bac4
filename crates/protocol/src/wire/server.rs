//! Server → client messages.

use super::content::{Content, FunctionCall, Segment};
use super::enums::{
    InteractionStatus, Modality, TurnCompleteReason, VadSignalType, VoiceActivityType,
};
use super::setup::VoiceConsentSignature;
use super::values::{
    Base64, ProtoDuration, opt_i32, opt_i64, opt_vec_i32, ser_opt_i64_str, wire_struct,
};

wire_struct! {
    /// One server frame. A struct, not an enum: real frames carry several keys at once
    /// (`serverContent` with `usageMetadata`, `serverContent: {}` with `voiceActivity`).
    pub struct ServerMessage {
        #[serde(alias = "setup_complete")]
        pub setup_complete: Option<SetupComplete>,
        #[serde(alias = "server_content")]
        pub server_content: Option<ServerContent>,
        #[serde(alias = "tool_call")]
        pub tool_call: Option<ToolCall>,
        #[serde(alias = "tool_call_cancellation")]
        pub tool_call_cancellation: Option<ToolCallCancellation>,
        #[serde(alias = "go_away")]
        pub go_away: Option<GoAway>,
        #[serde(alias = "session_resumption_update")]
        pub session_resumption_update: Option<SessionResumptionUpdate>,
        #[serde(alias = "voice_activity")]
        pub voice_activity: Option<VoiceActivity>,
        #[serde(alias = "voice_activity_detection_signal")]
        pub voice_activity_detection_signal: Option<VoiceActivityDetectionSignal>,
        #[serde(alias = "usage_metadata")]
        pub usage_metadata: Option<UsageMetadata>,
    }
}

impl ServerMessage {
    /// Pretty-printed camelCase JSON with two-space indents and a trailing newline, as Google sends it.
    pub fn to_json_pretty(&self) -> String {
        let mut out = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("wire types serialize: {e}"));
        out.push('\n');
        out
    }

    /// Compact camelCase JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("wire types serialize: {e}"))
    }
}

wire_struct! {
    /// `setupComplete`: `{}` on the Developer API, `{sessionId}` on Vertex.
    pub struct SetupComplete {
        #[serde(alias = "session_id")]
        pub session_id: Option<String>,
        #[serde(alias = "voice_consent_signature")]
        pub voice_consent_signature: Option<VoiceConsentSignature>,
    }
}

wire_struct! {
    /// `serverContent`: model output and turn signals. Every field may appear with any other.
    pub struct ServerContent {
        #[serde(alias = "model_turn")]
        pub model_turn: Option<Content>,
        #[serde(alias = "generation_complete")]
        pub generation_complete: Option<bool>,
        #[serde(alias = "turn_complete")]
        pub turn_complete: Option<bool>,
        pub interrupted: Option<bool>,
        #[serde(alias = "grounding_metadata")]
        pub grounding_metadata: Option<GroundingMetadata>,
        #[serde(alias = "input_transcription")]
        pub input_transcription: Option<Transcription>,
        #[serde(alias = "output_transcription")]
        pub output_transcription: Option<Transcription>,
        #[serde(alias = "interim_input_transcription")]
        pub interim_input_transcription: Option<Transcription>,
        #[serde(alias = "url_context_metadata")]
        pub url_context_metadata: Option<UrlContextMetadata>,
        #[serde(alias = "turn_complete_reason")]
        pub turn_complete_reason: Option<TurnCompleteReason>,
        #[serde(alias = "waiting_for_input")]
        pub waiting_for_input: Option<bool>,
        #[serde(alias = "interaction_status")]
        pub interaction_status: Option<InteractionStatus>,
    }
}

wire_struct! {
    /// A transcript fragment of the user's or the model's audio.
    pub struct Transcription {
        pub text: Option<String>,
        /// Seen on Vertex.
        pub finished: Option<bool>,
        #[serde(alias = "language_code")]
        pub language_code: Option<String>,
        #[serde(alias = "speaker_label")]
        pub speaker_label: Option<String>,
        pub words: Option<Vec<WordInfo>>,
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// A word with its timing.
    pub struct WordInfo {
        pub word: Option<String>,
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// Search grounding for a turn.
    pub struct GroundingMetadata {
        #[serde(alias = "web_search_queries")]
        pub web_search_queries: Option<Vec<String>>,
        #[serde(alias = "search_entry_point")]
        pub search_entry_point: Option<SearchEntryPoint>,
        #[serde(alias = "grounding_chunks")]
        pub grounding_chunks: Option<Vec<GroundingChunk>>,
        #[serde(alias = "grounding_supports")]
        pub grounding_supports: Option<Vec<GroundingSupport>>,
        #[serde(alias = "retrieval_metadata")]
        pub retrieval_metadata: Option<serde_json::Value>,
        #[serde(alias = "image_search_queries")]
        pub image_search_queries: Option<Vec<String>>,
    }
}

wire_struct! {
    /// The rendered search widget.
    pub struct SearchEntryPoint {
        /// HTML.
        #[serde(alias = "rendered_content")]
        pub rendered_content: Option<String>,
        #[serde(alias = "sdk_blob")]
        pub sdk_blob: Option<Base64>,
    }
}

wire_struct! {
    /// A grounding source.
    pub struct GroundingChunk {
        pub web: Option<WebChunk>,
        #[serde(alias = "retrieved_context")]
        pub retrieved_context: Option<serde_json::Value>,
        pub maps: Option<serde_json::Value>,
        pub image: Option<serde_json::Value>,
        #[serde(alias = "reference_id")]
        pub reference_id: Option<String>,
    }
}

wire_struct! {
    /// A web grounding source.
    pub struct WebChunk {
        pub uri: Option<String>,
        pub title: Option<String>,
        pub domain: Option<String>,
        pub snippet: Option<String>,
        #[serde(alias = "search_result_mapping")]
        pub search_result_mapping: Option<SearchResultMapping>,
    }
}

wire_struct! {
    /// Where a web chunk sits in the search results.
    pub struct SearchResultMapping {
        #[serde(alias = "result_index", deserialize_with = "opt_i32")]
        pub result_index: Option<i32>,
    }
}

wire_struct! {
    /// Which chunks support a segment of the response.
    pub struct GroundingSupport {
        pub segment: Option<Segment>,
        #[serde(alias = "grounding_chunk_indices", deserialize_with = "opt_vec_i32")]
        pub grounding_chunk_indices: Option<Vec<i32>>,
        #[serde(alias = "confidence_scores")]
        pub confidence_scores: Option<Vec<f32>>,
        /// Observed: `"POST_HOC_ANNOTATED"`.
        pub origin: Option<String>,
    }
}

wire_struct! {
    /// URL context retrieval results.
    pub struct UrlContextMetadata {
        #[serde(alias = "url_metadata")]
        pub url_metadata: Option<Vec<UrlMetadata>>,
    }
}

wire_struct! {
    /// One retrieved URL.
    pub struct UrlMetadata {
        #[serde(alias = "retrieved_url")]
        pub retrieved_url: Option<String>,
        #[serde(alias = "url_retrieval_status")]
        pub url_retrieval_status: Option<String>,
    }
}

wire_struct! {
    /// `toolCall`: functions to run. Does not end the turn.
    pub struct ToolCall {
        #[serde(alias = "function_calls")]
        pub function_calls: Vec<FunctionCall>,
    }
}

wire_struct! {
    /// `toolCallCancellation`: pending calls the user's interruption cancelled.
    pub struct ToolCallCancellation {
        pub ids: Vec<String>,
    }
}

wire_struct! {
    /// `goAway`: the connection ends after `timeLeft`; resume on a new one.
    pub struct GoAway {
        #[serde(alias = "time_left")]
        pub time_left: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// `sessionResumptionUpdate`.
    pub struct SessionResumptionUpdate {
        /// Empty when `resumable` is false.
        #[serde(alias = "new_handle")]
        pub new_handle: Option<String>,
        /// False while generating or while tool calls run.
        pub resumable: Option<bool>,
        /// Vertex transparent mode: an int64, written as a string.
        #[serde(alias = "last_consumed_client_message_index", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub last_consumed_client_message_index: Option<i64>,
    }
}

wire_struct! {
    /// Token accounting, usually beside `turnComplete`.
    pub struct UsageMetadata {
        #[serde(alias = "prompt_token_count", deserialize_with = "opt_i32")]
        pub prompt_token_count: Option<i32>,
        #[serde(alias = "cached_content_token_count", deserialize_with = "opt_i32")]
        pub cached_content_token_count: Option<i32>,
        /// Developer API name of the output token count.
        #[serde(alias = "response_token_count", deserialize_with = "opt_i32")]
        pub response_token_count: Option<i32>,
        /// Vertex name of the output token count.
        #[serde(alias = "candidates_token_count", deserialize_with = "opt_i32")]
        pub candidates_token_count: Option<i32>,
        #[serde(alias = "tool_use_prompt_token_count", deserialize_with = "opt_i32")]
        pub tool_use_prompt_token_count: Option<i32>,
        #[serde(alias = "thoughts_token_count", deserialize_with = "opt_i32")]
        pub thoughts_token_count: Option<i32>,
        #[serde(alias = "total_token_count", deserialize_with = "opt_i32")]
        pub total_token_count: Option<i32>,
        #[serde(alias = "prompt_tokens_details")]
        pub prompt_tokens_details: Option<Vec<ModalityTokenCount>>,
        #[serde(alias = "cache_tokens_details")]
        pub cache_tokens_details: Option<Vec<ModalityTokenCount>>,
        #[serde(alias = "response_tokens_details")]
        pub response_tokens_details: Option<Vec<ModalityTokenCount>>,
        #[serde(alias = "candidates_tokens_details")]
        pub candidates_tokens_details: Option<Vec<ModalityTokenCount>>,
        #[serde(alias = "tool_use_prompt_tokens_details")]
        pub tool_use_prompt_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Vertex.
        #[serde(alias = "traffic_type")]
        pub traffic_type: Option<String>,
        #[serde(alias = "service_tier")]
        pub service_tier: Option<String>,
        /// Observed on 3.1; not in the SDK types.
        #[serde(alias = "billed_tool_calls")]
        pub billed_tool_calls: Option<Vec<BilledToolCall>>,
    }
}

impl UsageMetadata {
    /// Output tokens under either backend's name.
    pub fn output_tokens(&self) -> Option<i32> {
        self.response_token_count.or(self.candidates_token_count)
    }
}

wire_struct! {
    /// Tokens of one modality.
    pub struct ModalityTokenCount {
        pub modality: Option<Modality>,
        #[serde(alias = "token_count", deserialize_with = "opt_i32")]
        pub token_count: Option<i32>,
    }
}

wire_struct! {
    /// A billed built-in tool call.
    pub struct BilledToolCall {
        pub tool: Option<String>,
        #[serde(alias = "search_query_count", deserialize_with = "opt_i32")]
        pub search_query_count: Option<i32>,
    }
}

wire_struct! {
    /// `voiceActivity` (Developer API, 3.x).
    pub struct VoiceActivity {
        #[serde(rename = "type", alias = "voice_activity_type")]
        pub r#type: Option<VoiceActivityType>,
        /// From the start of the session's audio, across resumes.
        #[serde(alias = "audio_offset")]
        pub audio_offset: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// `voiceActivityDetectionSignal` (Vertex, `explicitVadSignal`).
    pub struct VoiceActivityDetectionSignal {
        #[serde(alias = "vad_signal_type")]
        pub vad_signal_type: Option<VadSignalType>,
    }
}
