//! Scenario files: rules that override the built-in responder on matching input, or inject faults.
//!
//! A script is a JSON object. Rules are tried in order on every user turn (typed text, `clientContent`, or the
//! `[speech: 1.2 s]` placeholder of detected speech); the first match wins.
//!
//! ```json
//! {
//!   "seed": 7,
//!   "rules": [
//!     {"when": {"contains": "weather"}, "reply": {"tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}}]}},
//!     {"when": {"contains": "hello"}, "reply": {"text": "Bonjour!", "audio_wav": "bonjour.wav"}},
//!     {"when": {"turn": 3}, "once": true, "fault": "drop"},
//!     {"when": {"contains": "crash"}, "fault": {"close": {"code": 1011, "reason": "Internal error encountered."}}},
//!     {"when": {"contains": "slow"}, "fault": {"delay_ms": 1500}}
//!   ]
//! }
//! ```
//!
//! - `when.contains`: case-insensitive substring of the user turn; `when.turn`: the n-th user turn of the session
//!   (1-based). An absent `when` matches every turn. `once: true` fires the rule at most once per session.
//! - `reply`: `text` (spoken in AUDIO sessions, streamed in TEXT sessions), optional `audio_wav` (a mono PCM16
//!   WAV file, resampled to 24 kHz, sent instead of synthesized audio; path relative to the script), and
//!   `tool_calls` (sent as one `toolCall`; the reply to the `toolResponse` is spoken as usual). `audio_ms`
//!   (instead of `audio_wav`) speaks exactly that many milliseconds: the synthetic voice saying `text`, repeated
//!   (at most 4 hours; with `speed: f64::INFINITY` and a small `audio_chunk`, a load test for clients).
//! - `fault`: `{"close": {"code", "reason"}}` closes with that code; `"drop"` drops the TCP connection without a
//!   close frame; `{"delay_ms": n}` delays the reply; `"stall"` starts a turn and never sends anything more;
//!   `"malformed"` sends a frame that is not JSON; `"premature_turn_complete"` sends `turnComplete` before the
//!   reply; `"empty_audio_turn"` completes a turn that has no content; `{"slow_pongs_ms": n}` answers every
//!   later ping `n` ms late (the connection stalls meanwhile), and the turn is answered as usual.
//! - `seed` (optional) replaces the emulator's seed, so a script fully determines ids and handles.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::Error;

/// The longest `audio_ms` a script may ask for (691 MB of 24 kHz PCM16).
const MAX_AUDIO_LEN: Duration = Duration::from_secs(4 * 3600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    #[serde(default)]
    seed: Option<u64>,
    rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    when: When,
    #[serde(default)]
    once: bool,
    reply: Option<ReplyFile>,
    fault: Option<FaultFile>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct When {
    contains: Option<String>,
    turn: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyFile {
    #[serde(default)]
    text: String,
    audio_wav: Option<String>,
    audio_ms: Option<u64>,
    #[serde(default)]
    tool_calls: Vec<CallFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallFile {
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum FaultFile {
    Close { code: u16, reason: String },
    Drop,
    DelayMs(u64),
    Stall,
    Malformed,
    PrematureTurnComplete,
    EmptyAudioTurn,
    SlowPongsMs(u64),
}

/// An injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Close {
        code: u16,
        reason: String,
    },
    Drop,
    Delay(Duration),
    Stall,
    Malformed,
    PrematureTurnComplete,
    EmptyAudioTurn,
    /// From now on, answer each ping this late.
    SlowPongs(Duration),
}

/// A function call a script makes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScriptCall {
    pub(crate) name: String,
    pub(crate) args: Value,
}

/// A scripted reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScriptReply {
    pub(crate) text: String,
    /// 24 kHz PCM16 to send instead of synthesized speech.
    pub(crate) audio: Option<Arc<[i16]>>,
    /// Speak exactly this long: `unit` (the synthetic voice saying the text, made once when the
    /// script is parsed) over and over, cut when the reply is made.
    pub(crate) audio_len: Option<(Duration, Arc<[i16]>)>,
    pub(crate) tool_calls: Vec<ScriptCall>,
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Reply(ScriptReply),
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    when: When,
    once: bool,
    action: Action,
}

/// A parsed scenario (see the [module docs](self) for the format).
#[derive(Debug, Clone)]
pub struct Script {
    pub(crate) seed: Option<u64>,
    pub(crate) rules: Vec<Rule>,
}

