//! A plain async-tungstenite Live client for the emulator's tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::ConnectStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use futures_util::StreamExt;
use gemlive_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

pub const V1BETA: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";
pub const V1ALPHA: &str =
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent";
pub const CONSTRAINED: &str =
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained";
pub const VERTEX: &str = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent";
pub const MODEL_38: &str = "models/gemini-3.8-live";
pub const MODEL_31: &str = "models/gemini-3.1-flash-live-preview";
pub const HALF_CASCADE: &str = "models/gemini-live-2.5-flash-preview";
pub const VERTEX_MODEL: &str =
    "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio";

const WAIT: Duration = Duration::from_secs(10);

/// A test configuration: no pacing.
pub fn fast() -> EmulatorConfig {
    EmulatorConfig {
        speed: f64::INFINITY,
        ..EmulatorConfig::default()
    }
}

pub async fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

/// What the server did next.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Msg(Value),
    Closed(u16, String),
    /// The TCP connection ended without a close frame.
    Dropped,
}

pub struct Client {
    pub ws: WebSocketStream<ConnectStream>,
}

impl Client {
    /// Connects to `path_and_query` (e.g. `V1BETA` + `?key=k`) with extra headers.
    pub async fn connect(emu: &Emulator, path_and_query: &str, headers: &[(&str, &str)]) -> Self {
        let url = format!("{}{}", emu.base_url(), path_and_query);
        let mut req = url.into_client_request().expect("request");
        for (k, v) in headers {
            req.headers_mut().insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("header"),
            );
        }
        let (ws, _) = tokio::time::timeout(WAIT, async_tungstenite::tokio::connect_async(req))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        Self { ws }
    }

    /// Connects to the v1beta endpoint with `?key=test`.
    pub async fn dev(emu: &Emulator) -> Self {
        Self::connect(emu, &format!("{V1BETA}?key=test"), &[]).await
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(Utf8Bytes::from(v.to_string())))
            .await
            .expect("send");
    }

    /// One utterance as a microphone sends it: 300 ms of silence, 800 ms of sound, then the
    /// end of the audio stream.
    pub async fn utterance(&mut self) {
        let mut pcm = pcm16k(300, 0.0);
        pcm.extend(pcm16k(800, 0.3));
        self.send(json!({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": b64(&pcm)}}}))
            .await;
        self.send(json!({"realtimeInput": {"audioStreamEnd": true}}))
            .await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(Utf8Bytes::from(text.to_owned())))
            .await
            .expect("send");
    }

    /// Next message; server messages must be binary frames of pretty-printed JSON.
    pub async fn recv(&mut self) -> Incoming {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("server answered in time");
            match next {
                Some(Ok(Message::Binary(b))) => {
                    let text = std::str::from_utf8(&b).expect("utf-8 frame");
                    if let Ok(v) = serde_json::from_str::<Value>(text) {
                        let pretty = text == "{}\n"
                            || (text.starts_with("{\n  \"") && text.ends_with("}\n"));
                        assert!(pretty, "pretty-printed: {text}");
                        return Incoming::Msg(v);
                    }
                    return Incoming::Msg(Value::String(text.to_owned()));
                }
                Some(Ok(Message::Text(t))) => panic!("server sent a text frame: {t}"),
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    return Incoming::Closed(code, reason);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Incoming::Dropped,
            }
        }
    }

    /// The next data frame's text, unchecked (must be binary).
    pub async fn raw(&mut self) -> String {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("server answered in time");
            match next {
                Some(Ok(Message::Binary(b))) => return String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
    }

    pub async fn msg(&mut self) -> Value {
        match self.recv().await {
            Incoming::Msg(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Reads until the close frame; returns its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.recv().await {
                Incoming::Msg(_) => {}
                Incoming::Closed(c, r) => return (c, r),
                Incoming::Dropped => panic!("connection dropped without a close frame"),
            }
        }
    }

    /// Sends `setup` and expects `setupComplete` (skipping nothing).
    pub async fn setup(&mut self, setup: Value) -> Value {
        self.send(json!({ "setup": setup })).await;
        let m = self.msg().await;
        assert!(
            m.get("setupComplete").is_some(),
            "expected setupComplete, got {m}"
        );
        m
    }

    /// Collects messages up to and including the one with `serverContent.turnComplete`.
    pub async fn turn(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let m = self.msg().await;
            let done = m.pointer("/serverContent/turnComplete") == Some(&Value::Bool(true));
            out.push(m);
            if done {
                return out;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(async_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
        let _ = tokio::time::timeout(WAIT, async { while self.ws.next().await.is_some() {} }).await;
    }
}

/// Concatenated model text (TEXT deltas) of a turn.
pub fn text_of(turn: &[Value]) -> String {
    turn.iter()
        .filter_map(|m| m.pointer("/serverContent/modelTurn/parts"))
        .flat_map(|p| p.as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Concatenated output transcription of a turn.
pub fn transcript_of(turn: &[Value]) -> String {
    turn.iter()
        .filter_map(|m| {
            m.pointer("/serverContent/outputTranscription/text")
                .and_then(Value::as_str)
        })
        .collect()
}

/// Decoded PCM bytes of a turn's audio.
pub fn audio_of(turn: &[Value]) -> Vec<u8> {
    use base64::Engine as _;
    turn.iter()
        .filter_map(|m| {
            m.pointer("/serverContent/modelTurn/parts/0/inlineData/data")
                .and_then(Value::as_str)
        })
        .flat_map(|d| {
            base64::engine::general_purpose::STANDARD
                .decode(d)
                .expect("standard base64")
        })
        .collect()
}

/// `ms` of a 16 kHz tone (speech) or silence, as PCM16LE bytes.
pub fn pcm16k(ms: u32, amplitude: f64) -> Vec<u8> {
    (0..16 * ms)
        .flat_map(|i| (((f64::from(i) * 0.2).sin() * amplitude * 32767.0) as i16).to_le_bytes())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn b64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}
