//! Programs some tests need (MCP servers), installed by `.ci/run`.

use std::io::Write;

/// Whether `program` is on `PATH`. A test that needs it and does not find it says so, and fails
/// under `GEMLIVE_CI=1`.
pub(crate) fn have(program: &str, install_hint: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        let message = format!("{program} is not installed ({install_hint}; .ci/run installs it)");
        assert!(
            std::env::var("GEMLIVE_CI").as_deref() != Ok("1"),
            "GEMLIVE_CI=1: {message}"
        );
        // Straight to stderr: the harness captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
    }
    found
}
