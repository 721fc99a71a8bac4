//! What every benchmark binary needs: its mode and a way to report.

/// Whether the binary runs in `--test` mode (CI: run everything once, measure nothing).
pub(crate) fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// A summary line, prefixed so `cargo xtask bench` can collect it. In `--test` mode the figures
/// come from a single pass and say so.
pub(crate) fn summary(line: &str) {
    if test_mode() {
        println!("summary: [--test, one pass, not a measurement] {line}");
    } else {
        println!("summary: {line}");
    }
}
