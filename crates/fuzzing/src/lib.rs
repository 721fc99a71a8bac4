//! The bodies of gemlive's fuzz targets, as plain functions that build on stable.
//!
//! `fuzz/` (cargo-fuzz, nightly, its own workspace) wraps each [`TARGETS`] entry in a one-line
//! `fuzz_target!`; `cargo xtask fuzz` runs them. Every crash they find is kept as a file under
//! `tests/crashes/<target>/` and replayed through the same function by `cargo test` on stable.
//! The rule the targets check (rustls', str0m's): nothing a peer, a file or a user sends may
//! panic, overflow or run away; a panic here is a bug in gemlive, never bad input.
//!
//! Multi-message inputs are NUL-separated (`\0` cannot occur in JSON text), so that seeds are
//! real frames joined together and libFuzzer's mutations and dictionary work on JSON.
//!
//! ```
//! gemlive_fuzzing::run("decode_server", br#"{"goAway": {"timeLeft": "18446744073709551615s"}}"#);
//! gemlive_fuzzing::run("session", b"\x00{\"goAway\": {\"timeLeft\": \"18446744073709551615s\"}}");
//! ```

mod audio;
mod close;
mod decode;
pub mod emulator;
pub mod seeds;
pub mod session;
mod setup_json;

/// A fuzz target: its name (as in `fuzz/fuzz_targets/<name>.rs`) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name cargo-fuzz knows it by.
    pub name: &'static str,
    /// What it exercises, in one line.
    pub what: &'static str,
    /// The body: any bytes in, a panic only for a bug.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "session",
        what: "client Session: server frames after the setup, commands and closes interleaved",
        run: session::run,
    },
    Target {
        name: "decode_server",
        what: "lenient server-frame decoder; decode, encode, decode gives the same message",
        run: decode::server,
    },
    Target {
        name: "decode_client",
        what: "strict client-frame decoder (the emulator's); decode, encode, decode round trip",
        run: decode::client,
    },
    Target {
        name: "emulator",
        what: "the emulator's setup validation and engine fed a client frame sequence",
        run: emulator::run,
    },
    Target {
        name: "wav",
        what: "WAV input (any format hound reads), downmixed and resampled to a Live rate",
        run: audio::wav,
    },
    Target {
        name: "raw_pcm",
        what: "raw PCM16 input at any declared rate, resampled to a Live rate",
        run: audio::raw,
    },
    Target {
        name: "close",
        what: "close code and reason classification, and the emulator's reason fitting",
        run: close::run,
    },
    Target {
        name: "setup_json",
        what: "the CLI's --config and --tools JSON (strict setup decoder), LiveConfig::from_json",
        run: setup_json::run,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Runs the target called `name` on `data`.
///
/// # Panics
///
/// On an unknown target name, and wherever the target finds a bug.
pub fn run(name: &str, data: &[u8]) {
    match target(name) {
        Some(t) => (t.run)(data),
        None => panic!("no fuzz target named {name}"),
    }
}

/// A frame gemlive sends must be one Google's server takes: a single known message, every field
/// known (`what` says who made it).
fn assert_server_takes(frame: &str, what: &str) {
    match protocol::decode_client(frame.as_bytes()) {
        Ok(decoded) => assert!(
            decoded.unknown.is_empty(),
            "{what} sent unknown fields {:?}: {frame}",
            decoded.unknown
        ),
        Err(e) => panic!("{what} sent a frame the server rejects ({e}): {frame}"),
    }
}

/// The separator of multi-message inputs.
pub const SEPARATOR: u8 = 0;

/// The pieces of a multi-message input.
fn pieces(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == SEPARATOR)
}
