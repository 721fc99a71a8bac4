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

/// Issue 13's reconnect storm, at the library level: connections that last 1.5 s and get their
/// goAway as soon as they open (the default 50 s notice is clamped to the lifetime). The client
/// used to move at once, every time: 456 connections in 2 s (36,635 in 15 s in a release build).
/// Now each connection is used until shortly before its end, and the session still works.
#[tokio::test]
async fn short_lived_connections_with_an_immediate_go_away_cause_no_reconnect_storm() {
    let emulator = emulator(EmulatorConfig {
        connection_lifetime: Duration::from_millis(1500),
        ..fast()
    })
    .await;
    let (sender, mut events) = transport::connect(config(&emulator, setup()))
        .await
        .expect("connect");
    let mut connections = 1;
    let watch = tokio::time::sleep(Duration::from_secs(4));
    tokio::pin!(watch);
    loop {
        tokio::select! {
            event = events.next() => match event.expect("events") {
                Event::SetupComplete { resumed: true, .. } => connections += 1,
                Event::Closed(c) => panic!("the session ended: {c}"),
                _ => {}
            },
            () = &mut watch => break,
        }
    }
    // At most one move per 0.75 s (the connection's end minus half its notice).
    assert!(
        (4..=7).contains(&connections),
        "{connections} connections in 4 s"
    );
    sender.send_text("what is 2+2").await.expect("send");
    let t = turn(&mut events).await;
    assert!(t.transcript.contains('4'), "{}", t.transcript);
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

/// What became of one turn of a fault scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Its `TurnComplete` came, with an answer.
    Completed,
    /// `Err(Error::TurnCut)`: the application has to ask again; the session goes on.
    AskedAgain,
    /// `Err(Error::Closed)`: the session ended during the turn.
    SessionEnded,
    /// The send itself failed: the session had ended.
    NotSent,
}

impl Outcome {
    fn parse(s: &str) -> Self {
        match s {
            "completed" => Self::Completed,
            "asked_again" => Self::AskedAgain,
            "session_ended" => Self::SessionEnded,
            "not_sent" => Self::NotSent,
            other => panic!("unknown outcome {other:?}"),
        }
    }
}

/// What a fault scenario did, turn by turn.
#[derive(Debug)]
struct FaultReport {
    name: String,
    outcomes: Vec<Outcome>,
    /// Turn number -> the kinds of the cuts it went through, in order.
    cuts: std::collections::BTreeMap<u64, Vec<String>>,
    malformed: usize,
    reconnections: usize,
    elapsed: Duration,
}

impl FaultReport {
    fn cut(&mut self, cause: &protocol::Close, turns: &[protocol::PendingTurn]) {
        for t in turns {
            let kinds = self.cuts.entry(t.number).or_default();
            kinds.push(format!("{:?}", cause.kind));
        }
    }
}

const FAULT_TURNS: [&str; 3] = ["hello", "what is 2+2", "tell me a joke"];

