//! What each Live model supports, and how model names are written on each backend.
//!
//! One table serves the client's preflight checks and the emulator's `--strict-models` rules.

use std::fmt;

/// The default model: the current generally available native-audio Live model.
pub const DEFAULT_MODEL: &str = "gemini-3.8-live";

/// The prebuilt voices (`speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName`), the same
/// 30 as text-to-speech (reference §3.1.1).
pub const VOICES: &[&str] = &[
    "Zephyr",
    "Puck",
    "Charon",
    "Kore",
    "Fenrir",
    "Leda",
    "Orus",
    "Aoede",
    "Callirrhoe",
    "Autonoe",
    "Enceladus",
    "Iapetus",
    "Umbriel",
    "Algieba",
    "Despina",
    "Erinome",
    "Algenib",
    "Rasalgethi",
    "Laomedeia",
    "Achernar",
    "Alnilam",
    "Schedar",
    "Gacrux",
    "Pulcherrima",
    "Achird",
    "Zubenelgenubi",
    "Vindemiatrix",
    "Sadachbia",
    "Sadaltager",
    "Sulafat",
];

/// The range of `generationConfig.temperature` Gemini accepts.
pub const TEMPERATURE: std::ops::RangeInclusive<f32> = 0.0..=2.0;

/// The voice named `name`, in its catalogue spelling, matched without regard to case.
///
/// ```
/// use gemlive_protocol::models::voice;
/// assert_eq!(voice("puck"), Some("Puck"));
/// assert_eq!(voice("Bob"), None);
/// ```
pub fn voice(name: &str) -> Option<&'static str> {
    VOICES
        .iter()
        .copied()
        .find(|v| v.eq_ignore_ascii_case(name.trim()))
}

/// Which API a session talks to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The Gemini Developer API (generativelanguage.googleapis.com, "ML Dev").
    #[default]
    GeminiApi,
    /// Vertex AI.
    Vertex,
}

/// When `clientContent` may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientContentRule {
    /// At any time (2.5, 3.8).
    Anytime,
    /// Only to seed the initial history, with `historyConfig.initialHistoryInClientContent` (3.1).
    InitialHistoryOnly,
}

/// The generation a Live model belongs to: what it supports follows from it, and so does how the
/// server lays out its messages (where transcripts go, what it sends unasked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// Native audio input, text-to-speech output (2.0 and 2.5 "live" models): TEXT or AUDIO.
    HalfCascade,
    /// Gemini 2.5 native audio.
    NativeAudio25,
    /// Gemini 3.1 Flash Live (and the 3.5 translate preview).
    Live31,
    /// Gemini 3.8 Live.
    Live38,
}

/// What a Live model supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelProfile {
    /// The model id without a `models/` prefix.
    pub id: &'static str,
    /// Which backend serves it under this id.
    pub backend: Backend,
    /// The model's generation.
    pub family: Family,
    /// Native audio (AUDIO responses only; use output transcription for text).
    pub audio_only: bool,
    /// When `clientContent` is allowed.
    pub client_content: ClientContentRule,
    /// Whether function declarations default to NON_BLOCKING.
    pub non_blocking_by_default: bool,
    /// Whether NON_BLOCKING function calling is supported.
    pub supports_non_blocking: bool,
    /// Whether `enableAffectiveDialog` is supported.
    pub supports_affective_dialog: bool,
    /// Whether `proactivity` may be set (3.8: always on, and `false` is an error).
    pub supports_proactivity: bool,
    /// Whether `thinkingConfig` is accepted.
    pub supports_thinking: bool,
    /// Whether the deprecated `realtimeInput.mediaChunks` is still accepted.
    pub accepts_media_chunks: bool,
    /// Whether user text goes through `realtimeInput.text` (3.x) rather than `clientContent`.
    pub text_via_realtime_input: bool,
    /// Whether the model has been shut down: the server refuses it.
    pub retired: bool,
    /// Whether an AUDIO session gets audio. `false` for a model past its announced shutdown that
    /// the server still accepts but answers with transcripts and turn signals only (recorded in
    /// 2026 for `gemini-live-2.5-flash-preview`, shut down on 2025-12-09 by the deprecation page).
    pub audio_output: bool,
    /// Input context window, in tokens.
    pub context_window: u32,
    /// The most tokens one reply may have (a larger `maxOutputTokens` is capped to it).
    pub max_output_tokens: u32,
}

