//! Issue 7 part 3: end to end over loopback. The emulator (a child process, pacing off) streams an
//! hour of 24 kHz audio in chunks of a chosen size; the client (another child process, so that its
//! CPU time and peak RSS are its own) is the application path a user writes: `transport::connect`,
//! `send_text`, `LiveEvents::next()` and every `Event::Audio` into `audio::WavSink`.
//!
//! Then part 4 end to end: the same path paced, with the latency from the transport reading a
//! frame's last byte to its PCM in the sink, for the runtime flavors an application may use and
//! with the PCM written from a `transport::EventTap`.
//!
//! `cargo bench -p gemlive-tests --bench loopback` measures (`-- --latency`: part 4 only); `-- --test`
//! runs a second of audio once per configuration. Results go to `summary:` lines (see
//! BENCHMARKS.md, parts 3 and 4).

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use audio::{AudioSink, SampleRate, WavSink};
use protocol::Event;
use protocol::wire::{GenerationConfig, Modality, Setup};
use support::{ServeArgs, Server};
use transport::{Auth, ClientConfig, Endpoint, EventTap, TlsConfig};

const MODEL: &str = "gemini-2.5-flash-native-audio-preview-12-2025";
/// WAV header size written by hound for mono PCM16.
const WAV_HEADER: u64 = 44;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if support::serve_if_asked(&args) {
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--client") {
        client(&args[at + 1..]);
        return;
    }
    if !support::selected("loopback", &args) {
        return;
    }
    let test = args.iter().any(|a| a == "--test");
    // For profiling: `GEMLIVE_BENCH_AUDIO_SECS=60` streams a minute instead of the hour (and of
    // part 4's ten minutes, split over its five rounds).
    let audio_secs = std::env::var("GEMLIVE_BENCH_AUDIO_SECS")
        .ok()
        .map(|s| s.parse::<u64>().expect("GEMLIVE_BENCH_AUDIO_SECS: seconds"));
    let audio = if test {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(audio_secs.unwrap_or(3600))
    };
    let runs: &[(u64, bool, Flavor)] = if args.iter().any(|a| a == "--latency") {
        &[]
    } else if test {
        &[(20, false, Flavor::Multi), (200, true, Flavor::Current)]
    } else {
        &[
            (20, false, Flavor::Multi),
            (20, false, Flavor::Current),
            (200, false, Flavor::Multi),
            (20, true, Flavor::Multi),
            (200, true, Flavor::Multi),
        ]
    };
    let dir = tempfile::tempdir().expect("temp dir");
    println!("loopback: load average {} before", support::load_average());
    for &(chunk_ms, tls, flavor) in runs {
        run(test, dir.path(), audio, chunk_ms, tls, flavor);
    }
    // Part 4 end to end: paced (20x real time, a frame every millisecond) so that frames don't
    // queue behind each other. The flavors take turns, two minutes of audio (6,000 frames) each per
    // round, so that they share the machine's conditions; five rounds, 30,000 frames per flavor.
    let (rounds, paced) = if test {
        (1, Duration::from_secs(2))
    } else {
        (
            5,
            Duration::from_secs(audio_secs.map_or(120, |s| s.div_ceil(5))),
        )
    };
    let flavors = [
        Flavor::Multi,
        Flavor::MultiTask,
        Flavor::Current,
        Flavor::MultiTap,
    ];
    let mut merged: Vec<(Histogram, Histogram)> = flavors
        .iter()
        .map(|_| (Histogram::new(), Histogram::new()))
        .collect();
    for round in 0..rounds {
        for k in 0..flavors.len() {
            let i = (k + round) % flavors.len();
            let r = run_client(dir.path(), paced, 20, false, flavors[i], 20.0);
            merged[i].0.merge(&Histogram::parse(r.text("lat_hist")));
            merged[i].1.merge(&Histogram::parse(r.text("del_hist")));
        }
    }
    for (flavor, (written, delivered)) in flavors.iter().zip(&merged) {
        let summary = format!(
            "latency socket -> sink, client {flavor}, {frames} frames of 20 ms paced at 20x realtime: p50 {p50} us, p99 {p99} us, p99.9 {p999} us, max {max:.1} us (a frame's last byte read by the transport to its PCM written to the WavSink); to the event in the application's hands: p50 {dp50} us, p99 {dp99} us, max {dmax:.1} us",
            flavor = flavor.name(),
            frames = written.count(),
            p50 = written.quantile_us(0.5),
            p99 = written.quantile_us(0.99),
            p999 = written.quantile_us(0.999),
            max = written.max.as_secs_f64() * 1e6,
            dp50 = delivered.quantile_us(0.5),
            dp99 = delivered.quantile_us(0.99),
            dmax = delivered.max.as_secs_f64() * 1e6,
        );
        support::summary(test, &summary);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `tokio::runtime::Runtime::new()`, what `#[tokio::main]` builds: a worker per core.
    Multi,
    /// `#[tokio::main(flavor = "current_thread")]`.
    Current,
    /// The multi-thread runtime, the application's loop in a spawned task (on a worker thread)
    /// rather than in `block_on` (the main thread).
    MultiTask,
    /// The multi-thread runtime, the application's loop in `block_on`, the PCM written to the
    /// sink from an `EventTap` (on the transport's driver task).
    MultiTap,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Self::Multi => "multi_thread",
            Self::Current => "current_thread",
            Self::MultiTask => "multi_thread_task",
            Self::MultiTap => "multi_thread_tap",
        }
    }
}

