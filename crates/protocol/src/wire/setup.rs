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
        #[serde(alias = "generation_config")]
        pub generation_config: Option<GenerationConfig>,
        /// Text parts only; each part becomes a paragraph.
        #[serde(alias = "system_instruction")]
        pub system_instruction: Option<Content>,
        pub tools: Option<Vec<Tool>>,
        #[serde(alias = "realtime_input_config")]
        pub realtime_input_config: Option<RealtimeInputConfig>,
        #[serde(alias = "session_resumption")]
        pub session_resumption: Option<SessionResumptionConfig>,
        #[serde(alias = "context_window_compression")]
        pub context_window_compression: Option<ContextWindowCompressionConfig>,
        #[serde(alias = "input_audio_transcription")]
        pub input_audio_transcription: Option<AudioTranscriptionConfig>,
        #[serde(alias = "output_audio_transcription")]
        pub output_audio_transcription: Option<AudioTranscriptionConfig>,
        /// Developer API needs `v1alpha`.
        pub proactivity: Option<ProactivityConfig>,
        #[serde(alias = "history_config")]
        pub history_config: Option<HistoryConfig>,
        /// Vertex only.
        #[serde(alias = "explicit_vad_signal")]
        pub explicit_vad_signal: Option<bool>,
        #[serde(alias = "avatar_config")]
        pub avatar_config: Option<AvatarConfig>,
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
        pub temperature: Option<f32>,
        #[serde(alias = "top_p")]
        pub top_p: Option<f32>,
        #[serde(alias = "top_k", deserialize_with = "opt_i32")]
        pub top_k: Option<i32>,
        #[serde(alias = "max_output_tokens", deserialize_with = "opt_i32")]
        pub max_output_tokens: Option<i32>,
        #[serde(deserialize_with = "opt_i32")]
        pub seed: Option<i32>,
        #[serde(alias = "candidate_count", deserialize_with = "opt_i32")]
        pub candidate_count: Option<i32>,
        #[serde(alias = "presence_penalty")]
        pub presence_penalty: Option<f32>,
        #[serde(alias = "frequency_penalty")]
        pub frequency_penalty: Option<f32>,
        #[serde(alias = "speech_config")]
        pub speech_config: Option<SpeechConfig>,
        #[serde(alias = "media_resolution")]
        pub media_resolution: Option<MediaResolution>,
        #[serde(alias = "thinking_config")]
        pub thinking_config: Option<ThinkingConfig>,
        /// Native-audio 2.5 only; Developer API needs `v1alpha`.
        #[serde(alias = "enable_affective_dialog")]
        pub enable_affective_dialog: Option<bool>,
        #[serde(alias = "translation_config")]
        pub translation_config: Option<TranslationConfig>,
        #[serde(alias = "audio_transcription_config")]
        pub audio_transcription_config: Option<AudioTranscriptionConfig>,
    }
}

wire_struct! {
    /// Voice and language of spoken replies.
    pub struct SpeechConfig {
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
        #[serde(alias = "prebuilt_voice_config")]
        pub prebuilt_voice_config: Option<PrebuiltVoiceConfig>,
        #[serde(alias = "replicated_voice_config")]
        pub replicated_voice_config: Option<ReplicatedVoiceConfig>,
        pub voice: Option<String>,
    }
}

wire_struct! {
    /// One of the prebuilt voices (Zephyr, Puck, Charon, Kore, ...).
    pub struct PrebuiltVoiceConfig {
        #[serde(alias = "voice_name")]
        pub voice_name: Option<String>,
    }
}

wire_struct! {
    /// A voice replicated from a sample (SDK 3.6.1).
    pub struct ReplicatedVoiceConfig {
        #[serde(alias = "mime_type")]
        pub mime_type: Option<String>,
        #[serde(alias = "voice_sample_audio")]
        pub voice_sample_audio: Option<Base64>,
        #[serde(alias = "consent_audio")]
        pub consent_audio: Option<Base64>,
        #[serde(alias = "voice_consent_signature")]
        pub voice_consent_signature: Option<VoiceConsentSignature>,
    }
}

wire_struct! {
    /// Proof that consent audio was verified.
    pub struct VoiceConsentSignature {
        pub signature: Option<String>,
    }
}

