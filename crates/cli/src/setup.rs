//! Flags and files → the setup message.

use std::path::Path;

use anyhow::{Context, Result, bail};
use protocol::models::{self, Backend};
use protocol::wire::{
    ActivityHandling, AutomaticActivityDetection, Content, ContextWindowCompressionConfig,
    EndSensitivity, GenerationConfig, Modality, ProactivityConfig, RealtimeInputConfig,
    SessionResumptionConfig, Setup, SlidingWindow, SpeechConfig, StartSensitivity, ThinkingConfig,
    Tool,
};
use serde_json::Value;

use crate::args::{Sensitivity, SetupArgs};

/// What the session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Text is what the user wants; audio-only models speak and their transcript is shown.
    Text,
    /// Spoken replies are wanted.
    Audio,
}

/// Builds the setup: the `--config` file first, then every flag over it, and `tools`.
pub(crate) fn build(
    args: &SetupArgs,
    tools: Option<&Path>,
    reply: Reply,
    backend: Backend,
) -> Result<Setup> {
    let mut setup = match &args.config {
        Some(path) => read_config(path)?,
        None => Setup::default(),
    };
    if setup.model.is_empty() || args.model != models::DEFAULT_MODEL {
        setup.model = args.model.clone();
    }
    let profile = models::lookup(&setup.model, backend);
    let generation = setup
        .generation_config
        .get_or_insert_with(GenerationConfig::default);
    if generation.response_modalities.is_none() {
        let text_capable = profile.is_some_and(|p| !p.audio_only);
        let modality = if reply == Reply::Text && text_capable {
            Modality::Text
        } else {
            Modality::Audio
        };
        generation.response_modalities = Some(vec![modality]);
    }
    if let Some(t) = args.temperature {
        generation.temperature = Some(t);
    }
    if args.voice.is_some() || args.language.is_some() {
        let speech = generation
            .speech_config
            .get_or_insert_with(|| SpeechConfig::voice(""));
        if let Some(voice) = &args.voice {
            let voice = models::voice(voice).unwrap_or(voice.as_str());
            *speech = SpeechConfig {
                language_code: speech.language_code.take(),
                ..SpeechConfig::voice(voice)
            };
        } else {
            speech.voice_config = None;
        }
        if let Some(language) = &args.language {
            speech.language_code = Some(language.clone());
        }
    }
    if let Some(budget) = args.thinking_budget {
        generation
            .thinking_config
            .get_or_insert_with(ThinkingConfig::default)
            .thinking_budget = Some(budget);
    }
    if args.affective_dialog {
        generation.enable_affective_dialog = Some(true);
    }
    let audio_out = generation.response_modalities.as_deref() == Some(&[Modality::Audio]);
    if let Some(system) = &args.system {
        setup.system_instruction = Some(Content::text("user", system.as_str()));
    }
    if !args.no_transcription {
        setup
            .input_audio_transcription
            .get_or_insert_with(Default::default);
        if audio_out {
            setup
                .output_audio_transcription
                .get_or_insert_with(Default::default);
        }
    }
    if args.no_vad
        || args.vad_start.is_some()
        || args.vad_end.is_some()
        || args.vad_prefix_ms.is_some()
        || args.vad_silence_ms.is_some()
        || args.no_interruption
    {
        let rt = setup
            .realtime_input_config
            .get_or_insert_with(RealtimeInputConfig::default);
        let aad = rt
            .automatic_activity_detection
            .get_or_insert_with(AutomaticActivityDetection::default);
        if args.no_vad {
            aad.disabled = Some(true);
        }
        if let Some(s) = args.vad_start {
            aad.start_of_speech_sensitivity = Some(match s {
                Sensitivity::Low => StartSensitivity::Low,
                Sensitivity::High => StartSensitivity::High,
            });
        }
        if let Some(s) = args.vad_end {
            aad.end_of_speech_sensitivity = Some(match s {
                Sensitivity::Low => EndSensitivity::Low,
                Sensitivity::High => EndSensitivity::High,
            });
        }
        aad.prefix_padding_ms = args.vad_prefix_ms.or(aad.prefix_padding_ms);
        aad.silence_duration_ms = args.vad_silence_ms.or(aad.silence_duration_ms);
        if args.no_interruption {
            rt.activity_handling = Some(ActivityHandling::NoInterruption);
        }
    }
    if args.proactive_audio {
        setup
            .proactivity
            .get_or_insert_with(ProactivityConfig::default)
            .proactive_audio = Some(true);
    }
    if let Some(tokens) = args.compress_at {
        setup.context_window_compression = Some(ContextWindowCompressionConfig {
            trigger_tokens: Some(tokens),
            sliding_window: Some(SlidingWindow {
                target_tokens: Some(tokens / 2),
            }),
        });
    }
    if let Some(path) = tools {
        let tools = read_tools(path)?;
        setup.tools.get_or_insert_with(Vec::new).extend(tools);
    }
    // Always ask for resumption handles: they are what lets a session survive its connection.
    setup
        .session_resumption
        .get_or_insert_with(SessionResumptionConfig::default);
    Ok(setup)
}