const fn profile(id: &'static str, backend: Backend) -> ModelProfile {
    ModelProfile {
        id,
        backend,
        family: Family::NativeAudio25,
        audio_only: true,
        client_content: ClientContentRule::Anytime,
        non_blocking_by_default: false,
        supports_non_blocking: true,
        supports_affective_dialog: false,
        supports_proactivity: false,
        supports_thinking: true,
        accepts_media_chunks: true,
        text_via_realtime_input: false,
        retired: false,
        audio_output: true,
        context_window: 131_072,
        max_output_tokens: 8_192,
    }
}

const fn half_cascade(id: &'static str, backend: Backend) -> ModelProfile {
    ModelProfile {
        family: Family::HalfCascade,
        context_window: 32_768,
        audio_only: false,
        supports_non_blocking: false,
        supports_thinking: false,
        ..profile(id, backend)
    }
}

const fn native_25(id: &'static str, backend: Backend) -> ModelProfile {
    ModelProfile {
        supports_affective_dialog: true,
        supports_proactivity: true,
        ..profile(id, backend)
    }
}

const fn gemini_31(id: &'static str, backend: Backend) -> ModelProfile {
    ModelProfile {
        family: Family::Live31,
        max_output_tokens: 65_536,
        client_content: ClientContentRule::InitialHistoryOnly,
        supports_non_blocking: false,
        accepts_media_chunks: false,
        text_via_realtime_input: true,
        ..profile(id, backend)
    }
}

const fn gemini_38(id: &'static str, backend: Backend) -> ModelProfile {
    ModelProfile {
        family: Family::Live38,
        max_output_tokens: 65_536,
        non_blocking_by_default: true,
        supports_proactivity: true,
        supports_thinking: false,
        accepts_media_chunks: false,
        text_via_realtime_input: true,
        ..profile(id, backend)
    }
}

const fn retired(p: ModelProfile) -> ModelProfile {
    ModelProfile { retired: true, ..p }
}

/// Past its announced shutdown, still accepted, answering without audio.
const fn voiceless(p: ModelProfile) -> ModelProfile {
    ModelProfile {
        audio_output: false,
        ..p
    }
}

/// Every Live model the reference lists (§6.10), as the newest evidence shows it: where the
/// deprecation page and real recordings disagree, the recordings win.
pub fn all() -> Vec<ModelProfile> {
    use Backend::{GeminiApi as G, Vertex as V};
    vec![
        gemini_38("gemini-3.8-live", G),
        gemini_38("gemini-3.8-live-extended-thinking", G),
        gemini_31("gemini-3.1-flash-live-preview", G),
        gemini_31("gemini-3.5-live-translate-preview", G),
        native_25("gemini-2.5-flash-native-audio-preview-12-2025", G),
        native_25("gemini-2.5-flash-native-audio-preview-09-2025", G),
        native_25("gemini-2.5-flash-native-audio-latest", G),
        // Announced shut down on 2025-12-09, yet Google accepted it in sessions recorded in
        // June and July 2026 (conformance corpus: dotnet-genai, js-genai), answering AUDIO
        // sessions with transcripts and turn signals but no audio.
        voiceless(half_cascade("gemini-live-2.5-flash-preview", G)),
        retired(half_cascade("gemini-2.0-flash-live-001", G)),
        gemini_38("gemini-3.8-live", V),
        native_25("gemini-live-2.5-flash-native-audio", V),
        native_25("gemini-live-2.5-flash-preview-native-audio-09-2025", V),
        half_cascade("gemini-live-2.5-flash", V),
        half_cascade("gemini-2.0-flash-live-preview-04-09", V),
    ]
}

/// The bare model id of a name written any way: `gemini-x`, `models/gemini-x`,
/// `publishers/google/models/gemini-x`, `projects/p/locations/l/publishers/google/models/gemini-x`.
pub fn bare_id(name: &str) -> &str {
    name.rsplit_once("models/").map_or(name, |(_, id)| id)
}

/// The profile of a model, by any spelling of its name, on `backend`.
pub fn lookup(name: &str, backend: Backend) -> Option<ModelProfile> {
    let id = bare_id(name);
    all()
        .into_iter()
        .find(|p| p.id == id && p.backend == backend)
}