wire_struct! {
    /// Thinking: a budget (2.5) or a level (3.1); not supported on 3.8.
    pub struct ThinkingConfig {
        #[serde(alias = "include_thoughts")]
        pub include_thoughts: Option<bool>,
        #[serde(alias = "thinking_budget", deserialize_with = "opt_i32")]
        pub thinking_budget: Option<i32>,
        #[serde(alias = "thinking_level")]
        pub thinking_level: Option<ThinkingLevel>,
    }
}

wire_struct! {
    /// Speech translation (`gemini-3.5-live-translate-preview`).
    pub struct TranslationConfig {
        #[serde(alias = "target_language_code")]
        pub target_language_code: Option<String>,
        #[serde(alias = "echo_target_language")]
        pub echo_target_language: Option<bool>,
    }
}

wire_struct! {
    /// `{}` turns transcription on; the other fields are optional hints.
    pub struct AudioTranscriptionConfig {
        #[serde(alias = "language_codes")]
        pub language_codes: Option<Vec<String>>,
        #[serde(alias = "custom_vocabulary")]
        pub custom_vocabulary: Option<Vec<String>>,
        #[serde(alias = "word_timestamp")]
        pub word_timestamp: Option<bool>,
        pub diarization: Option<bool>,
        pub mode: Option<TranscriptionMode>,
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
        #[serde(alias = "language_codes")]
        pub language_codes: Option<Vec<String>>,
    }
}

wire_struct! {
    /// Voice activity detection and turn behaviour.
    pub struct RealtimeInputConfig {
        #[serde(alias = "automatic_activity_detection")]
        pub automatic_activity_detection: Option<AutomaticActivityDetection>,
        #[serde(alias = "activity_handling")]
        pub activity_handling: Option<ActivityHandling>,
        #[serde(alias = "turn_coverage")]
        pub turn_coverage: Option<TurnCoverage>,
        #[serde(alias = "interim_transcript_timestamp_enabled")]
        pub interim_transcript_timestamp_enabled: Option<bool>,
    }
}

wire_struct! {
    /// The server's VAD. `disabled: true` means the client sends activityStart/activityEnd.
    pub struct AutomaticActivityDetection {
        pub disabled: Option<bool>,
        #[serde(alias = "start_of_speech_sensitivity")]
        pub start_of_speech_sensitivity: Option<StartSensitivity>,
        #[serde(alias = "end_of_speech_sensitivity")]
        pub end_of_speech_sensitivity: Option<EndSensitivity>,
        #[serde(alias = "prefix_padding_ms", deserialize_with = "opt_i32")]
        pub prefix_padding_ms: Option<i32>,
        #[serde(alias = "silence_duration_ms", deserialize_with = "opt_i32")]
        pub silence_duration_ms: Option<i32>,
    }
}

wire_struct! {
    /// `{}` starts a resumable session; `{handle}` resumes one.
    pub struct SessionResumptionConfig {
        pub handle: Option<String>,
        /// Vertex only: the server acknowledges client messages by index.
        pub transparent: Option<bool>,
    }
}

wire_struct! {
    /// Sliding-window compression of the context.
    pub struct ContextWindowCompressionConfig {
        #[serde(alias = "trigger_tokens", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub trigger_tokens: Option<i64>,
        #[serde(alias = "sliding_window")]
        pub sliding_window: Option<SlidingWindow>,
    }
}

wire_struct! {
    /// The only compression mechanism.
    pub struct SlidingWindow {
        #[serde(alias = "target_tokens", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub target_tokens: Option<i64>,
    }
}

wire_struct! {
    /// Proactive audio (2.5 native audio; always on for 3.8).
    pub struct ProactivityConfig {
        #[serde(alias = "proactive_audio")]
        pub proactive_audio: Option<bool>,
        #[serde(alias = "proactive_video")]
        pub proactive_video: Option<bool>,
    }
}

wire_struct! {
    /// History seeding (3.1+).
    pub struct HistoryConfig {
        #[serde(alias = "initial_history_in_client_content")]
        pub initial_history_in_client_content: Option<bool>,
    }
}

