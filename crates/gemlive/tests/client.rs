//! The facade against the emulator over loopback: backends, configs, tokens, errors.

use std::time::{Duration, SystemTime};

use gemlive::audio::{self, AudioSink, SampleRate, SinkStatus};
use gemlive::emulator::{Emulator, EmulatorConfig, Script};
use gemlive::prelude::*;
use gemlive::{CloseKind, Error, TokenConfig, transport};
use serde_json::json;

const MODEL: &str = "gemini-3.8-live";

fn unpaced() -> EmulatorConfig {
    EmulatorConfig {
        speed: f64::INFINITY,
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn a_python_style_json_config_connects_and_answers() {
    let client = Client::emulator_with(unpaced()).await.unwrap();
    let mut session = client
        .live()
        .connect(
            MODEL,
            json!({"response_modalities": ["AUDIO"], "output_audio_transcription": {}}),
        )
        .await
        .unwrap();
    assert!(!session.resumed());
    session
        .send_client_content("What is 6 times 7?")
        .await
        .unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "6 * 7 is 42.");
    session.close().await.unwrap();
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_bad_config_fails_before_any_traffic_with_a_hint() {
    let client = Client::emulator_with(unpaced()).await.unwrap();
    let err = client
        .live()
        .connect(
            MODEL,
            json!({"response_modalities": ["AUDIO"], "voice": "Puck"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("unknown key \"voice\""), "{err}");

    let err = client
        .live()
        .connect(MODEL, LiveConfig::new().modality(Modality::Text))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("output transcription"), "{err}");
}

#[tokio::test]
async fn a_server_refusal_prints_code_reason_and_hint() {
    // A standalone emulator wants a key, like Google.
    let emulator = Emulator::start(unpaced()).await.unwrap();
    let client = Client::endpoint(&emulator.base_url()).unwrap();
    let err = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap_err();
    let close = err.close().expect("a close");
    assert_eq!((close.code, close.kind), (1008, CloseKind::Unauthenticated));
    let shown = err.to_string();
    assert!(
        shown.contains("1008") && shown.contains("hint: "),
        "{shown}"
    );
    assert!(
        !shown.contains("--"),
        "no CLI flag in a library hint: {shown}"
    );

    let keyed = client.with_api_key("any");
    let mut session = keyed
        .live()
        .connect(MODEL, LiveConfig::text())
        .await
        .unwrap();
    session.send_realtime_input("Hello").await.unwrap();
    assert!(
        session
            .receive()
            .text()
            .await
            .unwrap()
            .starts_with("Hello!")
    );
}

#[tokio::test]
async fn ephemeral_tokens_are_minted_used_and_used_up() {
    let emulator = Emulator::start(unpaced()).await.unwrap();
    let server = Client::endpoint(&emulator.http_url())
        .unwrap()
        .with_api_key("the-server-key");
    let token = server
        .tokens()
        .create(
            TokenConfig::new()
                .uses(1)
                .expire_in(Duration::from_secs(600))
                .new_session_expire_in(Duration::from_secs(60))
                .live_constraints(MODEL, LiveConfig::audio().transcription()),
        )
        .await
        .unwrap();
    assert!(token.name.expose().starts_with("auth_tokens/"));
    assert!(!format!("{token:?}").contains(token.name.expose()));
    assert_eq!(token.uses, Some(1));
    let expires = token.expire_time.unwrap();
    assert!(expires > SystemTime::now() + Duration::from_secs(590));

    // The token's locked setup applies: a bare config still gets transcripts.
    let device = Client::endpoint(&emulator.http_url())
        .unwrap()
        .with_api_version(gemlive::ApiVersion::V1Alpha)
        .with_auth(gemlive::Auth::ephemeral_token(token.name.clone()));
    let mut session = device
        .live()
        .connect(MODEL, LiveConfig::new())
        .await
        .unwrap();
    session.send_realtime_input("What is 1 + 2?").await.unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "1 + 2 is 3.");
    session.close().await.unwrap();

    let err = device
        .live()
        .connect(MODEL, LiveConfig::new())
        .await
        .unwrap_err();
    assert_eq!(err.close().map(|c| c.kind), Some(CloseKind::InvalidToken));

    let err = server
        .tokens()
        .create(TokenConfig::new().expire_in(Duration::from_secs(30 * 3600)))
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("HTTP 400") && shown.contains("20 hours"),
        "{shown}"
    );
}

/// A provider that counts how often it was asked, for Vertex AI.
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicUsize);

impl gemlive::TokenProvider for Counting {
    fn access_token(&self) -> gemlive::TokenFuture<'_> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move { Ok(gemlive::Secret::new(format!("ya29.token-{n}"))) })
    }
}

