//! The session's view of turns: which user turns are unanswered, when a turn counts as stalled,
//! and what a cut connection hands to the next one.

use std::time::{Duration, Instant};

use gemlive_protocol::wire::{ClientContent, Content, FunctionResponse, HistoryConfig, Setup};
use gemlive_protocol::{
    CloseInfo, CloseKind, Event, Output, PendingTurn, Session, SessionConfig, Speech,
};
use serde_json::{Value, json};

#[allow(clippy::disallowed_methods)] // Tests pick an origin; the crate itself never reads the clock.
fn origin() -> Instant {
    Instant::now()
}

const STALL: Duration = Duration::from_secs(10);

fn config() -> SessionConfig {
    let mut setup = Setup::new("models/gemini-3.1-flash-live-preview");
    setup.session_resumption = Some(Default::default());
    SessionConfig {
        stall_timeout: Some(STALL),
        ..SessionConfig::new(setup)
    }
}

/// Everything the session wants done, until idle: frames as JSON, events, closes.
#[derive(Debug, Default)]
struct Drained {
    frames: Vec<Value>,
    events: Vec<Event>,
    closes: usize,
    wake_at: Option<Instant>,
}

fn drain(session: &mut Session) -> Drained {
    let mut d = Drained::default();
    loop {
        match session.poll_output() {
            Output::Transmit(f) => d.frames.push(serde_json::from_str(&f).expect("json")),
            Output::Event(e) => d.events.push(e),
            Output::Close => d.closes += 1,
            Output::Idle { wake_at } => {
                d.wake_at = wake_at;
                return d;
            }
        }
    }
}

fn recv(session: &mut Session, frame: Value, now: Instant) -> Drained {
    let _ = session.handle_frame(frame.to_string().as_bytes(), now);
    drain(session)
}

