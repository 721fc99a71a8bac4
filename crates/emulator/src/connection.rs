//! One Live WebSocket connection: handshake, setup validation, the engine loop, timers, recording, replay.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::{self, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use protocol::models::ModelProfile;
use protocol::wire::{
    Blob, ClientMessage, Content, FunctionCall, GoAway, GroundingMetadata, Modality,
    ModalityTokenCount, Part, ProtoDuration, RealtimeInput, ServerContent, ServerMessage,
    SessionResumptionUpdate, SetupComplete, ToolCall, ToolCallCancellation, Transcription,
    UsageMetadata, VadSignalType, VoiceActivity, VoiceActivityDetectionSignal, VoiceActivityType,
    decode_base64,
};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::auth::{Identity, authenticate};
use crate::close::Close;
use crate::config::later;
use crate::engine::{
    Engine, EngineOptions, FnResponse, Input, Memory, Out, Poll, SessionSetup, Usage,
};
use crate::http::{Request, upgrade_response};
use crate::replay::{Replay, Step, client_frames_needed};
use crate::responder::{Role as TurnRole, Turn, speech_placeholder};
use crate::route::{Backend, LiveEndpoint};
use crate::server::{Io, Shared};
use crate::setup::{content_text, function_decls, session_setup};
use crate::store::ResumeError;

type Ws = WebSocketStream<TokioAdapter<Box<dyn Io>>>;

/// A resume finding its session still attached retries this many times, 10 ms apart.
const RESUME_GRACE_POLLS: u32 = 25;

/// Bytes asked of the socket per read. tungstenite zero-fills this much of its read buffer before
/// every read attempt (including those that find nothing), so its 128 KiB default cost more than
/// half of the emulator's instructions with many realtime sessions (callgrind, BENCHMARKS.md part
/// 5). Client frames are small (40 ms of 16 kHz audio is 1.8 KB of JSON); larger ones still arrive
/// whole, in several reads.
const READ_BUFFER: usize = 8 * 1024;

/// How long the server waits for the first (setup) message.
const SETUP_WAIT: Duration = Duration::from_secs(30);

/// Decodes a client frame strictly and returns its canonical JSON (camelCase, standard base64, int64 as
/// strings). Any unknown field closes with 1007 and Google's wording.
pub(crate) fn canonical(frame: &[u8]) -> Result<Value, Close> {
    to_value(&decode_strict(frame)?)
}

/// Decodes a client frame strictly: any unknown field closes with 1007 and Google's wording.
fn decode_strict(frame: &[u8]) -> Result<ClientMessage, Close> {
    let decoded = protocol::decode_client(frame).map_err(|e| {
        Close::new(
            1007,
            format!("Invalid JSON payload received. {}", e.message()),
        )
    })?;
    if let Some(field) = decoded.unknown.first() {
        return Err(Close::new(1007, field.google_reason()));
    }
    Ok(decoded.message)
}

/// What a setup message (parsed JSON, the client's own key spellings) asks for: its canonical
/// form, the engine's session settings and the model's profile, or the close Google answers with.
pub(crate) fn validated_setup(
    raw: &Value,
    endpoint: &LiveEndpoint,
    strict_models: bool,
) -> Result<(Value, SessionSetup, ModelProfile), Close> {
    let frame = serde_json::to_vec(raw).unwrap_or_default();
    let canon = canonical(&frame)?;
    if canon.as_object().is_none_or(|o| o.len() != 1) {
        return Err(Close::invalid_argument());
    }
    let setup = canon.get("setup").cloned().unwrap_or(Value::Null);
    let raw_setup = raw
        .get("setup")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (session, profile) = session_setup(&setup, &raw_setup, endpoint, strict_models)?;
    Ok((setup, session, profile))
}

/// The canonical JSON of a decoded client message.
fn to_value(message: &ClientMessage) -> Result<Value, Close> {
    serde_json::from_str(&message.to_json()).map_err(|_| Close::internal())
}

