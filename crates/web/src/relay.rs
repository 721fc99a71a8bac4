//! One relayed conversation: the page's WebSocket on one side, a Live session (held by
//! [`crate::upstream`]) on the other. The relay forwards; it keeps no state a reload would need
//! (the page holds the sealed handle), so any instance can serve the next connection.

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
use protocol::Event;
use transport::{LiveEvents, LiveSender};

use crate::page::{self, FromPage, ToPage};
use crate::server::{Io, Shared};
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
/// How long to wait for the session's last events after the page ended it.
const END_GRACE: Duration = Duration::from_secs(2);

/// Counts an open relayed session while it lives.
struct OpenSession(Arc<Shared>);

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.metrics.sessions_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs the conversation to its end.
pub(crate) async fn run(mut ws: PageSocket, shared: Arc<Shared>) {
    let Some((sender, events, model)) = open(&mut ws, &shared).await else {
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
    let mut relay = Relay {
        ws,
        sender,
        events,
        text_via_realtime_input: text_via_realtime_input(&model),
        model,
        shared,
        sealed_for: None,
    };
    relay.forward().await;
}

/// Waits for `start`, opens (or resumes) the Live session and says `ready`; on failure, tells
/// the page why.
async fn open(ws: &mut PageSocket, shared: &Shared) -> Option<(LiveSender, LiveEvents, String)> {
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
    let setup = match settings.setup(model.clone()) {
        Ok(s) => s,
        Err(e) => {
            say_error(ws, &e.0).await;
            return None;
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
    match shared.upstream.open(setup, handle).await {
        Ok((sender, events)) => {
            let ready = ToPage::Ready {
                model: &model,
                resumed,
            };
            ws.send(Message::text(ready.to_json())).await.ok()?;
            Some((sender, events, model))
        }
        Err(transport::Error::Closed(close)) => {
            let _ = ws
                .send(Message::text(ToPage::Closed((&close).into()).to_json()))
                .await;
            None
        }
        Err(e) => {
            tracing::warn!("cannot open a relayed session: {e}");
            say_error(ws, &format!("cannot reach the Live API: {e}")).await;
            None
        }
    }
}

async fn say_error(ws: &mut PageSocket, message: &str) {
    let _ = ws
        .send(Message::text(ToPage::Error { message }.to_json()))
        .await;
}

struct Relay {
    ws: PageSocket,
    sender: LiveSender,
    events: LiveEvents,
    model: String,
    text_via_realtime_input: bool,
    shared: Arc<Shared>,
    /// The upstream handle last sealed for the page.
    sealed_for: Option<String>,
}

/// What to do after a step.
enum Step {
    Go,
    /// The page left: close the session.
    PageGone,
    /// The page ended the conversation: close it and pass on the last events.
    End,
    /// The session is over (already told to the page).
    Over,
}

impl Relay {
    async fn forward(&mut self) {
        let step = loop {
            let step = tokio::select! {
                msg = self.ws.next() => self.on_page(msg).await,
                event = self.events.next() => self.on_live(event).await,
            };
            if !matches!(step, Step::Go) {
                break step;
            }
        };
        match step {
            Step::End => {
                let _ = self.sender.close().await;
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
                let _ = self.sender.close().await;
            }
            Step::Over => self.close_page().await,
            Step::Go => {}
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
        let read = Instant::now();
        let text = match msg {
            Some(Ok(Message::Binary(pcm))) => {
                if pcm.len() > MAX_AUDIO_FRAME || pcm.len() % 2 != 0 {
                    return self
                        .say(&ToPage::Error {
                            message: "audio frames are PCM16 at 16 kHz, at most one second each",
                        })
                        .await;
                }
                let sent = self.sender.send_audio(pcm, 16_000).await;
                self.shared.metrics.uplink.record(read.elapsed());
                return self.sent(sent).await;
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
        let sent = match message {
            FromPage::Start { .. } => {
                return self
                    .say(&ToPage::Error {
                        message: "the session has already started",
                    })
                    .await;
            }
            FromPage::Text { text } if self.text_via_realtime_input => {
                self.sender.send_text(text).await
            }
            FromPage::Text { text } => self.sender.send_user_turn(text).await,
            FromPage::ActivityStart => self.sender.send_activity_start().await,
            FromPage::ActivityEnd => self.sender.send_activity_end().await,
            FromPage::AudioStreamEnd => self.sender.send_audio_stream_end().await,
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
                let sent = self.sender.send_video(Bytes::from(image), mime_type).await;
                self.shared.metrics.uplink.record(read.elapsed());
                sent
            }
            FromPage::ToolResponse { responses } => self.sender.send_tool_response(responses).await,
            FromPage::End => return Step::End,
        };
        self.sent(sent).await
    }

    /// A command's outcome: a refused one is reported, a closed session will say so itself.
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
}
