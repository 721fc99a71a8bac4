//! Voice activity detection with earshot (feature `vad`), for instant local
//! barge-in and for sending `activityStart`/`activityEnd` when the server's
//! automatic detection is off.

use std::time::Duration;

use crate::{Chunk, Error, SampleRate};

/// A change of [`VoiceDetector::is_speaking`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceEvent {
    /// Speech began (flush playback, send `activityStart`).
    SpeechStarted,
    /// Speech ended after the hangover (send `activityEnd`).
    SpeechEnded,
}

/// earshot's detector with hysteresis: speech starts after `attack`
/// consecutive voiced frames and ends after `hangover` of unvoiced ones.
///
/// The defaults (threshold 0.6, attack 48 ms) ignore the burst of 0.5 to
/// 0.63 scores a cold detector gives at the onset of steady noise.
/// Works on 16 kHz audio in frames of 256 samples (16 ms).
pub struct VoiceDetector {
    detector: Box<earshot::Detector>,
    frame: Vec<i16>,
    threshold: f32,
    attack: u32,
    hangover: u32,
    voiced_run: u32,
    silent_run: u32,
    speaking: bool,
    last_score: f32,
}

impl std::fmt::Debug for VoiceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceDetector")
            .field("threshold", &self.threshold)
            .field("speaking", &self.speaking)
            .field("last_score", &self.last_score)
            .finish_non_exhaustive()
    }
}

impl Default for VoiceDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceDetector {
    /// The only rate earshot supports.
    pub const RATE: SampleRate = SampleRate::LIVE_INPUT;
    /// Samples per detector frame.
    pub const FRAME: usize = 256;

    /// Threshold 0.6, attack 3 frames (48 ms), hangover 300 ms.
    pub fn new() -> Self {
        Self {
            detector: Box::default(),
            frame: Vec::with_capacity(Self::FRAME),
            threshold: 0.6,
            attack: 3,
            hangover: Self::frames(Duration::from_millis(300)),
            voiced_run: 0,
            silent_run: 0,
            speaking: false,
            last_score: 0.0,
        }
    }

    fn frames(d: Duration) -> u32 {
        (Self::RATE.frames_in(d) / Self::FRAME).max(1) as u32
    }

    /// Score (0 to 1) above which a frame counts as voiced.
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Voiced time needed to start speech.
    pub fn with_attack(mut self, attack: Duration) -> Self {
        self.attack = Self::frames(attack);
        self
    }

    /// Unvoiced time needed to end speech.
    pub fn with_hangover(mut self, hangover: Duration) -> Self {
        self.hangover = Self::frames(hangover);
        self
    }

    /// Whether speech is going on.
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// The score of the last full frame.
    pub fn last_score(&self) -> f32 {
        self.last_score
    }

    /// Forgets all state (new stream or device).
    pub fn reset(&mut self) {
        self.detector.reset();
        self.frame.clear();
        self.voiced_run = 0;
        self.silent_run = 0;
        self.speaking = false;
    }

    /// Feeds a 16 kHz chunk; returns the change of [`Self::is_speaking`]
    /// over the chunk, if any.
    pub fn process(&mut self, chunk: &Chunk) -> Result<Option<VoiceEvent>, Error> {
        if chunk.rate != Self::RATE {
            return Err(Error::RateMismatch {
                expected: Self::RATE,
                got: chunk.rate,
            });
        }
        let before = self.speaking;
        let mut rest = &chunk.samples[..];
        while !rest.is_empty() {
            let take = (Self::FRAME - self.frame.len()).min(rest.len());
            self.frame.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.frame.len() == Self::FRAME {
                self.last_score = self.detector.predict_i16(&self.frame);
                self.frame.clear();
                self.step(self.last_score >= self.threshold);
            }
        }
        Ok(match (before, self.speaking) {
            (false, true) => Some(VoiceEvent::SpeechStarted),
            (true, false) => Some(VoiceEvent::SpeechEnded),
            _ => None,
        })
    }

    fn step(&mut self, voiced: bool) {
        if voiced {
            self.voiced_run += 1;
            self.silent_run = 0;
            if self.voiced_run >= self.attack {
                self.speaking = true;
            }
        } else {
            self.silent_run += 1;
            self.voiced_run = 0;
            if self.silent_run >= self.hangover {
                self.speaking = false;
            }
        }
    }
}
