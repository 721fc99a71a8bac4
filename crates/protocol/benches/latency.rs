//! Part 4 of issue 7, in isolation: per-frame latency from handing a complete frame to
//! `Session::handle_frame` to its PCM coming out of `poll_output` as `Event::Audio`, over a long
//! run of the decode corpus. Prints p50 / p99 / p99.9 / max and a log2 histogram.
//!
//! Not a criterion benchmark: criterion reports means of batches, and a tail needs every sample.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/pcm.rs"]
mod pcm;
#[path = "support/run.rs"]
mod run;
#[path = "support/session.rs"]
mod session;

use std::hint::black_box;
use std::time::Instant;

use gemlive_protocol::{Event, Output};

/// Corpus passes in a full run (about 100,000 audio frames).
const PASSES: usize = 2_000;

fn main() {
    let corpus = corpus::Corpus::new(4);
    let passes = if run::test_mode() { 1 } else { PASSES };
    let now = Instant::now();
    let mut session = session::ready_session(now);
    // Warm up allocator and caches.
    for f in &corpus.frames {
        corpus::feed(&mut session, &f.bytes, now);
    }
    let audio_frames = corpus.frames.iter().filter(|f| f.pcm_len > 0).count();
    let mut samples: Vec<u64> = Vec::with_capacity(passes * audio_frames);
    let mut pcm = 0usize;
    let started = Instant::now();
    for _ in 0..passes {
        for f in &corpus.frames {
            if f.pcm_len == 0 {
                corpus::feed(&mut session, &f.bytes, now);
                continue;
            }
            let t0 = Instant::now();
            session.handle_frame(&f.bytes, now).expect("valid frame");
            loop {
                match session.poll_output() {
                    Output::Event(Event::Audio { data, .. }) => {
                        samples.push(t0.elapsed().as_nanos() as u64);
                        pcm += black_box(data).len();
                    }
                    Output::Idle { .. } => break,
                    other => {
                        black_box(other);
                    }
                }
            }
        }
    }
    let wall = started.elapsed();
    assert_eq!(pcm, passes * corpus.pcm_bytes());
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let us = |ns: u64| ns as f64 / 1000.0;
    run::summary(&format!(
        "latency: {} audio frames ({} passes over {}) in {wall:.2?}",
        samples.len(),
        passes,
        corpus.describe()
    ));
    run::summary(&format!(
        "latency handle_frame -> Event::Audio: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
        us(at(0.50)),
        us(at(0.99)),
        us(at(0.999)),
        us(at(1.0)),
    ));
    // log2 histogram in microseconds: [0,1), [1,2), [2,4), ...
    let mut buckets: Vec<usize> = Vec::new();
    for &ns in &samples {
        let b = match ns / 1000 {
            0 => 0,
            u => 1 + u.ilog2() as usize,
        };
        if buckets.len() <= b {
            buckets.resize(b + 1, 0);
        }
        buckets[b] += 1;
    }
    for (b, n) in buckets.iter().enumerate().filter(|(_, n)| **n > 0) {
        let (lo, hi) = if b == 0 {
            (0, 1)
        } else {
            (1 << (b - 1), 1 << b)
        };
        println!(
            "  [{lo:>6}, {hi:>6}) us {n:>8} {:6.2}% {}",
            100.0 * *n as f64 / samples.len() as f64,
            "#".repeat((60 * n).div_ceil(samples.len()))
        );
    }
}
