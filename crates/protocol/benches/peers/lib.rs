//! Nothing but a benchmark: `peers.rs` (run by `cargo xtask bench`) decodes the protocol
//! benchmarks' corpus with gemlive's `Session` and with its peers, the `gemini-live` crate and the
//! official Python SDK, in paired rounds. See `BENCHMARKS.md`, part 1.
