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
        /// `setupComplete`: the setup was accepted; sending may start.
        #[serde(alias = "setup_complete")]
        pub setup_complete: Option<SetupComplete>,
        /// `serverContent`: model output and turn signals.
        #[serde(alias = "server_content")]
        pub server_content: Option<ServerContent>,
        /// `toolCall`: functions for the client to run.
        #[serde(alias = "tool_call")]
        pub tool_call: Option<ToolCall>,
        /// `toolCallCancellation`: pending calls to cancel.
        #[serde(alias = "tool_call_cancellation")]
        pub tool_call_cancellation: Option<ToolCallCancellation>,
        /// `goAway`: this connection ends soon.
        #[serde(alias = "go_away")]
        pub go_away: Option<GoAway>,
        /// `sessionResumptionUpdate`: a new resumption handle.
        #[serde(alias = "session_resumption_update")]
        pub session_resumption_update: Option<SessionResumptionUpdate>,
        /// `voiceActivity`: the server's voice detection (Developer API, 3.x).
        #[serde(alias = "voice_activity")]
        pub voice_activity: Option<VoiceActivity>,
        /// `voiceActivityDetectionSignal` (Vertex, with `explicitVadSignal`).
        #[serde(alias = "voice_activity_detection_signal")]
        pub voice_activity_detection_signal: Option<VoiceActivityDetectionSignal>,
        /// Token accounting, beside any other key (usually `turnComplete`).
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
        /// Vertex's session id.
        #[serde(alias = "session_id")]
        pub session_id: Option<String>,
        /// Proof that a replicated voice's consent audio was verified.
        #[serde(alias = "voice_consent_signature")]
        pub voice_consent_signature: Option<VoiceConsentSignature>,
    }
}

wire_struct! {
    /// `serverContent`: model output and turn signals. Every field may appear with any other.
    pub struct ServerContent {
        /// Incremental model output: text, audio chunks, thoughts, code.
        #[serde(alias = "model_turn")]
        pub model_turn: Option<Content>,
        /// The model finished generating this response (not sent when interrupted).
        #[serde(alias = "generation_complete")]
        pub generation_complete: Option<bool>,
        /// The model's turn is over: nothing more until new client input.
        #[serde(alias = "turn_complete")]
        pub turn_complete: Option<bool>,
        /// Client input cut the generation: flush playback (`turnComplete` follows).
        pub interrupted: Option<bool>,
        /// Search grounding of the response.
        #[serde(alias = "grounding_metadata")]
        pub grounding_metadata: Option<GroundingMetadata>,
        /// A transcript fragment of the user's audio (not ordered with other messages).
        #[serde(alias = "input_transcription")]
        pub input_transcription: Option<Transcription>,
        /// A transcript fragment of the model's audio.
        #[serde(alias = "output_transcription")]
        pub output_transcription: Option<Transcription>,
        /// A low-latency partial transcript of the user's audio.
        #[serde(alias = "interim_input_transcription")]
        pub interim_input_transcription: Option<Transcription>,
        /// The URLs the URL-context tool retrieved.
        #[serde(alias = "url_context_metadata")]
        pub url_context_metadata: Option<UrlContextMetadata>,
        /// Why the turn ended early (a malformed call, a safety block, more input needed...).
        #[serde(alias = "turn_complete_reason")]
        pub turn_complete_reason: Option<TurnCompleteReason>,
        /// The model is not generating: it expects the user to go on.
        #[serde(alias = "waiting_for_input")]
        pub waiting_for_input: Option<bool>,
        /// With `turnComplete`: `IN_PROGRESS` (background work goes on, more output may follow) or `IDLE`.
        #[serde(alias = "interaction_status")]
        pub interaction_status: Option<InteractionStatus>,
    }
}