/// `audio/pcm;rate=16000` -> 16000 (plain `audio/pcm` is 16 kHz, as Google treats it).
fn pcm_rate(mime: &str) -> u32 {
    protocol::pcm_rate(mime).unwrap_or(protocol::INPUT_SAMPLE_RATE)
}

fn pcm16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn blob_bytes(blob: &Value) -> Vec<u8> {
    blob.get("data")
        .and_then(Value::as_str)
        .and_then(|d| decode_base64(d).ok())
        .unwrap_or_default()
}

fn server_content(sc: ServerContent) -> ServerMessage {
    ServerMessage {
        server_content: Some(sc),
        ..ServerMessage::default()
    }
}

/// Who sent a frame (for the recorder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Client,
    Server,
}

/// Appends frames to `DIR/<n>.jsonl` in the conformance corpus format.
#[derive(Debug)]
struct Recorder {
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl Recorder {
    fn open(shared: &Shared, n: u64, endpoint: &LiveEndpoint) -> Self {
        let file = shared.config.record_dir.as_ref().and_then(|dir| {
            let path = dir.join(format!("emulator-{n:04}.jsonl"));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).ok()?);
            let backend = if endpoint.backend == Backend::Vertex { "vertex" } else { "mldev" };
            let header = json!({"header": {"source": "gemlive-emulator", "backend": backend, "api_version": endpoint.version}});
            writeln!(f, "{header}").ok()?;
            Some(f)
        });
        Self { file }
    }

    fn frame(&mut self, dir: Direction, bytes: &[u8]) {
        let Some(f) = self.file.as_mut() else { return };
        let frame = serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        let dir = if dir == Direction::Client {
            "client"
        } else {
            "server"
        };
        let ok = writeln!(
            f,
            "{}",
            json!({"dir": dir, "bytes": bytes.len(), "frame": frame})
        )
        .and_then(|()| f.flush());
        if ok.is_err() {
            self.file = None;
        }
    }
}

/// Decrements the live-connection count when a connection ends.
struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Completes the WebSocket handshake and runs the connection to its end.
pub(crate) async fn serve(
    mut io: Box<dyn Io>,
    req: Request,
    endpoint: LiveEndpoint,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    io.write_all(upgrade_response(&req).as_bytes()).await?;
    io.flush().await?;
    let limit = shared.config.max_message_bytes;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
        .read_buffer_size(READ_BUFFER);
    let ws = WebSocketStream::from_partially_read(
        TokioAdapter::new(io),
        req.rest.clone(),
        Role::Server,
        Some(ws_config),
    )
    .await;
    let live = shared.live.fetch_add(1, Ordering::Relaxed) + 1;
    let _guard = LiveGuard(shared.clone());
    let n = shared.next_connection();
    let mut conn = Connection {
        recorder: Recorder::open(&shared, n, &endpoint),
        ws,
        shared,
        endpoint,
        number: n,
        consumed: 0,
        transparent: false,
        token_expiry: None,
        refuse_media_chunks: false,
        pong_delay: None,
    };
    if let Some(replay) = conn.shared.replay.clone() {
        return conn.replay(&req, &replay, stop).await;
    }
    conn.run(&req, live, stop).await
}

/// What receiving produced.
enum Recv {
    Frame(Vec<u8>),
    Ended,
    TooBig,
}

pub(crate) struct Connection {
    ws: Ws,
    shared: Arc<Shared>,
    endpoint: LiveEndpoint,
    recorder: Recorder,
    number: u64,
    /// Client messages consumed after the setup (for `lastConsumedClientMessageIndex`).
    consumed: i64,
    transparent: bool,
    token_expiry: Option<SystemTime>,
    /// `--strict-models` and the model refuses `realtimeInput.mediaChunks`.
    refuse_media_chunks: bool,
    /// Script fault: answer pings this late.
    pong_delay: Option<Duration>,
}

