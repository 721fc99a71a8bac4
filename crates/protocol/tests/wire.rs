//! The wire models against frames from the reference: what the official SDKs send must decode
//! with no unknown field, and our encoding must be canonical.

use gemlive_protocol::replay::equivalent;
use gemlive_protocol::wire::{self, ClientMessage, Modality, ServerMessage, Setup};
use gemlive_protocol::{decode_client, decode_server};
use serde_json::{Value, json};

/// Client frames the official SDKs send (reference §7.5), snake_case and URL-safe base64 included.
const SDK_FRAMES: &[&str] = &[
    r#"{"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
 "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.7, "topP": 0.9, "topK": 40.0, "maxOutputTokens": 1024, "mediaResolution": "MEDIA_RESOLUTION_LOW", "seed": 7,
   "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}, "language_code": "en-US"},
   "thinkingConfig": {"include_thoughts": true, "thinking_level": "LOW"}, "enableAffectiveDialog": true},
 "systemInstruction": {"parts": [{"text": "You are terse."}], "role": "user"},
 "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"description": "Get weather", "name": "get_weather", "parameters": {"properties": {"city": {"type": "STRING"}}, "required": ["city"], "type": "OBJECT"}, "behavior": "NON_BLOCKING"}]}],
 "inputAudioTranscription": {}, "outputAudioTranscription": {},
 "realtimeInputConfig": {"automatic_activity_detection": {"disabled": false, "start_of_speech_sensitivity": "START_SENSITIVITY_LOW", "end_of_speech_sensitivity": "END_SENSITIVITY_LOW", "prefix_padding_ms": 20, "silence_duration_ms": 500}, "activity_handling": "START_OF_ACTIVITY_INTERRUPTS", "turn_coverage": "TURN_INCLUDES_ONLY_ACTIVITY"},
 "proactivity": {"proactive_audio": true}, "historyConfig": {"initial_history_in_client_content": true}}}"#,
    r#"{"setup": {"model": "models/gemini-2.5-flash-native-audio-preview-12-2025", "generationConfig": {"responseModalities": ["AUDIO"]}, "sessionResumption": {"handle": "prev-handle-123"}, "contextWindowCompression": {"trigger_tokens": 25600, "sliding_window": {"target_tokens": 12800}}}}"#,
    r#"{"setup": {"model": "projects/my-proj/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio", "generationConfig": {"responseModalities": ["TEXT"], "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voice_name": "Kore"}}}}, "sessionResumption": {"handle": "h", "transparent": true}, "explicitVadSignal": true}}"#,
    r#"{"client_content": {"turns": [{"parts": [{"text": "Hi"}], "role": "user"}], "turnComplete": true}}"#,
    r#"{"client_content": {"turns": [{"parts": [{"inlineData": {"data": "-__-", "mime_type": "image/png"}}], "role": "user"}], "turnComplete": false}}"#,
    r#"{"client_content": {"turnComplete": true}}"#,
    r#"{"realtime_input": {"audio": {"data": "-__-AA==", "mime_type": "audio/pcm;rate=16000"}}}"#,
    r#"{"realtime_input": {"video": {"data": "_9j_", "mime_type": "image/jpeg"}}}"#,
    r#"{"realtime_input": {"text": "hello"}}"#,
    r#"{"realtime_input": {"audioStreamEnd": true}}"#,
    r#"{"realtime_input": {"activityStart": {}}}"#,
    r#"{"realtime_input": {"mediaChunks": [{"data": "AQI=", "mime_type": "audio/pcm"}]}}"#,
    r#"{"tool_response": {"functionResponses": [{"will_continue": false, "scheduling": "WHEN_IDLE", "id": "fc_1", "name": "get_weather", "response": {"result": "sunny"}}]}}"#,
    r#"{"contextUpdate": {"systemInstruction": {"parts": [{"text": "New instructions"}], "role": "user"}, "tools": {"tools": []}}}"#,
    r#"{"client_content": {"turns": [{"parts": [{"text": "legacy text"}], "role": "user"}], "turn_complete": true}}"#,
    r#"{"realtime_input": {"media_chunks": [{"data": "AQI=", "mime_type": "audio/pcm"}]}}"#,
    r#"{"tool_response": {"function_responses": [{"id": "x", "response": {}}]}}"#,
];

#[test]
fn sdk_frames_decode_fully_and_reencode_equivalently() {
    for frame in SDK_FRAMES {
        let decoded = decode_client(frame.as_bytes()).unwrap_or_else(|e| panic!("{frame}: {e}"));
        assert!(
            decoded.unknown.is_empty(),
            "{frame}: unknown {:?}",
            decoded.unknown
        );
        let ours: Value =
            serde_json::from_str(&decoded.message.to_json()).expect("our JSON parses");
        let theirs: Value = serde_json::from_str(frame).expect("reference JSON parses");
        assert!(equivalent(&theirs, &ours), "{frame}\nre-encoded as\n{ours}");
    }
}

