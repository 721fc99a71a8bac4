//! The relay over real loopback WebSockets, against the emulator, with a raw client speaking the
//! page's protocol: limits, refusals, and resumption boxes that only their server opens.

use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::{TokioAdapter, client_async};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use emulator::{Emulator, EmulatorConfig};
use futures_util::StreamExt;
use gemlive::Client;
use gemlive_web::tools::{Tool, Tools};
use gemlive_web::{Upstream, WebConfig, WebServer};
use serde_json::Value;
use tokio::net::TcpStream;

type Ws = WebSocketStream<TokioAdapter<TcpStream>>;

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        speed: f64::INFINITY,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

async fn server(emulator: &Emulator, max_sessions: usize) -> WebServer {
    recording_server(emulator, max_sessions, None).await
}

async fn recording_server(
    emulator: &Emulator,
    max_sessions: usize,
    record_dir: Option<&std::path::Path>,
) -> WebServer {
    let client = Client::endpoint(&emulator.http_url())
        .unwrap()
        .with_api_key("the-servers-key");
    let mut upstream = Upstream::new(client);
    upstream.record_dir = record_dir.map(Into::into);
    let mut config = WebConfig::new(upstream);
    config.max_sessions = max_sessions;
    WebServer::start(config).await.unwrap()
}

/// Connects to `/relay` as a page of `server` would; `Err` carries the HTTP refusal.
async fn connect(server: &WebServer, origin: &str) -> Result<Ws, String> {
    let addr = server.local_addr();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/relay").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    match client_async(request, tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(async_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn origin_of(server: &WebServer) -> String {
    format!("http://{}", server.local_addr())
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the relay is still open")
            .expect("a frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn until(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
        assert_ne!(v["type"], "closed", "closed while waiting for {kind}: {v}");
    }
}

/// Types `text` on the page.
async fn ask(ws: &mut Ws, text: &str) {
    let message = serde_json::json!({"type": "text", "text": text});
    ws.send(Message::text(message.to_string())).await.unwrap();
}

async fn start(ws: &mut Ws, resume: Option<&str>) -> Value {
    let start = serde_json::json!({"type": "start", "settings": {"model": "gemini-3.1-flash-live-preview", "outputTranscription": true}, "resume": resume});
    ws.send(Message::text(start.to_string())).await.unwrap();
    next_json(ws).await
}

