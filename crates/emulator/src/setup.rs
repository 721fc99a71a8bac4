//! Validating a client's `setup` the way Google does, and the model catalogue.
//!
//! Client frames are decoded strictly by the protocol crate, then handled in their canonical JSON form
//! (camelCase, standard base64), so the emulator accepts every spelling real clients send.

use protocol::models::{ClientContentRule, Family, ModelProfile};
use serde_json::{Map, Value};

use crate::close::Close;
use crate::engine::SessionSetup;
use crate::layout::Layout;
use crate::route::{Backend, LiveEndpoint};
use crate::tools::FunctionDecl;
use crate::vad::VadConfig;

/// The profile of a `setup.model` on `backend`: `None` for an unknown model (and, with `strict`, a
/// retired one).
pub(crate) fn model_profile(model: &str, backend: Backend, strict: bool) -> Option<ModelProfile> {
    let backend = match backend {
        Backend::GeminiApi => protocol::Backend::GeminiApi,
        Backend::Vertex => protocol::Backend::Vertex,
    };
    protocol::models::lookup(model, backend).filter(|p| !(strict && p.retired))
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
            let description = d
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
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
                description,
                schema,
                non_blocking,
            })
        })
        .collect()
}

/// A close for a field that exists in the schema but is refused here (`Unknown name "X" at 'path'`).
fn unknown(name: &str, path: &str) -> Close {
    let field = protocol::UnknownField {
        name: name.to_owned(),
        parent_path: path.to_owned(),
    };
    Close::new(1007, field.google_reason())
}

/// The raw spelling the client used for a key (`camel` or its snake_case form), if present.
fn raw_key(raw: &Map<String, Value>, camel: &str) -> Option<String> {
    let snake = protocol::decode::to_snake_case(camel);
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
) -> Result<(SessionSetup, ModelProfile), Close> {
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
        if let Some(sr) = raw_obj("sessionResumption")
            && let Some(k) = raw_key(sr, "transparent")
        {
            return Err(unknown(&k, "setup.session_resumption"));
        }
        if endpoint.version != "v1alpha" {
            if let Some(k) = raw_key(raw, "proactivity") {
                return Err(unknown(&k, "setup"));
            }
            if let Some(gc) = raw_obj("generationConfig")
                && let Some(k) = raw_key(gc, "enableAffectiveDialog")
            {
                return Err(unknown(&k, "setup.generation_config"));
            }
        }
    }
    let model = setup
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let profile = model_profile(model, endpoint.backend, strict_models)
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
    let functions = function_decls(&tools, profile.non_blocking_by_default);
    if strict_models {
        strict_rules(&profile, &setup_view(setup, &gc), audio_out, &functions)?;
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
    let context_limit = i64::from(profile.context_window);
    let model_max = i64::from(profile.max_output_tokens);
    let max_output_tokens = int_at(&gc, "maxOutputTokens")
        .filter(|&n| n > 0)
        .map_or(model_max, |n| n.min(model_max));
    let google_search = tools.as_array().is_some_and(|t| {
        t.iter()
            .any(|t| t.get("googleSearch").is_some() || t.get("googleSearchRetrieval").is_some())
    });
    // Google sends `voiceActivity` on 3.x, and only to a setup that configures automatic
    // activity detection: none of the 99 recorded sessions (none configuring it) got one.
    let voice_activity = !vertex
        && matches!(profile.family, Family::Live31 | Family::Live38)
        && ric.get("automaticActivityDetection").is_some();
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
            layout: Layout::new(&profile, vertex),
            voice_activity,
            google_search,
            max_output_tokens,
            explicit_vad_signal: vertex
                && setup.get("explicitVadSignal").and_then(Value::as_bool) == Some(true),
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
            client_content_only_initial: strict_models
                && profile.client_content == ClientContentRule::InitialHistoryOnly,
            system_instruction: setup
                .get("systemInstruction")
                .map(content_text)
                .filter(|s| !s.is_empty()),
        },
        profile,
    ))
}

/// The parts of a setup the model rules look at.
struct SetupView {
    affective_dialog: bool,
    thinking: bool,
    proactivity: bool,
    proactive_audio_off: bool,
}

fn setup_view(setup: &Value, gc: &Value) -> SetupView {
    let proactivity = setup.get("proactivity");
    SetupView {
        affective_dialog: gc.get("enableAffectiveDialog").is_some(),
        thinking: gc.get("thinkingConfig").is_some(),
        proactivity: proactivity.is_some(),
        proactive_audio_off: proactivity.and_then(|p| bool_at(p, "proactiveAudio")) == Some(false),
    }
}

/// `--strict-models`: what a model refuses (reference §3, §6 and the model table).
fn strict_rules(
    p: &ModelProfile,
    s: &SetupView,
    audio_out: bool,
    functions: &[FunctionDecl],
) -> Result<(), Close> {
    if p.audio_only && !audio_out {
        // 3.1 answers a TEXT modality with an internal error (python-genai#2238); others reject it.
        return Err(
            if p.client_content == ClientContentRule::InitialHistoryOnly {
                Close::internal()
            } else {
                Close::invalid_argument()
            },
        );
    }
    let always_proactive = p.id.starts_with("gemini-3.8");
    let refused = (functions.iter().any(|f| f.non_blocking) && !p.supports_non_blocking)
        || (s.affective_dialog && !p.supports_affective_dialog)
        || (s.thinking && !p.supports_thinking)
        || (s.proactivity && !p.supports_proactivity)
        || (always_proactive && s.proactive_audio_off);
    if refused {
        Err(Close::invalid_argument())
    } else {
        Ok(())
    }
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
        let p = model_profile(
            "models/gemini-3.1-flash-live-preview",
            Backend::GeminiApi,
            true,
        )
        .unwrap();
        assert_eq!(p.client_content, ClientContentRule::InitialHistoryOnly);
        assert!(model_profile("models/gemini-2.0-flash-exp", Backend::GeminiApi, false).is_none());
        assert!(
            model_profile(
                "models/gemini-live-2.5-flash-preview",
                Backend::GeminiApi,
                false
            )
            .is_some()
        );
        assert!(
            model_profile(
                "models/gemini-live-2.5-flash-preview",
                Backend::GeminiApi,
                true
            )
            .is_some(),
            "accepted by Google in 2026 recordings"
        );
        assert!(
            model_profile("models/gemini-2.0-flash-live-001", Backend::GeminiApi, true).is_none()
        );
        let vertex = "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio";
        assert!(model_profile(vertex, Backend::Vertex, true).is_some());
        assert!(
            model_profile(
                "models/gemini-3.1-flash-live-preview",
                Backend::Vertex,
                false
            )
            .is_none()
        );
    }
}
