//! Token accounting: usage per turn, the context window, the reply cap. The history's token
//! counts are kept as it changes, so a flood of tiny turns costs no more per turn than one.

use std::time::{Duration, Instant};

use super::{Engine, Usage};
use crate::close::Close;
use crate::responder::{self, Role, Turn};

/// Audio tokens per second (input and output), as Google counts them.
pub(super) const AUDIO_TOKENS_PER_SEC: f64 = 25.0;
/// Tokens per video frame (MEDIA_RESOLUTION_MEDIUM).
const VIDEO_FRAME_TOKENS: i64 = 258;

pub(super) fn text_tokens(s: &str) -> i64 {
    (s.chars().count() as i64 + 3) / 4
}

pub(super) fn audio_tokens(d: Duration) -> i64 {
    (d.as_secs_f64() * AUDIO_TOKENS_PER_SEC).round() as i64
}

/// Text and audio tokens of some turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HistoryTokens {
    text: i64,
    audio: i64,
}

impl HistoryTokens {
    pub(super) fn of(history: &[Turn]) -> Self {
        let mut t = Self::default();
        for turn in history {
            t.add(turn, 1);
        }
        t
    }

    fn add(&mut self, turn: &Turn, sign: i64) {
        match responder::speech_secs(&turn.text) {
            Some(secs) => self.audio += sign * audio_tokens(Duration::from_secs_f64(secs)),
            None => self.text += sign * text_tokens(&turn.text),
        }
    }
}

impl Engine {
    /// Adds a turn to the history.
    pub(super) fn remember(&mut self, turn: Turn) {
        self.history_tokens.add(&turn, 1);
        self.mem.history.push(turn);
    }

    fn forget_oldest(&mut self) {
        if !self.mem.history.is_empty() {
            let turn = self.mem.history.remove(0);
            self.history_tokens.add(&turn, -1);
        }
    }

    pub(super) fn usage(&self, response: i64, response_audio: bool) -> Usage {
        let mut u = Usage {
            response,
            response_audio,
            prompt_text: self.history_tokens.text,
            prompt_audio: self.history_tokens.audio,
            ..Usage::default()
        };
        if let Some(si) = &self.setup.system_instruction {
            u.prompt_text += text_tokens(si);
        }
        u.prompt_image = self.mem.video_frames as i64 * VIDEO_FRAME_TOKENS;
        u
    }

    fn prompt_tokens(&self) -> i64 {
        let u = self.usage(0, false);
        u.prompt_text + u.prompt_audio + u.prompt_image
    }

    /// Context accounting before a generation: slide the window when compression is on,
    /// otherwise refuse once the context limit is exceeded.
    pub(super) fn fit_context(&mut self, now: Instant) -> bool {
        let total = self.prompt_tokens();
        match self.setup.compression {
            Some((trigger, target)) if total > trigger => {
                while self.prompt_tokens() > target && self.mem.history.len() > 1 {
                    self.forget_oldest();
                    while self.mem.history.len() > 1 && self.mem.history[0].role != Role::User {
                        self.forget_oldest();
                    }
                }
                true
            }
            None if total > self.setup.context_limit => {
                self.close(now, Close::invalid_argument());
                false
            }
            _ => true,
        }
    }

    /// The longest start of `text` a reply may say within the output token limit (counted as
    /// audio when it is spoken).
    pub(super) fn capped(&self, text: String, spoken: bool) -> String {
        let max = self.setup.max_output_tokens;
        let cost = |s: &str| {
            if spoken {
                audio_tokens(crate::synth::synthetic_duration(s))
            } else {
                text_tokens(s)
            }
        };
        if cost(&text) <= max {
            return text;
        }
        let mut used = 0;
        let mut end = 0;
        for (i, word) in text.split_inclusive(' ').scan(0, |pos, w| {
            let start = *pos;
            *pos += w.len();
            Some((start, w))
        }) {
            used += cost(word);
            if used > max {
                break;
            }
            end = i + word.len();
        }
        text[..end].trim_end().to_owned()
    }
}