impl Connection {
    async fn recv(&mut self) -> Recv {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => return Recv::Frame(t.as_bytes().to_vec()),
                Some(Ok(Message::Binary(b))) => return Recv::Frame(b.to_vec()),
                // The pong is queued and goes out with the next read or write: stalling here delays it.
                Some(Ok(Message::Ping(_))) => {
                    if let Some(d) = self.pong_delay {
                        tokio::time::sleep(d).await;
                    }
                }
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(tungstenite::Error::Capacity(_))) => return Recv::TooBig,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return Recv::Ended,
            }
        }
    }

    /// Sends a server message as Google does: a binary frame of pretty-printed camelCase JSON.
    async fn send(&mut self, msg: &ServerMessage) -> bool {
        self.send_raw(Bytes::from(msg.to_json_pretty())).await
    }

    async fn send_raw(&mut self, frame: Bytes) -> bool {
        self.recorder.frame(Direction::Server, &frame);
        self.ws.send(Message::Binary(frame)).await.is_ok()
    }

    async fn close(&mut self, close: &Close) {
        tracing::debug!(code = close.code, reason = %close.reason, "closing");
        let frame = CloseFrame {
            code: close.code.into(),
            reason: close.reason.clone().into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        // Let the client's close frame arrive so the TCP connection ends cleanly.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while self.ws.next().await.is_some() {}
        })
        .await;
    }

    /// Validates the first message; on success returns the engine and the session id.
    fn admit(
        &mut self,
        req: &Request,
        first: &[u8],
        live: usize,
    ) -> Result<(Engine, u64), Refusal> {
        if live > self.shared.config.max_sessions {
            return Err(Close::quota().into());
        }
        let identity = authenticate(req, &self.endpoint, self.shared.config.api_key.as_deref())?;
        canonical(first)?;
        // Valid JSON from here on; the raw form keeps the client's key spellings for Google-style reasons.
        let mut raw: Value =
            serde_json::from_slice(first).map_err(|_| Refusal::from(Close::invalid_argument()))?;
        let resume_handle = {
            let Some(setup) = raw.get("setup").and_then(Value::as_object) else {
                return Err(Close::invalid_argument().into());
            };
            let sr = setup
                .get("sessionResumption")
                .or_else(|| setup.get("session_resumption"));
            sr.and_then(|s| s.get("handle"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Identity::Token(name) = &identity {
            let record =
                self.shared
                    .tokens
                    .admit(name, SystemTime::now(), resume_handle.is_some())?;
            self.token_expiry = Some(record.expire_time);
            if let Some(setup) = raw.get_mut("setup").and_then(Value::as_object_mut) {
                record.lock_setup(setup);
            }
        }
        let (setup, session, profile) =
            validated_setup(&raw, &self.endpoint, self.shared.config.strict_models)?;
        self.refuse_media_chunks =
            self.shared.config.strict_models && !profile.accepts_media_chunks;
        self.transparent = session.resumption
            && self.endpoint.backend == Backend::Vertex
            && setup
                .get("sessionResumption")
                .and_then(|s| s.get("transparent"))
                .and_then(Value::as_bool)
                == Some(true);
        let model = setup
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let store = &self.shared.sessions;
        let (sid, memory) = match resume_handle {
            Some(h) => {
                match store.resume(&h, model, Instant::now(), self.shared.config.resumption_ttl) {
                    Ok(found) => found,
                    Err(ResumeError::Busy) => return Err(Refusal::Busy),
                    Err(ResumeError::Invalid) => return Err(Close::invalid_argument().into()),
                }
            }
            None => (store.create(model), Memory::default()),
        };
        let opts = EngineOptions {
            speed: self.shared.config.speed,
            audio_chunk: self.shared.config.audio_chunk,
            voice: self.shared.config.voice,
            seed: self.shared.seed,
            script: self.shared.script.clone(),
        };
        Ok((Engine::new(session, opts, memory), sid))
    }

    async fn run(
        &mut self,
        req: &Request,
        live: usize,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let first = tokio::select! {
            _ = stop.changed() => return Ok(()),
            first = tokio::time::timeout(SETUP_WAIT, self.recv()) => first,
        };
        let first = match first {
            Ok(Recv::Frame(f)) => f,
            Ok(Recv::TooBig) => {
                self.close(&Close::too_big(self.shared.config.max_message_bytes))
                    .await;
                return Ok(());
            }
            Ok(Recv::Ended) | Err(_) => return Ok(()),
        };
        self.recorder.frame(Direction::Client, &first);
        let mut attempt = 0;
        let (mut engine, sid) = loop {
            let close = match self.admit(req, &first, live) {
                Ok(ok) => break ok,
                // A resume racing the old connection's close: give it a moment to detach, as a client that
                // closed first expects. An old connection that stays open gets Google's 1011.
                Err(Refusal::Busy) if attempt < RESUME_GRACE_POLLS => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(Refusal::Busy) => Close::internal(),
                Err(Refusal::Close(close)) => close,
            };
            self.close(&close).await;
            return Ok(());
        };
        let end = self.session(&mut engine, sid, &mut stop).await;
        self.shared
            .sessions
            .detach(sid, engine.memory().clone(), Instant::now());
        match end {
            End::Close(c) => self.close(&c).await,
            End::Drop | End::Gone => {}
        }
        Ok(())
    }

    async fn session(
        &mut self,
        engine: &mut Engine,
        sid: u64,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let start = Instant::now();
        let lifetime = self.shared.config.connection_lifetime;
        let end_at = later(start, lifetime);
        let go_away_at = later(
            start,
            lifetime.saturating_sub(self.shared.config.go_away_notice),
        );
        let mut go_away_sent = false;
        let session_id = (self.endpoint.backend == Backend::Vertex)
            .then(|| crate::ids::uuid(self.shared.seed, "session", self.number));
        let complete = ServerMessage {
            setup_complete: Some(SetupComplete {
                session_id,
                ..SetupComplete::default()
            }),
            ..ServerMessage::default()
        };
        if !self.send(&complete).await {
            return End::Gone;
        }
        if engine.setup_resumption()
            && !self
                .resumption_update(engine, sid, engine.resumable())
                .await
        {
            return End::Gone;
        }
        loop {
            let wake = loop {
                match engine.poll(Instant::now()) {
                    Poll::Send(out) => {
                        if let Some(end) = self.emit(engine, sid, out).await {
                            return end;
                        }
                    }
                    Poll::Wait(w) => break w,
                }
            };
            let now = Instant::now();
            if now >= end_at {
                return End::Close(Close::deadline_expired());
            }
            if now >= go_away_at && !go_away_sent {
                go_away_sent = true;
                let left = end_at.saturating_duration_since(now);
                let go_away = GoAway {
                    time_left: Some(ProtoDuration(left)),
                };
                if !self
                    .send(&ServerMessage {
                        go_away: Some(go_away),
                        ..ServerMessage::default()
                    })
                    .await
                {
                    return End::Gone;
                }
            }
            let timer = [wake, (!go_away_sent).then_some(go_away_at), Some(end_at)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end_at);
            tokio::select! {
                _ = stop.changed() => return End::Close(Close::new(1001, "The service is shutting down.")),
                frame = self.recv() => match frame {
                    Recv::Frame(f) => {
                        self.recorder.frame(Direction::Client, &f);
                        match self.inputs(&f) {
                            Ok(inputs) => {
                                let now = Instant::now();
                                for input in inputs {
                                    engine.handle(input, now);
                                }
                            }
                            Err(close) => return End::Close(close),
                        }
                    }
                    Recv::TooBig => return End::Close(Close::too_big(self.shared.config.max_message_bytes)),
                    Recv::Ended => return End::Gone,
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(timer)) => {}
            }
        }
    }

    async fn resumption_update(&mut self, engine: &Engine, sid: u64, resumable: bool) -> bool {
        let update = SessionResumptionUpdate {
            new_handle: resumable.then(|| {
                self.shared
                    .sessions
                    .checkpoint(sid, engine.memory(), self.shared.seed)
            }),
            resumable: Some(resumable),
            last_consumed_client_message_index: self.transparent.then_some(self.consumed),
        };
        self.send(&ServerMessage {
            session_resumption_update: Some(update),
            ..ServerMessage::default()
        })
        .await
    }

    /// Sends one engine output; `Some` ends the connection.
    async fn emit(&mut self, engine: &Engine, sid: u64, out: Out) -> Option<End> {
        let vertex = self.endpoint.backend == Backend::Vertex;
        let model_turn = |part: Part| Content {
            role: vertex.then(|| "model".to_owned()),
            parts: vec![part],
        };
        let msg = match out {
            Out::Text(text) => server_content(ServerContent {
                model_turn: Some(model_turn(Part {
                    text: Some(text),
                    ..Part::default()
                })),
                ..ServerContent::default()
            }),
            Out::Audio { pcm, transcript } => {
                let mime = if vertex {
                    "audio/pcm"
                } else {
                    "audio/pcm;rate=24000"
                };
                let part = Part {
                    inline_data: Some(Blob::new(mime, pcm)),
                    ..Part::default()
                };
                server_content(ServerContent {
                    model_turn: Some(model_turn(part)),
                    output_transcription: transcript.map(|t| Transcription {
                        text: Some(t),
                        ..Transcription::default()
                    }),
                    ..ServerContent::default()
                })
            }
            Out::InputTranscript(t) => server_content(ServerContent {
                input_transcription: Some(Transcription {
                    text: Some(t),
                    finished: vertex.then_some(true),
                    ..Transcription::default()
                }),
                ..ServerContent::default()
            }),
            Out::GenerationComplete => server_content(ServerContent {
                generation_complete: Some(true),
                ..ServerContent::default()
            }),
            Out::Interrupted => server_content(ServerContent {
                interrupted: Some(true),
                ..ServerContent::default()
            }),
            Out::TurnComplete(u) => ServerMessage {
                usage_metadata: Some(usage_metadata(&u, vertex)),
                // Vertex sends an empty groundingMetadata alongside turnComplete.
                ..server_content(ServerContent {
                    turn_complete: Some(true),
                    grounding_metadata: vertex.then(GroundingMetadata::default),
                    ..ServerContent::default()
                })
            },
            Out::ToolCall(calls) => {
                let function_calls = calls
                    .into_iter()
                    .map(|c| FunctionCall {
                        id: Some(c.id),
                        name: c.name,
                        args: Some(c.args),
                        ..FunctionCall::default()
                    })
                    .collect();
                ServerMessage {
                    tool_call: Some(ToolCall { function_calls }),
                    ..ServerMessage::default()
                }
            }
            Out::ToolCallCancellation(ids) => ServerMessage {
                tool_call_cancellation: Some(ToolCallCancellation { ids }),
                ..ServerMessage::default()
            },
            Out::VoiceActivity { start, offset } => ServerMessage {
                voice_activity: Some(VoiceActivity {
                    r#type: Some(if start {
                        VoiceActivityType::ActivityStart
                    } else {
                        VoiceActivityType::ActivityEnd
                    }),
                    audio_offset: Some(ProtoDuration(offset)),
                }),
                ..ServerMessage::default()
            },
            Out::Resumption { resumable } => {
                return (!self.resumption_update(engine, sid, resumable).await)
                    .then_some(End::Gone);
            }
            Out::Close(c) => return Some(End::Close(c)),
            Out::Drop => return Some(End::Drop),
            Out::VadSignal { start } => ServerMessage {
                voice_activity_detection_signal: Some(VoiceActivityDetectionSignal {
                    vad_signal_type: Some(if start {
                        VadSignalType::StartOfSpeech
                    } else {
                        VadSignalType::EndOfSpeech
                    }),
                }),
                ..ServerMessage::default()
            },
            Out::SlowPongs(d) => {
                self.pong_delay = Some(d);
                return None;
            }
            Out::Malformed => {
                let bad = Bytes::from_static(b"{\n  \"serverContent\": {\n    \"modelTurn\": \n");
                return (!self.send_raw(bad).await).then_some(End::Gone);
            }
        };
        (!self.send(&msg).await).then_some(End::Gone)
    }

    /// Decodes a client message after the setup into engine inputs.
    fn inputs(&mut self, frame: &[u8]) -> Result<Vec<Input>, Close> {
        if self.token_expiry.is_some_and(|t| SystemTime::now() >= t) {
            return Err(Close::missing_auth_token());
        }
        let inputs = Self::inputs_of(frame, self.refuse_media_chunks)?;
        self.consumed += 1;
        Ok(inputs)
    }

    /// The engine inputs of a client message after the setup (`refuse_media_chunks`: the model
    /// refuses `realtimeInput.mediaChunks`), or the close Google answers with.
    pub(crate) fn inputs_of(frame: &[u8], refuse_media_chunks: bool) -> Result<Vec<Input>, Close> {
        let message = decode_strict(frame)?;
        if let ClientMessage::RealtimeInput(input) = &message {
            // The hot path of a realtime session (audio every 20 to 100 ms): straight from the typed
            // message, whose audio is already decoded, without the JSON round trip below.
            return Self::realtime_inputs(input, refuse_media_chunks);
        }
        let v = to_value(&message)?;
        let Some((key, body)) = v
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return Err(Close::invalid_argument());
        };
        let mut inputs = Vec::new();
        match key.as_str() {
            "clientContent" => {
                let turns = body
                    .get("turns")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().map(turn_of).collect())
                    .unwrap_or_default();
                let turn_complete = body
                    .get("turnComplete")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                inputs.push(Input::ClientContent {
                    turns,
                    turn_complete,
                });
            }
            "toolResponse" => {
                let responses = body
                    .get("functionResponses")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|r| FnResponse {
                                id: r.get("id").and_then(Value::as_str).map(str::to_owned),
                                name: r.get("name").and_then(Value::as_str).map(str::to_owned),
                                response: r.get("response").cloned().unwrap_or(Value::Null),
                                scheduling: r
                                    .get("scheduling")
                                    .and_then(Value::as_str)
                                    .map(str::to_ascii_uppercase),
                                will_continue: r.get("willContinue").and_then(Value::as_bool)
                                    == Some(true),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                inputs.push(Input::ToolResponse(responses));
            }
            "contextUpdate" => inputs.push(Input::ContextUpdate {
                system_instruction: body.get("systemInstruction").map(content_text),
                functions: body
                    .get("tools")
                    .map(|t| function_decls(t.get("tools").unwrap_or(&Value::Null), false)),
            }),
            _ => return Err(Close::invalid_argument()),
        }
        Ok(inputs)
    }

    /// The engine inputs of one `realtimeInput` message, in the order the fields take effect.
    fn realtime_inputs(
        body: &RealtimeInput,
        refuse_media_chunks: bool,
    ) -> Result<Vec<Input>, Close> {
        if refuse_media_chunks && body.media_chunks.is_some() {
            return Err(Close::invalid_argument());
        }
        let mut inputs = Vec::new();
        let chunk = body.media_chunks.as_ref().and_then(|c| c.first());
        for blob in [body.audio.as_ref(), chunk].into_iter().flatten() {
            let mime = if blob.mime_type.is_empty() {
                "audio/pcm"
            } else {
                blob.mime_type.as_str()
            };
            if mime.starts_with("audio/") {
                inputs.push(Input::Audio {
                    pcm: pcm16(blob.data.as_bytes()),
                    rate: pcm_rate(mime),
                });
            } else if mime.starts_with("image/") || mime.starts_with("video/") {
                inputs.push(Input::Video);
            }
        }
        if body.video.is_some() {
            inputs.push(Input::Video);
        }
        if body.activity_start.is_some() {
            inputs.push(Input::ActivityStart);
        }
        if let Some(t) = &body.text {
            inputs.push(Input::Text(t.clone()));
        }
        if body.activity_end.is_some() {
            inputs.push(Input::ActivityEnd);
        }
        if body.audio_stream_end == Some(true) {
            inputs.push(Input::AudioStreamEnd);
        }
        Ok(inputs)
    }

    /// Replay mode: plays the recording's server frames, waiting for the client's frames in between.
    async fn replay(
        &mut self,
        req: &Request,
        replay: &Replay,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let steps = replay.connection(usize::try_from(self.number - 1).unwrap_or(usize::MAX));
        let needed = client_frames_needed(steps);
        let origin = steps.first().and_then(|s| s.at).unwrap_or_default();
        let mut received = 0;
        let start = Instant::now();
        for (i, step) in steps.iter().enumerate() {
            if matches!(step.step, Step::Client(_)) {
                continue;
            }
            while received < needed[i] {
                let frame = tokio::select! {
                    _ = stop.changed() => return Ok(()),
                    r = self.recv() => r,
                };
                match frame {
                    Recv::Frame(bytes) => {
                        self.recorder.frame(Direction::Client, &bytes);
                        let api_key = self.shared.config.api_key.as_deref();
                        if received == 0
                            && let Err(close) = authenticate(req, &self.endpoint, api_key)
                        {
                            self.close(&close).await;
                            return Ok(());
                        }
                        received += 1;
                    }
                    Recv::TooBig => {
                        self.close(&Close::too_big(self.shared.config.max_message_bytes))
                            .await;
                        return Ok(());
                    }
                    Recv::Ended => return Ok(()),
                }
            }
            if let Some(at) = step.at {
                let due = later(start, self.shared.config.paced(at.saturating_sub(origin)));
                tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            }
            let frame = match &step.step {
                Step::Server(v) => {
                    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
                    text.push('\n');
                    text
                }
                Step::ServerRaw(raw) => raw.clone(),
                Step::Close { code, reason } => {
                    self.close(&Close::new(*code, reason.clone())).await;
                    return Ok(());
                }
                Step::Drop | Step::Client(_) => return Ok(()),
            };
            if !self.send_raw(Bytes::from(frame)).await {
                return Ok(());
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = async { while !matches!(self.recv().await, Recv::Ended) {} } => {}
        }
        Ok(())
    }
}

