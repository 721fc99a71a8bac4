//! [`Client`]: which backend, with which credentials; the entry point like `genai.Client`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use protocol::Backend;
use transport::{ApiVersion, Auth, Endpoint, Secret, VertexApiVersion};

use crate::Result;
use crate::config::IntoLiveConfig;
use crate::session::Session;
use crate::tokens::Tokens;

/// A future returned by a [`TokenProvider`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret>> + Send + 'a>>;

/// A source of OAuth2 access tokens for Vertex AI (`Authorization: Bearer`), asked before every
/// connection: the first, and each one that automatic resumption opens, so that a session that
/// outlives its token (they last an hour) resumes with a fresh one. It should cache tokens
/// until shortly before they expire. [`StaticToken`] holds one fixed token;
/// [`GoogleCredentials`](crate::GoogleCredentials) (feature `vertex`) finds Application Default
/// Credentials; implement it over any other credentials library.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A valid access token.
    fn access_token(&self) -> TokenFuture<'_>;
}

/// One fixed access token (e.g. from `gcloud auth print-access-token`; they last an hour).
#[derive(Clone, Debug)]
pub struct StaticToken(pub Secret);

impl StaticToken {
    /// Wraps `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self(token.into())
    }
}

impl TokenProvider for StaticToken {
    fn access_token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// A [`TokenProvider`] as the transport's per-connection credentials.
#[derive(Debug)]
struct BearerTokens(Arc<dyn TokenProvider>);

impl transport::AuthProvider for BearerTokens {
    fn auth(&self) -> transport::AuthFuture<'_> {
        Box::pin(async move {
            match self.0.access_token().await {
                Ok(token) => Ok(Auth::Bearer(token)),
                Err(e) => Err(transport::Error::Credentials(Box::new(e))),
            }
        })
    }
}

/// How connections authenticate.
#[derive(Clone, Debug)]
pub(crate) enum Credentials {
    Fixed(Auth),
    Provider(Arc<dyn TokenProvider>),
}

type TransportHook = Arc<dyn Fn(&mut transport::ClientConfig) + Send + Sync>;

/// What a [`Client`] shares with its sessions.
pub(crate) struct Inner {
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    transport: Vec<TransportHook>,
    /// Where token requests go (`https://generativelanguage.googleapis.com` or the emulator).
    pub(crate) rest_base: String,
    #[cfg(feature = "emulator")]
    _emulator: Option<emulator::Emulator>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("transport_hooks", &self.transport.len())
            .finish_non_exhaustive()
    }
}

/// The entry point: a backend (the Gemini API, Vertex AI, the built-in emulator or any
/// Live-compatible endpoint) and its credentials. Cheap to clone; sessions keep what they need.
///
/// ```no_run
/// use gemlive::prelude::*;
///
/// # async fn demo() -> gemlive::Result<()> {
/// let client = Client::from_env()?;
/// let mut session = client
///     .live()
///     .connect("gemini-3.1-flash-live-preview", LiveConfig::text())
///     .await?;
/// session.send_realtime_input("Hello? Gemini are you there?").await?;
/// println!("{}", session.receive().text().await?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

const GEMINI_REST: &str = "https://generativelanguage.googleapis.com";

