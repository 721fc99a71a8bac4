//! The async client: [`connect`] opens a WebSocket, sends the setup, waits
//! for `setupComplete` and hands back a [`LiveSender`] (cloneable, for any
//! number of tasks) and a [`LiveEvents`] stream. One driver task owns the
//! connection and the [`protocol::Session`]: it drains the session's
//! outputs, then waits for a frame, a command or the session's next deadline.
//!
//! Backpressure: events go through a bounded channel. When the application
//! falls behind, the driver stops reading the socket (the server feels TCP
//! backpressure) but keeps serving commands, so sending never deadlocks on
//! a slow reader and no event is ever dropped.
//!
//! Latency: an [`EventTap`] sees each event on the driver's task the moment
//! its frame is decoded, before the channel; that is the place for audio
//! that must reach a playback buffer without waiting for the application's
//! task to be scheduled.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use protocol::wire::{
    ClientContent, ContextUpdate, FunctionResponse, InteractionStatus, SessionResumptionConfig,
    Setup,
};
use protocol::{Close, CloseInfo, Event, Output, Session, SessionConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::Error;
use crate::connection::{Connection, Incoming};
use crate::endpoint::{ApiVersion, Auth, Endpoint};
use crate::proxy::ProxyConfig;
use crate::recorder::{Recorder, RecorderConfig};
use crate::secret::{Secret, redact_url};
use crate::tls::TlsConfig;
use crate::ws::{DEFAULT_IDLE_TIMEOUT, WsConnection, WsOptions};

/// Default bound of the event channel.
pub const DEFAULT_EVENT_CAPACITY: usize = 256;
const COMMAND_CAPACITY: usize = 64;
/// How long to wait for the server to answer our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// With a turn still running, move to a new connection this long before a
/// goAway's deadline.
const GO_AWAY_MARGIN: Duration = Duration::from_secs(2);
/// Consecutive attempts to resume on a new connection.
const RESUME_ATTEMPTS: u32 = 5;
/// The first wait between resumption attempts; doubles each time.
const RESUME_BACKOFF: Duration = Duration::from_millis(1500);

/// Everything [`connect`] needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// How to authenticate.
    pub auth: Auth,
    /// The setup message. Its model name is completed with the endpoint's
    /// rules ([`Endpoint::model_name`]).
    pub setup: Setup,
    /// How long to wait for `setupComplete` after sending the setup.
    pub setup_timeout: Duration,
    /// Limit for TCP connect, proxy, TLS and the HTTP upgrade together.
    pub connect_timeout: Duration,
    /// Liveness: a connection without any frame (pongs included) for this
    /// long is dead. `None` disables the check.
    pub idle_timeout: Option<Duration>,
    /// Trusted CAs (extra CA file for corporate TLS).
    pub tls: TlsConfig,
    /// Proxy selection (from the environment by default).
    pub proxy: ProxyConfig,
    /// Allow plain `ws://` to hosts that are not loopback.
    pub allow_insecure_ws: bool,
    /// Record every frame to a JSONL file.
    pub record: Option<RecorderConfig>,
    /// Bound of the event channel.
    pub event_capacity: usize,
    /// Keep the session alive across connections: after a `goAway` (once the
    /// current turn is done) or a retriable close (network loss, 1011), open
    /// a new connection that resumes with the latest handle. The handles stay
    /// the same; the new connection announces itself with
    /// `Event::SetupComplete { resumed: true, .. }`. Needs
    /// `setup.session_resumption` so that the server sends handles.
    pub auto_resume: bool,
    /// Called with every event on the driver's task, before it is queued for
    /// [`LiveEvents`] (see [`EventTap`]).
    pub event_tap: Option<EventTap>,
}

impl ClientConfig {
    /// A configuration with the defaults: 15 s setup timeout, 20 s connect
    /// timeout, 60 s idle timeout, webpki + system roots, proxy from the
    /// environment, no recording.
    pub fn new(endpoint: Endpoint, auth: Auth, setup: Setup) -> Self {
        Self {
            endpoint,
            auth,
            setup,
            setup_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(20),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            tls: TlsConfig::default(),
            proxy: ProxyConfig::default(),
            allow_insecure_ws: false,
            record: None,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            auto_resume: false,
            event_tap: None,
        }
    }
}

