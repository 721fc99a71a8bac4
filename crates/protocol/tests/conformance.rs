//! Every recorded session of the conformance corpus (`../shared/conformance` beside the
//! checkout, or `$GEMLIVE_CONFORMANCE_DIR`) decodes, re-encodes and replays cleanly.

#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use std::time::Instant;

#[allow(clippy::disallowed_methods)] // Tests pick an origin; the crate itself never reads the clock.
fn origin() -> Instant {
    Instant::now()
}

use gemlive_protocol::replay::check_conformance;

#[test]
fn recorded_sessions_conform() {
    let Some(paths) = prereq::conformance_sessions() else {
        return;
    };
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
