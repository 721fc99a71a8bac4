//! The page's settings and the one setup they make, for the relay and for a token's locked setup
//! alike: the browser chooses among options, the server writes the setup.

use protocol::models::{self, Backend};
use protocol::wire::{
    AudioTranscriptionConfig, AutomaticActivityDetection, Content, ContextWindowCompressionConfig,
    EndSensitivity, GenerationConfig, Modality, PrebuiltVoiceConfig, RealtimeInputConfig,
    SessionResumptionConfig, Setup, SlidingWindow, SpeechConfig, StartSensitivity, Tool,
    VoiceConfig,
};
use serde::Deserialize;

/// Longest accepted system instruction, in bytes.
const MAX_INSTRUCTION: usize = 16 * 1024;

/// The voices the page offers (Google's prebuilt voices).
pub const VOICES: &[&str] = &[
    "Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr",
];

/// What the page asks for.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    /// A Live model id; empty for the server's default.
    pub model: String,
    /// A prebuilt voice; empty for the model's default.
    pub voice: String,
    /// The system instruction; empty for none.
    pub system_instruction: String,
    /// How eagerly the server's voice detection starts and ends a turn.
    pub vad: Sensitivity,
    /// Push-to-talk: the page marks the start and end of each turn, the server's detection is off.
    pub push_to_talk: bool,
    /// Transcribe the user's speech.
    pub input_transcription: bool,
    /// Transcribe the model's speech.
    pub output_transcription: bool,
    /// Declare the demo function `get_weather` (calls are shown and answered in the page).
    pub demo_tools: bool,
}

/// Voice detection sensitivity.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// The server's default.
    #[default]
    Default,
    /// Starts and ends turns less readily (noisy rooms).
    Low,
    /// Starts and ends turns readily (quick exchanges).
    High,
}

/// A settings value the server does not accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// The model id, or `default`.
    pub fn model_or<'a>(&'a self, default: &'a str) -> &'a str {
        match self.model.trim() {
            "" => default,
            m => m,
        }
    }

    /// The setup these settings make (`model` already completed by the caller's endpoint rules).
    /// Sessions are resumable and use a sliding context window, so that they can last.
    pub fn setup(&self, model: String) -> Result<Setup, SettingsError> {
        let bare = models::bare_id(&model);
        if let Some(profile) = models::lookup(bare, Backend::GeminiApi)
            && profile.retired
        {
            return Err(SettingsError(format!(
                "{bare} has been shut down; pick another model"
            )));
        }
        let voice = match self.voice.trim() {
            "" => None,
            v if VOICES.iter().any(|known| known.eq_ignore_ascii_case(v)) => Some(v.to_owned()),
            v => return Err(SettingsError(format!("unknown voice {v:?}"))),
        };
        if self.system_instruction.len() > MAX_INSTRUCTION {
            return Err(SettingsError(format!(
                "the system instruction is longer than {} KiB",
                MAX_INSTRUCTION / 1024
            )));
        }
        let mut setup = Setup::new(model);
        setup.generation_config = Some(GenerationConfig {
            response_modalities: Some(vec![Modality::Audio]),
            speech_config: voice.map(|name| SpeechConfig {
                voice_config: Some(VoiceConfig {
                    prebuilt_voice_config: Some(PrebuiltVoiceConfig {
                        voice_name: Some(name),
                    }),
                    ..VoiceConfig::default()
                }),
                ..SpeechConfig::default()
            }),
            ..GenerationConfig::default()
        });
        let instruction = self.system_instruction.trim();
        if !instruction.is_empty() {
            setup.system_instruction = Some(Content::user_text(instruction));
        }
        let (start, end) = match self.vad {
            Sensitivity::Default => (None, None),
            Sensitivity::Low => (Some(StartSensitivity::Low), Some(EndSensitivity::Low)),
            Sensitivity::High => (Some(StartSensitivity::High), Some(EndSensitivity::High)),
        };
        if self.push_to_talk || start.is_some() {
            setup.realtime_input_config = Some(RealtimeInputConfig {
                automatic_activity_detection: Some(AutomaticActivityDetection {
                    disabled: self.push_to_talk.then_some(true),
                    start_of_speech_sensitivity: start.filter(|_| !self.push_to_talk),
                    end_of_speech_sensitivity: end.filter(|_| !self.push_to_talk),
                    ..AutomaticActivityDetection::default()
                }),
                ..RealtimeInputConfig::default()
            });
        }
        if self.input_transcription {
            setup.input_audio_transcription = Some(AudioTranscriptionConfig::default());
        }
        if self.output_transcription {
            setup.output_audio_transcription = Some(AudioTranscriptionConfig::default());
        }
        if self.demo_tools {
            setup.tools = Some(vec![demo_tool()]);
        }
        setup.session_resumption = Some(SessionResumptionConfig::default());
        setup.context_window_compression = Some(ContextWindowCompressionConfig {
            sliding_window: Some(SlidingWindow::default()),
            ..ContextWindowCompressionConfig::default()
        });
        Ok(setup)
    }
}