impl ClientConfig {
    /// Resume an earlier session: the setup carries `handle` (the latest
    /// [`LiveSender::resumption_handle`] of the old connection). The model
    /// must stay the same; other settings may change.
    #[must_use]
    pub fn resume(mut self, handle: impl Into<String>) -> Self {
        let transparent = self
            .setup
            .session_resumption
            .as_ref()
            .and_then(|r| r.transparent);
        self.setup.session_resumption = Some(SessionResumptionConfig {
            handle: Some(handle.into()),
            transparent,
        });
        self
    }
}

/// How to run a session over an already open [`Connection`] (see [`start`]).
#[derive(Debug)]
pub struct SessionOptions {
    /// The protocol session's configuration (setup, backend, setup timeout).
    pub session: SessionConfig,
    /// Bound of the event channel.
    pub event_capacity: usize,
    /// A recorder tap.
    pub recorder: Option<Recorder>,
    /// Called with every event before it is queued (see [`EventTap`]).
    pub event_tap: Option<EventTap>,
}

impl SessionOptions {
    /// Options with the default event capacity, no recorder and no tap.
    pub fn new(session: SessionConfig) -> Self {
        Self {
            session,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            recorder: None,
            event_tap: None,
        }
    }
}

/// A function that sees every event on the driver's task, as soon as its
/// frame is decoded and before the event is queued for [`LiveEvents`].
///
/// Events reach [`LiveEvents`] through a channel, so the application's task
/// has to be woken and scheduled for each one. When that task is the one
/// `#[tokio::main]` runs on the main thread, the wake-up crosses threads and,
/// on a loaded machine, can take hundreds of microseconds. A tap runs in
/// the driver right after the decode: hand [`Event::Audio`] to a playback
/// buffer there (and flush it on [`Event::Interrupted`]) and the audio path
/// no longer depends on the application's scheduling. The event is still
/// delivered to [`LiveEvents`] afterwards ([`Event::Audio`]'s PCM is a
/// reference-counted [`Bytes`]: cloning it does not copy the audio).
///
/// The tap must return quickly and must not block: the driver reads the
/// socket and sends frames on the same task. It sees every event the
/// application sees, in the same order, including `SetupComplete` (each one
/// of a session resumed with [`ClientConfig::auto_resume`]) and the final
/// `Closed`. Clones of a tap (and of a [`ClientConfig`] holding it) share the
/// one function.
///
/// The tap keeps the socket's pace, and the socket keeps the application's:
/// when [`LiveEvents`] is not read and its channel is full, the driver stops
/// reading the socket, so the tap waits too. An application that only needs
/// the tap can drop its [`LiveEvents`]; the session goes on while a
/// [`LiveSender`] lives.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use gemlive_transport::EventTap;
/// use gemlive_transport::protocol::Event;
///
/// let pcm_bytes = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&pcm_bytes);
/// let tap = EventTap::new(move |event: &Event| {
///     if let Event::Audio { data, .. } = event {
///         counter.fetch_add(data.len(), Ordering::Relaxed);
///     }
/// });
/// # let _ = tap;
/// ```
#[derive(Clone)]
pub struct EventTap(Arc<Mutex<TapFn>>);

type TapFn = dyn FnMut(&Event) + Send;

impl EventTap {
    /// Wraps `f`.
    pub fn new(f: impl FnMut(&Event) + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(f)))
    }

    fn call(&self, event: &Event) {
        let mut f = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(event);
    }
}

impl std::fmt::Debug for EventTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventTap(..)")
    }
}

