//! One Live WebSocket connection: handshake, setup validation, the engine loop, timers, closes.
//!
//! Every end is a proper WebSocket close except the deliberate `drop` fault: the client's close
//! is answered, the emulator's own closes carry Google's codes and reasons, a message over the
//! size limit gets 1009 (its rest is read and dropped so that the client reads the close rather
//! than a reset), invalid UTF-8 gets 1007, a protocol error 1002, shutdown 1001. A client that
//! stops reading is dropped once a write has waited [`EmulatorConfig::write_timeout`].
//!
//! [`EmulatorConfig::write_timeout`]: crate::EmulatorConfig::write_timeout

mod emit;
mod inputs;
mod replay;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use async_tungstenite::tungstenite::{self, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use http_server::{Io, Request};
use protocol::models::ModelProfile;
use protocol::wire::{
    GoAway, ProtoDuration, ServerMessage, SessionResumptionUpdate, SetupComplete,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::auth::{Identity, authenticate};
use crate::close::Close;
use crate::config::later;
use crate::engine::{Engine, EngineOptions, Memory, Out, Poll, SessionSetup};
use crate::recorder::{Direction, Recorder};
use crate::route::{Backend, LiveEndpoint};
use crate::server::Shared;
use crate::setup::session_setup;
use crate::store::ResumeError;

pub(crate) use inputs::{canonical, decode_strict, inputs};

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
/// How long a close waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// After a 1009 close, the rest of the message is read and dropped (up to this much, for up to
/// [`DRAIN_WAIT`], until the client pauses for [`DRAIN_IDLE`]), so that the client reads the
/// close instead of a connection reset.
const DRAIN_LIMIT: u64 = 256 << 20;
const DRAIN_WAIT: Duration = Duration::from_secs(10);
const DRAIN_IDLE: Duration = Duration::from_millis(300);

/// Decrements the live-connection count when a connection ends.
struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Completes the WebSocket handshake and runs the connection to its end.
pub(crate) async fn serve(
    io: Box<dyn Io>,
    mut req: Request,
    endpoint: LiveEndpoint,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limit = shared.config.max_message_bytes;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
        .read_buffer_size(READ_BUFFER);
    let ws = http_server::accept_websocket(io, &mut req, ws_config).await?;
    let live = shared.live.fetch_add(1, Ordering::Relaxed) + 1;
    let guard = LiveGuard(shared.clone());
    let n = shared.next_connection();
    let mut conn = Connection {
        recorder: Recorder::open(shared.config.record_dir.as_deref(), n, &endpoint),
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
    let end = match conn.shared.replay.clone() {
        Some(replay) => conn.replay(&req, &replay, stop).await,
        None => conn.run(&req, live, stop).await,
    };
    // The session is over: its slot is free while the closing handshake runs.
    drop(guard);
    conn.end(end).await;
    Ok(())
}

/// What receiving produced.
enum Recv {
    Frame(Vec<u8>),
    /// The client closed.
    Closed,
    /// A frame the connection closes for.
    Refused(End),
    /// The connection is gone.
    Gone,
}

/// How a connection ends.
pub(crate) enum End {
    /// The emulator closes with this.
    Close(Close),
    /// The emulator closes with this (1009), then reads and drops the rest of the message.
    CloseAndDrain(Close),
    /// The client closed: answer its close frame.
    ClientClosed,
    /// Drop the TCP connection without a close frame (script fault).
    Drop,
    /// The client went away (or stopped reading).
    Gone,
}

struct Connection {
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
                Some(Ok(Message::Close(_))) => return Recv::Closed,
                Some(Err(tungstenite::Error::Capacity(_))) => {
                    let limit = self.shared.config.max_message_bytes;
                    return Recv::Refused(End::CloseAndDrain(Close::too_big(limit)));
                }
                Some(Err(tungstenite::Error::Utf8(_))) => {
                    return Recv::Refused(End::Close(Close::new(
                        1007,
                        "Invalid JSON payload received. A text frame is not valid UTF-8.",
                    )));
                }
                Some(Err(tungstenite::Error::Protocol(e))) => {
                    return Recv::Refused(End::Close(Close::new(
                        1002,
                        format!("WebSocket protocol error: {e}"),
                    )));
                }
                Some(Err(_)) | None => return Recv::Gone,
            }
        }
    }

    /// Sends a server message as Google does: a binary frame of pretty-printed camelCase JSON.
    async fn send(&mut self, msg: &ServerMessage) -> bool {
        self.send_raw(Bytes::from(msg.to_json_pretty())).await
    }

