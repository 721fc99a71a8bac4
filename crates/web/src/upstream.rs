//! The Live API side, in one place: opening a relayed session (the transport crate's client, with
//! automatic resumption and optional recording) and minting tokens for direct mode. Moving the
//! relay to the facade crate's client changes this module only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use protocol::wire::Setup;
use transport::{
    ApiVersion, Auth, ClientConfig, Endpoint, LiveEvents, LiveSender, RecorderConfig, TlsConfig,
};
use url::Url;

use crate::token::{self, MintError, Minted};

/// Where relayed sessions go and how they authenticate; the browser never sees any of it.
#[derive(Debug)]
pub struct Upstream {
    /// The Live endpoint (Google's, or a local emulator's through [`Endpoint::Custom`]).
    pub endpoint: Endpoint,
    /// The server's credential (an API key for direct mode).
    pub auth: Auth,
    /// Trusted CAs.
    pub tls: TlsConfig,
    /// Record every relayed session to `DIR/session-N.jsonl` (secrets scrubbed).
    pub record_dir: Option<PathBuf>,
    /// Numbers recordings.
    recorded: AtomicU64,
}

/// A relayed session's two halves.
pub(crate) type Session = (LiveSender, LiveEvents);

impl Upstream {
    /// An upstream with the default TLS roots and no recording.
    pub fn new(endpoint: Endpoint, auth: Auth) -> Self {
        Self {
            endpoint,
            auth,
            tls: TlsConfig::default(),
            record_dir: None,
            recorded: AtomicU64::new(0),
        }
    }

    /// The model name as this endpoint writes it (`models/...`).
    pub(crate) fn model_name(&self, model: &str) -> Result<String, String> {
        self.endpoint.model_name(model).map_err(|e| e.to_string())
    }

    /// Opens a session with `setup`, resuming `handle` when given; it survives `goAway`s and
    /// retriable drops on its own.
    pub(crate) async fn open(
        &self,
        setup: Setup,
        handle: Option<String>,
    ) -> Result<Session, transport::Error> {
        let mut config = ClientConfig::new(self.endpoint.clone(), self.auth.clone(), setup);
        config.tls = self.tls.clone();
        config.auto_resume = true;
        if let Some(dir) = &self.record_dir {
            let n = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
            config.record = Some(RecorderConfig::new(dir.join(format!("session-{n}.jsonl"))));
        }
        if let Some(handle) = handle {
            config = config.resume(handle);
        }
        transport::connect(config).await
    }

    /// Direct mode: where the browser connects (the token-only method, v1alpha, no credential in
    /// the URL: the page adds `?access_token=`).
    pub(crate) fn direct_url(&self) -> Result<Url, String> {
        let endpoint =
            match &self.endpoint {
                Endpoint::Gemini { .. } => Endpoint::gemini(ApiVersion::V1Alpha),
                Endpoint::Custom { base_url, .. } => Endpoint::Custom {
                    base_url: base_url.clone(),
                    version: ApiVersion::V1Alpha,
                },
                _ => return Err(
                    "direct mode needs the Gemini API (ephemeral tokens do not exist on Vertex AI)"
                        .into(),
                ),
            };
        endpoint
            .url(&Auth::ephemeral_token("auth_tokens/page"), true)
            .map_err(|e| e.to_string())
    }

    /// Direct mode: a single-use token locking `setup`.
    pub(crate) async fn mint(&self, setup: &Setup) -> Result<Minted, MintError> {
        let Auth::ApiKey(key) = &self.auth else {
            return Err(MintError::Refused {
                status: 0,
                message: "minting tokens needs an API key on the server".into(),
            });
        };
        let url = match &self.endpoint {
            Endpoint::Gemini { .. } => {
                Url::parse("https://generativelanguage.googleapis.com/v1alpha/auth_tokens")
            }
            Endpoint::Custom { base_url, .. } => {
                let mut url = base_url.clone();
                let scheme = if url.scheme() == "wss" || url.scheme() == "https" {
                    "https"
                } else {
                    "http"
                };
                // ws→http and wss→https are always accepted by `Url::set_scheme` for these URLs.
                let _ = url.set_scheme(scheme);
                url.set_path("/v1alpha/auth_tokens");
                url.set_query(None);
                Ok(url)
            }
            _ => {
                return Err(MintError::Refused {
                    status: 0,
                    message: "ephemeral tokens exist on the Gemini API only".into(),
                });
            }
        }
        .map_err(|e| MintError::Network(e.to_string()))?;
        token::mint(&url, key, &self.tls, setup).await
    }
}