/// Connects, sends the setup and waits for `setupComplete`.
///
/// A close during setup comes back as [`Error::Closed`] with the server's
/// code, reason and the protocol crate's hint.
///
/// ```no_run
/// # async fn demo() -> Result<(), gemlive_transport::Error> {
/// use gemlive_transport::{connect, ApiVersion, Auth, ClientConfig, Endpoint};
/// use gemlive_transport::protocol::{Event, wire::{Modality, Setup, GenerationConfig}};
///
/// let mut setup = Setup::new("gemini-3.1-flash-live-preview");
/// setup.generation_config = Some(GenerationConfig {
///     response_modalities: Some(vec![Modality::Audio]),
///     ..Default::default()
/// });
/// setup.output_audio_transcription = Some(Default::default());
/// let config = ClientConfig::new(Endpoint::gemini(ApiVersion::V1Beta), Auth::from_env()?, setup);
/// let (sender, mut events) = connect(config).await?;
/// sender.send_text("Hello, how are you?").await?;
/// let mut turn = events.next_turn();
/// while let Some(event) = turn.next().await? {
///     if let Event::OutputTranscript { text, .. } = event {
///         print!("{text}");
///     }
/// }
/// sender.close().await?;
/// # Ok(()) }
/// ```
pub async fn connect(config: ClientConfig) -> Result<(LiveSender, LiveEvents), Error> {
    let url = config
        .endpoint
        .url(&config.auth, config.allow_insecure_ws)?;
    let token_version_ok = match &config.endpoint {
        Endpoint::Gemini { version } | Endpoint::Custom { version, .. } => {
            *version == ApiVersion::V1Alpha
        }
        _ => true,
    };
    if matches!(config.auth, Auth::EphemeralToken(_)) && !token_version_ok {
        tracing::warn!("ephemeral tokens are meant for API version v1alpha");
    }
    let headers = config.auth.headers()?;
    let mut setup = config.setup;
    setup.model = config.endpoint.model_name(&setup.model)?;

    let session = SessionConfig {
        setup,
        backend: config.endpoint.backend(),
        setup_timeout: config.setup_timeout,
    };
    // Refuse a setup the session would refuse before any traffic.
    drop(Session::new(session.clone(), Instant::now().into_std())?);
    let recorder = match &config.record {
        Some(record) => Some(Recorder::create(
            record,
            &session,
            &redact_url(&url),
            secrets_of(&config.auth, &config.proxy),
        )?),
        None => None,
    };

    let options = WsOptions {
        tls: config.tls,
        proxy: config.proxy,
        idle_timeout: config.idle_timeout,
        connect_timeout: config.connect_timeout,
    };
    let conn = WsConnection::connect(&url, headers.clone(), &options).await?;
    let mut recorder = recorder;
    if let Some(r) = &mut recorder {
        r.reset_clock();
    }
    let options_for_session = SessionOptions {
        session,
        event_capacity: config.event_capacity,
        recorder,
        event_tap: config.event_tap,
    };
    if config.auto_resume {
        let reconnect = move || {
            let (url, headers, options) = (url.clone(), headers.clone(), options.clone());
            async move { WsConnection::connect(&url, headers, &options).await }
        };
        start_resumable(conn, options_for_session, reconnect).await
    } else {
        start(conn, options_for_session).await
    }
}

fn secrets_of(auth: &Auth, proxy: &ProxyConfig) -> Vec<Secret> {
    let mut secrets = Vec::new();
    match auth {
        Auth::ApiKey(s) | Auth::EphemeralToken(s) | Auth::Bearer(s) => secrets.push(s.clone()),
        _ => {}
    }
    if let ProxyConfig::Url(url) = proxy
        && let Some(password) = url.password()
    {
        secrets.push(Secret::new(password));
    }
    secrets
}

/// Runs a session over an open connection: spawns the driver, sends the
/// setup and waits for `setupComplete`. [`connect`] uses it with a
/// [`WsConnection`]; tests use it with [`crate::memory::pair`].
pub async fn start<C: Connection>(
    conn: C,
    options: SessionOptions,
) -> Result<(LiveSender, LiveEvents), Error> {
    launch(conn, options, None).await
}

/// Like [`start`], and when the connection ends in a way that resumption
/// can repair (a `goAway`, a network loss, a retriable server close) and the
/// server gave a resumable handle, `reconnect` opens a new connection and
/// the session resumes on it (see [`ClientConfig::auto_resume`]).
pub async fn start_resumable<C, F, Fut>(
    conn: C,
    options: SessionOptions,
    mut reconnect: F,
) -> Result<(LiveSender, LiveEvents), Error>
where
    C: Connection,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<C, Error>> + Send + 'static,
{
    let reconnect: ReconnectFn<C> = Box::new(move || Box::pin(reconnect()));
    launch(conn, options, Some(reconnect)).await
}

type ReconnectFn<C> =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<C, Error>> + Send>> + Send>;

