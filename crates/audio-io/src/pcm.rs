//! PCM helpers: sample conversions, little-endian bytes, downmixing, levels
//! and re-chunking.

use crate::{Chunk, ChunkDuration, Error, SampleRate};

/// Converts one sample to `f32` in `[-1, 1)`.
#[inline]
pub fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

/// Converts one `f32` sample to `i16`, rounding and clamping to the range.
#[inline]
pub fn f32_to_i16(s: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Appends the samples of PCM16 little-endian `bytes` to `out`.
///
/// Fails (and appends nothing) if `bytes` has an odd length.
pub fn extend_from_le_bytes(bytes: &[u8], out: &mut Vec<i16>) -> Result<(), Error> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::OddPcmLength(bytes.len()));
    }
    out.extend(
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]])),
    );
    Ok(())
}

/// The samples of PCM16 little-endian `bytes` (e.g. decoded model audio).
pub fn i16_from_le_bytes(bytes: &[u8]) -> Result<Vec<i16>, Error> {
    let mut out = Vec::with_capacity(bytes.len() / 2);
    extend_from_le_bytes(bytes, &mut out)?;
    Ok(out)
}

/// `samples` as PCM16 little-endian bytes.
pub fn i16_to_le_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Averages interleaved `channels`-channel frames into mono, appending to `out`.
///
/// A trailing incomplete frame is ignored; `channels == 0` appends nothing.
pub fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    match channels {
        0 => {}
        1 => out.extend_from_slice(interleaved),
        n => {
            let scale = 1.0 / n as f32;
            out.extend(
                interleaved
                    .chunks_exact(n)
                    .map(|f| f.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// Root mean square of `samples`, as a fraction of full scale (0.0 to 1.0).
pub fn rms(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    ((sum / samples.len() as f64).sqrt() / 32768.0) as f32
}

/// RMS level in dBFS, floored at -96 dB (for a level meter).
pub fn rms_dbfs(samples: &[i16]) -> f32 {
    let r = rms(samples);
    if r <= 0.0 {
        -96.0
    } else {
        (20.0 * r.log10()).max(-96.0)
    }
}

/// Cuts a stream of samples into [`Chunk`]s of a fixed size.
#[derive(Debug, Clone)]
pub struct Rechunker {
    rate: SampleRate,
    size: usize,
    buf: Vec<i16>,
}

impl Rechunker {
    /// Chunks of `chunk` at `rate`.
    pub fn new(rate: SampleRate, chunk: ChunkDuration) -> Self {
        Self::with_frames(rate, chunk.frames(rate))
    }

    /// Chunks of exactly `frames` samples (at least 1).
    pub fn with_frames(rate: SampleRate, frames: usize) -> Self {
        let size = frames.max(1);
        Self {
            rate,
            size,
            buf: Vec::with_capacity(size * 2),
        }
    }

    /// Samples per chunk.
    pub fn chunk_frames(&self) -> usize {
        self.size
    }

    /// Samples waiting for a full chunk.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds samples.
    pub fn push(&mut self, samples: &[i16]) {
        self.buf.extend_from_slice(samples);
    }

    /// Adds `f32` samples, converting them to `i16`.
    pub fn push_f32(&mut self, samples: &[f32]) {
        self.buf.extend(samples.iter().map(|&s| f32_to_i16(s)));
    }

    /// The next full chunk, if there is one.
    pub fn pop(&mut self) -> Option<Chunk> {
        if self.buf.len() < self.size {
            return None;
        }
        let rest = self.buf.split_off(self.size);
        let samples = std::mem::replace(&mut self.buf, rest);
        Some(Chunk::new(self.rate, samples))
    }

    /// Whatever is left as a last, shorter chunk (None if nothing is left).
    pub fn pop_rest(&mut self) -> Option<Chunk> {
        if self.buf.is_empty() {
            return None;
        }
        Some(Chunk::new(self.rate, std::mem::take(&mut self.buf)))
    }

    /// Drops everything buffered.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_bytes_round_trip() {
        let s = [0i16, 1, -1, i16::MAX, i16::MIN, 12345];
        let b = i16_to_le_bytes(&s);
        assert_eq!(b[2..4], [1, 0]);
        assert_eq!(b[4..6], [0xff, 0xff]);
        assert_eq!(i16_from_le_bytes(&b).unwrap(), s);
        assert!(matches!(
            i16_from_le_bytes(&b[..3]),
            Err(Error::OddPcmLength(3))
        ));
    }

    #[test]
    fn f32_conversion_clamps_and_rounds() {
        assert_eq!(f32_to_i16(1.5), i16::MAX);
        assert_eq!(f32_to_i16(-1.5), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        for s in [i16::MIN, -1000, 0, 1, 32767] {
            assert_eq!(f32_to_i16(i16_to_f32(s)), s);
        }
    }

    #[test]
    fn downmix_averages() {
        let mut out = Vec::new();
        downmix_into(&[1.0, 0.0, 0.5, 0.5, 0.25], 2, &mut out);
        assert_eq!(out, [0.5, 0.5]);
    }

    #[test]
    fn levels() {
        assert_eq!(rms_dbfs(&[]), -96.0);
        assert_eq!(rms_dbfs(&[0; 100]), -96.0);
        let full: Vec<i16> = (0..1000)
            .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
            .collect();
        assert!(rms_dbfs(&full).abs() < 0.01);
        let half: Vec<i16> = full.iter().map(|s| s / 2).collect();
        assert!((rms_dbfs(&half) + 6.02).abs() < 0.05);
    }

    #[test]
    fn rechunker_cuts_exact_sizes() {
        let rate = SampleRate::LIVE_INPUT;
        let mut r = Rechunker::new(rate, ChunkDuration::from_millis(20).unwrap());
        assert_eq!(r.chunk_frames(), 320);
        r.push(&[7; 700]);
        assert_eq!(r.pop().unwrap().samples.len(), 320);
        assert_eq!(r.pop().unwrap().samples.len(), 320);
        assert!(r.pop().is_none());
        let rest = r.pop_rest().unwrap();
        assert_eq!(rest.samples.len(), 60);
        assert_eq!(rest.rate, rate);
        assert!(r.pop_rest().is_none());
    }

    #[test]
    fn chunk_duration_bounds() {
        assert!(ChunkDuration::from_millis(19).is_err());
        assert!(ChunkDuration::from_millis(101).is_err());
        assert_eq!(
            ChunkDuration::from_millis(100)
                .unwrap()
                .frames(SampleRate::LIVE_INPUT),
            1600
        );
    }
}
