//! [`LiveConfig`]: what the Python SDK calls `LiveConnectConfig`, as a builder or from JSON.

use std::fmt;
use std::sync::Arc;

use protocol::wire::ClientMessage;
use protocol::wire::{
    ActivityHandling, AudioTranscriptionConfig, AutomaticActivityDetection, Content,
    ContextWindowCompressionConfig, GenerationConfig, Modality, RealtimeInputConfig,
    SessionResumptionConfig, Setup, SlidingWindow, SpeechConfig, ThinkingConfig, Tool,
};
use protocol::{Backend, decode_client};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Changes made to the transport's [`ClientConfig`](transport::ClientConfig) before connecting.
type TransportHook = Arc<dyn Fn(&mut transport::ClientConfig) + Send + Sync>;

/// How a session is set up: response modality, voice, transcription, resumption, tools...
///
/// Build it like the SDKs' `LiveConnectConfig`, or convert the same JSON the Python SDK takes as a
/// dict ([`LiveConfig::from_json`]):
///
/// ```
/// use gemlive::LiveConfig;
/// use serde_json::json;
///
/// let built = LiveConfig::audio().transcription().voice("Puck");
/// let from_json = LiveConfig::from_json(json!({
///     "response_modalities": ["AUDIO"],
///     "output_audio_transcription": {},
///     "speech_config": "Puck",
/// }))?;
/// assert_eq!(built.setup("m")?, from_json.setup("m")?);
/// # Ok::<(), gemlive::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct LiveConfig {
    setup: Setup,
    /// [`LiveConfig::text`]: text answers, decided per model at connect time.
    text_answers: bool,
    transport: Vec<TransportHook>,
    /// Tools the session declares and answers itself.
    #[cfg(feature = "tools")]
    run: Option<tools::Tools>,
}

impl fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("LiveConfig");
        d.field("setup", &self.setup)
            .field("text_answers", &self.text_answers)
            .field("transport_hooks", &self.transport.len());
        #[cfg(feature = "tools")]
        d.field(
            "tools",
            &self
                .runnable()
                .map(|t| t.iter().map(tools::Tool::name).collect::<Vec<_>>()),
        );
        d.finish()
    }
}

impl LiveConfig {
    /// Everything left to the server's defaults (it answers with AUDIO).
    pub fn new() -> Self {
        Self::default()
    }

    /// Spoken answers (`response_modalities: ["AUDIO"]`).
    pub fn audio() -> Self {
        Self::new().modality(Modality::Audio)
    }

    /// Text answers. Native-audio models (every current Gemini API Live model) only answer by
    /// voice: for them the session asks for AUDIO with output transcription, and
    /// [`Event::text`](crate::Event::text) yields the transcript. Other models get
    /// `response_modalities: ["TEXT"]`; models the crate does not know get AUDIO with
    /// transcription, which every model supports.
    pub fn text() -> Self {
        Self {
            text_answers: true,
            ..Self::new()
        }
    }

    /// One response modality, as given (`Modality::Text` on a native-audio model is refused
    /// before connecting, with a hint).
    #[must_use]
    pub fn modality(mut self, modality: Modality) -> Self {
        self.text_answers = false;
        self.generation().response_modalities = Some(vec![modality]);
        self
    }

    /// Transcripts of the model's speech ([`Event::OutputTranscript`](crate::Event::OutputTranscript)).
    #[must_use]
    pub fn transcription(mut self) -> Self {
        self.setup.output_audio_transcription = Some(AudioTranscriptionConfig::default());
        self
    }

    /// Transcripts of the user's speech ([`Event::InputTranscript`](crate::Event::InputTranscript)).
    #[must_use]
    pub fn input_transcription(mut self) -> Self {
        self.setup.input_audio_transcription = Some(AudioTranscriptionConfig::default());
        self
    }

    /// A prebuilt voice: `"Puck"`, `"Kore"`, `"Charon"`, `"Zephyr"`, ...
    #[must_use]
    pub fn voice(mut self, name: impl Into<String>) -> Self {
        let language = self.speech().language_code.take();
        let speech = self.speech();
        *speech = SpeechConfig::voice(name);
        speech.language_code = language;
        self
    }

    /// The language of spoken answers (BCP-47, e.g. `"en-US"`; half-cascade models only).
    #[must_use]
    pub fn language(mut self, code: impl Into<String>) -> Self {
        self.speech().language_code = Some(code.into());
        self
    }

