//! Voice activity detection on incoming PCM16 (16 kHz native; any stated rate works).
//!
//! Energy in 20 ms frames, judged against the noise floor measured so far, not against fixed
//! levels: real microphones hiss. The floor is a low percentile of the last two seconds of frames
//! outside speech; it falls at once and rises slowly, so that speech at the very start of a
//! stream is not taken for the floor. Speech starts after a run of voiced frames long enough to
//! rule out clicks and breaths (`prefixPaddingMs`), and ends after a run of frames back near the
//! floor (`silenceDurationMs`). The caller ends speech when the audio stream stops
//! ([`Vad::silence_left`]) or ends (`audioStreamEnd`, [`Vad::flush`]).
//!
//! Tuned on the SDK test clip of the conformance corpus (noise blips of 20 to 100 ms around
//! -40 dBFS over a -53 dBFS floor are not speech) and on espeak-ng speech with noise from
//! -90 to -40 dBFS (`tests/vad.rs`).

use std::collections::VecDeque;
use std::time::Duration;

/// VAD tuning derived from `realtimeInputConfig.automaticActivityDetection`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VadConfig {
    /// A frame this far above the noise floor (dB) is voiced...
    pub(crate) start_margin_db: f64,
    /// ...if it is at least this loud (dBFS).
    pub(crate) start_min_db: f64,
    /// While in speech, a frame less than this far above the noise floor (dB) is silence.
    pub(crate) end_margin_db: f64,
    /// Voiced audio needed before the start is committed.
    pub(crate) prefix: Duration,
    /// Silence needed before the end is committed.
    pub(crate) silence: Duration,
}

impl VadConfig {
    /// `start_high`: START_SENSITIVITY_HIGH (detects starts more often); `end_high`:
    /// END_SENSITIVITY_HIGH (ends speech more often).
    pub(crate) fn new(
        start_high: bool,
        end_high: bool,
        prefix_ms: Option<u32>,
        silence_ms: Option<u32>,
    ) -> Self {
        let default_prefix = if start_high { 160 } else { 240 };
        let default_silence = if end_high { 500 } else { 1000 };
        Self {
            start_margin_db: if start_high { 10.0 } else { 12.0 },
            start_min_db: if start_high { -45.0 } else { -40.0 },
            end_margin_db: if end_high { 12.0 } else { 9.0 },
            prefix: Duration::from_millis(u64::from(prefix_ms.unwrap_or(default_prefix))),
            silence: Duration::from_millis(u64::from(silence_ms.unwrap_or(default_silence))),
        }
    }
}

/// Speech boundaries, as offsets into the audio this detector has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VadEvent {
    Start { offset: Duration },
    End { offset: Duration, speech: Duration },
}

const FRAME: Duration = Duration::from_millis(20);
/// Frames outside speech the noise floor is measured over (2 s).
const FLOOR_FRAMES: usize = 100;
/// The floor follows this percentile of those frames...
const FLOOR_PERCENTILE: usize = 10;
/// ...falling at once, rising by at most this much per frame (15 dB/s).
const FLOOR_RISE_DB: f64 = 0.3;
/// Quieter frames count as this level for the floor (digital silence is not a noise floor).
const FLOOR_MIN_DB: f64 = -75.0;
/// The floor assumed before any audio was measured.
const FLOOR_START_DB: f64 = -60.0;
/// Unvoiced frames a voiced run survives (the gaps between syllables).
const RUN_GAP: u32 = 2;

#[derive(Debug)]
pub(crate) struct Vad {
    cfg: VadConfig,
    pending: Vec<i16>,
    pending_rate: u32,
    /// Audio consumed so far.
    seen: Duration,
    /// Levels (dB) of recent frames outside speech.
    floor_frames: VecDeque<f64>,
    floor_db: f64,
    /// The current voiced run before a start: its start and its voiced length.
    run: Option<(Duration, Duration)>,
    gap: u32,
    silence_run: Duration,
    /// Start offset of the current speech, once committed.
    speech_start: Option<Duration>,
}

