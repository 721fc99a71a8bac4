//! [`Session`]: one live conversation, the shape of the Python SDK's `AsyncSession`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::Event;
use protocol::wire::{ClientContent, Content, FunctionResponse};
use transport::{LiveEvents, LiveSender};

use crate::Result;

/// How long [`Session::close`] waits for the server's last messages (a final resumption handle).
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// A live session. Send with the `send_*` methods (or from other tasks through
/// [`Session::sender`]); read one model turn at a time with [`Session::receive`], or every event
/// with [`Session::next_event`].
///
/// Dropping the session (and every [`Session::sender`]) closes it.
#[derive(Debug)]
pub struct Session {
    sender: Sender,
    events: LiveEvents,
    /// What the session's tools did ([`LiveConfig::tools`](crate::LiveConfig::tools)).
    #[cfg(feature = "tools")]
    tool_events: Option<tools::ToolEvents>,
    /// Keeps the client's resources (the built-in emulator) alive as long as the session.
    _client: Arc<crate::client::Inner>,
}

impl Session {
    pub(crate) fn new(
        sender: LiveSender,
        events: LiveEvents,
        client: Arc<crate::client::Inner>,
    ) -> Self {
        Self {
            sender: Sender { inner: sender },
            events,
            #[cfg(feature = "tools")]
            tool_events: None,
            _client: client,
        }
    }

    /// Starts answering the calls of the session's own tools.
    #[cfg(feature = "tools")]
    pub(crate) fn with_tools(mut self, dispatcher: Option<tools::Dispatcher>) -> Self {
        self.tool_events = dispatcher.map(|d| d.start(&self.sender.inner));
        self
    }

    /// What the session's own tools do ([`LiveConfig::tools`](crate::LiveConfig::tools)): each
    /// call started, answered, cancelled or failed, as [`ToolEvent`](tools::ToolEvent)s. The
    /// stream can be taken once (e.g. into a task of its own); `None` after that, or when the
    /// session runs no tools. It ends when the session has ended and every call is done.
    ///
    /// The tools answer their calls whether these events are read or not.
    #[cfg(feature = "tools")]
    pub fn tool_events(&mut self) -> Option<tools::ToolEvents> {
        self.tool_events.take()
    }

    /// `clientContent`: see [`Sender::send_client_content`].
    pub async fn send_client_content(&self, content: impl IntoClientContent) -> Result<()> {
        self.sender.send_client_content(content).await
    }

    /// `realtimeInput`: see [`Sender::send_realtime_input`].
    pub async fn send_realtime_input(&self, input: impl Into<RealtimeInput>) -> Result<()> {
        self.sender.send_realtime_input(input).await
    }

    /// `toolResponse`: see [`Sender::send_tool_response`].
    pub async fn send_tool_response(
        &self,
        responses: impl IntoIterator<Item = FunctionResponse>,
    ) -> Result<()> {
        self.sender.send_tool_response(responses).await
    }

    /// The events of the model's next turn, like the Python SDK's `session.receive()`: it ends
    /// after the turn's [`Event::TurnComplete`]; call it again for the next turn.
    ///
    /// ```no_run
    /// # async fn demo(mut session: gemlive::Session) -> gemlive::Result<()> {
    /// session.send_realtime_input("Hello? Gemini are you there?").await?;
    /// let mut turn = session.receive();
    /// while let Some(event) = turn.next().await? {
    ///     if let Some(text) = event.text() {
    ///         print!("{text}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn receive(&mut self) -> Turn<'_> {
        Turn {
            inner: self.events.next_turn(),
        }
    }

    /// The next event of the session, whatever turn it belongs to; `None` after
    /// [`Event::Closed`], which is always the last.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.next().await
    }

    /// A handle for sending from other tasks, or while a [`Turn`] is being read.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The transport's halves, for applications that read and send from separate tasks.
    pub fn split(self) -> (LiveSender, LiveEvents) {
        (self.sender.inner, self.events)
    }

    /// Whether this session resumed an earlier one: the server accepted the handle given with
    /// [`LiveConfig::resumption`](crate::LiveConfig::resumption).
    pub fn resumed(&self) -> bool {
        self.events.resumed()
    }

    /// The latest resumable handle, to continue this conversation later
    /// ([`LiveConfig::resumption`](crate::LiveConfig::resumption)).
    pub fn resumption_handle(&self) -> Option<String> {
        self.sender.inner.resumption_handle()
    }

    /// Vertex AI's session id.
    pub fn session_id(&self) -> Option<String> {
        self.sender.inner.session_id()
    }

    /// Closes the session (like leaving the Python SDK's `async with`) and waits up to 2 s for
    /// the server's last messages, so that [`Session::resumption_handle`] is the latest one.
    /// Closing a closed session does nothing.
    pub async fn close(&mut self) -> Result<()> {
        self.sender.inner.close().await?;
        let _ = tokio::time::timeout(CLOSE_DRAIN, async {
            while self.events.next().await.is_some() {}
        })
        .await;
        Ok(())
    }
}

