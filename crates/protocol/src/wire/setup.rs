//! `setup`: the first client message, and everything it configures.

use std::collections::BTreeMap;

use serde_json::Value;

use super::content::Content;
use super::enums::{
    ActivityHandling, Behavior, EndSensitivity, MediaResolution, Modality, SchemaType,
    StartSensitivity, ThinkingLevel, TranscriptionMode, TurnCoverage,
};
use super::values::{Base64, Empty, opt_i32, opt_i64, ser_opt_i64_str, wire_struct};

wire_struct! {
    /// `BidiGenerateContentSetup`: the session's configuration, sent once, first.
    pub struct Setup {
        /// `models/{model}` on the Developer API, the full resource name on Vertex.
        pub model: String,
        /// Generation parameters: response modality, voice, temperature, thinking...
        #[serde(alias = "generation_config")]
        pub generation_config: Option<GenerationConfig>,
        /// Text parts only; each part becomes a paragraph.
        #[serde(alias = "system_instruction")]
        pub system_instruction: Option<Content>,
        /// Function declarations and built-in tools (order is not meaningful).
        pub tools: Option<Vec<Tool>>,
        /// Voice activity detection and turn behaviour.
        #[serde(alias = "realtime_input_config")]
        pub realtime_input_config: Option<RealtimeInputConfig>,
        /// `{}` asks for resumption handles; `{handle}` resumes a session.
        #[serde(alias = "session_resumption")]
        pub session_resumption: Option<SessionResumptionConfig>,
        /// Sliding-window compression, so that sessions can outlive their context limit.
        #[serde(alias = "context_window_compression")]
        pub context_window_compression: Option<ContextWindowCompressionConfig>,
        /// `{}` transcribes the user's audio.
        #[serde(alias = "input_audio_transcription")]
        pub input_audio_transcription: Option<AudioTranscriptionConfig>,
        /// `{}` transcribes the model's audio.
        #[serde(alias = "output_audio_transcription")]
        pub output_audio_transcription: Option<AudioTranscriptionConfig>,
        /// Developer API needs `v1alpha`.
        pub proactivity: Option<ProactivityConfig>,
        /// How initial history is given (3.1+).
        #[serde(alias = "history_config")]
        pub history_config: Option<HistoryConfig>,
        /// Vertex only.
        #[serde(alias = "explicit_vad_signal")]
        pub explicit_vad_signal: Option<bool>,
        /// The avatar of VIDEO responses (3.8 Live).
        #[serde(alias = "avatar_config")]
        pub avatar_config: Option<AvatarConfig>,
        /// Safety thresholds (in the SDK types; AI Studio rejected them with 1007 in 2026-08).
        #[serde(alias = "safety_settings")]
        pub safety_settings: Option<Vec<SafetySetting>>,
        /// Developer API only.
        pub labels: Option<BTreeMap<String, String>>,
    }
}

impl Setup {
    /// A setup for `model` with everything else left to the server's defaults.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            ..Self::default()
        }
    }

    /// The response modalities asked for (empty when unset: the server defaults to AUDIO).
    pub fn response_modalities(&self) -> &[Modality] {
        self.generation_config
            .as_ref()
            .and_then(|g| g.response_modalities.as_deref())
            .unwrap_or(&[])
    }
}

