//! `connect()` against a Live-protocol server on loopback: the whole stack
//! (endpoint, auth header, TLS, proxy, driver, recorder).

mod support;

use std::time::Duration;

use gemlive_transport::protocol::wire::{GenerationConfig, Modality, Setup};
use gemlive_transport::protocol::{CloseKind, Event};
use gemlive_transport::{
    Auth, ClientConfig, Endpoint, ProxyConfig, RecorderConfig, TlsConfig, connect,
};
use serde_json::{Value, json};
use support::{ConnectProxy, LiveServer, ServerConn, echo_session, pki};

const KEY: &str = "AIzaTESTKEY-loopback";

fn config(server: &LiveServer, setup: Setup) -> ClientConfig {
    let mut config = ClientConfig::new(
        Endpoint::custom(&server.base_url()).unwrap(),
        Auth::api_key(KEY),
        setup,
    );
    config.proxy = ProxyConfig::Direct;
    config
}

async fn echo_server(tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> LiveServer {
    LiveServer::start(tls, |conn: ServerConn| echo_session(conn, Some(KEY))).await
}

fn text_of(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_text_session_over_tls_with_header_auth() {
    let pki = pki();
    let server = echo_server(Some(pki.server_config.clone())).await;
    let mut config = config(&server, Setup::new("gemini-live-test"));
    config.tls = TlsConfig::only_ca_file(&pki.ca_file);
    let (sender, mut events) = connect(config).await.unwrap();
    sender.send_text("hello").await.unwrap();
    let turn = events.next_turn().collect().await.unwrap();
    assert_eq!(text_of(&turn), "echo: hello");
    assert!(matches!(turn.last(), Some(Event::TurnComplete { .. })));
    assert_eq!(sender.resumption_handle().as_deref(), Some("handle-1"));
    sender.close().await.unwrap();
    let mut last = None;
    while let Some(event) = events.next().await {
        last = Some(event);
    }
    assert!(
        matches!(last, Some(Event::Closed(ref c)) if c.code == 1000),
        "{last:?}"
    );

    let seen = server.requests();
    assert_eq!(seen[0].header("x-goog-api-key"), Some(KEY));
    assert!(!seen[0].uri.contains(KEY));
}

#[tokio::test]
async fn setup_model_gets_the_models_prefix() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        let setup = conn.recv_json().await.unwrap();
        let model = setup["setup"]["model"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        conn.close(
            1008,
            &format!("{model} is not found for API version v1beta"),
        )
        .await;
    })
    .await;
    let err = connect(config(&server, Setup::new("gemini-nope")))
        .await
        .unwrap_err();
    let close = err.close().unwrap();
    assert_eq!(
        close.reason,
        "models/gemini-nope is not found for API version v1beta"
    );
    assert_eq!(close.kind, CloseKind::ModelNotFound);
}

#[tokio::test]
async fn closes_during_setup_carry_reason_and_hint() {
    for (code, reason) in [
        (1007, "API key not valid. Please pass a valid API key."),
        (
            1008,
            "Method doesn't allow unregistered callers (callers without established identity).",
        ),
        (1011, "Internal error encountered."),
    ] {
        let server = LiveServer::start(None, move |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.close(code, reason).await;
        })
        .await;
        let err = connect(config(&server, Setup::new("m"))).await.unwrap_err();
        let close = err
            .close()
            .unwrap_or_else(|| panic!("not a close: {err:?}"));
        assert_eq!((close.code, close.reason.as_str()), (code, reason));
        let shown = err.to_string();
        assert!(
            shown.contains(reason) && shown.contains(close.hint),
            "{shown}"
        );
        assert!(!shown.contains(KEY) && !format!("{err:?}").contains(KEY));
    }
}

#[tokio::test]
async fn wrong_key_is_a_1007_from_the_server() {
    let server = echo_server(None).await;
    let mut config = config(&server, Setup::new("m"));
    config.auth = Auth::api_key("AIzaWRONG");
    let err = connect(config).await.unwrap_err();
    let close = err.close().unwrap();
    assert_eq!(close.code, 1007);
    assert_eq!(close.kind, CloseKind::InvalidApiKey);
}

