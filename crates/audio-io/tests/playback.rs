//! The playback buffer under a simulated audio callback: prebuffer gate,
//! underrun, flush (barge-in) and the sink built on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gemlive_audio::playback::{PlaybackConfig, PlaybackOutput, playback_buffer};
use gemlive_audio::{AudioSink, Error, PlaybackSink, SampleRate};

const RATE: SampleRate = SampleRate::LIVE_OUTPUT;
/// One 10 ms callback at 24 kHz.
const PERIOD: usize = 240;

fn config() -> PlaybackConfig {
    PlaybackConfig {
        prebuffer: Duration::from_millis(100),
        ring: Duration::from_millis(500),
    }
}

fn nonzero(x: &[f32]) -> usize {
    x.iter().filter(|s| **s != 0.0).count()
}

#[test]
fn gate_holds_until_prebuffer_is_queued() {
    let (mut q, mut out) = playback_buffer(RATE, config());
    let mut buf = [1.0f32; PERIOD];
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), 0, "silence when empty");

    q.push(&[0.5; 2_000]); // 83 ms < 100 ms prebuffer
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), 0, "gated below the prebuffer");
    q.push(&[0.5; 400]); // now exactly 100 ms
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), PERIOD, "opens at the prebuffer");
    assert_eq!(q.played_frames(), PERIOD as u64);
    assert_eq!(q.queued_frames(), 2_400 - PERIOD);
}

#[test]
fn short_tail_plays_after_waiting_one_prebuffer() {
    let (mut q, mut out) = playback_buffer(RATE, config());
    q.push(&[0.25; 500]); // 21 ms: never reaches the prebuffer
    let mut buf = [0.0f32; PERIOD];
    let mut silent_calls = 0;
    while {
        out.fill(&mut buf);
        nonzero(&buf) == 0
    } {
        silent_calls += 1;
        assert!(silent_calls < 20, "tail never played");
    }
    // 100 ms of waiting = 10 callbacks of 10 ms.
    assert_eq!(silent_calls, 10);
    assert_eq!(nonzero(&buf), PERIOD);
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), PERIOD);
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), 20);
    assert_eq!(q.played_frames(), 500);
    assert_eq!(q.status().underruns, 1);
}

#[test]
fn underrun_plays_silence_and_rearms_the_gate() {
    let (mut q, mut out) = playback_buffer(RATE, config());
    q.push(&[0.5; 3_600]); // 150 ms
    let mut buf = [0.0f32; PERIOD];
    let mut played = Vec::new();
    for _ in 0..20 {
        out.fill(&mut buf);
        played.push(nonzero(&buf));
    }
    assert_eq!(&played[..15], &[PERIOD; 15]);
    assert!(played[15..].iter().all(|&n| n == 0));
    assert_eq!(q.status().underruns, 1);
    assert_eq!(q.played(), Duration::from_millis(150));

    // After the underrun the gate is armed again: 50 ms is held back.
    q.push(&[0.5; 1_200]);
    out.fill(&mut buf);
    assert_eq!(nonzero(&buf), 0);
}

#[test]
fn interleaved_output_converts_and_duplicates() {
    let (mut q, mut out) = playback_buffer(RATE, config());
    let ramp: Vec<f32> = (0..2_400).map(|i| i as f32 / 4_800.0).collect();
    q.push(&ramp);
    let mut buf = [0i16; 2 * 4 + 1];
    out.fill_interleaved(&mut buf, 2, |s| (s * 32_768.0) as i16);
    assert_eq!(buf, [0, 0, 6, 6, 13, 13, 20, 20, 0]);
}

#[test]
fn ring_is_bounded_and_the_queue_is_not() {
    let (mut q, mut out) = playback_buffer(RATE, config());
    q.push(&[0.1; 24_000 * 5]); // 5 s burst, ring holds 0.5 s
    assert_eq!(q.queued(), Duration::from_secs(5));
    let mut buf = [0.0f32; PERIOD];
    for _ in 0..100 {
        out.fill(&mut buf);
        q.pump();
    }
    assert_eq!(q.played(), Duration::from_secs(1));
    assert_eq!(q.queued(), Duration::from_secs(4));
}

/// A callback thread that calls `fill` every 10 ms and records, per
/// callback, how many samples of "old" (0.5) and "new" (0.25) audio it
/// produced.
struct FakeDevice {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    handle: thread::JoinHandle<Vec<(usize, usize)>>,
}