#[tokio::test]
async fn a_conversation_resumes_on_its_server_and_nowhere_else() {
    let emulator = emulator().await;
    let (a, b) = (server(&emulator, 10).await, server(&emulator, 10).await);
    let mut ws = connect(&a, &origin_of(&a)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    ask(&mut ws, "What is the capital of France?").await;
    let sealed = until(&mut ws, "resume").await["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    until(&mut ws, "turnComplete").await;
    ws.send(Message::text(r#"{"type":"end"}"#)).await.unwrap();
    until(&mut ws, "closed").await;

    // Another server (another key): refused in words, no session opened.
    let mut other = connect(&b, &origin_of(&b)).await.unwrap();
    let refused = start(&mut other, Some(&sealed)).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("cannot be resumed here")
    );
    // A raw upstream handle is not a box either.
    let mut raw = connect(&a, &origin_of(&a)).await.unwrap();
    assert_eq!(
        start(&mut raw, Some("handle-from-elsewhere")).await["type"],
        "error"
    );

    let mut again = connect(&a, &origin_of(&a)).await.unwrap();
    let ready = start(&mut again, Some(&sealed)).await;
    assert_eq!(ready["resumed"], true, "{ready}");
    ask(&mut again, "What was my last question?").await;
    let mut answer = String::new();
    loop {
        let v = next_json(&mut again).await;
        match v["type"].as_str() {
            Some("outputTranscript" | "text") => answer.push_str(v["text"].as_str().unwrap()),
            Some("turnComplete") => break,
            _ => {}
        }
    }
    assert!(
        answer.contains("What is the capital of France?"),
        "{answer}"
    );
    a.shutdown().await;
    b.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_in_words_and_the_session_goes_on() {
    let emulator = emulator().await;
    let server = server(&emulator, 10).await;
    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    // Not a start first: refused, and the relay closes.
    ask(&mut ws, "hi").await;
    assert!(
        next_json(&mut ws).await["message"]
            .as_str()
            .unwrap()
            .contains("start")
    );

    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    for bad in [
        Message::binary(vec![0u8; 40_000]),
        Message::binary(vec![0u8; 3]),
        Message::text(r#"{"type":"setup","setup":{}}"#),
        Message::text(r#"{"type":"video","mimeType":"text/html","data":"AA=="}"#),
        Message::text(r#"{"type":"activityStart"}"#),
    ] {
        ws.send(bad).await.unwrap();
        let v = until(&mut ws, "error").await;
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    ask(&mut ws, "What is 2 plus 2?").await;
    until(&mut ws, "turnComplete").await;
    server.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn foreign_origins_and_a_full_relay_are_refused_before_the_upgrade() {
    let emulator = emulator().await;
    let server = server(&emulator, 1).await;
    assert_eq!(
        connect(&server, "http://evil.example").await.unwrap_err(),
        "403 Forbidden"
    );
    let mut first = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut first, None).await["type"], "ready");
    assert_eq!(
        connect(&server, &origin_of(&server)).await.unwrap_err(),
        "503 Service Unavailable"
    );
    server.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn relayed_sessions_are_recorded_without_the_key() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(&emulator, 10, Some(dir.path())).await;
    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    ask(&mut ws, "Hello").await;
    until(&mut ws, "turnComplete").await;
    ws.send(Message::text(r#"{"type":"end"}"#)).await.unwrap();
    until(&mut ws, "closed").await;
    server.shutdown().await;
    let recording = std::fs::read_to_string(dir.path().join("session-1.jsonl")).unwrap();
    assert!(recording.contains("Hello"));
    assert!(!recording.contains("the-servers-key"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_relay_carries_a_conversation_across_go_aways() {
    // Connections that last 1.5 s, with a goAway 1 s before their end.
    let emulator = Emulator::start(EmulatorConfig {
        speed: f64::INFINITY,
        connection_lifetime: Duration::from_millis(1500),
        go_away_notice: Duration::from_secs(1),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let server = server(&emulator, 10).await;
    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    ask(&mut ws, "What is the capital of Peru?").await;
    until(&mut ws, "turnComplete").await;
    until(&mut ws, "goAway").await;
    // Well past the end of the first connection (and of a second one).
    tokio::time::sleep(Duration::from_millis(3500)).await;
    ask(&mut ws, "What was my last question?").await;
    let mut answer = String::new();
    loop {
        let v = next_json(&mut ws).await;
        assert_ne!(v["type"], "closed", "{v}");
        match v["type"].as_str() {
            Some("outputTranscript" | "text") => answer.push_str(v["text"].as_str().unwrap()),
            Some("turnComplete") => break,
            _ => {}
        }
    }
    assert!(answer.contains("capital of Peru"), "{answer}");
    server.shutdown().await;
    emulator.shutdown().await;
}

/// The text of the model's answer to one turn, and every message type seen on the way.
async fn answer(ws: &mut Ws) -> (String, Vec<Value>) {
    let mut text = String::new();
    let mut seen = Vec::new();
    loop {
        let v = next_json(ws).await;
        assert_ne!(v["type"], "closed", "{v}");
        match v["type"].as_str() {
            Some("outputTranscript" | "text") => text.push_str(v["text"].as_str().unwrap()),
            Some("turnComplete") => return (text, seen),
            _ => {}
        }
        seen.push(v);
    }
}

#[tokio::test]
async fn the_servers_tools_answer_the_model_and_the_page_sees_them_work() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct City {
        /// The city.
        city: String,
    }
    let emulator = emulator().await;
    let client = Client::endpoint(&emulator.http_url())
        .unwrap()
        .with_api_key("k");
    let mut config = WebConfig::new(Upstream::new(client));
    config.tools = Tools::new().with(Tool::typed(
        "get_weather",
        "The weather in a city",
        |c: City| async move { Ok::<_, String>(format!("foggy in {}", c.city)) },
    ));
    let server = WebServer::start(config).await.unwrap();
    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    ask(&mut ws, "What is the weather in Paris?").await;
    let (said, seen) = answer(&mut ws).await;
    let kinds: Vec<&str> = seen.iter().filter_map(|v| v["type"].as_str()).collect();
    assert!(
        !kinds.contains(&"toolCall"),
        "the page was asked: {kinds:?}"
    );
    let started = seen.iter().find(|v| v["type"] == "toolStarted").unwrap();
    assert_eq!(started["name"], "get_weather");
    assert_eq!(started["args"]["city"], "Paris");
    let result = seen.iter().find(|v| v["type"] == "toolResult").unwrap();
    assert_eq!(result["id"], started["id"]);
    assert!(
        result["response"].to_string().contains("foggy in Paris"),
        "{result}"
    );
    assert!(said.contains("foggy in Paris"), "{said}");
    server.shutdown().await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_is_told_to_the_page_and_the_cut_question_answered() {
    let script = r#"{"rules": [{"when": {"contains": "drop"}, "once": true, "fault": "drop"}]}"#;
    let emulator = Emulator::start(EmulatorConfig {
        speed: f64::INFINITY,
        script: Some(emulator::Script::from_json(script, std::path::Path::new(".")).unwrap()),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let server = server(&emulator, 10).await;
    let mut ws = connect(&server, &origin_of(&server)).await.unwrap();
    assert_eq!(start(&mut ws, None).await["type"], "ready");
    // A first turn, so that the session has a handle to resume with.
    ask(&mut ws, "Hello").await;
    answer(&mut ws).await;
    ask(
        &mut ws,
        "Please drop the line: what is the capital of Chile?",
    )
    .await;
    let (said, seen) = answer(&mut ws).await;
    let cut = seen.iter().find(|v| v["type"] == "turnCut").unwrap();
    assert_eq!(cut["turns"][0]["resent"], true, "{cut}");
    assert!(cut["turns"][0]["text"].as_str().unwrap().contains("Chile"));
    let reconnecting = seen.iter().find(|v| v["type"] == "reconnecting").unwrap();
    assert_eq!(reconnecting["planned"], false, "{reconnecting}");
    assert_eq!(reconnecting["attempt"], 1);
    assert_eq!(reconnecting["cause"]["code"], 1006, "{reconnecting}");
    assert!(!reconnecting["cause"]["hint"].as_str().unwrap().is_empty());
    assert!(seen.iter().any(|v| v["type"] == "moved"), "{seen:?}");
    assert!(said.contains("Chile"), "{said}");
    server.shutdown().await;
    emulator.shutdown().await;
}

/// `POST /api/token` as the page sends it.
async fn mint(server: &WebServer, settings: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.local_addr();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/token HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{settings}",
        settings.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[tokio::test]
async fn a_direct_mode_token_locks_the_pages_settings_for_one_session_and_leaves_resumption_to_it()
{
    let emulator = emulator().await;
    let server = server(&emulator, 10).await;
    let grant = mint(
        &server,
        r#"{"model": "gemini-3.1-flash-live-preview", "voice": "Kore", "systemInstruction": "Be brief."}"#,
    )
    .await;
    let token = grant["token"].as_str().unwrap();
    assert!(token.starts_with("auth_tokens/"), "{grant}");
    assert!(!grant.to_string().contains("the-servers-key"));
    assert!(
        grant["url"].as_str().unwrap().contains("v1alpha"),
        "{grant}"
    );
    let locked = &grant["setup"];
    assert_eq!(
        locked["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
        "Kore"
    );
    assert_eq!(locked["systemInstruction"]["parts"][0]["text"], "Be brief.");
    let setup: gemlive::types::Setup = serde_json::from_value(locked.clone()).unwrap();
    // The page's connection: the token, and the setup with a resumption request of its own.
    let browser = Client::endpoint(&emulator.http_url())
        .unwrap()
        .with_api_version(gemlive::ApiVersion::V1Alpha)
        .with_auth(gemlive::Auth::ephemeral_token(token));
    let model = setup.model.clone();
    let config = gemlive::LiveConfig::from(setup).resumable();
    let mut session = browser
        .live()
        .connect(&model, config.clone())
        .await
        .unwrap();
    session.send_realtime_input("Hello").await.unwrap();
    session.receive().text().await.unwrap();
    assert!(
        session.resumption_handle().is_some(),
        "resumption is the page's to ask for"
    );
    session.close().await.unwrap();
    // Single use.
    let again = browser.live().connect(&model, config).await.unwrap_err();
    assert!(again.close().is_some(), "{again}");
    server.shutdown().await;
    emulator.shutdown().await;
}
