//! The quickstart, end to end: the real `gemlive` binary against the emulator, on loopback,
//! with no key and no network.

#[path = "support/prereq.rs"]
mod prereq;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// The `gemlive` binary cargo built for these tests.
fn gemlive_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_gemlive"))
}

/// A scratch directory and state directory for one test; the emulator runs unpaced.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gemlive_bin());
        cmd.args(args)
            .current_dir(self.path())
            .env("GEMLIVE_STATE_DIR", self.path().join("state"))
            .env("GEMLIVE_EMULATOR_SPEED", "0")
            .env("NO_COLOR", "1")
            .env_remove("GEMINI_API_KEY")
            .env_remove("GOOGLE_API_KEY")
            .env_remove("GEMLIVE_ENDPOINT")
            .env_remove("GEMLIVE_MODEL")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run gemlive")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gemlive");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait gemlive")
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// A 24 kHz mono 16-bit WAV of at least `min_secs`; returns its duration.
fn check_wav(path: &Path, min_secs: f64) -> f64 {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (24_000, 1, 16),
        "{}",
        path.display()
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let secs = f64::from(reader.duration()) / 24_000.0;
    assert!(
        secs >= min_secs,
        "{}: only {secs:.2} s of audio",
        path.display()
    );
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    assert!(
        samples.iter().any(|s| s.unsigned_abs() > 1000),
        "{}: silent",
        path.display()
    );
    secs
}

#[test]
fn step1_text_to_text() {
    let env = Env::new();
    let out = env.run(&["chat", "--emulator", "Hello? Gemini are you there?"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Yes, I can hear you."), "{text}");
    assert!(text.contains("turn complete"), "{text}");
    assert!(
        !env.path().join("audio.wav").exists(),
        "no WAV without --audio"
    );
}

#[test]
fn step2_text_to_audio_wav() {
    let env = Env::new();
    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--no-play",
        "Hello? Gemini are you there?",
    ]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("audio/pcm;rate=24000"),
        "the MIME type of the first chunk is shown:\n{}",
        stderr(&out)
    );
    let secs = check_wav(&env.path().join("audio.wav"), 0.5);
    assert!(
        stdout(&out).contains(&format!("wrote audio.wav ({secs:.1} s)")),
        "{}",
        stdout(&out)
    );

    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--out",
        "reply/hello.wav",
        "Hello",
    ]);
    assert_ok(&out);
    check_wav(&env.path().join("reply/hello.wav"), 0.5);
}

#[test]
fn step3_chat_loop_with_turns_and_lines_from_stdin() {
    let env = Env::new();
    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--turn",
        "Hello",
        "--turn",
        "What's your name?",
        "--out-dir",
        "replies",
    ]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out).matches("turn complete").count(),
        2,
        "{}",
        stdout(&out)
    );
    check_wav(&env.path().join("replies/audio_0.wav"), 0.5);
    check_wav(&env.path().join("replies/audio_1.wav"), 0.5);

    let out = env.run_with_stdin(
        &["chat", "--emulator"],
        "Hello\nWhat's your name?\nq\nnever sent\n",
    );
    assert_ok(&out);
    assert_eq!(
        stdout(&out).matches("turn complete").count(),
        2,
        "{}",
        stdout(&out)
    );

    std::fs::write(env.path().join("turns.txt"), "One\n\nTwo\nThree\n").expect("write turns");
    let out = env.run(&["chat", "--emulator", "--turns-file", "turns.txt"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out).matches("turn complete").count(),
        3,
        "{}",
        stdout(&out)
    );
}