wire_struct! {
    /// The generation parameters Live honours.
    pub struct GenerationConfig {
        /// Exactly one modality per session.
        #[serde(alias = "response_modalities")]
        pub response_modalities: Option<Vec<Modality>>,
        /// Sampling temperature.
        pub temperature: Option<f32>,
        /// Nucleus sampling: the probability mass to sample from.
        #[serde(alias = "top_p")]
        pub top_p: Option<f32>,
        /// Sample from the `top_k` most likely tokens.
        #[serde(alias = "top_k", deserialize_with = "opt_i32")]
        pub top_k: Option<i32>,
        /// The longest response, in tokens.
        #[serde(alias = "max_output_tokens", deserialize_with = "opt_i32")]
        pub max_output_tokens: Option<i32>,
        /// Seed for sampling.
        #[serde(deserialize_with = "opt_i32")]
        pub seed: Option<i32>,
        /// Responses per turn (1 only).
        #[serde(alias = "candidate_count", deserialize_with = "opt_i32")]
        pub candidate_count: Option<i32>,
        /// Penalty for tokens already present in the response.
        #[serde(alias = "presence_penalty")]
        pub presence_penalty: Option<f32>,
        /// Penalty growing with how often a token was used.
        #[serde(alias = "frequency_penalty")]
        pub frequency_penalty: Option<f32>,
        /// Voice and language of spoken responses.
        #[serde(alias = "speech_config")]
        pub speech_config: Option<SpeechConfig>,
        /// Tokens per image frame: LOW 64, MEDIUM 256, HIGH 256 with zoomed reframing.
        #[serde(alias = "media_resolution")]
        pub media_resolution: Option<MediaResolution>,
        /// Thinking: a budget (2.5) or a level (3.1); not on 3.8.
        #[serde(alias = "thinking_config")]
        pub thinking_config: Option<ThinkingConfig>,
        /// Native-audio 2.5 only; Developer API needs `v1alpha`.
        #[serde(alias = "enable_affective_dialog")]
        pub enable_affective_dialog: Option<bool>,
        /// Speech translation (`gemini-3.5-live-translate-preview`).
        #[serde(alias = "translation_config")]
        pub translation_config: Option<TranslationConfig>,
        /// Transcription settings (in the SDK 3.6.1 types; purpose in Live unclear).
        #[serde(alias = "audio_transcription_config")]
        pub audio_transcription_config: Option<AudioTranscriptionConfig>,
    }
}

wire_struct! {
    /// Voice and language of spoken replies.
    pub struct SpeechConfig {
        /// Which voice speaks.
        #[serde(alias = "voice_config")]
        pub voice_config: Option<VoiceConfig>,
        /// For half-cascade models; native-audio models detect the language.
        #[serde(alias = "language_code")]
        pub language_code: Option<String>,
    }
}

impl SpeechConfig {
    /// A prebuilt voice such as `"Kore"` or `"Puck"`.
    pub fn voice(name: impl Into<String>) -> Self {
        Self {
            voice_config: Some(VoiceConfig {
                prebuilt_voice_config: Some(PrebuiltVoiceConfig {
                    voice_name: Some(name.into()),
                }),
                ..VoiceConfig::default()
            }),
            language_code: None,
        }
    }
}

wire_struct! {
    /// Which voice speaks.
    pub struct VoiceConfig {
        /// One of the 30 prebuilt voices.
        #[serde(alias = "prebuilt_voice_config")]
        pub prebuilt_voice_config: Option<PrebuiltVoiceConfig>,
        /// A voice replicated from a sample.
        #[serde(alias = "replicated_voice_config")]
        pub replicated_voice_config: Option<ReplicatedVoiceConfig>,
        /// A voice by name (SDK 3.6.1).
        pub voice: Option<String>,
    }
}

wire_struct! {
    /// One of the prebuilt voices (Zephyr, Puck, Charon, Kore, ...).
    pub struct PrebuiltVoiceConfig {
        /// The voice: `Zephyr`, `Puck`, `Charon`, `Kore`, `Aoede`, ...
        #[serde(alias = "voice_name")]
        pub voice_name: Option<String>,
    }
}

wire_struct! {
    /// A voice replicated from a sample (SDK 3.6.1).
    pub struct ReplicatedVoiceConfig {
        /// The samples' format (`audio/wav`).
        #[serde(alias = "mime_type")]
        pub mime_type: Option<String>,
        /// A sample of the voice to replicate.
        #[serde(alias = "voice_sample_audio")]
        pub voice_sample_audio: Option<Base64>,
        /// The speaker's recorded consent.
        #[serde(alias = "consent_audio")]
        pub consent_audio: Option<Base64>,
        /// A signature from an earlier verification, instead of `consent_audio`.
        #[serde(alias = "voice_consent_signature")]
        pub voice_consent_signature: Option<VoiceConsentSignature>,
    }
}

wire_struct! {
    /// Proof that consent audio was verified.
    pub struct VoiceConsentSignature {
        /// The signature.
        pub signature: Option<String>,
    }
}

