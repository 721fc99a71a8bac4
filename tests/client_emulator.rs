//! gemlive's client against the emulator, over real loopback WebSockets: text, audio, tools,
//! barge-in, goAway with automatic resumption, resumption in a new connection, and rejects
//! that reach the caller with Google's code, reason and a hint.

use std::time::Duration;

use emulator::{Emulator, EmulatorConfig};
use protocol::wire::{
    FunctionDeclaration, FunctionResponse, GenerationConfig, Modality, Schema, SchemaType, Setup,
    Tool,
};
use protocol::{CloseKind, Event};
use transport::{Auth, ClientConfig, Endpoint, LiveEvents, LiveSender};

const MODEL: &str = "gemini-2.5-flash-native-audio-preview-12-2025";

async fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("start the emulator")
}

fn fast() -> EmulatorConfig {
    EmulatorConfig {
        speed: f64::INFINITY,
        ..EmulatorConfig::default()
    }
}

fn setup() -> Setup {
    let mut setup = Setup::new(MODEL);
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    setup.output_audio_transcription = Some(Default::default());
    setup.input_audio_transcription = Some(Default::default());
    setup.session_resumption = Some(Default::default());
    setup
}

fn config(emulator: &Emulator, setup: Setup) -> ClientConfig {
    let endpoint = Endpoint::custom(&emulator.base_url()).expect("endpoint");
    ClientConfig::new(endpoint, Auth::api_key("test-key"), setup)
}

async fn connect(emulator: &Emulator, setup: Setup) -> (LiveSender, LiveEvents) {
    transport::connect(config(emulator, setup))
        .await
        .expect("connect")
}

/// Events of one turn, with the transcript and the audio byte count.
struct Turn {
    events: Vec<Event>,
    transcript: String,
    audio_bytes: usize,
}

async fn turn(events: &mut LiveEvents) -> Turn {
    let events = tokio::time::timeout(Duration::from_secs(20), events.next_turn().collect())
        .await
        .expect("turn in time")
        .expect("turn");
    let mut transcript = String::new();
    let mut audio_bytes = 0;
    for e in &events {
        match e {
            Event::OutputTranscript { text, .. }
            | Event::Text {
                text,
                thought: false,
            } => transcript.push_str(text),
            Event::Audio {
                data, sample_rate, ..
            } => {
                assert_eq!(*sample_rate, 24_000);
                audio_bytes += data.len();
            }
            _ => {}
        }
    }
    Turn {
        events,
        transcript,
        audio_bytes,
    }
}

#[tokio::test]
async fn text_and_audio_turns_with_memory() {
    let emulator = emulator(fast()).await;
    let (sender, mut events) = connect(&emulator, setup()).await;
    sender.send_user_turn("What is 2 + 3?").await.expect("send");
    let first = turn(&mut events).await;
    assert!(
        first.audio_bytes > 24_000,
        "about a second of speech at least: {}",
        first.audio_bytes
    );
    assert!(first.transcript.contains('5'), "{}", first.transcript);
    assert!(
        first
            .events
            .iter()
            .any(|e| matches!(e, Event::GenerationComplete))
    );
    assert!(first.events.iter().any(|e| matches!(e, Event::Usage(_))));

    sender
        .send_user_turn("What was my last question?")
        .await
        .expect("send");
    let second = turn(&mut events).await;
    assert!(
        second.transcript.contains("What is 2 + 3?"),
        "{}",
        second.transcript
    );

    let mut text_setup = Setup::new("gemini-live-2.5-flash-preview");
    text_setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Text]),
        ..GenerationConfig::default()
    });
    let (sender, mut events) = connect(&emulator, text_setup).await;
    sender.send_user_turn("Hello").await.expect("send");
    let t = turn(&mut events).await;
    assert_eq!(t.audio_bytes, 0);
    assert!(
        t.events
            .iter()
            .filter(|e| matches!(e, Event::Text { .. }))
            .count()
            > 1,
        "text streams in deltas"
    );
    sender.close().await.expect("close");
    emulator.shutdown().await;
}

