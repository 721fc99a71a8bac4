//! [`LiveSender`]: commands to the driver, from any task.

use bytes::Bytes;
use protocol::Session;
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

/// Who waits for a command's outcome: a `send_*().await`, or nobody (`try_send_audio`).
#[derive(Debug)]
pub(super) struct Reply(Option<oneshot::Sender<Result<(), Error>>>);

impl Reply {
    /// Hands `result` to the waiting sender. Nobody waits for a chunk queued with
    /// [`LiveSender::try_send_audio`]: what could go wrong with it after it was queued (its
    /// connection ended) is the session's to tell, with its events.
    pub(super) fn send(self, result: Result<(), Error>) {
        match (self.0, result) {
            (Some(waiting), result) => {
                let _ = waiting.send(result);
            }
            (None, Err(e)) => tracing::debug!("audio queued without waiting was not sent: {e}"),
            (None, Ok(())) => {}
        }
    }
}

/// Sends to the session. Cheap to clone; every clone talks to the same
/// driver, from any task. Each `send_*` method resolves once its frame has been
/// handed to the connection (or with the reason it could not be). While the
/// session moves to a new connection (automatic resumption), commands wait
/// for it; a text turn whose frame died with the old connection resolves
/// `Ok` because it is sent again on the new one (see `Event::TurnCut`), while
/// other frames lost that way (audio, video) resolve with
/// [`Error::ConnectionLost`].
///
/// # Waiting or not
///
/// Commands go to the driver through a bounded queue (64 commands). A `send_*().await` waits
/// twice: for room in the queue, then for the driver's answer, so the sending task is woken
/// once more per message to learn the outcome. That is what a turn, a tool response or a close
/// needs: the result says whether the message reached the connection.
///
/// [`try_send_audio`](Self::try_send_audio) waits for neither: it queues the chunk and returns,
/// or refuses at once. It is for the realtime path, where a task forwards a chunk every 20 to
/// 100 ms (a microphone loop, a relay): one wake-up per chunk, and the task never stalls on the
/// network. The queue keeps its bound: when 64 commands are already waiting (the connection is
/// slower than the audio, or the session is moving to a new connection) the chunk is refused
/// with [`Error::QueueFull`]; drop it (realtime audio that waited is stale) or wait for room
/// with `send_audio().await`. What happens to a queued chunk later (its connection ends before
/// it is written) is told by the session's events (`TurnCut`, `Reconnecting`, `Closed`), not to
/// the sender. Both kinds keep their order: every command goes through the same queue.
#[derive(Clone, Debug)]
pub struct LiveSender {
    pub(super) commands: mpsc::Sender<(Command, Reply)>,
    pub(super) info: watch::Receiver<SessionInfo>,
}

impl LiveSender {
    async fn command(&self, command: Command) -> Result<(), Error> {
        let (reply_tx, reply_rx) = oneshot::channel();
        if self
            .commands
            .send((command, Reply(Some(reply_tx))))
            .await
            .is_err()
        {
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

    /// Queues PCM16 little-endian mono audio at `sample_rate` and returns at once, without
    /// waiting for the driver (see [Waiting or not](Self#waiting-or-not)). `Ok` means queued:
    /// it is sent in order with every other command. Refused at once with
    /// [`Error::QueueFull`] when 64 commands are waiting, with [`Error::Closed`] when the
    /// session has ended, and with [`Error::Protocol`] for a chunk `send_audio` would refuse
    /// too (an odd number of bytes, a zero rate).
    ///
    /// ```
    /// use gemlive_transport::memory::pair;
    /// use gemlive_transport::protocol::{SessionConfig, wire::Setup};
    /// use gemlive_transport::{Error, SessionOptions, start};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Error> {
    /// let (conn, mut server) = pair(16);
    /// tokio::spawn(async move {
    ///     let _setup = server.recv_json().await;
    ///     server.send_json(&json!({"setupComplete": {}})).await;
    ///     while server.recv_json().await.is_some() {}
    /// });
    /// let setup = Setup::new("models/gemini-3.1-flash-live-preview");
    /// let (sender, _events) = start(conn, SessionOptions::new(SessionConfig::new(setup))).await?;
    /// let chunk = vec![0u8; 1280]; // 40 ms of 16 kHz PCM16
    /// match sender.try_send_audio(chunk, 16_000) {
    ///     Ok(()) => {}
    ///     // The network is slower than the microphone: this chunk is dropped.
    ///     Err(Error::QueueFull(_)) => {}
    ///     Err(other) => return Err(other),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_send_audio(&self, pcm16le: impl Into<Bytes>, sample_rate: u32) -> Result<(), Error> {
        let pcm16le = pcm16le.into();
        Session::check_audio(&pcm16le, sample_rate).map_err(protocol::Error::from)?;
        self.try_command(Command::Audio {
            pcm16le,
            sample_rate,
        })
    }

    /// Queues `command` with nobody waiting for its outcome.
    fn try_command(&self, command: Command) -> Result<(), Error> {
        if let Some(close) = &self.info.borrow().closed {
            return Err(Error::Closed(close.clone()));
        }
        match self.commands.try_send((command, Reply(None))) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                Err(Error::QueueFull(self.commands.max_capacity()))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(closed_error(&self.info)),
        }
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
    commands: mpsc::WeakSender<(Command, Reply)>,
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
