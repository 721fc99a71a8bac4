//! The emulator's session logic without IO, for the fuzz targets (feature `fuzzing`; not a stable
//! API): a setup frame and client frames go through the same validation, strict decoding and
//! engine as on a connection, with time advanced to every wake-up the engine asks for.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::close::{Close, fit_close_reason};
use crate::config::{DEFAULT_AUDIO_CHUNK, Voice};
use crate::connection::{canonical, decode_strict, inputs, validated_setup};
use crate::engine::{Engine, EngineOptions, Memory, Out, Poll};
use crate::route::{Backend, LiveEndpoint};

/// Engine outputs handled after one input before the session counts as running away: a reply is
/// a few hundred outputs, and scripts are not fuzzed.
const MAX_OUTPUTS_PER_INPUT: usize = 100_000;

/// How a session ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The code and reason the connection was closed with, if it was.
    pub close: Option<(u16, String)>,
    /// Engine outputs sent (frames, closes, drops).
    pub outputs: usize,
}

/// Runs one session: `setup` is the client's first frame, `frames` the next ones. `vertex` picks
/// the backend, `paced` real-time pacing (with time advanced, never slept) instead of none.
///
/// # Panics
///
/// When the emulator breaks its own rules: a close reason longer than a close frame holds, or an
/// engine that never stops producing output after an input.
pub fn run_session<'a>(
    vertex: bool,
    paced: bool,
    setup: &[u8],
    frames: impl IntoIterator<Item = &'a [u8]>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let endpoint = LiveEndpoint {
        backend: if vertex {
            Backend::Vertex
        } else {
            Backend::GeminiApi
        },
        version: if vertex { "v1" } else { "v1beta" }.to_owned(),
        constrained: false,
    };
    let admitted = canonical(setup).and_then(|_| {
        let raw: Value = serde_json::from_slice(setup).map_err(|_| Close::invalid_argument())?;
        validated_setup(&raw, &endpoint, true)
    });
    let (session, profile) = match admitted {
        Ok((_, session, profile)) => (session, profile),
        Err(close) => {
            outcome.close = Some(checked(close));
            return outcome;
        }
    };
    let opts = EngineOptions {
        speed: if paced { 1.0 } else { f64::INFINITY },
        audio_chunk: DEFAULT_AUDIO_CHUNK,
        voice: Voice::Synthetic,
        seed: 0,
        script: None,
    };
    let mut engine = Engine::new(session, opts, Memory::default());
    let mut now = Instant::now();
    for frame in frames {
        match decode_strict(frame).and_then(|m| inputs(&m, !profile.accepts_media_chunks)) {
            Ok(inputs) => {
                for input in inputs {
                    engine.handle(input, now);
                }
            }
            Err(close) => {
                outcome.close = Some(checked(close));
                return outcome;
            }
        }
        let mut outputs = 0;
        loop {
            match engine.poll(now) {
                Poll::Send(out) => {
                    outputs += 1;
                    assert!(
                        outputs <= MAX_OUTPUTS_PER_INPUT,
                        "the engine keeps producing output"
                    );
                    match out {
                        Out::Close(close) => {
                            outcome.outputs += outputs;
                            outcome.close = Some(checked(close));
                            return outcome;
                        }
                        Out::Drop => {
                            outcome.outputs += outputs;
                            return outcome;
                        }
                        _ => {}
                    }
                }
                // Later output: let the time pass (a client would have waited for it).
                Poll::Wait(Some(at)) => now = at.max(now + Duration::from_nanos(1)),
                Poll::Wait(None) => break,
            }
        }
        outcome.outputs += outputs;
    }
    outcome
}

fn checked(close: Close) -> (u16, String) {
    assert_eq!(
        fit_close_reason(&close.reason),
        close.reason,
        "a close reason must fit a close frame"
    );
    (close.code, close.reason)
}
