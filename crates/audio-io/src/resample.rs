//! Streaming resampling with rubato's synchronous FFT resampler.
//!
//! Measured on the project's CI machine (see the audio guide): rubato `Fft`
//! runs thousands of times faster than real time, adds 5 ms of latency and
//! has over 150 dB of alias rejection. It only ever runs in worker or caller
//! threads, never in an audio callback.

use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler as _};

use crate::{Error, SampleRate};

/// Converts a mono `f32` stream from one rate to another, in pieces of any
/// length.
///
/// The output is aligned with the input (the filter delay is trimmed), and
/// after [`Resampler::finish`] exactly `ceil(n_in * to / from)` samples have
/// come out for `n_in` in. Once its internal buffers are warm, `process` does
/// not allocate as long as `out` has spare capacity. Equal rates pass through
/// with no filtering.
///
/// Samples are full-scale `f32`: NaN and infinities (a corrupt float WAV, a
/// misbehaving device) come out as silence, and values beyond ±1.0 are clipped
/// on the way in, as the conversion to PCM16 would clip them anyway. Nothing
/// in the input can make the FFT fail.
pub struct Resampler {
    from: SampleRate,
    to: SampleRate,
    fft: Option<Box<Fft<f32>>>,
    /// One rubato input chunk (10 ms at `from`), filled up to `in_len`.
    in_buf: Vec<f32>,
    in_len: usize,
    out_buf: Vec<f32>,
    to_trim: usize,
    total_in: u64,
    total_out: u64,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("latency", &self.latency())
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .finish()
    }
}

impl Resampler {
    /// A resampler from `from` to `to`.
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, Error> {
        let chunk = (from.hz() as usize / 100).max(1);
        let fft = if from == to {
            None
        } else {
            let fft = Fft::<f32>::new(
                from.hz() as usize,
                to.hz() as usize,
                chunk,
                1,
                FixedSync::Input,
            )
            .map_err(|e| Error::Resampler {
                from,
                to,
                reason: e.to_string(),
            })?;
            Some(Box::new(fft))
        };
        let (out_len, to_trim) = fft
            .as_ref()
            .map_or((0, 0), |f| (f.output_frames_max(), f.output_delay()));
        Ok(Self {
            from,
            to,
            fft,
            in_buf: vec![0.0; chunk],
            in_len: 0,
            out_buf: vec![0.0; out_len],
            to_trim,
            total_in: 0,
            total_out: 0,
        })
    }

    /// Input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// Output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// How long an input sample takes to come out (0 when passing through).
    pub fn latency(&self) -> Duration {
        match &self.fft {
            None => Duration::ZERO,
            Some(f) => self.to.duration_of(f.output_delay() as u64),
        }
    }

    /// Resamples `input`, appending what is ready to `out`.
    pub fn process(&mut self, mut input: &[f32], out: &mut Vec<f32>) {
        self.total_in += input.len() as u64;
        if self.fft.is_none() {
            out.extend(input.iter().map(|&s| full_scale(s)));
            self.total_out += input.len() as u64;
            return;
        }
        while !input.is_empty() {
            let take = (self.in_buf.len() - self.in_len).min(input.len());
            for (to, &from) in self.in_buf[self.in_len..self.in_len + take]
                .iter_mut()
                .zip(input)
            {
                *to = full_scale(from);
            }
            self.in_len += take;
            input = &input[take..];
            if self.in_len == self.in_buf.len() {
                self.run_chunk(None, u64::MAX, out);
                self.in_len = 0;
            }
        }
    }

