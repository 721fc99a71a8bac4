//! Validating a client's `setup` the way Google does, and the model catalogue.
//!
//! Client frames are decoded strictly by the protocol crate, then handled in their canonical JSON form
//! (camelCase, standard base64), so the emulator accepts every spelling real clients send.

use serde_json::{Map, Value};

use crate::close::Close;
use crate::engine::SessionSetup;
use crate::route::{Backend, LiveEndpoint};
use crate::tools::FunctionDecl;
use crate::vad::VadConfig;

/// Kinds of Live models, for the model-specific rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Native audio input, TTS output: TEXT or AUDIO.
    HalfCascade,
    /// 2.5 native audio: AUDIO only, NON_BLOCKING allowed.
    NativeAudio,
    /// 3.1 Flash Live: AUDIO only, clientContent only for the initial history, blocking tools only.
    Live31,
    /// 3.5 live translate.
    Translate,
    /// 3.8 Live: AUDIO only, NON_BLOCKING by default.
    Live38,
}

const GEMINI_MODELS: [(&str, Family); 11] = [
    ("gemini-2.0-flash-live-001", Family::HalfCascade),
    ("gemini-live-2.5-flash-preview", Family::HalfCascade),
    (
        "gemini-2.5-flash-preview-native-audio-dialog",
        Family::NativeAudio,
    ),
    (
        "gemini-2.5-flash-exp-native-audio-thinking-dialog",
        Family::NativeAudio,
    ),
    (
        "gemini-2.5-flash-native-audio-preview-09-2025",
        Family::NativeAudio,
    ),
    (
        "gemini-2.5-flash-native-audio-preview-12-2025",
        Family::NativeAudio,
    ),
    ("gemini-2.5-flash-native-audio-latest", Family::NativeAudio),
    ("gemini-3.1-flash-live-preview", Family::Live31),
    ("gemini-3.5-live-translate-preview", Family::Translate),
    ("gemini-3.8-live", Family::Live38),
    ("gemini-3.8-live-extended-thinking", Family::Live38),
];

const VERTEX_MODELS: [(&str, Family); 5] = [
    ("gemini-2.0-flash-live-preview-04-09", Family::HalfCascade),
    ("gemini-live-2.5-flash", Family::HalfCascade),
    (
        "gemini-live-2.5-flash-preview-native-audio-09-2025",
        Family::NativeAudio,
    ),
    ("gemini-live-2.5-flash-native-audio", Family::NativeAudio),
    ("gemini-3.8-live", Family::Live38),
];

/// The model family of a `setup.model` on `backend`, or `None` (unknown / not a Live model).
pub(crate) fn model_family(model: &str, backend: Backend) -> Option<Family> {
    let (id, table): (&str, &[(&str, Family)]) = match backend {
        Backend::GeminiApi => (
            model.strip_prefix("models/").unwrap_or(model),
            &GEMINI_MODELS,
        ),
        Backend::Vertex => {
            let id = match model.rsplit_once("/models/") {
                Some((prefix, id)) if prefix.ends_with("publishers/google") => id,
                Some(_) => return None,
                None => model.strip_prefix("models/").unwrap_or(model),
            };
            (id, &VERTEX_MODELS)
        }
    };
    table.iter().find(|(name, _)| *name == id).map(|(_, f)| *f)
}

fn bool_at(v: &Value, key: &str) -> Option<bool> {
    v.get(key)?.as_bool()
}

fn int_at(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The text of a `Content` (parts joined by blank lines).
pub(crate) fn content_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .unwrap_or_default()
}

/// Function declarations of a canonical `tools` array.
pub(crate) fn function_decls(tools: &Value, default_non_blocking: bool) -> Vec<FunctionDecl> {
    let Some(tools) = tools.as_array() else {
        return vec![];
    };
    tools
        .iter()
        .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?.to_owned();
            let schema = d
                .get("parameters")
                .or_else(|| d.get("parametersJsonSchema"))
                .cloned();
            let non_blocking = match d.get("behavior").and_then(Value::as_str) {
                Some(b) if b.eq_ignore_ascii_case("NON_BLOCKING") => true,
                Some(b) if b.eq_ignore_ascii_case("BLOCKING") => false,
                _ => default_non_blocking,
            };
            Some(FunctionDecl {
                name,
                schema,
                non_blocking,
            })
        })
        .collect()
}

/// A close for a field that exists in the schema but is refused here (`Unknown name "X" at 'path'`).
fn unknown(name: &str, path: &str) -> Close {
    Close::new(
        1007,
        format!(
            "Invalid JSON payload received. Unknown name \"{name}\" at '{path}': Cannot find field."
        ),
    )
}

/// The raw spelling the client used for a key (`camel` or its snake_case form), if present.
fn raw_key(raw: &Map<String, Value>, camel: &str) -> Option<String> {
    let snake = crate::auth::to_snake(camel);
    [camel.to_owned(), snake]
        .into_iter()
        .find(|k| raw.contains_key(k))
}