async fn launch<C: Connection>(
    conn: C,
    options: SessionOptions,
    reconnect: Option<ReconnectFn<C>>,
) -> Result<(LiveSender, LiveEvents), Error> {
    let session = Session::new(options.session, Instant::now().into_std())?;
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (event_tx, mut event_rx) = mpsc::channel(options.event_capacity.max(1));
    let (info_tx, info_rx) = watch::channel(SessionInfo::default());
    let driver = Driver {
        conn,
        session,
        commands: command_rx,
        commands_open: true,
        events: event_tx,
        events_open: true,
        pending: VecDeque::new(),
        info: info_tx,
        recorder: options.recorder,
        event_tap: options.event_tap,
        conn_open: true,
        close_deadline: None,
        wake_at: None,
        transport_error: None,
        abandoned: false,
        reconnect,
        user_closed: false,
        resuming: false,
        held_close: None,
        resume_attempts: 0,
        go_away: None,
        turn_active: false,
    };
    tokio::spawn(driver.run());

    // The first event is setupComplete or the close that replaced it
    // (including the session's own setup timeout).
    loop {
        match event_rx.recv().await {
            Some(Event::SetupComplete { .. }) => break,
            Some(Event::Closed(close)) => return Err(Error::Closed(close)),
            Some(other) => tracing::warn!("before setupComplete: {other:?}"),
            None => return Err(closed_error(&info_rx)),
        }
    }
    Ok((
        LiveSender {
            commands: command_tx,
            info: info_rx.clone(),
        },
        LiveEvents {
            events: event_rx,
            info: info_rx,
        },
    ))
}

/// What the application can read about the session at any time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionInfo {
    /// Vertex's session id.
    pub session_id: Option<String>,
    /// The latest handle that came with `resumable: true`.
    pub resumption_handle: Option<String>,
    /// When the server said it will end this connection (after `goAway`).
    pub go_away_deadline: Option<std::time::Instant>,
    /// How the session ended, once it has.
    pub closed: Option<Close>,
}

fn closed_error(info: &watch::Receiver<SessionInfo>) -> Error {
    match &info.borrow().closed {
        Some(close) => Error::Closed(close.clone()),
        None => Error::ConnectionLost("the session driver stopped".to_owned()),
    }
}

#[derive(Debug)]
enum Command {
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
/// handed to the connection (or with the reason it could not be).
#[derive(Clone, Debug)]
pub struct LiveSender {
    commands: mpsc::Sender<(Command, oneshot::Sender<Result<(), Error>>)>,
    info: watch::Receiver<SessionInfo>,
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

/// The session's events, in order, ending with `Event::Closed`.
#[derive(Debug)]
pub struct LiveEvents {
    events: mpsc::Receiver<Event>,
    info: watch::Receiver<SessionInfo>,
}

impl LiveEvents {
    /// The next event; `None` after `Event::Closed` has been returned.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The events of the current model turn, like the Python SDK's
    /// `session.receive()`: see [`Turn`].
    pub fn next_turn(&mut self) -> Turn<'_> {
        Turn {
            events: self,
            done: false,
        }
    }

    /// Vertex's session id.
    pub fn session_id(&self) -> Option<String> {
        self.info.borrow().session_id.clone()
    }

    /// The latest resumable handle.
    pub fn resumption_handle(&self) -> Option<String> {
        self.info.borrow().resumption_handle.clone()
    }

    /// A snapshot of the session's state.
    pub fn info(&self) -> SessionInfo {
        self.info.borrow().clone()
    }
}

impl futures_util::Stream for LiveEvents {
    type Item = Event;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

/// The events of one model turn.
#[derive(Debug)]
pub struct Turn<'a> {
    events: &'a mut LiveEvents,
    done: bool,
}

impl Turn<'_> {
    /// `Ok(Some(event))` for each event up to and including the
    /// `Event::TurnComplete` that ends the interaction, then `Ok(None)`.
    /// A `TurnComplete` whose status is `IN_PROGRESS` (background work on
    /// 3.8 models) does not end it; like google-genai's `receive()`. A close before the turn
    /// completes is `Err(Error::Closed)` with code, reason and hint.
    /// Events after `TurnComplete` stay queued for the next turn.
    pub async fn next(&mut self) -> Result<Option<Event>, Error> {
        if self.done {
            return Ok(None);
        }
        match self.events.next().await {
            Some(Event::Closed(close)) => {
                self.done = true;
                Err(Error::Closed(close))
            }
            Some(event) => {
                if let Event::TurnComplete { status, .. } = &event {
                    self.done = ends_interaction(status.as_ref());
                }
                Ok(Some(event))
            }
            None => {
                self.done = true;
                Err(closed_error(&self.events.info))
            }
        }
    }

