//! Sessions that survive their connections, over in-memory connections with paused time: cut
//! turns end (and are sent again), reconnections are paced and give up, stalls are caught.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gemlive_transport::memory::{ClientFrame, MemoryConnection, MemoryPeer, pair};
use gemlive_transport::protocol::wire::{Setup, decode_base64};
use gemlive_transport::protocol::{CloseKind, Event, SessionConfig};
use gemlive_transport::{Error, LiveEvents, LiveSender, SessionOptions, start_resumable};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

const MODEL: &str = "models/test-live-model";

fn options() -> SessionOptions {
    let mut options = SessionOptions::new(SessionConfig::new(Setup::new(MODEL)));
    options.session.stall_timeout = Some(Duration::from_secs(20));
    options.resume_policy.jitter = 0.0;
    options
}

/// Every connection the client opens, as the server sees it (the first one included).
type Peers = mpsc::UnboundedReceiver<MemoryPeer>;

/// A session whose reconnections hand their server ends to the test.
async fn session(options: SessionOptions) -> (LiveSender, LiveEvents, Peers) {
    let (peers_tx, peers) = mpsc::unbounded_channel();
    let (conn, peer) = pair(64);
    let first = tokio::spawn(handshake(peer, true));
    let tx = peers_tx.clone();
    let reconnect = move || {
        let (conn, peer) = pair(64);
        let _ = tx.send(peer);
        std::future::ready(Ok::<MemoryConnection, Error>(conn))
    };
    let (sender, events) = start_resumable(conn, options, reconnect).await.unwrap();
    // No reconnection before the first connection breaks, which only the test can do.
    let _ = peers_tx.send(first.await.unwrap());
    (sender, events, peers)
}

/// Answers the setup; with `handle`, sends a resumable handle too. Returns the peer.
async fn handshake(mut peer: MemoryPeer, handle: bool) -> MemoryPeer {
    let setup = peer.recv_json().await.expect("setup");
    assert!(setup["setup"]["sessionResumption"].is_object(), "{setup}");
    peer.send_json(&json!({"setupComplete": {}})).await;
    if handle {
        peer.send_json(&json!({"sessionResumptionUpdate": {"newHandle": "h", "resumable": true}}))
            .await;
    }
    peer
}

fn text_part(text: &str) -> Value {
    json!({"serverContent": {"modelTurn": {"parts": [{"text": text}]}}})
}

fn turn_complete() -> Value {
    json!({"serverContent": {"turnComplete": true}})
}

