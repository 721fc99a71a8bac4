//! The playback buffer between a bursty network and a real-time callback.
//!
//! ```text
//!  network / caller side (may block, allocate)      audio callback (real time)
//!  PlaybackQueue::push ─► VecDeque (unbounded) ─pump─► rtrb ring (bounded) ─► PlaybackOutput::fill
//!                 flush: flush_req += 1 ───────── atomics ──────► drop ring, flush_ack = req
//! ```
//!
//! * The server sends audio faster than real time, so the queue side never
//!   refuses audio; it moves it into the bounded ring as space frees up
//!   ([`PlaybackQueue::pump`], called on every push and by a feeder thread).
//! * The callback side only pops from the ring, does atomics and writes
//!   silence: no locks, no allocation, no I/O.
//! * A prebuffer gate keeps the output silent until `prebuffer` of audio is
//!   queued (or audio has waited that long, so a short tail still plays),
//!   which avoids a choppy start; an underrun plays silence and re-arms it.
//! * [`PlaybackQueue::flush`] (barge-in) drops the queue at once and asks the
//!   callback to drop the ring; the next callback does so, so output goes
//!   silent within one callback period. New audio waits until it has.
//! * [`PlaybackQueue::played`] counts the audio that actually reached the
//!   device, so a caller can tell what the user heard before an interruption.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::pcm::i16_to_f32;
use crate::resample::Resampler;
use crate::{AudioSink, Error, SampleRate, SinkStatus};

/// Sizes of the playback buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaybackConfig {
    /// Audio to hold back before starting (and after an underrun): 100 ms.
    pub prebuffer: Duration,
    /// Capacity of the real-time ring: 500 ms. Audio beyond this waits in
    /// the unbounded queue.
    pub ring: Duration,
}