    /// The system instruction, as text.
    #[must_use]
    pub fn system_instruction(mut self, text: impl Into<String>) -> Self {
        self.setup.system_instruction = Some(Content {
            role: None,
            ..Content::user_text(text)
        });
        self
    }

    /// Sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.generation().temperature = Some(temperature);
        self
    }

    /// A thinking budget in tokens (2.5 models; `0` turns thinking off).
    #[must_use]
    pub fn thinking_budget(mut self, tokens: i32) -> Self {
        self.generation().thinking_config = Some(ThinkingConfig {
            thinking_budget: Some(tokens),
            ..ThinkingConfig::default()
        });
        self
    }

    /// Ask the server for resumption handles (`session_resumption: {}`), to resume this session
    /// later or on a new connection.
    #[must_use]
    pub fn resumable(mut self) -> Self {
        self.setup
            .session_resumption
            .get_or_insert_with(SessionResumptionConfig::default);
        self
    }

    /// Resume the session behind `handle` (any `Option`: `None` starts a new resumable session,
    /// like the Python SDK's `SessionResumptionConfig(handle=None)`). The model must stay the same.
    #[must_use]
    pub fn resumption(mut self, handle: impl Into<Resume>) -> Self {
        let Resume(handle) = handle.into();
        self.setup
            .session_resumption
            .get_or_insert_with(SessionResumptionConfig::default)
            .handle = handle;
        self
    }

    /// Context window compression: when the context reaches `trigger_tokens`, the server drops
    /// the oldest turns (sliding window), so that sessions can run past their time limits.
    #[must_use]
    pub fn compression(mut self, trigger_tokens: i64) -> Self {
        self.setup.context_window_compression = Some(ContextWindowCompressionConfig {
            trigger_tokens: Some(trigger_tokens),
            sliding_window: Some(SlidingWindow::default()),
        });
        self
    }

    /// User activity does not interrupt the model (`activity_handling: NO_INTERRUPTION`).
    #[must_use]
    pub fn no_interruption(mut self) -> Self {
        self.realtime().activity_handling = Some(ActivityHandling::NoInterruption);
        self
    }

    /// Turn the server's voice detection off: mark speech with
    /// [`RealtimeInput::ActivityStart`](crate::RealtimeInput::ActivityStart) and
    /// [`RealtimeInput::ActivityEnd`](crate::RealtimeInput::ActivityEnd).
    #[must_use]
    pub fn manual_activity(mut self) -> Self {
        self.realtime().automatic_activity_detection = Some(AutomaticActivityDetection {
            disabled: Some(true),
            ..AutomaticActivityDetection::default()
        });
        self
    }

    /// Adds tools, like the Python SDK's `tools` config: functions the session runs itself, or
    /// declarations the application answers.
    ///
    /// * A [`tools::Tool`] (feature `tools`: a typed Rust function, a shell command, a raw JSON
    ///   handler) or a [`tools::Tools`] registry (with MCP servers' tools, feature `mcp`): they
    ///   are declared in the setup by the model's rules, and the session answers their calls by
    ///   itself: each call runs on its own task, its `toolResponse` is sent with the call's id,
    ///   a `toolCallCancellation` aborts it. [`Session::receive`](crate::Session::receive) still
    ///   yields the [`Event::ToolCall`](crate::Event::ToolCall)s;
    ///   [`Session::tool_events`](crate::Session::tool_events) reports what the tools did.
    /// * [`types::Tool`](crate::types::Tool)s (function declarations, Google Search, code
    ///   execution...), one or a list: declared as they are; answer the model's calls with
    ///   [`Session::send_tool_response`](crate::Session::send_tool_response).
    ///
    /// Calls accumulate: `.tools(a).tools(b)` declares both.
    #[must_use]
    pub fn tools(mut self, tools: impl Into<LiveTools>) -> Self {
        let LiveTools {
            declared,
            #[cfg(feature = "tools")]
            run,
        } = tools.into();
        if !declared.is_empty() {
            self.setup
                .tools
                .get_or_insert_with(Vec::new)
                .extend(declared);
        }
        #[cfg(feature = "tools")]
        if let Some(run) = run {
            let registry = self.run.get_or_insert_with(tools::Tools::new);
            for tool in run.iter() {
                registry.add(tool.clone());
            }
        }
        self
    }

    /// Any other change to the transport's configuration ([`transport::ClientConfig`]: timeouts,
    /// TLS, proxy, recording, automatic resumption, an [`EventTap`](crate::EventTap) for
    /// low-latency audio), applied at connect time after the client's own.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = gemlive::LiveConfig::audio()
    ///     .transport(|c| c.setup_timeout = Duration::from_secs(5));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn transport(
        mut self,
        change: impl Fn(&mut transport::ClientConfig) + Send + Sync + 'static,
    ) -> Self {
        self.transport.push(Arc::new(change));
        self
    }

    /// The config from the JSON the Python SDK takes as its `config` dict (`LiveConnectConfig`):
    /// snake_case or camelCase keys; generation settings (`response_modalities`, `temperature`,
    /// `speech_config`, ...) at the top level or under `generation_config`; `system_instruction`
    /// and `speech_config` may be plain strings. Checked strictly: an unknown key, at any depth,
    /// is an error that names it.
    ///
    /// ```
    /// use gemlive::LiveConfig;
    /// use serde_json::json;
    ///
    /// let err = LiveConfig::from_json(json!({"response_modality": ["AUDIO"]})).unwrap_err();
    /// assert!(err.to_string().contains("response_modality"), "{err}");
    /// ```
    pub fn from_json(value: Value) -> Result<Self> {
        let Value::Object(config) = value else {
            return Err(Error::Config(
                "the config must be a JSON object, like the Python SDK's dict".into(),
            ));
        };
        let mut setup = Map::new();
        let mut generation = Map::new();
        for (key, value) in config {
            let snake = protocol::decode::to_snake_case(&key);
            match snake.as_str() {
                "model" => {
                    return Err(Error::Config(
                        "`model` is not part of the config: pass it to connect(model, config)"
                            .into(),
                    ));
                }
                "http_options" => {
                    return Err(Error::Config(
                        "`http_options` is not part of the config: set the API version and base URL on the Client".into(),
                    ));
                }
                "generation_config" => match value {
                    Value::Object(inner) => generation.extend(inner),
                    _ => {
                        return Err(Error::Config(
                            "`generation_config` must be an object".into(),
                        ));
                    }
                },
                "speech_config" => {
                    generation.insert(key, speech_config(value));
                }
                "system_instruction" => {
                    setup.insert(key, content(value));
                }
                _ if GENERATION_KEYS.contains(&snake.as_str()) => {
                    generation.insert(key, value);
                }
                _ => {
                    setup.insert(key, value);
                }
            }
        }
        if !generation.is_empty() {
            setup.insert("generationConfig".into(), Value::Object(generation));
        }
        setup.insert("model".into(), Value::String("models/config".into()));
        let frame = serde_json::json!({ "setup": setup }).to_string();
        let decoded = decode_client(frame.as_bytes())
            .map_err(|e| Error::Config(format!("the config does not fit the Live API: {e}")))?;
        if let Some(field) = decoded.unknown.first() {
            let path = field.to_string();
            let path = path.strip_prefix("setup.").unwrap_or(&path);
            return Err(Error::Config(format!(
                "unknown key {path:?} (keys are the fields of LiveConnectConfig, e.g. response_modalities, speech_config, system_instruction, output_audio_transcription, session_resumption, tools)"
            )));
        }
        let ClientMessage::Setup(setup) = decoded.message else {
            unreachable!("a setup frame decodes to a setup message")
        };
        Ok(Self {
            setup: *setup,
            ..Self::new()
        })
    }

    /// The `setup` message this config sends for `model` on the Gemini API (on Vertex AI the
    /// model name is completed at connect time).
    pub fn setup(&self, model: &str) -> Result<Setup> {
        self.setup_for(model, Backend::GeminiApi)
    }

    pub(crate) fn setup_for(&self, model: &str, backend: Backend) -> Result<Setup> {
        let mut setup = Setup {
            model: model.trim().to_owned(),
            ..self.setup.clone()
        };
        if self.text_answers {
            // AUDIO with transcription works on every model; TEXT only on those known to have it.
            let audio_only = protocol::models::lookup(model, backend).is_none_or(|p| p.audio_only);
            let generation = setup.generation_config.get_or_insert_with(Default::default);
            if audio_only {
                generation.response_modalities = Some(vec![Modality::Audio]);
                setup
                    .output_audio_transcription
                    .get_or_insert_with(AudioTranscriptionConfig::default);
            } else {
                generation.response_modalities = Some(vec![Modality::Text]);
            }
        }
        Ok(setup)
    }

    /// The tools the session runs itself.
    #[cfg(feature = "tools")]
    pub(crate) fn runnable(&self) -> Option<&tools::Tools> {
        self.run.as_ref().filter(|t| !t.is_empty())
    }

    pub(crate) fn apply_transport(&self, config: &mut transport::ClientConfig) {
        for change in &self.transport {
            change(config);
        }
    }

    fn generation(&mut self) -> &mut GenerationConfig {
        self.setup
            .generation_config
            .get_or_insert_with(GenerationConfig::default)
    }

    fn speech(&mut self) -> &mut SpeechConfig {
        self.generation()
            .speech_config
            .get_or_insert_with(SpeechConfig::default)
    }

    fn realtime(&mut self) -> &mut RealtimeInputConfig {
        self.setup
            .realtime_input_config
            .get_or_insert_with(RealtimeInputConfig::default)
    }
}

