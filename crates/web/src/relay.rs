//! One relayed conversation: the page's WebSocket on one side, a Live session (held by
//! [`crate::upstream`]) on the other, and the server's tools answering the model's calls. The
//! relay forwards; it keeps no state a reload would need (the page holds the sealed handle), so
//! any instance can serve the next connection.
//!
//! One task per conversation. One command to the Live session is under way at a time; the page's
//! next message is read and held meanwhile, and later ones wait in its socket (so the order holds,
//! and a slow upstream slows the page down instead of piling frames up). The session's events
//! and the tools' progress keep flowing to the page all along: while the transport moves the
//! session to a new connection, the page hears why and when, not silence, and a page that
//! leaves meanwhile is noticed at once.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{Fuse, FusedFuture, FutureExt};
use http_server::Io;
use protocol::Event;
use protocol::wire::FunctionResponse;
use tokio::sync::watch;
use tools::{ToolEvent, ToolEvents};
use transport::{LiveEvents, LiveSender};

use crate::page::{self, FromPage, ToPage};
use crate::server::Shared;
use crate::settings::text_via_realtime_input;

/// The page's stream.
pub(crate) type PageSocket = WebSocketStream<TokioAdapter<Box<dyn Io>>>;

/// How long the page has to send `start`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest audio frame from the page: one second of 16 kHz PCM16.
const MAX_AUDIO_FRAME: usize = 32_000;
/// Largest JSON message from the page other than a video frame.
const MAX_TEXT_MESSAGE: usize = 32 * 1024;
/// Largest message of any kind (a video frame in base64).
pub(crate) const MAX_MESSAGE: usize = 4 << 20;
/// How much the page's socket reads at a time. The page sends 1 KB audio frames; tungstenite
/// zero-fills this much before every read, so its default (128 KiB) cost the relay 11% of its
/// CPU in zeroing alone (perf, 500 sessions). Larger messages (video) arrive in several reads.
pub(crate) const READ_BUFFER: usize = 4 * 1024;
/// How long to wait for the session's last events after the page ended it.
const END_GRACE: Duration = Duration::from_secs(2);

/// Counts an open relayed session while it lives.
struct OpenSession(Arc<Shared>);

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.metrics.sessions_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A Live session opened for the page.
struct Opened {
    sender: LiveSender,
    events: LiveEvents,
    model: String,
    /// The server's tools at work, and the names of the functions they answer.
    tools: Option<(ToolEvents, HashSet<String>)>,
}

/// Runs the conversation to its end, or until the server stops (`stopped`).
pub(crate) async fn run(
    mut ws: PageSocket,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let opened = tokio::select! {
        opened = open(&mut ws, &shared) => opened,
        () = stopping(&mut stopped) => None,
    };
    let Some(opened) = opened else {
        shared.metrics.refused.fetch_add(1, Ordering::Relaxed);
        let _ = ws.close(None).await;
        return;
    };
    shared
        .metrics
        .sessions_total
        .fetch_add(1, Ordering::Relaxed);
    shared.metrics.sessions_open.fetch_add(1, Ordering::Relaxed);
    let _open = OpenSession(shared.clone());
    let (tool_events, served) = opened.tools.unzip();
    let mut relay = Relay {
        ws,
        events: opened.events,
        tool_events,
        served: served.unwrap_or_default(),
        text_via_realtime_input: text_via_realtime_input(&opened.model),
        model: opened.model,
        shared,
        sealed_for: None,
        go_away: false,
        stopped,
    };
    relay.forward(&opened.sender).await;
}