/// Sends to a [`Session`] from any task ([`Session::sender`]); cheap to clone. Each method
/// resolves once its message is on the wire (or with the reason it could not be).
#[derive(Clone, Debug)]
pub struct Sender {
    inner: LiveSender,
}

impl Sender {
    /// `clientContent`: turns appended to the conversation, generating an answer (`turn_complete`
    /// is `true`, as the SDKs default it). Takes text (a user turn), a [`Content`], a list of
    /// them, or a full [`ClientContent`].
    ///
    /// 3.1 models take `clientContent` only as initial history: send text with
    /// [`Session::send_realtime_input`] there (the session refuses it before sending, with a hint).
    pub async fn send_client_content(&self, content: impl IntoClientContent) -> Result<()> {
        Ok(self
            .inner
            .send_client_content(content.into_client_content())
            .await?)
    }

    /// `realtimeInput`: text, an audio chunk, a video frame, or an activity signal
    /// ([`RealtimeInput`]; text converts from `&str` and `String`).
    pub async fn send_realtime_input(&self, input: impl Into<RealtimeInput>) -> Result<()> {
        let s = &self.inner;
        match input.into() {
            RealtimeInput::Text(text) => s.send_text(text).await,
            RealtimeInput::Audio { pcm, sample_rate } => s.send_audio(pcm, sample_rate).await,
            RealtimeInput::Video { image, mime_type } => s.send_video(image, mime_type).await,
            RealtimeInput::ActivityStart => s.send_activity_start().await,
            RealtimeInput::ActivityEnd => s.send_activity_end().await,
            RealtimeInput::AudioStreamEnd => s.send_audio_stream_end().await,
        }?;
        Ok(())
    }

    /// `toolResponse`: the results of the model's [`Event::ToolCall`]s, each with the id of the
    /// call it answers.
    pub async fn send_tool_response(
        &self,
        responses: impl IntoIterator<Item = FunctionResponse>,
    ) -> Result<()> {
        Ok(self
            .inner
            .send_tool_response(responses.into_iter().collect())
            .await?)
    }

    /// Closes the session (the events end with [`Event::Closed`]).
    pub async fn close(&self) -> Result<()> {
        Ok(self.inner.close().await?)
    }

    /// The transport's sender (`send_audio`, `update_context`, ...).
    pub fn transport(&self) -> &LiveSender {
        &self.inner
    }
}

/// The events of one model turn ([`Session::receive`]).
#[derive(Debug)]
pub struct Turn<'a> {
    inner: transport::Turn<'a>,
}

impl Turn<'_> {
    /// `Ok(Some(event))` for each event of the turn, up to and including the
    /// [`Event::TurnComplete`] that ends it, then `Ok(None)`.
    ///
    /// Sessions survive their connections (automatic resumption is on by default), and a turn
    /// always ends. When the connection drops in the middle of the turn, the turn yields an
    /// [`Event::TurnCut`], then [`Event::Reconnecting`] and the new connection's
    /// [`Event::SetupComplete`]; if the cut's user turn was sent again (`turns[0].resent`), what
    /// came before the cut is superseded and the new answer follows in this same turn.
    /// Otherwise the turn ends with an error: [`Error::Live`](crate::Error::Live) holding
    /// `transport::Error::TurnCut` (ask again: the session goes on) or, when the session
    /// ended, `transport::Error::Closed` with the close's code, reason and hint.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        Ok(self.inner.next().await?)
    }

    /// The next piece of the answer's words ([`Event::text`]: model text or the transcript of
    /// its speech), skipping the turn's other events; `Ok(None)` once the turn is over. After a
    /// connection drop whose question was sent again, the answer starts over: read
    /// [`Turn::next`] to see the [`Event::TurnCut`], or [`Turn::text`], which keeps only the
    /// answer that completed.
    pub async fn next_text(&mut self) -> Result<Option<String>> {
        while let Some(event) = self.next().await? {
            if let Some(text) = event.text() {
                return Ok(Some(text.to_owned()));
            }
        }
        Ok(None)
    }

    /// The words of the whole answer ([`Event::text`], joined). Words of an answer cut short
    /// by a connection drop, whose question was sent again, are dropped: the text is the
    /// answer that completed.
    pub async fn text(mut self) -> Result<String> {
        let mut text = String::new();
        while let Some(event) = self.next().await? {
            match &event {
                Event::TurnCut { turns, .. } if turns.first().is_some_and(|t| t.resent) => {
                    text.clear();
                }
                _ => text.push_str(event.text().unwrap_or_default()),
            }
        }
        Ok(text)
    }

    /// Every event of the turn.
    pub async fn collect(self) -> Result<Vec<Event>> {
        Ok(self.inner.collect().await?)
    }
}

