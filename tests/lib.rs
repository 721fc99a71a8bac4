//! Cross-crate tests. The `gemlive` end-to-end tests (`tests/cli.rs`) are declared by the
//! `gemlive-cli` package, so that cargo builds the binary they run.
