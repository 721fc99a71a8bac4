//! What every benchmark binary needs: its mode and a way to report.

/// Whether the binary runs in `--test` mode (CI: run everything once, measure nothing).
pub(crate) fn test_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// A summary line, prefixed so `cargo xtask bench` can collect it.
pub(crate) fn summary(line: &str) {
    println!("summary: {line}");
}
