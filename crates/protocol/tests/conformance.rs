//! Every recorded session of the conformance corpus (`../shared/conformance` beside the
//! checkout, or `$GEMLIVE_CONFORMANCE_DIR`) decodes, re-encodes and replays cleanly.

use std::path::PathBuf;
use std::time::Instant;

#[allow(clippy::disallowed_methods)] // Tests pick an origin; the crate itself never reads the clock.
fn origin() -> Instant {
    Instant::now()
}

use gemlive_protocol::replay::check_conformance;

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("GEMLIVE_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    };
    dir.join("sessions").is_dir().then_some(dir)
}

#[test]
fn recorded_sessions_conform() {
    let Some(dir) = corpus_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the conformance corpus at ../shared/conformance"
        );
        eprintln!(
            "conformance corpus not found (../shared/conformance); set GEMLIVE_CONFORMANCE_DIR to run this test"
        );
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("sessions"))
        .expect("read the corpus")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    let (mut frames, mut failures) = (0, Vec::new());
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("read a session");
        let report = check_conformance(&text, origin());
        frames += report.frames;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        failures.extend(report.failures.into_iter().map(|f| format!("{name}: {f}")));
    }
    eprintln!(
        "conformance: {} sessions, {frames} frames, {} failures",
        paths.len(),
        failures.len()
    );
    assert!(
        paths.len() >= 99,
        "expected the 99 recorded sessions, found {}",
        paths.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