impl Client {
    fn with(endpoint: Endpoint, credentials: Credentials, rest_base: String) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                credentials,
                transport: Vec::new(),
                rest_base,
                #[cfg(feature = "emulator")]
                _emulator: None,
            }),
        }
    }

    /// The Gemini API with an API key (sent as `x-goog-api-key`, never in a URL), API version
    /// `v1beta`.
    pub fn new(api_key: impl Into<Secret>) -> Self {
        Self::with(
            Endpoint::default(),
            Credentials::Fixed(Auth::api_key(api_key)),
            GEMINI_REST.into(),
        )
    }

    /// The Gemini API with the key from `GOOGLE_API_KEY` or `GEMINI_API_KEY` (`GOOGLE_API_KEY`
    /// wins when both are set, as in the official SDKs). With neither set it fails with
    /// [`Error::MissingApiKey`](crate::Error::MissingApiKey), whose message says how to get a key: it never falls back to
    /// anything else (see [`Client::from_env_or_emulator`] for examples and demos).
    pub fn from_env() -> Result<Self> {
        let auth = Auth::from_env()?;
        Ok(Self::with(
            Endpoint::default(),
            Credentials::Fixed(auth),
            GEMINI_REST.into(),
        ))
    }

    /// The Gemini API with an ephemeral token (`auth_tokens/...`, minted by
    /// [`Client::tokens`]): API version `v1alpha`, the `BidiGenerateContentConstrained` method,
    /// `Authorization: Token`. For clients that must not hold the API key.
    pub fn ephemeral(token: impl Into<Secret>) -> Self {
        Self::with(
            Endpoint::gemini(ApiVersion::V1Alpha),
            Credentials::Fixed(Auth::ephemeral_token(token)),
            GEMINI_REST.into(),
        )
    }

    /// Vertex AI in `project` and `location` (`us-central1`, `europe-west4`, `global`, ...),
    /// with Application Default Credentials
    /// ([`GoogleCredentials::application_default`](crate::GoogleCredentials::application_default):
    /// `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud ADC file, the metadata server), looked up
    /// at the first connection.
    ///
    /// ```no_run
    /// # async fn demo() -> gemlive::Result<()> {
    /// let client = gemlive::Client::vertex("my-project", "us-central1");
    /// let session = client
    ///     .live()
    ///     .connect("gemini-live-2.5-flash", gemlive::LiveConfig::audio())
    ///     .await?;
    /// # drop(session); Ok(()) }
    /// ```
    #[cfg(feature = "vertex")]
    pub fn vertex(project: impl Into<String>, location: impl Into<String>) -> Self {
        Self::vertex_with(
            project,
            location,
            crate::GoogleCredentials::application_default(),
        )
    }

    /// Vertex AI in `project` and `location` with access tokens from `tokens`: a
    /// [`StaticToken`], [`GoogleCredentials`](crate::GoogleCredentials) (feature `vertex`), or
    /// your own [`TokenProvider`], asked before every connection.
    pub fn vertex_with(
        project: impl Into<String>,
        location: impl Into<String>,
        tokens: impl TokenProvider + 'static,
    ) -> Self {
        Self::with(
            Endpoint::vertex(project, location, VertexApiVersion::default()),
            Credentials::Provider(Arc::new(tokens)),
            String::new(),
        )
    }

    /// Any Live-compatible server: a base URL (`http://127.0.0.1:9000`, `https://gateway/prefix`:
    /// the Gemini API path is appended) or a full `ws://`/`wss://` URL containing `/ws/` (used as
    /// it is). No credentials: add them with [`Client::with_api_key`] or [`Client::with_auth`].
    pub fn endpoint(url: &str) -> Result<Self> {
        let endpoint = if url.contains("/ws/") {
            Endpoint::verbatim(url)?
        } else {
            Endpoint::custom(url)?
        };
        Ok(Self::with(
            endpoint,
            Credentials::Fixed(Auth::None),
            url.trim_end_matches('/').to_owned(),
        ))
    }

    /// Starts the built-in emulator in this process (on a loopback port, audio paced in real
    /// time or at `GEMLIVE_EMULATOR_SPEED`) and connects to it: no key, no network. It answers
    /// like the Live API does (speech, transcripts, tools, resumption, interruption) with canned
    /// words, and stops when the client and its sessions are dropped.
    #[cfg(feature = "emulator")]
    pub async fn emulator() -> Result<Self> {
        let config = emulator::EmulatorConfig {
            speed: emulator::speed_from_env()?,
            ..emulator::EmulatorConfig::default()
        };
        Self::emulator_with(config).await
    }

    /// [`Client::emulator`] with a configuration of your own (scripts, faults, pacing, ...).
    /// Connections carry no credential, so the emulator is started with
    /// [`anonymous`](emulator::EmulatorConfig::anonymous) on.
    #[cfg(feature = "emulator")]
    pub async fn emulator_with(config: emulator::EmulatorConfig) -> Result<Self> {
        let config = emulator::EmulatorConfig {
            anonymous: true,
            ..config
        };
        let emulator = emulator::Emulator::start(config).await?;
        let endpoint = Endpoint::custom(&emulator.base_url())?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                credentials: Credentials::Fixed(Auth::None),
                transport: Vec::new(),
                rest_base: emulator.http_url(),
                _emulator: Some(emulator),
            }),
        })
    }

    /// For examples and demos: the Gemini API when `GEMINI_API_KEY` or `GOOGLE_API_KEY` is set,
    /// otherwise the built-in emulator ([`Client::emulator`]). Says which on standard error, so
    /// that nobody mistakes the emulator's canned answers for Gemini's. Production code should
    /// pick its backend explicitly ([`Client::from_env`] fails without a key).
    #[cfg(feature = "emulator")]
    pub async fn from_env_or_emulator() -> Result<Self> {
        match Self::from_env() {
            Ok(client) => {
                eprintln!("gemlive: talking to the Gemini API (key from the environment)");
                Ok(client)
            }
            Err(crate::Error::MissingApiKey) => {
                let client = Self::emulator().await?;
                eprintln!(
                    "gemlive: no GEMINI_API_KEY set: talking to the built-in emulator ({}), not to Gemini",
                    client.inner.rest_base
                );
                Ok(client)
            }
            Err(other) => Err(other),
        }
    }

    /// The API version in the path (`v1beta` by default; `v1alpha` for ephemeral tokens,
    /// affective dialog and proactivity). Ignored for Vertex AI and verbatim URLs.
    #[must_use]
    pub fn with_api_version(self, version: ApiVersion) -> Self {
        self.map(|inner| {
            inner.endpoint = match inner.endpoint.clone() {
                Endpoint::Gemini { .. } => Endpoint::gemini(version),
                Endpoint::Custom { base_url, .. } => Endpoint::Custom { base_url, version },
                other => other,
            };
        })
    }

    /// Sends this API key (e.g. to a gateway or a `gemlive emulator` that wants one).
    #[must_use]
    pub fn with_api_key(self, api_key: impl Into<Secret>) -> Self {
        self.with_auth(Auth::api_key(api_key))
    }

    /// Authenticates with `auth` (an API key, an ephemeral token, a bearer token, or none).
    #[must_use]
    pub fn with_auth(self, auth: Auth) -> Self {
        self.map(|inner| inner.credentials = Credentials::Fixed(auth))
    }

    /// A change to the transport's configuration for every session of this client (TLS roots,
    /// proxy, timeouts, recording, resumption policy...); a session's own
    /// [`LiveConfig::transport`](crate::LiveConfig::transport) changes come after it.
    #[must_use]
    pub fn with_transport(
        self,
        change: impl Fn(&mut transport::ClientConfig) + Send + Sync + 'static,
    ) -> Self {
        self.map(|inner| inner.transport.push(Arc::new(change)))
    }

    fn map(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => {
                let mut inner = Inner {
                    endpoint: self.inner.endpoint.clone(),
                    credentials: self.inner.credentials.clone(),
                    transport: self.inner.transport.clone(),
                    rest_base: self.inner.rest_base.clone(),
                    #[cfg(feature = "emulator")]
                    _emulator: None,
                };
                change(&mut inner);
                // A clone that changes keeps no emulator of its own; the original keeps it running.
                self.inner = Arc::new(inner);
            }
        }
        self
    }

    /// Live sessions: `client.live().connect(model, config)`. The [`Live`] holds a clone of the
    /// client, so it can be kept or moved into a task.
    pub fn live(&self) -> Live {
        Live {
            client: self.clone(),
        }
    }

    /// Ephemeral tokens: `client.tokens().create(...)` (the SDKs' `client.auth_tokens`).
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens::new(self)
    }

    /// Where this client connects.
    pub fn endpoint_config(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    pub(crate) async fn auth(&self) -> Result<Auth> {
        match &self.inner.credentials {
            Credentials::Fixed(auth) => Ok(auth.clone()),
            Credentials::Provider(p) => Ok(Auth::Bearer(p.access_token().await?)),
        }
    }

    pub(crate) fn transport_options(&self) -> transport::WsOptions {
        let mut config = transport::ClientConfig::new(
            self.inner.endpoint.clone(),
            Auth::None,
            protocol::wire::Setup::default(),
        );
        for change in &self.inner.transport {
            change(&mut config);
        }
        transport::WsOptions {
            tls: config.tls,
            proxy: config.proxy,
            idle_timeout: config.idle_timeout,
            connect_timeout: config.connect_timeout,
        }
    }
}

