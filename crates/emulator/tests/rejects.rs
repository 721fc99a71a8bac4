//! Every reject of the issue, checked by close code and reason against the real server on loopback.

mod common;

use common::*;
use gemlive_emulator::{EmulatorConfig, fit_close_reason};
use protocol::close::reasons;
use serde_json::json;

async fn rejected(
    cfg: EmulatorConfig,
    path: &str,
    headers: &[(&str, &str)],
    frames: &[serde_json::Value],
) -> (u16, String) {
    let emu = start(cfg).await;
    let mut c = Client::connect(&emu, path, headers).await;
    for f in frames {
        c.send(f.clone()).await;
    }
    c.closed().await
}

/// Google's reason as it fits a close frame.
fn fit(reason: &str) -> String {
    fit_close_reason(reason).to_owned()
}

fn setup(model: &str) -> serde_json::Value {
    json!({"setup": {"model": model}})
}

#[tokio::test]
async fn first_message_must_be_setup() {
    let got = rejected(
        fast(),
        &format!("{V1BETA}?key=k"),
        &[],
        &[json!({"realtimeInput": {"text": "hi"}})],
    )
    .await;
    assert_eq!(got, (1007, reasons::INVALID_ARGUMENT.to_owned()));
}

#[tokio::test]
async fn unknown_fields_use_google_wording_and_snake_paths() {
    let frame = json!({"setup": {"model": MODEL_38, "responseModalities": ["AUDIO"]}});
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &[frame]).await;
    assert_eq!(
        got,
        (1007, "Invalid JSON payload received. Unknown name \"responseModalities\" at 'setup': Cannot find field.".into())
    );
    let frame =
        json!({"setup": {"model": MODEL_38, "generationConfig": {"outputAudioTranscription": {}}}});
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &[frame]).await;
    assert_eq!(
        got,
        (1007, "Invalid JSON payload received. Unknown name \"outputAudioTranscription\" at 'setup.generation_config': Cannot find field.".into())
    );
    // After the setup, too.
    let frames = [
        setup(MODEL_38),
        json!({"realtimeInput": {"text": "hi", "bogus": 1}}),
    ];
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &frames).await;
    assert_eq!(got, (1007, "Invalid JSON payload received. Unknown name \"bogus\" at 'realtime_input': Cannot find field.".into()));
}

#[tokio::test]
async fn unknown_model_closes_1008_with_the_real_text() {
    let got = rejected(
        fast(),
        &format!("{V1BETA}?key=k"),
        &[],
        &[setup("models/gemini-2.0-flash-exp")],
    )
    .await;
    assert_eq!(
        got,
        (
            1008,
            fit(&reasons::model_not_found(
                "models/gemini-2.0-flash-exp",
                "v1beta"
            ))
        )
    );
    let got = rejected(
        fast(),
        VERTEX,
        &[("authorization", "Bearer t")],
        &[setup("publishers/google/models/nope")],
    )
    .await;
    assert_eq!(
        got,
        (
            1008,
            fit(&reasons::model_not_found(
                "publishers/google/models/nope",
                "v1beta1"
            ))
        )
    );
}

#[tokio::test]
async fn more_than_one_modality_is_rejected() {
    let frame = json!({"setup": {"model": HALF_CASCADE, "generationConfig": {"responseModalities": ["AUDIO", "TEXT"]}}});
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &[frame]).await;
    assert_eq!(got, (1007, reasons::INVALID_ARGUMENT.to_owned()));
}

#[tokio::test]
async fn setup_twice_is_rejected() {
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send(setup(MODEL_38)).await;
    assert_eq!(
        c.closed().await,
        (1007, reasons::INVALID_ARGUMENT.to_owned())
    );
}