/// Waits for `start`, opens (or resumes) the Live session with the server's tools declared, and
/// says `ready`; on failure, tells the page why.
async fn open(ws: &mut PageSocket, shared: &Shared) -> Option<Opened> {
    let first = match tokio::time::timeout(START_TIMEOUT, ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(_) => return None,
        Err(_) => {
            say_error(ws, "no start message in time").await;
            return None;
        }
    };
    let (settings, resume) = match serde_json::from_str::<FromPage>(&first) {
        Ok(FromPage::Start { settings, resume }) => (settings, resume),
        Ok(_) => {
            say_error(ws, "the first message must be `start`").await;
            return None;
        }
        Err(e) => {
            say_error(ws, &format!("bad start message: {e}")).await;
            return None;
        }
    };
    let model = match shared
        .upstream
        .model_name(settings.model_or(&shared.default_model))
    {
        Ok(m) => m,
        Err(e) => {
            say_error(ws, &e).await;
            return None;
        }
    };
    let mut setup = match settings.setup(model.clone()) {
        Ok(s) => s,
        Err(e) => {
            say_error(ws, &e.0).await;
            return None;
        }
    };
    let dispatcher = if shared.tools.is_empty() {
        None
    } else {
        match shared.tools.declare(&mut setup, shared.upstream.backend()) {
            Ok(d) => Some(d),
            Err(e) => {
                say_error(ws, &format!("the server's tools: {e}")).await;
                return None;
            }
        }
    };
    let handle = match resume.map(|sealed| shared.sealer.open(&sealed, &model)) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(why)) => {
            say_error(ws, why).await;
            return None;
        }
    };
    let resumed = handle.is_some();
    let tap = dispatcher.as_ref().map(tools::Dispatcher::event_tap);
    match shared.upstream.open(setup, handle, tap).await {
        Ok((sender, events)) => {
            let tools = dispatcher.map(|d| {
                let served = d.tools().map(|(name, _)| name.to_owned()).collect();
                (d.start(&sender), served)
            });
            let ready = ToPage::Ready {
                model: &model,
                resumed,
            };
            ws.send(Message::text(ready.to_json())).await.ok()?;
            Some(Opened {
                sender,
                events,
                model,
                tools,
            })
        }
        Err(e) => {
            if let Some(close) = e.close() {
                let _ = ws
                    .send(Message::text(ToPage::Closed(close.into()).to_json()))
                    .await;
            } else {
                tracing::warn!("cannot open a relayed session: {e}");
                say_error(ws, &format!("cannot reach the Live API: {e}")).await;
            }
            None
        }
    }
}

async fn say_error(ws: &mut PageSocket, message: &str) {
    let _ = ws
        .send(Message::text(ToPage::Error { message }.to_json()))
        .await;
}

/// A command for the Live session, from the page.
enum Uplink {
    Audio(Bytes),
    Video(Bytes, String),
    Text(String),
    UserTurn(String),
    ActivityStart,
    ActivityEnd,
    AudioStreamEnd,
    ToolResponse(Vec<FunctionResponse>),
}

impl Uplink {
    /// Audio and video count in the uplink latency histogram.
    fn is_media(&self) -> bool {
        matches!(self, Self::Audio(_) | Self::Video(..))
    }

    /// Hands the command to the session; resolves once its frame is on the Live connection.
    async fn send(self, sender: &LiveSender) -> Result<(), transport::Error> {
        match self {
            Self::Audio(pcm) => sender.send_audio(pcm, 16_000).await,
            Self::Video(image, mime_type) => sender.send_video(image, mime_type).await,
            Self::Text(text) => sender.send_text(text).await,
            Self::UserTurn(text) => sender.send_user_turn(text).await,
            Self::ActivityStart => sender.send_activity_start().await,
            Self::ActivityEnd => sender.send_activity_end().await,
            Self::AudioStreamEnd => sender.send_audio_stream_end().await,
            Self::ToolResponse(responses) => sender.send_tool_response(responses).await,
        }
    }
}

struct Relay {
    ws: PageSocket,
    events: LiveEvents,
    tool_events: Option<ToolEvents>,
    /// Functions the server's tools answer: their calls are not the page's to answer.
    served: HashSet<String>,
    model: String,
    text_via_realtime_input: bool,
    shared: Arc<Shared>,
    /// The upstream handle last sealed for the page.
    sealed_for: Option<String>,
    /// The server announced the end of the current Live connection.
    go_away: bool,
    /// This server stops.
    stopped: watch::Receiver<bool>,
}

