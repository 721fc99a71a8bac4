//! Real-time pacing, so a file can stand in for a microphone.

use std::time::{Duration, Instant};

use crate::{AudioSource, Chunk, Error, SampleRate, SourceStats};

/// Releases each chunk of the inner source no earlier than a microphone
/// would have: when the audio it holds has "been recorded" in real time.
///
/// It sleeps the calling thread; run it on a blocking thread.
#[derive(Debug)]
pub struct Paced<S> {
    inner: S,
    start: Option<Instant>,
    released: Duration,
}

impl<S: AudioSource> Paced<S> {
    /// Paces `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            start: None,
            released: Duration::ZERO,
        }
    }

    /// The wrapped source.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AudioSource> AudioSource for Paced<S> {
    fn rate(&self) -> SampleRate {
        self.inner.rate()
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        let Some(chunk) = self.inner.next_chunk()? else {
            return Ok(None);
        };
        let start = *self.start.get_or_insert_with(Instant::now);
        self.released += chunk.duration();
        let due = start + self.released;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        Ok(Some(chunk))
    }

    fn stats(&self) -> SourceStats {
        self.inner.stats()
    }
}
