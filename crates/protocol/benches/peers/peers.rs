//! gemlive's decoding against its peers', in one process, on the same frames (the protocol
//! benchmarks' corpus, `../support/corpus.rs`), in paired rounds: the contenders alternate pass by
//! pass, and each one's median pass gives the ratios of `cargo xtask bench`'s summary.
//!
//! - gemlive: `Session::handle_frame` + `poll_output` until idle, as in the `decode` benchmark;
//! - `gemini-live` 0.1.9 (crates.io): what its session does with a frame from Google (a binary
//!   frame: `std::str::from_utf8`, then `codec::decode` and `codec::into_events`, in
//!   `try_decode_and_process`), the PCM read from `ServerEvent::ModelAudio`;
//! - the official Python SDK (`google-genai`) when `GEMLIVE_BENCH_PYTHON` names a Python that has
//!   it: `../python/sdk_decode.py` in a child process, timing its own passes when asked (its receive
//!   path, and pydantic's `model_validate_json`).
//!
//! Every contender is checked to find all of the corpus's PCM bytes. `--test` runs one round.
//! A positional argument is a filter, as criterion's: the benchmark runs if one is part of
//! `peers/decode`.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

#[path = "../support/corpus.rs"]
mod corpus;
#[path = "../support/paired.rs"]
mod paired;
#[path = "../support/pcm.rs"]
mod pcm;
#[path = "../support/run.rs"]
mod run;
#[path = "../support/session.rs"]
mod session;

use std::cell::RefCell;
use std::ffi::OsString;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use corpus::{Corpus, feed};
use gemini_live::codec;
use gemini_live::types::ServerEvent;

/// The crate version pinned in `Cargo.toml`.
const GEMINI_LIVE: &str = "gemini-live 0.1.9";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| "peers/decode".contains(f.as_str())) {
        return;
    }
    let corpus = Corpus::new(4);
    let now = Instant::now();
    let mut session = session::ready_session(now);
    let pcm = corpus.pcm_bytes();
    assert_eq!(session_pass(&mut session, &corpus, now), pcm);
    assert_eq!(
        gemini_live_pass(&corpus),
        pcm,
        "{GEMINI_LIVE} finds the PCM"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let python = std::env::var_os("GEMLIVE_BENCH_PYTHON")
        .map(|python| RefCell::new(Python::start(&python, &corpus, dir.path())));

    let test = run::test_mode();
    let mut ours = || {
        paired::time(|| {
            black_box(session_pass(&mut session, &corpus, now));
        })
    };
    let mut theirs = || {
        paired::time(|| {
            black_box(gemini_live_pass(&corpus));
        })
    };
    let python_pass = |way| {
        python
            .as_ref()
            .expect("the Python child")
            .borrow_mut()
            .pass(way, pcm)
    };
    let mut sdk = || python_pass("sdk");
    let mut validate = || python_pass("validate");
    let mut contenders: Vec<&mut dyn FnMut() -> Duration> = vec![&mut ours, &mut theirs];
    if python.is_some() {
        contenders.extend([&mut sdk as &mut dyn FnMut() -> Duration, &mut validate]);
    }
    for _ in 0..if test { 0 } else { 10 } {
        for pass in &mut contenders {
            pass();
        }
    }
    let rounds = if test { 1 } else { 200 };
    let times = paired::paired(rounds, &mut contenders);
    drop(contenders);

    let rate = |d: Duration| {
        format!(
            "{:>9.0} frames/s {:>7.1} MB/s of PCM",
            corpus.len() as f64 / d.as_secs_f64(),
            pcm as f64 / d.as_secs_f64() / 1e6
        )
    };
    let ours = times[0];
    run::summary(&format!(
        "peers decode corpus: {}; median of {rounds} paired rounds",
        corpus.describe()
    ));
    run::summary(&format!("peers decode gemlive Session:   {}", rate(ours)));
    let mut names = vec![format!("{GEMINI_LIVE}:  ")];
    if let Some(python) = &python {
        let version = &python.borrow().version;
        names.push(format!("python google-genai {version} SDK receive path:"));
        names.push(format!(
            "python google-genai {version} model_validate_json:"
        ));
    }
    for (name, &theirs) in names.iter().zip(&times[1..]) {
        run::summary(&format!(
            "peers decode {name} {}  gemlive is {:.2}x its speed",
            rate(theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        ));
    }
    if python.is_none() {
        println!(
            "peers: the Python SDK is left out (set GEMLIVE_BENCH_PYTHON to a Python with google-genai)"
        );
    }
}

fn session_pass(session: &mut gemlive_protocol::Session, corpus: &Corpus, now: Instant) -> usize {
    corpus
        .frames
        .iter()
        .map(|f| feed(session, &f.bytes, now))
        .sum()
}

/// `gemini-live`'s receive path over the corpus; returns the PCM bytes it found.
fn gemini_live_pass(corpus: &Corpus) -> usize {
    let mut pcm = 0;
    for f in &corpus.frames {
        let text = std::str::from_utf8(&f.bytes).expect("UTF-8");
        let message = codec::decode(text).expect("gemini-live decodes the frame");
        for event in codec::into_events(message) {
            match event {
                ServerEvent::ModelAudio(data) => pcm += black_box(data).len(),
                other => {
                    black_box(other);
                }
            }
        }
    }
    pcm
}

/// The Python SDK in a child process (`../python/sdk_decode.py`), decoding the corpus one pass at
/// a time when asked.
struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    version: String,
}

impl Python {
    /// Writes the corpus into `dir` (one JSON string per frame) and starts the script on it.
    fn start(python: &OsString, corpus: &Corpus, dir: &Path) -> Self {
        let file = dir.join("corpus.jsonl");
        let mut lines = String::new();
        for f in &corpus.frames {
            let text = std::str::from_utf8(&f.bytes).expect("UTF-8");
            lines.push_str(&serde_json::to_string(text).expect("a JSON string"));
            lines.push('\n');
        }
        std::fs::write(&file, lines).expect("write the corpus for Python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/sdk_decode.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", python.to_string_lossy()));
        let stdin = child.stdin.take().expect("the child's stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("the child's stdout"));
        let mut ready = String::new();
        stdout.read_line(&mut ready).expect("read from Python");
        let ready: Vec<&str> = ready.split_whitespace().collect();
        let ["ready", version, frames] = ready[..] else {
            panic!(
                "{} with google-genai did not start: {ready:?}",
                python.to_string_lossy()
            );
        };
        assert_eq!(frames, corpus.len().to_string(), "Python read every frame");
        Self {
            child,
            stdin,
            stdout,
            version: version.to_owned(),
        }
    }

    /// One pass of `way` (`sdk` or `validate`), timed by Python; checks it found `pcm` bytes.
    fn pass(&mut self, way: &str, pcm: usize) -> Duration {
        writeln!(self.stdin, "{way}").expect("ask Python for a pass");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from Python");
        let (secs, found) = line.trim().split_once(' ').expect("SECONDS PCM_BYTES");
        assert_eq!(found, pcm.to_string(), "Python's {way} finds the PCM");
        Duration::from_secs_f64(secs.parse().expect("seconds"))
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
