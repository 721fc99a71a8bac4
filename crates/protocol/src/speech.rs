//! The speech a connection's break may have taken along: the realtime audio (and the
//! `audioStreamEnd` and activity markers) sent since the last point the server covers, kept to
//! be sent again on the next connection.
//!
//! The server covers what it received at a resumable handle (Google issues them at turn
//! boundaries, never while generating) and at the end of a whole answer: the speech before it
//! was answered. Audio sent after that point is lost with the connection unless the client sends
//! it again. The log keeps the PCM in one ring of bytes and the chunks' boundaries, at most
//! [`SessionConfig::speech_kept`](crate::SessionConfig::speech_kept) of audio: older audio is
//! dropped, and counted, never silently.

use std::collections::VecDeque;
use std::time::Duration;

/// A realtime input without audio that belongs to the speech.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    AudioStreamEnd,
    ActivityStart,
    ActivityEnd,
}

/// One item of the log, in the order sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spoken {
    /// PCM16 LE, `bytes` long, at `rate` Hz (its bytes are the next ones of the ring).
    Audio {
        rate: u32,
        bytes: usize,
    },
    Marker(Marker),
}

/// What the log holds, for [`Session::cut_turn`](crate::Session::cut_turn).
#[derive(Clone, Debug, Default)]
pub(crate) struct SpeechLog {
    pcm: VecDeque<u8>,
    items: VecDeque<Spoken>,
    /// The audio in `pcm`.
    audio: Duration,
    /// Audio sent since the covered point that the bound dropped.
    dropped: Duration,
    /// An activity (manual VAD) started in the dropped part and is still open.
    open_activity: bool,
    /// Items ever kept, and ever taken off the front (dropped or covered).
    pushed: u64,
    popped: u64,
    /// `pushed` when the model's latest reply began.
    reply_mark: u64,
    /// Times this log (since its covered point) was sent again after a break.
    pub(crate) resends: u32,
}

/// How long `bytes` of PCM16 at `rate` Hz play.
fn duration_of(bytes: usize, rate: u32) -> Duration {
    let samples = (bytes / 2) as u64;
    let nanos = u128::from(samples) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl SpeechLog {
    /// Audio went out: keep it, then drop the oldest whole chunks beyond `limit`.
    pub(crate) fn audio(&mut self, pcm16le: &[u8], rate: u32, limit: Duration) {
        if pcm16le.is_empty() {
            return;
        }
        self.pcm.extend(pcm16le);
        self.push(Spoken::Audio {
            rate,
            bytes: pcm16le.len(),
        });
        self.audio += duration_of(pcm16le.len(), rate);
        while self.audio > limit {
            match self.pop() {
                Some(d) => self.dropped += d,
                None => break,
            }
        }
    }

    /// A marker went out.
    pub(crate) fn marker(&mut self, marker: Marker) {
        self.push(Spoken::Marker(marker));
    }

    fn push(&mut self, item: Spoken) {
        self.items.push_back(item);
        self.pushed += 1;
    }

    /// Takes the oldest item off: the audio it held.
    fn pop(&mut self) -> Option<Duration> {
        let front = self.items.pop_front()?;
        self.popped += 1;
        Some(match front {
            Spoken::Audio { rate, bytes } => {
                self.pcm.drain(..bytes);
                let d = duration_of(bytes, rate);
                self.audio = self.audio.saturating_sub(d);
                d
            }
            Spoken::Marker(m) => {
                match m {
                    Marker::ActivityStart => self.open_activity = true,
                    Marker::ActivityEnd => self.open_activity = false,
                    Marker::AudioStreamEnd => {}
                }
                Duration::ZERO
            }
        })
    }

    /// The model's reply begins: what was said up to here is what it answers.
    pub(crate) fn reply_began(&mut self) {
        self.reply_mark = self.pushed;
    }

    /// The reply was interrupted: the speech it answered was heard, what came since (the
    /// interruption) waits for its own answer.
    pub(crate) fn covered_to_reply(&mut self) {
        while self.popped < self.reply_mark && self.pop().is_some() {}
        self.dropped = Duration::ZERO;
        self.open_activity = false;
        self.resends = 0;
    }

    /// The server covers everything sent so far.
    pub(crate) fn covered(&mut self) {
        self.popped += self.items.len() as u64;
        self.pcm.clear();
        self.items.clear();
        self.audio = Duration::ZERO;
        self.dropped = Duration::ZERO;
        self.open_activity = false;
        self.resends = 0;
    }

    /// The audio kept.
    pub(crate) fn kept(&self) -> Duration {
        self.audio
    }

    /// The audio sent since the covered point that the bound dropped.
    pub(crate) fn dropped(&self) -> Duration {
        self.dropped
    }

    /// Whether there is audio to send again.
    pub(crate) fn has_audio(&self) -> bool {
        self.audio > Duration::ZERO
    }

    /// What to send again, in order: an `activityStart` first when the kept audio continues an
    /// activity whose start was dropped. Chunks are given as PCM slices of the ring.
    pub(crate) fn replay(&self) -> Vec<Replayed> {
        let mut out = Vec::with_capacity(self.items.len() + 1);
        if self.open_activity {
            out.push(Replayed::Marker(Marker::ActivityStart));
        }
        let mut at = 0;
        for item in &self.items {
            match *item {
                Spoken::Audio { rate, bytes } => {
                    let pcm: Vec<u8> = self.pcm.range(at..at + bytes).copied().collect();
                    at += bytes;
                    out.push(Replayed::Audio { pcm, rate });
                }
                Spoken::Marker(marker) => out.push(Replayed::Marker(marker)),
            }
        }
        out
    }
}

/// One item to send again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Replayed {
    Audio { pcm: Vec<u8>, rate: u32 },
    Marker(Marker),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_audio_within_the_bound_and_counts_the_rest() {
        let mut log = SpeechLog::default();
        let limit = Duration::from_millis(100);
        log.marker(Marker::ActivityStart);
        // 40 ms chunks at 16 kHz: 640 samples, 1280 bytes, each filled with its number.
        for n in 0..4u8 {
            log.audio(&[n; 1280], 16_000, limit);
        }
        assert_eq!(log.kept(), Duration::from_millis(80));
        assert_eq!(log.dropped(), Duration::from_millis(80));
        let replay = log.replay();
        assert_eq!(replay[0], Replayed::Marker(Marker::ActivityStart));
        let firsts: Vec<u8> = replay[1..]
            .iter()
            .map(|r| match r {
                Replayed::Audio { pcm, .. } => pcm[0],
                Replayed::Marker(_) => u8::MAX,
            })
            .collect();
        assert_eq!(firsts, [2, 3]);
        log.covered();
        assert!(!log.has_audio());
        assert!(log.replay().is_empty());
    }
}
