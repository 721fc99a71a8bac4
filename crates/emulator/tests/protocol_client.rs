//! gemlive's own client session (`protocol::Session`, sans-IO) driven over a real socket against the
//! emulator: text, audio, tools, barge-in, goAway and resumption, with no protocol violation on either side.

mod common;

use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::ConnectStream;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use common::*;
use futures_util::StreamExt;
use gemlive_emulator::{Emulator, EmulatorConfig};
use protocol::wire::{FunctionResponse, Setup};
use protocol::{Backend, CloseInfo, Event, Output, Session, SessionConfig};
use serde_json::{Value, json};

struct Driver {
    ws: Option<WebSocketStream<ConnectStream>>,
    session: Session,
}

impl Driver {
    async fn connect(emu: &Emulator, path: &str, session: Session) -> Self {
        let url = format!("{}{}", emu.base_url(), path);
        let (ws, _) = async_tungstenite::tokio::connect_async(url)
            .await
            .expect("connect");
        Self {
            ws: Some(ws),
            session,
        }
    }

    async fn start(emu: &Emulator, setup: Value, backend: Backend) -> Self {
        let setup: Setup = serde_json::from_value(setup).expect("setup");
        let config = SessionConfig {
            backend,
            ..SessionConfig::new(setup)
        };
        let session = Session::new(config, Instant::now()).expect("session");
        let path = match backend {
            Backend::GeminiApi => format!("{V1BETA}?key=k"),
            Backend::Vertex => format!("{VERTEX}?key=k"),
        };
        Self::connect(emu, &path, session).await
    }

    /// Runs the IO loop until an event matches `stop`; returns every event seen, checking that none is a
    /// violation, a malformed frame or an unknown field.
    async fn until(&mut self, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let wake = loop {
                match self.session.poll_output() {
                    Output::Transmit(text) => {
                        let ws = self.ws.as_mut().expect("open");
                        ws.send(Message::Text(Utf8Bytes::from(text)))
                            .await
                            .expect("send");
                    }
                    Output::Event(e) => {
                        assert!(
                            !matches!(
                                e,
                                Event::Violation(_)
                                    | Event::Malformed(_)
                                    | Event::Unrecognized { .. }
                            ),
                            "{e:?}"
                        );
                        let done = stop(&e);
                        events.push(e);
                        if done {
                            return events;
                        }
                    }
                    Output::Close => {
                        if let Some(ws) = self.ws.as_mut() {
                            let _ = ws.close(None).await;
                        }
                    }
                    Output::Idle { wake_at } => break wake_at,
                }
            };
            let wake = wake
                .map_or(deadline, tokio::time::Instant::from_std)
                .min(deadline);
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out; events so far: {events:?}"
            );
            let ws = self.ws.as_mut().expect("open");
            tokio::select! {
                msg = ws.next() => {
                    let now = Instant::now();
                    match msg {
                        Some(Ok(Message::Binary(b))) => { let _ = self.session.handle_frame(&b, now); }
                        Some(Ok(Message::Text(t))) => { let _ = self.session.handle_frame(t.as_bytes(), now); }
                        Some(Ok(Message::Close(f))) => {
                            let info = f.map(|f| CloseInfo { code: f.code.into(), reason: f.reason.to_string() });
                            self.session.handle_close(info, now);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => self.session.handle_close(None, now),
                    }
                }
                () = tokio::time::sleep_until(wake) => self.session.handle_timeout(Instant::now()),
            }
        }
    }

    async fn turn(&mut self) -> Vec<Event> {
        self.until(|e| matches!(e, Event::TurnComplete { .. }))
            .await
    }
}