wire_struct! {
    /// Thinking: a budget (2.5) or a level (3.1); not supported on 3.8.
    pub struct ThinkingConfig {
        /// Send thought summaries (parts with `thought: true`).
        #[serde(alias = "include_thoughts")]
        pub include_thoughts: Option<bool>,
        /// Thinking tokens (2.5): dynamic by default, `0` turns thinking off.
        #[serde(alias = "thinking_budget", deserialize_with = "opt_i32")]
        pub thinking_budget: Option<i32>,
        /// How much to think (3.1): `MINIMAL` (default), `LOW`, `MEDIUM`, `HIGH`.
        #[serde(alias = "thinking_level")]
        pub thinking_level: Option<ThinkingLevel>,
    }
}

wire_struct! {
    /// Speech translation (`gemini-3.5-live-translate-preview`).
    pub struct TranslationConfig {
        /// The language to translate into (BCP-47).
        #[serde(alias = "target_language_code")]
        pub target_language_code: Option<String>,
        /// Also speak input that is already in the target language.
        #[serde(alias = "echo_target_language")]
        pub echo_target_language: Option<bool>,
    }
}

wire_struct! {
    /// `{}` turns transcription on; the other fields are optional hints.
    pub struct AudioTranscriptionConfig {
        /// Expected languages (BCP-47); detected when empty.
        #[serde(alias = "language_codes")]
        pub language_codes: Option<Vec<String>>,
        /// Words to bias recognition toward (3.8).
        #[serde(alias = "custom_vocabulary")]
        pub custom_vocabulary: Option<Vec<String>>,
        /// Time each word.
        #[serde(alias = "word_timestamp")]
        pub word_timestamp: Option<bool>,
        /// Label who speaks.
        pub diarization: Option<bool>,
        /// `VERBATIM`, or `SMART` (removes disfluencies; not with timestamps or diarization).
        pub mode: Option<TranscriptionMode>,
        /// The text a `SMART` transcript edits.
        #[serde(alias = "source_text")]
        pub source_text: Option<String>,
        /// Deprecated.
        #[serde(alias = "language_auto")]
        pub language_auto: Option<Empty>,
        /// Deprecated.
        #[serde(alias = "language_hints")]
        pub language_hints: Option<LanguageHints>,
        /// Deprecated.
        #[serde(alias = "adaptation_phrases")]
        pub adaptation_phrases: Option<Vec<String>>,
    }
}

wire_struct! {
    /// Deprecated language hints.
    pub struct LanguageHints {
        /// Expected languages (BCP-47).
        #[serde(alias = "language_codes")]
        pub language_codes: Option<Vec<String>>,
    }
}

wire_struct! {
    /// Voice activity detection and turn behaviour.
    pub struct RealtimeInputConfig {
        /// The server's voice activity detection.
        #[serde(alias = "automatic_activity_detection")]
        pub automatic_activity_detection: Option<AutomaticActivityDetection>,
        /// Whether the user's speech interrupts the model (the default) or not.
        #[serde(alias = "activity_handling")]
        pub activity_handling: Option<ActivityHandling>,
        /// What a user turn includes: only activity, all input, or audio activity and all video.
        #[serde(alias = "turn_coverage")]
        pub turn_coverage: Option<TurnCoverage>,
        /// Timestamps in interim transcripts.
        #[serde(alias = "interim_transcript_timestamp_enabled")]
        pub interim_transcript_timestamp_enabled: Option<bool>,
    }
}

wire_struct! {
    /// The server's VAD. `disabled: true` means the client sends activityStart/activityEnd.
    pub struct AutomaticActivityDetection {
        /// `true`: the client marks speech with `activityStart`/`activityEnd`.
        pub disabled: Option<bool>,
        /// How readily speech is detected to start (HIGH detects more often).
        #[serde(alias = "start_of_speech_sensitivity")]
        pub start_of_speech_sensitivity: Option<StartSensitivity>,
        /// How readily speech is detected to end (HIGH ends more often).
        #[serde(alias = "end_of_speech_sensitivity")]
        pub end_of_speech_sensitivity: Option<EndSensitivity>,
        /// Speech needed before a start of speech is committed.
        #[serde(alias = "prefix_padding_ms", deserialize_with = "opt_i32")]
        pub prefix_padding_ms: Option<i32>,
        /// Silence needed before an end of speech is committed.
        #[serde(alias = "silence_duration_ms", deserialize_with = "opt_i32")]
        pub silence_duration_ms: Option<i32>,
    }
}