/// What to do after a step.
enum Step {
    Go,
    /// Send this to the Live session.
    Send(Uplink),
    /// The page left: close the session.
    PageGone,
    /// The page ended the conversation: close it and pass on the last events.
    End,
    /// The session is over (already told to the page).
    Over,
    /// This server stops: close the session, and let the page resume it elsewhere.
    Stop,
}

impl Relay {
    async fn forward(&mut self, sender: &LiveSender) {
        // The command under way (one at a time), when its frame was read from the page, and the
        // page's next message, read meanwhile so that a page that leaves is noticed at once.
        let mut in_flight = pin!(Fuse::terminated());
        let mut read_at: Option<Instant> = None;
        let mut next: Option<(Message, Instant)> = None;
        let step = loop {
            let (step, read) = tokio::select! {
                event = self.events.next() => (self.on_live(event).await, None),
                event = next_tool(self.tool_events.as_mut()) => (self.on_tool(event).await, None),
                () = stopping(&mut self.stopped) => (Step::Stop, None),
                sent = &mut in_flight, if !in_flight.is_terminated() => {
                    if let Some(read) = read_at.take() {
                        self.shared.metrics.uplink.record(read.elapsed());
                    }
                    match (self.sent(sent).await, next.take()) {
                        (Step::Go, Some((msg, read))) => (self.on_page(Some(Ok(msg))).await, Some(read)),
                        (step, _) => (step, None),
                    }
                }
                msg = self.ws.next(), if next.is_none() => {
                    let read = Instant::now();
                    match msg {
                        Some(Ok(msg)) if !in_flight.is_terminated() => {
                            next = Some((msg, read));
                            (Step::Go, None)
                        }
                        msg => (self.on_page(msg).await, Some(read)),
                    }
                }
            };
            match step {
                Step::Go => {}
                Step::Send(up) => {
                    read_at = read.filter(|_| up.is_media());
                    in_flight.set(up.send(sender).fuse());
                }
                other => break other,
            }
        };
        match step {
            Step::End => {
                let _ = sender.close().await;
                let _ = tokio::time::timeout(END_GRACE, async {
                    while let Some(event) = self.events.next().await {
                        if matches!(self.on_live(Some(event)).await, Step::Over) {
                            break;
                        }
                    }
                })
                .await;
                self.close_page().await;
            }
            Step::PageGone => {
                let _ = sender.close().await;
            }
            Step::Stop => {
                // Closed before the page hears of it, so that its resume can succeed at once.
                let _ = sender.close().await;
                let frame = CloseFrame {
                    code: CloseCode::Away,
                    reason: "the server is shutting down".into(),
                };
                let _ = self.ws.close(Some(frame)).await;
            }
            Step::Over => self.close_page().await,
            Step::Go | Step::Send(_) => {}
        }
    }

