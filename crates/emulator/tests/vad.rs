//! Voice activity detection on real speech and real noise floors, data-driven: each file in
//! `tests/vad/` is a scenario (audio made of the corpus's recorded clips, espeak-ng speech, tone
//! bursts and pauses, with white noise mixed in at several levels), sent to a real emulator on
//! each backend (the Gemini API's sensitivity defaults are high, Vertex's low), and the number of
//! speech turns the emulator takes is asserted.
//!
//! The corpus comes from `$GEMLIVE_CONFORMANCE_DIR` (default `../shared/conformance/sessions`
//! next to the workspace); espeak-ng must be on `PATH` (`.ci/run` installs it). Scenarios that
//! need what is missing say so and are skipped.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// How long the emulator may stay silent before a scenario's turns are counted.
const QUIET: Duration = Duration::from_millis(2500);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    about: String,
    audio: Vec<Piece>,
    /// White noise added to everything, dBFS RMS (`-90`: practically none). Default: none.
    #[serde(default = "no_noise")]
    noise_db: Vec<f64>,
    apis: Vec<String>,
    /// Frame size the audio is sent in (`0`: all in one frame).
    chunk_ms: Vec<u32>,
    turns: usize,
}

fn no_noise() -> Vec<f64> {
    vec![-120.0]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum Piece {
    /// The first client audio frame of a recorded corpus session, as recorded.
    Corpus {
        corpus: String,
    },
    /// espeak-ng saying this, at -26 dBFS RMS.
    Say {
        say: String,
    },
    Silence {
        silence_ms: u32,
    },
    /// A 440 Hz burst.
    Tone {
        tone_ms: u32,
        db: f64,
    },
}

const RATE: u32 = 16_000;

fn corpus_dir() -> PathBuf {
    std::env::var_os("GEMLIVE_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sessions"),
        PathBuf::from,
    )
}

/// Why a piece cannot be made here.
type Missing = String;

fn corpus_clip(name: &str) -> Result<Vec<f64>, Missing> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("no conformance corpus at {}: {e}", path.display()))?;
    let frame = text
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|l| {
            let f = &l["frame"];
            let ri = f.get("realtimeInput").or_else(|| f.get("realtime_input"))?;
            ri.pointer("/audio/data")?.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("{name}: no audio frame"));
    let bytes = protocol::wire::decode_base64(&frame).expect("base64 audio");
    Ok(bytes
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
        .collect())
}

fn espeak(text: &str) -> Result<Vec<f64>, Missing> {
    let out = std::process::Command::new("espeak-ng")
        .args(["--stdout", "-v", "en-us", "--", text])
        .output()
        .map_err(|e| format!("espeak-ng is not installed ({e}); .ci/run installs it"))?;
    assert!(out.status.success(), "espeak-ng failed");
    let wav = hound::WavReader::new(std::io::Cursor::new(out.stdout)).expect("espeak WAV");
    let from = wav.spec().sample_rate;
    let samples: Vec<f64> = wav
        .into_samples::<i16>()
        .map_while(Result::ok)
        .map(f64::from)
        .collect();
    // Linear resampling to 16 kHz, then -26 dBFS RMS.
    let n = samples.len() * RATE as usize / from as usize;
    let resampled: Vec<f64> = (0..n)
        .map(|i| {
            let pos = i as f64 * f64::from(from) / f64::from(RATE);
            let j = pos as usize;
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * (pos - j as f64)
        })
        .collect();
    let rms = (resampled.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
    let gain = level(-26.0) / rms.max(1.0);
    Ok(resampled.into_iter().map(|x| x * gain).collect())
}

/// The RMS sample value of `db` dBFS.
fn level(db: f64) -> f64 {
    10f64.powf(db / 20.0) * 32768.0
}

/// Deterministic white noise (xorshift, Box-Muller) at `db` dBFS RMS.
fn add_noise(audio: &mut [f64], db: f64) {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let sigma = level(db);
    for x in audio {
        let (u1, u2) = (uniform().max(1e-12), uniform());
        *x += sigma * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    }
}

fn build(pieces: &[Piece]) -> Result<Vec<f64>, Missing> {
    let mut audio = Vec::new();
    for p in pieces {
        match p {
            Piece::Corpus { corpus } => audio.extend(corpus_clip(corpus)?),
            Piece::Say { say } => audio.extend(espeak(say)?),
            Piece::Silence { silence_ms } => {
                audio.extend(std::iter::repeat_n(
                    0.0,
                    (RATE / 1000 * silence_ms) as usize,
                ));
            }
            Piece::Tone { tone_ms, db } => {
                let amp = level(*db) * std::f64::consts::SQRT_2;
                audio.extend((0..RATE / 1000 * tone_ms).map(|i| {
                    (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / f64::from(RATE)).sin()
                        * amp
                }));
            }
        }
    }
    Ok(audio)
}

fn pcm(audio: &[f64]) -> Vec<u8> {
    audio
        .iter()
        .flat_map(|x| (x.round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect()
}

/// Sends `audio` as the SDKs do and counts the speech turns the emulator takes.
async fn turns(api: &str, audio: &[u8], chunk_ms: u32) -> usize {
    let emu = start(fast()).await;
    let mut c = match api {
        "vertex" => {
            let mut c = Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await;
            c.setup(json!({"model": VERTEX_MODEL, "inputAudioTranscription": {}}))
                .await;
            c
        }
        _ => {
            let mut c = Client::dev(&emu).await;
            c.setup(json!({"model": MODEL_38, "inputAudioTranscription": {}}))
                .await;
            c
        }
    };
    let bytes = if chunk_ms == 0 {
        audio.len().max(2)
    } else {
        (RATE / 1000 * chunk_ms * 2) as usize
    };
    for piece in audio.chunks(bytes) {
        c.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": b64(piece)}}}))
            .await;
    }
    let mut speech_turns = 0;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(QUIET, c.ws.next()).await {
        let Ok(text) = msg.to_text() else { continue };
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if v.pointer("/serverContent/inputTranscription").is_some() {
            speech_turns += 1;
        }
    }
    c.close().await;
    emu.shutdown().await;
    speech_turns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_turns_in_real_speech_and_noise() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut runs = tokio::task::JoinSet::new();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let scenario: Scenario = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let clean = match build(&scenario.audio) {
            Ok(a) => a,
            Err(missing) => {
                eprintln!("{name}: skipped: {missing}");
                continue;
            }
        };
        for &noise in &scenario.noise_db {
            let mut audio = clean.clone();
            add_noise(&mut audio, noise);
            let bytes = pcm(&audio);
            for api in &scenario.apis {
                for &chunk in &scenario.chunk_ms {
                    let (name, api, bytes) = (name.clone(), api.clone(), bytes.clone());
                    let want = scenario.turns;
                    runs.spawn(async move {
                        let got = turns(&api, &bytes, chunk).await;
                        (
                            format!("{name} ({api}, noise {noise} dBFS, {chunk} ms frames)"),
                            want,
                            got,
                        )
                    });
                }
            }
        }
    }
    let mut failures = Vec::new();
    while let Some(run) = runs.join_next().await {
        let (what, want, got) = run.unwrap();
        if want != got {
            failures.push(format!("{what}: {got} turns, expected {want}"));
        }
    }
    failures.sort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
