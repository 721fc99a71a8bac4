//! The conformance corpus: 99 sessions recorded from Google's servers, kept outside the
//! repository (`../shared/conformance` beside the checkout in the project's CI).
//!
//! The rule, the same for xtask and every test that reads the corpus (`tests/support/prereq.rs`):
//! a corpus that was asked for (`--corpus DIR`, `GEMLIVE_CONFORMANCE_DIR`, or anything under CI,
//! `GEMLIVE_CI`) must be there; otherwise its checks are skipped with a note.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The environment variable naming the corpus directory (the one holding `sessions/`) for tests;
/// when it is set, they require the corpus.
pub(crate) const ENV: &str = "GEMLIVE_CONFORMANCE_DIR";

/// Where the corpus is looked for when none is named: `../shared/conformance` beside the checkout.
pub(crate) fn default_dir(root: &Path) -> PathBuf {
    root.join("../shared/conformance")
}

/// The recorded sessions in `dir/sessions`, sorted; an error if there are none.
pub(crate) fn sessions(dir: &Path) -> Result<Vec<PathBuf>> {
    let sessions = dir.join("sessions");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&sessions)
        .with_context(|| format!("read {} (the conformance corpus)", sessions.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    if paths.is_empty() {
        bail!("{} holds no recorded sessions", sessions.display());
    }
    paths.sort();
    Ok(paths)
}

/// Every recorded session decodes, re-encodes and replays cleanly.
pub(crate) fn check(paths: &[PathBuf]) -> Result<()> {
    let (mut frames, mut failures) = (0, Vec::new());
    for path in paths {
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