/// A ready session with a resumable handle.
fn ready(now: Instant) -> Session {
    let mut session = Session::new(config(), now).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), now);
    recv(
        &mut session,
        json!({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": true}}),
        now,
    );
    session
}

fn text(t: &str) -> Value {
    json!({"serverContent": {"modelTurn": {"parts": [{"text": t}]}}})
}

fn turn_complete() -> Value {
    json!({"serverContent": {"turnComplete": true}})
}

fn send(session: &mut Session, text: &str, now: Instant) {
    session.send_text(text).expect("send");
    session.handle_timeout(now);
    drain(session);
}

fn cut(turns: &[(u64, &str, bool)]) -> Vec<PendingTurn> {
    turns
        .iter()
        .map(|&(number, text, resent)| PendingTurn {
            number,
            text: text.to_owned(),
            resent,
            speech: None,
        })
        .collect()
}

#[test]
fn a_turn_without_progress_stalls_and_progress_defers_it() {
    let t0 = origin();
    let mut session = ready(t0);
    assert_eq!(drain(&mut session).wake_at, None, "nothing open, no clock");
    send(&mut session, "hello", t0);
    assert!(session.turn_open());
    assert_eq!(drain(&mut session).wake_at, Some(t0 + STALL));

    // Each frame is progress.
    let t1 = t0 + Duration::from_secs(8);
    assert_eq!(
        recv(&mut session, text("Hel"), t1).wake_at,
        Some(t1 + STALL)
    );
    // A frame that is not JSON is not.
    let _ = session.handle_frame(b"{\"serverContent\": ", t1 + Duration::from_secs(5));
    assert_eq!(drain(&mut session).wake_at, Some(t1 + STALL));

    session.handle_timeout(t1 + STALL - Duration::from_millis(1));
    assert_eq!(drain(&mut session).closes, 0);
    session.handle_timeout(t1 + STALL);
    let d = drain(&mut session);
    assert_eq!(d.closes, 1, "the session leaves the connection");
    let [Event::Closed(close)] = d.events.as_slice() else {
        panic!("{:?}", d.events)
    };
    assert_eq!(close.kind, CloseKind::Stalled);
    assert!(close.retriable, "{close}");
    assert!(close.reason.contains("10s"), "{}", close.reason);
}

#[test]
fn no_stall_while_the_application_or_the_audio_is_what_is_awaited() {
    let t0 = origin();
    let mut session = ready(t0);
    send(&mut session, "weather in Paris?", t0);
    recv(
        &mut session,
        json!({"toolCall": {"functionCalls": [{"id": "c1", "name": "weather", "args": {}}]}}),
        t0,
    );
    assert_eq!(
        drain(&mut session).wake_at,
        None,
        "the tool runs as long as it needs"
    );
    let t1 = t0 + Duration::from_secs(60);
    session
        .send_tool_response(vec![FunctionResponse {
            id: Some("c1".into()),
            name: Some("weather".into()),
            response: Some(json!({"sky": "clear"})),
            ..FunctionResponse::default()
        }])
        .expect("respond");
    session.handle_timeout(t1);
    assert_eq!(
        drain(&mut session).wake_at,
        Some(t1 + STALL),
        "the model must react"
    );

    recv(&mut session, text("Clear."), t1);
    recv(
        &mut session,
        json!({"serverContent": {"generationComplete": true}}),
        t1,
    );
    assert_eq!(
        drain(&mut session).wake_at,
        None,
        "turnComplete may wait for the audio's length"
    );
    recv(&mut session, turn_complete(), t1 + Duration::from_secs(40));
    assert!(!session.turn_open());

    // Background work: turnComplete with IN_PROGRESS.
    send(&mut session, "think about it", t1);
    recv(
        &mut session,
        json!({"serverContent": {"turnComplete": true, "interactionStatus": "IN_PROGRESS"}}),
        t1,
    );
    assert!(session.turn_open());
    assert_eq!(drain(&mut session).wake_at, None);
}

#[test]
fn a_cut_names_the_unanswered_turns_and_the_next_connection_sends_them_again() {
    let t0 = origin();
    let mut session = ready(t0);
    send(&mut session, "hello", t0);
    recv(&mut session, text("Hi!"), t0);
    recv(&mut session, turn_complete(), t0);
    send(&mut session, "what is 2+2", t0);
    send(&mut session, "tell me a joke", t0);
    recv(&mut session, text("It is"), t0);
    assert_eq!(session.turns_sent(), 3);
    assert_eq!(session.cut_turn(2), None, "only once the connection ended");

    session.handle_close(None, t0);
    let d = drain(&mut session);
    assert!(matches!(d.events.as_slice(), [Event::Closed(c)] if c.code == 1006));
    let Some(Event::TurnCut { cause, turns }) = session.cut_turn(2) else {
        panic!("a cut")
    };
    assert_eq!(cause.code, 1006);
    assert_eq!(
        turns,
        cut(&[(2, "what is 2+2", true), (3, "tell me a joke", true)])
    );

    // The next connection sends both again, in order, after its setupComplete.
    let mut next = session.next_connection(t0).expect("next");
    let setup = drain(&mut next);
    assert_eq!(
        setup.frames[0]["setup"]["sessionResumption"]["handle"],
        "h1"
    );
    assert_eq!(setup.frames.len(), 1);
    let d = recv(&mut next, json!({"setupComplete": {}}), t0);
    assert_eq!(
        d.frames,
        [
            json!({"realtimeInput": {"text": "what is 2+2"}}),
            json!({"realtimeInput": {"text": "tell me a joke"}})
        ]
    );
    assert!(next.turn_open());
    assert_eq!(
        d.wake_at,
        Some(t0 + STALL),
        "the resent turns are on the clock"
    );

    // Cut twice more: the limit of two resends is reached, then they are to be asked again.
    next.handle_close(
        Some(CloseInfo::new(1011, "Internal error encountered.")),
        t0,
    );
    drain(&mut next);
    let turns = cut_turns(&mut next, 2, "a cut");
    assert!(turns.iter().all(|t| t.resent));
    let mut third = next.next_connection(t0).expect("next");
    drain(&mut third);
    recv(&mut third, json!({"setupComplete": {}}), t0);
    third.handle_close(None, t0);
    drain(&mut third);
    let turns = cut_turns(&mut third, 2, "a cut");
    assert_eq!(
        turns,
        cut(&[(2, "what is 2+2", false), (3, "tell me a joke", false)])
    );
    let mut fourth = third.next_connection(t0).expect("next");
    drain(&mut fourth);
    let d = recv(&mut fourth, json!({"setupComplete": {}}), t0);
    assert!(d.frames.is_empty(), "nothing is sent again: {:?}", d.frames);
    assert!(!fourth.turn_open());
    assert_eq!(fourth.turns_sent(), 3, "numbers go on across connections");
}

#[test]
fn a_connection_that_fails_before_setup_complete_hands_its_turns_on() {
    let t0 = origin();
    let mut session = ready(t0);
    send(&mut session, "hello", t0);
    session.handle_close(None, t0);
    drain(&mut session);
    assert!(session.cut_turn(2).is_some());
    let mut attempt = session.next_connection(t0).expect("next");
    drain(&mut attempt);
    attempt.handle_close(
        Some(CloseInfo::new(1011, "Internal error encountered.")),
        t0,
    );
    drain(&mut attempt);
    assert_eq!(attempt.cut_turn(2), None, "no turn was open on it");
    let mut next = attempt.next_connection(t0).expect("next");
    drain(&mut next);
    let d = recv(&mut next, json!({"setupComplete": {}}), t0);
    assert_eq!(d.frames, [json!({"realtimeInput": {"text": "hello"}})]);
}

#[test]
fn an_answer_that_was_whole_is_not_asked_again() {
    let t0 = origin();
    let mut session = ready(t0);
    send(&mut session, "hello", t0);
    recv(&mut session, text("Hi!"), t0);
    recv(
        &mut session,
        json!({"serverContent": {"generationComplete": true}}),
        t0,
    );
    session.handle_close(None, t0);
    drain(&mut session);
    let turns = cut_turns(&mut session, 2, "the turn was still open");
    assert!(turns.is_empty(), "{turns:?}");
}

#[test]
fn initial_history_is_no_turn_and_client_content_turns_are() {
    let t0 = origin();
    let mut history = config();
    history.setup.history_config = Some(HistoryConfig {
        initial_history_in_client_content: Some(true),
    });
    let mut session = Session::new(history, t0).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), t0);
    session
        .send_client_content(ClientContent {
            turns: Some(vec![Content::user_text("I am Ada")]),
            turn_complete: Some(true),
        })
        .expect("history");
    assert!(!session.turn_open(), "history is not answered");
    assert_eq!(session.turns_sent(), 0);

    let mut older = config();
    older.setup.model = "models/gemini-2.5-flash-native-audio-preview-12-2025".into();
    let mut session = Session::new(older, t0).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), t0);
    session
        .send_client_content(ClientContent {
            turns: Some(vec![
                Content::user_text("first line"),
                Content::user_text("second line"),
            ]),
            turn_complete: Some(true),
        })
        .expect("turn");
    session.handle_close(None, t0);
    drain(&mut session);
    let turns = cut_turns(&mut session, 0, "a cut");
    assert_eq!(turns, cut(&[(1, "first line\nsecond line", false)]));
}

