//! Behaviour: text and audio turns, memory, Vertex shapes, resumption, VAD and barge-in, tools, goAway, pacing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gemlive_emulator::EmulatorConfig;
use serde_json::{Value, json};

fn user_text(text: &str) -> Value {
    json!({"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": true}})
}

#[tokio::test]
async fn text_modality_streams_deltas_then_generation_and_turn_complete() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    let done = c
        .setup(json!({"model": HALF_CASCADE, "generationConfig": {"responseModalities": ["TEXT"]}}))
        .await;
    assert_eq!(
        done,
        json!({"setupComplete": {}}),
        "no sessionId on the Developer API"
    );
    c.send(user_text("What is 10 + 10?")).await;
    let turn = c.turn().await;
    assert_eq!(text_of(&turn), "10 + 10 is 20.");
    assert!(turn.len() >= 3);
    let n = turn.len();
    assert_eq!(
        turn[n - 2],
        json!({"serverContent": {"generationComplete": true}})
    );
    let last = &turn[n - 1];
    assert_eq!(last["usageMetadata"]["responseTokenCount"], json!(4));
    assert!(last["usageMetadata"].get("candidatesTokenCount").is_none());
    assert_eq!(
        last["usageMetadata"]["responseTokensDetails"][0]["modality"],
        "TEXT"
    );
    assert!(
        turn[0].pointer("/serverContent/modelTurn/role").is_none(),
        "ML Dev omits the role"
    );
    // Memory, through realtimeInput.text in snake_case as the Python SDK sends it.
    c.send(json!({"realtime_input": {"text": "What was my last question?"}}))
        .await;
    assert_eq!(
        text_of(&c.turn().await),
        "Your last question was: \"What is 10 + 10?\""
    );
    c.close().await;
}

#[tokio::test]
async fn audio_modality_sends_pcm_with_transcription() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "generation_config": {"response_modalities": ["AUDIO"], "top_k": 40.0},
        "outputAudioTranscription": {}})).await;
    c.send(json!({"client_content": {"turns": [{"role": "user", "parts": [{"text": "Hello"}]}], "turn_complete": true}})).await;
    let turn = c.turn().await;
    let transcript = transcript_of(&turn);
    assert_eq!(
        transcript,
        "Hello! I am the gemlive emulator. How can I help you today?"
    );
    let pcm = audio_of(&turn);
    let secs = pcm.len() as f64 / 48_000.0;
    assert!(
        (2.0..8.0).contains(&secs),
        "{secs} s of audio for a 12-word reply"
    );
    assert_eq!(
        turn[0]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["mimeType"],
        "audio/pcm;rate=24000"
    );
    let usage = &turn.last().unwrap()["usageMetadata"];
    assert_eq!(usage["responseTokensDetails"][0]["modality"], "AUDIO");
    c.close().await;
}

#[tokio::test]
async fn vertex_shapes() {
    let emu = start(fast()).await;
    let mut c = Client::connect(
        &emu,
        &format!("/{VERTEX}"),
        &[("authorization", "Bearer ya29.token")],
    )
    .await;
    let done = c
        .setup(
            json!({"model": VERTEX_MODEL, "generationConfig": {"responseModalities": ["AUDIO"]}}),
        )
        .await;
    let id = done["setupComplete"]["sessionId"]
        .as_str()
        .expect("sessionId on Vertex");
    assert_eq!(id.len(), 36);
    c.send(json!({"realtimeInput": {"text": "Are you there?"}}))
        .await;
    let turn = c.turn().await;
    assert_eq!(turn[0]["serverContent"]["modelTurn"]["role"], "model");
    assert_eq!(
        turn[0]["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["mimeType"],
        "audio/pcm"
    );
    let usage = &turn.last().unwrap()["usageMetadata"];
    assert!(usage["candidatesTokenCount"].as_i64().unwrap() > 0);
    assert!(usage.get("responseTokenCount").is_none());
    assert_eq!(
        turn.last().unwrap()["serverContent"]["groundingMetadata"],
        json!({})
    );
    c.close().await;
}

#[tokio::test]
async fn url_safe_base64_and_int64_strings_are_accepted() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(
        json!({"model": MODEL_38, "contextWindowCompression": {"trigger_tokens": "25600",
        "sliding_window": {"target_tokens": 12800}}}),
    )
    .await;
    let pcm = vec![0xfb, 0xff, 0xfe, 0x00];
    c.send(json!({"realtime_input": {"audio": {"data": b64_url(&pcm), "mime_type": "audio/pcm;rate=16000"}}})).await;
    c.send(json!({"realtimeInput": {"text": "hi"}})).await;
    assert!(!audio_of(&c.turn().await).is_empty());
    c.close().await;
}

