//! Part 2 of issue 7: encoding 16 kHz PCM chunks of 20, 40 and 100 ms into `realtimeInput`
//! frames with `Session::send_audio` + `poll_output`.
//!
//! Contenders, per chunk size:
//! - `recycled`: the frame is handed back with `Session::recycle` once "sent", so the session
//!   reuses its buffer (no allocation per frame);
//! - `fresh`: the frame is dropped, as a driver that moves it into a WebSocket message does;
//! - `baseline`: base64-encoding the chunk into a reused `String`, nothing else.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/paired.rs"]
mod paired;
#[path = "support/pcm.rs"]
mod pcm;
#[path = "support/run.rs"]
mod run;
#[path = "support/session.rs"]
mod session;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use gemlive_protocol::wire::encode_base64_into;
use gemlive_protocol::{Output, Session};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Chunks per measured pass, so a pass is long enough to time.
const CHUNKS: usize = 256;

fn send(session: &mut Session, pcm: &[u8], recycle: bool) -> usize {
    session.send_audio(pcm, 16_000).expect("ready session");
    match session.poll_output() {
        Output::Transmit(frame) => {
            let n = black_box(&frame).len();
            if recycle {
                session.recycle(frame);
            }
            n
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

fn baseline(pcm: &[u8], out: &mut String) -> usize {
    out.clear();
    encode_base64_into(pcm, out);
    black_box(&*out).len()
}

fn main() {
    let now = Instant::now();
    let mut session = session::ready_session(now);
    let mut other = session::ready_session(now);
    // The corpus generator makes 24 kHz-shaped samples; the rate does not matter to an encoder.
    let chunks: Vec<(u32, Vec<u8>)> = [20u32, 40, 100]
        .into_iter()
        .map(|ms| (ms, pcm::speech_like_pcm(0, 16 * ms as usize)))
        .collect();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .configure_from_args();
    let mut out = String::new();
    {
        let mut g = c.benchmark_group("encode");
        for (ms, pcm) in &chunks {
            g.throughput(Throughput::Bytes(pcm.len() as u64));
            g.bench_with_input(
                BenchmarkId::new("recycled", format!("{ms}ms")),
                pcm,
                |b, pcm| {
                    b.iter(|| send(&mut session, pcm, true));
                },
            );
            g.bench_with_input(
                BenchmarkId::new("fresh", format!("{ms}ms")),
                pcm,
                |b, pcm| {
                    b.iter(|| send(&mut session, pcm, false));
                },
            );
            g.bench_with_input(
                BenchmarkId::new("baseline", format!("{ms}ms")),
                pcm,
                |b, pcm| {
                    b.iter(|| baseline(pcm, &mut out));
                },
            );
        }
        g.finish();
    }
    c.final_summary();

    let rounds = if run::test_mode() { 1 } else { 100 };
    for (ms, pcm) in &chunks {
        // Steady state: one frame to warm the recycled buffer, then count.
        send(&mut session, pcm, true);
        let (recycled_allocs, _) = alloc::count(|| {
            for _ in 0..CHUNKS {
                send(&mut session, pcm, true);
            }
        });
        let (fresh_allocs, _) = alloc::count(|| {
            for _ in 0..CHUNKS {
                send(&mut session, pcm, false);
            }
        });
        let times = paired::paired(
            rounds,
            &mut [
                &mut || {
                    paired::time(|| {
                        for _ in 0..CHUNKS {
                            send(&mut session, pcm, true);
                        }
                    })
                },
                &mut || {
                    paired::time(|| {
                        for _ in 0..CHUNKS {
                            send(&mut other, pcm, false);
                        }
                    })
                },
                &mut || {
                    paired::time(|| {
                        for _ in 0..CHUNKS {
                            baseline(pcm, &mut out);
                        }
                    })
                },
            ],
        );
        let rate = |d: Duration| (CHUNKS * pcm.len()) as f64 / d.as_secs_f64() / 1e9;
        let per_frame = |d: Duration| d.as_secs_f64() * 1e9 / CHUNKS as f64;
        run::summary(&format!(
            "encode {ms:>3} ms: recycled {:.2} GB/s of PCM ({:.0} ns/frame, {:.2} allocations/frame), fresh {:.2} GB/s ({:.2} allocations/frame), baseline {:.2} GB/s; recycled/baseline {:.2}x",
            rate(times[0]),
            per_frame(times[0]),
            recycled_allocs as f64 / CHUNKS as f64,
            rate(times[1]),
            fresh_allocs as f64 / CHUNKS as f64,
            rate(times[2]),
            times[0].as_secs_f64() / times[2].as_secs_f64(),
        ));
    }
}