/// What the model catalogue knows about the flags, checked before connecting: errors for what
/// the service is sure to refuse, warnings for what it may.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) warnings: Vec<String>,
}

impl Checked {
    fn warning(&mut self, text: String) {
        self.warnings.push(text);
    }
}

/// `google`: the session goes to Google, where a retired model is certain to be refused
/// (another server, such as the emulator, may still serve it: a warning then).
pub(crate) fn check(args: &SetupArgs, backend: Backend, google: bool) -> Result<Checked> {
    let mut out = Checked::default();
    let profile = models::lookup(&args.model, backend);
    match profile {
        Some(p) if p.retired && google => bail!(
            "{} has been shut down; use {} (`gemlive models` lists the current models)",
            args.model,
            models::DEFAULT_MODEL
        ),
        Some(p) if p.retired => out.warning(format!(
            "Google has shut {} down; this server may still serve it",
            args.model
        )),
        Some(_) => {}
        None => out.warnings.push(format!(
            "{} is not a Live model gemlive knows (`gemlive models` lists them); the server will \
             refuse it if it does not exist",
            args.model
        )),
    }
    if let Some(t) = args.temperature
        && !models::TEMPERATURE.contains(&t)
    {
        bail!(
            "--temperature {t}: Gemini takes {} to {}",
            models::TEMPERATURE.start(),
            models::TEMPERATURE.end()
        );
    }
    if let Some(v) = &args.voice {
        match models::voice(v) {
            Some(known) if known != v => out.warnings.push(format!(
                "the voice is spelled {known}, not {v}; using {known}"
            )),
            Some(_) => {}
            None => out.warnings.push(format!(
                "{v} is not a voice gemlive knows (`gemlive voices` lists them); the server may \
                 refuse it"
            )),
        }
    }
    if let Some(lang) = &args.language {
        let bcp47 = lang.split('-').enumerate().all(|(i, part)| {
            let ok_len = if i == 0 {
                (2..=3).contains(&part.len())
            } else {
                (2..=8).contains(&part.len())
            };
            ok_len && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !bcp47 {
            bail!("--language {lang}: a BCP-47 code is wanted, such as en-US or de-DE");
        }
        if profile.is_some_and(|p| p.audio_only) {
            out.warnings.push(format!(
                "{} detects the language itself and ignores --language",
                args.model
            ));
        }
    }
    Ok(out)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// A setup from JSON: the setup object itself or `{"setup": {...}}`; unknown fields are refused
/// here rather than by the server with a 1007.
pub(crate) fn read_config(path: &Path) -> Result<Setup> {
    let mut value = read_json(path)?;
    if let Some(inner) = value.get_mut("setup") {
        value = inner.take();
    }
    strict_setup(value, path, "is not a valid setup")
}

/// A setup for `model` with only the functions `--tools` declares (`gemlive mcp list`).
pub(crate) fn with_declarations(model: &str, args: &crate::args::ToolArgs) -> Result<Setup> {
    let mut setup = Setup::new(model);
    if let Some(path) = &args.declarations {
        setup.tools = Some(read_tools(path).map_err(|e| crate::exit::Usage(format!("{e:#}")))?);
    }
    Ok(setup)
}

/// Tools from JSON: a list of function declarations, a list of tools, or `{"tools": [...]}`.
/// Unknown fields are refused here rather than by the server with a 1007.
pub(crate) fn read_tools(path: &Path) -> Result<Vec<Tool>> {
    let mut value = read_json(path)?;
    if let Some(inner) = value.get_mut("tools") {
        value = inner.take();
    }
    let Value::Array(items) = value else {
        bail!(
            "{}: expected a list of function declarations or tools",
            path.display()
        );
    };
    let tools = if items.iter().all(|v| v.get("name").is_some()) {
        serde_json::json!([{ "functionDeclarations": items }])
    } else {
        Value::Array(items)
    };
    let setup = strict_setup(
        serde_json::json!({"model": "m", "tools": tools}),
        path,
        "holds invalid tools",
    )?;
    Ok(setup.tools.unwrap_or_default())
}

/// Decodes `value` as a setup the way the server validates it: unknown fields are refused.
fn strict_setup(value: Value, path: &Path, invalid: &str) -> Result<Setup> {
    let frame = serde_json::json!({ "setup": value }).to_string();
    let decoded = protocol::decode_client(frame.as_bytes())
        .with_context(|| format!("{} {invalid}", path.display()))?;
    if let Some(unknown) = decoded.unknown.first() {
        bail!(
            "{}: unknown field `{unknown}` (the server would reject it with 1007)",
            path.display()
        );
    }
    match decoded.message {
        protocol::wire::ClientMessage::Setup(setup) => Ok(*setup),
        _ => bail!("{} {invalid}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> SetupArgs {
        let mut argv = vec!["gemlive", "chat"];
        argv.extend_from_slice(extra);
        match crate::args::Cli::parse_from(argv).command {
            crate::args::Command::Chat(c) => c.setup,
            _ => unreachable!(),
        }
    }

    #[test]
    fn audio_only_models_answer_with_audio_and_transcripts() {
        let setup = build(&args(&[]), None, Reply::Text, Backend::GeminiApi).unwrap();
        assert_eq!(setup.response_modalities(), [Modality::Audio]);
        assert!(setup.output_audio_transcription.is_some());
        assert!(setup.session_resumption.is_some());
        let setup = build(
            &args(&["--model", "gemini-live-2.5-flash-preview"]),
            None,
            Reply::Text,
            Backend::GeminiApi,
        )
        .unwrap();
        assert_eq!(setup.response_modalities(), [Modality::Text]);
        assert!(setup.output_audio_transcription.is_none());
    }

    #[test]
    fn the_catalogue_catches_what_the_service_would_refuse() {
        let retired = check(
            &args(&["-m", "gemini-2.0-flash-live-001"]),
            Backend::GeminiApi,
            true,
        );
        assert!(retired.unwrap_err().to_string().contains("shut down"));
        let hot = check(&args(&["--temperature", "7"]), Backend::GeminiApi, true);
        assert!(hot.unwrap_err().to_string().contains("0 to 2"));
        let ok = check(
            &args(&["--voice", "puck", "--thinking-budget", "-1"]),
            Backend::GeminiApi,
            true,
        )
        .unwrap();
        assert_eq!(
            ok.warnings,
            ["the voice is spelled Puck, not puck; using Puck"]
        );
        let odd = check(
            &args(&["--voice", "Bob", "-m", "x-model"]),
            Backend::GeminiApi,
            true,
        )
        .unwrap();
        assert_eq!(odd.warnings.len(), 2, "{:?}", odd.warnings);
        assert!(
            check(
                &args(&["--language", "english please"]),
                Backend::GeminiApi,
                true
            )
            .is_err()
        );
    }

    #[test]
    fn flags_fill_the_setup() {
        let setup = build(
            &args(&[
                "--voice",
                "Puck",
                "--language",
                "de-DE",
                "--temperature",
                "0.5",
                "--system",
                "terse",
                "--no-vad",
                "--vad-silence-ms",
                "300",
                "--no-interruption",
                "--compress-at",
                "1000",
            ]),
            None,
            Reply::Audio,
            Backend::GeminiApi,
        )
        .unwrap();
        let json = protocol::wire::ClientMessage::Setup(Box::new(setup)).to_json();
        for part in [
            r#""voiceName":"Puck""#,
            r#""languageCode":"de-DE""#,
            r#""temperature":0.5"#,
            r#""disabled":true"#,
            r#""silenceDurationMs":300"#,
            "NO_INTERRUPTION",
            r#""triggerTokens":"1000""#,
            r#""targetTokens":"500""#,
        ] {
            assert!(json.contains(part), "{part} missing in {json}");
        }
    }
}
