//! Cross-crate tests. `client_emulator.rs` holds sessions between gemlive's own client
//! (`gemlive-transport`) and the emulator over real loopback WebSockets. The `gemlive` binary's
//! end-to-end tests (`cli.rs`, `talk.rs`) are declared by the `gemlive-cli` package, so that
//! cargo builds the binary they run.

/// The README's Rust snippets, compiled and run as doctests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct Readme;
