//! `gemlive talk` end to end against the built-in emulator, with no sound card: WAV questions
//! streamed in real time, the simulated speaker, interruptions, push-to-talk and video.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/speech.rs"]
mod speech;
use speech::speech_wav;

fn gemlive(dir: &Path, speed: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemlive"));
    cmd.arg("talk")
        .arg("--emulator")
        .args(args)
        .current_dir(dir)
        .env("GEMLIVE_STATE_DIR", dir.join("state"))
        .env("GEMLIVE_EMULATOR_SPEED", speed)
        .env("NO_COLOR", "1")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMLIVE_ENDPOINT")
        .env_remove("GEMLIVE_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A question, a pause in which the answer starts, then the user talks over it.
const TALKING_OVER: &[(f64, bool)] = &[
    (0.1, false),
    (1.0, true),
    (1.3, false),
    (1.0, true),
    (1.0, false),
];

/// JSON lines of a finished run; panics with its output when it failed.
fn json_lines(child: Child) -> Vec<Value> {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn events<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["event"] == name).collect()
}

fn summary(lines: &[Value]) -> &Value {
    events(lines, "summary").pop().expect("a summary")
}

/// Sent frames of a `--record` file, with their times.
fn sent(path: &Path) -> Vec<(u64, Value)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Some((v["t_ms"].as_u64()?, v.get("send")?.clone()))
        })
        .collect()
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    (spec, r.samples::<i16>().map(Result::unwrap).collect())
}

fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
}

