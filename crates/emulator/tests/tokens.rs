//! Ephemeral tokens: minted over HTTP on the same port, used on the constrained method, `uses` and the
//! locked setup honoured.

mod common;

use common::*;
use gemlive_emulator::{Emulator, EmulatorConfig};
use protocol::close::reasons;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `POST /v1alpha/auth_tokens` over a raw HTTP/1.1 exchange; returns status and JSON body.
async fn mint(emu: &Emulator, key: Option<&str>, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let key = key
        .map(|k| format!("x-goog-api-key: {k}\r\n"))
        .unwrap_or_default();
    exchange(
        emu,
        &format!(
            "POST //v1alpha/auth_tokens HTTP/1.1\r\nHost: localhost\r\n{key}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// One raw HTTP/1.1 request; returns status and JSON body.
async fn exchange(emu: &Emulator, request: &str) -> (u16, Value) {
    let mut tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await.expect("read");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let json = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).expect("json body"))
        .expect("body");
    (status, json)
}

#[tokio::test]
async fn requests_that_are_not_a_token_or_a_live_session_get_google_s_errors() {
    let emu = start(fast()).await;
    const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let not_upgraded = "Expected a WebSocket upgrade request.";
    // (method, path, headers, HTTP status, error code, message)
    let cases = [
        (
            "POST",
            "/v1alpha/auth_tokens",
            "Content-Length: 1048577\r\n",
            413,
            400,
            "Request payload too large.",
        ),
        (
            "POST",
            "/v1alpha/auth_tokens",
            "Content-Length: two\r\n",
            400,
            400,
            "Invalid Content-Length.",
        ),
        (
            "GET",
            "/v1alpha/auth_tokens",
            "",
            405,
            405,
            "Method not allowed.",
        ),
        ("GET", V1BETA, "", 400, 400, not_upgraded),
        ("POST", V1BETA, UPGRADE, 400, 400, not_upgraded),
        (
            "GET",
            "/v1/models",
            "",
            404,
            404,
            "The requested URL /v1/models was not found on this server.",
        ),
    ];
    for (method, path, headers, status, code, message) in cases {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nx-goog-api-key: k\r\n{headers}\r\n"
        );
        let (got, body) = exchange(&emu, &request).await;
        assert_eq!(
            (got, &body["error"]["code"], &body["error"]["message"]),
            (status, &json!(code), &json!(message)),
            "{method} {path} {headers}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn token_lifecycle() {
    let emu = start(EmulatorConfig {
        api_key: Some("server-key".into()),
        ..fast()
    })
    .await;
    let (status, err) = mint(&emu, Some("wrong"), &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["message"], reasons::API_KEY_INVALID);
    let (status, err) = mint(
        &emu,
        Some("server-key"),
        &json!({"liveConnectConstraints": {}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        "Invalid JSON payload received. Unknown name \"liveConnectConstraints\" at 'auth_token': Cannot find field."
    );

    let body = json!({"uses": 1, "bidiGenerateContentSetup": {"model": MODEL_38,
        "generationConfig": {"responseModalities": ["AUDIO"]}, "outputAudioTranscription": {},
        "systemInstruction": {"parts": [{"text": "Be nice"}], "role": "user"}}});
    let (status, token) = mint(&emu, Some("server-key"), &body).await;
    assert_eq!(status, 200, "{token}");
    let name = token["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("auth_tokens/"));
    assert!(token["expireTime"].as_str().unwrap().ends_with('Z'));

    // Header form (Python, Go), a setup with only the model works: the token's setup is locked in.
    let mut c = Client::connect(
        &emu,
        CONSTRAINED,
        &[("authorization", &format!("Token {name}"))],
    )
    .await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send(json!({"realtimeInput": {"text": "hi"}})).await;
    let turn = c.turn().await;
    assert!(
        !transcript_of(&turn).is_empty(),
        "output transcription comes from the locked setup"
    );
    c.close().await;

    // `uses: 1` is spent: a new session is refused.
    let mut d = Client::connect(&emu, &format!("{CONSTRAINED}?access_token={name}"), &[]).await;
    d.send(json!({"setup": {"model": MODEL_38}})).await;
    assert_eq!(
        d.closed().await,
        (1007, reasons::MALFORMED_AUTH_TOKEN.to_owned())
    );
    // With a field mask only the listed fields are locked; resuming does not count as a use.
    let masked = json!({"uses": 1, "bidiGenerateContentSetup": {"model": MODEL_38, "outputAudioTranscription": {}},
        "fieldMask": "outputAudioTranscription"});
    let (_, token) = mint(&emu, Some("server-key"), &masked).await;
    let name = token["name"].as_str().unwrap().to_owned();
    let path = format!("{CONSTRAINED}?access_token={name}");
    let mut e = Client::connect(&emu, &path, &[]).await;
    e.setup(json!({"model": MODEL_38, "sessionResumption": {}}))
        .await;
    let handle = e.msg().await["sessionResumptionUpdate"]["newHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    e.send(json!({"realtimeInput": {"text": "My name is Grace."}}))
        .await;
    e.turn().await;
    e.close().await;
    let mut f = Client::connect(&emu, &path, &[]).await;
    f.setup(json!({"model": MODEL_38, "sessionResumption": {"handle": handle}}))
        .await;
    f.send(json!({"realtimeInput": {"text": "What is my name?"}}))
        .await;
    assert_eq!(transcript_of(&f.turn().await), "Your name is Grace.");
    f.close().await;
}