#[tokio::test]
async fn close_mid_turn_over_the_socket() {
    for (code, reason, kind) in [
        (
            1007,
            "Request contains an invalid argument.",
            CloseKind::InvalidArgument,
        ),
        (
            1008,
            "Requested entity was not found.",
            CloseKind::NotSupported,
        ),
        (1011, "Internal error encountered.", CloseKind::Internal),
    ] {
        let server = LiveServer::start(None, move |mut conn: ServerConn| async move {
            conn.recv_json().await;
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            conn.recv_json().await;
            conn.send_binary_json(
                &json!({"serverContent": {"modelTurn": {"parts": [{"text": "par"}]}}}),
            )
            .await;
            conn.close(code, reason).await;
        })
        .await;
        let (sender, mut events) = connect(config(&server, Setup::new("m"))).await.unwrap();
        sender.send_text("go").await.unwrap();
        let mut turn = events.next_turn();
        assert!(matches!(turn.next().await, Ok(Some(Event::Text { .. }))));
        let err = turn.next().await.unwrap_err();
        let close = err.close().unwrap();
        assert_eq!(
            (close.code, close.reason.as_str(), close.kind),
            (code, reason, kind)
        );
        assert!(!close.hint.is_empty());
    }
}

#[tokio::test]
async fn audio_session_through_a_connect_proxy() {
    let pki = pki();
    let server = echo_server(Some(pki.server_config.clone())).await;
    let proxy = ConnectProxy::start(None).await;
    let mut setup = Setup::new("gemini-live-test");
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    let mut config = config(&server, setup);
    config.tls = TlsConfig::only_ca_file(&pki.ca_file);
    config.proxy = ProxyConfig::url(&proxy.url()).unwrap();
    let (sender, mut events) = connect(config).await.unwrap();
    sender.send_text("sing").await.unwrap();
    let turn = events.next_turn().collect().await.unwrap();
    let audio: usize = turn
        .iter()
        .map(|e| match e {
            Event::Audio {
                data, sample_rate, ..
            } => {
                assert_eq!(*sample_rate, 24_000);
                data.len()
            }
            _ => 0,
        })
        .sum();
    assert_eq!(audio, support::tone(0.5).len());
    assert!(
        turn.iter()
            .any(|e| matches!(e, Event::OutputTranscript { text, .. } if text == "echo: sing"))
    );
    assert_eq!(proxy.tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn recording_a_real_session_scrubs_the_key() {
    let server = echo_server(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let mut setup = Setup::new("gemini-live-test");
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    let mut config = config(&server, setup);
    config.record = Some(RecorderConfig::new(&path).trim_audio(64));
    let (sender, mut events) = connect(config).await.unwrap();
    sender.send_text(format!("my key is {KEY}")).await.unwrap();
    events.next_turn().collect().await.unwrap();
    sender.close().await.unwrap();
    while events.next().await.is_some() {}

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(KEY), "the key never reaches a recording");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let header = &lines[0]["header"];
    assert_eq!(header["model"], "models/gemini-live-test");
    assert_eq!(header["backend"], "mldev");
    let endpoint = header["endpoint"].as_str().unwrap();
    assert!(endpoint.starts_with("ws://127.0.0.1:"), "{endpoint}");
    assert_eq!(
        lines[1]["send"]["setup"]["model"],
        "models/gemini-live-test"
    );
    assert_eq!(lines[1]["t_ms"], 0);
    assert_eq!(lines[2]["recv"], json!({"setupComplete": {}}));
    let mut last_t = 0;
    for line in &lines[1..] {
        let t = line["t_ms"].as_u64().unwrap();
        assert!(t >= last_t, "times are monotonic");
        last_t = t;
        if let Some(data) = line
            .pointer("/recv/serverContent/modelTurn/parts/0/inlineData/data")
            .and_then(Value::as_str)
        {
            assert!(data.len() <= 64);
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
        }
    }
    assert!(lines.iter().any(|l| l.get("close").is_some()));
}

#[tokio::test]
async fn idle_timeout_ends_the_session_when_the_server_stalls() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        conn.recv_json().await;
        conn.send_binary_json(&json!({"setupComplete": {}})).await;
        // Stop reading: pings go unanswered.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut config = config(&server, Setup::new("m"));
    config.idle_timeout = Some(Duration::from_millis(400));
    let (_sender, mut events) = connect(config).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Event::Closed(close)) = events.next().await {
                return close;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed.code, 1006);
    assert!(closed.reason.contains("idle"), "{}", closed.reason);
}

