//! The Live API side, in one place: relayed sessions and direct mode's tokens, both through the
//! `gemlive` crate's [`Client`] (its endpoint, credentials, TLS and proxy settings).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use gemlive::{AuthToken, Client, LiveConfig, TokenConfig};
use protocol::models::Backend;
use protocol::wire::Setup;
use transport::{ApiVersion, Auth, Endpoint, EventTap, LiveEvents, LiveSender, RecorderConfig};
use url::Url;

/// Where relayed sessions go and how they authenticate; the browser never sees any of it.
#[derive(Debug)]
pub struct Upstream {
    /// The Live API (Google's, or a local emulator's through [`Client::endpoint`]) and the
    /// server's credential: an API key, for direct mode's tokens.
    pub client: Client,
    /// Record every relayed session to `DIR/session-N.jsonl` (secrets scrubbed).
    pub record_dir: Option<PathBuf>,
    /// Numbers recordings.
    recorded: AtomicU64,
}

/// A relayed session's two halves.
pub(crate) type Session = (LiveSender, LiveEvents);

impl Upstream {
    /// Sessions and tokens of `client`, not recorded.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            record_dir: None,
            recorded: AtomicU64::new(0),
        }
    }

    /// The model name as this endpoint writes it (`models/...`).
    pub(crate) fn model_name(&self, model: &str) -> Result<String, String> {
        self.endpoint().model_name(model).map_err(|e| e.to_string())
    }

    /// The dialect of the endpoint (which rules tool declarations follow).
    pub(crate) fn backend(&self) -> Backend {
        self.endpoint().backend()
    }

    fn endpoint(&self) -> &Endpoint {
        self.client.endpoint_config()
    }

    /// Opens a session with `setup`, resuming `handle` when given. The transport keeps it alive
    /// across `goAway`s and retriable drops (automatic resumption is its default) and reports
    /// each move with `Reconnecting` and, for a turn it cut, `TurnCut`. `tap` sees every event
    /// first (the tool dispatcher).
    pub(crate) async fn open(
        &self,
        setup: Setup,
        handle: Option<String>,
        tap: Option<EventTap>,
    ) -> Result<Session, gemlive::Error> {
        let record = self.record_dir.as_ref().map(|dir| {
            let n = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
            RecorderConfig::new(dir.join(format!("session-{n}.jsonl")))
        });
        let model = setup.model.clone();
        let config = LiveConfig::from(setup)
            .resumption(handle)
            .transport(move |c| {
                c.record.clone_from(&record);
                c.event_tap.clone_from(&tap);
            });
        let session = self.client.live().connect(&model, config).await?;
        Ok(session.split())
    }

    /// Direct mode: where the browser connects (the token-only method, v1alpha, no credential in
    /// the URL: the page adds `?access_token=`).
    pub(crate) fn direct_url(&self) -> Result<Url, String> {
        let endpoint =
            match self.endpoint() {
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

    /// Direct mode: a single-use token that locks every field `setup` sets, except the
    /// resumption settings (the browser sends its handle there).
    pub(crate) async fn mint(&self, setup: &Setup) -> Result<AuthToken, gemlive::Error> {
        let mut locked = setup.clone();
        locked.session_resumption = None;
        let model = locked.model.clone();
        let config = TokenConfig::new()
            .uses(1)
            .live_constraints(model, LiveConfig::from(locked))
            .lock_additional_fields(Vec::<String>::new());
        self.client.tokens().create(config).await
    }
}