impl Default for PlaybackConfig {
    fn default() -> Self {
        Self {
            prebuffer: Duration::from_millis(100),
            ring: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    flush_req: AtomicU64,
    flush_ack: AtomicU64,
    played: AtomicU64,
    underruns: AtomicU64,
    dropped: AtomicU64,
    callbacks: AtomicU64,
}

/// Creates a playback buffer for mono audio at `rate` (the device rate).
pub fn playback_buffer(
    rate: SampleRate,
    config: PlaybackConfig,
) -> (PlaybackQueue, PlaybackOutput) {
    let capacity = rate.frames_in(config.ring).max(1);
    let gate = rate.frames_in(config.prebuffer).min(capacity);
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let shared = Arc::new(Shared::default());
    (
        PlaybackQueue {
            rate,
            pending: VecDeque::new(),
            producer,
            shared: Arc::clone(&shared),
            flush_id: 0,
            dropped: 0,
        },
        PlaybackOutput {
            consumer,
            shared,
            gate,
            gated: true,
            waited: 0,
            ack: 0,
            echo: None,
        },
    )
}

/// The non-real-time side: takes audio as it arrives.
#[derive(Debug)]
pub struct PlaybackQueue {
    rate: SampleRate,
    pending: VecDeque<f32>,
    producer: rtrb::Producer<f32>,
    shared: Arc<Shared>,
    flush_id: u64,
    dropped: u64,
}

impl PlaybackQueue {
    /// The rate of the audio (the device rate).
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Queues `samples` (never blocks, never refuses) and pumps.
    pub fn push(&mut self, samples: &[f32]) {
        self.pending.extend(samples);
        self.pump();
    }

    /// Moves queued audio into the ring as far as it has room; returns how
    /// many samples moved. Does nothing until the callback has acknowledged
    /// the last flush.
    pub fn pump(&mut self) -> usize {
        if self.shared.flush_ack.load(Ordering::Acquire) != self.flush_id {
            return 0;
        }
        let n = self.producer.slots().min(self.pending.len());
        if n == 0 {
            return 0;
        }
        match self.producer.write_chunk_uninit(n) {
            Ok(chunk) => chunk.fill_from_iter(self.pending.drain(..n)),
            Err(_) => 0,
        }
    }

    /// Barge-in: drops everything queued. The callback drops what is in the
    /// ring on its next run. Returns how much audio was dropped.
    pub fn flush(&mut self) -> Duration {
        let dropped = self.queued_frames();
        self.dropped += self.pending.len() as u64;
        self.pending.clear();
        self.flush_id = self.shared.flush_req.fetch_add(1, Ordering::AcqRel) + 1;
        self.rate.duration_of(dropped as u64)
    }

    /// Whether the callback has not yet acted on the last flush.
    pub fn flush_pending(&self) -> bool {
        self.shared.flush_ack.load(Ordering::Acquire) != self.flush_id
    }

    /// Samples still to be played (queue plus ring).
    pub fn queued_frames(&self) -> usize {
        let ring = if self.flush_pending() {
            0
        } else {
            self.producer.buffer().capacity() - self.producer.slots()
        };
        self.pending.len() + ring
    }

    /// Audio still to be played.
    pub fn queued(&self) -> Duration {
        self.rate.duration_of(self.queued_frames() as u64)
    }

    /// Samples of real audio the callback has output so far.
    pub fn played_frames(&self) -> u64 {
        self.shared.played.load(Ordering::Relaxed)
    }

    /// Audio the callback has output so far (not counting gate or underrun
    /// silence).
    pub fn played(&self) -> Duration {
        self.rate.duration_of(self.played_frames())
    }

    /// How many times the callback has run.
    pub fn callbacks(&self) -> u64 {
        self.shared.callbacks.load(Ordering::Relaxed)
    }

    /// Counters.
    pub fn status(&self) -> SinkStatus {
        SinkStatus {
            queued: self.queued(),
            played: self.played(),
            dropped: self
                .rate
                .duration_of(self.dropped + self.shared.dropped.load(Ordering::Relaxed)),
            underruns: self.shared.underruns.load(Ordering::Relaxed),
        }
    }
}

/// The real-time side, owned by the audio callback.
#[derive(Debug)]
pub struct PlaybackOutput {
    consumer: rtrb::Consumer<f32>,
    shared: Arc<Shared>,
    gate: usize,
    gated: bool,
    waited: usize,
    ack: u64,
    echo: Option<rtrb::Producer<f32>>,
}

impl PlaybackOutput {
    /// Also copies every output sample (mono, silence included) into
    /// `reference`, e.g. for an echo canceller. Samples that do not fit are
    /// dropped.
    pub fn set_echo_reference(&mut self, reference: rtrb::Producer<f32>) {
        self.echo = Some(reference);
    }

    /// Fills a mono buffer. Real-time safe.
    pub fn fill(&mut self, out: &mut [f32]) {
        self.fill_interleaved(out, 1, |s| s);
    }

    /// Fills an interleaved buffer of `channels` channels, writing each mono
    /// sample to every channel through `convert`. Real-time safe: no locks,
    /// no allocation.
    pub fn fill_interleaved<T: Copy>(
        &mut self,
        out: &mut [T],
        channels: usize,
        convert: impl Fn(f32) -> T,
    ) {
        let channels = channels.max(1);
        let frames = out.len() / channels;
        let silence = convert(0.0);
        self.shared.callbacks.fetch_add(1, Ordering::Relaxed);

        let req = self.shared.flush_req.load(Ordering::Acquire);
        if req != self.ack {
            let n = self.consumer.slots();
            if let Ok(chunk) = self.consumer.read_chunk(n) {
                chunk.commit_all();
            }
            self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
            self.gated = true;
            self.waited = 0;
            self.ack = req;
            self.shared.flush_ack.store(req, Ordering::Release);
        }

        let avail = self.consumer.slots();
        if self.gated {
            if avail > 0 && (avail >= self.gate || self.waited >= self.gate) {
                self.gated = false;
                self.waited = 0;
            } else {
                if avail > 0 {
                    self.waited += frames;
                }
                out.fill(silence);
                self.mirror(std::iter::repeat_n(0.0, frames));
                return;
            }
        }

        let n = avail.min(frames);
        let Ok(chunk) = self.consumer.read_chunk(n) else {
            out.fill(silence);
            return;
        };
        let (a, b) = chunk.as_slices();
        let samples = a.iter().chain(b).copied().chain(std::iter::repeat(0.0));
        for (frame, s) in out.chunks_exact_mut(channels).zip(samples) {
            frame.fill(convert(s));
        }
        out[frames * channels..].fill(silence);
        if let Some(echo) = &mut self.echo
            && let Ok(w) = echo.write_chunk_uninit(echo.slots().min(frames))
        {
            w.fill_from_iter(a.iter().chain(b).copied().chain(std::iter::repeat(0.0)));
        }
        chunk.commit_all();
        self.shared.played.fetch_add(n as u64, Ordering::Relaxed);
        if n < frames {
            self.shared.underruns.fetch_add(1, Ordering::Relaxed);
            self.gated = true;
            self.waited = 0;
        }
    }

    fn mirror(&mut self, samples: impl Iterator<Item = f32>) {
        if let Some(echo) = &mut self.echo {
            let n = echo.slots();
            if let Ok(w) = echo.write_chunk_uninit(n) {
                w.fill_from_iter(samples.take(n));
            }
        }
    }
}

/// An [`AudioSink`] over a [`PlaybackQueue`]: resamples what it is given to
/// the queue's rate and keeps a feeder thread pumping the ring. The speaker
/// sink is this plus a cpal stream that calls [`PlaybackOutput`].
#[derive(Debug)]
pub struct PlaybackSink {
    input_rate: SampleRate,
    resampler: Resampler,
    queue: Arc<Mutex<PlaybackQueue>>,
    stop: Arc<AtomicBool>,
    feeder: Option<JoinHandle<()>>,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    stall_timeout: Duration,
}

fn lock(q: &Mutex<PlaybackQueue>) -> MutexGuard<'_, PlaybackQueue> {
    q.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PlaybackSink {
    /// A sink taking audio at `input_rate` (e.g. [`SampleRate::LIVE_OUTPUT`])
    /// into `queue`.
    pub fn new(queue: PlaybackQueue, input_rate: SampleRate) -> Result<Self, Error> {
        let resampler = Resampler::new(input_rate, queue.rate())?;
        let queue = Arc::new(Mutex::new(queue));
        let stop = Arc::new(AtomicBool::new(false));
        let feeder = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("gemlive-playback-feeder".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        lock(&queue).pump();
                        std::thread::sleep(Duration::from_millis(5));
                    }
                })?
        };
        Ok(Self {
            input_rate,
            resampler,
            queue,
            stop,
            feeder: Some(feeder),
            mono: Vec::new(),
            resampled: Vec::new(),
            stall_timeout: Duration::from_secs(3),
        })
    }

    /// How long [`AudioSink::finish`] waits for the callback to make
    /// progress before giving up with [`Error::Stalled`] (default 3 s).
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// How many times the callback has run.
    pub fn callbacks(&self) -> u64 {
        lock(&self.queue).callbacks()
    }

    /// Resampler latency plus nothing else: what the sink adds before the ring.
    pub fn latency(&self) -> Duration {
        self.resampler.latency()
    }
}

