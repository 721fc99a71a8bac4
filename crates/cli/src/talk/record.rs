//! What was heard: the model's audio as it actually played (for `--output` and the right
//! channel of `--record-audio`), and the stereo recording of the conversation.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use audio::{AudioSink, Resampler, SampleRate, WavSink};

/// The rate of the recordings: the model's.
const RATE: SampleRate = SampleRate::LIVE_OUTPUT;

fn frames(d: Duration) -> u64 {
    (d.as_secs_f64() * f64::from(RATE.hz())).round() as u64
}

/// Model audio written to the speaker but not heard yet, released as the speaker's `played`
/// counter advances; a flush drops it.
#[derive(Debug, Default)]
pub(crate) struct Heard {
    pending: VecDeque<i16>,
    /// The speaker's `played`, in frames at 24 kHz, that `pending[0]` starts at.
    base: u64,
}

impl Heard {
    /// Model audio (24 kHz) just written to the speaker, whose `played` is `played`.
    pub(crate) fn push(&mut self, samples: &[i16], played: Duration) {
        if self.pending.is_empty() {
            // Whatever played since was flushed audio or nothing.
            self.base = frames(played);
        }
        self.pending.extend(samples);
    }

    /// The audio heard since the last call, given the speaker's `played`.
    pub(crate) fn take(&mut self, played: Duration) -> Vec<i16> {
        let now = frames(played);
        let n = now.saturating_sub(self.base).min(self.pending.len() as u64) as usize;
        self.base += n as u64;
        self.pending.drain(..n).collect()
    }

    /// Everything still pending (the speaker drained it).
    pub(crate) fn take_all(&mut self) -> Vec<i16> {
        self.base += self.pending.len() as u64;
        self.pending.drain(..).collect()
    }

    /// Barge-in: what was not heard never will be.
    pub(crate) fn flush(&mut self) {
        self.pending.clear();
    }
}

/// One channel of the stereo recording: samples at absolute frame positions.
#[derive(Debug, Default)]
struct Track {
    /// Frame of `buf[0]`.
    start: u64,
    buf: VecDeque<i16>,
}

impl Track {
    /// Puts `samples` at frame `at` (after what the track holds when they overlap).
    fn put(&mut self, at: u64, samples: &[i16]) {
        let end = self.start + self.buf.len() as u64;
        if self.buf.is_empty() && at > self.start {
            self.start = at;
        } else if at > end {
            self.buf.extend(std::iter::repeat_n(0, (at - end) as usize));
        }
        self.buf.extend(samples);
    }

    /// The sample at frame `pos`, the next one to write.
    fn next(&mut self, pos: u64) -> i16 {
        if pos < self.start {
            return 0;
        }
        match self.buf.pop_front() {
            Some(s) => {
                self.start = pos + 1;
                s
            }
            None => {
                self.start = pos + 1;
                0
            }
        }
    }
}

/// The stereo recording (`--record-audio`): the user left, the model right, placed by when
/// they were spoken and heard, written half a second behind.
pub(crate) struct Conversation {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    origin: Instant,
    written: u64,
    user: Track,
    model: Track,
    upsample: Resampler,
    scratch: Vec<f32>,
    last_sync: Instant,
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// How far behind real time the recording is written, so late audio still finds its place.
const LAG: Duration = Duration::from_millis(500);

impl Conversation {
    pub(crate) fn create(path: &Path, origin: Instant) -> Result<Self> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: RATE.hz(),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            origin,
            written: 0,
            user: Track::default(),
            model: Track::default(),
            upsample: Resampler::new(SampleRate::LIVE_INPUT, RATE)?,
            scratch: Vec::new(),
            last_sync: Instant::now(),
        })
    }

    fn position(&self, now: Instant, len: Duration) -> u64 {
        frames(
            now.saturating_duration_since(self.origin)
                .saturating_sub(len),
        )
    }

    /// A chunk of the user's audio (16 kHz) that ends now.
    pub(crate) fn user(&mut self, samples: &[i16], rate: SampleRate, now: Instant) -> Result<()> {
        if rate != self.upsample.from_rate() {
            self.upsample = Resampler::new(rate, RATE)?;
        }
        let mono: Vec<f32> = samples.iter().map(|&s| audio::pcm::i16_to_f32(s)).collect();
        self.scratch.clear();
        self.upsample.process(&mono, &mut self.scratch);
        let pcm: Vec<i16> = self
            .scratch
            .iter()
            .map(|&s| audio::pcm::f32_to_i16(s))
            .collect();
        let at = self.position(now, rate.duration_of(samples.len() as u64));
        self.user.put(at, &pcm);
        Ok(())
    }

    /// Model audio (24 kHz) whose playing ended now.
    pub(crate) fn model(&mut self, samples: &[i16], now: Instant) {
        let at = self.position(now, RATE.duration_of(samples.len() as u64));
        self.model.put(at, samples);
    }

    /// Writes what is at least [`LAG`] old (everything when `all`).
    pub(crate) fn write(&mut self, now: Instant, all: bool) -> Result<()> {
        let upto = if all {
            let user_end = self.user.start + self.user.buf.len() as u64;
            let model_end = self.model.start + self.model.buf.len() as u64;
            user_end.max(model_end)
        } else {
            self.position(now, LAG)
        };
        while self.written < upto {
            let l = self.user.next(self.written);
            let r = self.model.next(self.written);
            self.writer.write_sample(l)?;
            self.writer.write_sample(r)?;
            self.written += 1;
        }
        if self.last_sync.elapsed() >= Duration::from_secs(1) {
            self.writer.flush()?;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Writes the rest and finalizes the file; returns its path and length.
    pub(crate) fn finish(mut self, now: Instant) -> Result<(PathBuf, Duration)> {
        self.write(now, true)?;
        self.writer
            .finalize()
            .with_context(|| format!("cannot finish {}", self.path.display()))?;
        Ok((self.path, RATE.duration_of(self.written)))
    }
}

/// The `--output` WAV: the model's speech as heard.
pub(crate) fn create_output(path: &Path) -> Result<WavSink<BufWriter<File>>> {
    WavSink::create(path, RATE).with_context(|| format!("cannot create {}", path.display()))
}

/// Writes heard audio to the `--output` WAV.
pub(crate) fn write_output(sink: &mut WavSink<BufWriter<File>>, samples: &[i16]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    sink.write(RATE, samples)
        .context("cannot write the output WAV")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heard_follows_the_played_counter_and_forgets_flushed_audio() {
        let mut heard = Heard::default();
        heard.push(&[1; 2400], Duration::ZERO);
        assert_eq!(heard.take(Duration::from_millis(50)).len(), 1200);
        heard.flush();
        // The speaker went on a little after the flush; the next reply starts from there.
        heard.push(&[2; 480], Duration::from_millis(60));
        let got = heard.take(Duration::from_millis(70));
        assert_eq!(got, vec![2; 240]);
        assert_eq!(heard.take_all(), vec![2; 240]);
    }

    #[test]
    fn tracks_place_audio_in_time() {
        let mut t = Track::default();
        t.put(10, &[5, 6]);
        t.put(14, &[7]);
        let got: Vec<i16> = (0..16).map(|p| t.next(p)).collect();
        assert_eq!(got, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 0]);
    }
}
