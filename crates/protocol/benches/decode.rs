//! Part 1 of issue 7: decoding server frames into events with PCM bytes.
//!
//! Contenders, over the same corpus (see `support/corpus.rs`):
//! - `session`: `Session::handle_frame` + `poll_output` until idle, what a client does;
//! - `decode_server`: the typed decoder alone;
//! - `baseline`: serde_json parsing the frame into `IgnoredAny` plus base64-decoding the payload
//!   alone, with the same base64 code the crate uses: the bare cost of reading the bytes.
//!
//! The peers (the `gemini-live` crate, the official Python SDK) decode the same corpus in
//! `peers/peers.rs`.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/corpus.rs"]
mod corpus;
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

use criterion::{Criterion, Throughput};
use gemlive_protocol::decode_server;
use gemlive_protocol::wire::decode_base64;

use corpus::{Corpus, feed};
use session::ready_session;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// The base64 audio payload of each frame, for the baseline.
fn payloads(corpus: &Corpus) -> Vec<Option<&str>> {
    const KEY: &str = "\"data\": \"";
    corpus
        .frames
        .iter()
        .map(|f| {
            let text = std::str::from_utf8(&f.bytes).ok()?;
            let start = text.find(KEY)? + KEY.len();
            let len = text[start..].find('"')?;
            Some(&text[start..start + len])
        })
        .collect()
}

fn baseline_pass(corpus: &Corpus, payloads: &[Option<&str>]) -> usize {
    let mut pcm = 0;
    for (f, payload) in corpus.frames.iter().zip(payloads) {
        let parsed: serde::de::IgnoredAny = serde_json::from_slice(&f.bytes).expect("json");
        black_box(parsed);
        if let Some(text) = payload {
            pcm += black_box(decode_base64(text).expect("base64")).len();
        }
    }
    pcm
}

fn decode_pass(corpus: &Corpus) -> usize {
    let mut n = 0;
    for f in &corpus.frames {
        n += black_box(decode_server(&f.bytes).expect("frame"))
            .unknown
            .len();
    }
    n
}

fn session_pass(session: &mut gemlive_protocol::Session, corpus: &Corpus, now: Instant) -> usize {
    corpus
        .frames
        .iter()
        .map(|f| feed(session, &f.bytes, now))
        .sum()
}

fn main() {
    let corpus = Corpus::new(4);
    let payloads = payloads(&corpus);
    let now = Instant::now();
    let mut session = ready_session(now);
    assert_eq!(session_pass(&mut session, &corpus, now), corpus.pcm_bytes());
    assert_eq!(baseline_pass(&corpus, &payloads), corpus.pcm_bytes());
    assert_eq!(decode_pass(&corpus), 0);

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("decode");
        g.throughput(Throughput::Bytes(corpus.pcm_bytes() as u64));
        g.bench_function("session", |b| {
            b.iter(|| session_pass(&mut session, &corpus, now));
        });
        g.bench_function("decode_server", |b| b.iter(|| decode_pass(&corpus)));
        g.bench_function("baseline", |b| b.iter(|| baseline_pass(&corpus, &payloads)));
        g.finish();
    }
    c.final_summary();

    let (allocations, _) = alloc::count(|| session_pass(&mut session, &corpus, now));
    let audio = corpus
        .frames
        .iter()
        .find(|f| f.pcm_len > 0)
        .expect("an audio frame");
    let (audio_allocations, _) = alloc::count(|| feed(&mut session, &audio.bytes, now));
    let rounds = if run::test_mode() { 1 } else { 200 };
    let times = paired::paired(
        rounds,
        &mut [
            &mut || {
                paired::time(|| {
                    black_box(session_pass(&mut session, &corpus, now));
                })
            },
            &mut || {
                paired::time(|| {
                    black_box(baseline_pass(&corpus, &payloads));
                })
            },
        ],
    );
    let (ours, base) = (times[0].as_secs_f64(), times[1].as_secs_f64());
    let pcm = corpus.pcm_bytes() as f64;
    run::summary(&format!("decode corpus: {}", corpus.describe()));
    run::summary(&format!(
        "decode session:  {:>9.0} frames/s {:>7.0} MB/s of PCM  ({:.2} allocations/frame, {audio_allocations} per audio frame)",
        corpus.len() as f64 / ours,
        pcm / ours / 1e6,
        allocations as f64 / corpus.len() as f64,
    ));
    run::summary(&format!(
        "decode baseline: {:>9.0} frames/s {:>7.0} MB/s of PCM  (serde_json IgnoredAny + base64 of the payload)",
        corpus.len() as f64 / base,
        pcm / base / 1e6,
    ));
    run::summary(&format!(
        "decode ratio session/baseline: {:.2}x (median of {rounds} paired rounds)",
        ours / base
    ));
}
