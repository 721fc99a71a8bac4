//! `cargo xtask bench [--test | --latency] [ARGS]`: the benchmarks, their output echoed, then
//! their `summary:` lines (same-run ratios, allocation counts, latency percentiles) again under
//! the machine they ran on. See `BENCHMARKS.md`.
//!
//! - no flag: the protocol's benchmarks (`crates/protocol/benches`, criterion: `ARGS` are
//!   criterion's, e.g. a filter or `--measurement-time 3`), the peers decoding the same frames in
//!   the same process (`crates/protocol/benches/peers`: the `gemini-live` crate, and the official
//!   Python SDK from `GEMLIVE_BENCH_PYTHON`, or `python3` if it has `google-genai`), then the end-to-end
//!   loopback and emulator-capacity benchmarks (`tests/benches`), each in the `bench` profile and
//!   in its own cargo run, so that one's dependencies' features do not change another's build;
//! - `--latency`: only the end-to-end socket-to-sink latency (part 4 of `BENCHMARKS.md`);
//! - `--test`: every benchmark once, in the test profile, measuring nothing: what CI runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// After `cargo test --workspace`: every benchmark target (not the libraries' tests again), run
/// once in the test profile, measuring nothing. CI's check that they build and run.
pub(crate) const ONCE: [&str; 4] = ["--bench", "*", "--", "--test"];

/// Names the Python that has `google-genai`, for the peers benchmark.
pub(crate) const PYTHON: &str = "GEMLIVE_BENCH_PYTHON";

/// The Python for the SDK comparison: `GEMLIVE_BENCH_PYTHON`, or `python3` if it has `google-genai`.
pub(crate) fn python() -> Option<std::ffi::OsString> {
    std::env::var_os(PYTHON).or_else(|| {
        cmd::succeeds(Command::new("python3").args(["-c", "import google.genai"]))
            .then(|| "python3".into())
    })
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let flag = args.first().map(String::as_str);
    let rest = &args[usize::from(matches!(flag, Some("--test" | "--latency")))..];
    let mut summary = Vec::new();
    let bench = |package: &str, targets: &[&str], extra: &[&str]| {
        let mut cargo = cmd::cargo();
        cargo.args(["bench", "--locked", "-p", package]);
        for target in targets {
            cargo.args(["--bench", target]);
        }
        cargo.arg("--").args(extra).args(rest);
        cargo
    };
    match flag {
        Some("--test") => {
            let mut once = cmd::cargo();
            once.args(["test", "--workspace", "--locked"]).args(ONCE);
            if let Some(python) = python() {
                once.env(PYTHON, python);
            }
            echo_and_collect(&mut once, &mut summary)?;
        }
        Some("--latency") => echo_and_collect(
            &mut bench("gemlive-tests", &["loopback"], &["--latency"]),
            &mut summary,
        )?,
        _ => {
            let mut protocol = cmd::cargo();
            protocol
                .args([
                    "bench",
                    "--locked",
                    "-p",
                    "gemlive-protocol",
                    "--benches",
                    "--",
                ])
                .args(rest);
            echo_and_collect(&mut protocol, &mut summary)?;
            let mut peers = bench("gemlive-peer-bench", &["peers"], &[]);
            match python() {
                Some(python) => peers.env(PYTHON, python),
                None => {
                    eprintln!(
                        "bench: the Python SDK is left out: no python3 with google-genai; set {PYTHON}=/path/to/python"
                    );
                    &mut peers
                }
            };
            echo_and_collect(&mut peers, &mut summary)?;
            // End to end (part 3 and 4) and emulator capacity (part 5): processes on loopback, in
            // the tests package. They take `--test`, filters (`loopback`, `capacity`),
            // `--latency` and `--sessions N,M`.
            echo_and_collect(
                &mut bench("gemlive-tests", &["loopback", "capacity"], &[]),
                &mut summary,
            )?;
        }
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

/// Runs `cmd`, echoing its output and keeping its `summary:` lines.
fn echo_and_collect(cmd: &mut Command, summary: &mut Vec<String>) -> Result<()> {
    eprintln!("$ {}", cmd::show(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("run {}", cmd::show(cmd)))?;
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
        bail!("`{}` failed with {status}", cmd::show(cmd));
    }
    Ok(())
}