    /// Flushes the input still buffered and the filter tail into `out`, then
    /// resets, ready for an unrelated stream.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        if self.fft.is_some() {
            let expected =
                (self.total_in * u64::from(self.to.hz())).div_ceil(u64::from(self.from.hz()));
            if self.in_len > 0 {
                self.run_chunk(Some(self.in_len), expected, out);
            }
            while self.total_out < expected {
                self.run_chunk(Some(0), expected, out);
            }
        }
        self.reset();
    }

    /// Drops all buffered input and filter state (e.g. on barge-in).
    pub fn reset(&mut self) {
        if let Some(f) = &mut self.fft {
            f.reset();
            self.to_trim = f.output_delay();
        }
        self.in_len = 0;
        self.total_in = 0;
        self.total_out = 0;
    }

    /// Runs one rubato chunk; appends at most `limit - total_out` samples.
    fn run_chunk(&mut self, partial: Option<usize>, limit: u64, out: &mut Vec<f32>) {
        let Some(fft) = self.fft.as_mut() else {
            return;
        };
        let frames_in = self.in_buf.len();
        let frames_out = self.out_buf.len();
        let (Ok(input), Ok(mut output)) = (
            InterleavedSlice::new(&self.in_buf[..], 1, frames_in),
            InterleavedSlice::new_mut(&mut self.out_buf[..], 1, frames_out),
        ) else {
            unreachable!("buffers are sized from the resampler's own figures")
        };
        let indexing = partial.map(|n| Indexing {
            partial_len: Some(n),
            ..Indexing::default()
        });
        let produced = match fft.process_into_buffer(&input, &mut output, indexing.as_ref()) {
            Ok((_, produced)) => produced,
            Err(e) => unreachable!("rubato rejected buffers sized from its own figures: {e}"),
        };
        let trim = self.to_trim.min(produced);
        self.to_trim -= trim;
        let room = limit.saturating_sub(self.total_out) as usize;
        let valid = &self.out_buf[trim..produced];
        let valid = &valid[..valid.len().min(room)];
        out.extend_from_slice(valid);
        self.total_out += valid.len() as u64;
    }
}