wire_struct! {
    /// An avatar for VIDEO responses (3.8 Live).
    pub struct AvatarConfig {
        #[serde(alias = "avatar_name")]
        pub avatar_name: Option<String>,
        #[serde(alias = "customized_avatar")]
        pub customized_avatar: Option<CustomizedAvatar>,
        #[serde(alias = "audio_bitrate_bps", deserialize_with = "opt_i32")]
        pub audio_bitrate_bps: Option<i32>,
        #[serde(alias = "video_bitrate_bps", deserialize_with = "opt_i32")]
        pub video_bitrate_bps: Option<i32>,
    }
}

wire_struct! {
    /// A custom avatar image.
    pub struct CustomizedAvatar {
        #[serde(alias = "image_mime_type")]
        pub image_mime_type: Option<String>,
        #[serde(alias = "image_data")]
        pub image_data: Option<Base64>,
    }
}

wire_struct! {
    /// A safety threshold (AI Studio rejected these in 2026-08).
    pub struct SafetySetting {
        pub category: Option<String>,
        pub threshold: Option<String>,
        pub method: Option<String>,
    }
}

wire_struct! {
    /// One tool entry: function declarations and/or a built-in tool.
    pub struct Tool {
        #[serde(alias = "function_declarations")]
        pub function_declarations: Option<Vec<FunctionDeclaration>>,
        #[serde(alias = "google_search")]
        pub google_search: Option<GoogleSearch>,
        #[serde(alias = "google_search_retrieval")]
        pub google_search_retrieval: Option<Value>,
        #[serde(alias = "code_execution")]
        pub code_execution: Option<Empty>,
        #[serde(alias = "url_context")]
        pub url_context: Option<Empty>,
        #[serde(alias = "google_maps")]
        pub google_maps: Option<Value>,
        #[serde(alias = "computer_use")]
        pub computer_use: Option<Value>,
        #[serde(alias = "file_search")]
        pub file_search: Option<Value>,
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
        #[serde(alias = "time_range_filter")]
        pub time_range_filter: Option<Value>,
        #[serde(alias = "search_types")]
        pub search_types: Option<Value>,
    }
}

wire_struct! {
    /// A function the model may call.
    pub struct FunctionDeclaration {
        /// a-z, A-Z, 0-9, `_ : . -`, at most 64 characters.
        pub name: String,
        pub description: Option<String>,
        /// OpenAPI-subset schema; JSON-Schema-only keywords are rejected (use `parametersJsonSchema`).
        pub parameters: Option<Schema>,
        #[serde(alias = "parameters_json_schema")]
        pub parameters_json_schema: Option<Value>,
        pub response: Option<Schema>,
        #[serde(alias = "response_json_schema")]
        pub response_json_schema: Option<Value>,
        /// BLOCKING by default, except on 3.8 Live.
        pub behavior: Option<Behavior>,
    }
}

wire_struct! {
    /// The OpenAPI subset Gemini accepts for function parameters.
    pub struct Schema {
        #[serde(rename = "type")]
        pub r#type: Option<SchemaType>,
        pub format: Option<String>,
        pub title: Option<String>,
        pub description: Option<String>,
        pub nullable: Option<bool>,
        #[serde(rename = "enum")]
        pub r#enum: Option<Vec<String>>,
        pub items: Option<Box<Schema>>,
        #[serde(alias = "max_items", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_items: Option<i64>,
        #[serde(alias = "min_items", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_items: Option<i64>,
        pub properties: Option<BTreeMap<String, Schema>>,
        pub required: Option<Vec<String>>,
        #[serde(alias = "min_properties", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_properties: Option<i64>,
        #[serde(alias = "max_properties", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_properties: Option<i64>,
        #[serde(alias = "min_length", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub min_length: Option<i64>,
        #[serde(alias = "max_length", deserialize_with = "opt_i64", serialize_with = "ser_opt_i64_str")]
        pub max_length: Option<i64>,
        pub pattern: Option<String>,
        pub example: Option<Value>,
        #[serde(alias = "any_of")]
        pub any_of: Option<Vec<Schema>>,
        #[serde(alias = "property_ordering")]
        pub property_ordering: Option<Vec<String>>,
        pub default: Option<Value>,
        pub minimum: Option<f64>,
        pub maximum: Option<f64>,
    }
}