wire_struct! {
    /// `{}` starts a resumable session; `{handle}` resumes one.
    pub struct SessionResumptionConfig {
        /// The handle of the session to resume (a `newHandle` it sent).
        pub handle: Option<String>,
        /// Vertex only: the server acknowledges client messages by index.
        pub transparent: Option<bool>,
    }
}

wire_struct! {
    /// Sliding-window compression of the context.
    pub struct ContextWindowCompressionConfig {
        /// Compress when the context reaches this many tokens (default 80% of the limit).
        #[serde(alias = "trigger_tokens", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub trigger_tokens: Option<i64>,
        /// Compress by dropping the oldest turns.
        #[serde(alias = "sliding_window")]
        pub sliding_window: Option<SlidingWindow>,
    }
}

wire_struct! {
    /// The only compression mechanism.
    pub struct SlidingWindow {
        /// Tokens to keep after compressing (default half of `trigger_tokens`).
        #[serde(alias = "target_tokens", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub target_tokens: Option<i64>,
    }
}

wire_struct! {
    /// Proactive audio (2.5 native audio; always on for 3.8).
    pub struct ProactivityConfig {
        /// The model may ignore input that is not meant for it, and speak unprompted.
        #[serde(alias = "proactive_audio")]
        pub proactive_audio: Option<bool>,
        /// The model may react to video (needs `proactive_audio`; may generate per frame).
        #[serde(alias = "proactive_video")]
        pub proactive_video: Option<bool>,
    }
}

wire_struct! {
    /// History seeding (3.1+).
    pub struct HistoryConfig {
        /// Initial history arrives as `clientContent` before the first realtime input (3.1).
        #[serde(alias = "initial_history_in_client_content")]
        pub initial_history_in_client_content: Option<bool>,
    }
}

wire_struct! {
    /// An avatar for VIDEO responses (3.8 Live).
    pub struct AvatarConfig {
        /// A prebuilt avatar.
        #[serde(alias = "avatar_name")]
        pub avatar_name: Option<String>,
        /// An avatar from an image of your own.
        #[serde(alias = "customized_avatar")]
        pub customized_avatar: Option<CustomizedAvatar>,
        /// The avatar stream's audio bitrate.
        #[serde(alias = "audio_bitrate_bps", deserialize_with = "opt_i32")]
        pub audio_bitrate_bps: Option<i32>,
        /// The avatar stream's video bitrate.
        #[serde(alias = "video_bitrate_bps", deserialize_with = "opt_i32")]
        pub video_bitrate_bps: Option<i32>,
    }
}

wire_struct! {
    /// A custom avatar image.
    pub struct CustomizedAvatar {
        /// The image's MIME type.
        #[serde(alias = "image_mime_type")]
        pub image_mime_type: Option<String>,
        /// The image: 9:16, at least 704x1280.
        #[serde(alias = "image_data")]
        pub image_data: Option<Base64>,
    }
}

wire_struct! {
    /// A safety threshold (AI Studio rejected these in 2026-08).
    pub struct SafetySetting {
        /// The harm category (`HARM_CATEGORY_...`).
        pub category: Option<String>,
        /// What to block (`BLOCK_...`).
        pub threshold: Option<String>,
        /// Score by probability or severity (Vertex).
        pub method: Option<String>,
    }
}

wire_struct! {
    /// One tool entry: function declarations and/or a built-in tool.
    pub struct Tool {
        /// Functions the model may call.
        #[serde(alias = "function_declarations")]
        pub function_declarations: Option<Vec<FunctionDeclaration>>,
        /// Google Search grounding.
        #[serde(alias = "google_search")]
        pub google_search: Option<GoogleSearch>,
        /// Search grounding of older models.
        #[serde(alias = "google_search_retrieval")]
        pub google_search_retrieval: Option<Value>,
        /// Code execution (not on native-audio or 3.x models).
        #[serde(alias = "code_execution")]
        pub code_execution: Option<Empty>,
        /// URL context retrieval (not on native-audio or 3.x models).
        #[serde(alias = "url_context")]
        pub url_context: Option<Empty>,
        /// Google Maps grounding (not on the Live models).
        #[serde(alias = "google_maps")]
        pub google_maps: Option<Value>,
        /// Computer use.
        #[serde(alias = "computer_use")]
        pub computer_use: Option<Value>,
        /// File search.
        #[serde(alias = "file_search")]
        pub file_search: Option<Value>,
        /// Remote MCP servers the server calls itself.
        #[serde(alias = "mcp_servers")]
        pub mcp_servers: Option<Vec<Value>>,
        /// Vertex only.
        pub retrieval: Option<Value>,
        /// Vertex only.
        #[serde(alias = "enterprise_web_search")]
        pub enterprise_web_search: Option<Value>,
        /// Vertex only.
        #[serde(alias = "parallel_ai_search")]
        pub parallel_ai_search: Option<Value>,
        /// Vertex only.
        #[serde(alias = "exa_ai_search")]
        pub exa_ai_search: Option<Value>,
    }
}