/// A model name the SDKs would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid model name {name:?}: {why}")]
pub struct ModelNameError {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// The Developer API resource name: `models/` is prefixed unless the name already starts with
/// `models/` or `tunedModels/`. Names with `..`, `?` or `&` are refused, as the SDKs do.
pub fn gemini_model_name(name: &str) -> Result<String, ModelNameError> {
    check_name(name)?;
    if name.starts_with("models/") || name.starts_with("tunedModels/") {
        Ok(name.to_owned())
    } else {
        Ok(format!("models/{name}"))
    }
}

/// The Vertex resource name: `m` becomes `publishers/google/models/m`, `pub/m` becomes
/// `publishers/pub/models/m`, and names under `publishers/` get the project and location prefix.
pub fn vertex_model_name(
    name: &str,
    project: &str,
    location: &str,
) -> Result<String, ModelNameError> {
    check_name(name)?;
    let publisher_path = if name.starts_with("projects/") {
        return Ok(name.to_owned());
    } else if name.starts_with("publishers/") {
        name.to_owned()
    } else if let Some(id) = name.strip_prefix("models/") {
        format!("publishers/google/models/{id}")
    } else if let Some((publisher, id)) = name.split_once('/') {
        format!("publishers/{publisher}/models/{id}")
    } else {
        format!("publishers/google/models/{name}")
    };
    Ok(format!(
        "projects/{project}/locations/{location}/{publisher_path}"
    ))
}

fn check_name(name: &str) -> Result<(), ModelNameError> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.contains("..") || name.contains('?') || name.contains('&') {
        "it may not contain `..`, `?` or `&`"
    } else if name.chars().any(char::is_whitespace) {
        "it may not contain whitespace"
    } else {
        return Ok(());
    };
    Err(ModelNameError {
        name: name.to_owned(),
        why,
    })
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GeminiApi => "Gemini API",
            Self::Vertex => "Vertex AI",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_sdk_rules() {
        assert_eq!(
            gemini_model_name("gemini-3.8-live").unwrap(),
            "models/gemini-3.8-live"
        );
        assert_eq!(gemini_model_name("models/x").unwrap(), "models/x");
        assert_eq!(gemini_model_name("tunedModels/t").unwrap(), "tunedModels/t");
        assert!(gemini_model_name("a/../b").is_err());
        assert!(gemini_model_name("x?key=1").is_err());
        assert_eq!(
            vertex_model_name("gemini-live-2.5-flash-native-audio", "p", "us-central1").unwrap(),
            "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio"
        );
        assert_eq!(
            vertex_model_name("acme/m", "p", "l").unwrap(),
            "projects/p/locations/l/publishers/acme/models/m"
        );
        assert_eq!(
            vertex_model_name(
                "projects/a/locations/b/publishers/google/models/m",
                "p",
                "l"
            )
            .unwrap(),
            "projects/a/locations/b/publishers/google/models/m"
        );
    }

    #[test]
    fn lookup_by_any_spelling() {
        assert!(lookup("models/gemini-3.1-flash-live-preview", Backend::GeminiApi).is_some());
        assert!(lookup("projects/p/locations/l/publishers/google/models/gemini-live-2.5-flash-native-audio", Backend::Vertex).is_some());
        assert!(lookup("gemini-live-2.5-flash-native-audio", Backend::GeminiApi).is_none());
        let p = lookup(DEFAULT_MODEL, Backend::GeminiApi).unwrap();
        assert!(p.audio_only && p.non_blocking_by_default && !p.retired);
        assert_eq!((p.family, p.max_output_tokens), (Family::Live38, 65_536));
        let half = lookup("models/gemini-live-2.5-flash-preview", Backend::GeminiApi).unwrap();
        assert!(
            !half.retired && !half.audio_output && !half.audio_only,
            "accepted in 2026 recordings, without audio"
        );
        assert!(
            lookup("gemini-2.0-flash-live-001", Backend::GeminiApi)
                .unwrap()
                .retired
        );
        assert_eq!(
            lookup("gemini-3.1-flash-live-preview", Backend::GeminiApi)
                .unwrap()
                .client_content,
            ClientContentRule::InitialHistoryOnly
        );
    }
}