#[tokio::test]
async fn vertex_asks_its_token_provider_for_every_connection() {
    let emulator = Emulator::start(EmulatorConfig {
        api_key: Some("ya29.token-1".into()),
        ..unpaced()
    })
    .await
    .unwrap();
    let provider = std::sync::Arc::new(Counting::default());
    let base = emulator.base_url();
    let client = Client::vertex_with(
        "my-project",
        "us-central1",
        SharedProvider(provider.clone()),
    )
    .with_transport(move |c| {
        let url =
            format!("{base}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent");
        c.endpoint = transport::Endpoint::Verbatim {
            url: url.parse().unwrap(),
            backend: protocol::Backend::Vertex,
        };
    });
    // The first token is refused; the second, fetched for the next connection, is accepted.
    let err = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap_err();
    assert_eq!(err.close().map(|c| c.kind), Some(CloseKind::InvalidApiKey));
    let session = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap();
    assert_eq!(provider.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    drop(session);
}

#[derive(Debug)]
struct SharedProvider(std::sync::Arc<Counting>);

impl gemlive::TokenProvider for SharedProvider {
    fn access_token(&self) -> gemlive::TokenFuture<'_> {
        self.0.access_token()
    }
}

/// A microphone loop that does not wait for each chunk to be written: every chunk is queued in
/// order (a full queue falls back to waiting), and the model hears the whole question.
#[tokio::test]
async fn audio_queued_without_waiting_is_heard_whole() {
    use audio::{AudioSource, ChunkDuration, WavSource, pcm};

    let client = Client::emulator_with(unpaced()).await.unwrap();
    let config = LiveConfig::audio().transcription().input_transcription();
    let mut session = client.live().connect(MODEL, config).await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/question.wav");
    let mut mic = WavSource::open(path, ChunkDuration::from_millis(40).unwrap()).unwrap();
    let (mut queued, mut waited) = (0, 0);
    while let Some(chunk) = mic.next_chunk().unwrap() {
        let (bytes, rate) = (pcm::i16_to_le_bytes(&chunk.samples), chunk.rate.hz());
        match session.try_send_audio(bytes.clone(), rate) {
            Ok(()) => queued += 1,
            Err(Error::Live(transport::Error::QueueFull(_))) => {
                session
                    .send_realtime_input(RealtimeInput::audio(bytes, rate))
                    .await
                    .unwrap();
                waited += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(queued > 0, "{queued} queued, {waited} waited");
    session
        .send_realtime_input(RealtimeInput::AudioStreamEnd)
        .await
        .unwrap();
    let events = session.receive().collect().await.unwrap();
    let heard: String = events
        .iter()
        .filter_map(|e| match e {
            Event::InputTranscript { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let answer: String = events.iter().filter_map(Event::text).collect();
    assert!(heard.starts_with("[speech: 1."), "{heard}");
    assert!(answer.starts_with("I heard 1."), "{answer}");
    session.close().await.unwrap();
}

/// `play_into` writes each chunk of speech from the session's own task, before the application
/// sees its event; `receive()` still yields every event, the audio included.
#[tokio::test]
async fn play_into_writes_the_speech_before_receive_yields_it() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::emulator_with(unpaced()).await.unwrap();
    let mut session = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap();
    let wav = Wav::create(dir.path().join("answer.wav")).unwrap();
    assert!(session.play_into(wav.clone()).is_none());
    session.send_realtime_input("Hello?").await.unwrap();
    let mut seen = 0u64;
    let mut turn = session.receive();
    while let Some(event) = turn.next().await.unwrap() {
        if let Some(pcm) = event.audio() {
            seen += pcm.len() as u64;
            assert!(
                wav.duration() >= pcm_duration(seen),
                "the chunk is in the file when its event arrives"
            );
        }
    }
    assert!(seen > 0);
    assert!(session.stop_playing().is_some());
    assert_eq!(wav.finish().unwrap(), pcm_duration(seen));
    session.close().await.unwrap();
}

/// 24 kHz mono PCM16.
fn pcm_duration(bytes: u64) -> Duration {
    Duration::from_nanos(bytes / 2 * 1_000_000_000 / 24_000)
}

/// What a sink was asked to do, in order.
#[derive(Clone, Default)]
struct Recorded(std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>);

impl Recorded {
    fn log(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

impl AudioSink for Recorded {
    fn rate(&self) -> SampleRate {
        SampleRate::LIVE_OUTPUT
    }

    fn write(&mut self, _rate: SampleRate, _pcm: &[i16]) -> Result<(), audio::Error> {
        self.0.lock().unwrap().push("audio");
        Ok(())
    }

    fn flush(&mut self) -> Duration {
        self.0.lock().unwrap().push("flush");
        Duration::ZERO
    }

    fn status(&self) -> SinkStatus {
        SinkStatus::default()
    }

    fn finish(&mut self) -> Result<(), audio::Error> {
        Ok(())
    }
}

/// A player given to `play_into` is flushed once when the model is interrupted, between the
/// speech that was cut and the new answer, before the application sees the `Interrupted` event.
#[tokio::test]
async fn play_into_flushes_the_player_when_the_model_is_interrupted() {
    let client = Client::emulator_with(EmulatorConfig {
        speed: 4.0,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let mut session = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap();
    let player = Recorded::default();
    session.play_into(player.clone());
    let sender = session.sender();
    session
        .send_realtime_input("Tell me a long story about a lighthouse keeper.")
        .await
        .unwrap();
    let (mut spoke, mut interrupted) = (false, false);
    let mut turn = session.receive();
    while let Some(event) = turn.next().await.unwrap() {
        match event {
            Event::Audio { .. } if !std::mem::replace(&mut spoke, true) => {
                sender
                    .send_realtime_input("Stop! What is 2 + 2?")
                    .await
                    .unwrap();
            }
            Event::Interrupted => {
                // The session's task flushed the player before this event was delivered (and
                // may already be playing the new answer).
                assert!(player.log().contains(&"flush"), "{:?}", player.log());
                interrupted = true;
            }
            _ => {}
        }
    }
    let log = player.log();
    let flush = log.iter().position(|&e| e == "flush").unwrap();
    assert!(flush > 0, "{log:?}");
    assert_eq!(log.iter().filter(|&&e| e == "flush").count(), 1, "{log:?}");
    assert!(interrupted, "{:?}", player.log());
    session.close().await.unwrap();
}

fn scripted(script: &str) -> EmulatorConfig {
    EmulatorConfig {
        script: Some(Script::from_json(script, std::path::Path::new(".")).unwrap()),
        ..unpaced()
    }
}

/// Sessions survive their connections by default: a question whose connection drops is sent
/// again, and `receive()` carries the cut, the reconnection and the answer in the same turn.
#[tokio::test]
async fn a_turn_survives_a_dropped_connection() {
    let client = Client::emulator_with(scripted(
        r#"{"rules": [{"when": {"contains": "2+2"}, "once": true, "fault": "drop"}]}"#,
    ))
    .await
    .unwrap();
    let mut session = client
        .live()
        .connect(MODEL, LiveConfig::text())
        .await
        .unwrap();
    session.send_realtime_input("What is 1+1?").await.unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "1 + 1 is 2.");
    session.send_realtime_input("What is 2+2?").await.unwrap();
    let events = session.receive().collect().await.unwrap();
    let moved: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::TurnCut { .. } | Event::Reconnecting { .. } | Event::SetupComplete { .. }
            )
        })
        .collect();
    assert!(
        matches!(
            moved[..],
            [
                Event::TurnCut { cause, turns },
                Event::Reconnecting { attempt: 1, .. },
                Event::SetupComplete { resumed: true, .. },
            ] if turns[0].resent && turns[0].text == "What is 2+2?" && cause.code == 1006
        ),
        "{events:?}"
    );
    let said: String = events.iter().filter_map(Event::text).collect();
    assert_eq!(said, "2 + 2 is 4.");
    assert!(matches!(events.last(), Some(Event::TurnComplete { .. })));
    session.send_realtime_input("What is 3+3?").await.unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "3 + 3 is 6.");
    session.close().await.unwrap();
}

/// A `goAway` whose notice is shorter than the rest of the answer: the answer is cut with
/// words already spoken, the question is sent again on the next connection, and `text()` is the
/// answer that completed, without the words of the one that was cut.
#[tokio::test]
async fn text_keeps_only_the_answer_that_completed() {
    let client = Client::emulator_with(EmulatorConfig {
        speed: 4.0,
        connection_lifetime: Duration::from_millis(2500),
        go_away_notice: Duration::from_millis(1500),
        ..scripted(
            r#"{"rules": [{"when": {"contains": "hello"}, "once": true, "reply": {"text": "Once upon a time", "audio_ms": 8000}}]}"#,
        )
    })
    .await
    .unwrap();
    let mut session = client
        .live()
        .connect(MODEL, LiveConfig::text())
        .await
        .unwrap();
    session.send_realtime_input("hello").await.unwrap();
    let said = session.receive().text().await.unwrap();
    assert!(
        said.starts_with("Hello! I am the gemlive emulator."),
        "{said}"
    );
    session.close().await.unwrap();
}

/// A cut question that is not sent again ends `receive()` with an error that says to ask
/// again; the session goes on.
#[tokio::test]
async fn a_cut_turn_ends_receive_and_the_session_goes_on() {
    let client = Client::emulator_with(scripted(
        r#"{"rules": [{"when": {"contains": "2+2"}, "once": true, "fault": "drop"}]}"#,
    ))
    .await
    .unwrap();
    let config = LiveConfig::text().transport(|c| c.resume_policy.resend_limit = 0);
    let mut session = client.live().connect(MODEL, config).await.unwrap();
    session.send_realtime_input("What is 1+1?").await.unwrap();
    session.receive().text().await.unwrap();
    session.send_realtime_input("What is 2+2?").await.unwrap();
    let err = session.receive().text().await.unwrap_err();
    assert_eq!(
        err.close().map(|c| c.kind),
        Some(CloseKind::Abnormal),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("ask again: turn 2 (\"What is 2+2?\")"),
        "{shown}"
    );
    session.send_realtime_input("What is 3+3?").await.unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "3 + 3 is 6.");
    session.close().await.unwrap();
}