/// Runs of the client against its own emulator, unpaced: part 3's figures. An hour of 200 ms
/// frames streams in a quarter of a second, so one run is at the mercy of the machine: five runs,
/// the median one reported in full, the range of all.
fn run(test: bool, dir: &Path, audio: Duration, chunk_ms: u64, tls: bool, flavor: Flavor) {
    let runs = if test { 1 } else { 5 };
    let mut all: Vec<(f64, ClientRun)> = (0..runs)
        .map(|_| {
            let r = run_client(dir, audio, chunk_ms, tls, flavor, f64::INFINITY);
            (r.field("frames") / r.field("stream_s"), r)
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (fps, r) = &all[all.len() / 2];
    let (slowest, fastest) = (all[0].0, all[all.len() - 1].0);
    let peak = all
        .iter()
        .map(|(_, r)| r.field("peak_kb"))
        .fold(0.0, f64::max);
    let frames = r.field("frames");
    let streaming = r.field("stream_s");
    let summary = format!(
        "loopback {scheme} {chunk_ms} ms chunks, client {flavor}: {frames:.0} frames of {audio:.0?} in {streaming:.3} s = {fps:.0} frames/s, {xrt:.0}x realtime ({total:.3} s from send_text to turnComplete); client CPU {cpu:.2} s, peak RSS {hwm:.1} MB (at 1/6, 1/2, end of the audio: {cp}); emulator CPU {emu:.2} s, peak RSS {emu_hwm:.0} MB; median of {runs} runs: {slowest:.0} to {fastest:.0} frames/s, peak RSS of all {peak:.1} MB",
        scheme = if tls { "wss" } else { "ws" },
        flavor = flavor.name(),
        xrt = audio.as_secs_f64() / streaming,
        total = r.field("total_s"),
        cpu = r.field("cpu_s"),
        hwm = r.field("peak_kb") / 1024.0,
        cp = r.text("checkpoints_kb"),
        emu = r.emulator_cpu.as_secs_f64(),
        emu_hwm = r.emulator_peak_kb as f64 / 1024.0,
        peak = peak / 1024.0,
    );
    support::summary(test, &summary);
}

/// What a client process reported, and its emulator's figures.
struct ClientRun {
    /// The client's `result:` line: `name=value` pairs.
    result: String,
    emulator_cpu: Duration,
    emulator_peak_kb: u64,
}

impl ClientRun {
    fn text(&self, name: &str) -> &str {
        self.result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{name} in {}", self.result))
    }

    fn field(&self, name: &str) -> f64 {
        self.text(name)
            .parse()
            .unwrap_or_else(|_| panic!("{name} in {}", self.result))
    }
}

/// Starts an emulator answering with `audio` in chunks of `chunk_ms` at `speed` (infinite: unpaced),
/// runs a client process against it and checks the WAV it wrote.
fn run_client(
    dir: &Path,
    audio: Duration,
    chunk_ms: u64,
    tls: bool,
    flavor: Flavor,
    speed: f64,
) -> ClientRun {
    let server = Server::spawn(&ServeArgs {
        speed,
        chunk: Duration::from_millis(chunk_ms),
        reply: Some(audio),
        max_sessions: 4,
        tls_dir: tls.then(|| dir.join("tls")),
    });
    let wav = dir.join("out.wav");
    let pcm_bytes = 24_000 * 2 * audio.as_millis() as u64 / 1000;
    let exe = std::env::current_exe().expect("current_exe");
    let ca = if tls {
        dir.join("tls")
            .join(emulator::CA_FILE)
            .display()
            .to_string()
    } else {
        "-".to_owned()
    };
    // For profiling: `GEMLIVE_BENCH_CLIENT_WRAPPER="valgrind --tool=callgrind
    // --callgrind-out-file=/tmp/client.%p"` runs each client under that command.
    let mut command = support::wrapped_command("GEMLIVE_BENCH_CLIENT_WRAPPER", exe);
    let out = command
        .args(["--client", &server.url, &wav.display().to_string(), &ca])
        .arg(flavor.name())
        .arg(pcm_bytes.to_string())
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let emulator_cpu = server.cpu();
    let emulator_peak_kb = server.peak_rss_kb();
    drop(server);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result: "))
        .expect("the client's result line")
        .to_owned();
    let wav_len = std::fs::metadata(&wav).expect("the WAV file").len();
    assert_eq!(
        wav_len,
        WAV_HEADER + pcm_bytes,
        "the WAV holds all the audio"
    );
    // The kernel would otherwise write the WAV's pages back to disk during the next run, on the
    // same 2 cores: do it now, outside anybody's measurement.
    std::fs::File::open(&wav)
        .and_then(|f| f.sync_all())
        .expect("sync the WAV");
    std::fs::remove_file(&wav).expect("remove the WAV");
    ClientRun {
        result,
        emulator_cpu,
        emulator_peak_kb,
    }
}

/// The client process: `--client URL WAV CA|- FLAVOR PCM_BYTES`.
fn client(args: &[String]) {
    let [url, wav, ca, flavor, expected] = args else {
        panic!("--client URL WAV CA FLAVOR PCM_BYTES");
    };
    let expected: u64 = expected.parse().expect("PCM_BYTES");
    let runtime = match flavor.as_str() {
        "current_thread" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    }
    .expect("runtime");
    let ca = (ca != "-").then(|| PathBuf::from(ca));
    let r = if flavor == "multi_thread_task" {
        let (url, wav) = (url.clone(), PathBuf::from(wav));
        runtime
            .block_on(runtime.spawn(async move { receive(&url, &wav, ca, expected, false).await }))
            .expect("the receiving task")
    } else {
        let tap = flavor == "multi_thread_tap";
        runtime.block_on(receive(url, Path::new(wav), ca, expected, tap))
    };
    println!(
        "result: frames={} stream_s={:.6} total_s={:.6} cpu_s={:.3} peak_kb={} checkpoints_kb={} lat_hist={} del_hist={}",
        r.frames,
        r.streaming.as_secs_f64(),
        r.total.as_secs_f64(),
        support::self_cpu().as_secs_f64(),
        support::self_peak_rss_kb(),
        r.checkpoints
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        r.latencies.encode(),
        r.delivered.encode(),
    );
}

struct Received {
    frames: u64,
    /// First audio frame to `turnComplete`.
    streaming: Duration,
    /// `send_text` to `turnComplete` (includes the emulator preparing the reply).
    total: Duration,
    /// Peak RSS after a sixth, half and all of the audio.
    checkpoints: Vec<u64>,
    /// Per audio frame: from the transport reading its last byte to its PCM in the sink.
    latencies: Histogram,
    /// Per audio frame: from the transport reading its last byte to the application holding its
    /// `Event::Audio`.
    delivered: Histogram,
}

/// Latencies in 1 µs buckets up to 20 ms (a fixed 80 KB, so that measuring does not grow the
/// client's memory with the hour), plus the exact maximum.
struct Histogram {
    buckets: Vec<u32>,
    max: Duration,
}

impl Histogram {
    const BUCKETS: usize = 20_000;

    fn new() -> Self {
        Self {
            buckets: vec![0; Self::BUCKETS],
            max: Duration::ZERO,
        }
    }

    fn record(&mut self, d: Duration) {
        let us = usize::try_from(d.as_micros())
            .unwrap_or(usize::MAX)
            .min(Self::BUCKETS - 1);
        self.buckets[us] += 1;
        self.max = self.max.max(d);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|&c| u64::from(c)).sum()
    }

    fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    /// `MAX_NS;US:COUNT,US:COUNT,...` for the non-empty buckets (the client's `result:` line).
    fn encode(&self) -> String {
        let buckets: Vec<String> = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(us, c)| format!("{us}:{c}"))
            .collect();
        format!("{};{}", self.max.as_nanos(), buckets.join(","))
    }

    fn parse(text: &str) -> Self {
        let mut h = Self::new();
        let (max, buckets) = text.split_once(';').expect("MAX_NS;BUCKETS");
        h.max = Duration::from_nanos(max.parse().expect("max"));
        for bucket in buckets.split(',').filter(|b| !b.is_empty()) {
            let (us, count) = bucket.split_once(':').expect("US:COUNT");
            h.buckets[us.parse::<usize>().expect("us")] = count.parse().expect("count");
        }
        h
    }

    /// The q-quantile in microseconds (the bucket's lower edge).
    fn quantile_us(&self, q: f64) -> f64 {
        let total = self.count();
        let rank = (total as f64 * q).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (us, &c) in self.buckets.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return us as f64;
            }
        }
        self.max.as_secs_f64() * 1e6
    }
}