/// A recorded session is a fixture: `protocol::replay` plays it back
/// through a fresh session and every `send` step matches.
#[tokio::test]
async fn a_recording_replays_as_a_fixture() {
    let server = echo_server(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.jsonl");
    let mut setup = Setup::new("gemini-live-test");
    setup.output_audio_transcription = Some(Default::default());
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    let mut config = config(&server, setup);
    config.record = Some(RecorderConfig::new(&path).trim_audio(64));
    let (sender, mut events) = connect(config).await.unwrap();
    let mut live = Vec::new();
    sender.send_audio(support::tone(0.1), 16_000).await.unwrap();
    for prompt in ["one", "two"] {
        sender.send_text(prompt).await.unwrap();
        live.extend(events.next_turn().collect().await.unwrap());
    }
    sender.close().await.unwrap();
    while let Some(event) = events.next().await {
        live.push(event);
    }

    let fixture = std::fs::read_to_string(&path).unwrap();
    let trace = protocol::replay::replay(&fixture, std::time::Instant::now())
        .unwrap_or_else(|e| panic!("{e}\n{fixture}"));
    let sent = trace.iter().filter(|l| l.contains(" > ")).count();
    assert_eq!(sent, 4, "setup, audio and two texts: {trace:#?}");
    let turns = trace.iter().filter(|l| l.contains("TurnComplete")).count();
    assert_eq!(turns, 2, "{trace:#?}");
    let live_turns = live
        .iter()
        .filter(|e| matches!(e, Event::TurnComplete { .. }))
        .count();
    assert_eq!(live_turns, 2);
    assert!(trace.last().unwrap().contains("Closed"), "{trace:#?}");
}

#[test]
fn config_debug_shows_no_secrets() {
    let mut config = ClientConfig::new(
        Endpoint::verbatim("wss://gw.example.com/ws?key=URLSECRET").unwrap(),
        Auth::api_key(KEY),
        Setup::new("m"),
    );
    config.proxy = ProxyConfig::url("http://user:PROXYSECRET@proxy:3128").unwrap();
    let shown = format!("{config:?}");
    for secret in [KEY, "URLSECRET", "PROXYSECRET"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn resuming_sends_the_handle() {
    let server = LiveServer::start(None, |mut conn: ServerConn| async move {
        let setup = conn.recv_json().await.unwrap();
        let handle = setup["setup"]["sessionResumption"]["handle"].clone();
        conn.send_binary_json(&json!({"setupComplete": {}})).await;
        conn.send_binary_json(
            &json!({"sessionResumptionUpdate": {"newHandle": format!("after-{}", handle.as_str().unwrap_or("none")), "resumable": true}}),
        )
        .await;
        conn.recv_json().await;
    })
    .await;
    let config = config(&server, Setup::new("m")).resume("handle-7");
    let (sender, mut events) = connect(config).await.unwrap();
    while !matches!(events.next().await, Some(Event::Resumption { .. })) {}
    assert_eq!(
        sender.resumption_handle().as_deref(),
        Some("after-handle-7")
    );
}

#[tokio::test]
async fn a_setup_the_protocol_refuses_fails_before_connecting() {
    let server = echo_server(None).await;
    let mut setup = Setup::new("gemini-3.1-flash-live-preview");
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Text]),
        ..GenerationConfig::default()
    });
    let err = connect(config(&server, setup)).await.unwrap_err();
    assert!(
        matches!(err, gemlive_transport::Error::Protocol(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("AUDIO"), "{err}");
    assert!(server.requests().is_empty(), "no connection was made");
}

#[tokio::test]
async fn auto_resume_over_websockets_after_go_away() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let connections = std::sync::Arc::new(AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&connections);
    let server = LiveServer::start(None, move |mut conn: ServerConn| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        async move {
            let setup = conn.recv_json().await.unwrap();
            let handle = setup["setup"]["sessionResumption"]["handle"].clone();
            conn.send_binary_json(&json!({"setupComplete": {}})).await;
            if n == 0 {
                assert!(handle.is_null());
                conn.send_binary_json(
                    &json!({"sessionResumptionUpdate": {"newHandle": "h-ws", "resumable": true}}),
                )
                .await;
                conn.send_binary_json(&json!({"goAway": {"timeLeft": "20s"}}))
                    .await;
                // The client leaves; answer its close.
                assert!(conn.recv_json().await.is_none());
            } else {
                assert_eq!(handle, "h-ws");
                let text = conn.recv_json().await.unwrap();
                let text = text["realtimeInput"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                conn.send_binary_json(
                    &json!({"serverContent": {"modelTurn": {"parts": [{"text": text}]}}}),
                )
                .await;
                conn.send_binary_json(&json!({"serverContent": {"turnComplete": true}}))
                    .await;
                conn.recv_json().await;
            }
        }
    })
    .await;
    let mut setup = Setup::new("m");
    setup.session_resumption = Some(Default::default());
    let mut config = config(&server, setup);
    config.auto_resume = true;
    let (sender, mut events) = connect(config).await.unwrap();
    loop {
        match events.next().await {
            Some(Event::SetupComplete { resumed: true, .. }) => break,
            Some(Event::Closed(close)) => panic!("the session ended: {close}"),
            Some(_) => {}
            None => panic!("events ended"),
        }
    }
    sender.send_text("on the second connection").await.unwrap();
    let turn = events.next_turn().collect().await.unwrap();
    assert_eq!(text_of(&turn), "on the second connection");
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_event_tap_sees_every_event_before_the_application() {
    use std::sync::{Arc, Mutex};
    let server = echo_server(None).await;
    let mut setup = Setup::new("gemini-live-test");
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    let mut config = config(&server, setup);
    // One log for both sides: the tap writes ("tap", event), the application ("app", event).
    let log: Arc<Mutex<Vec<(&str, Event)>>> = Arc::default();
    let tapped = Arc::clone(&log);
    config.event_tap = Some(gemlive_transport::EventTap::new(move |event: &Event| {
        tapped.lock().unwrap().push(("tap", event.clone()));
    }));
    let (sender, mut events) = connect(config).await.unwrap();
    sender.send_text("sing").await.unwrap();
    loop {
        let event = events.next().await.expect("events until turnComplete");
        let done = matches!(event, Event::TurnComplete { .. });
        log.lock().unwrap().push(("app", event));
        if done {
            break;
        }
    }
    sender.close().await.unwrap();
    while let Some(event) = events.next().await {
        log.lock().unwrap().push(("app", event));
    }

    let log = log.lock().unwrap();
    let of = |side: &str| -> Vec<&Event> {
        log.iter()
            .filter(|(s, _)| *s == side)
            .map(|(_, e)| e)
            .collect()
    };
    let (tap, app) = (of("tap"), of("app"));
    assert!(matches!(tap[0], Event::SetupComplete { .. }), "{tap:?}");
    assert_eq!(
        &tap[1..],
        &app[..],
        "the tap sees what the application sees, in order"
    );
    assert!(matches!(tap.last(), Some(Event::Closed(c)) if c.code == 1000));
    let audio = app
        .iter()
        .filter(|e| matches!(e, Event::Audio { .. }))
        .count();
    assert!(audio > 0, "{app:?}");
    // Each event reached the tap before the application had it.
    let at = |side: &str| -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, (s, _))| *s == side)
            .map(|(i, _)| i)
            .collect()
    };
    let (tap_at, app_at) = (at("tap"), at("app"));
    for (i, app_at) in app_at.iter().enumerate() {
        assert!(tap_at[i + 1] < *app_at, "{:?}", app[i]);
    }
}

#[tokio::test]
async fn a_tap_alone_keeps_receiving_after_the_event_stream_is_dropped() {
    let server = echo_server(None).await;
    let mut config = config(&server, Setup::new("gemini-live-test"));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let mut done_tx = Some(done_tx);
    let mut text = String::new();
    config.event_tap = Some(gemlive_transport::EventTap::new(
        move |event: &Event| match event {
            Event::Text { text: t, .. } => text.push_str(t),
            Event::TurnComplete { .. } => {
                if let Some(tx) = done_tx.take() {
                    let _ = tx.send(std::mem::take(&mut text));
                }
            }
            _ => {}
        },
    ));
    let (sender, events) = connect(config).await.unwrap();
    drop(events);
    sender.send_text("only the tap listens").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), done_rx)
        .await
        .expect("the tap saw turnComplete")
        .unwrap();
    assert_eq!(heard, "echo: only the tap listens");
    sender.close().await.unwrap();
}
