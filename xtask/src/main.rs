//! Project automation. Every check here also runs under plain `cargo test`; xtask only bundles
//! them for CI and prints summaries.
//!
//! - `cargo xtask ci`: fmt check, clippy with `-D warnings`, all tests, fixture replay,
//!   conformance, and the audio device tests when the machine can build them.
//! - `cargo xtask replay`: replays `fixtures/*.jsonl` against their reviewed snapshots.
//! - `cargo xtask conformance [DIR]`: checks the recorded sessions in `DIR/sessions`
//!   (default `../shared/conformance`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("enter the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("replay") => replay(),
        Some("conformance") => conformance(
            args.get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("../shared/conformance")),
        ),
        _ => {
            eprintln!("usage: cargo xtask <ci | replay | conformance [DIR]>");
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
    device_tests()?;
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
    cargo(&[
        "clippy",
        "-p",
        "gemlive-audio",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    if std::env::var_os("GEMLIVE_PULSE").is_some() {
        cargo(&[
            "test",
            "-p",
            "gemlive-audio",
            "--all-features",
            "--locked",
            "--",
            "--include-ignored",
        ])
    } else {
        eprintln!(
            "note: skipping real-stream audio tests (no PulseAudio; source .ci/audio-env.sh)"
        );
        cargo(&["test", "-p", "gemlive-audio", "--all-features", "--locked"])
    }
}
