//! The crate's one [`Error`]: every message ends with what to do about it.

use crate::tokens::TokenError;

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. `Display` gives the cause and a hint; credentials never appear.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither `GEMINI_API_KEY` nor `GOOGLE_API_KEY` is set ([`Client::from_env`](crate::Client::from_env)).
    #[error(
        "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY, which wins when both are set) (hint: get a key at https://aistudio.google.com/apikey; for offline development use the built-in emulator, Client::emulator(), feature `emulator`)"
    )]
    MissingApiKey,
    /// A [`LiveConfig`](crate::LiveConfig) that cannot be used, found before any traffic.
    #[error("invalid live config: {0}")]
    Config(String),
    /// Connecting, the session, or its close: the server's code and reason come with a hint.
    #[error(transparent)]
    Live(transport::Error),
    /// Minting an ephemeral token failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Getting a Vertex AI access token failed.
    #[error(
        "Vertex AI credentials: {0} (hint: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file)"
    )]
    Credentials(String),
    /// The session's tools cannot be declared for this model (a NON_BLOCKING tool on a model
    /// without it, parameters that are not an object, ...), found before any traffic.
    #[cfg(feature = "tools")]
    #[error("tools: {0}")]
    Tools(#[from] tools::DeclareError),
    /// An MCP server could not be started, reached or listed.
    #[cfg(feature = "mcp")]
    #[error(transparent)]
    Mcp(#[from] tools::McpError),
    /// Reading or writing audio.
    #[cfg(feature = "audio")]
    #[error(transparent)]
    Audio(#[from] audio::Error),
    /// The built-in emulator could not start.
    #[cfg(feature = "emulator")]
    #[error("the built-in emulator: {0}")]
    Emulator(#[from] emulator::Error),
}

impl Error {
    /// The classified close, when the session ended (code, reason, kind, fault, hint).
    pub fn close(&self) -> Option<&protocol::Close> {
        match self {
            Self::Live(e) => e.close(),
            _ => None,
        }
    }
}

impl From<transport::Error> for Error {
    /// A [`TokenProvider`](crate::TokenProvider)'s own error comes back as it was.
    fn from(e: transport::Error) -> Self {
        match e {
            transport::Error::Credentials(source) => match source.downcast::<Self>() {
                Ok(ours) => *ours,
                Err(other) => Self::Credentials(other.to_string()),
            },
            other => Self::Live(other),
        }
    }
}

impl From<transport::ConfigError> for Error {
    fn from(e: transport::ConfigError) -> Self {
        match e {
            transport::ConfigError::MissingApiKey => Self::MissingApiKey,
            other => Self::Live(other.into()),
        }
    }
}

impl From<protocol::Error> for Error {
    fn from(e: protocol::Error) -> Self {
        Self::Live(e.into())
    }
}
