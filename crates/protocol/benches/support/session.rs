//! A client session ready for traffic.

use gemlive_protocol::{Output, Session, SessionConfig, wire};

/// A session past its setup, ready for server content.
pub(crate) fn ready_session(now: std::time::Instant) -> Session {
    let mut setup = wire::Setup::new("models/gemini-3.1-flash-live-preview");
    setup.output_audio_transcription = Some(Default::default());
    setup.input_audio_transcription = Some(Default::default());
    let mut session = Session::new(SessionConfig::new(setup), now).expect("valid setup");
    session
        .handle_frame(b"{\n  \"setupComplete\": {}\n}\n", now)
        .expect("setupComplete");
    while !matches!(session.poll_output(), Output::Idle { .. }) {}
    session
}