wire_struct! {
    /// A transcript fragment of the user's or the model's audio.
    pub struct Transcription {
        /// The transcribed words.
        pub text: Option<String>,
        /// Seen on Vertex.
        pub finished: Option<bool>,
        /// The detected language (BCP-47).
        #[serde(alias = "language_code")]
        pub language_code: Option<String>,
        /// Who spoke, with diarization (`spk_1`, ...).
        #[serde(alias = "speaker_label")]
        pub speaker_label: Option<String>,
        /// Each word with its timing (with `wordTimestamp`).
        pub words: Option<Vec<WordInfo>>,
        /// Where the fragment starts in the audio.
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        /// Where the fragment ends in the audio.
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// A word with its timing.
    pub struct WordInfo {
        /// The word.
        pub word: Option<String>,
        /// Where it starts in the audio.
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        /// Where it ends in the audio.
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
    }
}

wire_struct! {
    /// Search grounding for a turn.
    pub struct GroundingMetadata {
        /// The queries the model searched for.
        #[serde(alias = "web_search_queries")]
        pub web_search_queries: Option<Vec<String>>,
        /// The search suggestions widget to show with the answer.
        #[serde(alias = "search_entry_point")]
        pub search_entry_point: Option<SearchEntryPoint>,
        /// The sources the answer is grounded on.
        #[serde(alias = "grounding_chunks")]
        pub grounding_chunks: Option<Vec<GroundingChunk>>,
        /// Which sources support which parts of the answer.
        #[serde(alias = "grounding_supports")]
        pub grounding_supports: Option<Vec<GroundingSupport>>,
        /// Metadata of the retrieval (dynamic retrieval scores).
        #[serde(alias = "retrieval_metadata")]
        pub retrieval_metadata: Option<serde_json::Value>,
        /// The image queries the model searched for.
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
        /// An opaque blob for SDK renderers.
        #[serde(alias = "sdk_blob")]
        pub sdk_blob: Option<Base64>,
    }
}

wire_struct! {
    /// A grounding source.
    pub struct GroundingChunk {
        /// A web page.
        pub web: Option<WebChunk>,
        /// A document from a retrieval tool.
        #[serde(alias = "retrieved_context")]
        pub retrieved_context: Option<serde_json::Value>,
        /// A Google Maps place.
        pub maps: Option<serde_json::Value>,
        /// An image result.
        pub image: Option<serde_json::Value>,
        /// An id other messages refer to this chunk by.
        #[serde(alias = "reference_id")]
        pub reference_id: Option<String>,
    }
}

wire_struct! {
    /// A web grounding source.
    pub struct WebChunk {
        /// The page's URI.
        pub uri: Option<String>,
        /// The page's title.
        pub title: Option<String>,
        /// The page's domain.
        pub domain: Option<String>,
        /// A snippet of the page.
        pub snippet: Option<String>,
        /// Where the page sits in the search results.
        #[serde(alias = "search_result_mapping")]
        pub search_result_mapping: Option<SearchResultMapping>,
    }
}

wire_struct! {
    /// Where a web chunk sits in the search results.
    pub struct SearchResultMapping {
        /// The page's index in the search results.
        #[serde(alias = "result_index", deserialize_with = "opt_i32")]
        pub result_index: Option<i32>,
    }
}

wire_struct! {
    /// Which chunks support a segment of the response.
    pub struct GroundingSupport {
        /// The part of the response that is supported.
        pub segment: Option<Segment>,
        /// Indices into `grounding_chunks` of the supporting sources.
        #[serde(alias = "grounding_chunk_indices", deserialize_with = "opt_vec_i32")]
        pub grounding_chunk_indices: Option<Vec<i32>>,
        /// Confidence in each supporting source, from 0 to 1.
        #[serde(alias = "confidence_scores")]
        pub confidence_scores: Option<Vec<f32>>,
        /// Observed: `"POST_HOC_ANNOTATED"`.
        pub origin: Option<String>,
    }
}

wire_struct! {
    /// URL context retrieval results.
    pub struct UrlContextMetadata {
        /// One entry per retrieved URL.
        #[serde(alias = "url_metadata")]
        pub url_metadata: Option<Vec<UrlMetadata>>,
    }
}

wire_struct! {
    /// One retrieved URL.
    pub struct UrlMetadata {
        /// The URL.
        #[serde(alias = "retrieved_url")]
        pub retrieved_url: Option<String>,
        /// Whether it could be retrieved (`URL_RETRIEVAL_STATUS_SUCCESS`, ...).
        #[serde(alias = "url_retrieval_status")]
        pub url_retrieval_status: Option<String>,
    }
}

wire_struct! {
    /// `toolCall`: functions to run. Does not end the turn.
    pub struct ToolCall {
        /// The calls to run; answer each with a `FunctionResponse` echoing its id.
        #[serde(alias = "function_calls")]
        pub function_calls: Vec<FunctionCall>,
    }
}

wire_struct! {
    /// `toolCallCancellation`: pending calls the user's interruption cancelled.
    pub struct ToolCallCancellation {
        /// The ids of the calls that were cancelled: do not answer them.
        pub ids: Vec<String>,
    }
}

wire_struct! {
    /// `goAway`: the connection ends after `timeLeft`; resume on a new one.
    pub struct GoAway {
        /// How long until the connection is ended (as ABORTED).
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
        /// Prompt tokens: the context the turn was generated from.
        #[serde(alias = "prompt_token_count", deserialize_with = "opt_i32")]
        pub prompt_token_count: Option<i32>,
        /// Prompt tokens served from the cache.
        #[serde(alias = "cached_content_token_count", deserialize_with = "opt_i32")]
        pub cached_content_token_count: Option<i32>,
        /// Developer API name of the output token count.
        #[serde(alias = "response_token_count", deserialize_with = "opt_i32")]
        pub response_token_count: Option<i32>,
        /// Vertex name of the output token count.
        #[serde(alias = "candidates_token_count", deserialize_with = "opt_i32")]
        pub candidates_token_count: Option<i32>,
        /// Tokens of tool results in the prompt.
        #[serde(alias = "tool_use_prompt_token_count", deserialize_with = "opt_i32")]
        pub tool_use_prompt_token_count: Option<i32>,
        /// Tokens the model thought.
        #[serde(alias = "thoughts_token_count", deserialize_with = "opt_i32")]
        pub thoughts_token_count: Option<i32>,
        /// All tokens of the turn.
        #[serde(alias = "total_token_count", deserialize_with = "opt_i32")]
        pub total_token_count: Option<i32>,
        /// Prompt tokens by modality.
        #[serde(alias = "prompt_tokens_details")]
        pub prompt_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Cached tokens by modality.
        #[serde(alias = "cache_tokens_details")]
        pub cache_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Output tokens by modality (Developer API name).
        #[serde(alias = "response_tokens_details")]
        pub response_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Output tokens by modality (Vertex name).
        #[serde(alias = "candidates_tokens_details")]
        pub candidates_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Tool-result tokens by modality.
        #[serde(alias = "tool_use_prompt_tokens_details")]
        pub tool_use_prompt_tokens_details: Option<Vec<ModalityTokenCount>>,
        /// Vertex.
        #[serde(alias = "traffic_type")]
        pub traffic_type: Option<String>,
        /// The service tier the turn was served on.
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
        /// The modality (`TEXT`, `AUDIO`, `IMAGE`, `VIDEO`, ...).
        pub modality: Option<Modality>,
        /// Its tokens.
        #[serde(alias = "token_count", deserialize_with = "opt_i32")]
        pub token_count: Option<i32>,
    }
}

wire_struct! {
    /// A billed built-in tool call.
    pub struct BilledToolCall {
        /// The built-in tool (e.g. `GOOGLE_SEARCH_RETRIEVAL`).
        pub tool: Option<String>,
        /// How many search queries were billed.
        #[serde(alias = "search_query_count", deserialize_with = "opt_i32")]
        pub search_query_count: Option<i32>,
    }
}

wire_struct! {
    /// `voiceActivity` (Developer API, 3.x).
    pub struct VoiceActivity {
        /// `ACTIVITY_START` or `ACTIVITY_END` (`type` on the wire).
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
        /// Start (`VAD_SIGNAL_TYPE_SOS`) or end (`VAD_SIGNAL_TYPE_EOS`) of speech.
        #[serde(alias = "vad_signal_type")]
        pub vad_signal_type: Option<VadSignalType>,
    }
}