async fn receive(url: &str, wav: &Path, ca: Option<PathBuf>, expected: u64, tap: bool) -> Received {
    let mut setup = Setup::new(MODEL);
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    let endpoint = Endpoint::custom(url).expect("endpoint");
    let mut config = ClientConfig::new(endpoint, Auth::api_key("bench"), setup);
    if let Some(ca) = ca {
        config.tls = TlsConfig::only_ca_file(ca);
    }
    let rate = SampleRate::new(24_000).expect("rate");
    let out = Arc::new(Mutex::new(Output {
        sink: WavSink::create(wav, rate).expect("create the WAV"),
        latencies: Histogram::new(),
    }));
    if tap {
        let out = Arc::clone(&out);
        config.event_tap = Some(EventTap::new(move |event: &Event| {
            out.lock().expect("output").write(event);
        }));
    }
    let (sender, mut events) = transport::connect(config).await.expect("connect");
    let started = Instant::now();
    sender.send_text("an hour, please").await.expect("send");
    let mut frames = 0u64;
    let mut bytes = 0u64;
    let mut first = None;
    let mut checkpoints = Vec::new();
    let mut delivered = Histogram::new();
    let mut thresholds = vec![expected / 6, expected / 2];
    loop {
        let event = events.next().await.expect("events until turnComplete");
        match &event {
            Event::Audio { data, received, .. } => {
                delivered.record(received.elapsed());
                first.get_or_insert_with(Instant::now);
                if !tap {
                    out.lock().expect("output").write(&event);
                }
                frames += 1;
                bytes += data.len() as u64;
                // 10 and 30 minutes of an hour: a sixth and a half.
                if let Some(&at) = thresholds.first()
                    && bytes >= at
                {
                    thresholds.remove(0);
                    checkpoints.push(support::self_peak_rss_kb());
                }
            }
            Event::TurnComplete { .. } => break,
            Event::Closed(close) => panic!("closed before turnComplete: {close}"),
            _ => {}
        }
    }
    let end = Instant::now();
    sender.close().await.expect("close");
    while events.next().await.is_some() {}
    let mut out = out.lock().expect("output");
    out.sink.finish().expect("finish the WAV");
    checkpoints.push(support::self_peak_rss_kb());
    Received {
        frames,
        streaming: end - first.unwrap_or(end),
        total: end - started,
        checkpoints,
        latencies: std::mem::replace(&mut out.latencies, Histogram::new()),
        delivered,
    }
}

/// Where the PCM goes: the WAV file, and each frame's latency once it is written.
struct Output {
    sink: WavSink<std::io::BufWriter<std::fs::File>>,
    latencies: Histogram,
}

impl Output {
    fn write(&mut self, event: &Event) {
        if let Event::Audio {
            data,
            sample_rate,
            received,
            ..
        } = event
        {
            let rate = SampleRate::new(*sample_rate).expect("rate");
            self.sink.write_le_bytes(rate, data).expect("write the WAV");
            self.latencies.record(received.elapsed());
        }
    }
}