#[tokio::test]
async fn tool_round_trip() {
    let emulator = emulator(fast()).await;
    let mut setup = setup();
    let mut properties = std::collections::BTreeMap::new();
    properties.insert(
        "city".to_owned(),
        Schema {
            r#type: Some(SchemaType::String),
            ..Schema::default()
        },
    );
    setup.tools = Some(vec![Tool {
        function_declarations: Some(vec![FunctionDeclaration {
            name: "get_weather".into(),
            description: Some("The weather in a city".into()),
            parameters: Some(Schema {
                r#type: Some(SchemaType::Object),
                properties: Some(properties),
                required: Some(vec!["city".into()]),
                ..Schema::default()
            }),
            ..FunctionDeclaration::default()
        }]),
        ..Tool::default()
    }]);
    let (sender, mut events) = connect(&emulator, setup).await;
    sender
        .send_user_turn("Please use get_weather for Paris")
        .await
        .expect("send");
    let call = loop {
        match events.next().await.expect("events") {
            Event::ToolCall { calls } => break calls.into_iter().next().expect("a call"),
            Event::Closed(c) => panic!("closed: {c}"),
            _ => {}
        }
    };
    assert_eq!(call.name, "get_weather");
    let response = FunctionResponse {
        id: call.id.clone(),
        name: Some(call.name.clone()),
        response: Some(serde_json::json!({"forecast": "sunny and 21 degrees"})),
        ..FunctionResponse::default()
    };
    sender
        .send_tool_response(vec![response])
        .await
        .expect("respond");
    let t = turn(&mut events).await;
    assert!(
        t.transcript.contains("sunny"),
        "the result is spoken: {}",
        t.transcript
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn barge_in_interrupts_the_reply() {
    // Paced at 4x real time: the reply is still streaming when the user speaks up.
    let emulator = emulator(EmulatorConfig {
        speed: 4.0,
        ..EmulatorConfig::default()
    })
    .await;
    let (sender, mut events) = connect(&emulator, setup()).await;
    sender
        .send_user_turn("Please tell me a very long story about dragons, knights and castles")
        .await
        .expect("send");
    loop {
        match events.next().await.expect("events") {
            Event::Audio { .. } => break,
            Event::TurnComplete { .. } => panic!("the reply ended before the barge-in"),
            _ => {}
        }
    }
    sender
        .send_user_turn("Stop, what is 1 + 1?")
        .await
        .expect("barge in");
    let cut = turn(&mut events).await;
    let kinds: Vec<&Event> = cut
        .events
        .iter()
        .filter(|e| matches!(e, Event::Interrupted | Event::GenerationComplete))
        .collect();
    assert!(
        matches!(kinds.as_slice(), [Event::Interrupted]),
        "interrupted, and no generationComplete: {kinds:?}"
    );
    let next = turn(&mut events).await;
    assert!(
        next.transcript.contains('2'),
        "the new question is answered: {}",
        next.transcript
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn go_away_moves_the_session_to_a_new_connection() {
    let emulator = emulator(EmulatorConfig {
        connection_lifetime: Duration::from_millis(1500),
        go_away_notice: Duration::from_millis(1000),
        ..fast()
    })
    .await;
    let mut config = config(&emulator, setup());
    config.auto_resume = true;
    let (sender, mut events) = transport::connect(config).await.expect("connect");
    sender.send_user_turn("My name is Ada").await.expect("send");
    turn(&mut events).await;
    let (mut go_away, mut resumed) = (false, false);
    while !resumed {
        match tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("in time")
            .expect("events")
        {
            Event::GoAway { time_left, .. } => {
                assert!(time_left <= Duration::from_secs(1), "{time_left:?}");
                go_away = true;
            }
            Event::SetupComplete { resumed: true, .. } => resumed = true,
            Event::Closed(c) => panic!("the session ended instead of moving: {c}"),
            _ => {}
        }
    }
    assert!(go_away, "goAway came first");
    sender
        .send_user_turn("What is my name?")
        .await
        .expect("send on the new connection");
    let t = turn(&mut events).await;
    assert!(
        t.transcript.contains("Ada"),
        "history survived the move: {}",
        t.transcript
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_closed_session_resumes_on_a_new_connection() {
    let emulator = emulator(fast()).await;
    let (sender, mut events) = connect(&emulator, setup()).await;
    sender
        .send_user_turn("What is the capital of France?")
        .await
        .expect("send");
    turn(&mut events).await;
    let handle = sender.resumption_handle().expect("a resumable handle");
    sender.close().await.expect("close");
    while events.next().await.is_some() {}

    let (sender, mut events) =
        transport::connect(config(&emulator, setup()).resume(handle.clone()))
            .await
            .expect("resume");
    sender
        .send_user_turn("What was my last question?")
        .await
        .expect("send");
    let t = turn(&mut events).await;
    assert!(
        t.transcript.contains("capital of France"),
        "{}",
        t.transcript
    );

    // The old handle belongs to a session that is attached again: Google answers 1011.
    let err = transport::connect(config(&emulator, setup()).resume(handle))
        .await
        .expect_err("busy session");
    let close = err.close().expect("a classified close");
    assert_eq!(
        (close.code, close.kind),
        (1011, CloseKind::Internal),
        "{close}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn rejects_reach_the_caller_with_code_reason_and_hint() {
    let emulator = emulator(EmulatorConfig {
        api_key: Some("right-key".into()),
        ..fast()
    })
    .await;
    let err = transport::connect(config(&emulator, setup()))
        .await
        .expect_err("wrong key");
    let close = err.close().expect("a classified close");
    assert_eq!(
        (close.code, close.kind),
        (1007, CloseKind::InvalidApiKey),
        "{close}"
    );
    assert_eq!(
        close.reason,
        "API key not valid. Please pass a valid API key."
    );
    assert!(close.hint.contains("GEMINI_API_KEY"), "{}", close.hint);

    let mut unknown = setup();
    unknown.model = "gemini-9-imaginary".into();
    let mut config = config(&emulator, unknown);
    config.auth = Auth::api_key("right-key");
    let err = transport::connect(config).await.expect_err("unknown model");
    let close = err.close().expect("a classified close");
    assert_eq!(
        (close.code, close.kind),
        (1008, CloseKind::ModelNotFound),
        "{close}"
    );
    assert!(
        close
            .reason
            .starts_with("models/gemini-9-imaginary is not found for API version v1beta"),
        "{}",
        close.reason
    );
    assert!(!close.retriable);
    emulator.shutdown().await;
}