/// Validates a decoded `setup` (canonical JSON) plus the raw one (for key spellings in reasons) and turns it
/// into the engine's terms. The order of checks follows what Google reports first.
pub(crate) fn session_setup(
    setup: &Value,
    raw: &Map<String, Value>,
    endpoint: &LiveEndpoint,
    strict_models: bool,
) -> Result<(SessionSetup, Family), Close> {
    let vertex = endpoint.backend == Backend::Vertex;
    let raw_obj = |k: &str| {
        raw_key(raw, k)
            .and_then(|key| raw.get(&key))
            .and_then(Value::as_object)
    };
    if !vertex {
        if let Some(k) = raw_key(raw, "explicitVadSignal") {
            return Err(unknown(&k, "setup"));
        }
        if let Some(sr) = raw_obj("sessionResumption") {
            if let Some(k) = raw_key(sr, "transparent") {
                return Err(unknown(&k, "setup.session_resumption"));
            }
        }
        if endpoint.version != "v1alpha" {
            if let Some(k) = raw_key(raw, "proactivity") {
                return Err(unknown(&k, "setup"));
            }
            if let Some(gc) = raw_obj("generationConfig") {
                if let Some(k) = raw_key(gc, "enableAffectiveDialog") {
                    return Err(unknown(&k, "setup.generation_config"));
                }
            }
        }
    }
    let model = setup
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let family = model_family(model, endpoint.backend)
        .ok_or_else(|| Close::model_not_found(model, &endpoint.version))?;
    let gc = setup
        .get("generationConfig")
        .cloned()
        .unwrap_or(Value::Null);
    let modalities: Vec<String> = gc
        .get("responseModalities")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect()
        })
        .unwrap_or_default();
    if modalities.len() > 1 {
        return Err(Close::invalid_argument());
    }
    let audio_out = modalities.first().is_none_or(|m| m == "AUDIO");
    let tools = setup.get("tools").cloned().unwrap_or(Value::Null);
    let functions = function_decls(&tools, family == Family::Live38);
    if strict_models {
        match family {
            Family::Live31 if !audio_out => return Err(Close::internal()),
            Family::NativeAudio | Family::Live38 | Family::Translate if !audio_out => {
                return Err(Close::invalid_argument());
            }
            Family::Live31 if functions.iter().any(|f| f.non_blocking) => {
                return Err(Close::invalid_argument());
            }
            Family::Live31 | Family::Live38 if gc.get("enableAffectiveDialog").is_some() => {
                return Err(Close::invalid_argument());
            }
            Family::Live38 if gc.get("thinkingConfig").is_some() => {
                return Err(Close::invalid_argument());
            }
            Family::Live38
                if setup
                    .get("proactivity")
                    .and_then(|p| bool_at(p, "proactiveAudio"))
                    == Some(false) =>
            {
                return Err(Close::invalid_argument());
            }
            _ => {}
        }
    }
    let ric = setup
        .get("realtimeInputConfig")
        .cloned()
        .unwrap_or(Value::Null);
    let aad = ric
        .get("automaticActivityDetection")
        .cloned()
        .unwrap_or(Value::Null);
    let high = |key: &str, default_high: bool| match aad.get(key).and_then(Value::as_str) {
        Some(s) if s.ends_with("_HIGH") => true,
        Some(s) if s.ends_with("_LOW") => false,
        _ => default_high,
    };
    let vad = (bool_at(&aad, "disabled") != Some(true)).then(|| {
        VadConfig::new(
            high("startOfSpeechSensitivity", !vertex),
            high("endOfSpeechSensitivity", !vertex),
            int_at(&aad, "prefixPaddingMs").and_then(|v| u32::try_from(v).ok()),
            int_at(&aad, "silenceDurationMs").and_then(|v| u32::try_from(v).ok()),
        )
    });
    let no_interruption =
        ric.get("activityHandling").and_then(Value::as_str) == Some("NO_INTERRUPTION");
    let context_limit: i64 = if family == Family::HalfCascade {
        32_768
    } else {
        131_072
    };
    let compression = setup.get("contextWindowCompression").map(|c| {
        let trigger = int_at(c, "triggerTokens").unwrap_or(context_limit * 4 / 5);
        let target = c
            .get("slidingWindow")
            .and_then(|s| int_at(s, "targetTokens"))
            .unwrap_or(trigger / 2);
        (trigger, target)
    });
    let initial_history = setup
        .get("historyConfig")
        .and_then(|h| bool_at(h, "initialHistoryInClientContent"))
        == Some(true);
    Ok((
        SessionSetup {
            vertex,
            audio_out,
            input_transcription: setup.get("inputAudioTranscription").is_some(),
            output_transcription: setup.get("outputAudioTranscription").is_some(),
            functions,
            vad,
            no_interruption,
            resumption: setup.get("sessionResumption").is_some(),
            compression,
            context_limit,
            initial_history_in_client_content: initial_history,
            client_content_only_initial: strict_models && family == Family::Live31,
            system_instruction: setup
                .get("systemInstruction")
                .map(content_text)
                .filter(|s| !s.is_empty()),
        },
        family,
    ))
}

/// Checks the `bidiGenerateContentSetup` of a token mint request like a Live setup.
pub(crate) fn validate_locked_setup(setup: &Value) -> Result<(), String> {
    let frame = serde_json::json!({ "setup": setup }).to_string();
    crate::connection::canonical(frame.as_bytes())
        .map(|_| ())
        .map_err(|c| {
            c.reason
                .replace("at 'setup", "at 'auth_token.bidi_generate_content_setup")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue() {
        assert_eq!(
            model_family("models/gemini-3.1-flash-live-preview", Backend::GeminiApi),
            Some(Family::Live31)
        );
        assert_eq!(
            model_family("models/gemini-2.0-flash-exp", Backend::GeminiApi),
            None
        );
        assert_eq!(
            model_family(
                "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio",
                Backend::Vertex
            ),
            Some(Family::NativeAudio)
        );
        assert_eq!(
            model_family("publishers/google/models/gemini-3.8-live", Backend::Vertex),
            Some(Family::Live38)
        );
        assert_eq!(
            model_family("models/gemini-3.1-flash-live-preview", Backend::Vertex),
            None
        );
    }
}