impl FakeDevice {
    fn start(mut out: PlaybackOutput) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let (s, c) = (Arc::clone(&stop), Arc::clone(&calls));
        let handle = thread::spawn(move || {
            let mut log = Vec::new();
            let mut buf = vec![0.0f32; PERIOD];
            let start = Instant::now();
            let mut n = 0u32;
            while !s.load(Ordering::Relaxed) {
                out.fill(&mut buf);
                let old = buf.iter().filter(|x| **x == 0.5).count();
                let new = buf.iter().filter(|x| **x == 0.25).count();
                assert_eq!(old + new, nonzero(&buf));
                log.push((old, new));
                c.fetch_add(1, Ordering::SeqCst);
                n += 1;
                let due = start + Duration::from_millis(10) * n;
                thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            log
        });
        Self {
            stop,
            calls,
            handle,
        }
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn stop(self) -> Vec<(usize, usize)> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

#[test]
fn flush_silences_within_one_callback_under_a_real_thread() {
    let (mut q, out) = playback_buffer(RATE, config());
    let dev = FakeDevice::start(out);
    q.push(&[0.5; 24_000 * 2]); // 2 s
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(300) {
        q.pump();
        thread::sleep(Duration::from_millis(5));
    }
    let played_before = q.played();
    assert!(played_before > Duration::ZERO, "nothing played");
    let at_flush = dev.calls();
    let dropped = q.flush();
    assert_eq!(q.queued(), Duration::ZERO);
    assert!(
        dropped > Duration::from_millis(1_500),
        "dropped {dropped:?}"
    );
    // Audio pushed right after the flush is kept and plays after the ack.
    q.push(&[0.25; 4_800]);
    assert!(q.flush_pending() || q.queued() == Duration::from_millis(200));
    let t1 = Instant::now();
    while q.flush_pending() {
        assert!(
            t1.elapsed() < Duration::from_secs(1),
            "callback never acked"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let ack_after = t1.elapsed();
    while t1.elapsed() < Duration::from_millis(800) {
        q.pump();
        thread::sleep(Duration::from_millis(5));
    }
    let log = dev.stop();
    let at_flush = at_flush as usize;
    // The callback that was running when flush() was called may finish its
    // buffer; from the next one on, no old audio may come out.
    let old_after: usize = log[at_flush + 1..].iter().map(|l| l.0).sum();
    assert_eq!(
        old_after,
        0,
        "old audio after the flush: {:?}",
        log.get(at_flush..)
    );
    let old_total: usize = log.iter().map(|l| l.0).sum();
    let new_total: usize = log.iter().map(|l| l.1).sum();
    assert_eq!(
        new_total, 4_800,
        "audio pushed after the flush is played in full"
    );
    assert_eq!((old_total + new_total) as u64, q.played_frames());
    // One 10 ms period; the bound leaves slack for a loaded machine.
    assert!(
        ack_after < Duration::from_millis(200),
        "ack took {ack_after:?}"
    );
    println!(
        "flush acked after {ack_after:?}, dropped {dropped:?}, played before {played_before:?}"
    );
}

#[test]
fn sink_resamples_plays_out_and_reports() {
    let rate48 = SampleRate::new(48_000).unwrap();
    let (q, out) = playback_buffer(rate48, config());
    let dev_out = {
        // A 48 kHz callback of 480 frames every 10 ms.
        let mut out = out;
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let h = thread::spawn(move || {
            let mut buf = vec![0.0f32; 480];
            let mut got = Vec::new();
            while !s.load(Ordering::Relaxed) {
                out.fill(&mut buf);
                got.extend_from_slice(&buf);
                thread::sleep(Duration::from_millis(10));
            }
            got
        });
        (stop, h)
    };
    let mut sink = PlaybackSink::new(q, SampleRate::LIVE_OUTPUT).unwrap();
    assert_eq!(sink.rate(), SampleRate::LIVE_OUTPUT);
    // 300 ms of a 24 kHz reply, written as it would arrive: in bursts.
    let reply = vec![8_000i16; 7_200];
    for piece in reply.chunks(2_400) {
        sink.write(SampleRate::LIVE_OUTPUT, piece).unwrap();
    }
    let t = Instant::now();
    sink.finish().unwrap();
    let took = t.elapsed();
    assert_eq!(sink.queued(), Duration::ZERO);
    assert_eq!(sink.played(), Duration::from_millis(300));
    let (stop, h) = dev_out;
    stop.store(true, Ordering::Relaxed);
    let got = h.join().unwrap();
    let loud = got
        .iter()
        .filter(|s| (**s - 8_000.0 / 32_768.0).abs() < 0.01)
        .count();
    assert!(loud > 14_000 - 500, "{loud} samples at the written level");
    assert!(
        took >= Duration::from_millis(250),
        "finish waited for playback: {took:?}"
    );
}

#[test]
fn sink_finish_reports_a_stalled_device() {
    let (q, _out) = playback_buffer(RATE, config());
    let mut sink = PlaybackSink::new(q, RATE)
        .unwrap()
        .with_stall_timeout(Duration::from_millis(200));
    sink.write(RATE, &[1; 4_800]).unwrap();
    assert_eq!(sink.queued(), Duration::from_millis(200));
    let err = sink.finish().unwrap_err();
    assert!(matches!(err, Error::Stalled(_)), "{err:?}");
    // A flush with no callback running drops the queue at once too.
    assert_eq!(sink.flush(), Duration::from_millis(200));
    assert_eq!(sink.queued(), Duration::ZERO);
}
