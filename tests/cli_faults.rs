//! The fault matrix of the `gemlive` binary: every fault the emulator can inject, against
//! `chat`, `chat --audio` and `talk` with a spoken WAV, as real processes on loopback. Each
//! scenario is a file in `tests/cli_faults/` (adding one is adding a file); the runner starts a
//! `gemlive emulator` with the scenario's options and script, runs the three clients against
//! it, and checks exit code, messages, which turns were answered, and the WAVs. Nothing may
//! hang: a client still running after two minutes fails the scenario.
//!
//! The three turns are those of issue 13: "hello", "what is 2+2", "tell me a joke" (chat), and
//! three utterances in a WAV (talk). `cargo test -p gemlive-cli --test faults -- --nocapture`
//! prints the measured matrix.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

#[path = "common/emulator.rs"]
mod emulator;
#[path = "common/speech.rs"]
mod speech;

use emulator::Emulator;

const TURNS: [&str; 3] = ["hello", "what is 2+2", "tell me a joke"];
/// The emulator's answers to [`TURNS`], unless a scenario's script replies otherwise.
const ANSWERS: [&str; 3] = [
    "Hello! I am the gemlive emulator. How can I help you today?",
    "2 + 2 is 4.",
    "You said: tell me a joke",
];
/// Three utterances, each followed by room for its reply.
const UTTERANCES: &[(f64, bool)] = &[
    (0.2, false),
    (0.8, true),
    (2.5, false),
    (0.8, true),
    (2.5, false),
    (0.8, true),
    (1.0, false),
];
/// Longer than any scenario takes: a client still running is hung.
const HANG: Duration = Duration::from_secs(120);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    about: String,
    /// The emulator's script (JSON, as `gemlive emulator --script` reads it).
    script: String,
    /// `gemlive emulator` flags besides the script (`--speed 0` unless given).
    #[serde(default)]
    emulator: Vec<String>,
    /// Flags for every client (e.g. a short `--stall-timeout`).
    #[serde(default)]
    client: Vec<String>,
    /// Turn `n` (1-based) is this long instead: `x` repeated, after "what is 2+2 ".
    big_turn: Option<(usize, usize)>,
    /// Turn number → what the model answers it with, where the script says otherwise.
    #[serde(default)]
    answers: BTreeMap<String, String>,
    chat: Expect,
    chat_audio: Expect,
    talk: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    exit: i32,
    /// The turns answered (1-based); for talk, how many replies.
    completed: Vec<usize>,
    /// Talk: replies that did not come, as the summary counts them.
    #[serde(default)]
    lost: usize,
    /// Lines of stderr (chat, talk) or of the error event (chat --audio --json), in part.
    #[serde(default)]
    says: Vec<String>,
    /// Talk: which replies come varies from run to run (a move to a new connection is paced
    /// with random jitter): only check that a missing reply was reported, and that the exit
    /// code is 0 exactly when none was lost (`exit` otherwise).
    #[serde(default)]
    varies: bool,
    /// Talk: the session ends before the WAV does (its last utterances are not heard).
    #[serde(default)]
    ends_early: bool,
}

/// What one client run did.
#[derive(Debug)]
struct Run {
    exit: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn gemlive() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemlive"));
    cmd.env("NO_COLOR", "1")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMLIVE_ENDPOINT")
        .env_remove("GEMLIVE_MODEL")
        .env_remove("GEMLIVE_EMULATOR_SPEED");
    cmd
}

