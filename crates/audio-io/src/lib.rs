//! Audio sources and sinks for Gemini Live: WAV files, microphone and
//! speaker, resampling and the playback buffer.
//!
//! This crate is being built (see the audio issue).
