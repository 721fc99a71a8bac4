//! Typed sample rates and audio chunks.

use std::fmt;
use std::time::Duration;

use crate::Error;
use crate::pcm;

/// A sample rate in hertz, never zero.
///
/// Every buffer of audio in this crate travels with its rate, so nothing ever
/// has to assume one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleRate(u32);

impl SampleRate {
    /// What the Live API takes: `audio/pcm;rate=16000`.
    pub const LIVE_INPUT: Self = Self(16_000);
    /// What the Live API sends back.
    pub const LIVE_OUTPUT: Self = Self(24_000);

    /// A rate of `hz` hertz; `hz` must be between 1 Hz and 768 kHz.
    pub fn new(hz: u32) -> Result<Self, Error> {
        if (1..=768_000).contains(&hz) {
            Ok(Self(hz))
        } else {
            Err(Error::InvalidRate(hz))
        }
    }

    /// The rate in hertz.
    pub const fn hz(self) -> u32 {
        self.0
    }

    /// How many frames `d` lasts at this rate (rounded down).
    pub fn frames_in(self, d: Duration) -> usize {
        (d.as_nanos() * u128::from(self.0) / 1_000_000_000) as usize
    }

    /// How long `frames` frames last at this rate.
    pub fn duration_of(self, frames: u64) -> Duration {
        Duration::from_nanos((u128::from(frames) * 1_000_000_000 / u128::from(self.0)) as u64)
    }

    /// The MIME type of mono PCM16 LE at this rate, e.g. `audio/pcm;rate=16000`.
    pub fn pcm_mime(self) -> String {
        format!("audio/pcm;rate={}", self.0)
    }
}

impl TryFrom<u32> for SampleRate {
    type Error = Error;
    fn try_from(hz: u32) -> Result<Self, Error> {
        Self::new(hz)
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

/// A piece of mono PCM16 audio and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The rate of `samples`.
    pub rate: SampleRate,
    /// Mono samples.
    pub samples: Vec<i16>,
}

impl Chunk {
    /// A chunk of `samples` at `rate`.
    pub fn new(rate: SampleRate, samples: Vec<i16>) -> Self {
        Self { rate, samples }
    }

    /// How long the chunk plays.
    pub fn duration(&self) -> Duration {
        self.rate.duration_of(self.samples.len() as u64)
    }

    /// The samples as PCM16 little-endian bytes, ready for the wire.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        pcm::i16_to_le_bytes(&self.samples)
    }

    /// The MIME type of [`Chunk::to_le_bytes`], e.g. `audio/pcm;rate=16000`.
    pub fn mime(&self) -> String {
        self.rate.pcm_mime()
    }

    /// RMS level in dBFS (see [`pcm::rms_dbfs`]).
    pub fn rms_dbfs(&self) -> f32 {
        pcm::rms_dbfs(&self.samples)
    }
}

/// How long each chunk a source yields lasts: between 20 ms and 100 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkDuration(Duration);

impl ChunkDuration {
    /// The shortest allowed chunk.
    pub const MIN: Duration = Duration::from_millis(20);
    /// The longest allowed chunk.
    pub const MAX: Duration = Duration::from_millis(100);

    /// `d`, if it is between 20 ms and 100 ms.
    pub fn new(d: Duration) -> Result<Self, Error> {
        if (Self::MIN..=Self::MAX).contains(&d) {
            Ok(Self(d))
        } else {
            Err(Error::InvalidChunk(d))
        }
    }

    /// `ms` milliseconds, if between 20 and 100.
    pub fn from_millis(ms: u64) -> Result<Self, Error> {
        Self::new(Duration::from_millis(ms))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Samples per chunk at `rate` (at least 1).
    pub fn frames(self, rate: SampleRate) -> usize {
        rate.frames_in(self.0).max(1)
    }
}

impl Default for ChunkDuration {
    /// 40 ms.
    fn default() -> Self {
        Self(Duration::from_millis(40))
    }
}