/// One `realtimeInput` message ([`Session::send_realtime_input`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RealtimeInput {
    /// User text (also from `&str` and `String`).
    Text(String),
    /// Mono PCM16 little-endian audio (16 kHz is what the model hears natively).
    Audio {
        /// The samples' bytes.
        pcm: Bytes,
        /// Their rate in Hz.
        sample_rate: u32,
    },
    /// One video frame: a JPEG or PNG image.
    Video {
        /// The encoded image.
        image: Bytes,
        /// `image/jpeg` or `image/png`.
        mime_type: String,
    },
    /// The user started speaking (with [`LiveConfig::manual_activity`](crate::LiveConfig::manual_activity)).
    ActivityStart,
    /// The user stopped speaking (with manual activity).
    ActivityEnd,
    /// The microphone paused (with the server's voice detection).
    AudioStreamEnd,
}

impl RealtimeInput {
    /// Mono PCM16 little-endian audio at `sample_rate`.
    pub fn audio(pcm: impl Into<Bytes>, sample_rate: u32) -> Self {
        Self::Audio {
            pcm: pcm.into(),
            sample_rate,
        }
    }

    /// A JPEG or PNG video frame.
    pub fn video(image: impl Into<Bytes>, mime_type: impl Into<String>) -> Self {
        Self::Video {
            image: image.into(),
            mime_type: mime_type.into(),
        }
    }
}

impl From<&str> for RealtimeInput {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for RealtimeInput {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&String> for RealtimeInput {
    fn from(text: &String) -> Self {
        Self::Text(text.clone())
    }
}

#[cfg(feature = "audio")]
impl From<&audio::Chunk> for RealtimeInput {
    /// A chunk from an [`AudioSource`](audio::AudioSource) (a WAV file, the microphone...).
    fn from(chunk: &audio::Chunk) -> Self {
        Self::audio(audio::pcm::i16_to_le_bytes(&chunk.samples), chunk.rate.hz())
    }
}

#[cfg(feature = "audio")]
impl From<audio::Chunk> for RealtimeInput {
    fn from(chunk: audio::Chunk) -> Self {
        Self::from(&chunk)
    }
}

/// What [`Session::send_client_content`] takes: text (one user turn), a [`Content`], a list of
/// contents, or a [`ClientContent`] as it is.
pub trait IntoClientContent {
    /// The `clientContent` message.
    fn into_client_content(self) -> ClientContent;
}

impl IntoClientContent for ClientContent {
    fn into_client_content(self) -> ClientContent {
        self
    }
}

impl IntoClientContent for Vec<Content> {
    fn into_client_content(self) -> ClientContent {
        ClientContent {
            turns: Some(self),
            turn_complete: Some(true),
        }
    }
}

impl IntoClientContent for Content {
    fn into_client_content(self) -> ClientContent {
        vec![self].into_client_content()
    }
}

impl IntoClientContent for &str {
    fn into_client_content(self) -> ClientContent {
        Content::user_text(self).into_client_content()
    }
}

impl IntoClientContent for String {
    fn into_client_content(self) -> ClientContent {
        Content::user_text(self).into_client_content()
    }
}

impl IntoClientContent for &String {
    fn into_client_content(self) -> ClientContent {
        self.as_str().into_client_content()
    }
}