impl fmt::Display for Client {
    /// Which backend: `the Gemini API (v1beta)`, `Vertex AI (project p, us-central1)`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.endpoint {
            Endpoint::Gemini { version } => write!(f, "the Gemini API ({version})"),
            Endpoint::Vertex {
                project, location, ..
            } => write!(f, "Vertex AI (project {project}, {location})"),
            Endpoint::Custom { version, .. } => {
                write!(f, "{} ({version})", self.inner.rest_base)
            }
            _ => write!(f, "a Live endpoint ({:?})", self.inner.endpoint.backend()),
        }
    }
}

/// Live sessions of a [`Client`] ([`Client::live`]).
#[derive(Clone, Debug)]
pub struct Live {
    client: Client,
}

impl Live {
    /// Connects, sends the setup for `model` with `config`, and waits for the server's
    /// `setupComplete`. A setup the model or backend cannot take fails before any traffic; a
    /// setup the server refuses fails with its close code, reason and a hint.
    ///
    /// `config` is a [`LiveConfig`](crate::LiveConfig) or the Python-style JSON of one
    /// (`serde_json::json!({...})`, see [`LiveConfig::from_json`](crate::LiveConfig::from_json)).
    pub async fn connect(&self, model: &str, config: impl IntoLiveConfig) -> Result<Session> {
        let config = config.into_live_config()?;
        let client = &self.client;
        let backend: Backend = client.inner.endpoint.backend();
        let mut setup = config.setup_for(model, backend)?;
        #[cfg(feature = "tools")]
        let dispatcher = match config.runnable() {
            Some(tools) => Some(tools.declare(&mut setup, backend)?),
            None => None,
        };
        let handle = setup
            .session_resumption
            .as_mut()
            .and_then(|r| r.handle.take());
        let mut transport_config = match &client.inner.credentials {
            Credentials::Fixed(auth) => {
                transport::ClientConfig::new(client.inner.endpoint.clone(), auth.clone(), setup)
            }
            Credentials::Provider(tokens) => {
                let mut c =
                    transport::ClientConfig::new(client.inner.endpoint.clone(), Auth::None, setup);
                c.auth_provider = Some(Arc::new(BearerTokens(Arc::clone(tokens))));
                c
            }
        };
        if let Some(handle) = handle {
            transport_config = transport_config.resume(handle);
        }
        for change in &client.inner.transport {
            change(&mut transport_config);
        }
        config.apply_transport(&mut transport_config);
        #[cfg(feature = "tools")]
        if let Some(dispatcher) = &dispatcher {
            let feed = dispatcher.event_tap();
            transport_config.event_tap = Some(match transport_config.event_tap.take() {
                Some(own) => feed.then(own),
                None => feed,
            });
        }
        let (sender, events) = transport::connect(transport_config).await?;
        let session = Session::new(sender, events, Arc::clone(client.inner()));
        #[cfg(feature = "tools")]
        let session = session.with_tools(dispatcher);
        Ok(session)
    }
}
