//! The emulator: setup validation, strict decoding and the engine, fed a client frame sequence.

/// Flags bit: Vertex instead of the Gemini API.
pub const VERTEX: u8 = 0x01;
/// Flags bit: real-time pacing (time advanced, never slept) instead of none.
pub const PACED: u8 = 0x02;

/// Input: one flags byte, then NUL-separated client frames, the setup first.
pub(crate) fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut frames = crate::pieces(rest);
    let Some(setup) = frames.next() else { return };
    emulator::fuzzing::run_session(flags & VERTEX != 0, flags & PACED != 0, setup, frames);
}