/// Whether typed text goes in `realtimeInput.text` (3.x models) or `clientContent` (older ones).
pub(crate) fn text_via_realtime_input(model: &str) -> bool {
    models::lookup(models::bare_id(model), Backend::GeminiApi)
        .is_none_or(|p| p.text_via_realtime_input)
}

fn demo_tool() -> Tool {
    let tool = serde_json::json!({"functionDeclarations": [{
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING", "description": "The city"}},
            "required": ["city"]
        }
    }]});
    // A constant that matches the wire model; covered by the tests below.
    serde_json::from_value(tool).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(setup: &Setup) -> serde_json::Value {
        serde_json::to_value(setup).unwrap()
    }

    #[test]
    fn settings_make_one_setup() {
        let s: Settings = serde_json::from_value(serde_json::json!({
            "model": "gemini-3.1-flash-live-preview", "voice": "kore",
            "systemInstruction": "Be brief.", "vad": "high",
            "inputTranscription": true, "outputTranscription": true, "demoTools": true
        }))
        .unwrap();
        let setup = s
            .setup("models/gemini-3.1-flash-live-preview".into())
            .unwrap();
        let v = json(&setup);
        assert_eq!(v["generationConfig"]["responseModalities"][0], "AUDIO");
        assert_eq!(
            v["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
            "kore"
        );
        assert_eq!(v["systemInstruction"]["parts"][0]["text"], "Be brief.");
        assert_eq!(
            v["realtimeInputConfig"]["automaticActivityDetection"]["startOfSpeechSensitivity"],
            "START_SENSITIVITY_HIGH"
        );
        assert_eq!(
            v["tools"][0]["functionDeclarations"][0]["name"],
            "get_weather"
        );
        assert!(v["sessionResumption"].is_object());
        assert!(v["inputAudioTranscription"].is_object());
    }

    #[test]
    fn push_to_talk_turns_the_server_detection_off() {
        let s = Settings {
            push_to_talk: true,
            vad: Sensitivity::High,
            ..Settings::default()
        };
        let v = json(&s.setup("models/x".into()).unwrap());
        assert_eq!(
            v["realtimeInputConfig"]["automaticActivityDetection"],
            serde_json::json!({"disabled": true})
        );
    }

    #[test]
    fn bad_settings_are_refused_in_words() {
        let voice = Settings {
            voice: "Robot".into(),
            ..Settings::default()
        };
        assert!(
            voice
                .setup("models/x".into())
                .unwrap_err()
                .0
                .contains("unknown voice")
        );
        let long = Settings {
            system_instruction: "a".repeat(MAX_INSTRUCTION + 1),
            ..Settings::default()
        };
        assert!(long.setup("models/x".into()).is_err());
        assert!(
            serde_json::from_value::<Settings>(serde_json::json!({"apiKey": "x"})).is_err(),
            "unknown settings are refused"
        );
    }
}
