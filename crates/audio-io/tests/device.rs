//! Real cpal streams through a headless PulseAudio (null sink "speaker",
//! virtual microphone "mic" fed through "micsink"). Run them with
//!
//! ```sh
//! source .ci/audio-env.sh
//! cargo test -p gemlive-audio --features device -- --ignored
//! kill "$PULSE_PID"
//! ```
#![cfg(feature = "device")]

use std::f32::consts::TAU;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use gemlive_audio::device::{
    DeviceSelector, MicConfig, MicSource, SpeakerConfig, SpeakerSink, StreamErrors, input_devices,
    output_devices,
};
use gemlive_audio::{AudioSink, AudioSource, SampleRate, SinkStatus, pcm, resample_all};

/// The streams share the virtual devices: one test at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(
        std::env::var_os("GEMLIVE_PULSE").is_some(),
        "GEMLIVE_PULSE is not set: source .ci/audio-env.sh first"
    );
    guard
}

/// Speaker settings with a 40 ms device period, which never glitched on a
/// loaded 2-core CI machine (10 and 20 ms sometimes did), or the period from
/// `GEMLIVE_PERIOD_MS` (0 = the device's default).
fn speaker_config() -> SpeakerConfig {
    let ms = std::env::var("GEMLIVE_PERIOD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    SpeakerConfig {
        period: (ms > 0).then(|| Duration::from_millis(ms)),
        ..SpeakerConfig::default()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Spoken test phrase, made with espeak-ng and converted by sox to `rate`
/// mono 16-bit; returns the samples.
fn speech(dir: &Path, rate: u32) -> (std::path::PathBuf, Vec<i16>) {
    let raw = dir.join("speech_raw.wav");
    let out = dir.join(format!("speech{rate}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "170", "-w"])
        .arg(&raw)
        .arg("Hello Gemini, one two three."));
    run(Command::new("sox")
        .arg(&raw)
        .args([
            "-r",
            &rate.to_string(),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
        ])
        .arg(&out));
    let samples = hound::WavReader::open(&out)
        .unwrap()
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect();
    (out, samples)
}

/// RMS of `x` over 10 ms windows at `rate`.
fn envelope(x: &[f32], rate: usize) -> Vec<f32> {
    x.chunks(rate / 100)
        .map(|w| (w.iter().map(|s| s * s).sum::<f32>() / w.len() as f32).sqrt())
        .collect()
}

/// Finds where `reference` starts in `recording` (coarse by envelope, then
/// sample-exact) and returns (offset, SNR in dB after a least-squares gain).
/// Also checks that every loud 200 ms window sits at that same offset, i.e.
/// that nothing was dropped or repeated in between.
fn align(recording: &[f32], reference: &[f32], rate: usize) -> (usize, f32) {
    let (er, ef) = (envelope(recording, rate), envelope(reference, rate));
    assert!(er.len() > ef.len(), "recording shorter than the reference");
    let coarse = (0..=er.len() - ef.len())
        .max_by(|&a, &b| {
            let c = |l: usize| ef.iter().zip(&er[l..]).map(|(x, y)| x * y).sum::<f32>();
            c(a).total_cmp(&c(b))
        })
        .unwrap();
    let w = rate / 100;
    let lo = (coarse * w).saturating_sub(w);
    let hi = (coarse * w + w).min(recording.len() - reference.len());
    // Fine search on the loudest 200 ms of the reference (fast in debug builds).
    let win = rate / 5;
    let k = (0..reference.len() / win)
        .max_by(|&a, &b| {
            let e = |k: usize| {
                reference[k * win..(k + 1) * win]
                    .iter()
                    .map(|x| x * x)
                    .sum::<f32>()
            };
            e(a).total_cmp(&e(b))
        })
        .unwrap();
    let part = &reference[k * win..(k + 1) * win];
    let part_score = |o: usize| -> f32 {
        part.iter()
            .zip(&recording[o + k * win..])
            .map(|(x, y)| x * y)
            .sum()
    };
    let best = (lo..=hi)
        .max_by(|&a, &b| part_score(a).total_cmp(&part_score(b)))
        .unwrap();
    let score = |o: usize| -> f32 {
        reference
            .iter()
            .zip(&recording[o..])
            .map(|(x, y)| x * y)
            .sum()
    };
    let seg = &recording[best..best + reference.len()];
    let gain = score(best) / reference.iter().map(|x| x * x).sum::<f32>();
    let err: f32 = reference
        .iter()
        .zip(seg)
        .map(|(x, y)| (y - gain * x).powi(2))
        .sum();
    let sig: f32 = reference.iter().map(|x| (gain * x).powi(2)).sum();
    let snr = 10.0 * (sig / err.max(1e-12)).log10();
    // Per 200 ms window: the best local offset and its SNR.
    let mut lags = Vec::new();
    for (k, r) in reference.chunks_exact(win).enumerate() {
        if r.iter().map(|x| x * x).sum::<f32>() < 1e-3 * win as f32 * 1e-2 {
            continue;
        }
        let base = best + k * win;
        let span = rate / 500;
        let lo = base.saturating_sub(span);
        let hi = (base + span).min(recording.len() - win);
        let sc = |o: usize| -> f32 { r.iter().zip(&recording[o..]).map(|(x, y)| x * y).sum() };
        let b = (lo..=hi)
            .max_by(|&a, &b2| sc(a).total_cmp(&sc(b2)))
            .unwrap();
        let g = sc(b) / r.iter().map(|x| x * x).sum::<f32>();
        let e: f32 = r
            .iter()
            .zip(&recording[b..])
            .map(|(x, y)| (y - g * x).powi(2))
            .sum();
        let s2: f32 = r.iter().map(|x| (g * x).powi(2)).sum();
        lags.push((
            k,
            b as isize - base as isize,
            (10.0 * (s2 / e.max(1e-12)).log10()) as i32,
        ));
    }
    println!("window lags/SNR: {lags:?}");
    assert!(
        lags.iter().all(|&(_, lag, _)| lag == 0),
        "audio moved against the reference between windows: {lags:?}"
    );
    (best, snr)
}

fn to_f32(x: &[i16]) -> Vec<f32> {
    x.iter().map(|&s| pcm::i16_to_f32(s)).collect()
}

/// Records the speaker's monitor at 48 kHz mono while alive.
struct Recorder(Child);

impl Recorder {
    /// Starts parec and waits until it is recording (the monitor delivers
    /// silence continuously), so nothing played afterwards is missed.
    fn start(path: &Path) -> Self {
        let child = Command::new("parec")
            .args([
                "--device=speaker.monitor",
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
            ])
            .arg("--latency-msec=10")
            .stdout(std::fs::File::create(path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec");
        let t = Instant::now();
        while std::fs::metadata(path).map_or(0, |m| m.len()) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "parec is not recording"
            );
            thread::sleep(Duration::from_millis(5));
        }
        Self(child)
    }
}

impl Drop for Recorder {
    /// Stops parec with SIGINT, so it writes out what it has buffered; kills
    /// it if it does not exit within a second (also when a test panics).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.0.id().to_string())
            .status();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(1) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_raw(path: &Path) -> Vec<i16> {
    pcm::i16_from_le_bytes(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
#[ignore = "needs PulseAudio: run via .ci/audio-env.sh"]
fn lists_and_selects_devices() {
    let _g = serial();
    let inputs = input_devices().unwrap();
    let outputs = output_devices().unwrap();
    assert!(!inputs.is_empty() && !outputs.is_empty());
    for d in inputs.iter().chain(&outputs) {
        println!(
            "{:>2} {:<10} {:<30} default={} {:?}",
            d.index, d.id, d.name, d.is_default, d.format
        );
    }
    let pulse = outputs
        .iter()
        .find(|d| d.id.ends_with(":pulse"))
        .expect("ALSA pulse PCM");
    // By index and by name.
    for sel in [DeviceSelector::Index(pulse.index), "pulse".parse().unwrap()] {
        let sink =
            SpeakerSink::open(&sel, SampleRate::LIVE_OUTPUT, SpeakerConfig::default()).unwrap();
        println!("{sel} -> {} {:?}", sink.device_name(), sink.device_format());
    }
    let err = SpeakerSink::open(
        &DeviceSelector::Name("no such device".into()),
        SampleRate::LIVE_OUTPUT,
        SpeakerConfig::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no single output device matches"),
        "{err}"
    );
}

/// espeak speech played into the virtual mic comes out of the capture path
/// as 16 kHz chunks.
#[test]
#[ignore = "needs PulseAudio: run via .ci/audio-env.sh"]
fn mic_captures_speech_as_16k_chunks() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Feed the mic at its own 48 kHz, so PulseAudio does not resample.
    let (speech48, fed) = speech(dir.path(), 48_000);
    let r48 = SampleRate::new(48_000).unwrap();
    // What a perfect capture path would return: the fed audio at 16 kHz.
    let reference16 = resample_all(&to_f32(&fed), r48, SampleRate::LIVE_INPUT).unwrap();
    let (got, stats) = retry_on_glitch(|| {
        let mut mic = MicSource::open(&DeviceSelector::Default, MicConfig::default()).unwrap();
        println!("mic: {} {:?}", mic.device_name(), mic.device_format());
        // Wait for the stream to run before feeding it.
        let t0 = Instant::now();
        let first = mic.next_chunk().unwrap().unwrap();
        println!("first chunk after {:?}", t0.elapsed());
        let mut player = Command::new("paplay")
            .arg("--device=micsink")
            .arg(&speech48)
            .spawn()
            .unwrap();
        let want = reference16.len() + 16_000; // speech + 1 s of slack
        let mut got = first.samples;
        while got.len() < want {
            let c = mic.next_chunk().unwrap().expect("a mic never ends");
            assert_eq!(c.rate, SampleRate::LIVE_INPUT);
            assert_eq!(c.samples.len(), 640, "40 ms chunks");
            got.extend(c.samples);
        }
        let result = (got, mic.stats());
        let errors = mic.stream_errors();
        drop(mic);
        assert!(player.wait().unwrap().success());
        (result, errors)
    });
    // Compare at 48 kHz, so the unknown sub-sample offset between the 16 kHz
    // sample grids does not count as error.
    let up = |x: &[f32]| resample_all(x, SampleRate::LIVE_INPUT, r48).unwrap();
    let (offset, snr) = align(&up(&to_f32(&got)), &up(&reference16), 48_000);
    println!(
        "captured {} s, speech at {:.3} s, SNR {snr:.1} dB, {stats:?}",
        got.len() as f32 / 16_000.0,
        offset as f32 / 48_000.0,
    );
    assert!(snr > 30.0, "speech not found intact (SNR {snr:.1} dB)");
    assert_eq!(stats.overrun_samples, 0);
}

/// Runs `attempt` up to three times while the audio backend reports
/// glitches (ALSA's pulse plugin returns EIO from `snd_pcm_avail_delay`
/// when the machine is overloaded); the last result is returned either way.
fn retry_on_glitch<T>(mut attempt: impl FnMut() -> (T, StreamErrors)) -> T {
    for n in 1.. {
        let (result, errors) = attempt();
        if errors == StreamErrors::default() || n == 3 {
            return result;
        }
        println!("attempt {n}: the backend reported {errors:?}; retrying");
    }
    unreachable!()
}

struct Played {
    took: Duration,
    status: SinkStatus,
    recorded: Vec<i16>,
}

/// A 24 kHz reply written to the speaker comes back from its monitor intact.
#[test]
#[ignore = "needs PulseAudio: run via .ci/audio-env.sh"]
fn speaker_plays_a_24k_reply_intact() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let (_, reply) = speech(dir.path(), 24_000);
    let reference = resample_all(
        &to_f32(&reply),
        SampleRate::LIVE_OUTPUT,
        SampleRate::new(48_000).unwrap(),
    )
    .unwrap();
    let p = retry_on_glitch(|| {
        let rec = dir.path().join("monitor.raw");
        let recorder = Recorder::start(&rec);
        let t_open = Instant::now();
        let mut sink = SpeakerSink::open(
            &DeviceSelector::Default,
            SampleRate::LIVE_OUTPUT,
            speaker_config(),
        )
        .unwrap();
        println!(
            "speaker: {} {:?}, running after {:?}",
            sink.device_name(),
            sink.device_format(),
            t_open.elapsed()
        );
        // The server sends faster than real time: write it all at once, as bytes.
        let t0 = Instant::now();
        for piece in reply.chunks(4_800) {
            sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &pcm::i16_to_le_bytes(piece))
                .unwrap();
        }
        sink.finish().unwrap();
        let took = t0.elapsed();
        let status = sink.status();
        thread::sleep(Duration::from_millis(300));
        drop(recorder);
        let p = Played {
            took,
            status,
            recorded: read_raw(&rec),
        };
        (p, sink.stream_errors())
    });
    let (offset, snr) = align(&to_f32(&p.recorded), &reference, 48_000);
    let reply_len = SampleRate::LIVE_OUTPUT.duration_of(reply.len() as u64);
    println!(
        "reply {reply_len:?} played in {:?}, {:?}, on the monitor at {:.3} s, SNR {:.1} dB",
        p.took,
        p.status,
        offset as f32 / 48_000.0,
        snr
    );
    assert!(snr > 40.0, "reply not intact (SNR {snr:.1} dB)");
    let tolerance = Duration::from_millis(1);
    assert!(p.status.played + tolerance >= reply_len && p.status.played <= reply_len + tolerance);
    assert_eq!(p.status.queued, Duration::ZERO);
    assert!(
        p.took >= reply_len - Duration::from_millis(100),
        "played in real time"
    );
}

struct Flushed {
    at_flush: Duration,
    after: Duration,
    later: Duration,
    dropped: Duration,
    heard: Duration,
}

/// A flush mid-playback stops the speaker at once; what reached the monitor
/// matches what the sink says was played.
#[test]
#[ignore = "needs PulseAudio: run via .ci/audio-env.sh"]
fn flush_mid_playback_stops_the_speaker() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // 4 s of a 440 Hz tone, sent all at once.
    let tone: Vec<i16> = (0..96_000)
        .map(|i| (0.3 * (TAU * 440.0 * i as f32 / 24_000.0).sin() * 32_767.0) as i16)
        .collect();
    let f = retry_on_glitch(|| {
        let rec = dir.path().join("monitor.raw");
        let recorder = Recorder::start(&rec);
        let mut sink = SpeakerSink::open(
            &DeviceSelector::Default,
            SampleRate::LIVE_OUTPUT,
            speaker_config(),
        )
        .unwrap();
        sink.write(SampleRate::LIVE_OUTPUT, &tone).unwrap();
        let t0 = Instant::now();
        while sink.played() < Duration::from_millis(800) {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "playback never started"
            );
            thread::sleep(Duration::from_millis(2));
        }
        let at_flush = sink.played();
        let dropped = sink.flush();
        // One callback period later nothing more is played.
        thread::sleep(Duration::from_millis(40));
        let after = sink.played();
        thread::sleep(Duration::from_millis(500));
        let later = sink.played();
        drop(recorder);
        let recorded = read_raw(&rec);
        let loud = recorded
            .chunks(480)
            .filter(|w| pcm::rms_dbfs(w) > -30.0)
            .count();
        let heard = Duration::from_millis(10 * loud as u64);
        let f = Flushed {
            at_flush,
            after,
            later,
            dropped,
            heard,
        };
        (f, sink.stream_errors())
    });
    println!(
        "played {:?} at flush, {:?} 40 ms later; dropped {:?}; monitor heard {:?}",
        f.at_flush, f.after, f.dropped, f.heard
    );
    assert_eq!(f.later, f.after, "still playing after the flush");
    assert!(
        f.after - f.at_flush <= Duration::from_millis(30),
        "flush took more than a period"
    );
    assert!(f.dropped > Duration::from_secs(2));
    // The monitor heard what the sink says it played (within 50 ms), and
    // certainly not the whole tone.
    let diff = f.heard.abs_diff(f.after);
    assert!(
        diff <= Duration::from_millis(50),
        "monitor {:?} vs played {:?}",
        f.heard,
        f.after
    );
}

/// Routes the speaker's monitor into the virtual mic (an acoustic echo)
/// while alive.
#[cfg(feature = "aec")]
struct EchoPath(String);

#[cfg(feature = "aec")]
impl EchoPath {
    fn load() -> Self {
        let out = Command::new("pactl")
            .args([
                "load-module",
                "module-loopback",
                "source=speaker.monitor",
                "sink=micsink",
                "latency_msec=40",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

#[cfg(feature = "aec")]
impl Drop for EchoPath {
    fn drop(&mut self) {
        let _ = Command::new("pactl")
            .args(["unload-module", &self.0])
            .status();
    }
}

/// With the speaker looped back into the mic, the echo canceller (fed with
/// what the speaker actually played) removes the model's own voice from the
/// capture.
#[cfg(feature = "aec")]
#[test]
#[ignore = "needs PulseAudio: run via .ci/audio-env.sh"]
fn echo_canceller_removes_the_speaker_from_the_mic() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let (_, reply) = speech(dir.path(), 24_000);
    let _echo = EchoPath::load();
    let mut speaker = SpeakerSink::open(
        &DeviceSelector::Default,
        SampleRate::LIVE_OUTPUT,
        SpeakerConfig {
            echo_reference: true,
            ..speaker_config()
        },
    )
    .unwrap();
    let reference = speaker.take_echo_reference().unwrap();
    let mut raw = MicSource::open(&DeviceSelector::Default, MicConfig::default()).unwrap();
    let mut cancelled = MicSource::open(&DeviceSelector::Default, MicConfig::default())
        .unwrap()
        .with_echo_canceller(reference)
        .unwrap();
    // Both mics are running: start the "model" talking, twice over.
    raw.next_chunk().unwrap();
    cancelled.next_chunk().unwrap();
    for _ in 0..2 {
        speaker.write(SampleRate::LIVE_OUTPUT, &reply).unwrap();
    }
    let total = 2 * reply.len() * 2 / 3; // at 16 kHz
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while a.len() < total || b.len() < total {
        if a.len() < total {
            a.extend(raw.next_chunk().unwrap().unwrap().samples);
        }
        if b.len() < total {
            b.extend(cancelled.next_chunk().unwrap().unwrap().samples);
        }
    }
    // Judge the second half, after the canceller has converged.
    let half = total / 2;
    let (echo, left) = (
        pcm::rms_dbfs(&a[half..total]),
        pcm::rms_dbfs(&b[half..total]),
    );
    println!(
        "mic without AEC {echo:.1} dBFS, with AEC {left:.1} dBFS: {:.1} dB removed",
        echo - left
    );
    assert!(echo > -40.0, "the loopback did not carry the echo");
    assert!(echo - left > 15.0, "only {:.1} dB removed", echo - left);

    // Now the user talks (the speaker is silent): the voice must get through.
    let (speech48, fed) = speech(dir.path(), 48_000);
    let mut player = Command::new("paplay")
        .arg("--device=micsink")
        .arg(&speech48)
        .spawn()
        .unwrap();
    let more = fed.len() / 3 + 8_000;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while a.len() < more || b.len() < more {
        if a.len() < more {
            a.extend(raw.next_chunk().unwrap().unwrap().samples);
        }
        if b.len() < more {
            b.extend(cancelled.next_chunk().unwrap().unwrap().samples);
        }
    }
    assert!(player.wait().unwrap().success());
    let (voice, kept) = (pcm::rms_dbfs(&a[..more]), pcm::rms_dbfs(&b[..more]));
    println!("user voice without AEC {voice:.1} dBFS, with AEC {kept:.1} dBFS");
    assert!(voice > -40.0, "the user's voice did not reach the mic");
    assert!(
        voice - kept < 6.0,
        "the canceller suppressed the user ({kept:.1} dBFS)"
    );
}
