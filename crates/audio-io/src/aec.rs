//! Echo cancellation with sonora, a pure-Rust port of WebRTC's AEC3
//! (feature `aec`).
//!
//! Feed it what the speaker actually played ([`EchoCanceller::render`]) and
//! the microphone signal ([`EchoCanceller::capture`]), both at the same
//! rate; it removes the speaker's echo from the microphone signal so the
//! model does not hear itself on laptop speakers. It works in 10 ms frames
//! and buffers partial ones, so `capture` output lags its input by up to
//! 10 ms.

use sonora::config::EchoCanceller as AecConfig;
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::{Error, SampleRate};

/// A mono echo canceller.
pub struct EchoCanceller {
    apm: AudioProcessing,
    rate: SampleRate,
    frame: usize,
    far: Vec<f32>,
    near: Vec<f32>,
    out_frame: Vec<f32>,
}

impl std::fmt::Debug for EchoCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoCanceller")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl EchoCanceller {
    /// A canceller for mono audio at `rate` (8, 16, 32 or 48 kHz).
    pub fn new(rate: SampleRate) -> Result<Self, Error> {
        if ![8_000, 16_000, 32_000, 48_000].contains(&rate.hz()) {
            return Err(Error::Processing(format!(
                "echo cancellation needs 8, 16, 32 or 48 kHz, not {rate}"
            )));
        }
        let stream = StreamConfig::new(rate.hz(), 1);
        let apm = AudioProcessing::builder()
            .config(Config {
                echo_canceller: Some(AecConfig::default()),
                ..Config::default()
            })
            .capture_config(stream)
            .render_config(stream)
            .build();
        let frame = stream.num_frames();
        Ok(Self {
            apm,
            rate,
            frame,
            far: Vec::with_capacity(frame * 2),
            near: Vec::with_capacity(frame * 2),
            out_frame: vec![0.0; frame],
        })
    }

    /// The rate it works at.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Feeds audio the speaker played.
    pub fn render(&mut self, far: &[f32]) -> Result<(), Error> {
        self.far.extend_from_slice(far);
        let mut done = 0;
        while self.far.len() - done >= self.frame {
            let src = &self.far[done..done + self.frame];
            self.apm
                .process_render_f32(&[src], &mut [&mut self.out_frame[..]])
                .map_err(|e| Error::Processing(format!("echo canceller render: {e:?}")))?;
            done += self.frame;
        }
        self.far.drain(..done);
        Ok(())
    }

    /// Feeds microphone audio; appends the cleaned audio (whole 10 ms
    /// frames) to `out`.
    pub fn capture(&mut self, near: &[f32], out: &mut Vec<f32>) -> Result<(), Error> {
        self.near.extend_from_slice(near);
        let mut done = 0;
        while self.near.len() - done >= self.frame {
            let src = &self.near[done..done + self.frame];
            self.apm
                .process_capture_f32(&[src], &mut [&mut self.out_frame[..]])
                .map_err(|e| Error::Processing(format!("echo canceller capture: {e:?}")))?;
            out.extend_from_slice(&self.out_frame);
            done += self.frame;
        }
        self.near.drain(..done);
        Ok(())
    }
}