/// A standalone `gemlive emulator`, killed on drop.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start(env: &Env) -> Self {
        let mut child = env
            .cmd(&["emulator", "--port", "0", "--speed", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn gemlive emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the emulator's first line");
        let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
        assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
        Self { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn step4_resume_across_two_processes() {
    let env = Env::new();
    let emulator = Emulator::start(&env);
    let out = env.run(&[
        "chat",
        "--endpoint",
        &emulator.url,
        "What is the capital of France?",
    ]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("continue with: gemlive chat --resume"),
        "{}",
        stderr(&out)
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join("state/last-session.json"))
            .expect("saved session"),
    )
    .expect("json");
    let handle = saved["handle"].as_str().expect("handle").to_owned();

    let out = env.run(&[
        "chat",
        "--endpoint",
        &emulator.url,
        "--resume",
        "What was my last question?",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("What is the capital of France?"),
        "the resumed session remembers:\n{}",
        stdout(&out)
    );

    let out = env.run(&[
        "chat",
        "--endpoint",
        &emulator.url,
        &format!("--resume={handle}"),
        "What was my last question?",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("What was my last question?")
            || stdout(&out).contains("capital of France"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn step4_resume_across_processes_with_the_built_in_emulator() {
    let env = Env::new();
    let out = env.run(&["chat", "--emulator", "What is the capital of France?"]);
    assert_ok(&out);
    let out = env.run(&[
        "chat",
        "--emulator",
        "--resume",
        "What was my last question?",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("What is the capital of France?"),
        "the resumed session remembers:\n{}",
        stdout(&out)
    );
}

#[test]
fn json_mode_prints_one_event_per_line_and_nothing_else() {
    let env = Env::new();
    let out = env.run(&["chat", "--emulator", "--json", "--audio", "Hello"]);
    assert_ok(&out);
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event kind"))
        .collect();
    assert_eq!(kinds.first(), Some(&"setup_complete"), "{kinds:?}");
    for kind in [
        "audio",
        "output_transcript",
        "generation_complete",
        "usage",
        "turn_complete",
        "turn_end",
        "audio_file",
        "session_saved",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let audio = events
        .iter()
        .find(|e| e["event"] == "audio")
        .expect("audio event");
    assert_eq!(audio["mime_type"], "audio/pcm;rate=24000");
}

#[test]
fn tools_run_commands_and_the_model_speaks_the_result() {
    let env = Env::new();
    std::fs::write(
        env.path().join("tools.json"),
        r#"[{"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]"#,
    )
    .expect("write tools");
    let out = env.run(&[
        "chat",
        "--emulator",
        "--tools",
        "tools.json",
        "--tool-command",
        r#"get_weather=echo '{"forecast": "sunny"}'"#,
        "Use get_weather for Paris",
    ]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(r#"calling get_weather({"city":"Paris"})"#),
        "{text}"
    );
    assert!(
        text.contains(r#"get_weather returned {"forecast":"sunny"}"#),
        "{text}"
    );
}

#[test]
fn recordings_replay_without_network() {
    let env = Env::new();
    let out = env.run(&["chat", "--emulator", "--record", "session.jsonl", "Hello"]);
    assert_ok(&out);
    let recording = std::fs::read_to_string(env.path().join("session.jsonl")).expect("recording");
    assert!(
        !recording.contains("emulator\""),
        "the placeholder key is not recorded"
    );
    let out = env.run(&["replay", "session.jsonl"]);
    assert_ok(&out);
    let trace = stdout(&out);
    assert!(
        trace.contains("SetupComplete") && trace.contains("TurnComplete"),
        "{trace}"
    );
}

#[test]
fn interactive_prompt_in_a_terminal() {
    if !has_script() {
        return;
    }
    let env = Env::new();
    let screen = in_terminal(
        &env,
        "0",
        &[("Hello? Gemini are you there?", 1500), ("q", 0)],
    );
    assert!(screen.contains("you> "), "the prompt is shown: {screen}");
    assert!(screen.contains("Yes, I can hear you."), "{screen}");
    assert!(screen.contains("turn complete"), "{screen}");
    assert!(
        screen.contains("continue with: gemlive chat --resume"),
        "{screen}"
    );
    let history = std::fs::read_to_string(env.path().join("state/history.txt"))
        .expect("the prompt keeps its history");
    assert!(
        history.contains("Hello? Gemini are you there?"),
        "{history}"
    );
}

#[test]
fn typing_while_a_reply_streams_interrupts_it() {
    if !has_script() {
        return;
    }
    let env = Env::new();
    // Real-time pacing: the long reply is still streaming when the second line is typed.
    let screen = in_terminal(
        &env,
        "1",
        &[
            ("Please tell me a long story about dragons and knights", 800),
            ("Stop", 3000),
            ("q", 0),
        ],
    );
    assert!(screen.contains("[interrupted]"), "{screen}");
    assert!(
        screen.contains("You said: Stop"),
        "the new line is answered: {screen}"
    );
}

/// util-linux `script` gives the binary a pseudo-terminal, like a person at a shell.
fn has_script() -> bool {
    prereq::has_tool(
        "script",
        "--version",
        "apt-get install bsdutils (util-linux), or run .ci/run",
    )
}

/// Runs `gemlive chat --emulator` in a pseudo-terminal, typing each line and waiting after it.
fn in_terminal(env: &Env, speed: &str, lines: &[(&str, u64)]) -> String {
    let command = format!("{} chat --emulator", gemlive_bin().display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(env.path())
        .env("GEMLIVE_STATE_DIR", env.path().join("state"))
        .env("GEMLIVE_EMULATOR_SPEED", speed)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let mut stdin = child.stdin.take().expect("stdin");
    for (line, wait_ms) in lines {
        stdin
            .write_all(format!("{line}\r").as_bytes())
            .expect("type a line");
        std::thread::sleep(std::time::Duration::from_millis(*wait_ms));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let screen = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{screen}");
    screen
}

#[test]
fn bad_inputs_fail_with_clear_messages_and_exit_codes() {
    let env = Env::new();
    let out = env.run(&["chat", "Hello"]);
    assert_eq!(out.status.code(), Some(3), "no key");
    assert!(
        stderr(&out).contains("GEMINI_API_KEY") && stderr(&out).contains("--emulator"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&[
        "chat",
        "--emulator",
        "--model",
        "gemini-9-imaginary",
        "Hello",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "unknown model: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("1008")
            && stderr(&out).contains("is not found for API version v1beta"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));

    let out = env.run(&["chat", "--emulator", "--config", "missing.json", "Hello"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unreadable config: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cannot read missing.json"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        env.path().join("bad.json"),
        r#"{"model": "models/x", "responseModalities": ["TEXT"]}"#,
    )
    .expect("write");
    let out = env.run(&["chat", "--emulator", "--config", "bad.json", "Hello"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown field `setup.responseModalities`"),
        "{}",
        stderr(&out)
    );

    std::fs::write(env.path().join("file"), "").expect("write");
    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--out-dir",
        "file/sub",
        "Hello",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "unwritable output directory: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cannot create the output directory"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&["chat", "--emulator", "--resume", "Hello"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing saved yet: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("no saved session"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&["chat", "--bogus-flag"]);
    assert_eq!(out.status.code(), Some(2));
}