    /// All events of the turn.
    pub async fn collect(mut self) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await? {
            events.push(event);
        }
        Ok(events)
    }
}

/// Whether a `turnComplete` with this `interactionStatus` ends the
/// interaction, as google-genai 3.x decides it: `IN_PROGRESS` (and the
/// deprecated `REQUIRES_ACTION`) mean more output follows.
fn ends_interaction(status: Option<&InteractionStatus>) -> bool {
    !matches!(
        status,
        Some(InteractionStatus::InProgress | InteractionStatus::RequiresAction)
    )
}

type Reply = oneshot::Sender<Result<(), Error>>;

/// What woke the driver.
enum Step {
    Delivered,
    EventsGone,
    Command(Option<(Command, Reply)>),
    Incoming(Result<Incoming, Error>),
    Timer,
}

struct Driver<C> {
    conn: C,
    session: Session,
    commands: mpsc::Receiver<(Command, Reply)>,
    commands_open: bool,
    events: mpsc::Sender<Event>,
    events_open: bool,
    /// Events drained from the session but not yet accepted by the channel.
    /// The socket is only read while this is empty, which bounds it.
    pending: VecDeque<Event>,
    info: watch::Sender<SessionInfo>,
    recorder: Option<Recorder>,
    event_tap: Option<EventTap>,
    conn_open: bool,
    close_deadline: Option<Instant>,
    wake_at: Option<Instant>,
    transport_error: Option<String>,
    abandoned: bool,
    /// Opens a new connection for automatic resumption.
    reconnect: Option<ReconnectFn<C>>,
    /// The application asked to close: never resume.
    user_closed: bool,
    /// Between the decision to resume and the new connection's setupComplete.
    resuming: bool,
    /// The close that ended the current connection, held back while resuming.
    held_close: Option<Close>,
    /// Consecutive resumption attempts without a setupComplete.
    resume_attempts: u32,
    /// A goAway's deadline: move to a new connection once the turn is done.
    go_away: Option<Instant>,
    /// Model output arrived and the interaction is not complete yet.
    turn_active: bool,
}

