//! In-memory source and sink, for tests and for library users who already
//! hold the audio.

use std::time::Duration;

use crate::{AudioSink, AudioSource, Chunk, ChunkDuration, Error, SampleRate, SinkStatus};

/// Yields fixed-size chunks of a buffer, then end-of-stream.
#[derive(Debug, Clone)]
pub struct MemSource {
    rate: SampleRate,
    samples: Vec<i16>,
    pos: usize,
    chunk: usize,
}

impl MemSource {
    /// Chunks of `chunk` taken from `samples` at `rate`.
    pub fn new(rate: SampleRate, samples: Vec<i16>, chunk: ChunkDuration) -> Self {
        Self {
            rate,
            samples,
            pos: 0,
            chunk: chunk.frames(rate),
        }
    }
}

impl AudioSource for MemSource {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.pos + self.chunk).min(self.samples.len());
        let c = Chunk::new(self.rate, self.samples[self.pos..end].to_vec());
        self.pos = end;
        Ok(Some(c))
    }
}

/// Collects everything written to it.
#[derive(Debug, Clone)]
pub struct MemSink {
    rate: SampleRate,
    samples: Vec<i16>,
    finished: bool,
}

impl MemSink {
    /// An empty sink for audio at `rate`.
    pub fn new(rate: SampleRate) -> Self {
        Self {
            rate,
            samples: Vec::new(),
            finished: false,
        }
    }

    /// Everything written so far.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// Whether [`AudioSink::finish`] was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl AudioSink for MemSink {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        if rate != self.rate {
            return Err(Error::RateMismatch {
                expected: self.rate,
                got: rate,
            });
        }
        self.samples.extend_from_slice(pcm);
        Ok(())
    }

    fn flush(&mut self) -> Duration {
        Duration::ZERO
    }

    fn status(&self) -> SinkStatus {
        SinkStatus {
            played: self.rate.duration_of(self.samples.len() as u64),
            ..SinkStatus::default()
        }
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.finished = true;
        Ok(())
    }
}