impl Script {
    /// Parses a script; relative `audio_wav` paths are resolved against `base_dir`.
    pub fn from_json(json: &str, base_dir: &Path) -> Result<Self, Error> {
        let file: ScriptFile =
            serde_json::from_str(json).map_err(|e| Error::Script(e.to_string()))?;
        let mut rules = Vec::with_capacity(file.rules.len());
        for (i, r) in file.rules.into_iter().enumerate() {
            let action = match (r.reply, r.fault) {
                (Some(reply), None) => {
                    let audio = match reply.audio_wav {
                        None => None,
                        Some(p) => Some(load_wav(&base_dir.join(p))?.into()),
                    };
                    let audio_len = reply.audio_ms.map(Duration::from_millis);
                    if audio_len.is_some_and(|d| d > MAX_AUDIO_LEN) {
                        return Err(Error::Script(format!(
                            "rule {i}: audio_ms is at most {} (4 hours)",
                            MAX_AUDIO_LEN.as_millis()
                        )));
                    }
                    if audio.is_some() && audio_len.is_some() {
                        return Err(Error::Script(format!(
                            "rule {i}: `audio_wav` and `audio_ms` exclude each other"
                        )));
                    }
                    let audio_len =
                        audio_len.map(|d| (d, Arc::from(crate::synth::repeat_unit(&reply.text))));
                    Action::Reply(ScriptReply {
                        text: reply.text,
                        audio,
                        audio_len,
                        tool_calls: reply
                            .tool_calls
                            .into_iter()
                            .map(|c| ScriptCall {
                                name: c.name,
                                args: c.args,
                            })
                            .collect(),
                    })
                }
                (None, Some(f)) => Action::Fault(match f {
                    FaultFile::Close { code, reason } => Fault::Close { code, reason },
                    FaultFile::Drop => Fault::Drop,
                    FaultFile::DelayMs(ms) => Fault::Delay(Duration::from_millis(ms)),
                    FaultFile::Stall => Fault::Stall,
                    FaultFile::Malformed => Fault::Malformed,
                    FaultFile::PrematureTurnComplete => Fault::PrematureTurnComplete,
                    FaultFile::EmptyAudioTurn => Fault::EmptyAudioTurn,
                    FaultFile::SlowPongsMs(ms) => Fault::SlowPongs(Duration::from_millis(ms)),
                }),
                _ => {
                    return Err(Error::Script(format!(
                        "rule {i}: exactly one of `reply` and `fault` is required"
                    )));
                }
            };
            rules.push(Rule {
                when: r.when,
                once: r.once,
                action,
            });
        }
        Ok(Self {
            seed: file.seed,
            rules,
        })
    }

    /// Reads and parses a script file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e,
        })?;
        Self::from_json(&text, path.parent().unwrap_or_else(|| Path::new(".")))
    }

    /// The first rule matching the `turn`-th user turn saying `text`, skipping `once` rules already `fired`.
    pub(crate) fn matching(
        &self,
        text: &str,
        turn: u64,
        fired: &[usize],
    ) -> Option<(usize, &Action)> {
        let lower = text.to_lowercase();
        self.rules.iter().enumerate().find_map(|(i, r)| {
            let hit = r
                .when
                .contains
                .as_ref()
                .is_none_or(|c| lower.contains(&c.to_lowercase()))
                && r.when.turn.is_none_or(|t| t == turn)
                && !(r.once && fired.contains(&i));
            hit.then_some((i, &r.action))
        })
    }
}

fn load_wav(path: &Path) -> Result<Vec<i16>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e,
    })?;
    let (rate, pcm) = crate::synth::parse_wav(&bytes)
        .ok_or_else(|| Error::Script(format!("{}: not a mono PCM16 WAV file", path.display())))?;
    Ok(crate::synth::resample(
        &pcm,
        rate,
        crate::synth::OUTPUT_RATE,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let json = r#"{"seed": 7, "rules": [
            {"when": {"contains": "weather"}, "reply": {"tool_calls": [{"name": "get_weather", "args": {"city": "Paris"}}]}},
            {"when": {"turn": 3}, "once": true, "fault": "drop"},
            {"when": {"contains": "crash"}, "fault": {"close": {"code": 1011, "reason": "Internal error encountered."}}},
            {"fault": {"delay_ms": 1500}}]}"#;
        let s = Script::from_json(json, Path::new(".")).unwrap();
        assert_eq!(s.seed, Some(7));
        assert!(matches!(
            s.matching("How is the Weather?", 1, &[]),
            Some((0, Action::Reply(_)))
        ));
        assert_eq!(s.matching("hi", 3, &[]).map(|m| m.0), Some(1));
        assert_eq!(s.matching("hi", 3, &[1]).map(|m| m.0), Some(3));
        assert_eq!(
            s.matching("CRASH now", 1, &[]).unwrap().1,
            &Action::Fault(Fault::Close {
                code: 1011,
                reason: "Internal error encountered.".into()
            })
        );
        assert!(Script::from_json(r#"{"rules": [{"when": {}}]}"#, Path::new(".")).is_err());
        let long = Script::from_json(
            r#"{"rules": [{"reply": {"text": "la", "audio_ms": 14400000}}]}"#,
            Path::new("."),
        )
        .unwrap();
        assert!(matches!(
            long.matching("anything", 1, &[]),
            Some((0, Action::Reply(ScriptReply { audio_len: Some((d, unit)), audio: None, .. })))
                if *d == Duration::from_secs(14_400) && **unit == crate::synth::repeat_unit("la")[..]
        ));
        for bad in [
            r#"{"rules": [{"reply": {"audio_ms": 14400001}}]}"#,
            r#"{"rules": [{"reply": {"audio_ms": 10, "audio_wav": "x.wav"}}]}"#,
        ] {
            assert!(Script::from_json(bad, Path::new(".")).is_err(), "{bad}");
        }
        assert!(Script::from_json(r#"{"rules": [], "extra": 1}"#, Path::new(".")).is_err());
    }
}
