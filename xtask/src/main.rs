//! Project automation. Every check here also runs under plain `cargo test`; xtask only bundles
//! them for CI and prints summaries.
//!
//! - `cargo xtask ci`: fmt check, clippy with `-D warnings`, all tests, fixture replay,
//!   conformance, and the audio device tests when the machine can build them.
//! - `cargo xtask replay`: replays `fixtures/*.jsonl` against their reviewed snapshots.
//! - `cargo xtask conformance [DIR]`: checks the recorded sessions in `DIR/sessions`
//!   (default `../shared/conformance`).
//! - `cargo xtask fuzz [TARGET] [--time S] [--asan]`: the cargo-fuzz targets (nightly); see `fuzz.rs`.
//! - `cargo xtask bench [--test] [ARGS]`: the protocol crate's benchmarks (criterion), the end-to-end
//!   loopback and emulator-capacity benchmarks (`tests/benches`), then a summary with the machine;
//!   `--test` runs each once (CI). See `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod fuzz;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("enter the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("replay") => replay(),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("conformance") => conformance(
            args.get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("../shared/conformance")),
        ),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | replay | conformance [DIR] | bench [--test] [ARGS] | fuzz [TARGET] [--time S]>"
            );
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo(args: &[&str]) -> Result<()> {
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(args))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", format!("{cmd:?}").replace('"', ""));
    let status = cmd.status().with_context(|| format!("run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn ci(root: &Path) -> Result<()> {
    let started = Instant::now();
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--locked"])?;
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    replay()?;
    conformance(root.join("../shared/conformance"))?;
    // Benchmarks are not timed tests: CI checks that they build and run once.
    bench(&["--test".to_owned()])?;
    device_tests()?;
    fuzz::smoke(root)?;
    eprintln!("ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

fn replay() -> Result<()> {
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "test",
                "--locked",
                "-p",
                "gemlive-protocol",
                "--test",
                "replay",
            ])
            .env("INSTA_UPDATE", "no"),
    )
}

fn conformance(dir: PathBuf) -> Result<()> {
    let sessions = dir.join("sessions");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&sessions)
        .with_context(|| format!("read {} (the conformance corpus)", sessions.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    let (mut frames, mut failures) = (0, Vec::new());
    for path in &paths {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let report = protocol::replay::check_conformance(&text, Instant::now());
        frames += report.frames;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        failures.extend(report.failures.into_iter().map(|f| format!("{name}: {f}")));
    }
    for f in &failures {
        eprintln!("{f}");
    }
    println!(
        "conformance: {} sessions, {frames} frames, {} failures",
        paths.len(),
        failures.len()
    );
    if !failures.is_empty() {
        bail!("{} conformance failures", failures.len());
    }
    Ok(())
}

/// The audio crate's real-stream tests need ALSA headers to build and PulseAudio to run;
/// `.ci/run` provides both. Elsewhere they are skipped with a note.
fn device_tests() -> Result<()> {
    let has_alsa = Command::new("pkg-config")
        .args(["--exists", "alsa"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_alsa {
        eprintln!("note: skipping audio device tests (install libasound2-dev, or run .ci/run)");
        return Ok(());
    }
    for (package, features) in [
        ("gemlive-audio", "device,vad,aec"),
        ("gemlive-cli", "device,vad,aec"),
    ] {
        cargo(&[
            "clippy",
            "-p",
            package,
            "--all-targets",
            "--features",
            features,
            "--locked",
            "--",
            "-D",
            "warnings",
        ])?;
    }
    let pulse = std::env::var_os("GEMLIVE_PULSE").is_some();
    let mut audio_tests = vec!["test", "-p", "gemlive-audio", "--all-features", "--locked"];
    if pulse {
        audio_tests.extend(["--", "--include-ignored"]);
    } else {
        eprintln!(
            "note: skipping real-stream audio tests (no PulseAudio; source .ci/audio-env.sh)"
        );
    }
    cargo(&audio_tests)?;
    cargo(&[
        "test",
        "-p",
        "gemlive-cli",
        "--features",
        "device,vad,aec",
        "--locked",
    ])?;
    if !pulse {
        return Ok(());
    }
    // `gemlive talk` through the virtual microphone and speaker, end to end.
    run(Command::new("bash").arg(".ci/talk-test.sh"))
}

/// Runs the protocol benchmarks with `ARGS` passed to them (criterion's: `--test`, a filter,
/// `--measurement-time 3`, ...), then the end-to-end ones in `tests/benches` (which take `--test`
/// and a filter too), echoes their output, then repeats their `summary:` lines
/// (same-run ratios, allocation counts, latency percentiles) under the machine they ran on.
/// With `GEMLIVE_BENCH_PYTHON=<python with google-genai>`, the official Python SDK then decodes
/// the same corpus right after (`crates/protocol/benches/python/sdk_decode.py`).
fn bench(args: &[String]) -> Result<()> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    fn echo_and_collect(cmd: &mut Command, summary: &mut Vec<String>) -> Result<()> {
        eprintln!("$ {}", format!("{cmd:?}").replace('"', ""));
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("run {cmd:?}"))?;
        let stdout = child
            .stdout
            .take()
            .context("capture the benchmarks' output")?;
        for line in BufReader::new(stdout).lines() {
            let line = line.context("read the benchmarks' output")?;
            println!("{line}");
            if let Some(s) = line.strip_prefix("summary: ") {
                summary.push(s.to_owned());
            }
        }
        let status = child.wait().context("wait for the benchmarks")?;
        if !status.success() {
            bail!("{cmd:?} failed with {status}");
        }
        Ok(())
    }

    let python = std::env::var_os("GEMLIVE_BENCH_PYTHON");
    // Absolute: cargo runs benchmarks in the package's directory.
    let corpus = std::env::current_dir()
        .context("find the workspace root")?
        .join("target")
        .join("bench-corpus.jsonl");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args([
        "bench",
        "--locked",
        "-p",
        "gemlive-protocol",
        "--benches",
        "--",
    ])
    .args(args);
    if python.is_some() {
        cmd.env("GEMLIVE_BENCH_CORPUS", &corpus);
    }
    let mut summary = Vec::new();
    echo_and_collect(&mut cmd, &mut summary)?;
    // End to end (part 3) and emulator capacity (part 5): processes on loopback, in the tests
    // package. They take `--test`, filters (`loopback`, `capacity`) and `--sessions N,M`.
    echo_and_collect(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "bench",
                "--locked",
                "-p",
                "gemlive-tests",
                "--bench",
                "loopback",
                "--bench",
                "capacity",
                "--",
            ])
            .args(args),
        &mut summary,
    )?;
    if let Some(python) = python {
        let rounds = if args.iter().any(|a| a == "--test") {
            "1"
        } else {
            "30"
        };
        echo_and_collect(
            Command::new(python)
                .arg("crates/protocol/benches/python/sdk_decode.py")
                .arg(&corpus)
                .arg(rounds),
            &mut summary,
        )?;
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\nbench summary: {cpu}, {cores} cores (see BENCHMARKS.md for how to read it)");
    for s in &summary {
        println!("  {s}");
    }
    Ok(())
}