fn handle_of(m: &Value) -> Option<String> {
    m.pointer("/sessionResumptionUpdate/newHandle")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[tokio::test]
async fn resumption_keeps_history_and_flags_generation() {
    let emu = start(fast()).await;
    let mut a = Client::dev(&emu).await;
    a.setup(json!({"model": MODEL_38, "sessionResumption": {}, "outputAudioTranscription": {}}))
        .await;
    let first = a.msg().await;
    assert_eq!(first["sessionResumptionUpdate"]["resumable"], true);
    assert!(handle_of(&first).is_some());
    a.send(json!({"realtimeInput": {"text": "My name is Ada."}}))
        .await;
    let busy = a.msg().await;
    assert_eq!(
        busy,
        json!({"sessionResumptionUpdate": {"resumable": false}}),
        "not resumable while generating"
    );
    a.turn().await;
    let after = a.msg().await;
    assert_eq!(after["sessionResumptionUpdate"]["resumable"], true);
    let handle = handle_of(&after).expect("a handle after turnComplete");
    a.close().await;

    let mut b = Client::dev(&emu).await;
    b.setup(json!({"model": MODEL_38, "sessionResumption": {"handle": handle}, "outputAudioTranscription": {}})).await;
    assert!(handle_of(&b.msg().await).is_some());
    b.send(json!({"realtimeInput": {"text": "What is my name?"}}))
        .await;
    let turn = b.turn().await;
    assert_eq!(transcript_of(&turn), "Your name is Ada.");
    b.close().await;
}

#[tokio::test]
async fn transparent_resumption_on_vertex_counts_consumed_messages() {
    let emu = start(fast()).await;
    let mut c = Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await;
    c.setup(json!({"model": VERTEX_MODEL, "sessionResumption": {"transparent": true}}))
        .await;
    assert_eq!(
        c.msg().await["sessionResumptionUpdate"]["lastConsumedClientMessageIndex"],
        "0"
    );
    c.send(json!({"realtimeInput": {"text": "hi"}})).await;
    let busy = c.msg().await;
    assert_eq!(
        busy["sessionResumptionUpdate"]["lastConsumedClientMessageIndex"],
        "1"
    );
    c.turn().await;
    c.close().await;
}

async fn speak(c: &mut Client, ms: u32, amplitude: f64) {
    for _ in 0..ms / 40 {
        let chunk = pcm16k(40, amplitude);
        c.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": b64(&chunk)}}})).await;
    }
}

#[tokio::test]
async fn vad_detects_speech_transcribes_and_barges_in() {
    let emu = start(EmulatorConfig {
        speed: 4.0,
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "inputAudioTranscription": {}, "outputAudioTranscription": {},
        "realtimeInputConfig": {"automaticActivityDetection": {"silenceDurationMs": 300, "prefixPaddingMs": 40}},
        "tools": [{"functionDeclarations": [{"name": "get_weather", "behavior": "BLOCKING"}]}]})).await;
    speak(&mut c, 200, 0.0).await;
    speak(&mut c, 1200, 0.3).await;
    speak(&mut c, 400, 0.0).await;
    let start = c.msg().await;
    assert_eq!(start["voiceActivity"]["type"], "ACTIVITY_START");
    assert_eq!(start["voiceActivity"]["audioOffset"], "0.200s");
    let end = c.msg().await;
    assert_eq!(end["voiceActivity"]["type"], "ACTIVITY_END");
    let transcript = c.msg().await;
    assert_eq!(
        transcript["serverContent"]["inputTranscription"]["text"],
        "[speech: 1.2 s]"
    );
    // The reply is paced (4x): the first chunk arrives, then the user speaks again.
    let first = c.msg().await;
    assert!(
        first.pointer("/serverContent/modelTurn").is_some(),
        "{first}"
    );
    speak(&mut c, 200, 0.3).await;
    let mut seen = Vec::new();
    loop {
        let m = c.msg().await;
        if m.pointer("/serverContent/interrupted") == Some(&Value::Bool(true)) {
            break;
        }
        assert!(
            m.pointer("/serverContent/generationComplete").is_none(),
            "no generationComplete on an interrupted turn"
        );
        seen.push(m);
    }
    let tc = c.msg().await;
    assert_eq!(tc["serverContent"]["turnComplete"], true);
    c.close().await;
}