/// Runs `cmd` to its end (at most [`HANG`]), stdout to `stdout_file` if given.
fn run(mut cmd: Command, stdout_file: Option<&Path>, stdin: Option<String>) -> Run {
    let started = Instant::now();
    match stdout_file {
        Some(p) => cmd.stdout(std::fs::File::create(p).expect("stdout file")),
        None => cmd.stdout(Stdio::piped()),
    };
    cmd.stderr(Stdio::piped()).stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn gemlive");
    if let Some(text) = stdin {
        let mut input = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = input.write_all(text.as_bytes());
        });
    }
    let read = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = read(child.stdout.take().map(|o| Box::new(o) as _));
    let err = read(child.stderr.take().map(|e| Box::new(e) as _));
    let exit = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = out.join().expect("stdout");
    if let Some(p) = stdout_file {
        stdout = std::fs::read_to_string(p).expect("stdout file");
    }
    Run {
        exit,
        stdout,
        stderr: err.join().expect("stderr"),
        took: started.elapsed(),
    }
}

/// A mono 16-bit WAV with sound in it: its length in seconds.
fn wav_seconds(path: &Path) -> Result<f64, String> {
    let reader = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    let secs = f64::from(reader.duration()) / f64::from(spec.sample_rate);
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if spec.channels != 1 || !samples.iter().any(|s| s.unsigned_abs() > 1000) {
        return Err(format!("{}: not a mono WAV with sound", path.display()));
    }
    Ok(secs)
}

/// One cell of the matrix.
struct Cell {
    mode: &'static str,
    run: Run,
    completed: Vec<usize>,
    lost: usize,
    wav: String,
    problems: Vec<String>,
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn check_says(problems: &mut Vec<String>, text: &str, says: &[String]) {
    for s in says {
        if !text.contains(s.as_str()) {
            problems.push(format!("does not say {s:?}"));
        }
    }
}

fn run_scenario(path: &Path) -> (String, Scenario, Vec<Cell>) {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).expect("read scenario");
    let sc: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("script.json");
    std::fs::write(&script, &sc.script).expect("write script");
    let mut flags = vec!["--script".to_owned(), script.display().to_string()];
    flags.extend(sc.emulator.iter().cloned());
    let emulator = Emulator::start(Path::new(env!("CARGO_BIN_EXE_gemlive")), dir.path(), &flags);

    let mut turns: Vec<String> = TURNS.iter().map(|t| (*t).to_owned()).collect();
    if let Some((n, len)) = sc.big_turn {
        turns[n - 1] = format!("what is 2+2 {}", "x".repeat(len));
    }
    std::fs::write(dir.path().join("turns.txt"), turns.join("\n")).expect("turns");
    speech::speech_wav(&dir.path().join("q.wav"), UTTERANCES);
    let client = |mode: &str, args: &[&str]| {
        let home = dir.path().join(mode);
        std::fs::create_dir_all(&home).expect("client dir");
        let mut cmd = gemlive();
        cmd.args(args)
            .args(["--endpoint", &emulator.url])
            .args(&sc.client)
            .current_dir(&home)
            .env("GEMLIVE_STATE_DIR", home.join("state"));
        (cmd, home)
    };
    let threads = std::thread::scope(|s| {
        let chat = s.spawn(|| {
            let (cmd, home) = client("chat", &["chat", "--turns-file", "../turns.txt"]);
            let run = run(cmd, Some(&home.join("answer.txt")), None);
            check_chat(&sc, &run)
        });
        let chat_audio = s.spawn(|| {
            let (cmd, home) = client(
                "chat_audio",
                &[
                    "chat",
                    "--json",
                    "--audio",
                    "--output-dir",
                    "replies",
                    "--turns-file",
                    "../turns.txt",
                ],
            );
            let run = run(cmd, None, None);
            check_chat_audio(&sc, run, &home)
        });
        let talk = s.spawn(|| {
            let (cmd, home) = client(
                "talk",
                &["talk", "--json", "--input", "../q.wav", "--output", "a.wav"],
            );
            // An oversized turn reaches talk as a typed line.
            let stdin = sc.big_turn.map(|(n, _)| format!("{}\n", turns[n - 1]));
            let run = run(cmd, None, stdin);
            check_talk(&sc, run, &home)
        });
        [chat, chat_audio, talk].map(|t| t.join().expect("client thread"))
    });
    drop(emulator);
    (name, sc, threads.into())
}