    /// `false` when the client is gone, or has not read for the write timeout.
    async fn send_raw(&mut self, frame: Bytes) -> bool {
        self.recorder.frame(Direction::Server, &frame);
        let wait = self.shared.config.write_timeout;
        matches!(
            tokio::time::timeout(wait, self.ws.send(Message::Binary(frame))).await,
            Ok(Ok(()))
        )
    }

    /// Ends the connection as `end` says.
    async fn end(&mut self, end: End) {
        match end {
            End::Close(c) => self.close(&c).await,
            End::CloseAndDrain(c) => {
                self.close_frame(&c).await;
                self.drain().await;
            }
            End::ClientClosed => {
                // tungstenite queued the echo of the client's close; the next read sends it
                // (and then ends the stream).
                let wait = self.shared.config.write_timeout;
                let _ = tokio::time::timeout(wait, self.ws.next()).await;
            }
            End::Drop | End::Gone => {}
        }
    }

    async fn close_frame(&mut self, close: &Close) {
        tracing::debug!(code = close.code, reason = %close.reason, "closing");
        let frame = CloseFrame {
            code: close.code.into(),
            reason: close.reason.clone().into(),
        };
        let wait = self.shared.config.write_timeout;
        let _ = tokio::time::timeout(wait, self.ws.close(Some(frame))).await;
    }

    /// Closes, then lets the client's close frame arrive so the TCP connection ends cleanly.
    async fn close(&mut self, close: &Close) {
        self.close_frame(close).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while self.ws.next().await.is_some() {}
        })
        .await;
    }

    /// Reads and drops what the client still sends, within limits.
    async fn drain(&mut self) {
        let io = self.ws.get_mut().get_mut();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        let _ = tokio::time::timeout(DRAIN_WAIT, async {
            while total < DRAIN_LIMIT {
                match tokio::time::timeout(DRAIN_IDLE, io.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => total += n as u64,
                    _ => break,
                }
            }
        })
        .await;
        let _ = io.shutdown().await;
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
        let config = &self.shared.config;
        let identity = authenticate(
            req,
            &self.endpoint,
            config.api_key.as_deref(),
            config.anonymous,
        )?;
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

    async fn run(&mut self, req: &Request, live: usize, mut stop: watch::Receiver<bool>) -> End {
        let first = tokio::select! {
            _ = stop.changed() => return End::Close(Close::going_away()),
            first = tokio::time::timeout(SETUP_WAIT, self.recv()) => first,
        };
        let first = match first {
            Ok(Recv::Frame(f)) => f,
            Ok(Recv::Refused(end)) => return end,
            Ok(Recv::Closed) => return End::ClientClosed,
            Ok(Recv::Gone) => return End::Gone,
            Err(_) => return End::Close(Close::deadline_expired()),
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
            return End::Close(close);
        };
        let end = self.session(&mut engine, sid, &mut stop).await;
        self.shared
            .sessions
            .detach(sid, engine.memory().clone(), Instant::now());
        end
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
                _ = stop.changed() => return End::Close(Close::going_away()),
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
                    Recv::Refused(end) => return end,
                    Recv::Closed => return End::ClientClosed,
                    Recv::Gone => return End::Gone,
                },
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(timer)) => {}
            }
        }
    }

    /// Decodes a client message after the setup into engine inputs.
    fn inputs(&mut self, frame: &[u8]) -> Result<Vec<crate::engine::Input>, Close> {
        if self.token_expiry.is_some_and(|t| SystemTime::now() >= t) {
            return Err(Close::missing_auth_token());
        }
        let message = decode_strict(frame)?;
        self.consumed += 1;
        inputs(&message, self.refuse_media_chunks)
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
        match out {
            Out::Resumption { resumable } => {
                (!self.resumption_update(engine, sid, resumable).await).then_some(End::Gone)
            }
            Out::Close(c) => Some(End::Close(c)),
            Out::Drop => Some(End::Drop),
            Out::SlowPongs(d) => {
                self.pong_delay = Some(d);
                None
            }
            Out::Malformed => {
                let bad = Bytes::from_static(b"{\n  \"serverContent\": {\n    \"modelTurn\": \n");
                (!self.send_raw(bad).await).then_some(End::Gone)
            }
            out => {
                let vertex = self.endpoint.backend == Backend::Vertex;
                let msg = emit::message(out, vertex)?;
                (!self.send(&msg).await).then_some(End::Gone)
            }
        }
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