fn transcript(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| {
            if let Event::OutputTranscript { text, .. } = e {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect()
}

fn audio_bytes(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| {
            if let Event::Audio { data, .. } = e {
                data.len()
            } else {
                0
            }
        })
        .sum()
}

#[tokio::test]
async fn text_audio_and_memory() {
    let emu = start(fast()).await;
    let mut d = Driver::start(
        &emu,
        json!({"model": MODEL_38, "outputAudioTranscription": {}}),
        Backend::GeminiApi,
    )
    .await;
    d.until(|e| matches!(e, Event::SetupComplete { .. })).await;
    d.session.send_text("What is 10 + 10?").unwrap();
    let turn = d.turn().await;
    assert_eq!(transcript(&turn), "10 + 10 is 20.");
    assert!(audio_bytes(&turn) > 0);
    let gc = turn
        .iter()
        .position(|e| matches!(e, Event::GenerationComplete))
        .expect("generationComplete");
    assert!(turn[gc..].iter().any(|e| matches!(e, Event::Usage(_))));
    d.session.send_text("What was my last question?").unwrap();
    assert_eq!(
        transcript(&d.turn().await),
        "Your last question was: \"What is 10 + 10?\""
    );
}

#[tokio::test]
async fn tool_round_trip_and_barge_in() {
    let emu = start(EmulatorConfig {
        speed: 4.0,
        ..fast()
    })
    .await;
    let setup = json!({"model": MODEL_31, "outputAudioTranscription": {}, "tools": [{"functionDeclarations": [
        {"name": "GetWeather", "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}}}]}]});
    let mut d = Driver::start(&emu, setup, Backend::GeminiApi).await;
    d.until(|e| matches!(e, Event::SetupComplete { .. })).await;
    d.session
        .send_text("What is the weather in Seattle?")
        .unwrap();
    let events = d.until(|e| matches!(e, Event::ToolCall { .. })).await;
    let Some(Event::ToolCall { calls }) = events.last() else {
        unreachable!()
    };
    assert_eq!(calls[0].args, Some(json!({"location": "Seattle"})));
    let response = FunctionResponse {
        id: calls[0].id.clone(),
        name: Some(calls[0].name.clone()),
        response: Some(json!({"output": "sunny"})),
        ..FunctionResponse::default()
    };
    d.session.send_tool_response(vec![response]).unwrap();
    assert_eq!(transcript(&d.turn().await), "GetWeather returned sunny.");
    d.session
        .send_text("Tell me a long story about the sea, the wind and the rain, please")
        .unwrap();
    d.until(|e| matches!(e, Event::Audio { .. })).await;
    d.session.send_text("Stop.").unwrap();
    let cut = d.turn().await;
    assert!(
        cut.iter().any(|e| matches!(e, Event::Interrupted)),
        "{cut:?}"
    );
    assert!(!cut.iter().any(|e| matches!(e, Event::GenerationComplete)));
}

#[tokio::test]
async fn go_away_then_resume_on_a_new_connection() {
    let cfg = EmulatorConfig {
        connection_lifetime: Duration::from_millis(700),
        go_away_notice: Duration::from_millis(500),
        ..fast()
    };
    let emu = start(cfg).await;
    let setup = json!({"model": MODEL_38, "outputAudioTranscription": {}, "sessionResumption": {}});
    let mut d = Driver::start(&emu, setup, Backend::GeminiApi).await;
    d.until(|e| matches!(e, Event::SetupComplete { .. })).await;
    d.session.send_text("My name is Ada.").unwrap();
    d.turn().await;
    d.until(|e| matches!(e, Event::GoAway { .. })).await;
    let end = d.until(|e| matches!(e, Event::Closed(_))).await;
    let Some(Event::Closed(close)) = end.last() else {
        unreachable!()
    };
    assert_eq!(close.code, 1011);
    assert!(d.session.resumption_handle().is_some());
    let next = d
        .session
        .next_connection(Instant::now())
        .expect("next connection");
    let mut d = Driver::connect(&emu, &format!("{V1BETA}?key=k"), next).await;
    d.until(|e| matches!(e, Event::SetupComplete { .. })).await;
    d.session.send_text("What is my name?").unwrap();
    assert_eq!(transcript(&d.turn().await), "Your name is Ada.");
}

#[tokio::test]
async fn vertex_transparent_session() {
    let emu = start(fast()).await;
    let setup = json!({"model": VERTEX_MODEL, "outputAudioTranscription": {}, "sessionResumption": {"transparent": true},
        "generationConfig": {"responseModalities": ["AUDIO"]}});
    let mut d = Driver::start(&emu, setup, Backend::Vertex).await;
    let start = d.until(|e| matches!(e, Event::SetupComplete { .. })).await;
    assert!(matches!(
        &start[0],
        Event::SetupComplete {
            session_id: Some(_),
            ..
        }
    ));
    d.session.send_text("Hello").unwrap();
    let turn = d.turn().await;
    assert!(transcript(&turn).starts_with("Hello!"));
    let after = d
        .until(|e| {
            matches!(
                e,
                Event::Resumption {
                    resumable: true,
                    ..
                }
            )
        })
        .await;
    assert!(
        matches!(
            after.last(),
            Some(Event::Resumption {
                last_consumed_index: Some(1),
                ..
            })
        ),
        "{after:?}"
    );
}