fn check_chat(sc: &Scenario, run: &Run) -> Cell {
    let mut problems = Vec::new();
    // stdout, a file of its own, holds each completed turn's whole answer and nothing else.
    let expected: Vec<String> = sc
        .chat
        .completed
        .iter()
        .map(|n| {
            sc.answers
                .get(&n.to_string())
                .cloned()
                .unwrap_or_else(|| ANSWERS[n - 1].to_owned())
        })
        .collect();
    let got: Vec<&str> = run.stdout.lines().collect();
    if got != expected {
        problems.push(format!("stdout {got:?}, expected {expected:?}"));
    }
    // Turns named as not completed or not answered did not complete; the others did, one
    // `turn complete` each.
    let completed: Vec<usize> = (1..=3)
        .filter(|n| {
            !run.stderr.contains(&format!("turn {n} “")) && !run.stderr.contains(&format!("#{n} “"))
        })
        .collect();
    let ends = run.stderr.matches("── turn complete").count();
    if ends != completed.len() {
        problems.push(format!("{ends} turns complete, {completed:?} named"));
    }
    check_says(&mut problems, &run.stderr, &sc.chat.says);
    finish(
        "chat",
        &sc.chat,
        Cell {
            mode: "chat",
            run: Run {
                exit: run.exit,
                stdout: run.stdout.clone(),
                stderr: run.stderr.clone(),
                took: run.took,
            },
            completed,
            lost: 0,
            wav: "-".into(),
            problems,
        },
    )
}

fn check_chat_audio(sc: &Scenario, run: Run, home: &Path) -> Cell {
    let mut problems = Vec::new();
    let events = json_lines(&run.stdout);
    let completed: Vec<usize> = events
        .iter()
        .filter(|e| e["event"] == "turn_end" && e["completed"] == true)
        .filter_map(|e| e["turn"].as_u64().map(|t| t as usize + 1))
        .collect();
    // A WAV per completed reply, valid; none for a turn without its answer.
    let mut wavs = Vec::new();
    for n in 1..=3 {
        let path = home.join(format!("replies/audio_{}.wav", n - 1));
        match (completed.contains(&n), path.exists()) {
            (true, _) => match wav_seconds(&path) {
                Ok(secs) => wavs.push(format!("{secs:.1}")),
                Err(e) => problems.push(e),
            },
            (false, true) => problems.push(format!("a WAV for turn {n}, not completed")),
            (false, false) => wavs.push("-".into()),
        }
    }
    check_says(
        &mut problems,
        &format!("{}\n{}", error_of(&events), run.stderr),
        &sc.chat_audio.says,
    );
    if events.len() != run.stdout.lines().count() {
        problems.push("stdout holds lines that are not JSON".into());
    }
    finish(
        "chat_audio",
        &sc.chat_audio,
        Cell {
            mode: "chat --audio",
            run,
            completed,
            lost: 0,
            wav: wavs.join("/"),
            problems,
        },
    )
}