#[test]
fn lenient_values_decode_to_typed_fields() {
    let ClientMessage::Setup(setup) = decode_client(SDK_FRAMES[0].as_bytes())
        .expect("decodes")
        .message
    else {
        panic!("not a setup")
    };
    let generation = setup.generation_config.as_ref().expect("generation config");
    assert_eq!(generation.top_k, Some(40));
    assert_eq!(
        generation.response_modalities.as_deref(),
        Some(&[Modality::Audio][..])
    );
    let voice = generation
        .speech_config
        .as_ref()
        .and_then(|s| s.voice_config.as_ref())
        .and_then(|v| v.prebuilt_voice_config.as_ref());
    assert_eq!(voice.and_then(|v| v.voice_name.as_deref()), Some("Kore"));
    assert_eq!(
        generation
            .thinking_config
            .as_ref()
            .and_then(|t| t.thinking_level.clone()),
        Some(wire::ThinkingLevel::Low)
    );
    let aad = setup
        .realtime_input_config
        .as_ref()
        .and_then(|r| r.automatic_activity_detection.as_ref())
        .expect("vad config");
    assert_eq!(
        (aad.prefix_padding_ms, aad.silence_duration_ms),
        (Some(20), Some(500))
    );

    let ClientMessage::Setup(setup) = decode_client(SDK_FRAMES[1].as_bytes())
        .expect("decodes")
        .message
    else {
        panic!("not a setup")
    };
    let cwc = setup.context_window_compression.expect("compression");
    assert_eq!(cwc.trigger_tokens, Some(25600));
    assert_eq!(
        cwc.sliding_window.and_then(|s| s.target_tokens),
        Some(12800)
    );

    let ClientMessage::RealtimeInput(input) = decode_client(SDK_FRAMES[6].as_bytes())
        .expect("decodes")
        .message
    else {
        panic!("not realtime input")
    };
    assert_eq!(
        input.audio.expect("audio").data.as_bytes(),
        [0xfb, 0xff, 0xfe, 0x00]
    );
}

#[test]
fn encoding_is_canonical_camel_case_with_unset_fields_omitted() {
    let mut setup = Setup::new("models/gemini-3.8-live");
    setup.context_window_compression = Some(wire::ContextWindowCompressionConfig {
        trigger_tokens: Some(25600),
        sliding_window: Some(wire::SlidingWindow {
            target_tokens: Some(12800),
        }),
    });
    setup.generation_config = Some(wire::GenerationConfig {
        speech_config: Some(wire::SpeechConfig::voice("Puck")),
        ..Default::default()
    });
    let json: Value =
        serde_json::from_str(&ClientMessage::Setup(Box::new(setup)).to_json()).expect("parses");
    assert_eq!(
        json,
        json!({"setup": {"model": "models/gemini-3.8-live",
            "generationConfig": {"speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}}},
            "contextWindowCompression": {"triggerTokens": "25600", "slidingWindow": {"targetTokens": "12800"}}}})
    );
    let audio = ClientMessage::RealtimeInput(wire::RealtimeInput {
        audio: Some(wire::Blob::new(
            "audio/pcm;rate=16000",
            vec![0xfb, 0xff, 0xfe, 0x00],
        )),
        ..Default::default()
    });
    assert_eq!(
        audio.to_json(),
        r#"{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"+//+AA=="}}}"#
    );
}

#[test]
fn server_messages_encode_like_google() {
    let msg = ServerMessage {
        session_resumption_update: Some(wire::SessionResumptionUpdate {
            new_handle: Some("h".into()),
            resumable: Some(true),
            last_consumed_client_message_index: Some(123_456_789),
        }),
        go_away: Some(wire::GoAway {
            time_left: Some(std::time::Duration::from_millis(50_200).into()),
        }),
        ..Default::default()
    };
    assert_eq!(
        msg.to_json_pretty(),
        "{\n  \"goAway\": {\n    \"timeLeft\": \"50.200s\"\n  },\n  \"sessionResumptionUpdate\": {\n    \"newHandle\": \"h\",\n    \"resumable\": true,\n    \"lastConsumedClientMessageIndex\": \"123456789\"\n  }\n}\n"
    );
    let back = decode_server(msg.to_json_pretty().as_bytes()).expect("round trip");
    assert_eq!(back.message, msg);
    assert!(back.unknown.is_empty());
}

#[test]
fn unknown_enum_values_are_kept() {
    let d = decode_server(
        br#"{"serverContent": {"turnComplete": true, "turnCompleteReason": "SOMETHING_NEW"}}"#,
    )
    .expect("decodes");
    let reason = d
        .message
        .server_content
        .and_then(|c| c.turn_complete_reason)
        .expect("reason");
    assert!(!reason.is_known());
    assert_eq!(reason.as_str(), "SOMETHING_NEW");
}