impl Vad {
    pub(crate) fn new(cfg: VadConfig) -> Self {
        Self {
            cfg,
            pending: Vec::new(),
            pending_rate: 16_000,
            seen: Duration::ZERO,
            floor_frames: VecDeque::with_capacity(FLOOR_FRAMES),
            floor_db: FLOOR_START_DB,
            run: None,
            gap: 0,
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
        let mut events = Vec::new();
        let mut rest = pcm;
        if !self.pending.is_empty() {
            let need = frame_len - self.pending.len();
            let (head, tail) = rest.split_at(need.min(rest.len()));
            self.pending.extend_from_slice(head);
            rest = tail;
            if self.pending.len() < frame_len {
                return events;
            }
            let frame = std::mem::take(&mut self.pending);
            events.extend(self.frame(level_db(&frame)));
        }
        let mut frames = rest.chunks_exact(frame_len);
        for frame in frames.by_ref() {
            events.extend(self.frame(level_db(frame)));
        }
        self.pending.extend_from_slice(frames.remainder());
        events
    }

    /// In speech: how much more silence ends it. The caller counts time without audio as
    /// silence, so that speech ends when the stream stops, as it does for Google.
    pub(crate) fn silence_left(&self) -> Option<Duration> {
        self.speech_start
            .map(|_| self.cfg.silence.saturating_sub(self.silence_run))
    }

    fn frame(&mut self, db: f64) -> Option<VadEvent> {
        let frame_start = self.seen;
        self.seen += FRAME;
        let Some(start) = self.speech_start else {
            self.measure_floor(db);
            let voiced =
                db >= (self.floor_db + self.cfg.start_margin_db).max(self.cfg.start_min_db);
            if voiced {
                self.gap = 0;
                let (run_start, voiced_len) = self.run.get_or_insert((frame_start, Duration::ZERO));
                *voiced_len += FRAME;
                if *voiced_len >= self.cfg.prefix.max(FRAME) {
                    let start = *run_start;
                    self.run = None;
                    self.speech_start = Some(start);
                    self.silence_run = Duration::ZERO;
                    return Some(VadEvent::Start { offset: start });
                }
            } else {
                self.gap += 1;
                if self.gap > RUN_GAP {
                    self.run = None;
                }
            }
            return None;
        };
        if db < self.floor_db + self.cfg.end_margin_db {
            self.silence_run += FRAME;
            if self.silence_run >= self.cfg.silence {
                return self.end(start);
            }
        } else {
            self.silence_run = Duration::ZERO;
        }
        None
    }

    fn measure_floor(&mut self, db: f64) {
        if self.floor_frames.len() == FLOOR_FRAMES {
            self.floor_frames.pop_front();
        }
        self.floor_frames.push_back(db.max(FLOOR_MIN_DB));
        let mut sorted: Vec<f64> = self.floor_frames.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let target = sorted[(sorted.len() - 1) * FLOOR_PERCENTILE / 100];
        self.floor_db = if target < self.floor_db {
            target
        } else {
            target.min(self.floor_db + FLOOR_RISE_DB)
        };
    }

    fn end(&mut self, start: Duration) -> Option<VadEvent> {
        let end = self.seen.saturating_sub(self.silence_run);
        self.speech_start = None;
        self.run = None;
        self.gap = 0;
        self.silence_run = Duration::ZERO;
        Some(VadEvent::End {
            offset: end,
            speech: end.saturating_sub(start),
        })
    }

    /// The stream ended (`audioStreamEnd`) or stopped: ends the current speech now, if any.
    pub(crate) fn flush(&mut self) -> Option<VadEvent> {
        self.pending.clear();
        self.run = None;
        let start = self.speech_start?;
        self.end(start)
    }
}

/// RMS level of a frame in dBFS.
fn level_db(frame: &[i16]) -> f64 {
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / frame.len().max(1) as f64).sqrt();
    20.0 * (rms.max(1e-9) / 32768.0).log10()
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
        assert_eq!(vad.silence_left(), Some(Duration::from_millis(100)));
        let ev = vad.push(&tone(200, 0.0), 16_000);
        assert_eq!(
            ev,
            vec![VadEvent::End {
                offset: Duration::from_millis(1500),
                speech: Duration::from_millis(1000)
            }]
        );
        assert_eq!(vad.silence_left(), None);
    }

    #[test]
    fn sensitivity_changes_what_counts_as_speech() {
        let quiet = tone(400, 0.008); // about -45 dBFS
        let mut high = Vad::new(VadConfig::new(true, true, None, None));
        assert!(!high.push(&quiet, 16_000).is_empty());
        let mut low = Vad::new(VadConfig::new(false, true, None, None));
        assert!(low.push(&quiet, 16_000).is_empty());
        let mut flushing = Vad::new(VadConfig::new(true, false, None, None));
        flushing.push(&tone(300, 0.3), 16_000);
        assert!(matches!(flushing.flush(), Some(VadEvent::End { .. })));
        assert_eq!(flushing.flush(), None);
    }

    #[test]
    fn clicks_are_not_speech_and_frames_may_straddle_pushes() {
        let mut vad = Vad::new(VadConfig::new(true, true, None, None));
        let mut audio = tone(400, 0.001);
        audio.extend(tone(100, 0.3));
        audio.extend(tone(400, 0.001));
        for piece in audio.chunks(333) {
            assert!(vad.push(piece, 16_000).is_empty(), "a 100 ms click");
        }
        let speech = tone(600, 0.3);
        let events: Vec<VadEvent> = speech
            .chunks(333)
            .flat_map(|p| vad.push(p, 16_000))
            .collect();
        assert_eq!(
            events,
            vec![VadEvent::Start {
                offset: Duration::from_millis(900)
            }]
        );
    }
}