fn secs(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.path().join(p)
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

#[test]
fn a_spoken_question_in_a_wav_gets_a_spoken_answer_in_a_wav() {
    let dir = Dir::new();
    speech_wav(
        &dir.join("q.wav"),
        &[(0.2, false), (1.0, true), (0.8, false)],
    );
    let started = Instant::now();
    let child = gemlive(
        dir.path(),
        "4",
        &[
            "--input",
            "q.wav",
            "--output",
            "a.wav",
            "--record-audio",
            "both.wav",
            "--record",
            "rec.jsonl",
            "--vad-silence-ms",
            "300",
            "--json",
        ],
    )
    .spawn()
    .unwrap();
    let lines = json_lines(child);
    let wall = started.elapsed();

    // The emulator's VAD ended the turn; the answer was heard in full.
    assert_eq!(events(&lines, "voice_activity").len(), 2, "{lines:?}");
    let turns = events(&lines, "turn_end");
    assert_eq!(turns.len(), 1, "{lines:?}");
    assert_eq!(turns[0]["interrupted"], false);
    let s = summary(&lines);
    assert_eq!(s["turns"], 1);
    assert!((secs(&s["audio_sent_s"]) - 2.0).abs() < 0.05, "{s}");
    let received = secs(&s["audio_received_s"]);
    assert!(received > 1.0, "{s}");
    assert!((secs(&s["audio_heard_s"]) - received).abs() < 0.05, "{s}");
    assert!(s["first_audio_ms"][0].as_u64().is_some(), "{s}");
    assert!(s["total_tokens"].as_i64().unwrap() > 0, "{s}");
    assert!(events(&lines, "session_saved").len() == 1);
    // Real time: the answer starts once the speech (1.2 s) and the VAD's silence (0.3 s) are
    // over, and plays at 1x, though the emulator sends it 4x faster.
    assert!(wall > Duration::from_secs_f64(1.5 + received), "{wall:?}");

    // The answer WAV: what was heard, 24 kHz mono, not silent.
    let (spec, answer) = read_wav(&dir.join("a.wav"));
    assert_eq!((spec.sample_rate, spec.channels), (24_000, 1));
    let length = answer.len() as f64 / 24_000.0;
    assert!((length - received).abs() < 0.05, "{length} vs {received}");
    assert!(rms(&answer) > 1000.0);

    // The stereo recording: the user left during the question, the model right after it.
    let (spec, both) = read_wav(&dir.join("both.wav"));
    assert_eq!((spec.sample_rate, spec.channels), (24_000, 2));
    let window = |ch: usize, from: f64, to: f64| -> f64 {
        let s: Vec<i16> = both
            .chunks_exact(2)
            .skip((from * 24_000.0) as usize)
            .take(((to - from) * 24_000.0) as usize)
            .map(|f| f[ch])
            .collect();
        rms(&s)
    };
    assert!(window(0, 0.4, 1.0) > 1000.0, "user speech on the left");
    assert!(window(1, 0.4, 1.0) < 10.0, "no model while the user speaks");
    let first_model = both
        .chunks_exact(2)
        .position(|f| f[1] != 0)
        .expect("model audio on the right") as f64
        / 24_000.0;
    assert!(
        (1.3..2.2).contains(&first_model),
        "the model starts after the user's speech and the VAD's silence: {first_model} s"
    );
    assert!(window(0, first_model + 0.1, first_model + 0.5) < 10.0);

    // On the wire: 40 ms realtimeInput.audio chunks at 16 kHz, never mediaChunks, then audioStreamEnd.
    let frames = sent(&dir.join("rec.jsonl"));
    let audio: Vec<&Value> = frames
        .iter()
        .filter_map(|(_, f)| f["realtimeInput"].get("audio"))
        .collect();
    assert_eq!(audio.len(), 50);
    assert!(
        audio
            .iter()
            .all(|a| a["mimeType"] == "audio/pcm;rate=16000")
    );
    assert!(
        audio
            .iter()
            .all(|a| a["data"].as_str().unwrap().len() == 1708)
    ); // 1280 bytes
    assert!(
        frames
            .iter()
            .all(|(_, f)| f["realtimeInput"].get("mediaChunks").is_none())
    );
    let end = frames
        .iter()
        .position(|(_, f)| f["realtimeInput"]["audioStreamEnd"] == true)
        .expect("audioStreamEnd");
    assert!(
        frames[..end]
            .iter()
            .filter(|(_, f)| f["realtimeInput"].get("audio").is_some())
            .count()
            == 50
    );
    // Paced in real time: the last chunk went out about 2 s after the first.
    let times: Vec<u64> = frames
        .iter()
        .filter(|(_, f)| f["realtimeInput"].get("audio").is_some())
        .map(|(t, _)| *t)
        .collect();
    let span = times[times.len() - 1] - times[0];
    assert!((1800..2300).contains(&span), "{span} ms");
}

#[test]
fn speech_while_the_model_talks_cuts_it_off_and_marks_the_transcript() {
    let dir = Dir::new();
    speech_wav(&dir.join("q.wav"), TALKING_OVER);
    let child = gemlive(
        dir.path(),
        "1",
        &[
            "--input",
            "q.wav",
            "--output",
            "a.wav",
            "--vad-silence-ms",
            "300",
            "--json",
            // The server's `interrupted` does it here (builds with `vad` would cut first).
            "--no-local-vad",
        ],
    )
    .spawn()
    .unwrap();
    let lines = json_lines(child);

    assert_eq!(events(&lines, "interrupted").len(), 1, "{lines:?}");
    let cuts = events(&lines, "playback_cut");
    assert_eq!(cuts.len(), 1, "{lines:?}");
    let cut = cuts[0];
    assert_eq!(cut["by"], "server");
    let heard = secs(&cut["heard_s"]);
    // The answer started about 1.4 s in and the user spoke again at 2.4 s.
    assert!((0.4..1.2).contains(&heard), "{cut}");
    assert!(heard <= secs(&cut["received_s"]), "{cut}");
    assert!(
        secs(&cut["dropped_s"]) > 0.0,
        "queued audio was dropped: {cut}"
    );
    let (heard_text, unheard) = (
        cut["heard_text"].as_str().unwrap(),
        cut["unheard_text"].as_str().unwrap(),
    );
    assert!(!unheard.is_empty(), "{cut}");
    assert!(
        "I heard 1.0 seconds of speech.".starts_with(&format!("{heard_text}{unheard}"))
            || format!("{heard_text}{unheard}").starts_with("I heard"),
        "{cut}"
    );

    let turns = events(&lines, "turn_end");
    assert_eq!(turns.len(), 2, "{lines:?}");
    assert_eq!(turns[0]["interrupted"], true);
    assert_eq!(turns[1]["interrupted"], false);
    let s = summary(&lines);
    assert_eq!(s["interruptions"], 1);
    let (received, heard_total) = (secs(&s["audio_received_s"]), secs(&s["audio_heard_s"]));
    assert!(heard_total < received - 0.05, "{s}");
    // The answer WAV holds what was heard: the cut-off start, then the whole second answer.
    let (_, answer) = read_wav(&dir.join("a.wav"));
    let length = answer.len() as f64 / 24_000.0;
    assert!((length - heard_total).abs() < 0.05, "{length} vs {s}");
}

/// Reads the child's JSON lines until one matches.
fn wait_for(reader: &mut impl BufRead, seen: &mut Vec<Value>, name: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "no {name} in {seen:?}"
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        let hit = v["event"] == name;
        seen.push(v);
        if hit {
            return;
        }
    }
}