impl From<Setup> for LiveConfig {
    /// A config holding this setup (its model is replaced by the one given to `connect`).
    fn from(setup: Setup) -> Self {
        Self {
            setup,
            ..Self::new()
        }
    }
}

impl TryFrom<Value> for LiveConfig {
    type Error = Error;

    /// [`LiveConfig::from_json`].
    fn try_from(value: Value) -> Result<Self> {
        Self::from_json(value)
    }
}

/// What [`Live::connect`](crate::Live::connect) takes as a config: a [`LiveConfig`], or the
/// Python-style JSON of one ([`LiveConfig::from_json`]).
pub trait IntoLiveConfig {
    /// The config, or why the JSON is not one.
    fn into_live_config(self) -> Result<LiveConfig>;
}

impl IntoLiveConfig for LiveConfig {
    fn into_live_config(self) -> Result<LiveConfig> {
        Ok(self)
    }
}

impl IntoLiveConfig for &LiveConfig {
    fn into_live_config(self) -> Result<LiveConfig> {
        Ok(self.clone())
    }
}

impl IntoLiveConfig for Value {
    fn into_live_config(self) -> Result<LiveConfig> {
        LiveConfig::from_json(self)
    }
}

/// What [`LiveConfig::tools`] takes: tools the session runs ([`tools::Tool`], [`tools::Tools`],
/// feature `tools`) or declarations the application answers ([`Tool`], one or a list).
#[derive(Debug, Default)]
pub struct LiveTools {
    declared: Vec<Tool>,
    #[cfg(feature = "tools")]
    run: Option<tools::Tools>,
}