#[tokio::test]
async fn auth_rejects() {
    let keyed = || EmulatorConfig {
        api_key: Some("right".into()),
        ..fast()
    };
    let got = rejected(
        keyed(),
        &format!("{V1BETA}?key=wrong"),
        &[],
        &[setup(MODEL_38)],
    )
    .await;
    assert_eq!(got, (1007, reasons::API_KEY_INVALID.to_owned()));
    let got = rejected(
        keyed(),
        V1BETA,
        &[("x-goog-api-key", "wrong")],
        &[setup(MODEL_38)],
    )
    .await;
    assert_eq!(got, (1007, reasons::API_KEY_INVALID.to_owned()));
    let got = rejected(fast(), V1BETA, &[], &[setup(MODEL_38)]).await;
    assert_eq!(got, (1008, fit(reasons::UNREGISTERED_CALLER)));
    let got = rejected(
        fast(),
        &format!("{V1BETA}?access_token=auth_tokens/x"),
        &[],
        &[setup(MODEL_38)],
    )
    .await;
    assert_eq!(
        got,
        (1008, fit(reasons::UNREGISTERED_CALLER)),
        "a token on the unconstrained method"
    );
    let got = rejected(
        fast(),
        &format!("{CONSTRAINED}?key=auth_tokens/x"),
        &[],
        &[setup(MODEL_38)],
    )
    .await;
    assert_eq!(
        got,
        (1007, reasons::MALFORMED_AUTH_TOKEN.to_owned()),
        "a token passed as ?key="
    );
    let got = rejected(
        fast(),
        &format!("{CONSTRAINED}?access_token=auth_tokens/never-minted"),
        &[],
        &[setup(MODEL_38)],
    )
    .await;
    assert_eq!(got, (1007, reasons::MALFORMED_AUTH_TOKEN.to_owned()));
    let got = rejected(
        keyed(),
        VERTEX,
        &[("authorization", "Bearer wrong")],
        &[setup(VERTEX_MODEL)],
    )
    .await;
    assert_eq!(got, (1007, reasons::API_KEY_INVALID.to_owned()));
    let got = rejected(fast(), VERTEX, &[], &[setup(VERTEX_MODEL)]).await;
    assert_eq!(got, (1008, fit(reasons::UNREGISTERED_CALLER)));
}

#[tokio::test]
async fn backend_and_version_specific_fields() {
    let frame = json!({"setup": {"model": MODEL_38, "sessionResumption": {"transparent": true}}});
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &[frame]).await;
    assert_eq!(
        got,
        (1007, "Invalid JSON payload received. Unknown name \"transparent\" at 'setup.session_resumption': Cannot find field.".into())
    );
    let frame = json!({"setup": {"model": MODEL_38, "explicit_vad_signal": true}});
    let got = rejected(fast(), &format!("{V1BETA}?key=k"), &[], &[frame]).await;
    assert_eq!(
        got,
        (1007, "Invalid JSON payload received. Unknown name \"explicit_vad_signal\" at 'setup': Cannot find field.".into()),
        "Vertex-only, named as sent"
    );
    let frame = json!({"setup": {"model": MODEL_38, "proactivity": {"proactiveAudio": true}}});
    let got = rejected(
        fast(),
        &format!("{V1BETA}?key=k"),
        &[],
        std::slice::from_ref(&frame),
    )
    .await;
    assert_eq!(got, (1007, "Invalid JSON payload received. Unknown name \"proactivity\" at 'setup': Cannot find field.".into()));
    let emu = start(fast()).await;
    let mut c = Client::connect(&emu, &format!("{V1ALPHA}?key=k"), &[]).await;
    c.setup(frame["setup"].clone()).await;
}

#[tokio::test]
async fn strict_models_rules() {
    let strict = || EmulatorConfig {
        strict_models: true,
        ..fast()
    };
    let key = format!("{V1BETA}?key=k");
    let cc = json!({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turnComplete": true}});
    let got = rejected(strict(), &key, &[], &[setup(MODEL_31), cc.clone()]).await;
    assert_eq!(
        got,
        (1007, reasons::INVALID_ARGUMENT.to_owned()),
        "clientContent mid-session on 3.1"
    );
    // With initial history, the first clientContent seeds history; a later one is refused.
    let hist = json!({"setup": {"model": MODEL_31, "historyConfig": {"initialHistoryInClientContent": true}}});
    let got = rejected(strict(), &key, &[], &[hist, cc.clone(), cc.clone()]).await;
    assert_eq!(got, (1007, reasons::INVALID_ARGUMENT.to_owned()));
    let text =
        json!({"setup": {"model": MODEL_31, "generationConfig": {"responseModalities": ["TEXT"]}}});
    let got = rejected(strict(), &key, &[], &[text]).await;
    assert_eq!(got, (1011, reasons::INTERNAL.to_owned()), "TEXT on 3.1");
    let text =
        json!({"setup": {"model": MODEL_38, "generationConfig": {"responseModalities": ["TEXT"]}}});
    let got = rejected(strict(), &key, &[], &[text]).await;
    assert_eq!(
        got,
        (1007, reasons::INVALID_ARGUMENT.to_owned()),
        "TEXT on a native-audio model"
    );
    let nb = json!({"setup": {"model": MODEL_31, "tools": [{"functionDeclarations": [{"name": "f", "behavior": "NON_BLOCKING"}]}]}});
    let got = rejected(strict(), &key, &[], &[nb]).await;
    assert_eq!(
        got,
        (1007, reasons::INVALID_ARGUMENT.to_owned()),
        "NON_BLOCKING on 3.1"
    );
    let chunks =
        json!({"realtimeInput": {"mediaChunks": [{"mimeType": "audio/pcm", "data": "AAA="}]}});
    let got = rejected(strict(), &key, &[], &[setup(MODEL_31), chunks]).await;
    assert_eq!(
        got,
        (1007, reasons::INVALID_ARGUMENT.to_owned()),
        "mediaChunks on 3.1"
    );
    let retired = "models/gemini-2.0-flash-live-001";
    let got = rejected(strict(), &key, &[], &[setup(retired)]).await;
    assert_eq!(
        got,
        (1008, fit(&reasons::model_not_found(retired, "v1beta"))),
        "retired model"
    );
    // Past its announced shutdown, but accepted by Google in 2026 recordings.
    let emu = start(strict()).await;
    let mut c = Client::connect(&emu, &key, &[]).await;
    c.setup(json!({"model": HALF_CASCADE})).await;
    // Without the switch, clientContent on 3.1 is answered.
    let emu = start(fast()).await;
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_31})).await;
    c.send(cc).await;
    assert!(
        !audio_of(&c.turn().await).is_empty(),
        "3.1 answers clientContent without --strict-models"
    );
}

