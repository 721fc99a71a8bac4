//! A faithful local Gemini Live API server.
//!
//! This crate is being built (see the emulator issue).

pub use protocol;