#[test]
fn push_to_talk_brackets_the_speech_with_activity_markers() {
    let dir = Dir::new();
    speech_wav(
        &dir.join("q.wav"),
        &[(0.6, false), (0.8, true), (1.6, false)],
    );
    let mut child = gemlive(
        dir.path(),
        "4",
        &[
            "--input",
            "q.wav",
            "--ptt",
            "--record",
            "rec.jsonl",
            "--json",
        ],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    wait_for(&mut reader, &mut seen, "talk_started");
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"\n").unwrap(); // press: start talking
    wait_for(&mut reader, &mut seen, "ptt");
    std::thread::sleep(Duration::from_millis(1500));
    stdin.write_all(b"\n").unwrap(); // press again: the speech ended just before
    wait_for(&mut reader, &mut seen, "turn_end");
    wait_for(&mut reader, &mut seen, "summary");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let ptt: Vec<&Value> = seen.iter().filter(|v| v["event"] == "ptt").collect();
    assert_eq!(ptt.len(), 2);

    let frames = sent(&dir.join("rec.jsonl"));
    assert_eq!(
        frames[0].1["setup"]["realtimeInputConfig"]["automaticActivityDetection"]["disabled"],
        true
    );
    let kinds: Vec<&str> = frames[1..]
        .iter()
        .map(|(_, f)| {
            let ri = &f["realtimeInput"];
            if ri.get("activityStart").is_some() {
                "start"
            } else if ri.get("activityEnd").is_some() {
                "end"
            } else if ri.get("audio").is_some() {
                "audio"
            } else if ri.get("audioStreamEnd").is_some() {
                "stream_end"
            } else {
                "other"
            }
        })
        .collect();
    let start = kinds
        .iter()
        .position(|k| *k == "start")
        .expect("activityStart");
    let end = kinds.iter().position(|k| *k == "end").expect("activityEnd");
    assert!(kinds[..start].iter().all(|k| *k != "audio"), "{kinds:?}");
    assert!(kinds[end + 1..].iter().all(|k| *k != "audio"), "{kinds:?}");
    assert!(!kinds.contains(&"stream_end"), "{kinds:?}");
    let audio = kinds[start..end].iter().filter(|k| **k == "audio").count();
    // 1.5 s held, plus the tail that keeps the end of the utterance: 1.8 s of 40 ms chunks.
    assert!((40..=50).contains(&audio), "{audio} chunks: {kinds:?}");
    let (t_start, t_end) = (frames[start + 1].0, frames[end + 1].0);
    assert!(
        (1650..2100).contains(&(t_end - t_start)),
        "{t_start}..{t_end}"
    );
    // The emulator heard it and answered.
    assert!(seen.iter().any(|v| v["event"] == "output_transcript"));
}

