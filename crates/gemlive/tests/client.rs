//! The facade against the emulator over loopback: backends, configs, tokens, errors.

use std::time::{Duration, SystemTime};

use gemlive::emulator::{Emulator, EmulatorConfig};
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
    let client = Client::vertex(
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