impl From<Tool> for LiveTools {
    fn from(tool: Tool) -> Self {
        vec![tool].into()
    }
}

impl From<Vec<Tool>> for LiveTools {
    fn from(declared: Vec<Tool>) -> Self {
        Self {
            declared,
            #[cfg(feature = "tools")]
            run: None,
        }
    }
}

impl<const N: usize> From<[Tool; N]> for LiveTools {
    fn from(declared: [Tool; N]) -> Self {
        Vec::from(declared).into()
    }
}

#[cfg(feature = "tools")]
impl From<tools::Tools> for LiveTools {
    fn from(run: tools::Tools) -> Self {
        Self {
            declared: Vec::new(),
            run: Some(run),
        }
    }
}

#[cfg(feature = "tools")]
impl From<tools::Tool> for LiveTools {
    fn from(tool: tools::Tool) -> Self {
        tools::Tools::new().with(tool).into()
    }
}

/// A resumption handle, or none: what [`LiveConfig::resumption`] takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resume(pub Option<String>);

impl From<String> for Resume {
    fn from(handle: String) -> Self {
        Self(Some(handle))
    }
}

impl From<&str> for Resume {
    fn from(handle: &str) -> Self {
        Self(Some(handle.to_owned()))
    }
}

impl From<&String> for Resume {
    fn from(handle: &String) -> Self {
        Self(Some(handle.clone()))
    }
}

impl From<Option<String>> for Resume {
    fn from(handle: Option<String>) -> Self {
        Self(handle)
    }
}

