//! The quickstart, end to end: the real `gemlive` binary against the emulator, on loopback,
//! with no key and no network.

#[path = "support/prereq.rs"]
mod prereq;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

#[path = "common/speech.rs"]
mod speech;

/// The `gemlive` binary cargo built for these tests, or `GEMLIVE_BIN` (to see how another
/// build fares, e.g. main's).
fn gemlive_bin() -> PathBuf {
    std::env::var_os("GEMLIVE_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_gemlive")),
        PathBuf::from,
    )
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

    /// The handle of the first session saved in the state directory.
    fn saved_handle(&self) -> String {
        let saved: Value = serde_json::from_str(
            &std::fs::read_to_string(self.path().join("state/sessions.json"))
                .expect("saved sessions"),
        )
        .expect("json");
        saved["sessions"][0]["handle"]
            .as_str()
            .expect("handle")
            .to_owned()
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
    // stdout holds the answer and nothing else; the status lines are on stderr.
    assert_eq!(stdout(&out), "Yes, I can hear you.\n");
    assert!(
        stderr(&out).contains("── turn complete"),
        "{}",
        stderr(&out)
    );
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
        stderr(&out).contains(&format!("wrote audio.wav ({secs:.1} s)")),
        "{}",
        stderr(&out)
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
        "--output-dir",
        "replies",
    ]);
    assert_ok(&out);
    assert_eq!(
        stderr(&out).matches("turn complete").count(),
        2,
        "{}",
        stderr(&out)
    );
    check_wav(&env.path().join("replies/audio_0.wav"), 0.5);
    check_wav(&env.path().join("replies/audio_1.wav"), 0.5);

    let out = env.run_with_stdin(&["chat", "--emulator"], "Hello\nWhat's your name?\n");
    assert_ok(&out);
    assert_eq!(
        stderr(&out).matches("turn complete").count(),
        2,
        "{}",
        stderr(&out)
    );

    std::fs::write(env.path().join("turns.txt"), "One\n\nTwo\nThree\n").expect("write turns");
    let out = env.run(&["chat", "--emulator", "--turns-file", "turns.txt"]);
    assert_ok(&out);
    assert_eq!(
        stderr(&out).matches("turn complete").count(),
        3,
        "{}",
        stderr(&out)
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
        stderr(&out).contains(&format!(
            "continue with: gemlive chat --endpoint {} --resume",
            emulator.url
        )),
        "{}",
        stderr(&out)
    );
    let handle = env.saved_handle();

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
    let text = stderr(&out);
    assert!(
        text.contains(r#"calling get_weather({"city":"Paris"})"#),
        "{text}"
    );
    assert!(
        text.contains(r#"get_weather returned {"forecast":"sunny"}"#),
        "{text}"
    );
    // 3.8 calls it NON_BLOCKING: the chat waits for the model's reaction to the result.
    assert_eq!(
        stdout(&out),
        "I have started get_weather.\nget_weather returned {\"forecast\":\"sunny\"}.\n"
    );
    assert_eq!(text.matches("── turn complete").count(), 2, "{text}");

    // A result the model is told to take in silently: the wait for its reaction is bounded
    // by --stall-timeout, and said.
    let out = env.run(&[
        "chat",
        "--emulator",
        "--stall-timeout",
        "1",
        "--tools",
        "tools.json",
        "--tool-command",
        r#"get_weather=echo '{"forecast": "sunny", "scheduling": "SILENT"}'"#,
        "Use get_weather for Paris",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "I have started get_weather.\n");
    let text = stderr(&out);
    assert!(
        text.contains("[the model said nothing of get_weather's result in 1 s; going on]"),
        "{text}"
    );
}

const EVERYTHING_HINT: &str = "npm install -g @modelcontextprotocol/server-everything";

#[test]
fn an_mcp_tool_is_called_as_typed_and_the_reply_says_its_result() {
    if !prereq::on_path("mcp-server-everything", EVERYTHING_HINT)
        || !prereq::on_path("npx", "apt-get install npm")
    {
        return;
    }
    let env = Env::new();
    // The README's command, as written.
    let out = env.run(&[
        "chat",
        "--emulator",
        "--mcp",
        "npx -y @modelcontextprotocol/server-everything",
        "Please echo about Gemlive",
    ]);
    assert_ok(&out);
    let (said, status) = (stdout(&out), stderr(&out));
    // The call and its result as they happen; 3.8 Live calls tools NON_BLOCKING: it says it has
    // started, and answers with the result in a turn of its own, which the chat waits for.
    assert!(
        status.contains(r#"→ calling echo({"message":"Gemlive"})"#),
        "{status}"
    );
    assert!(
        status.contains(r#"← echo returned {"output":"Echo: Gemlive"}"#),
        "{status}"
    );
    assert!(said.contains("echo returned Echo: Gemlive"), "{said}");
    assert_eq!(status.matches("── turn complete").count(), 2, "{status}");

    // A blocking model, in --json: the call, the result and the spoken reply, in that order.
    let out = env.run(&[
        "chat",
        "--emulator",
        "--json",
        "-m",
        "gemini-3.1-flash-live-preview",
        "--mcp",
        "mcp-server-everything stdio",
        "Please echo about Gemlive",
    ]);
    assert_ok(&out);
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let at = |name: &str| {
        events
            .iter()
            .position(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} event: {}", stdout(&out)))
    };
    let (call, result) = (&events[at("tool_call")], &events[at("tool_result")]);
    assert_eq!(call["calls"][0]["name"], "echo");
    assert_eq!(result["name"], "echo");
    assert_eq!(result["id"], call["calls"][0]["id"]);
    assert_eq!(
        result["response"],
        serde_json::json!({"output": "Echo: Gemlive"})
    );
    let reply: String = events[at("tool_result")..]
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(reply.contains("echo returned Echo: Gemlive"), "{reply}");
    assert!(at("tool_call") < at("tool_result") && at("tool_result") < at("turn_end"));
}

#[test]
fn mcp_list_prints_the_functions_chat_would_declare() {
    let env = Env::new();
    std::fs::write(
        env.path().join("tools.json"),
        r#"[{"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}, {"name": "by_hand"}]"#,
    )
    .expect("write tools");
    let out = env.run(&[
        "mcp",
        "list",
        "--tools",
        "tools.json",
        "--tool-command",
        "get_weather=./weather.sh",
        "--tool-command",
        "uptime=uptime -p",
    ]);
    assert_ok(&out);
    let listed = stdout(&out);
    for line in [
        "3 functions declared for gemini-3.8-live:",
        "  get_weather  (runs ./weather.sh)",
        "      parameters: city (string, required)",
        "  by_hand  (declared by --tools; no --tool-command answers it)",
        "  uptime  (runs uptime -p)",
    ] {
        assert!(listed.lines().any(|l| l == line), "{line:?} in:\n{listed}");
    }
    let out = env.run(&["mcp", "list", "--tool-command", "broken"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--tool-command wants NAME=COMMAND"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["mcp", "list", "--mcp", "no-such-mcp-server --flag"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(
            r#"--mcp "no-such-mcp-server --flag": MCP server "no-such-mcp-server" did not start"#
        ),
        "{}",
        stderr(&out)
    );

    if !prereq::on_path("mcp-server-everything", EVERYTHING_HINT) {
        return;
    }
    let out = env.run(&["mcp", "list", "--mcp", "mcp-server-everything stdio"]);
    assert_ok(&out);
    let listed = stdout(&out);
    assert!(
        listed.contains("  echo  (MCP server mcp-server-everything, tool echo)\n      Echoes back the input string\n      parameters: message (string, required)\n"),
        "{listed}"
    );
    let out = env.run(&[
        "mcp",
        "list",
        "--json",
        "--mcp",
        "mcp-server-everything stdio",
    ]);
    assert_ok(&out);
    let declared: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let echo = declared
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "echo"))
        .expect("echo declared");
    assert_eq!(
        echo["parameters"]["properties"]["message"]["type"],
        "STRING"
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
    let out = env.run(&["replay", "--trace", "session.jsonl"]);
    assert_ok(&out);
    let trace = stdout(&out);
    assert!(
        trace.contains("SetupComplete") && trace.contains("TurnComplete"),
        "{trace}"
    );
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
        "--output-dir",
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
        stderr(&out).contains("--output-dir: cannot create the directory"),
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
        stderr(&out).contains("no saved session for the built-in emulator"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&["chat", "--bogus-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A port on which nothing listens: connecting there fails at once (exit 5), so an exit 2 from
/// a run pointed at it proves the check came before connecting.
const NOWHERE: &str = "ws://127.0.0.1:1";

/// A 16 kHz "spoken" WAV: a second of a voiced buzz, then a second of silence.
fn question_wav(path: &Path) {
    speech::speech_wav(path, &[(1.0, true), (1.0, false)]);
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn bug06_the_resume_hint_runs_as_printed_and_handles_stay_with_their_backend() {
    let env = Env::new();
    let out = env.run(&["chat", "--emulator", "What is the capital of France?"]);
    assert_ok(&out);
    let hint = stderr(&out)
        .lines()
        .find_map(|l| l.strip_prefix("continue with: "))
        .expect("a resume hint")
        .to_owned();
    assert_eq!(hint, "gemlive chat --emulator --resume");
    // Followed literally, it works (no key needed, the session remembers).
    let mut args: Vec<&str> = hint.split(' ').skip(1).collect();
    args.push("What was my last question?");
    let out = env.run(&args);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("What is the capital of France?"),
        "{}",
        stdout(&out)
    );

    // A handle given with a space is not sent as text.
    let handle = env.saved_handle();
    let out = env.run(&["chat", "--emulator", "--resume", &handle, "hi"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(&format!("--resume={handle}")),
        "{}",
        stderr(&out)
    );

    // Handles are kept per backend: another backend's is refused, never used silently.
    let emulator = Emulator::start(&env);
    let out = env.run(&[
        "chat",
        "--endpoint",
        &emulator.url,
        &format!("--resume={handle}"),
        "hi",
    ]);
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("belongs to the built-in emulator, not ws://"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["chat", "--endpoint", &emulator.url, "--resume", "hi"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains(
            "the latest saved session belongs to the built-in emulator (resume it with gemlive chat --emulator --resume)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bug07_a_refused_handle_says_it_is_unknown_or_expired() {
    let env = Env::new();
    let out = env.run(&[
        "chat",
        "--emulator",
        "--resume=5d65f2b0-bogus-handle-0000",
        "hi",
    ]);
    assert_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("refused the session handle 5d65f2b0-bogus-handle-0000"),
        "{err}"
    );
    assert!(
        err.contains("2 hours") && err.contains("without --resume"),
        "{err}"
    );
    assert!(!err.contains("response modality"), "{err}");
}

#[test]
fn bug08_output_paths_are_checked_before_connecting() {
    let env = Env::new();
    std::fs::create_dir(env.path().join("dir")).expect("mkdir");
    question_wav(&env.path().join("q.wav"));
    for args in [
        &[
            "chat",
            "--endpoint",
            NOWHERE,
            "--audio",
            "--output",
            "dir",
            "hi",
        ][..],
        &["chat", "--endpoint", NOWHERE, "--record", "dir", "hi"],
        &[
            "chat",
            "--endpoint",
            NOWHERE,
            "--record",
            "/sys/x/rec.jsonl",
            "hi",
        ],
        &[
            "talk",
            "--endpoint",
            NOWHERE,
            "--input",
            "q.wav",
            "--output",
            "dir",
        ],
        &[
            "talk",
            "--endpoint",
            NOWHERE,
            "--input",
            "q.wav",
            "--record-audio",
            "/proc/x.wav",
        ],
    ] {
        let out = env.run(args);
        assert_code(&out, 2);
        assert!(
            !stderr(&out).contains("cannot connect"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // --output with several turns: one file with every reply, no audio_N.wav.
    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--output",
        "x.wav",
        "-t",
        "Hello",
        "-t",
        "What is 2 + 2?",
    ]);
    assert_ok(&out);
    let both = check_wav(&env.path().join("x.wav"), 1.0);
    assert!(!env.path().join("audio_0.wav").exists());
    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--output",
        "one.wav",
        "Hello",
    ]);
    assert_ok(&out);
    let one = check_wav(&env.path().join("one.wav"), 0.5);
    assert!(
        both > one + 0.5,
        "both replies are in x.wav: {both} s vs {one} s"
    );

    // --output alone asks for audio.
    let out = env.run(&["chat", "--emulator", "-o", "alone.wav", "Hello"]);
    assert_ok(&out);
    check_wav(&env.path().join("alone.wav"), 0.5);
}

#[test]
fn bug09_errors_say_the_cause_once_and_warnings_are_plain_lines() {
    let env = Env::new();
    let out = env.run(&["chat", "--endpoint", NOWHERE, "hi"]);
    assert_code(&out, 5);
    let err = stderr(&out);
    assert_eq!(err.matches("Connection refused").count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot connect to 127.0.0.1:1"),
        "{err}"
    );

    let out = env.run(&["chat", "--emulator", "--voice", "Bob", "Hello"]);
    assert_ok(&out);
    let err = stderr(&out);
    let warning = err.lines().next().expect("a line");
    assert!(
        warning.starts_with("warning: Bob is not a voice gemlive knows"),
        "{err}"
    );
    assert!(!err.contains('\x1b') && !err.contains("WARN"), "{err}");
}

#[test]
fn bug10_q_is_a_turn_in_files_and_an_empty_prompt_is_refused() {
    let env = Env::new();
    let out = env.run_with_stdin(&["chat", "--emulator"], "hi\nq\nbye\n");
    assert_ok(&out);
    assert_eq!(
        stderr(&out).matches("turn complete").count(),
        3,
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("You said: bye"), "{}", stdout(&out));

    let out = env.run(&["chat", "--endpoint", NOWHERE, ""]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("the prompt is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bug11_the_connect_timeout_is_a_flag() {
    let env = Env::new();
    // Accepts the TCP connection (the kernel does) and never answers the upgrade.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}", silent.local_addr().expect("addr"));
    let started = std::time::Instant::now();
    let out = env.run(&["chat", "--endpoint", &url, "--connect-timeout", "1", "hi"]);
    assert_code(&out, 5);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        stderr(&out).contains("connecting took longer than 1s"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bug12_no_transcription_without_audio_is_refused() {
    let env = Env::new();
    let out = env.run(&["chat", "--endpoint", NOWHERE, "--no-transcription", "Hello"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--no-transcription leaves nothing to show"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bug13_talk_refuses_what_cannot_work_and_says_what_it_does() {
    let env = Env::new();
    question_wav(&env.path().join("q.wav"));
    // Push-to-talk with nothing on stdin to press Enter: an error, not a silent exit 0.
    let out = env.run(&["talk", "--emulator", "--input", "q.wav", "--ptt"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("--ptt: stdin ended before an empty line (Enter) started talking"),
        "{}",
        stderr(&out)
    );

    // Raw PCM on stdin: nothing says "type".
    let pcm = vec![0u8; 16_000];
    let mut child = env
        .cmd(&["talk", "--emulator", "--input", "-", "--no-play"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&pcm)
        .expect("pcm");
    let out = child.wait_with_output().expect("wait");
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("PCM16 at 16000 Hz on stdin") && !err.to_lowercase().contains("type"),
        "{err}"
    );
}

#[test]
fn markdown_reaches_a_pipe_as_the_model_wrote_it() {
    let env = Env::new();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/screen/files/replies.json"
    );
    let out = env.run(&[
        "chat",
        "--emulator",
        "--emulator-script",
        script,
        "show me markdown",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("It is **really** easy: use `cargo run`."),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn help_is_grouped_with_examples_environment_and_units() {
    let env = Env::new();
    let out = env.run(&["chat", "--help"]);
    assert_ok(&out);
    let help = stdout(&out);
    for part in [
        "Input:",
        "Output:",
        "Session:",
        "Backend:",
        "Model and voice:",
        "Examples:",
        "Interactive keys:",
        "Ctrl-C     cancel the reply in flight",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMLIVE_EMULATOR_SPEED",
        "GEMLIVE_STATE_DIR",
        "GEMLIVE_LOG",
        "--connect-timeout <SECONDS>",
        "--setup-timeout <SECONDS>",
        "-m, --model",
        "-o, --output <FILE.wav>",
        "--emulator-speed <FACTOR>",
        "Exit codes:",
        "130",
    ] {
        assert!(help.contains(part), "chat --help lacks {part:?}:\n{help}");
    }
    let out = env.run(&["talk", "--help"]);
    let help = stdout(&out);
    for part in [
        "-o, --output <FILE.wav>",
        "-m, --model",
        "--resume",
        "Keys (in a terminal):",
    ] {
        assert!(help.contains(part), "talk --help lacks {part:?}:\n{help}");
    }
    if cfg!(not(feature = "device")) {
        assert!(
            !help.contains("--input-device") && !help.contains("--no-aec"),
            "{help}"
        );
        assert!(help.contains("This build has no audio devices"), "{help}");
    }
    let out = env.run(&["--version"]);
    assert!(stdout(&out).contains("(features: "), "{}", stdout(&out));
    // A negative thinking budget is a value, not a flag (exit 5 here: it got to connecting).
    let out = env.run(&[
        "chat",
        "--endpoint",
        NOWHERE,
        "--thinking-budget",
        "-1",
        "hi",
    ]);
    assert_code(&out, 5);
}

#[test]
fn voices_and_the_catalogue_are_checked_before_connecting() {
    let env = Env::new();
    let out = env.run(&["voices"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("Puck") && stdout(&out).contains("Sulafat"),
        "{}",
        stdout(&out)
    );
    // Against Google (with a fake key): refused before any traffic.
    let out = env
        .cmd(&["chat", "-m", "gemini-2.0-flash-live-001", "hi"])
        .env("GEMINI_API_KEY", "AIza-not-a-real-key")
        .output()
        .expect("run gemlive");
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("has been shut down"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["chat", "--endpoint", NOWHERE, "--temperature", "7", "hi"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("Gemini takes 0 to 2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn state_files_are_private_and_a_replaced_wav_is_said() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::write(env.path().join("audio.wav"), b"old").expect("write");
    let out = env.run(&["chat", "--emulator", "--audio", "Hello"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("wrote audio.wav (")
            && stderr(&out).contains("replacing the file that was there"),
        "{}",
        stderr(&out)
    );
    let mode = |p: &str| {
        std::fs::metadata(env.path().join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("state"), 0o700);
    assert_eq!(mode("state/sessions.json"), 0o600);
    assert!(env.path().join("state/emulator-sessions.json").exists());
}

#[test]
fn replay_prints_what_chat_printed() {
    let env = Env::new();
    let out = env.run(&[
        "chat",
        "--emulator",
        "--record",
        "text.jsonl",
        "What is 2 + 2?",
    ]);
    assert_ok(&out);
    let chat = stdout(&out);
    let out = env.run(&["replay", "text.jsonl"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), chat);
    assert!(
        stderr(&out).contains("── turn complete"),
        "{}",
        stderr(&out)
    );

    let out = env.run(&[
        "chat",
        "--emulator",
        "--audio",
        "--record",
        "audio.jsonl",
        "Hello",
    ]);
    assert_ok(&out);
    let out = env.run(&["replay", "--json", "audio.jsonl"]);
    assert_ok(&out);
    let kinds: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["event"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(
        kinds.iter().any(|k| k == "audio") && kinds.iter().any(|k| k == "turn_end"),
        "{kinds:?}"
    );
    let out = env.run(&["replay", "--json", "--no-audio-chunks", "audio.jsonl"]);
    assert_ok(&out);
    assert!(!stdout(&out).contains("\"event\":\"audio\""));
    assert!(stdout(&out).contains("\"event\":\"output_transcript\""));
}

#[test]
fn readme_talk_examples_run_on_the_default_build() {
    let env = Env::new();
    question_wav(&env.path().join("question.wav"));
    let out = env.run(&[
        "talk",
        "--emulator",
        "--input",
        "question.wav",
        "--output",
        "answer.wav",
        "--record-audio",
        "conversation.wav",
    ]);
    assert_ok(&out);
    check_wav(&env.path().join("answer.wav"), 0.5);
    if cfg!(not(feature = "device")) {
        // With no --input, the microphone: this build says what to install.
        let out = env.run(&["talk", "--emulator"]);
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("--features device")
                && err.contains("libasound2-dev")
                && err.contains("--input"),
            "{err}"
        );
    }
}

/// Issue 13 #7: with every log at trace level, the key appears in no output of the client or
/// of the emulator, nor in their recordings and state files.
#[test]
fn a_traced_session_never_shows_the_key() {
    const KEY: &str = "fake-test-key-not-for-google-0123456789";
    let env = Env::new();
    let emu_err = env.path().join("emulator.err");
    let mut emulator = env
        .cmd(&[
            "emulator", "--port", "0", "--speed", "0", "--record", "emu-rec",
        ])
        .env("GEMLIVE_EMULATOR_KEY", KEY)
        .env("GEMLIVE_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&emu_err).expect("emulator log"))
        .spawn()
        .expect("spawn gemlive emulator");
    let mut line = String::new();
    BufReader::new(emulator.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the emulator's first line");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    let out = env
        .cmd(&[
            "chat",
            "--endpoint",
            &url,
            "--record",
            "rec.jsonl",
            "What is 2 + 2?",
        ])
        .env("GEMINI_API_KEY", KEY)
        .env("GEMLIVE_LOG", "trace")
        .output()
        .expect("run gemlive");
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert_ok(&out);
    let err = stderr(&out);
    // The trace ran: tungstenite's handshake, with its headers, is in it (scrubbed).
    assert!(
        err.contains("tungstenite") && err.contains("x-goog-api-key: <redacted>"),
        "{}",
        &err[..err.len().min(4000)]
    );
    let mut outputs = vec![
        ("stdout".to_owned(), stdout(&out)),
        ("stderr".to_owned(), err),
    ];
    fn walk(dir: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, found);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                found.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    walk(env.path(), &mut outputs);
    assert!(outputs.iter().any(|(p, _)| p.ends_with("emulator.err")));
    assert!(
        outputs.iter().any(|(p, _)| p.contains("emu-rec")),
        "the emulator recorded"
    );
    for (name, text) in &outputs {
        assert!(!text.contains(KEY), "{name} shows the key");
    }
}
