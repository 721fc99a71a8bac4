//! The client driver over the in-memory connection, with paused time.

use std::time::Duration;

use gemlive_transport::memory::{ClientFrame, MemoryPeer, pair};
use gemlive_transport::protocol::{CloseKind, Event, SessionConfig, wire::Setup};
use gemlive_transport::{
    Error, LiveEvents, LiveSender, Recorder, RecorderConfig, SessionOptions, start,
};
use serde_json::{Value, json};

const MODEL: &str = "models/test-live-model";

fn options() -> SessionOptions {
    SessionOptions::new(SessionConfig::new(Setup::new(MODEL)))
}

/// Starts a session and plays the server's side of the handshake.
async fn session_with(options: SessionOptions) -> (LiveSender, LiveEvents, MemoryPeer) {
    let (conn, mut peer) = pair(16);
    let server = tokio::spawn(async move {
        let setup = peer.recv_json().await.unwrap();
        assert_eq!(setup, json!({"setup": {"model": MODEL}}));
        peer.send_json(&json!({"setupComplete": {}})).await;
        peer
    });
    let (sender, events) = start(conn, options).await.unwrap();
    (sender, events, server.await.unwrap())
}

async fn session() -> (LiveSender, LiveEvents, MemoryPeer) {
    session_with(options()).await
}

fn text_part(text: &str) -> Value {
    json!({"serverContent": {"modelTurn": {"parts": [{"text": text}]}}})
}

fn turn_complete() -> Value {
    json!({"serverContent": {"turnComplete": true}})
}

