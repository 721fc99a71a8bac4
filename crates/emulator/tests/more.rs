//! Video frames, context updates, Vertex VAD signals, NON_BLOCKING scheduling, compression, recording, espeak.

mod common;

use common::*;
use gemlive_emulator::{EmulatorConfig, Voice};
use serde_json::{Value, json};

#[tokio::test]
async fn video_frames_are_counted_and_context_updates_apply() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "outputAudioTranscription": {}}))
        .await;
    for _ in 0..2 {
        c.send(json!({"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": b64(b"\xff\xd8\xff")}}})).await;
    }
    c.send(json!({"realtimeInput": {"text": "What do you see?"}}))
        .await;
    let turn = c.turn().await;
    assert_eq!(transcript_of(&turn), "I have received 2 video frames.");
    let usage = &turn.last().unwrap()["usageMetadata"];
    assert!(
        usage["promptTokensDetails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["modality"] == "IMAGE"),
        "{usage}"
    );
    c.send(
        json!({"contextUpdate": {"tools": {"tools": [{"functionDeclarations": [{"name": "open_door",
        "behavior": "BLOCKING"}]}]}}}),
    )
    .await;
    c.send(json!({"realtimeInput": {"text": "open the door"}}))
        .await;
    assert_eq!(
        c.msg().await["toolCall"]["functionCalls"][0]["name"],
        "open_door"
    );
    c.close().await;
}

#[tokio::test]
async fn vertex_explicit_vad_signal() {
    let emu = start(fast()).await;
    let mut c = Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await;
    c.setup(json!({"model": VERTEX_MODEL, "explicitVadSignal": true,
        "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 200}}}))
        .await;
    for (ms, amp) in [(600, 0.3), (400, 0.0)] {
        c.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": b64(&pcm16k(ms, amp))}}})).await;
    }
    assert_eq!(
        c.msg().await,
        json!({"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_SOS"}})
    );
    assert_eq!(
        c.msg().await,
        json!({"voiceActivityDetectionSignal": {"vadSignalType": "VAD_SIGNAL_TYPE_EOS"}})
    );
    c.turn().await;
    c.close().await;
}

#[tokio::test]
async fn non_blocking_interrupt_and_silent() {
    let emu = start(EmulatorConfig {
        speed: 5.0,
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": "models/gemini-2.5-flash-native-audio-preview-12-2025", "outputAudioTranscription": {},
        "tools": [{"functionDeclarations": [{"name": "search_flights", "behavior": "NON_BLOCKING"}]}]})).await;
    c.send(json!({"realtimeInput": {"text": "search flights to Rome"}}))
        .await;
    let id = c.msg().await["toolCall"]["functionCalls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.turn().await;
    // SILENT: added to the context, no generation; the history then knows the result.
    c.send(
        json!({"toolResponse": {"functionResponses": [{"id": id, "response": {"result": "AZ 123"},
        "scheduling": "SILENT", "willContinue": true}]}}),
    )
    .await;
    c.send(json!({"realtimeInput": {"text": "Tell me a long story about the sea and the wind and the rain"}})).await;
    let mut first = c.msg().await;
    if first.pointer("/serverContent/interrupted").is_some() {
        // 2.5 native audio: input while the last reply would still be playing interrupts it,
        // although its turn is complete.
        first = c.msg().await;
    }
    // 2.5 native audio sends each transcript fragment ahead of its audio.
    assert_eq!(
        first.pointer("/serverContent/outputTranscription/text"),
        Some(&json!("You")),
        "the story starts, not the silent result: {first}"
    );
    // INTERRUPT: cuts the story and speaks the result now (the call is still open: willContinue).
    c.send(
        json!({"toolResponse": {"functionResponses": [{"id": id, "response": {"result": "AZ 124"},
        "scheduling": "INTERRUPT"}]}}),
    )
    .await;
    let rest = c.turn().await;
    assert!(
        rest.iter()
            .any(|m| m.pointer("/serverContent/interrupted") == Some(&Value::Bool(true)))
    );
    assert_eq!(
        transcript_of(&c.turn().await),
        "search_flights returned AZ 124."
    );
    c.close().await;
}

#[tokio::test]
async fn compression_keeps_the_context_bounded() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "contextWindowCompression": {"triggerTokens": 60, "slidingWindow": {"targetTokens": 30}}})).await;
    let mut prompts = Vec::new();
    for i in 0..8 {
        c.send(json!({"realtimeInput": {"text": format!("This is message number {i} of a long conversation.")}})).await;
        let turn = c.turn().await;
        prompts.push(
            turn.last().unwrap()["usageMetadata"]["promptTokenCount"]
                .as_i64()
                .unwrap(),
        );
    }
    assert!(prompts.iter().all(|&p| p <= 60 + 20), "{prompts:?}");
    let early = prompts[..4].iter().max().unwrap();
    assert!(
        prompts[4..].iter().all(|p| p <= early),
        "slides instead of growing: {prompts:?}"
    );
    c.close().await;
}

