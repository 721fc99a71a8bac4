//! Project automation. Every check here also runs under plain `cargo test`; xtask only bundles
//! them for CI, times them and prints summaries.
//!
//! - `cargo xtask ci [--corpus DIR]`: every check as named, timed steps (`ci.rs`), then a table of
//!   step times. The conformance corpus checks run when the corpus is found (`DIR`, or
//!   `../shared/conformance` beside the checkout) and are skipped with one line otherwise;
//!   `--corpus` (or `GEMLIVE_CI`, set by `.ci/run`) makes them required.
//! - `cargo xtask replay`: replays `fixtures/*.jsonl` against their reviewed snapshots.
//! - `cargo xtask conformance [DIR]`: checks the recorded sessions in `DIR/sessions`
//!   (default `../shared/conformance`).
//! - `cargo xtask fidelity [--strict-models] [--show NAME] [DIR]`: replays the client side of those sessions
//!   against the emulator and compares its answers with Google's (see `fidelity.rs`).
//! - `cargo xtask fuzz [TARGET] [--time S] [--asan] | --smoke`: the cargo-fuzz targets (nightly
//!   and cargo-fuzz), then a table of executions and coverage (`fuzz.rs`; see `fuzz/README.md`).
//! - `cargo xtask package`: `cargo package` of every library crate (`package.rs`).
//! - `cargo xtask bench [--test | --latency] [ARGS]`: the benchmarks and their summary, the peers
//!   measured in the same run (`bench.rs`; see `BENCHMARKS.md`).

mod bench;
mod ci;
mod cmd;
mod corpus;
mod fidelity;
mod fuzz;
mod package;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

const USAGE: &str = "usage: cargo xtask <ci [--corpus DIR] | replay | conformance [DIR] | fidelity [--strict-models] [--show NAME] [DIR] | fuzz [TARGET] [--time S] [--asan] | package [--verify] | bench [--test | --latency] [ARGS]>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line, without a backtrace: the failing step or command says
            // what went wrong, above.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    // Paths on the command line are the caller's, relative to where they ran cargo.
    let cwd = std::env::current_dir().context("find the current directory")?;
    std::env::set_current_dir(&root).context("enter the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci::run(&root, &cwd, &args[1..]),
        Some("replay") => cmd::run(
            cmd::cargo()
                .args([
                    "test",
                    "--locked",
                    "-p",
                    "gemlive-protocol",
                    "--test",
                    "replay",
                ])
                .env("INSTA_UPDATE", "no"),
        ),
        Some("conformance") => corpus::check(&corpus::sessions(
            &args
                .get(1)
                .map_or_else(|| corpus::default_dir(&root), |dir| cwd.join(dir)),
        )?),
        Some("fidelity") => fidelity::run(&args[1..], &root, &cwd),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        Some("package") => package::package(args.get(1).is_some_and(|a| a == "--verify")),
        Some("bench") => bench::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
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
