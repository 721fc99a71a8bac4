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
//!
//! Files: `config.rs` ([`ClientConfig`], [`SessionOptions`]), `credentials.rs`
//! ([`AuthProvider`]: credentials asked for before every connection), `driver.rs`
//! (the task), `sender.rs` ([`LiveSender`]), `events.rs` ([`LiveEvents`],
//! [`Turn`]), `tap.rs` ([`EventTap`]).

mod config;
mod credentials;
mod driver;
mod events;
mod resume;
mod sender;
mod tap;

use std::future::Future;
use std::pin::Pin;

use protocol::{Close, Event, Session, SessionConfig};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub use config::{ClientConfig, DEFAULT_EVENT_CAPACITY, SessionOptions};
pub use credentials::{AuthFuture, AuthProvider};
pub use events::{LiveEvents, Turn};
pub use resume::ResumePolicy;
pub use sender::{LiveSender, WeakLiveSender};
pub use tap::EventTap;

use crate::Error;
use crate::connection::Connection;
use crate::endpoint::{ApiVersion, Auth, Endpoint};
use crate::proxy::ProxyConfig;
use crate::recorder::Recorder;
use crate::secret::{Secret, redact_url};
use crate::ws::WsConnection;
use driver::Driver;

const COMMAND_CAPACITY: usize = 64;

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
    let auth = match &config.auth_provider {
        Some(provider) => credentials::ask(provider.as_ref(), config.connect_timeout).await?,
        None => config.auth.clone(),
    };
    let url = config.endpoint.url(&auth, config.allow_insecure_ws)?;
    let token_version_ok = match &config.endpoint {
        Endpoint::Gemini { version } | Endpoint::Custom { version, .. } => {
            *version == ApiVersion::V1Alpha
        }
        _ => true,
    };
    if matches!(auth, Auth::EphemeralToken(_)) && !token_version_ok {
        tracing::warn!("ephemeral tokens are meant for API version v1alpha");
    }
    let headers = auth.headers()?;
    let options = config.ws_options();
    let mut setup = config.setup;
    setup.model = config.endpoint.model_name(&setup.model)?;
    if config.auto_resume {
        ask_for_handles(&mut setup);
    }

    let session = SessionConfig {
        backend: config.endpoint.backend(),
        setup_timeout: config.setup_timeout,
        stall_timeout: config.stall_timeout,
        speech_kept: config.speech_kept,
        ..SessionConfig::new(setup)
    };
    // Refuse a setup the session would refuse before any traffic.
    drop(Session::new(session.clone(), Instant::now().into_std())?);
    let recorder = match &config.record {
        Some(record) => Some(Recorder::create(
            record,
            &session,
            &redact_url(&url),
            secrets_of(&auth, &config.proxy),
        )?),
        None => None,
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
        resume_policy: config.resume_policy,
    };
    if config.auto_resume {
        let (endpoint, provider) = (config.endpoint, config.auth_provider);
        let insecure = config.allow_insecure_ws;
        let reconnect = move || {
            let (mut url, mut headers, options) = (url.clone(), headers.clone(), options.clone());
            let (endpoint, provider) = (endpoint.clone(), provider.clone());
            async move {
                // Fresh credentials for every new connection (an access token may have expired).
                if let Some(provider) = provider {
                    let auth = credentials::ask(provider.as_ref(), options.connect_timeout).await?;
                    url = endpoint.url(&auth, insecure)?;
                    headers = auth.headers()?;
                }
                WsConnection::connect(&url, headers, &options).await
            }
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
/// can repair (a `goAway`, a network loss, a retriable server close, a
/// stalled turn) and the server gave a resumable handle, `reconnect` opens a
/// new connection and the session resumes on it, paced by
/// [`SessionOptions::resume_policy`] (see [`ClientConfig::auto_resume`]).
/// The setup asks for handles (`sessionResumption: {}`) if it did not.
///
/// Here the first connection drops in the middle of an answer; the turn is
/// sent again on the second one and completes there:
///
/// ```
/// use gemlive_transport::memory::pair;
/// use gemlive_transport::protocol::{Event, SessionConfig, wire::Setup};
/// use gemlive_transport::{Error, SessionOptions, start_resumable};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let (conn, mut first) = pair(16);
/// let (spare, mut second) = pair(16);
/// let mut spare = Some(spare);
/// let reconnect = move || {
///     let conn = spare.take().ok_or_else(|| Error::ConnectionLost("no more".into()));
///     std::future::ready(conn)
/// };
/// tokio::spawn(async move {
///     first.recv_json().await; // the setup
///     first.send_json(&json!({"setupComplete": {}})).await;
///     first.send_json(&json!({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": true}})).await;
///     first.recv_json().await; // "Tell me a joke"
///     first.send_json(&json!({"serverContent": {"modelTurn": {"parts": [{"text": "A man"}]}}})).await;
///     drop(first); // the network fails mid-answer
///     let setup = second.recv_json().await.unwrap();
///     assert_eq!(setup["setup"]["sessionResumption"]["handle"], "h1");
///     second.send_json(&json!({"setupComplete": {}})).await;
///     let again = second.recv_json().await.unwrap();
///     assert_eq!(again["realtimeInput"]["text"], "Tell me a joke");
///     second.send_json(&json!({"serverContent": {"modelTurn": {"parts": [{"text": "Knock knock."}]}}})).await;
///     second.send_json(&json!({"serverContent": {"turnComplete": true}})).await;
///     second.recv().await; // until the client closes
/// });
///
/// let options = SessionOptions::new(SessionConfig::new(Setup::new("models/gemini-3.1-flash-live-preview")));
/// let (sender, mut events) = start_resumable(conn, options, reconnect).await?;
/// sender.send_text("Tell me a joke").await?;
/// let mut answer = String::new();
/// let mut turn = events.next_turn();
/// while let Some(event) = turn.next().await? {
///     match event {
///         Event::Text { text, .. } => answer.push_str(&text),
///         // What came before is superseded: the turn was sent again.
///         Event::TurnCut { turns, .. } => {
///             assert!(turns[0].resent);
///             answer.clear();
///         }
///         _ => {}
///     }
/// }
/// assert_eq!(answer, "Knock knock.");
/// sender.close().await?;
/// # Ok(()) }
/// ```
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

/// Resuming needs handles, which the server sends when the setup has `sessionResumption`
/// (`{}` starts a resumable session; Google accepts it on every current Live model).
fn ask_for_handles(setup: &mut protocol::wire::Setup) {
    setup
        .session_resumption
        .get_or_insert_with(Default::default);
}

type ReconnectFn<C> =
    Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<C, Error>> + Send>> + Send>;

async fn launch<C: Connection>(
    conn: C,
    mut options: SessionOptions,
    reconnect: Option<ReconnectFn<C>>,
) -> Result<(LiveSender, LiveEvents), Error> {
    if reconnect.is_some() {
        ask_for_handles(&mut options.session.setup);
    }
    let session = Session::new(options.session, Instant::now().into_std())?;
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (event_tx, mut event_rx) = mpsc::channel(options.event_capacity.max(1));
    let (info_tx, info_rx) = watch::channel(SessionInfo::default());
    let driver = Driver::new(
        conn,
        session,
        command_rx,
        event_tx,
        info_tx,
        options.recorder,
        options.event_tap,
        reconnect.map(|r| (r, options.resume_policy)),
    );
    tokio::spawn(driver.run());

    // The first event is setupComplete or the close that replaced it
    // (including the session's own setup timeout).
    let resumed = loop {
        match event_rx.recv().await {
            Some(Event::SetupComplete { resumed, .. }) => break resumed,
            Some(Event::Closed(close)) => return Err(Error::Closed(close)),
            Some(other) => tracing::warn!("before setupComplete: {other:?}"),
            None => return Err(closed_error(&info_rx)),
        }
    };
    Ok((
        LiveSender {
            commands: command_tx,
            info: info_rx.clone(),
        },
        LiveEvents {
            events: event_rx,
            info: info_rx,
            resumed,
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
