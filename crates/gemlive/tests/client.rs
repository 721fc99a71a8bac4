//! The facade against the emulator over loopback: backends, configs, tokens, errors.

use std::time::{Duration, SystemTime};

use gemlive::emulator::{Emulator, EmulatorConfig, Script};
use gemlive::prelude::*;
use gemlive::{CloseKind, Error, TokenConfig};
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
