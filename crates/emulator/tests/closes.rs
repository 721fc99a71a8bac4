//! Every end of a connection is a proper WebSocket close (RFC 6455 §5.5.1, §7), whoever ends it,
//! except the deliberate `drop` fault; and hostile clients get the close their frames deserve
//! while the emulator goes on serving everyone else.

mod common;

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use common::{Client, Incoming, MODEL_38, fast, start};
use futures_util::StreamExt;
use gemlive_emulator::EmulatorConfig;
use serde_json::json;

/// The client closes; what comes back.
async fn close_from_client(mut c: Client) -> Incoming {
    c.ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .expect("close sent");
    loop {
        match tokio::time::timeout(Duration::from_secs(5), c.ws.next())
            .await
            .expect("an answer to the close")
        {
            Some(Ok(Message::Close(f))) => {
                let (code, reason) = f.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Incoming::Closed(code, reason);
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Incoming::Dropped,
        }
    }
}

#[tokio::test]
async fn a_client_close_is_answered_before_setup_during_a_session_and_in_replay() {
    let emu = start(fast()).await;
    let c = Client::dev(&emu).await;
    assert_eq!(
        close_from_client(c).await,
        Incoming::Closed(1000, "bye".into())
    );

    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "generationConfig": {"responseModalities": ["TEXT"]}}))
        .await;
    c.send(json!({"realtimeInput": {"text": "Tell me a long story"}}))
        .await;
    assert_eq!(
        close_from_client(c).await,
        Incoming::Closed(1000, "bye".into())
    );

    let replay = gemlive_emulator::Replay::parse(
        r#"{"header": {"backend": "mldev"}}
{"dir":"client","bytes":1,"frame":{"setup":{"model":"models/m"}}}
{"dir":"server","bytes":1,"frame":{"setupComplete":{}}}"#,
    )
    .unwrap();
    let emu = start(EmulatorConfig {
        replay: Some(replay),
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.send(json!({"setup": {"model": "models/m"}})).await;
    assert!(c.msg().await.get("setupComplete").is_some());
    assert_eq!(
        close_from_client(c).await,
        Incoming::Closed(1000, "bye".into())
    );
}

#[tokio::test]
async fn shutdown_closes_with_1001() {
    let emu = start(fast()).await;
    let mut waiting = Client::dev(&emu).await;
    let mut live = Client::dev(&emu).await;
    live.setup(json!({"model": MODEL_38})).await;
    tokio::task::yield_now().await;
    let down = tokio::spawn(emu.shutdown());
    assert_eq!(waiting.closed().await.0, 1001);
    assert_eq!(live.closed().await.0, 1001);
    down.await.unwrap();
}

#[tokio::test]
async fn invalid_utf8_and_deep_nesting_close_with_1007() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    // A text frame that is not UTF-8 (tungstenite would refuse to build one, so raw bytes).
    c.ws.send(Message::Frame(
        async_tungstenite::tungstenite::protocol::frame::Frame::message(
            vec![b'{', 0xff, 0xfe, b'}'],
            async_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                async_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
            ),
            true,
        ),
    ))
    .await
    .unwrap();
    let (code, reason) = c.closed().await;
    assert_eq!(code, 1007, "{reason}");

    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    c.send_raw(&format!("{{\"realtimeInput\": {{\"text\": {deep}}}}}"))
        .await;
    let (code, reason) = c.closed().await;
    assert_eq!(code, 1007, "{reason}");
    // The emulator still serves.
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
}

#[tokio::test]
async fn a_frame_over_the_limit_gets_1009_with_the_limit_not_a_reset() {
    let emu = start(EmulatorConfig {
        max_message_bytes: 1 << 20,
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    let big = "a".repeat(50 << 20);
    c.ws.send(Message::Text(Utf8Bytes::from(format!(
        "{{\"realtimeInput\": {{\"text\": \"{big}\"}}}}"
    ))))
    .await
    .expect("the whole 50 MB frame is taken (and dropped)");
    let (code, reason) = c.closed().await;
    assert_eq!(code, 1009);
    assert_eq!(
        reason,
        "Message exceeds the maximum allowed size of 1048576 bytes."
    );
    let hint = protocol::Close::from_wire(code, &reason);
    assert_eq!(hint.kind, protocol::CloseKind::MessageTooBig);
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
}

#[tokio::test]
async fn a_flood_of_tiny_frames_is_served_and_others_are_not_starved() {
    let emu = start(fast()).await;
    let mut flood = Client::dev(&emu).await;
    flood
        .setup(json!({"model": MODEL_38, "generationConfig": {"responseModalities": ["TEXT"]}}))
        .await;
    let sender = tokio::spawn(async move {
        for _ in 0..20_000 {
            if flood
                .ws
                .send(Message::Text(Utf8Bytes::from_static(
                    r#"{"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAA="}}}"#,
                )))
                .await
                .is_err()
            {
                break;
            }
        }
        flood
    });
    let mut other = Client::dev(&emu).await;
    other
        .setup(json!({"model": MODEL_38, "generationConfig": {"responseModalities": ["TEXT"]}}))
        .await;
    other
        .send(json!({"realtimeInput": {"text": "What is 2 + 2?"}}))
        .await;
    assert_eq!(common::text_of(&other.turn().await), "2 + 2 is 4.");
    let flood = sender.await.unwrap();
    assert_eq!(
        close_from_client(flood).await,
        Incoming::Closed(1000, "bye".into())
    );
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_others_go_on() {
    let emu = start(EmulatorConfig {
        write_timeout: Duration::from_millis(500),
        ..fast()
    })
    .await;
    let script_free_long_reply = "word ".repeat(30);
    let mut sleepy = Client::dev(&emu).await;
    sleepy
        .setup(json!({"model": MODEL_38, "generationConfig": {"responseModalities": ["AUDIO"]}}))
        .await;
    // Replies keep coming (each text interrupts the last); the client reads none of them.
    for _ in 0..200 {
        sleepy
            .send(json!({"realtimeInput": {"text": format!("You said: {script_free_long_reply}")}}))
            .await;
    }
    let mut other = Client::dev(&emu).await;
    other
        .setup(json!({"model": MODEL_38, "generationConfig": {"responseModalities": ["TEXT"]}}))
        .await;
    other
        .send(json!({"realtimeInput": {"text": "What is 3 + 3?"}}))
        .await;
    assert_eq!(common::text_of(&other.turn().await), "3 + 3 is 6.");
    // Once its socket buffers are full the emulator stops writing; after the write timeout it
    // lets the connection go: reading now ends in a drop, not a hang.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sleepy.ws.next().await {
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled connection was let go");
}