impl AudioSink for PlaybackSink {
    fn rate(&self) -> SampleRate {
        self.input_rate
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        if rate != self.input_rate {
            self.resampled.clear();
            self.resampler.finish(&mut self.resampled);
            lock(&self.queue).push(&self.resampled);
            self.resampler = Resampler::new(rate, self.resampler.to_rate())?;
            self.input_rate = rate;
        }
        self.mono.clear();
        self.mono.extend(pcm.iter().map(|&s| i16_to_f32(s)));
        self.resampled.clear();
        self.resampler.process(&self.mono, &mut self.resampled);
        lock(&self.queue).push(&self.resampled);
        Ok(())
    }

    fn flush(&mut self) -> Duration {
        self.resampler.reset();
        lock(&self.queue).flush()
    }

    fn status(&self) -> SinkStatus {
        lock(&self.queue).status()
    }

    /// Plays out everything queued (including the resampler's tail) and
    /// waits until the callback has taken it.
    fn finish(&mut self) -> Result<(), Error> {
        self.resampled.clear();
        self.resampler.finish(&mut self.resampled);
        lock(&self.queue).push(&self.resampled);
        let mut last = (u64::MAX, Instant::now());
        loop {
            let (queued, progress) = {
                let mut q = lock(&self.queue);
                q.pump();
                (q.queued_frames(), q.played_frames() + q.callbacks())
            };
            if queued == 0 {
                return Ok(());
            }
            if progress != last.0 {
                last = (progress, Instant::now());
            } else if last.1.elapsed() >= self.stall_timeout {
                return Err(Error::Stalled(self.stall_timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for PlaybackSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
    }
}