/// The next text frame, skipping nothing: it must be a text.
async fn next_text(peer: &mut MemoryPeer) -> Value {
    match peer.recv().await {
        Some(ClientFrame::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn answer(peer: &MemoryPeer, words: &[&str]) {
    for w in words {
        peer.send_json(&text_part(w)).await;
    }
    peer.send_json(&turn_complete()).await;
}

/// The texts of a turn, and its other events named.
async fn read_turn(events: &mut LiveEvents) -> Result<(String, Vec<String>), Error> {
    let mut turn = events.next_turn();
    let mut text = String::new();
    let mut seen = Vec::new();
    while let Some(event) = turn.next().await? {
        match event {
            Event::Text { text: t, .. } => text.push_str(&t),
            Event::TurnCut { cause, turns } => {
                seen.push(format!(
                    "cut({:?}, {:?})",
                    cause.kind,
                    turns
                        .iter()
                        .map(|t| (t.number, t.resent))
                        .collect::<Vec<_>>()
                ));
                text.clear();
            }
            Event::Reconnecting { attempt, delay, .. } => {
                seen.push(format!("reconnecting({attempt}, {}ms)", delay.as_millis()));
            }
            Event::SetupComplete { resumed, .. } => seen.push(format!("setup(resumed={resumed})")),
            _ => {}
        }
    }
    Ok((text, seen))
}

/// The bug this file started from: a goAway came mid-turn, the rest of the turn outlasted the
/// notice, and `Turn::next()` never returned. Now the turn is cut at the deadline, sent again
/// on the new connection, and completes there.
#[tokio::test(start_paused = true)]
async fn a_turn_that_outlasts_the_go_away_notice_is_sent_again_and_completes() {
    let (sender, mut events, mut peers) = session(options()).await;
    let mut peer1 = peers.recv().await.unwrap();
    assert!(matches!(
        events.next().await,
        Some(Event::Resumption { .. })
    ));
    sender.send_text("tell me a joke").await.unwrap();
    assert_eq!(
        next_text(&mut peer1).await,
        json!({"realtimeInput": {"text": "tell me a joke"}})
    );
    peer1.send_json(&text_part("A man walks")).await;
    peer1
        .send_json(&json!({"goAway": {"timeLeft": "5s"}}))
        .await;
    let started = Instant::now();
    let server = tokio::spawn(async move {
        // The joke goes on for longer than the notice, one word a second, until the client
        // leaves with a close.
        let left = loop {
            tokio::select! {
                frame = peer1.recv() => {
                    assert!(matches!(frame, Some(ClientFrame::Close(c)) if c.code == 1000));
                    break started.elapsed();
                }
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    peer1.send_json(&text_part(" on")).await;
                }
            }
        };
        assert_eq!(left, Duration::from_secs(3), "2 s before the deadline");
        peer1.close(1000, "").await;
        let mut peer2 = handshake(peers.recv().await.unwrap(), true).await;
        assert_eq!(
            next_text(&mut peer2).await,
            json!({"realtimeInput": {"text": "tell me a joke"}}),
            "the cut turn is sent again"
        );
        answer(&peer2, &["A short one."]).await;
        peer2
    });
    let (text, seen) = read_turn(&mut events).await.expect("the turn completes");
    assert_eq!(text, "A short one.");
    assert_eq!(
        seen,
        [
            "cut(GoAwayDeadline, [(1, true)])",
            "reconnecting(1, 0ms)",
            "setup(resumed=true)"
        ]
    );
    server.await.unwrap();
}

/// A server whose every connection gets a goAway at once (connections of 6 s): the client
/// moves at the latest useful moment, never in a loop.
#[tokio::test(start_paused = true)]
async fn connections_that_announce_their_end_at_once_are_not_reconnected_in_a_loop() {
    let (_sender, mut events, mut peers) = session(options()).await;
    let opened = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&opened);
    let started = Instant::now();
    tokio::spawn(async move {
        let mut first = true;
        while let Some(peer) = peers.recv().await {
            let peer = if first {
                first = false;
                peer
            } else {
                handshake(peer, true).await
            };
            log.lock().unwrap().push(started.elapsed());
            tokio::spawn(async move {
                let mut peer = peer;
                peer.send_json(&json!({"goAway": {"timeLeft": "6s"}})).await;
                let lifetime = tokio::time::sleep(Duration::from_secs(6));
                tokio::pin!(lifetime);
                loop {
                    tokio::select! {
                        frame = peer.recv() => match frame {
                            Some(ClientFrame::Close(_)) => { peer.close(1000, "").await; return; }
                            Some(_) => {}
                            None => return,
                        },
                        () = &mut lifetime => {
                            peer.close(1011, "Deadline expired before operation could complete.").await;
                            return;
                        }
                    }
                }
            });
        }
    });
    let watch = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(watch);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Event::Closed(c)) => panic!("the session ended: {c}"),
                None => panic!("the session ended"),
                Some(_) => {}
            },
            () = &mut watch => break,
        }
    }
    let opened = opened.lock().unwrap().clone();
    // 1 s, 2 s, 4 s after the first ones (backoff), then each connection is used until
    // shortly before its end (6 s minus the 2 s margin): 17 connections in a minute.
    let secs: Vec<u64> = opened.iter().map(Duration::as_secs).collect();
    let expected: Vec<u64> = [0, 1, 3].into_iter().chain((7..60).step_by(4)).collect();
    assert_eq!(secs, expected);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_turn_ends_on_time_and_is_sent_again() {
    let (sender, mut events, mut peers) = session(options()).await;
    let mut peer1 = peers.recv().await.unwrap();
    sender.send_text("hello").await.unwrap();
    next_text(&mut peer1).await;
    peer1.send_json(&text_part("Hel")).await;
    // ... and nothing more, on a connection that stays open.
    let started = Instant::now();
    let server = tokio::spawn(async move {
        assert!(matches!(peer1.recv().await, Some(ClientFrame::Close(_))));
        let mut peer2 = handshake(peers.recv().await.unwrap(), true).await;
        assert_eq!(
            next_text(&mut peer2).await,
            json!({"realtimeInput": {"text": "hello"}})
        );
        answer(&peer2, &["Hello!"]).await;
        (peer1, peer2)
    });
    let (text, seen) = read_turn(&mut events).await.expect("the turn completes");
    assert_eq!(text, "Hello!");
    assert_eq!(seen[0], "cut(Stalled, [(1, true)])");
    assert!(
        started.elapsed() >= Duration::from_secs(20) && started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_turn_cut_too_often_is_reported_and_the_session_goes_on() {
    let (sender, mut events, mut peers) = session(options()).await;
    let mut peer = peers.recv().await.unwrap();
    sender.send_text("crash").await.unwrap();
    // The server dies on this question every time.
    let server = tokio::spawn(async move {
        for _ in 0..3 {
            assert_eq!(next_text(&mut peer).await["realtimeInput"]["text"], "crash");
            peer.send_json(&text_part("Let me")).await;
            peer.close(1011, "Internal error encountered.").await;
            peer = handshake(peers.recv().await.unwrap(), true).await;
        }
        assert_eq!(next_text(&mut peer).await["realtimeInput"]["text"], "hi");
        answer(&peer, &["Hi!"]).await;
        peer
    });
    let err = read_turn(&mut events).await.unwrap_err();
    let Error::TurnCut { cause, turns } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(cause.kind, CloseKind::Internal);
    assert_eq!((turns[0].number, turns[0].resent), (1, false));
    assert!(
        err.to_string().contains("ask again: turn 1 (\"crash\")"),
        "{err}"
    );
    // The session itself goes on.
    sender.send_text("hi").await.unwrap();
    let (text, _) = read_turn(&mut events).await.expect("the next turn");
    assert_eq!(text, "Hi!");
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn without_a_handle_the_session_ends_instead_of_starting_afresh() {
    let (conn, peer) = pair(16);
    let server = tokio::spawn(handshake(peer, false));
    let reconnect = || {
        std::future::ready(Err::<MemoryConnection, Error>(Error::ConnectionLost(
            "unused".into(),
        )))
    };
    let (sender, mut events) = start_resumable(conn, options(), reconnect).await.unwrap();
    drop(server.await.unwrap());
    let Some(Event::Closed(close)) = events.next().await else {
        panic!("the session ends")
    };
    assert_eq!(close.kind, CloseKind::ResumeFailed);
    assert_eq!(close.code, 1006);
    assert!(
        close.reason.contains("no resumable handle"),
        "{}",
        close.reason
    );
    assert!(!close.retriable);
    assert!(sender.is_closed());
}

#[tokio::test(start_paused = true)]
async fn commands_wait_for_the_new_connection_and_a_close_ends_the_wait() {
    let (sender, mut events, mut peers) = session(options()).await;
    let peer1 = peers.recv().await.unwrap();
    assert!(matches!(
        events.next().await,
        Some(Event::Resumption { .. })
    ));
    drop(peer1);
    // The drop is noticed; the first attempt waits a second (the connection was young).
    assert!(matches!(
        events.next().await,
        Some(Event::Reconnecting { attempt: 1, .. })
    ));
    let s = sender.clone();
    let sent = tokio::spawn(async move { s.send_text("are you back?").await });
    let mut peer2 = handshake(peers.recv().await.unwrap(), true).await;
    assert_eq!(
        next_text(&mut peer2).await,
        json!({"realtimeInput": {"text": "are you back?"}}),
        "sent on the new connection"
    );
    sent.await.unwrap().unwrap();

    // Another break; this time the application closes while the client waits to reconnect.
    drop(peer2);
    loop {
        if let Some(Event::Reconnecting { delay, .. }) = events.next().await {
            assert!(delay > Duration::ZERO);
            break;
        }
    }
    let started = Instant::now();
    sender.close().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(10),
        "not after the backoff"
    );
    let mut last = None;
    while let Some(e) = events.next().await {
        last = Some(e);
    }
    assert!(
        matches!(&last, Some(Event::Closed(c)) if c.is_normal()),
        "{last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_whole_answer_cut_before_its_turn_complete_ends_the_turn_without_error() {
    let (sender, mut events, mut peers) = session(options()).await;
    let mut peer1 = peers.recv().await.unwrap();
    assert!(matches!(
        events.next().await,
        Some(Event::Resumption { .. })
    ));
    sender.send_text("hello").await.unwrap();
    next_text(&mut peer1).await;
    peer1.send_json(&text_part("Hi!")).await;
    peer1
        .send_json(&json!({"serverContent": {"generationComplete": true}}))
        .await;
    drop(peer1);
    let mut turn = events.next_turn();
    let mut kinds = Vec::new();
    while let Some(event) = turn.next().await.expect("no error") {
        kinds.push(match event {
            Event::Text { text, .. } => text,
            Event::GenerationComplete => "generationComplete".into(),
            Event::TurnCut { turns, .. } => format!("cut {turns:?}"),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(kinds, ["Hi!", "generationComplete", "cut []"]);
}

/// A turn sent as the connection drops is never lost silently: whether the driver saw the drop
/// first (the command waits for the new connection) or the send failed (the turn is sent
/// again), the send succeeds and the turn reaches the new connection, once.
#[tokio::test(start_paused = true)]
async fn a_turn_sent_as_the_connection_drops_reaches_the_next_one() {
    let (sender, mut events, mut peers) = session(options()).await;
    let peer1 = peers.recv().await.unwrap();
    drop(peer1);
    let s = sender.clone();
    let sent = tokio::spawn(async move { s.send_text("still there?").await });
    let mut peer2 = handshake(peers.recv().await.unwrap(), true).await;
    sent.await.unwrap().expect("sent or sent again");
    assert_eq!(
        next_text(&mut peer2).await,
        json!({"realtimeInput": {"text": "still there?"}})
    );
    answer(&peer2, &["Yes."]).await;
    let (text, _) = read_turn(&mut events).await.expect("answered");
    assert_eq!(text, "Yes.");
    sender.close().await.unwrap();
    assert!(
        matches!(peer2.recv().await, Some(ClientFrame::Close(_))),
        "nothing was sent twice"
    );
}

/// The outage budget holds even when an attempt never finishes (a connect that hangs).
#[tokio::test(start_paused = true)]
async fn an_attempt_that_hangs_does_not_outlast_the_budget() {
    let (conn, peer) = pair(16);
    let server = tokio::spawn(handshake(peer, true));
    let reconnect = std::future::pending::<Result<MemoryConnection, Error>>;
    let (_sender, mut events) = start_resumable(conn, options(), reconnect).await.unwrap();
    let started = Instant::now();
    drop(server.await.unwrap());
    let close = loop {
        match events.next().await {
            Some(Event::Closed(close)) => break close,
            Some(_) => {}
            None => panic!("no Closed"),
        }
    };
    assert_eq!(started.elapsed(), Duration::from_secs(120));
    assert_eq!(close.kind, CloseKind::ResumeFailed);
    assert!(
        close
            .reason
            .starts_with("gave up resuming after 1 attempt in 120.0 s"),
        "{}",
        close.reason
    );
}

/// Without a handle to resume with, a goAway is no reason to leave a working connection early.
#[tokio::test(start_paused = true)]
async fn without_a_handle_a_go_away_does_not_end_the_connection_early() {
    let (conn, peer) = pair(16);
    let server = tokio::spawn(handshake(peer, false));
    let reconnect = std::future::pending::<Result<MemoryConnection, Error>>;
    let (sender, mut events) = start_resumable(conn, options(), reconnect).await.unwrap();
    let mut peer = server.await.unwrap();
    peer.send_json(&json!({"goAway": {"timeLeft": "10s"}}))
        .await;
    assert!(matches!(events.next().await, Some(Event::GoAway { .. })));
    tokio::time::sleep(Duration::from_secs(7)).await;
    sender.send_text("still here").await.unwrap();
    assert_eq!(
        next_text(&mut peer).await["realtimeInput"]["text"],
        "still here"
    );
    answer(&peer, &["Yes."]).await;
    let (text, _) = read_turn(&mut events).await.unwrap();
    assert_eq!(text, "Yes.");
    peer.close(1000, "").await;
    let Some(Event::Closed(close)) = events.next().await else {
        panic!("closed")
    };
    assert_eq!(close.kind, CloseKind::ResumeFailed, "{close}");
}

/// What the user said and the server had not answered when the connection dropped reaches the
/// next connection first, and the cut says so; with `speech_kept` zero nothing is kept.
#[tokio::test(start_paused = true)]
async fn speech_cut_by_a_drop_is_sent_again_first_unless_none_is_kept() {
    for kept in [Duration::from_secs(30), Duration::ZERO] {
        let mut options = options();
        options.session.speech_kept = kept;
        let (sender, mut events, mut peers) = session(options).await;
        let mut peer1 = peers.recv().await.unwrap();
        sender.send_audio(vec![7u8; 3200], 16_000).await.unwrap();
        assert!(next_text(&mut peer1).await["realtimeInput"]["audio"].is_object());
        drop(peer1);
        let mut peer2 = handshake(peers.recv().await.unwrap(), true).await;
        let mut cut = Vec::new();
        loop {
            match events.next().await.expect("an event") {
                Event::TurnCut { turns, .. } => cut = turns,
                Event::SetupComplete { resumed: true, .. } => break,
                _ => {}
            }
        }
        sender.send_audio(vec![9u8; 3200], 16_000).await.unwrap();
        let mut first = next_text(&mut peer2).await;
        let data = first["realtimeInput"]["audio"]["data"].take();
        let pcm = decode_base64(data.as_str().unwrap()).unwrap();
        if kept.is_zero() {
            assert!(cut.is_empty(), "{cut:?}");
            assert_eq!(pcm[0], 9, "only live audio");
        } else {
            assert_eq!(cut.len(), 1);
            let speech = cut[0].speech.expect("speech named");
            assert!(cut[0].resent);
            assert_eq!(speech.audio, Duration::from_millis(100));
            assert_eq!(pcm[0], 7, "the cut speech goes first");
            let live = next_text(&mut peer2).await;
            assert!(live["realtimeInput"]["audio"].is_object());
        }
        sender.close().await.unwrap();
    }
}