#[tokio::test]
async fn record_dir_writes_the_corpus_format() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(EmulatorConfig {
        record_dir: Some(dir.path().to_owned()),
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send(json!({"realtimeInput": {"text": "hi"}})).await;
    let turn = c.turn().await;
    c.close().await;
    emu.shutdown().await;
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let replay = gemlive_emulator::Replay::load(&file).expect("a recording replays");
    assert_eq!(replay.connections[0].len(), 3 + turn.len());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().next().unwrap().contains("\"header\""));
}

#[tokio::test]
async fn espeak_voice_speaks_the_reply() {
    let emu = start(EmulatorConfig {
        voice: Voice::Espeak,
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "outputAudioTranscription": {}}))
        .await;
    c.send(json!({"realtimeInput": {"text": "What is 6 times 7?"}}))
        .await;
    let turn = c.turn().await;
    assert_eq!(transcript_of(&turn), "6 * 7 is 42.");
    let pcm = audio_of(&turn);
    assert!(pcm.len() > 24_000, "{} bytes", pcm.len());
    c.close().await;
}

#[tokio::test]
async fn shutdown_closes_sessions_and_does_not_hang_on_idle_peers() {
    let emu = start(fast()).await;
    let _idle = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    let t0 = std::time::Instant::now();
    let (closed, ()) = tokio::join!(c.closed(), emu.shutdown());
    assert_eq!(closed.0, 1001);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn vertex_completes_the_turn_after_a_tool_call() {
    let emu = start(fast()).await;
    let mut c = Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await;
    c.setup(
        json!({"model": VERTEX_MODEL, "outputAudioTranscription": {},
        "tools": [{"functionDeclarations": [{"name": "GetWeather"}]}]}),
    )
    .await;
    c.send(json!({"realtimeInput": {"text": "What is the weather in Seattle?"}}))
        .await;
    let turn = c.turn().await;
    let call = &turn[0]["toolCall"]["functionCalls"][0];
    assert_eq!(call["id"].as_str().unwrap().len(), 36, "UUID ids on Vertex");
    assert!(
        turn.iter()
            .any(|m| m.pointer("/serverContent/generationComplete").is_some())
    );
    c.send(json!({"toolResponse": {"functionResponses": [{"id": call["id"], "response": {"output": "rain"}}]}})).await;
    assert_eq!(transcript_of(&c.turn().await), "GetWeather returned rain.");
    c.close().await;
}

#[tokio::test]
async fn pending_calls_survive_resumption() {
    let emu = start(fast()).await;
    let mut a = Client::dev(&emu).await;
    let setup = json!({"model": MODEL_38, "sessionResumption": {}, "outputAudioTranscription": {},
        "tools": [{"functionDeclarations": [{"name": "GetWeather", "behavior": "BLOCKING"}]}]});
    a.setup(setup.clone()).await;
    let handle = a.msg().await["sessionResumptionUpdate"]["newHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    a.send(json!({"realtimeInput": {"text": "What is the weather in Oslo?"}}))
        .await;
    assert_eq!(
        a.msg().await,
        json!({"sessionResumptionUpdate": {"resumable": false}})
    );
    let id = a.msg().await["toolCall"]["functionCalls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The connection drops while the call is pending; the last resumable handle restores the session.
    a.close().await;
    let mut b = Client::dev(&emu).await;
    let mut resume = setup;
    resume["sessionResumption"] = json!({"handle": handle});
    b.setup(resume).await;
    let update = b.msg().await;
    assert_eq!(
        update["sessionResumptionUpdate"]["resumable"], false,
        "a call is still pending: {update}"
    );
    b.send(json!({"toolResponse": {"functionResponses": [{"id": id, "response": {"output": "snow"}}]}})).await;
    assert_eq!(transcript_of(&b.turn().await), "GetWeather returned snow.");
    b.close().await;
}

#[tokio::test]
async fn handles_and_ids_differ_between_emulators_unless_seeded() {
    async fn first_ids(seed: Option<u64>) -> (String, String) {
        let emu = start(EmulatorConfig { seed, ..fast() }).await;
        let mut c = Client::dev(&emu).await;
        c.setup(json!({"model": MODEL_38, "sessionResumption": {}}))
            .await;
        let handle = c.msg().await["sessionResumptionUpdate"]["newHandle"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut v = Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await;
        let session = v.setup(json!({"model": VERTEX_MODEL})).await["setupComplete"]["sessionId"]
            .as_str()
            .unwrap()
            .to_owned();
        c.close().await;
        v.close().await;
        emu.shutdown().await;
        (handle, session)
    }
    let (a, b) = (first_ids(None).await, first_ids(None).await);
    assert_ne!(
        a.0, b.0,
        "a handle of one run never resumes another run's session"
    );
    assert_ne!(a.1, b.1);
    assert_eq!(
        first_ids(Some(7)).await,
        first_ids(Some(7)).await,
        "--seed reproduces"
    );
}
