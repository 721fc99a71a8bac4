//! Scenario files: scripted replies and injected faults.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use gemlive_emulator::{EmulatorConfig, Script};
use serde_json::json;

async fn scripted(json: &str) -> gemlive_emulator::Emulator {
    let script = Script::from_json(json, Path::new(".")).expect("valid script");
    start(EmulatorConfig {
        script: Some(script),
        ..fast()
    })
    .await
}

async fn session(emu: &gemlive_emulator::Emulator) -> Client {
    let mut c = Client::dev(emu).await;
    c.setup(json!({"model": MODEL_38, "outputAudioTranscription": {},
        "tools": [{"functionDeclarations": [{"name": "lookup", "behavior": "BLOCKING"}]}]}))
        .await;
    c
}

#[tokio::test]
async fn scripted_reply_and_tool_call() {
    let emu = scripted(r#"{"seed": 7, "rules": [
        {"when": {"contains": "weather"}, "reply": {"tool_calls": [{"name": "lookup", "args": {"q": "Paris"}}]}},
        {"when": {"contains": "hello"}, "reply": {"text": "Bonjour!"}}]}"#).await;
    let mut c = session(&emu).await;
    c.send(json!({"realtimeInput": {"text": "HELLO there"}}))
        .await;
    assert_eq!(transcript_of(&c.turn().await), "Bonjour!");
    c.send(json!({"realtimeInput": {"text": "and the weather?"}}))
        .await;
    let call = c.msg().await;
    assert_eq!(
        call["toolCall"]["functionCalls"][0]["args"],
        json!({"q": "Paris"})
    );
    let id = call["toolCall"]["functionCalls"][0]["id"].clone();
    c.close().await;
    // Same seed, same session: the call id repeats.
    let emu2 = scripted(r#"{"seed": 7, "rules": [
        {"when": {"contains": "weather"}, "reply": {"tool_calls": [{"name": "lookup", "args": {"q": "Paris"}}]}}]}"#).await;
    let mut d = session(&emu2).await;
    d.send(json!({"realtimeInput": {"text": "weather"}})).await;
    assert_eq!(d.msg().await["toolCall"]["functionCalls"][0]["id"], id);
}

#[tokio::test]
async fn fault_close_and_drop() {
    let emu = scripted(r#"{"rules": [
        {"when": {"contains": "crash"}, "fault": {"close": {"code": 1011, "reason": "The service is currently unavailable."}}},
        {"when": {"contains": "drop"}, "fault": "drop"}]}"#).await;
    let mut c = session(&emu).await;
    c.send(json!({"realtimeInput": {"text": "crash now"}}))
        .await;
    assert_eq!(
        c.closed().await,
        (1011, "The service is currently unavailable.".into())
    );
    let mut d = session(&emu).await;
    d.send(json!({"realtimeInput": {"text": "drop now"}})).await;
    assert_eq!(d.recv().await, Incoming::Dropped, "no close frame");
}

#[tokio::test]
async fn fault_malformed_premature_empty_and_delay() {
    let emu = scripted(
        r#"{"rules": [
        {"when": {"contains": "bad"}, "fault": "malformed"},
        {"when": {"contains": "early"}, "fault": "premature_turn_complete"},
        {"when": {"contains": "empty"}, "fault": "empty_audio_turn"},
        {"when": {"contains": "slow"}, "fault": {"delay_ms": 300}}]}"#,
    )
    .await;
    let mut c = session(&emu).await;
    c.send(json!({"realtimeInput": {"text": "bad"}})).await;
    let m = c.msg().await;
    assert!(m.is_string(), "not JSON: {m}");
    c.send(json!({"realtimeInput": {"text": "early"}})).await;
    let first = c.turn().await;
    assert!(
        audio_of(&first).is_empty(),
        "turnComplete before any content"
    );
    let rest = c.turn().await;
    assert!(!audio_of(&rest).is_empty());
    c.send(json!({"realtimeInput": {"text": "empty"}})).await;
    let turn = c.turn().await;
    assert!(audio_of(&turn).is_empty());
    assert!(
        turn.iter()
            .any(|m| m.pointer("/serverContent/generationComplete").is_some())
    );
    let t0 = Instant::now();
    c.send(json!({"realtimeInput": {"text": "slow"}})).await;
    c.turn().await;
    assert!(
        t0.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn fault_stall_sends_nothing_more() {
    let emu = scripted(r#"{"rules": [{"when": {"contains": "stall"}, "fault": "stall"}]}"#).await;
    let mut c = session(&emu).await;
    c.send(json!({"realtimeInput": {"text": "stall"}})).await;
    let next = tokio::time::timeout(Duration::from_millis(300), c.recv()).await;
    assert!(next.is_err(), "stalled: {next:?}");
}

#[tokio::test]
async fn a_stalled_spoken_turn_still_transcribes_the_speech() {
    // The stall withholds the model's turn, not what the server says about the user's speech
    // (Google streams the input transcription as it hears it), nor the turn's opening on 3.1.
    let emu = scripted(r#"{"rules": [{"when": {"turn": 1}, "fault": "stall"}]}"#).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_31, "inputAudioTranscription": {}}))
        .await;
    c.utterance().await;
    let mut got = Vec::new();
    while let Ok(m) = tokio::time::timeout(Duration::from_millis(300), c.msg()).await {
        got.push(m);
    }
    assert!(
        got.iter()
            .any(|m| m.pointer("/serverContent/inputTranscription/text")
                == Some(&json!("[speech: 0.8 s]"))),
        "{got:?}"
    );
    assert!(got.contains(&json!({"serverContent": {}})), "{got:?}");
    assert!(
        got.iter()
            .all(|m| m.pointer("/serverContent/modelTurn").is_none()
                && m.pointer("/serverContent/turnComplete").is_none()),
        "stalled: {got:?}"
    );
}

#[tokio::test]
async fn fault_slow_pongs() {
    use async_tungstenite::tungstenite::Message;
    use futures_util::StreamExt;
    let emu =
        scripted(r#"{"rules": [{"when": {"contains": "lag"}, "fault": {"slow_pongs_ms": 400}}]}"#)
            .await;
    let mut c = session(&emu).await;
    let ping = async |c: &mut Client| {
        let t0 = Instant::now();
        c.ws.send(Message::Ping(b"p".to_vec().into()))
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), c.ws.next())
                .await
                .unwrap()
            {
                Some(Ok(Message::Pong(_))) => return t0.elapsed(),
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    };
    assert!(
        ping(&mut c).await < Duration::from_millis(200),
        "prompt pongs before the fault"
    );
    c.send(json!({"realtimeInput": {"text": "lag please"}}))
        .await;
    c.turn().await;
    assert!(
        ping(&mut c).await >= Duration::from_millis(390),
        "slow pongs after it"
    );
}