#[tokio::test]
async fn resume_while_the_old_connection_is_open_fails_with_1011() {
    let emu = start(fast()).await;
    let mut a = Client::dev(&emu).await;
    a.setup(json!({"model": MODEL_38, "sessionResumption": {}}))
        .await;
    let update = a.msg().await;
    let handle = update
        .pointer("/sessionResumptionUpdate/newHandle")
        .and_then(|h| h.as_str())
        .expect("handle")
        .to_owned();
    let mut b = Client::dev(&emu).await;
    b.send(json!({"setup": {"model": MODEL_38, "sessionResumption": {"handle": handle}}}))
        .await;
    assert_eq!(b.closed().await, (1011, reasons::INTERNAL.to_owned()));
    let mut c = Client::dev(&emu).await;
    c.send(
        json!({"setup": {"model": MODEL_38, "sessionResumption": {"handle": "no-such-handle"}}}),
    )
    .await;
    assert_eq!(
        c.closed().await,
        (1007, reasons::INVALID_ARGUMENT.to_owned())
    );
}

#[tokio::test]
async fn limits_close_cleanly() {
    let cfg = EmulatorConfig {
        max_message_bytes: 4096,
        max_sessions: 1,
        ..fast()
    };
    let emu = start(cfg).await;
    let mut a = Client::dev(&emu).await;
    a.setup(json!({"model": MODEL_38})).await;
    let big = b64(&vec![0u8; 8192]);
    a.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": big}}}))
        .await;
    let (code, reason) = a.closed().await;
    assert_eq!(code, 1009, "{reason}");
    let mut b = Client::dev(&emu).await;
    b.setup(json!({"model": MODEL_38})).await;
    let mut c = Client::dev(&emu).await;
    c.send(setup(MODEL_38)).await;
    assert_eq!(
        c.closed().await,
        (1011, reasons::RESOURCE_EXHAUSTED.to_owned()),
        "second simultaneous session"
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let emu = start(fast()).await;
    let url = format!(
        "{}/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
        emu.base_url()
    );
    let err = async_tungstenite::tokio::connect_async(url)
        .await
        .expect_err("no such endpoint");
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn garbage_is_rejected_not_crashed_on() {
    let emu = start(fast()).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for bad in [
        "not json",
        "[1, 2]",
        "{\"setup\": ",
        "",
        deep.as_str(),
        "{\"setup\": {\"model\": 7}}",
    ] {
        let mut c = Client::dev(&emu).await;
        c.send_raw(bad).await;
        let (code, reason) = c.closed().await;
        assert_eq!(code, 1007, "{bad:.20}: {reason}");
        assert!(
            reason.starts_with("Invalid JSON payload received.")
                || reason == reasons::INVALID_ARGUMENT,
            "{reason}"
        );
    }
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send_raw(
        "{\"realtimeInput\": {\"audio\": {\"mimeType\": \"audio/pcm\", \"data\": \"!!!\"}}}",
    )
    .await;
    assert_eq!(c.closed().await.0, 1007, "bad base64");
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send(json!({})).await;
    assert_eq!(c.closed().await.0, 1007, "no message key");
    // The server is still fine.
    let mut c = Client::dev(&emu).await;
    c.setup(json!({"model": MODEL_38})).await;
}