#[test]
fn transparent_replay_sends_a_turn_once() {
    let t0 = origin();
    let mut setup =
        Setup::new("projects/p/locations/l/publishers/google/models/gemini-live-2.5-flash");
    setup.session_resumption = Some(gemlive_protocol::wire::SessionResumptionConfig {
        transparent: Some(true),
        ..Default::default()
    });
    let config = SessionConfig {
        backend: gemlive_protocol::Backend::Vertex,
        ..SessionConfig::new(setup)
    };
    let mut session = Session::new(config, t0).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), t0);
    send(&mut session, "one", t0);
    send(&mut session, "two", t0);
    recv(
        &mut session,
        json!({"sessionResumptionUpdate": {"newHandle": "v1", "resumable": true, "lastConsumedClientMessageIndex": "1"}}),
        t0,
    );
    session.handle_close(None, t0);
    drain(&mut session);
    let turns = cut_turns(&mut session, 2, "a cut");
    assert_eq!(turns, cut(&[(1, "one", true), (2, "two", true)]));
    let mut next = session.next_connection(t0).expect("next");
    drain(&mut next);
    let d = recv(&mut next, json!({"setupComplete": {}}), t0);
    assert_eq!(
        d.frames,
        [
            json!({"realtimeInput": {"text": "one"}}),
            json!({"realtimeInput": {"text": "two"}})
        ],
        "the consumed turn is sent again, the unacknowledged one replayed once"
    );
}

