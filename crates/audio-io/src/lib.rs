//! Audio sources and sinks for the Gemini Live API: WAV files, raw PCM
//! pipes, microphone and speaker (feature `device`), resampling and a
//! playback buffer that stops on a dime.
//!
//! The Live API takes 16 kHz mono PCM16 LE (`audio/pcm;rate=16000`) and
//! answers with 24 kHz mono PCM16. Rates are typed ([`SampleRate`]) and
//! travel with the audio ([`Chunk`]); nothing here assumes one.
//!
//! * An [`AudioSource`] yields mono chunks (20 to 100 ms) at its rate, then
//!   `Ok(None)` for end of stream (send `audioStreamEnd`): [`WavSource`],
//!   [`RawSource`] (stdin), [`MemSource`], and with `device` the microphone
//!   (`device::MicSource`). [`Paced`] releases any source in real time.
//! * An [`AudioSink`] takes model audio as it arrives, can drop what is still
//!   queued on barge-in ([`AudioSink::flush`]) and reports how much was
//!   played: [`WavSink`] (crash-safe), [`RawSink`] (stdout), [`MemSink`],
//!   [`PlaybackSink`], and with `device` the speaker (`device::SpeakerSink`).
//! * [`Resampler`] wraps rubato's FFT resampler for streams; the
//!   [`playback`] module holds the network-to-callback buffer.
//! * Feature `vad`: `vad::VoiceDetector` (earshot). Feature `aec`:
//!   `aec::EchoCanceller` (sonora).
//!
//! Audio callbacks only convert formats, push or pop lock-free rings and
//! count in atomics; resampling, files and logging stay on other threads.
//!
//! # Tests
//!
//! `cargo test -p gemlive-audio` needs no sound card and no ALSA headers.
//! The tests that run real cpal streams through a headless PulseAudio (a
//! null sink as speaker, a virtual microphone) are ignored by default:
//!
//! ```sh
//! source .ci/audio-env.sh   # installs packages if missing, starts PulseAudio
//! cargo test -p gemlive-audio --all-features -- --include-ignored
//! kill "$PULSE_PID"
//! ```
//!
//! # Example
//!
//! Write a 24 kHz reply to a WAV file, then stream it back as 16 kHz chunks:
//!
//! ```
//! use gemlive_audio::{AudioSink, AudioSource, ChunkDuration, SampleRate, WavSink, WavSource, pcm};
//!
//! # fn main() -> Result<(), gemlive_audio::Error> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("reply.wav");
//!
//! // Model audio arrives as PCM16 LE bytes at 24 kHz.
//! let reply: Vec<i16> = (0..24_000).map(|i| ((i % 48) as i16 - 24) * 500).collect();
//! let bytes = pcm::i16_to_le_bytes(&reply);
//! let mut sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT)?;
//! sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &bytes)?;
//! sink.finish()?;
//!
//! // One second of audio comes back as 25 chunks of 40 ms at 16 kHz.
//! let mut source = WavSource::open(&path, ChunkDuration::from_millis(40)?)?;
//! let mut chunks = Vec::new();
//! while let Some(chunk) = source.next_chunk()? {
//!     assert_eq!(chunk.mime(), "audio/pcm;rate=16000");
//!     chunks.push(chunk);
//! }
//! assert_eq!(chunks.len(), 25);
//! assert!(chunks.iter().all(|c| c.samples.len() == 640));
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

mod error;
mod mem;
mod pace;
pub mod pcm;
pub mod playback;
mod rate;
mod raw;
mod resample;
mod wav;

#[cfg(feature = "aec")]
pub mod aec;
#[cfg(feature = "device")]
pub mod device;
#[cfg(feature = "vad")]
pub mod vad;

pub use error::Error;
pub use mem::{MemSink, MemSource};
pub use pace::Paced;
pub use playback::{PlaybackConfig, PlaybackSink};
pub use rate::{Chunk, ChunkDuration, SampleRate};
pub use raw::{RawSink, RawSource};
pub use resample::{Resampler, resample_all};
pub use wav::{WavSink, WavSource};

/// Counters of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Samples the capture callback had to drop because nobody read them in
    /// time.
    pub overrun_samples: u64,
}

/// Where a sink stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStatus {
    /// Audio accepted but not played yet.
    pub queued: Duration,
    /// Audio played so far (for files and pipes: written).
    pub played: Duration,
    /// Audio dropped by flushes.
    pub dropped: Duration,
    /// Times playback ran dry while playing (including the natural end of
    /// each reply).
    pub underruns: u64,
}

/// Yields the uplink: mono PCM16 chunks at [`AudioSource::rate`].
///
/// `next_chunk` may block (a paced file or a microphone waits for audio);
/// run sources on a blocking thread.
pub trait AudioSource: Send {
    /// The rate of every chunk.
    fn rate(&self) -> SampleRate;

    /// The next chunk, or `Ok(None)` at end of stream (send `audioStreamEnd`).
    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error>;

    /// Counters (overruns for devices).
    fn stats(&self) -> SourceStats {
        SourceStats::default()
    }
}

/// Takes the downlink: model audio as it arrives.
pub trait AudioSink: Send {
    /// The rate the sink was opened for.
    fn rate(&self) -> SampleRate;

    /// Queues or writes `pcm` (mono) at `rate`. Never blocks on playback.
    /// Sinks that cannot change rate return [`Error::RateMismatch`].
    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error>;

    /// Same as [`AudioSink::write`] for PCM16 LE bytes, as decoded from the
    /// wire.
    fn write_le_bytes(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), Error> {
        let samples = pcm::i16_from_le_bytes(bytes)?;
        self.write(rate, &samples)
    }

    /// Barge-in: drops all audio not yet played, at once. Returns how much
    /// was dropped.
    fn flush(&mut self) -> Duration;

    /// Counters: queued, played, dropped, underruns.
    fn status(&self) -> SinkStatus;

    /// Audio accepted but not played yet.
    fn queued(&self) -> Duration {
        self.status().queued
    }

    /// Audio actually played (for files and pipes: written).
    fn played(&self) -> Duration {
        self.status().played
    }

    /// End of output: plays out what is queued (devices) or finalizes the
    /// file. Call it on exit and on Ctrl-C.
    fn finish(&mut self) -> Result<(), Error>;
}

impl<S: AudioSource + ?Sized> AudioSource for Box<S> {
    fn rate(&self) -> SampleRate {
        (**self).rate()
    }
    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        (**self).next_chunk()
    }
    fn stats(&self) -> SourceStats {
        (**self).stats()
    }
}

impl<S: AudioSink + ?Sized> AudioSink for Box<S> {
    fn rate(&self) -> SampleRate {
        (**self).rate()
    }
    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        (**self).write(rate, pcm)
    }
    fn write_le_bytes(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), Error> {
        (**self).write_le_bytes(rate, bytes)
    }
    fn flush(&mut self) -> Duration {
        (**self).flush()
    }
    fn status(&self) -> SinkStatus {
        (**self).status()
    }
    fn finish(&mut self) -> Result<(), Error> {
        (**self).finish()
    }
}