impl<C: Connection> Driver<C> {
    async fn run(mut self) {
        loop {
            self.drain().await;
            if let Some(close) = self.held_close.take() {
                self.resume(close).await;
                continue;
            }
            self.publish();
            if self.session.is_closed() && (self.pending.is_empty() || !self.events_open) {
                break;
            }
            if !self.events_open && !self.commands_open && !self.abandoned {
                // Nobody is listening or sending any more: end the session.
                self.abandoned = true;
                self.user_closed = true;
                self.session.close(Instant::now().into_std());
                continue;
            }
            let go_away_at = self.go_away.map(|deadline| {
                if self.turn_active {
                    deadline.checked_sub(GO_AWAY_MARGIN).unwrap_or(deadline)
                } else {
                    Instant::now()
                }
            });
            if go_away_at.is_some_and(|at| at <= Instant::now()) {
                // Leave this connection before the server ends it; the
                // answering close resumes on a new one.
                self.go_away = None;
                self.resuming = true;
                self.session.close(Instant::now().into_std());
                continue;
            }
            let wake = [self.wake_at, self.close_deadline, go_away_at]
                .into_iter()
                .flatten()
                .min();
            let read_socket = self.conn_open && self.pending.is_empty();
            let step = tokio::select! {
                permit = self.events.reserve(), if self.events_open && !self.pending.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.pending.pop_front() {
                                permit.send(event);
                            }
                            Step::Delivered
                        }
                        Err(_) => Step::EventsGone,
                    }
                }
                command = self.commands.recv(), if self.commands_open && !self.resuming => Step::Command(command),
                incoming = self.conn.recv(), if read_socket => Step::Incoming(incoming),
                () = sleep_until_opt(wake) => Step::Timer,
            };
            match step {
                Step::Delivered => {}
                Step::EventsGone => {
                    self.events_open = false;
                    self.pending.clear();
                }
                Step::Command(Some((command, reply))) => self.apply(command, reply).await,
                Step::Command(None) => self.commands_open = false,
                Step::Incoming(incoming) => self.on_incoming(incoming),
                Step::Timer => self.on_timer(),
            }
        }
        self.publish();
        if let Some(recorder) = &mut self.recorder {
            recorder.flush();
        }
        self.conn.shutdown().await;
    }

    /// Drains the session's outputs until it is idle.
    async fn drain(&mut self) {
        loop {
            match self.session.poll_output() {
                Output::Transmit(frame) => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.send(&frame);
                    }
                    if self.conn_open
                        && let Err(e) = self.conn.send(frame).await
                    {
                        self.lost(&e);
                    }
                }
                Output::Event(event) => {
                    self.observe(&event);
                    if let Event::Closed(close) = &event
                        && self.may_resume(close)
                    {
                        self.resuming = true;
                        self.held_close = Some(close.clone());
                        continue;
                    }
                    if matches!(event, Event::Closed(_)) {
                        self.resuming = false;
                    }
                    self.deliver(event);
                }
                Output::Close => {
                    if self.conn_open {
                        match self.conn.close(1000, "").await {
                            Ok(()) => {
                                self.close_deadline = Some(Instant::now() + CLOSE_GRACE);
                            }
                            Err(e) => self.lost(&e),
                        }
                    }
                }
                Output::Idle { wake_at } => {
                    self.wake_at = wake_at.map(Instant::from_std);
                    return;
                }
            }
        }
    }

    /// Brings [`SessionInfo`] up to date; allocates only when something changed.
    fn publish(&self) {
        let closed = if self.resuming || self.held_close.is_some() {
            None
        } else {
            self.session.close_reason()
        };
        let session_id = self.session.session_id();
        let handle = self.session.resumption_handle();
        let go_away_deadline = self.session.go_away_deadline();
        self.info.send_if_modified(|current| {
            // Every field, so that a new one cannot be forgotten here.
            let SessionInfo {
                session_id: current_id,
                resumption_handle: current_handle,
                go_away_deadline: current_deadline,
                closed: current_closed,
            } = current;
            let mut modified = false;
            if current_id.as_deref() != session_id {
                *current_id = session_id.map(str::to_owned);
                modified = true;
            }
            if current_handle.as_deref() != handle {
                *current_handle = handle.map(str::to_owned);
                modified = true;
            }
            if *current_deadline != go_away_deadline {
                *current_deadline = go_away_deadline;
                modified = true;
            }
            if current_closed.as_ref() != closed {
                *current_closed = closed.cloned();
                modified = true;
            }
            modified
        });
    }

    async fn apply(&mut self, command: Command, reply: Reply) {
        self.transport_error = None;
        let s = &mut self.session;
        let result = match command {
            Command::Text(text) => s.send_text(&text),
            Command::UserTurn(text) => s.send_user_turn(&text),
            Command::ClientContent(content) => s.send_client_content(content),
            Command::Audio {
                pcm16le,
                sample_rate,
            } => s.send_audio(&pcm16le, sample_rate),
            Command::Video { image, mime_type } => s.send_video(&image, &mime_type),
            Command::ActivityStart => s.send_activity_start(),
            Command::ActivityEnd => s.send_activity_end(),
            Command::AudioStreamEnd => s.send_audio_stream_end(),
            Command::ToolResponse(responses) => s.send_tool_response(responses),
            Command::UpdateContext(update) => s.update_context(update),
            Command::Close => {
                self.user_closed = true;
                s.close(Instant::now().into_std());
                Ok(())
            }
        };
        let result = result.map_err(Error::from);
        // Hand the frame to the connection before answering, so that
        // `send_*().await` means "on the wire" and applies backpressure.
        self.drain().await;
        let result = match (result, self.transport_error.take()) {
            (Ok(()), Some(reason)) => Err(Error::ConnectionLost(reason)),
            (result, _) => result,
        };
        let _ = reply.send(result);
    }

    /// Tracks what automatic resumption needs to know about the session.
    fn observe(&mut self, event: &Event) {
        match event {
            Event::SetupComplete { .. } => {
                self.resuming = false;
                self.resume_attempts = 0;
            }
            Event::GoAway { deadline, .. }
                if self.reconnect.is_some()
                    && !self.user_closed
                    && self.session.resumption_handle().is_some() =>
            {
                self.go_away = Some(Instant::from_std(*deadline));
            }
            Event::TurnComplete { status, .. } if ends_interaction(status.as_ref()) => {
                self.turn_active = false;
            }
            Event::Text { .. }
            | Event::Audio { .. }
            | Event::InlineData { .. }
            | Event::OutputTranscript { .. }
            | Event::ToolCall { .. } => self.turn_active = true,
            _ => {}
        }
    }

    /// Whether a close can be repaired by resuming on a new connection.
    fn may_resume(&self, close: &Close) -> bool {
        self.reconnect.is_some()
            && !self.user_closed
            && close.retriable
            && self.session.resumption_handle().is_some()
    }

    /// Opens a new connection and resumes the session on it; after
    /// [`RESUME_ATTEMPTS`] failures the held close ends the session.
    async fn resume(&mut self, close: Close) {
        self.conn.shutdown().await;
        self.conn_open = false;
        self.go_away = None;
        self.turn_active = false;
        while self.resume_attempts < RESUME_ATTEMPTS {
            if self.resume_attempts > 0 {
                // Google refuses a resume while the old connection is still
                // half-open (1011); give it a moment, then back off.
                let delay = RESUME_BACKOFF * 2u32.pow(self.resume_attempts - 1);
                tokio::time::sleep(delay).await;
            }
            self.resume_attempts += 1;
            let next = match self.session.next_connection(Instant::now().into_std()) {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!("cannot resume: {e}");
                    break;
                }
            };
            let Some(reconnect) = self.reconnect.as_mut() else {
                break;
            };
            match reconnect().await {
                Ok(conn) => {
                    tracing::debug!(
                        attempt = self.resume_attempts,
                        "resuming on a new connection after {}",
                        close
                    );
                    self.conn = conn;
                    self.session = next;
                    self.conn_open = true;
                    self.close_deadline = None;
                    return;
                }
                Err(e) => tracing::warn!(
                    attempt = self.resume_attempts,
                    "reconnecting to resume failed: {e}"
                ),
            }
        }
        // Give up: the session ends with the close that started it all.
        self.resuming = false;
        self.deliver(Event::Closed(close));
    }

    /// Shows `event` to the tap, then queues it for the application.
    fn deliver(&mut self, event: Event) {
        if let Some(tap) = &self.event_tap {
            tap.call(&event);
        }
        if self.events_open {
            self.pending.push_back(event);
        }
    }

    fn on_incoming(&mut self, incoming: Result<Incoming, Error>) {
        let now = Instant::now().into_std();
        match incoming {
            Ok(Incoming::Text(payload) | Incoming::Binary(payload)) => {
                if let Some(recorder) = &mut self.recorder {
                    recorder.recv(&payload);
                }
                if let Err(e) = self.session.handle_frame(&payload, now) {
                    tracing::warn!("server frame not handled: {e}");
                }
            }
            Ok(Incoming::Close(close)) => {
                self.conn_open = false;
                // We asked to close and the server hung up without answering:
                // the session ended as requested.
                let close = match (close, self.close_deadline.take()) {
                    (None, Some(_)) => Some(CloseInfo::new(1000, "")),
                    (close, _) => close,
                };
                if let Some(recorder) = &mut self.recorder {
                    recorder.close(close.as_ref());
                }
                self.session.handle_close(close, now);
            }
            Err(e) => self.lost(&e),
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.close_deadline.is_some_and(|d| now >= d) {
            // The server never answered our close frame.
            self.close_deadline = None;
            self.conn_open = false;
            let close = CloseInfo::new(1000, "");
            if let Some(recorder) = &mut self.recorder {
                recorder.close(Some(&close));
            }
            self.session.handle_close(Some(close), now.into_std());
            return;
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.tick();
        }
        self.session.handle_timeout(now.into_std());
    }

    /// The connection failed: the session ends with a local 1006 that
    /// carries the reason.
    fn lost(&mut self, error: &Error) {
        if !self.conn_open {
            return;
        }
        self.conn_open = false;
        let reason = error.to_string();
        tracing::debug!("connection lost: {reason}");
        let close = if self.close_deadline.take().is_some() {
            // Lost while closing at our request: the session ended as asked.
            CloseInfo::new(1000, "")
        } else {
            CloseInfo::new(1006, reason.clone())
        };
        if let Some(recorder) = &mut self.recorder {
            recorder.close(Some(&close));
        }
        self.transport_error = Some(reason);
        self.session
            .handle_close(Some(close), Instant::now().into_std());
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