/// 40 ms of 16 kHz audio, every sample `n`.
fn chunk(n: i16) -> Vec<u8> {
    [n; 640].iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// The sample value of a `realtimeInput.audio` frame, or the frame's other key.
fn spoken(frame: &Value) -> String {
    let input = &frame["realtimeInput"];
    match input["audio"]["data"].as_str() {
        Some(data) => {
            let pcm = gemlive_protocol::wire::decode_base64(data).expect("base64");
            format!("audio {}", i16::from_le_bytes([pcm[0], pcm[1]]))
        }
        None => input
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default(),
    }
}

/// The turns the cut of `session`'s ended connection names (`limit` resends); `what` says why
/// a cut was expected.
fn cut_turns(session: &mut Session, limit: u32, what: &str) -> Vec<PendingTurn> {
    match session.cut_turn(limit) {
        Some(Event::TurnCut { turns, .. }) => turns,
        other => panic!("{what}: {other:?}"),
    }
}

/// The realtime frames (as [`spoken`] names them) a new connection sends once its setup completes.
fn spoken_after_setup(session: &mut Session, t0: Instant) -> Vec<String> {
    let d = recv(session, json!({"setupComplete": {}}), t0);
    d.frames.iter().map(spoken).collect()
}

fn speech_cut(resent: bool, audio_ms: u64, dropped_ms: u64) -> Vec<PendingTurn> {
    vec![PendingTurn {
        number: 0,
        text: String::new(),
        resent,
        speech: Some(Speech {
            audio: Duration::from_millis(audio_ms),
            dropped: Duration::from_millis(dropped_ms),
        }),
    }]
}

#[test]
fn speech_cut_mid_reply_is_sent_again_in_order_within_its_bound() {
    let t0 = origin();
    let config = SessionConfig {
        speech_kept: Duration::from_millis(100),
        ..config()
    };
    let mut session = Session::new(config, t0).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), t0);
    // An utterance answered whole: the server heard it, it is not kept.
    session.send_audio(&chunk(1), 16_000).expect("audio");
    recv(&mut session, text("Hi!"), t0);
    recv(
        &mut session,
        json!({"serverContent": {"generationComplete": true}}),
        t0,
    );
    recv(&mut session, turn_complete(), t0);
    recv(
        &mut session,
        json!({"sessionResumptionUpdate": {"newHandle": "h2", "resumable": true}}),
        t0,
    );
    // The next one, 160 ms: the bound keeps its last 80 ms (two whole chunks).
    for n in 10..14 {
        session.send_audio(&chunk(n), 16_000).expect("audio");
    }
    session.send_audio_stream_end().expect("stream end");
    recv(&mut session, text("It"), t0);
    drain(&mut session);
    session.handle_close(None, t0);
    drain(&mut session);
    let turns = cut_turns(&mut session, 2, "a cut");
    assert_eq!(turns, speech_cut(true, 80, 80));

    // The new connection sends it again right after setupComplete, before live audio.
    let mut next = session.next_connection(t0).expect("next");
    drain(&mut next);
    next.send_audio(&chunk(99), 16_000)
        .expect_err("not before setupComplete");
    let frames = spoken_after_setup(&mut next, t0);
    assert_eq!(frames, ["audio 12", "audio 13", "audioStreamEnd"]);
    next.send_audio(&chunk(14), 16_000).expect("audio");
    drain(&mut next);

    // Cut again before an answer: what was sent again is kept, with what followed, within
    // the bound; the second resend is the last of a limit of two.
    next.handle_close(Some(CloseInfo::new(1011, "Internal error")), t0);
    drain(&mut next);
    let turns = cut_turns(&mut next, 2, "a cut");
    assert_eq!(turns, speech_cut(true, 80, 120));
    let mut third = next.next_connection(t0).expect("next");
    drain(&mut third);
    let frames = spoken_after_setup(&mut third, t0);
    assert_eq!(frames, ["audio 13", "audioStreamEnd", "audio 14"]);
    third.handle_close(None, t0);
    drain(&mut third);
    let turns = cut_turns(&mut third, 2, "a cut");
    assert_eq!(turns, speech_cut(false, 80, 120), "resent twice: reported");
    let mut fourth = third.next_connection(t0).expect("next");
    drain(&mut fourth);
    let d = recv(&mut fourth, json!({"setupComplete": {}}), t0);
    assert!(d.frames.is_empty(), "nothing sent again: {:?}", d.frames);
    fourth.handle_close(None, t0);
    assert_eq!(
        fourth.cut_turn(2),
        None,
        "the dropped speech is not named twice"
    );
}