#[tokio::test(start_paused = true)]
async fn a_turn_and_the_resumption_handle() {
    let (sender, mut events, mut peer) = session().await;
    sender.send_text("Hello").await.unwrap();
    assert_eq!(
        peer.recv_json().await.unwrap(),
        json!({"realtimeInput": {"text": "Hello"}})
    );
    peer.send_json(&text_part("Hi ")).await;
    peer.send_text(text_part("there").to_string()).await;
    peer.send_json(&json!({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": true}}))
        .await;
    peer.send_json(&turn_complete()).await;
    peer.send_json(&text_part("next turn")).await;

    let mut turn = events.next_turn();
    let mut text = String::new();
    let mut saw_resumption = false;
    while let Some(event) = turn.next().await.unwrap() {
        match event {
            Event::Text { text: t, .. } => text.push_str(&t),
            Event::Resumption { .. } => saw_resumption = true,
            _ => {}
        }
    }
    assert_eq!(text, "Hi there");
    assert!(saw_resumption);
    assert_eq!(
        turn.next().await.unwrap(),
        None,
        "a finished turn stays finished"
    );
    assert_eq!(sender.resumption_handle().as_deref(), Some("h-1"));
    assert_eq!(events.resumption_handle().as_deref(), Some("h-1"));
    // What came after turnComplete belongs to the next turn.
    let next = events.next_turn().next().await.unwrap();
    assert!(
        matches!(next, Some(Event::Text { ref text, .. }) if text == "next turn"),
        "{next:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn setup_timeout() {
    let (conn, mut peer) = pair(16);
    let started = tokio::time::Instant::now();
    let mut config = SessionConfig::new(Setup::new(MODEL));
    config.setup_timeout = Duration::from_secs(7);
    let server = tokio::spawn(async move {
        let setup = peer.recv_json().await;
        let next = peer.recv().await;
        (setup, next, peer)
    });
    let err = start(conn, SessionOptions::new(config)).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    let close = err.close().expect("a classified close");
    assert_eq!(close.kind, CloseKind::SetupTimeout);
    assert!(!close.hint.is_empty());
    let (setup, next, _peer) = server.await.unwrap();
    assert!(setup.is_some());
    assert!(
        matches!(next, Some(ClientFrame::Close(ref c)) if c.code == 1000),
        "the client closes the socket: {next:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn close_during_setup_is_classified() {
    for (code, reason, kind) in [
        (
            1007,
            "API key not valid. Please pass a valid API key.",
            CloseKind::InvalidApiKey,
        ),
        (
            1008,
            "models/x is not found for API version v1beta, or is not supported for bidiGenerateContent. Call ModelService.ListModels",
            CloseKind::ModelNotFound,
        ),
        (1011, "Internal error encountered.", CloseKind::Internal),
    ] {
        let (conn, mut peer) = pair(16);
        let server = tokio::spawn(async move {
            peer.recv_json().await;
            peer.close(code, reason).await;
            peer
        });
        let err = start(conn, options()).await.unwrap_err();
        let close = err.close().expect("a classified close");
        assert_eq!(
            (close.code, close.reason.as_str(), close.kind),
            (code, reason, kind)
        );
        assert!(!close.hint.is_empty());
        let message = err.to_string();
        assert!(
            message.contains(&code.to_string()) && message.contains(reason),
            "{message}"
        );
        assert!(message.contains(close.hint), "{message}");
        drop(server.await.unwrap());
    }
}

#[tokio::test(start_paused = true)]
async fn close_mid_turn_reaches_the_caller() {
    let (sender, mut events, peer) = session().await;
    peer.send_json(&text_part("partial")).await;
    peer.close(1011, "Deadline expired before operation could complete.")
        .await;
    let mut turn = events.next_turn();
    assert!(matches!(turn.next().await, Ok(Some(Event::Text { .. }))));
    let err = turn.next().await.unwrap_err();
    assert!(matches!(err, Error::TurnCut { .. }), "{err:?}");
    let close = err.close().unwrap();
    assert_eq!(close.code, 1011);
    assert_eq!(close.kind, CloseKind::DeadlineExpired);
    assert!(close.retriable);
    assert!(matches!(events.next().await, Some(Event::Closed(c)) if c.code == 1011));
    assert!(events.next().await.is_none(), "Closed was the last event");
    let err = sender.send_text("anyone?").await.unwrap_err();
    assert_eq!(err.close().map(|c| c.code), Some(1011), "{err:?}");
    assert!(sender.is_closed());
}

#[tokio::test(start_paused = true)]
async fn lost_connection_is_a_1006() {
    let (_sender, mut events, peer) = session().await;
    drop(peer);
    match events.next().await {
        Some(Event::Closed(close)) => {
            assert_eq!(close.code, 1006);
            assert_eq!(close.kind, CloseKind::Abnormal);
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn go_away_deadline() {
    let (sender, mut events, peer) = session().await;
    let t0 = tokio::time::Instant::now().into_std();
    peer.send_json(&json!({"goAway": {"timeLeft": "10s"}}))
        .await;
    match events.next().await {
        Some(Event::GoAway {
            time_left,
            deadline,
        }) => {
            assert_eq!(time_left, Duration::from_secs(10));
            assert_eq!(deadline, t0 + Duration::from_secs(10));
        }
        other => panic!("expected GoAway, got {other:?}"),
    }
    assert_eq!(
        sender.info().go_away_deadline,
        Some(t0 + Duration::from_secs(10))
    );
    // The connection keeps working until the server ends it at the deadline.
    sender.send_text("still here").await.unwrap();
    let server = tokio::spawn(async move {
        let mut peer = peer;
        let frame = peer.recv_json().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        peer.close(1000, "").await;
        (frame, peer)
    });
    // Without automatic resumption the unanswered turn is to be asked again ...
    match events.next().await {
        Some(Event::TurnCut { cause, turns }) => {
            assert_eq!(cause.code, 1000);
            assert_eq!(turns.len(), 1);
            assert!(!turns[0].resent);
            assert_eq!(turns[0].text, "still here");
        }
        other => panic!("expected TurnCut, got {other:?}"),
    }
    // ... and the session ends.
    match events.next().await {
        Some(Event::Closed(close)) => {
            assert_eq!(close.code, 1000);
            assert!(close.retriable, "resume after goAway");
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    assert_eq!(
        tokio::time::Instant::now().into_std(),
        t0 + Duration::from_secs(10)
    );
    let (frame, _peer) = server.await.unwrap();
    assert_eq!(frame.unwrap()["realtimeInput"]["text"], "still here");
}

#[tokio::test(start_paused = true)]
async fn concurrent_senders_keep_their_order() {
    let (sender, _events, mut peer) = session().await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    sender.send_text(format!("{task}:{i}")).await.unwrap();
                }
            })
        })
        .collect();
    let mut next = [0; 8];
    for _ in 0..400 {
        let frame = peer.recv_json().await.unwrap();
        let text = frame["realtimeInput"]["text"].as_str().unwrap();
        let (task, i) = text.split_once(':').unwrap();
        let (task, i): (usize, usize) = (task.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[task], "frames of one task arrive in order");
        next[task] += 1;
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(next, [50; 8]);
}

#[tokio::test(start_paused = true)]
async fn slow_consumer_gets_backpressure_not_loss() {
    let mut options = options();
    options.event_capacity = 4;
    let (sender, mut events, peer) = session_with(options).await;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&sent);
    let server = tokio::spawn(async move {
        let mut peer = peer;
        for i in 0..200 {
            peer.send_json(&text_part(&format!("{i} "))).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        peer.send_json(&turn_complete()).await;
        // The client can still send while its events are not being read.
        let frame = peer.recv_json().await;
        (frame, peer)
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let buffered = sent.load(std::sync::atomic::Ordering::SeqCst);
    // 4 in the event channel, 1 decoded frame held back, 16 in the connection buffer.
    assert!(
        buffered <= 4 + 1 + 16 + 1,
        "the server was not held back: {buffered}"
    );
    sender.send_text("not blocked").await.unwrap();

    let events_of_turn = events.next_turn().collect().await.unwrap();
    let text: String = events_of_turn
        .iter()
        .filter_map(|e| match e {
            Event::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let expected: String = (0..200).map(|i| format!("{i} ")).collect();
    assert_eq!(text, expected, "every event, in order");
    let (frame, _peer) = server.await.unwrap();
    assert_eq!(frame.unwrap()["realtimeInput"]["text"], "not blocked");
}

#[tokio::test(start_paused = true)]
async fn client_close_and_a_silent_server() {
    // The server answers the close.
    let (sender, mut events, mut peer) = session().await;
    sender.close().await.unwrap();
    assert!(matches!(peer.recv().await, Some(ClientFrame::Close(c)) if c.code == 1000));
    peer.close(1000, "").await;
    assert!(
        matches!(events.next().await, Some(Event::Closed(c)) if c.code == 1000 && c.is_normal())
    );
    assert!(events.next().await.is_none());
    sender.close().await.unwrap();

    // The server never answers: the session still ends, after a grace period.
    let (sender, mut events, mut peer) = session().await;
    sender.close().await.unwrap();
    let started = tokio::time::Instant::now();
    assert!(matches!(peer.recv().await, Some(ClientFrame::Close(_))));
    assert!(matches!(events.next().await, Some(Event::Closed(c)) if c.code == 1000));
    assert!(started.elapsed() >= Duration::from_secs(3));
    drop(peer);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handles_closes_the_session() {
    let (sender, events, mut peer) = session().await;
    let clone = sender.clone();
    drop(sender);
    drop(events);
    peer.send_json(&text_part("unread")).await;
    drop(clone);
    assert!(matches!(peer.recv().await, Some(ClientFrame::Close(c)) if c.code == 1000));
}

#[tokio::test(start_paused = true)]
async fn misuse_is_reported_to_the_caller() {
    let (sender, _events, _peer) = session().await;
    let err = sender.send_audio(vec![0u8; 3], 16_000).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(err.to_string().contains('3'), "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_recorder_taps_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.jsonl");
    let recorder = Recorder::create(
        &RecorderConfig::new(&path).trim_audio(16),
        &options().session,
        "memory",
        vec![],
    )
    .unwrap();
    let mut options = options();
    options.recorder = Some(recorder);
    let (sender, mut events, mut peer) = session_with(options).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    sender.send_audio(vec![1u8; 3200], 16_000).await.unwrap();
    peer.recv_json().await.unwrap();
    peer.send_json(&json!({"serverContent": {"modelTurn": {"parts": [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"}}]}}}))
    .await;
    peer.close(1011, "Internal error encountered.").await;
    while events.next().await.is_some() {}

    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["header"]["model"], MODEL);
    assert_eq!(lines[1]["send"]["setup"]["model"], MODEL);
    assert_eq!(lines[2]["recv"], json!({"setupComplete": {}}));
    assert_eq!(lines[3]["t_ms"], 250);
    let sent_audio = lines[3]["send"]["realtimeInput"]["audio"]["data"]
        .as_str()
        .unwrap();
    assert_eq!(sent_audio.len(), 16, "trimmed to a decodable prefix");
    let got_audio =
        lines[4]["recv"]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]
            .as_str()
            .unwrap();
    assert_eq!(got_audio, "AAECAwQFBgcICQoL");
    assert_eq!(
        lines[5]["close"],
        json!({"code": 1011, "reason": "Internal error encountered."})
    );
    assert_eq!(lines.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_turn_in_progress_continues_until_idle() {
    let (_sender, mut events, peer) = session().await;
    peer.send_json(&text_part("thinking... ")).await;
    peer.send_json(
        &json!({"serverContent": {"turnComplete": true, "interactionStatus": "IN_PROGRESS"}}),
    )
    .await;
    peer.send_json(&text_part("done")).await;
    peer.send_json(&json!({"serverContent": {"turnComplete": true, "interactionStatus": "IDLE"}}))
        .await;
    peer.send_json(&text_part("later")).await;
    let turn = events.next_turn().collect().await.unwrap();
    let texts: Vec<&str> = turn
        .iter()
        .filter_map(|e| match e {
            Event::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["thinking... ", "done"]);
    let completes = turn
        .iter()
        .filter(|e| matches!(e, Event::TurnComplete { .. }))
        .count();
    assert_eq!(completes, 2);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_hangs_up_on_our_close_ends_normally() {
    let (sender, mut events, mut peer) = session().await;
    sender.close().await.unwrap();
    assert!(matches!(peer.recv().await, Some(ClientFrame::Close(_))));
    let started = tokio::time::Instant::now();
    drop(peer);
    match events.next().await {
        Some(Event::Closed(close)) => assert!(close.is_normal(), "{close:?}"),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_send_on_a_dead_connection_fails_with_the_reason() {
    let (sender, mut events, peer) = session().await;
    drop(peer);
    // Whichever the driver notices first (the failed send or the closed
    // stream), the caller gets an error, never a silent success.
    let err = sender.send_text("into the void").await.unwrap_err();
    assert!(
        matches!(&err, Error::ConnectionLost(_)) || err.close().is_some_and(|c| c.code == 1006),
        "{err:?}"
    );
    let mut last = events.next().await;
    if let Some(Event::TurnCut { turns, .. }) = &last {
        // The send failed: the turn is listed as to be asked again.
        assert!(!turns[0].resent);
        last = events.next().await;
    }
    assert!(matches!(last, Some(Event::Closed(c)) if c.code == 1006));
}

/// A reconnect function that hands out prepared in-memory connections.
fn connections(
    conns: Vec<gemlive_transport::memory::MemoryConnection>,
) -> impl FnMut() -> std::future::Ready<Result<gemlive_transport::memory::MemoryConnection, Error>>
+ Send
+ 'static {
    let mut conns = std::collections::VecDeque::from(conns);
    move || {
        std::future::ready(
            conns
                .pop_front()
                .ok_or_else(|| Error::ConnectionLost("no more connections".to_owned())),
        )
    }
}

fn resumable_options() -> SessionOptions {
    let mut setup = Setup::new(MODEL);
    setup.session_resumption = Some(Default::default());
    let mut options = SessionOptions::new(SessionConfig::new(setup));
    // No jitter: waits to the millisecond.
    options.resume_policy.jitter = 0.0;
    options
}

async fn resumable_session(
    more: Vec<gemlive_transport::memory::MemoryConnection>,
) -> (LiveSender, LiveEvents, MemoryPeer) {
    let (conn, mut peer) = pair(16);
    let server = tokio::spawn(async move {
        peer.recv_json().await.unwrap();
        peer.send_json(&json!({"setupComplete": {}})).await;
        peer.send_json(
            &json!({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": true}}),
        )
        .await;
        peer
    });
    let (sender, mut events) =
        gemlive_transport::start_resumable(conn, resumable_options(), connections(more))
            .await
            .unwrap();
    assert!(matches!(
        events.next().await,
        Some(Event::Resumption { .. })
    ));
    (sender, events, server.await.unwrap())
}

#[tokio::test(start_paused = true)]
async fn go_away_moves_the_session_to_a_new_connection() {
    let (conn2, mut peer2) = pair(16);
    let (sender, mut events, mut peer1) = resumable_session(vec![conn2]).await;
    peer1
        .send_json(&json!({"goAway": {"timeLeft": "30s"}}))
        .await;
    assert!(matches!(events.next().await, Some(Event::GoAway { .. })));
    // No turn is running: the client leaves the old connection at once ...
    assert!(matches!(peer1.recv().await, Some(ClientFrame::Close(c)) if c.code == 1000));
    peer1.close(1000, "").await;
    // ... and resumes on a new one with the latest handle, at once.
    assert!(matches!(
        events.next().await,
        Some(Event::Reconnecting {
            attempt: 1,
            delay: Duration::ZERO,
            ..
        })
    ));
    let setup = peer2.recv_json().await.unwrap();
    assert_eq!(setup["setup"]["sessionResumption"]["handle"], "h-1");
    peer2.send_json(&json!({"setupComplete": {}})).await;
    match events.next().await {
        Some(Event::SetupComplete { resumed, .. }) => assert!(resumed),
        other => panic!("expected the resumed setupComplete, got {other:?}"),
    }
    assert!(!sender.is_closed());
    sender.send_text("still there?").await.unwrap();
    assert_eq!(
        peer2.recv_json().await.unwrap(),
        json!({"realtimeInput": {"text": "still there?"}})
    );
    drop(peer1);
}

#[tokio::test(start_paused = true)]
async fn go_away_waits_for_the_running_turn() {
    let (conn2, mut peer2) = pair(16);
    let (_sender, mut events, mut peer1) = resumable_session(vec![conn2]).await;
    peer1.send_json(&text_part("half a sentence")).await;
    peer1
        .send_json(&json!({"goAway": {"timeLeft": "30s"}}))
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    peer1.send_json(&text_part(" and the rest")).await;
    peer1.send_json(&turn_complete()).await;
    let started = tokio::time::Instant::now();
    let mut texts = String::new();
    while let Some(event) = events.next().await {
        match event {
            Event::Text { text, .. } => texts.push_str(&text),
            Event::TurnComplete { .. } => break,
            _ => {}
        }
    }
    assert_eq!(texts, "half a sentence and the rest");
    // Only now does the client leave.
    assert!(matches!(peer1.recv().await, Some(ClientFrame::Close(_))));
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(peer1); // hangs up instead of answering: fine while closing
    let setup = peer2.recv_json().await.unwrap();
    assert_eq!(setup["setup"]["sessionResumption"]["handle"], "h-1");
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_resumes_and_a_policy_close_does_not() {
    let (conn2, mut peer2) = pair(16);
    let (sender, mut events, peer1) = resumable_session(vec![conn2]).await;
    drop(peer1);
    let setup = peer2.recv_json().await.unwrap();
    assert_eq!(setup["setup"]["sessionResumption"]["handle"], "h-1");
    peer2.send_json(&json!({"setupComplete": {}})).await;
    assert!(matches!(
        events.next().await,
        Some(Event::Reconnecting { cause, .. }) if cause.code == 1006
    ));
    assert!(matches!(
        events.next().await,
        Some(Event::SetupComplete { resumed: true, .. })
    ));
    // A close that resuming cannot fix ends the session as usual.
    peer2.close(1008, "Requested entity was not found.").await;
    match events.next().await {
        Some(Event::Closed(close)) => assert_eq!(close.code, 1008),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(sender.is_closed());
}

#[tokio::test(start_paused = true)]
async fn resuming_backs_off_and_gives_up_with_a_classified_close() {
    let (sender, mut events, peer1) = resumable_session(vec![]).await;
    let started = tokio::time::Instant::now();
    drop(peer1);
    let mut waits = Vec::new();
    let close = loop {
        match events.next().await {
            Some(Event::Reconnecting {
                attempt,
                delay,
                cause,
            }) => {
                assert_eq!(cause.code, 1006);
                assert_eq!(attempt as usize, waits.len() + 1);
                waits.push(delay.as_secs());
            }
            Some(Event::Closed(close)) => break close,
            other => panic!("expected Reconnecting or Closed, got {other:?}"),
        }
    };
    // The connection broke young (no turn completed, < 30 s): the first attempt already
    // waits; then doubling to the 30 s cap, until the next attempt could not start within the
    // 2 minute budget.
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    assert_eq!(started.elapsed(), Duration::from_secs(91));
    assert_eq!(close.kind, CloseKind::ResumeFailed);
    assert_eq!(close.code, 1006, "classified by what broke it");
    assert!(
        close.reason.starts_with("gave up resuming after 7 attempts in 91.0 s; the last one: connection lost: no more connections"),
        "{}",
        close.reason
    );
    assert!(sender.is_closed());
    let err = sender.send_text("hello?").await.unwrap_err();
    assert_eq!(err.close(), Some(&close));
}

#[tokio::test(start_paused = true)]
async fn the_application_closing_never_resumes() {
    let (conn2, mut peer2) = pair(16);
    let (sender, mut events, mut peer1) = resumable_session(vec![conn2]).await;
    sender.close().await.unwrap();
    assert!(matches!(peer1.recv().await, Some(ClientFrame::Close(_))));
    peer1.close(1000, "").await;
    assert!(matches!(events.next().await, Some(Event::Closed(c)) if c.code == 1000));
    assert!(events.next().await.is_none());
    assert!(peer2.recv().await.is_none(), "no new connection was used");
}
