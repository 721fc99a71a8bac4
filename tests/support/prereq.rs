//! What a test needs from outside the repository, under one rule: what is missing fails the test
//! in CI (`GEMLIVE_CI` set: `.ci/run` installs every tool) and skips it with a note elsewhere.
//! The conformance corpus follows the same rule, and is also required when it was named
//! (`GEMLIVE_CONFORMANCE_DIR`, which `cargo xtask ci` sets when it runs the corpus checks).
//!
//! Included by the tests that need it: `#[path = ".../tests/support/prereq.rs"] mod prereq;`.
#![allow(dead_code)] // each test uses its part

use std::io::Write;
use std::path::{Path, PathBuf};

/// `what` is missing (`how`: how to get it): under CI a panic; otherwise a note on stderr, and the
/// caller skips what needed it.
pub(crate) fn missing(what: &str, how: &str) {
    assert!(
        std::env::var_os("GEMLIVE_CI").is_none(),
        "{what} is missing, and CI (GEMLIVE_CI) requires it: {how}"
    );
    // Straight to stderr: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "skipped: {what} is missing ({how})");
}

/// Whether `program` is on `PATH`; if not, [`missing`] says so.
pub(crate) fn on_path(program: &str, how: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        missing(&format!("`{program}`"), how);
    }
    found
}

/// Whether `program` runs (`program ARG` exits at all); if not, [`missing`] says so.
pub(crate) fn has_tool(program: &str, arg: &str, how: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg(arg)
        .output()
        .is_ok();
    if !found {
        missing(&format!("`{program}`"), how);
    }
    found
}

/// The conformance corpus's recorded sessions (`*.jsonl` in `sessions/`, sorted): in
/// `$GEMLIVE_CONFORMANCE_DIR`, or in `../shared/conformance` beside the checkout. `None` (after a
/// note) when there are none and none were asked for.
pub(crate) fn conformance_sessions() -> Option<Vec<PathBuf>> {
    let (dir, named) = match std::env::var_os("GEMLIVE_CONFORMANCE_DIR") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (workspace_root().join("../shared/conformance"), false),
    };
    let sessions = dir.join("sessions");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&sessions)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    if paths.is_empty() {
        let what = format!("the conformance corpus ({})", sessions.display());
        assert!(
            !named,
            "{what} is missing, and GEMLIVE_CONFORMANCE_DIR names it"
        );
        missing(
            &what,
            "cargo xtask ci --corpus DIR, or GEMLIVE_CONFORMANCE_DIR=DIR",
        );
        return None;
    }
    paths.sort();
    Some(paths)
}

/// The workspace's root: the closest directory above this crate holding `Cargo.lock`.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("a workspace root above the crate")
}