/// Why a first message does not start a session.
enum Refusal {
    /// Close with this.
    Close(Close),
    /// The session to resume is still held by another connection.
    Busy,
}

impl From<Close> for Refusal {
    fn from(close: Close) -> Self {
        Self::Close(close)
    }
}

/// How a session ended.
enum End {
    Close(Close),
    /// Drop the TCP connection without a close frame (script fault).
    Drop,
    /// The client went away.
    Gone,
}

fn turn_of(content: &Value) -> Turn {
    let role = match content.get("role").and_then(Value::as_str) {
        Some("model") => TurnRole::Model,
        _ => TurnRole::User,
    };
    let mut text = content_text(content);
    if let Some(parts) = content.get("parts").and_then(Value::as_array) {
        for p in parts {
            let Some(blob) = p.get("inlineData") else {
                continue;
            };
            let mime = blob
                .get("mimeType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let note = if mime.starts_with("audio/") {
                let secs = blob_bytes(blob).len() as f64 / 2.0 / f64::from(pcm_rate(mime));
                speech_placeholder(secs)
            } else {
                format!("[{mime}]")
            };
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&note);
        }
    }
    Turn { role, text }
}

fn usage_metadata(u: &Usage, vertex: bool) -> UsageMetadata {
    let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    let detail = |modality: Modality, n: i64| ModalityTokenCount {
        modality: Some(modality),
        token_count: Some(count(n)),
    };
    let prompt = u.prompt_text + u.prompt_audio + u.prompt_image;
    let prompt_details = [
        (Modality::Text, u.prompt_text),
        (Modality::Audio, u.prompt_audio),
        (Modality::Image, u.prompt_image),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(m, n)| detail(m, n))
    .collect();
    let response_details = vec![detail(
        if u.response_audio {
            Modality::Audio
        } else {
            Modality::Text
        },
        u.response,
    )];
    let mut meta = UsageMetadata {
        prompt_token_count: Some(count(prompt)),
        total_token_count: Some(count(prompt + u.response)),
        prompt_tokens_details: Some(prompt_details),
        ..UsageMetadata::default()
    };
    if vertex {
        meta.candidates_token_count = Some(count(u.response));
        meta.candidates_tokens_details = Some(response_details);
    } else {
        meta.response_token_count = Some(count(u.response));
        meta.response_tokens_details = Some(response_details);
    }
    meta
}