/// `s` within full scale: NaN and infinities become silence (rubato's FFT
/// fails on them, and on sums that overflow to them), the rest is clipped to ±1.
#[inline]
fn full_scale(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Resamples a whole clip.
pub fn resample_all(input: &[f32], from: SampleRate, to: SampleRate) -> Result<Vec<f32>, Error> {
    let mut r = Resampler::new(from, to)?;
    let mut out = Vec::with_capacity(
        (input.len() as u64 * u64::from(to.hz()) / u64::from(from.hz())) as usize + 16,
    );
    r.process(input, &mut out);
    r.finish(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    fn rate(hz: u32) -> SampleRate {
        SampleRate::new(hz).unwrap()
    }

    fn tone(freq: f32, rate: SampleRate, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (TAU * freq * i as f32 / rate.hz() as f32).sin())
            .collect()
    }

    /// Power of `freq` in `x` (Goertzel), normalised so a full-scale sine gives 0.25.
    fn goertzel(x: &[f32], freq: f32, rate: SampleRate) -> f32 {
        let w = TAU * freq / rate.hz() as f32;
        let c = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &v in x {
            let s = v + c * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - c * s1 * s2;
        p / (x.len() as f32 * x.len() as f32)
    }

    fn db(p: f32, reference: f32) -> f32 {
        10.0 * (p / reference).log10()
    }

    #[test]
    fn output_length_is_exact_for_any_split() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (24_000, 48_000),
            (24_000, 44_100),
            (8_000, 16_000),
            (22_050, 16_000),
        ] {
            let (from, to) = (rate(from), rate(to));
            for n in [1usize, 17, 441, 4_800, 12_345] {
                let input = tone(440.0, from, n);
                let mut r = Resampler::new(from, to).unwrap();
                let mut out = Vec::new();
                for piece in input.chunks(97) {
                    r.process(piece, &mut out);
                }
                r.finish(&mut out);
                let expected = (n as u64 * u64::from(to.hz())).div_ceil(u64::from(from.hz()));
                assert_eq!(out.len() as u64, expected, "{from} -> {to}, n={n}");
            }
        }
    }

    #[test]
    fn tone_keeps_its_frequency_and_level() {
        let from = rate(48_000);
        let to = SampleRate::LIVE_INPUT;
        let out = resample_all(&tone(1_000.0, from, 48_000), from, to).unwrap();
        assert_eq!(out.len(), 16_000);
        // Skip the edges, measure the middle.
        let mid = &out[1_600..14_400];
        let at_1k = goertzel(mid, 1_000.0, to);
        let full = 0.25 * 0.25; // 0.5 amplitude
        assert!(
            db(at_1k, full).abs() < 0.5,
            "1 kHz level {} dB",
            db(at_1k, full)
        );
        for f in [900.0, 1_100.0, 3_000.0, 5_000.0] {
            assert!(db(goertzel(mid, f, to), at_1k) < -40.0, "leak at {f} Hz");
        }
        // Zero crossings: 2 per period.
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let freq = crossings as f32 / 2.0 / (mid.len() as f32 / to.hz() as f32);
        assert!((freq - 1_000.0).abs() < 2.0, "measured {freq} Hz");
    }

    #[test]
    fn no_alias_when_downsampling() {
        // 10 kHz at 48 kHz is above 8 kHz Nyquist: it must not fold to 6 kHz.
        let from = rate(48_000);
        let to = SampleRate::LIVE_INPUT;
        let out = resample_all(&tone(10_000.0, from, 48_000), from, to).unwrap();
        let mid = &out[1_600..14_400];
        assert!(db(goertzel(mid, 6_000.0, to), 0.0625) < -90.0);
    }

    #[test]
    fn upsampled_reply_keeps_tone() {
        let from = SampleRate::LIVE_OUTPUT;
        let to = rate(48_000);
        let out = resample_all(&tone(440.0, from, 24_000), from, to).unwrap();
        assert_eq!(out.len(), 48_000);
        let mid = &out[4_800..43_200];
        assert!(db(goertzel(mid, 440.0, to), 0.0625).abs() < 0.5);
        assert!(
            db(goertzel(mid, 23_560.0, to), 0.0625) < -90.0,
            "image at 24 kHz - 440 Hz"
        );
    }

    #[test]
    fn latency_is_about_5_ms_and_alignment_holds() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (24_000, 48_000),
            (24_000, 44_100),
        ] {
            let r = Resampler::new(rate(from), rate(to)).unwrap();
            let l = r.latency();
            println!("{from} -> {to}: latency {l:?}");
            assert!(
                l > Duration::from_millis(2) && l < Duration::from_millis(8),
                "{from}->{to}: {l:?}"
            );
        }
        // An impulse at input sample 4800 (100 ms) comes out at 100 ms.
        let from = rate(48_000);
        let to = SampleRate::LIVE_INPUT;
        let mut x = vec![0.0; 9_600];
        x[4_800] = 1.0;
        let out = resample_all(&x, from, to).unwrap();
        let peak = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0;
        assert!((1_599..=1_601).contains(&peak), "peak at {peak}");
    }

    #[test]
    fn passthrough_and_reset() {
        let r16 = SampleRate::LIVE_INPUT;
        let mut r = Resampler::new(r16, r16).unwrap();
        let mut out = Vec::new();
        r.process(&[0.1, 0.2], &mut out);
        r.finish(&mut out);
        assert_eq!(out, [0.1, 0.2]);
        assert_eq!(r.latency(), Duration::ZERO);

        let mut r = Resampler::new(SampleRate::LIVE_OUTPUT, rate(48_000)).unwrap();
        let mut out = Vec::new();
        r.process(&[0.5; 1_000], &mut out);
        r.reset();
        out.clear();
        r.process(&[0.0; 240], &mut out);
        r.finish(&mut out);
        assert_eq!(out.len(), 480);
        assert!(out.iter().all(|s| s.abs() < 1e-6), "state survived reset");
    }

    #[test]
    fn non_finite_and_huge_samples_are_silence_and_full_scale() {
        for (from, to) in [(44_100, 16_000), (16_000, 16_000), (24_000, 48_000)] {
            let (from, to) = (rate(from), rate(to));
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -1e38] {
                let input: Vec<f32> = (0..4_410)
                    .map(|i| if i % 3 == 0 { bad } else { 0.1 })
                    .collect();
                let out = resample_all(&input, from, to).unwrap();
                let expected = (4_410 * u64::from(to.hz())).div_ceil(u64::from(from.hz()));
                assert_eq!(out.len() as u64, expected, "{from} -> {to}, {bad}");
                assert!(
                    out.iter().all(|s| s.is_finite() && s.abs() < 2.0),
                    "{from} -> {to}, {bad}"
                );
            }
        }
    }

    #[test]
    fn steady_state_does_not_grow_buffers() {
        let mut r = Resampler::new(rate(48_000), SampleRate::LIVE_INPUT).unwrap();
        let input = tone(300.0, rate(48_000), 480);
        let mut out = Vec::with_capacity(1_024);
        for _ in 0..100 {
            out.clear();
            r.process(&input, &mut out);
            assert!(out.capacity() == 1_024);
        }
    }
}
