//! [`LiveSender`]: commands to the driver, from any task.

use bytes::Bytes;
use protocol::wire::{ClientContent, ContextUpdate, FunctionResponse};
use tokio::sync::{mpsc, oneshot, watch};

use super::{SessionInfo, closed_error};
use crate::Error;

#[derive(Debug)]
pub(super) enum Command {
    Text(String),
    UserTurn(String),
    ClientContent(ClientContent),
    Audio { pcm16le: Bytes, sample_rate: u32 },
    Video { image: Bytes, mime_type: String },
    ActivityStart,
    ActivityEnd,
    AudioStreamEnd,
    ToolResponse(Vec<FunctionResponse>),
    UpdateContext(ContextUpdate),
    Close,
}

/// Sends to the session. Cheap to clone; every clone talks to the same
/// driver, from any task. Each method resolves once its frame has been
/// handed to the connection (or with the reason it could not be). While the
/// session moves to a new connection (automatic resumption), commands wait
/// for it; a text turn whose frame died with the old connection resolves
/// `Ok` because it is sent again on the new one (see `Event::TurnCut`), while
/// other frames lost that way (audio, video) resolve with
/// [`Error::ConnectionLost`].
#[derive(Clone, Debug)]
pub struct LiveSender {
    pub(super) commands: mpsc::Sender<(Command, oneshot::Sender<Result<(), Error>>)>,
    pub(super) info: watch::Receiver<SessionInfo>,
}

impl LiveSender {
    async fn command(&self, command: Command) -> Result<(), Error> {
        let (reply_tx, reply_rx) = oneshot::channel();
        if self.commands.send((command, reply_tx)).await.is_err() {
            return Err(closed_error(&self.info));
        }
        match reply_rx.await {
            Ok(result) => result,
            Err(_) => Err(closed_error(&self.info)),
        }
    }

    /// User text as `realtimeInput.text` (the way on 3.x models).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.command(Command::Text(text.into())).await
    }

    /// User text the way the model prefers (`realtimeInput.text` on 3.x,
    /// `clientContent` with `turnComplete` on older models).
    pub async fn send_user_turn(&self, text: impl Into<String>) -> Result<(), Error> {
        self.command(Command::UserTurn(text.into())).await
    }

    /// `clientContent`: turns appended to the history.
    pub async fn send_client_content(&self, content: ClientContent) -> Result<(), Error> {
        self.command(Command::ClientContent(content)).await
    }

    /// PCM16 little-endian mono audio at `sample_rate` (16 kHz is native).
    pub async fn send_audio(
        &self,
        pcm16le: impl Into<Bytes>,
        sample_rate: u32,
    ) -> Result<(), Error> {
        self.command(Command::Audio {
            pcm16le: pcm16le.into(),
            sample_rate,
        })
        .await
    }

    /// One video frame (`image/jpeg` or `image/png`).
    pub async fn send_video(
        &self,
        image: impl Into<Bytes>,
        mime_type: impl Into<String>,
    ) -> Result<(), Error> {
        self.command(Command::Video {
            image: image.into(),
            mime_type: mime_type.into(),
        })
        .await
    }

    /// `activityStart` (manual VAD).
    pub async fn send_activity_start(&self) -> Result<(), Error> {
        self.command(Command::ActivityStart).await
    }

    /// `activityEnd` (manual VAD).
    pub async fn send_activity_end(&self) -> Result<(), Error> {
        self.command(Command::ActivityEnd).await
    }

    /// `audioStreamEnd`: the microphone paused (automatic VAD).
    pub async fn send_audio_stream_end(&self) -> Result<(), Error> {
        self.command(Command::AudioStreamEnd).await
    }

    /// Answers tool calls.
    pub async fn send_tool_response(&self, responses: Vec<FunctionResponse>) -> Result<(), Error> {
        self.command(Command::ToolResponse(responses)).await
    }

    /// `contextUpdate`: new system instruction and/or tools mid-session.
    pub async fn update_context(&self, update: ContextUpdate) -> Result<(), Error> {
        self.command(Command::UpdateContext(update)).await
    }

    /// Closes the session (close frame 1000). The event stream ends with
    /// `Event::Closed`. Closing a closed session is a no-op.
    pub async fn close(&self) -> Result<(), Error> {
        match self.command(Command::Close).await {
            Err(Error::Closed(_)) => Ok(()),
            other => other,
        }
    }

    /// Vertex's session id.
    pub fn session_id(&self) -> Option<String> {
        self.info.borrow().session_id.clone()
    }

    /// The latest resumable handle, to resume on a new connection
    /// (`setup.session_resumption.handle`).
    pub fn resumption_handle(&self) -> Option<String> {
        self.info.borrow().resumption_handle.clone()
    }

    /// A snapshot of the session's state.
    pub fn info(&self) -> SessionInfo {
        self.info.borrow().clone()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.info.borrow().closed.is_some()
    }

    /// A handle that sends like this one but does not keep the session
    /// alive: a helper task (a tool dispatcher) holds one, so that the
    /// session still ends once the application has dropped its senders and
    /// events.
    ///
    /// ```
    /// use gemlive_transport::memory::pair;
    /// use gemlive_transport::protocol::{SessionConfig, wire::Setup};
    /// use gemlive_transport::{SessionOptions, start};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), gemlive_transport::Error> {
    /// let (conn, mut server) = pair(16);
    /// tokio::spawn(async move {
    ///     let _setup = server.recv_json().await;
    ///     server.send_json(&json!({"setupComplete": {}})).await;
    ///     while server.recv_json().await.is_some() {}
    /// });
    /// let setup = Setup::new("models/gemini-3.1-flash-live-preview");
    /// let (sender, events) = start(conn, SessionOptions::new(SessionConfig::new(setup))).await?;
    /// let weak = sender.downgrade();
    /// weak.upgrade().expect("the application holds a sender").send_text("hi").await?;
    /// drop((sender, events));
    /// assert!(weak.upgrade().is_none());
    /// # Ok(()) }
    /// ```
    pub fn downgrade(&self) -> WeakLiveSender {
        WeakLiveSender {
            commands: self.commands.downgrade(),
            info: self.info.clone(),
        }
    }
}

/// A [`LiveSender`] that does not keep the session alive (see
/// [`LiveSender::downgrade`]).
#[derive(Clone, Debug)]
pub struct WeakLiveSender {
    commands: mpsc::WeakSender<(Command, oneshot::Sender<Result<(), Error>>)>,
    info: watch::Receiver<SessionInfo>,
}

impl WeakLiveSender {
    /// A sender, while the application still holds one.
    pub fn upgrade(&self) -> Option<LiveSender> {
        Some(LiveSender {
            commands: self.commands.upgrade()?,
            info: self.info.clone(),
        })
    }
}
