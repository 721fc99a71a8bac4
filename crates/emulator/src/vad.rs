//! Energy-based voice activity detection on incoming PCM16 (16 kHz native; any stated rate works).

use std::time::Duration;

/// VAD tuning derived from `realtimeInputConfig.automaticActivityDetection`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VadConfig {
    /// A 20 ms frame louder than this (dBFS) is speech.
    pub(crate) start_db: f64,
    /// While in speech, a frame quieter than this (dBFS) counts as silence.
    pub(crate) end_db: f64,
    /// Speech needed before the start is committed.
    pub(crate) prefix: Duration,
    /// Silence needed before the end is committed.
    pub(crate) silence: Duration,
}

impl VadConfig {
    /// `start_high`: START_SENSITIVITY_HIGH (detects starts more often); `end_high`: END_SENSITIVITY_HIGH
    /// (ends speech more often).
    pub(crate) fn new(
        start_high: bool,
        end_high: bool,
        prefix_ms: Option<u32>,
        silence_ms: Option<u32>,
    ) -> Self {
        Self {
            start_db: if start_high { -45.0 } else { -35.0 },
            end_db: if end_high { -40.0 } else { -52.0 },
            prefix: Duration::from_millis(u64::from(prefix_ms.unwrap_or(if start_high {
                20
            } else {
                100
            }))),
            silence: Duration::from_millis(u64::from(silence_ms.unwrap_or(if end_high {
                500
            } else {
                1000
            }))),
        }
    }
}

/// Speech boundaries, as offsets into the audio this detector has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VadEvent {
    Start { offset: Duration },
    End { offset: Duration, speech: Duration },
}

#[derive(Debug)]
pub(crate) struct Vad {
    cfg: VadConfig,
    pending: Vec<i16>,
    pending_rate: u32,
    /// Audio consumed so far.
    seen: Duration,
    voiced_run: Duration,
    silence_run: Duration,
    /// Start offset of the current speech, once committed.
    speech_start: Option<Duration>,
}

const FRAME: Duration = Duration::from_millis(20);

impl Vad {
    pub(crate) fn new(cfg: VadConfig) -> Self {
        Self {
            cfg,
            pending: Vec::new(),
            pending_rate: 16_000,
            seen: Duration::ZERO,
            voiced_run: Duration::ZERO,
            silence_run: Duration::ZERO,
            speech_start: None,
        }
    }

    /// Feeds PCM16 samples at `rate` Hz.
    pub(crate) fn push(&mut self, pcm: &[i16], rate: u32) -> Vec<VadEvent> {
        if rate != self.pending_rate {
            self.pending.clear();
            self.pending_rate = rate.max(1);
        }
        let frame_len = (self.pending_rate / 50).max(1) as usize;
        self.pending.extend_from_slice(pcm);
        let mut events = Vec::new();
        let mut consumed = 0;
        while self.pending.len() - consumed >= frame_len {
            let frame = &self.pending[consumed..consumed + frame_len];
            consumed += frame_len;
            let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            let rms = (sum / frame_len as f64).sqrt();
            let db = 20.0 * (rms.max(1e-9) / 32768.0).log10();
            events.extend(self.frame(db));
        }
        self.pending.drain(..consumed);
        events
    }

    fn frame(&mut self, db: f64) -> Option<VadEvent> {
        self.seen += FRAME;
        match self.speech_start {
            None => {
                if db >= self.cfg.start_db {
                    self.voiced_run += FRAME;
                    if self.voiced_run >= self.cfg.prefix.max(FRAME) {
                        let start = self.seen - self.voiced_run;
                        self.speech_start = Some(start);
                        self.silence_run = Duration::ZERO;
                        return Some(VadEvent::Start { offset: start });
                    }
                } else {
                    self.voiced_run = Duration::ZERO;
                }
                None
            }
            Some(start) => {
                if db < self.cfg.end_db {
                    self.silence_run += FRAME;
                    if self.silence_run >= self.cfg.silence {
                        return self.end(start);
                    }
                } else {
                    self.silence_run = Duration::ZERO;
                }
                None
            }
        }
    }

    fn end(&mut self, start: Duration) -> Option<VadEvent> {
        let end = self.seen - self.silence_run;
        self.speech_start = None;
        self.voiced_run = Duration::ZERO;
        self.silence_run = Duration::ZERO;
        Some(VadEvent::End {
            offset: end,
            speech: end.saturating_sub(start),
        })
    }

    /// `audioStreamEnd`: ends the current speech now, if any.
    pub(crate) fn flush(&mut self) -> Option<VadEvent> {
        self.pending.clear();
        let start = self.speech_start?;
        self.end(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: u32, amp: f64) -> Vec<i16> {
        (0..16 * ms)
            .map(|i| ((f64::from(i) * 0.2).sin() * amp * 32767.0) as i16)
            .collect()
    }

    #[test]
    fn finds_start_and_end_with_the_configured_silence() {
        let mut vad = Vad::new(VadConfig::new(true, true, Some(40), Some(300)));
        let mut ev = vad.push(&tone(500, 0.0), 16_000);
        ev.extend(vad.push(&tone(1000, 0.3), 16_000));
        assert_eq!(
            ev,
            vec![VadEvent::Start {
                offset: Duration::from_millis(500)
            }]
        );
        assert!(
            vad.push(&tone(200, 0.0), 16_000).is_empty(),
            "200 ms of silence is below the 300 ms setting"
        );
        let ev = vad.push(&tone(200, 0.0), 16_000);
        assert_eq!(
            ev,
            vec![VadEvent::End {
                offset: Duration::from_millis(1500),
                speech: Duration::from_millis(1000)
            }]
        );
    }

    #[test]
    fn sensitivity_changes_what_counts_as_speech() {
        let quiet = tone(400, 0.02); // about -37 dBFS
        let mut high = Vad::new(VadConfig::new(true, true, None, None));
        assert!(!high.push(&quiet, 16_000).is_empty());
        let mut low = Vad::new(VadConfig::new(false, true, None, None));
        assert!(low.push(&quiet, 16_000).is_empty());
        let mut flushing = Vad::new(VadConfig::new(true, false, None, None));
        flushing.push(&tone(300, 0.3), 16_000);
        assert!(matches!(flushing.flush(), Some(VadEvent::End { .. })));
        assert_eq!(flushing.flush(), None);
    }
}