#[test]
fn speech_that_interrupts_a_reply_is_kept_and_the_answered_speech_is_not() {
    let t0 = origin();
    let mut session = ready(t0);
    session.send_audio(&chunk(1), 16_000).expect("audio");
    recv(&mut session, text("Let me tell you"), t0);
    // The user speaks over the reply: it is interrupted, and the interruption is not answered.
    session.send_audio(&chunk(2), 16_000).expect("audio");
    recv(
        &mut session,
        json!({"serverContent": {"interrupted": true}}),
        t0,
    );
    recv(&mut session, turn_complete(), t0);
    session.send_audio(&chunk(3), 16_000).expect("audio");
    drain(&mut session);
    session.handle_close(None, t0);
    drain(&mut session);
    let turns = cut_turns(&mut session, 2, "a cut, with no model turn open");
    assert_eq!(turns, speech_cut(true, 80, 0));
    let mut next = session.next_connection(t0).expect("next");
    drain(&mut next);
    let frames = spoken_after_setup(&mut next, t0);
    assert_eq!(frames, ["audio 2", "audio 3"]);
}

#[test]
fn a_connection_that_never_got_ready_hands_the_speech_on_without_counting_a_resend() {
    let t0 = origin();
    let mut session = ready(t0);
    session.send_audio(&chunk(5), 16_000).expect("audio");
    drain(&mut session);
    session.handle_close(None, t0);
    drain(&mut session);
    assert!(session.cut_turn(1).is_some());
    let mut failed = session.next_connection(t0).expect("next");
    drain(&mut failed);
    failed.handle_close(Some(CloseInfo::new(1011, "Internal error")), t0);
    drain(&mut failed);
    assert_eq!(failed.cut_turn(1), None, "nothing was cut on it");
    let mut next = failed.next_connection(t0).expect("next");
    drain(&mut next);
    let frames = spoken_after_setup(&mut next, t0);
    assert_eq!(frames, ["audio 5"]);
}

#[test]
fn speech_the_server_transcribed_and_never_answered_stalls_and_is_sent_again() {
    let t0 = origin();
    let mut session = ready(t0);
    session.send_audio(&chunk(5), 16_000).expect("audio");
    session.handle_timeout(t0);
    assert!(!session.turn_open(), "speech alone is no turn yet");
    assert_eq!(drain(&mut session).wake_at, None);
    // The server says it heard it; no reply begins.
    let d = recv(
        &mut session,
        json!({"serverContent": {"inputTranscription": {"text": "hello?"}}}),
        t0,
    );
    assert!(session.turn_open());
    assert_eq!(d.wake_at, Some(t0 + STALL));
    session.handle_timeout(t0 + STALL);
    let d = drain(&mut session);
    assert_eq!(d.closes, 1, "{:?}", d.events);
    assert!(matches!(
        d.events.last(),
        Some(Event::Closed(c)) if c.kind == CloseKind::Stalled
    ));
    let turns = cut_turns(&mut session, 2, "a cut");
    assert_eq!(turns, speech_cut(true, 40, 0));
    let mut next = session.next_connection(t0).expect("next");
    drain(&mut next);
    let frames = spoken_after_setup(&mut next, t0);
    assert_eq!(frames, ["audio 5"]);

    // A transcription that comes with the reply it belongs to opens nothing after it.
    recv(&mut next, text("Hello!"), t0);
    recv(
        &mut next,
        json!({"serverContent": {"inputTranscription": {"text": "hello?"}}}),
        t0,
    );
    recv(&mut next, turn_complete(), t0);
    assert!(!next.turn_open());
}

#[test]
fn with_proactive_audio_unanswered_speech_is_no_stall() {
    let t0 = origin();
    let mut config = config();
    config.setup.proactivity = Some(gemlive_protocol::wire::ProactivityConfig {
        proactive_audio: Some(true),
        ..Default::default()
    });
    let mut session = Session::new(config, t0).expect("session");
    drain(&mut session);
    recv(&mut session, json!({"setupComplete": {}}), t0);
    session.send_audio(&chunk(5), 16_000).expect("audio");
    let d = recv(
        &mut session,
        json!({"serverContent": {"inputTranscription": {"text": "hmm"}}}),
        t0,
    );
    assert!(!session.turn_open(), "the model may choose not to answer");
    assert_eq!(d.wake_at, None);
}