wire_struct! {
    /// Google Search grounding.
    pub struct GoogleSearch {
        /// Only results from this time range.
        #[serde(alias = "time_range_filter")]
        pub time_range_filter: Option<Value>,
        /// Which kinds of search to run.
        #[serde(alias = "search_types")]
        pub search_types: Option<Value>,
    }
}

wire_struct! {
    /// A function the model may call.
    pub struct FunctionDeclaration {
        /// a-z, A-Z, 0-9, `_ : . -`, at most 64 characters.
        pub name: String,
        /// What the function does, for the model.
        pub description: Option<String>,
        /// OpenAPI-subset schema; JSON-Schema-only keywords are rejected (use `parametersJsonSchema`).
        pub parameters: Option<Schema>,
        /// The parameters as a JSON Schema (instead of `parameters`).
        #[serde(alias = "parameters_json_schema")]
        pub parameters_json_schema: Option<Value>,
        /// The result's schema (OpenAPI subset).
        pub response: Option<Schema>,
        /// The result's schema as a JSON Schema.
        #[serde(alias = "response_json_schema")]
        pub response_json_schema: Option<Value>,
        /// BLOCKING by default, except on 3.8 Live.
        pub behavior: Option<Behavior>,
    }
}

wire_struct! {
    /// The OpenAPI subset Gemini accepts for function parameters.
    pub struct Schema {
        /// The value's type (`OBJECT`, `STRING`, `NUMBER`, `INTEGER`, `BOOLEAN`, `ARRAY`).
        #[serde(rename = "type")]
        pub r#type: Option<SchemaType>,
        /// A format hint (`int32`, `float`, `enum`, `date-time`, ...).
        pub format: Option<String>,
        /// A title.
        pub title: Option<String>,
        /// What the value means, for the model.
        pub description: Option<String>,
        /// Whether the value may be null.
        pub nullable: Option<bool>,
        /// The allowed values of a STRING.
        #[serde(rename = "enum")]
        pub r#enum: Option<Vec<String>>,
        /// The schema of an ARRAY's items.
        pub items: Option<Box<Schema>>,
        /// Most items of an ARRAY.
        #[serde(alias = "max_items", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_items: Option<i64>,
        /// Fewest items of an ARRAY.
        #[serde(alias = "min_items", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_items: Option<i64>,
        /// The schema of each property of an OBJECT.
        pub properties: Option<BTreeMap<String, Schema>>,
        /// The properties an OBJECT must have.
        pub required: Option<Vec<String>>,
        /// Fewest properties of an OBJECT.
        #[serde(alias = "min_properties", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_properties: Option<i64>,
        /// Most properties of an OBJECT.
        #[serde(alias = "max_properties", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_properties: Option<i64>,
        /// Shortest STRING.
        #[serde(alias = "min_length", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_length: Option<i64>,
        /// Longest STRING.
        #[serde(alias = "max_length", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_length: Option<i64>,
        /// A regular expression a STRING matches.
        pub pattern: Option<String>,
        /// An example value.
        pub example: Option<Value>,
        /// The value matches at least one of these schemas.
        #[serde(alias = "any_of")]
        pub any_of: Option<Vec<Schema>>,
        /// The order of an OBJECT's properties.
        #[serde(alias = "property_ordering")]
        pub property_ordering: Option<Vec<String>>,
        /// The default value.
        pub default: Option<Value>,
        /// Smallest NUMBER or INTEGER.
        pub minimum: Option<f64>,
        /// Largest NUMBER or INTEGER.
        pub maximum: Option<f64>,
    }
}