    async fn close_page(&mut self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    async fn say(&mut self, message: &ToPage<'_>) -> Step {
        match self.ws.send(Message::text(message.to_json())).await {
            Ok(()) => Step::Go,
            Err(_) => Step::PageGone,
        }
    }

    async fn on_page(
        &mut self,
        msg: Option<Result<Message, async_tungstenite::tungstenite::Error>>,
    ) -> Step {
        let text = match msg {
            Some(Ok(Message::Binary(pcm))) => {
                if pcm.len() > MAX_AUDIO_FRAME || pcm.len() % 2 != 0 {
                    return self
                        .say(&ToPage::Error {
                            message: "audio frames are PCM16 at 16 kHz, at most one second each",
                        })
                        .await;
                }
                return Step::Send(Uplink::Audio(pcm));
            }
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return Step::Go,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return Step::PageGone,
        };
        let message = match serde_json::from_str::<FromPage>(&text) {
            Ok(m) => m,
            Err(e) => {
                let message = format!("bad message: {e}");
                return self.say(&ToPage::Error { message: &message }).await;
            }
        };
        if text.len() > MAX_TEXT_MESSAGE && !matches!(message, FromPage::Video { .. }) {
            return self
                .say(&ToPage::Error {
                    message: "message too long",
                })
                .await;
        }
        Step::Send(match message {
            FromPage::Start { .. } => {
                return self
                    .say(&ToPage::Error {
                        message: "the session has already started",
                    })
                    .await;
            }
            FromPage::Text { text } if self.text_via_realtime_input => Uplink::Text(text),
            FromPage::Text { text } => Uplink::UserTurn(text),
            FromPage::ActivityStart => Uplink::ActivityStart,
            FromPage::ActivityEnd => Uplink::ActivityEnd,
            FromPage::AudioStreamEnd => Uplink::AudioStreamEnd,
            FromPage::Video { mime_type, data } => {
                if mime_type != "image/jpeg" && mime_type != "image/png" {
                    return self
                        .say(&ToPage::Error {
                            message: "video frames are image/jpeg or image/png",
                        })
                        .await;
                }
                let Ok(image) = base64::engine::general_purpose::STANDARD.decode(data) else {
                    return self
                        .say(&ToPage::Error {
                            message: "a video frame is not valid base64",
                        })
                        .await;
                };
                Uplink::Video(Bytes::from(image), mime_type)
            }
            FromPage::ToolResponse { responses } => Uplink::ToolResponse(responses),
            FromPage::End => return Step::End,
        })
    }

    /// A command's outcome: a refused one is reported; a closed session says so itself, and a
    /// frame lost with a broken connection is part of the `turnCut` the page is told.
    async fn sent(&mut self, result: Result<(), transport::Error>) -> Step {
        match result {
            Ok(()) => Step::Go,
            Err(transport::Error::Protocol(e)) => {
                let message = e.to_string();
                self.say(&ToPage::Error { message: &message }).await
            }
            Err(_) => Step::Go,
        }
    }

    async fn on_live(&mut self, event: Option<Event>) -> Step {
        let Some(event) = event else {
            return Step::Over;
        };
        match &event {
            Event::Audio { data, received, .. } => {
                let sent = self.ws.send(Message::Binary(data.clone())).await;
                self.shared.metrics.downlink.record(received.elapsed());
                return if sent.is_ok() {
                    Step::Go
                } else {
                    Step::PageGone
                };
            }
            Event::Resumption {
                handle: Some(handle),
                resumable: true,
                ..
            } if self.sealed_for.as_ref() != Some(handle) => {
                self.sealed_for = Some(handle.clone());
                if let Some(sealed) = self.shared.sealer.seal(handle, &self.model) {
                    return self.say(&ToPage::Resume { handle: &sealed }).await;
                }
                return Step::Go;
            }
            Event::ToolCall { calls } => {
                let calls: Vec<_> = calls
                    .iter()
                    .filter(|c| !self.served.contains(&c.name))
                    .collect();
                if calls.is_empty() {
                    return Step::Go;
                }
                return self.say(&ToPage::ToolCall { calls }).await;
            }
            Event::GoAway { .. } => self.go_away = true,
            Event::Reconnecting {
                cause,
                attempt,
                delay,
            } => {
                let message = ToPage::Reconnecting {
                    attempt: *attempt,
                    delay_ms: delay.as_millis(),
                    planned: self.go_away,
                    cause: cause.into(),
                };
                return self.say(&message).await;
            }
            Event::SetupComplete { .. } => self.go_away = false,
            _ => {}
        }
        let Some(message) = page::describe(&event) else {
            return Step::Go;
        };
        let step = self.say(&message).await;
        if matches!(event, Event::Closed(_)) {
            return Step::Over;
        }
        step
    }

    async fn on_tool(&mut self, event: Option<ToolEvent>) -> Step {
        let Some(event) = event else {
            // The dispatcher stopped with the session; the session's own end follows.
            self.tool_events = None;
            return Step::Go;
        };
        match page::describe_tool(&event) {
            Some(message) => self.say(&message).await,
            None => Step::Go,
        }
    }
}

/// Resolves once the server stops (or its handle is gone, which stops it too).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The next tool event; never, when the session has no tools (left).
async fn next_tool(events: Option<&mut ToolEvents>) -> Option<ToolEvent> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}