/// Runs one `tests/faults/*.json` scenario: an emulator with the scenario's options and script,
/// a client with automatic resumption (unless the scenario turns it off), and the three turns
/// sent one after the other, each read with `next_turn()` to its end.
async fn run_fault_scenario(path: &std::path::Path) -> (FaultReport, serde_json::Value) {
    let scenario: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let ms = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_u64);
    let emu = scenario.get("emulator").cloned().unwrap_or_default();
    let mut emu_config = fast();
    if let Some(speed) = emu.get("speed").and_then(serde_json::Value::as_f64) {
        emu_config.speed = speed;
    }
    if let Some(v) = ms(&emu, "connection_lifetime_ms") {
        emu_config.connection_lifetime = Duration::from_millis(v);
    }
    if let Some(v) = ms(&emu, "go_away_notice_ms") {
        emu_config.go_away_notice = Duration::from_millis(v);
    }
    emu_config.script = Some(
        emulator::Script::from_json(&scenario["script"].to_string(), path.parent().unwrap())
            .expect("script"),
    );
    let emulator = emulator(emu_config).await;

    let client = scenario.get("client").cloned().unwrap_or_default();
    let mut config = config(&emulator, setup());
    if let Some(auto) = client
        .get("auto_resume")
        .and_then(serde_json::Value::as_bool)
    {
        config.auto_resume = auto;
    }
    if let Some(v) = ms(&client, "stall_timeout_ms") {
        config.stall_timeout = Some(Duration::from_millis(v));
    }
    // Backoff as by default, ten times shorter, so that the suite stays quick.
    config.resume_policy.initial_backoff = Duration::from_millis(100);
    config.resume_policy.max_backoff = Duration::from_secs(3);

    let started = std::time::Instant::now();
    let (sender, mut events) = transport::connect(config).await.expect("connect");
    let mut report = FaultReport {
        name,
        outcomes: Vec::new(),
        cuts: Default::default(),
        malformed: 0,
        reconnections: 0,
        elapsed: Duration::ZERO,
    };
    for text in FAULT_TURNS {
        if sender.send_text(text).await.is_err() {
            report.outcomes.push(Outcome::NotSent);
            continue;
        }
        let mut turn = events.next_turn();
        let mut transcript = String::new();
        let outcome = loop {
            let next = tokio::time::timeout(Duration::from_secs(20), turn.next())
                .await
                .unwrap_or_else(|_| panic!("{}: turn {text:?} hangs", report.name));
            match next {
                Ok(Some(Event::OutputTranscript { text, .. })) => transcript.push_str(&text),
                Ok(Some(Event::TurnCut { cause, turns })) => {
                    transcript.clear();
                    report.cut(&cause, &turns);
                }
                Ok(Some(Event::Reconnecting { attempt: 1, .. })) => report.reconnections += 1,
                Ok(Some(Event::Malformed(_))) => report.malformed += 1,
                Ok(Some(_)) => {}
                Ok(None) => {
                    assert!(
                        !transcript.is_empty(),
                        "{}: {text:?} unanswered",
                        report.name
                    );
                    break Outcome::Completed;
                }
                Err(transport::Error::TurnCut { cause, turns }) => {
                    report.cut(&cause, &turns);
                    break Outcome::AskedAgain;
                }
                Err(transport::Error::Closed(_)) => break Outcome::SessionEnded,
                Err(e) => panic!("{}: {e}", report.name),
            }
        };
        report.outcomes.push(outcome);
    }
    report.elapsed = started.elapsed();
    let _ = sender.close().await;
    emulator.shutdown().await;
    (report, scenario["expect"].clone())
}

/// Every fault of the emulator against the client with its defaults (automatic resumption,
/// stall detection), three turns each: exactly which turns complete, which were cut and sent
/// again, and which the application is told to ask again. Adding a scenario means adding a
/// file to `tests/faults/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faults");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/faults")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "{paths:?}");
    let runs = paths.iter().map(|p| run_fault_scenario(p));
    let results = futures_util::future::join_all(runs).await;
    let mut failures = Vec::new();
    for (report, expect) in &results {
        eprintln!(
            "{:<28} {:<45} cuts {:<60} malformed {} reconnections {} in {:.1} s",
            report.name,
            format!("{:?}", report.outcomes),
            format!("{:?}", report.cuts),
            report.malformed,
            report.reconnections,
            report.elapsed.as_secs_f64()
        );
        let outcomes: Vec<Outcome> = expect["outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .map(|o| Outcome::parse(o.as_str().expect("outcome")))
            .collect();
        let mut problems = Vec::new();
        if report.outcomes != outcomes {
            problems.push(format!("outcomes {:?}", report.outcomes));
        }
        let expected_cuts = expect["cuts"].as_object().expect("cuts");
        for (turn, kinds) in expected_cuts {
            let got = report.cuts.get(&turn.parse::<u64>().expect("turn number"));
            let want: Vec<&str> = kinds
                .as_array()
                .expect("kinds")
                .iter()
                .map(|k| k.as_str().expect("kind"))
                .collect();
            let first = got.map(|g| {
                g.iter()
                    .map(String::as_str)
                    .take(want.len())
                    .collect::<Vec<_>>()
            });
            let exact = expect["other_cuts"] != "allowed";
            let matches = match got {
                Some(g) if exact => g.iter().map(String::as_str).eq(want.iter().copied()),
                Some(_) => first.as_deref() == Some(want.as_slice()),
                None => want.is_empty(),
            };
            if !matches {
                problems.push(format!("cuts of turn {turn}: {got:?}, expected {want:?}"));
            }
        }
        if expect["other_cuts"] != "allowed" {
            for turn in report.cuts.keys() {
                if !expected_cuts.contains_key(&turn.to_string()) {
                    problems.push(format!("turn {turn} was cut: {:?}", report.cuts[turn]));
                }
            }
        }
        if let Some(n) = expect["malformed"].as_u64()
            && report.malformed < n as usize
        {
            problems.push(format!("{} malformed frames reported", report.malformed));
        }
        if let Some(n) = expect["min_reconnections"].as_u64()
            && report.reconnections < n as usize
        {
            problems.push(format!("{} reconnections", report.reconnections));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", report.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