#[test]
fn video_frames_go_out_at_the_configured_rate() {
    let dir = Dir::new();
    speech_wav(
        &dir.join("q.wav"),
        &[(0.1, false), (0.6, true), (0.9, false)],
    );
    std::fs::create_dir(dir.join("frames")).unwrap();
    // A small PNG goes as it is; a big JPEG is scaled to fit 768x768.
    let picture = |w, h| image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
    picture(64, 48).save(dir.join("frames/1.png")).unwrap();
    picture(2000, 1500).save(dir.join("frames/2.jpg")).unwrap();
    let child = gemlive(
        dir.path(),
        "0",
        &[
            "--input",
            "q.wav",
            "--vad-silence-ms",
            "300",
            "--video",
            "frames",
            "--video-fps",
            "5",
            "--record",
            "rec.jsonl",
            "--json",
        ],
    )
    .spawn()
    .unwrap();
    let lines = json_lines(child);
    let frames: Vec<(u64, String)> = sent(&dir.join("rec.jsonl"))
        .into_iter()
        .filter_map(|(t, f)| {
            Some((
                t,
                f["realtimeInput"]["video"]["mimeType"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let sizes: Vec<(u32, u32)> = sent(&dir.join("rec.jsonl"))
        .into_iter()
        .filter_map(|(_, f)| {
            use base64::Engine;
            let data = f["realtimeInput"]["video"]["data"].as_str()?.to_owned();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            let img = image::load_from_memory(&bytes).unwrap();
            Some((img.width(), img.height()))
        })
        .take(2)
        .collect();
    assert_eq!(sizes, [(64, 48), (768, 576)]);
    // 5 per second while the 1.6 s of audio and the wait for a reply last.
    assert!(frames.len() >= 8, "{frames:?}");
    assert_eq!(frames[0].1, "image/png");
    assert_eq!(frames[1].1, "image/jpeg");
    assert_eq!(frames[2].1, "image/png");
    // Never faster than the rate; on time once each file has been read (and scaled) once.
    for (i, w) in frames.windows(2).enumerate() {
        let gap = w[1].0 - w[0].0;
        assert!(gap >= 150, "{gap} ms between frames: {frames:?}");
        assert!(i < 2 || gap < 260, "{gap} ms between frames: {frames:?}");
    }
    assert_eq!(
        summary(&lines)["video_frames"].as_u64().unwrap() as usize,
        events(&lines, "video_frame").len()
    );
}

#[test]
fn typed_text_is_answered_and_ctrl_c_ends_cleanly_with_130() {
    let dir = Dir::new();
    speech_wav(&dir.join("q.wav"), &[(30.0, false)]);
    let mut child = gemlive(
        dir.path(),
        "4",
        &[
            "--input",
            "q.wav",
            "--output",
            "a.wav",
            "--record-audio",
            "both.wav",
            "--record",
            "rec.jsonl",
            "--json",
        ],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    wait_for(&mut reader, &mut seen, "talk_started");
    stdin.write_all(b"What is 2 plus 2?\n").unwrap();
    wait_for(&mut reader, &mut seen, "turn_end");
    // Ctrl-C in the middle of the (silent) input.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(&mut reader, &mut seen, "summary");
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{seen:?}");

    let answer: String = seen
        .iter()
        .filter(|v| v["event"] == "output_transcript")
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert!(answer.contains('4'), "{answer}");
    assert!(
        seen.iter().any(|v| v["event"] == "session_saved"),
        "{seen:?}"
    );
    let text: Vec<Value> = sent(&dir.join("rec.jsonl"))
        .into_iter()
        .filter_map(|(_, f)| f["realtimeInput"].get("text").cloned())
        .collect();
    assert_eq!(text, ["What is 2 plus 2?"]);
    // Both files were finalized (their headers count what they hold), and what was still
    // queued when Ctrl-C came was dropped: the emulator (4x) was done long before playback.
    let s = seen.last().unwrap();
    let (heard, received) = (secs(&s["audio_heard_s"]), secs(&s["audio_received_s"]));
    assert!(heard > 0.0 && heard < received - 0.5, "{s}");
    let (_, answer_audio) = read_wav(&dir.join("a.wav"));
    let length = answer_audio.len() as f64 / 24_000.0;
    assert!((length - heard).abs() < 0.05, "{length} vs {s}");
    let (_, both) = read_wav(&dir.join("both.wav"));
    assert!(both.len() > answer_audio.len() * 2);
}

#[test]
fn raw_pcm_on_stdin_is_streamed_like_a_microphone() {
    let dir = Dir::new();
    let mut pcm = Vec::new();
    for n in 0..16_000 * 5 / 2 {
        let t = f64::from(n) / 16_000.0;
        let loud = (0.2..1.2).contains(&t);
        let s = if loud {
            (2.0 * std::f64::consts::PI * 200.0 * t).sin() * 0.3
        } else {
            0.0
        };
        pcm.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
    }
    let mut child = gemlive(
        dir.path(),
        "0",
        &["--input", "-", "--vad-silence-ms", "300", "--json"],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&pcm));
    let lines = json_lines(child);
    writer.join().unwrap().unwrap();
    let heard: Vec<&str> = events(&lines, "input_transcript")
        .iter()
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(heard, ["[speech: 1.0 s]"]);
    assert_eq!(events(&lines, "turn_end").len(), 1);
    let s = summary(&lines);
    assert!((secs(&s["audio_sent_s"]) - 2.5).abs() < 0.05, "{s}");
}

#[test]
fn half_duplex_mutes_the_microphone_while_the_model_speaks() {
    let dir = Dir::new();
    // The same talking-over as the barge-in test: muted, it interrupts nothing.
    speech_wav(&dir.join("q.wav"), TALKING_OVER);
    let child = gemlive(
        dir.path(),
        "1",
        &[
            "--input",
            "q.wav",
            "--half-duplex",
            "--no-local-vad",
            "--vad-silence-ms",
            "300",
            "--json",
        ],
    )
    .spawn()
    .unwrap();
    let lines = json_lines(child);
    assert!(events(&lines, "interrupted").is_empty(), "{lines:?}");
    assert!(events(&lines, "playback_cut").is_empty(), "{lines:?}");
    let turns = events(&lines, "turn_end");
    assert_eq!(turns.len(), 1, "{lines:?}");
    assert_eq!(summary(&lines)["interruptions"], 0);
}

#[test]
fn slash_quit_ends_the_session_at_once() {
    let dir = Dir::new();
    speech_wav(&dir.join("q.wav"), &[(30.0, false)]);
    let started = Instant::now();
    let mut child = gemlive(
        dir.path(),
        "0",
        &["--input", "q.wav", "--output", "a.wav", "--json"],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    wait_for(&mut reader, &mut seen, "talk_started");
    stdin.write_all(b"/quit\n").unwrap();
    wait_for(&mut reader, &mut seen, "summary");
    assert!(child.wait().unwrap().success());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !dir.join("a.wav").exists(),
        "nothing was heard: no empty WAV is left"
    );
}