fn check_talk(sc: &Scenario, run: Run, home: &Path) -> Cell {
    let mut problems = Vec::new();
    let events = json_lines(&run.stdout);
    let summary = events.iter().rfind(|e| e["event"] == "summary");
    // Replies heard: turns that ended with audio (a turn the user's next speech cut before
    // it said anything is no reply).
    let turns = events
        .iter()
        .filter(|e| e["event"] == "turn_end" && e["audio_s"].as_f64().is_some_and(|s| s > 0.0))
        .count();
    let lost = summary
        .and_then(|s| s["not_completed"].as_u64())
        .unwrap_or(0) as usize;
    let wav = if turns > 0 {
        match wav_seconds(&home.join("a.wav")) {
            Ok(secs) => format!("{secs:.1}"),
            Err(e) => {
                problems.push(e);
                "bad".into()
            }
        }
    } else {
        "-".into()
    };
    check_says(
        &mut problems,
        &format!("{}\n{}", error_of(&events), run.stderr),
        &sc.talk.says,
    );
    // No reply is lost silently: when an utterance got none, the run says so. (What was said
    // across one break is one loss for talk, which knows utterances only by the server's word
    // and the audio's level: a count per utterance is for the scenarios that fix it.)
    let utterances = UTTERANCES.iter().filter(|(_, loud)| *loud).count();
    if !sc.talk.ends_early && turns < utterances && lost == 0 {
        problems.push(format!(
            "{turns} replies for {utterances} utterances, and none reported lost"
        ));
    }
    if sc.talk.varies {
        let exit = if lost == 0 { 0 } else { sc.talk.exit };
        if run.exit.is_some_and(|code| code != exit) {
            problems.push(format!("exit {:?} with {lost} lost", run.exit));
        }
        return Cell {
            mode: "talk",
            completed: (1..=turns).collect(),
            run,
            lost,
            wav,
            problems,
        };
    }
    if lost != sc.talk.lost {
        problems.push(format!("{lost} replies lost, expected {}", sc.talk.lost));
    }
    finish(
        "talk",
        &sc.talk,
        Cell {
            mode: "talk",
            run,
            completed: (1..=turns).collect(),
            lost,
            wav,
            problems,
        },
    )
}

fn finish(_mode: &str, expect: &Expect, mut cell: Cell) -> Cell {
    match cell.run.exit {
        None => cell
            .problems
            .push(format!("hung: killed after {} s", HANG.as_secs())),
        Some(code) if code != expect.exit => cell
            .problems
            .push(format!("exit {code}, expected {}", expect.exit)),
        Some(_) => {}
    }
    if cell.completed != expect.completed {
        cell.problems.push(format!(
            "completed {:?}, expected {:?}",
            cell.completed, expect.completed
        ));
    }
    cell
}

/// The message of the `error` event of a `--json` run (empty when it ended well).
fn error_of(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["event"] == "error")
        .filter_map(|e| e["message"].as_str())
        .collect()
}

/// What went wrong, for the matrix.
fn message(cell: &Cell) -> String {
    let from_json = error_of(&json_lines(&cell.run.stdout));
    if !from_json.is_empty() {
        return from_json;
    }
    cell.run
        .stderr
        .lines()
        .rfind(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error: ").to_owned())
        .unwrap_or_default()
}

/// The lines of `text` that say something (no audio chunks), each cut to 200 characters.
fn excerpt(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(r#""event":"audio""#))
        .map(|l| l.chars().take(200).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_fault_in_chat_chat_audio_and_talk() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cli_faults");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cli_faults")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "{paths:?}");
    // A few scenarios at a time: talk streams its WAV in real time, the rest is quick.
    let mut results = Vec::new();
    for chunk in paths.chunks(4) {
        let runs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|p| s.spawn(move || run_scenario(p)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("scenario"))
                .collect()
        });
        results.extend(runs);
    }
    let mut failures = Vec::new();
    eprintln!(
        "{:<26} {:<13} {:>4} {:<10} {:>4} {:<11} {:>6}  message",
        "fault", "client", "exit", "completed", "lost", "WAV s", "took"
    );
    for (name, sc, cells) in &results {
        for cell in cells {
            eprintln!(
                "{:<26} {:<13} {:>4} {:<10} {:>4} {:<11} {:>5.1}s  {}",
                name,
                cell.mode,
                cell.run
                    .exit
                    .map_or_else(|| "hung".to_owned(), |c| c.to_string()),
                format!("{:?}", cell.completed),
                cell.lost,
                cell.wav,
                cell.run.took.as_secs_f64(),
                message(cell)
            );
            if !cell.problems.is_empty() {
                failures.push(format!(
                    "{name} ({}): {} [{}]\n--- stdout:\n{}\n--- stderr:\n{}",
                    cell.mode,
                    cell.problems.join("; "),
                    sc.about,
                    excerpt(&cell.run.stdout),
                    excerpt(&cell.run.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