impl From<Option<&str>> for Resume {
    fn from(handle: Option<&str>) -> Self {
        Self(handle.map(str::to_owned))
    }
}

impl From<&Option<String>> for Resume {
    fn from(handle: &Option<String>) -> Self {
        Self(handle.clone())
    }
}

/// `LiveConnectConfig` fields that the wire carries in `generationConfig`.
const GENERATION_KEYS: [&str; 13] = [
    "response_modalities",
    "temperature",
    "top_p",
    "top_k",
    "max_output_tokens",
    "seed",
    "candidate_count",
    "presence_penalty",
    "frequency_penalty",
    "media_resolution",
    "thinking_config",
    "enable_affective_dialog",
    "translation_config",
];

/// `"Puck"` → a prebuilt voice; anything else as given.
fn speech_config(value: Value) -> Value {
    match value {
        Value::String(voice) => serde_json::to_value(SpeechConfig::voice(voice))
            .unwrap_or_else(|e| unreachable!("wire types serialize: {e}")),
        other => other,
    }
}

/// `"Be brief."` → a content with one text part; anything else as given.
fn content(value: Value) -> Value {
    match value {
        Value::String(text) => serde_json::json!({ "parts": [{ "text": text }] }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_like_the_python_dict() {
        let config = LiveConfig::from_json(json!({
            "response_modalities": ["AUDIO"],
            "system_instruction": "Be brief.",
            "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}},
            "session_resumption": {"handle": "h-1"},
            "context_window_compression": {"trigger_tokens": 25600, "sliding_window": {"target_tokens": 12800}},
            "realtime_input_config": {"automatic_activity_detection": {"disabled": true}},
            "temperature": 0.5,
        }))
        .unwrap();
        let setup = config.setup("gemini-3.8-live").unwrap();
        assert_eq!(
            serde_json::to_value(&setup).unwrap(),
            json!({
                "model": "gemini-3.8-live",
                "generationConfig": {
                    "responseModalities": ["AUDIO"],
                    "temperature": 0.5,
                    "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}}
                },
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "sessionResumption": {"handle": "h-1"},
                "contextWindowCompression": {"triggerTokens": "25600", "slidingWindow": {"targetTokens": "12800"}},
                "realtimeInputConfig": {"automaticActivityDetection": {"disabled": true}}
            })
        );
    }

    #[test]
    fn unknown_keys_are_named_at_any_depth() {
        let err = |v: Value| LiveConfig::from_json(v).unwrap_err().to_string();
        assert!(err(json!({"voice": "Puck"})).contains("\"voice\""));
        let nested = err(json!({"session_resumption": {"hande": "x"}}));
        assert!(nested.contains("session_resumption.hande"), "{nested}");
        assert!(err(json!({"model": "m"})).contains("connect(model, config)"));
        assert!(err(json!(["AUDIO"])).contains("JSON object"));
        let bad_type = err(json!({"temperature": "hot"}));
        assert!(bad_type.contains("does not fit"), "{bad_type}");
    }

    #[test]
    fn text_answers_follow_the_model() {
        let native = LiveConfig::text()
            .setup("gemini-3.1-flash-live-preview")
            .unwrap();
        assert_eq!(native.response_modalities(), [Modality::Audio]);
        assert!(native.output_audio_transcription.is_some());
        let cascade = LiveConfig::text().setup("gemini-live-2.5-flash").unwrap();
        assert_eq!(cascade.response_modalities(), [Modality::Audio]);
        let vertex = LiveConfig::text()
            .setup_for("gemini-live-2.5-flash", Backend::Vertex)
            .unwrap();
        assert_eq!(vertex.response_modalities(), [Modality::Text]);
        assert!(vertex.output_audio_transcription.is_none());
    }

    #[test]
    fn builder_steps_compose() {
        let setup = LiveConfig::audio()
            .language("en-US")
            .voice("Puck")
            .transcription()
            .input_transcription()
            .resumption(None::<String>)
            .setup("m")
            .unwrap();
        let speech = setup.generation_config.unwrap().speech_config.unwrap();
        assert_eq!(speech, {
            let mut s = SpeechConfig::voice("Puck");
            s.language_code = Some("en-US".into());
            s
        });
        assert_eq!(
            setup.session_resumption,
            Some(SessionResumptionConfig::default())
        );
        assert!(setup.input_audio_transcription.is_some());
    }
}