#[tokio::test]
async fn manual_activity_and_no_interruption() {
    let emu = start(EmulatorConfig {
        speed: 20.0,
        ..fast()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(
        json!({"model": MODEL_38, "outputAudioTranscription": {}, "realtimeInputConfig": {
        "automaticActivityDetection": {"disabled": true}, "activityHandling": "NO_INTERRUPTION"}}),
    )
    .await;
    c.send(json!({"realtimeInput": {"activityStart": {}}}))
        .await;
    speak(&mut c, 800, 0.3).await;
    c.send(json!({"realtimeInput": {"activityEnd": {}}})).await;
    assert_eq!(c.msg().await["voiceActivity"]["type"], "ACTIVITY_START");
    assert_eq!(c.msg().await["voiceActivity"]["type"], "ACTIVITY_END");
    c.send(json!({"realtimeInput": {"text": "What is 2 + 2?"}}))
        .await;
    let first = c.turn().await;
    assert_eq!(transcript_of(&first), "I heard 0.8 seconds of speech.");
    assert!(
        first
            .iter()
            .all(|m| m.pointer("/serverContent/interrupted").is_none()),
        "NO_INTERRUPTION"
    );
    let second = c.turn().await;
    assert_eq!(transcript_of(&second), "2 + 2 is 4.");
    c.close().await;
}

#[tokio::test]
async fn tools_blocking_call_then_answer_and_cancellation_on_barge_in() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    let tools = json!([{"functionDeclarations": [{"name": "GetWeather", "description": "weather",
        "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}, "required": ["location"]}}]}]);
    c.setup(json!({"model": MODEL_31, "outputAudioTranscription": {}, "tools": tools}))
        .await;
    c.send(json!({"realtimeInput": {"text": "What is the weather in Seattle?"}}))
        .await;
    assert_eq!(
        c.msg().await,
        json!({"serverContent": {}}),
        "3.1 opens every model turn with an empty serverContent"
    );
    let call = c.msg().await;
    let fc = &call["toolCall"]["functionCalls"][0];
    assert_eq!(fc["name"], "GetWeather");
    assert_eq!(fc["args"], json!({"location": "Seattle"}));
    let id = fc["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("fc_"));
    c.send(json!({"tool_response": {"functionResponses": [{"id": id, "name": "GetWeather", "response": {"temperature": "72F"}}]}})).await;
    let turn = c.turn().await;
    assert_eq!(
        transcript_of(&turn),
        "GetWeather returned {\"temperature\":\"72F\"}."
    );

    // A new question while a call is pending cancels it. (3.1 sends a resumption update after
    // every turn, and opens the next with an empty serverContent.)
    c.send(json!({"realtimeInput": {"text": "And the weather in Paris?"}}))
        .await;
    assert!(c.msg().await.get("sessionResumptionUpdate").is_some());
    assert_eq!(c.msg().await, json!({"serverContent": {}}));
    let call = c.msg().await;
    let id = call["toolCall"]["functionCalls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.send(json!({"realtimeInput": {"text": "Never mind."}}))
        .await;
    assert_eq!(
        c.msg().await,
        json!({"serverContent": {"interrupted": true}})
    );
    assert_eq!(
        c.msg().await,
        json!({"toolCallCancellation": {"ids": [id]}})
    );
    assert_eq!(c.msg().await["serverContent"]["turnComplete"], true);
    c.close().await;
}

#[tokio::test]
async fn non_blocking_tools_follow_scheduling() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38, "outputAudioTranscription": {},
        "tools": [{"functionDeclarations": [{"name": "book_table"}]}]}))
        .await;
    c.send(json!({"realtimeInput": {"text": "Please book a table."}}))
        .await;
    let call = c.msg().await;
    let id = call["toolCall"]["functionCalls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let turn = c.turn().await;
    assert_eq!(
        transcript_of(&turn),
        "I have started book_table.",
        "3.8 defaults to NON_BLOCKING: it keeps talking"
    );
    c.send(json!({"toolResponse": {"functionResponses": [{"id": id, "response": {"result": "booked"}, "scheduling": "WHEN_IDLE"}]}})).await;
    assert_eq!(
        transcript_of(&c.turn().await),
        "book_table returned booked."
    );
    c.close().await;
}

#[tokio::test]
async fn go_away_precedes_the_end_of_the_connection() {
    let cfg = EmulatorConfig {
        connection_lifetime: Duration::from_millis(600),
        go_away_notice: Duration::from_millis(400),
        ..fast()
    };
    let emu = start(cfg).await;
    let mut c = Client::dev(&emu).await;
    let t0 = Instant::now();
    c.setup(json!({"model": MODEL_38})).await;
    let ga = c.msg().await;
    let left = ga["goAway"]["timeLeft"].as_str().expect("timeLeft");
    assert!(left.ends_with('s'));
    let (code, reason) = c.closed().await;
    assert_eq!(
        (code, reason.as_str()),
        (1011, protocol::close::reasons::DEADLINE_EXPIRED)
    );
    let took = t0.elapsed();
    assert!(
        (Duration::from_millis(550)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
}

#[tokio::test]
async fn audio_is_paced_in_real_time_scaled_by_speed() {
    let emu = start(EmulatorConfig {
        speed: 10.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    let t0 = Instant::now();
    c.send(json!({"realtimeInput": {"text": "Tell me about the sea and the wind and the rain"}}))
        .await;
    let mut generation_complete = None;
    let mut messages = Vec::new();
    let turn = loop {
        let m = c.msg().await;
        if m.pointer("/serverContent/generationComplete").is_some() {
            generation_complete = Some(t0.elapsed());
        }
        let done = m.pointer("/serverContent/turnComplete").is_some();
        messages.push(m);
        if done {
            break t0.elapsed();
        }
    };
    let playback = Duration::from_secs_f64(audio_of(&messages).len() as f64 / 48_000.0 / 10.0);
    let gc = generation_complete.expect("generationComplete");
    assert!(
        turn > gc,
        "turnComplete waits for playback after generationComplete"
    );
    assert!(
        turn >= playback.mul_f64(0.95) && turn < playback + Duration::from_secs(1),
        "{turn:?} for {playback:?}"
    );
    c.close().await;
}

#[tokio::test]
async fn audio_stream_end_flushes_the_speech_at_another_rate() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    // Configuring automatic activity detection asks for `voiceActivity` messages.
    c.setup(
        json!({"model": MODEL_38, "inputAudioTranscription": {}, "outputAudioTranscription": {},
            "realtimeInputConfig": {"automaticActivityDetection": {}}}),
    )
    .await;
    // 48 kHz audio, stated in the MIME type; no trailing silence: only audioStreamEnd ends the speech.
    let pcm: Vec<u8> = (0..48 * 700)
        .flat_map(|i| (((f64::from(i) * 0.07).sin() * 9000.0) as i16).to_le_bytes())
        .collect();
    c.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=48000", "data": b64(&pcm)}}})).await;
    c.send(json!({"realtimeInput": {"audioStreamEnd": true}}))
        .await;
    assert_eq!(c.msg().await["voiceActivity"]["type"], "ACTIVITY_START");
    let end = c.msg().await;
    assert_eq!(end["voiceActivity"]["type"], "ACTIVITY_END");
    assert_eq!(end["voiceActivity"]["audioOffset"], "0.700s");
    assert_eq!(
        c.msg().await["serverContent"]["inputTranscription"]["text"],
        "[speech: 0.7 s]"
    );
    assert_eq!(
        transcript_of(&c.turn().await),
        "I heard 0.7 seconds of speech."
    );
    c.close().await;
}

#[tokio::test]
async fn no_voice_activity_unless_the_setup_asks_for_it() {
    // Google sent `voiceActivity` in none of the 99 recorded sessions (none configured activity
    // detection), and older SDKs fail on a message they do not know.
    let emu = start(fast()).await;
    for model in [MODEL_38, MODEL_31, HALF_CASCADE] {
        let mut c = Client::dev(&emu).await;
        c.setup(json!({"model": model, "inputAudioTranscription": {}}))
            .await;
        c.utterance().await;
        let turn = c.turn().await;
        assert!(
            turn.iter().all(|m| m.get("voiceActivity").is_none()),
            "{model}: {turn:?}"
        );
        assert!(
            turn.iter()
                .any(|m| m.pointer("/serverContent/inputTranscription/text")
                    == Some(&json!("[speech: 0.8 s]"))),
            "{model}: one turn for the speech"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn a_frame_far_larger_than_the_read_buffer_arrives_whole() {
    // 5 s of 16 kHz audio in one `realtimeInput` frame: 213 KB of JSON, 26 times the emulator's
    // 8 KiB read buffer, so it is read in many pieces.
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(
        json!({"model": MODEL_38, "outputAudioTranscription": {}, "realtimeInputConfig": {
        "automaticActivityDetection": {"disabled": true}}}),
    )
    .await;
    c.send(json!({"realtimeInput": {"activityStart": {}}}))
        .await;
    let pcm = pcm16k(5_000, 0.3);
    c.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": b64(&pcm)}}}))
        .await;
    c.send(json!({"realtimeInput": {"activityEnd": {}}})).await;
    assert_eq!(c.msg().await["voiceActivity"]["type"], "ACTIVITY_START");
    assert_eq!(c.msg().await["voiceActivity"]["type"], "ACTIVITY_END");
    let turn = c.turn().await;
    assert_eq!(transcript_of(&turn), "I heard 5.0 seconds of speech.");
}
