//! Issue 7 part 3: end to end over loopback. The emulator (a child process, pacing off) streams an
//! hour of 24 kHz audio in chunks of a chosen size; the client (another child process, so that its
//! CPU time and peak RSS are its own) is the application path a user writes: `transport::connect`,
//! `send_text`, `LiveEvents::next()` and every `Event::Audio` into `audio::WavSink`.
//!
//! `cargo bench -p gemlive-tests --bench loopback` measures; `-- --test` runs a second of audio
//! once per configuration. Results go to `summary:` lines (see BENCHMARKS.md, part 3).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audio::{AudioSink, SampleRate, WavSink};
use protocol::Event;
use protocol::wire::{GenerationConfig, Modality, Setup};
use support::{ServeArgs, Server};
use transport::{Auth, ClientConfig, Endpoint, TlsConfig};

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
    // part 4's ten minutes).
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
        run(
            test,
            dir.path(),
            audio,
            chunk_ms,
            tls,
            flavor,
            f64::INFINITY,
        );
    }
    // Part 4 end to end: paced (20x real time, a frame every millisecond) so that frames don't
    // queue behind each other; ten minutes of audio, 30,000 frames.
    let paced = if test {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(audio_secs.unwrap_or(600))
    };
    for flavor in [Flavor::Multi, Flavor::MultiTask, Flavor::Current] {
        run(test, dir.path(), paced, 20, false, flavor, 20.0);
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
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Self::Multi => "multi_thread",
            Self::Current => "current_thread",
            Self::MultiTask => "multi_thread_task",
        }
    }
}

fn run(
    test: bool,
    dir: &Path,
    audio: Duration,
    chunk_ms: u64,
    tls: bool,
    flavor: Flavor,
    speed: f64,
) {
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
    let emulator_peak = server.peak_rss_kb();
    drop(server);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result: "))
        .expect("the client's result line");
    let field = |name: &str| -> f64 {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {result}"))
    };
    let wav_len = std::fs::metadata(&wav).expect("the WAV file").len();
    assert_eq!(
        wav_len,
        WAV_HEADER + pcm_bytes,
        "the WAV holds all the audio"
    );
    std::fs::remove_file(&wav).expect("remove the WAV");
    let frames = field("frames");
    let streaming = field("stream_s");
    let total = field("total_s");
    if speed.is_finite() {
        let summary = format!(
            "latency socket -> sink, client {flavor}, {frames:.0} frames of {chunk_ms} ms paced at {speed}x realtime: p50 {p50:.1} us, p99 {p99:.1} us, max {max:.1} us (a frame's last byte read by the transport to its PCM written to the WavSink by the application); to the event in the application's hands: p50 {dp50:.1} us, p99 {dp99:.1} us, max {dmax:.1} us",
            p50 = field("lat_p50_us"),
            p99 = field("lat_p99_us"),
            max = field("lat_max_us"),
            dp50 = field("del_p50_us"),
            dp99 = field("del_p99_us"),
            dmax = field("del_max_us"),
            flavor = flavor.name(),
        );
        support::summary(test, &summary);
        return;
    }
    let summary = format!(
        "loopback {scheme} {chunk_ms} ms chunks, client {flavor}: {frames:.0} frames of {audio:.0?} in {streaming:.3} s = {fps:.0} frames/s, {xrt:.0}x realtime ({total:.3} s from send_text to turnComplete); client CPU {cpu:.2} s, peak RSS {hwm:.1} MB (at 1/6, 1/2, end of the audio: {cp}); emulator CPU {emu:.2} s, peak RSS {emu_hwm:.0} MB",
        scheme = if tls { "wss" } else { "ws" },
        flavor = flavor.name(),
        fps = frames / streaming,
        xrt = audio.as_secs_f64() / streaming,
        cpu = field("cpu_s"),
        hwm = field("peak_kb") / 1024.0,
        cp = result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("checkpoints_kb="))
            .unwrap_or("?"),
        emu = emulator_cpu.as_secs_f64(),
        emu_hwm = emulator_peak as f64 / 1024.0,
    );
    support::summary(test, &summary);
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
            .block_on(runtime.spawn(async move { receive(&url, &wav, ca, expected).await }))
            .expect("the receiving task")
    } else {
        runtime.block_on(receive(url, Path::new(wav), ca, expected))
    };
    let latencies = &r.latencies;
    println!(
        "result: frames={} stream_s={:.6} total_s={:.6} cpu_s={:.3} peak_kb={} checkpoints_kb={} lat_p50_us={:.1} lat_p99_us={:.1} lat_max_us={:.1} del_p50_us={:.1} del_p99_us={:.1} del_max_us={:.1}",
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
        latencies.quantile_us(0.5),
        latencies.quantile_us(0.99),
        latencies.max.as_secs_f64() * 1e6,
        r.delivered.quantile_us(0.5),
        r.delivered.quantile_us(0.99),
        r.delivered.max.as_secs_f64() * 1e6,
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

    /// The q-quantile in microseconds (the bucket's lower edge).
    fn quantile_us(&self, q: f64) -> f64 {
        let total: u64 = self.buckets.iter().map(|&c| u64::from(c)).sum();
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

async fn receive(url: &str, wav: &Path, ca: Option<PathBuf>, expected: u64) -> Received {
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
    let (sender, mut events) = transport::connect(config).await.expect("connect");
    let rate = SampleRate::new(24_000).expect("rate");
    let mut sink = WavSink::create(wav, rate).expect("create the WAV");
    let started = Instant::now();
    sender.send_text("an hour, please").await.expect("send");
    let mut frames = 0u64;
    let mut bytes = 0u64;
    let mut first = None;
    let mut checkpoints = Vec::new();
    let mut latencies = Histogram::new();
    let mut delivered = Histogram::new();
    let mut thresholds = vec![expected / 6, expected / 2];
    loop {
        match events.next().await.expect("events until turnComplete") {
            Event::Audio {
                data,
                sample_rate,
                received,
            } => {
                delivered.record(received.elapsed());
                first.get_or_insert_with(Instant::now);
                let rate = SampleRate::new(sample_rate).expect("rate");
                sink.write_le_bytes(rate, &data).expect("write the WAV");
                latencies.record(received.elapsed());
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
    sink.finish().expect("finish the WAV");
    checkpoints.push(support::self_peak_rss_kb());
    sender.close().await.expect("close");
    Received {
        frames,
        streaming: end - first.unwrap_or(end),
        total: end - started,
        checkpoints,
        latencies,
        delivered,
    }
}
