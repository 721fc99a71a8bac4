//! Runs every example binary against the built-in emulator (no key in the environment) and checks
//! what it prints and the WAV files it writes.
//!
//! `cargo test -p gemlive` builds the examples before running this test; a narrower command
//! (`--test examples`) does not, so run `cargo build -p gemlive --examples` first then.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `target/<profile>/examples/<name>`, next to this test's own binary in `target/<profile>/deps`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p gemlive` (which builds the examples) or `cargo build -p gemlive --examples`",
        path.display()
    );
    path
}

/// Runs an example in `dir` with no API key, the emulator at `speed` (`0`: unpaced).
fn run(name: &str, dir: &Path, speed: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(example(name))
        .args(args)
        .current_dir(dir)
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env("GEMLIVE_EMULATOR_SPEED", speed)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("the example ends");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(status.success(), "{name}: {status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("talking to the built-in emulator"),
        "{name} must say which backend it uses: {stderr}"
    );
    stdout
}

/// Length of a 24 kHz mono 16-bit WAV file.
fn wav_duration(path: &Path) -> Duration {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (24_000, 1, 16),
        "{}",
        path.display()
    );
    Duration::from_secs_f64(f64::from(reader.duration()) / 24_000.0)
}

fn assert_speech(path: &Path) {
    let d = wav_duration(path);
    assert!(d > Duration::from_millis(500), "{}: {d:?}", path.display());
}

#[test]
fn quickstart_1_text_prints_the_answer_as_it_streams() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("quickstart_1_text", dir.path(), "0", &[], "");
    assert!(
        out.starts_with(">  Hello? Gemini are you there?\n\n- "),
        "{out}"
    );
    let answer: String = out.lines().filter_map(|l| l.strip_prefix("- ")).collect();
    assert_eq!(answer, "Yes, I can hear you.");
}

#[test]
fn quickstart_2_audio_writes_the_answer_to_a_wav() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("quickstart_2_audio", dir.path(), "0", &[], "");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(">  Hello? Gemini are you there?"));
    assert_eq!(lines.nth(1), Some("audio/pcm;rate=24000"));
    let written = wav_duration(&dir.path().join("audio.wav"));
    assert!(written > Duration::from_millis(500), "{written:?}");
    assert!(
        out.contains(&format!(
            "{:.1} s of audio in audio.wav",
            written.as_secs_f64()
        )),
        "{out}"
    );
}

#[test]
fn quickstart_3_loop_takes_turns_given_or_typed() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        "quickstart_3_loop",
        dir.path(),
        "0",
        &["Hello", "What is 10 + 10?"],
        "",
    );
    assert!(
        out.contains("message > Hello\nHello! I am the gemlive emulator."),
        "{out}"
    );
    assert!(
        out.contains("message > What is 10 + 10?\n10 + 10 is 20."),
        "{out}"
    );
    assert_eq!(out.matches("<Turn complete>").count(), 2, "{out}");
    assert_speech(&dir.path().join("audio_0.wav"));
    assert_speech(&dir.path().join("audio_1.wav"));

    let typed = tempfile::tempdir().unwrap();
    let out = run(
        "quickstart_3_loop",
        typed.path(),
        "0",
        &[],
        "Hi, my name is Ada.\nWhat is my name?\nq\nnever sent\n",
    );
    assert!(out.starts_with("Type 'q' to quit\n"), "{out}");
    assert!(out.contains("Nice to meet you, Ada."), "{out}");
    assert!(out.contains("Your name is Ada."), "{out}");
    assert_eq!(out.matches("<Turn complete>").count(), 2, "{out}");
    assert!(!typed.path().join("audio_2.wav").exists(), "q quits");
}

#[test]
fn quickstart_4_resume_remembers_the_last_question() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("quickstart_4_resume", dir.path(), "0", &[], "");
    assert!(
        out.starts_with("Connecting with handle: None\nresumed: false\n"),
        "{out}"
    );
    assert!(
        out.contains("\nresumed: true\n"),
        "the handle is honoured: {out}"
    );
    assert!(
        out.contains("Your last question was: \"What is the capital of Brazil?\""),
        "{out}"
    );
    assert!(!out.contains("last handle: none"), "{out}");
    assert_speech(&dir.path().join("resumable_0.wav"));
}

#[test]
fn realtime_audio_streams_a_wav_as_the_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("realtime_audio", dir.path(), "0", &[], "");
    assert!(out.contains("you said: [speech: 1."), "{out}");
    let answer: String = out
        .lines()
        .filter_map(|l| l.strip_prefix("gemini: "))
        .collect();
    assert!(answer.starts_with("I heard 1."), "{out}");
    assert_speech(&dir.path().join("answer.wav"));
}

#[test]
fn interruption_cuts_the_answer_and_answers_the_new_question() {
    let dir = tempfile::tempdir().unwrap();
    // Real-time pacing, so that the model is still speaking when the interruption comes.
    let out = run("interruption", dir.path(), "1", &[], "");
    assert!(
        out.contains("the model speaks; interrupting\ninterrupted after"),
        "{out}"
    );
    assert!(out.ends_with("answer: 2 + 2 is 4.\n"), "{out}");
}

#[test]
fn tools_runs_a_typed_rust_tool_and_the_model_says_its_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("tools", dir.path(), "0", &[], "");
    assert_eq!(out, "get_weather returned sunny and 21 degrees in Paris.\n");
}
