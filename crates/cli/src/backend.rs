//! Where to connect: the real service, Vertex AI, a custom endpoint, or the built-in emulator.

use std::time::Duration;

use anyhow::{Context, Result};
use protocol::wire::Setup;
use transport::{ApiVersion, Auth, ClientConfig, Endpoint, TlsConfig, VertexApiVersion};

use crate::args::{ApiVersionArg, ConnectArgs, SessionArgs};

/// A resolved backend; holds the in-process emulator alive while the session runs.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) endpoint: Endpoint,
    pub(crate) auth: Auth,
    /// A short name for saved sessions: "emulator", "gemini", "vertex" or the endpoint URL.
    pub(crate) name: String,
    pub(crate) emulator: Option<emulator::Emulator>,
}

impl Backend {
    pub(crate) async fn resolve(args: &ConnectArgs) -> Result<Self> {
        let version = match args.api_version {
            ApiVersionArg::V1beta => ApiVersion::V1Beta,
            ApiVersionArg::V1alpha => ApiVersion::V1Alpha,
            ApiVersionArg::V1 => ApiVersion::V1,
        };
        if args.emulator {
            let speed = match &args.emulator_speed {
                None => 1.0,
                Some(v) => emulator::parse_speed(v).map_err(|e| {
                    crate::exit::Usage(format!("--emulator-speed (or GEMLIVE_EMULATOR_SPEED): {e}"))
                })?,
            };
            let script = match &args.emulator_script {
                Some(path) => Some(
                    emulator::Script::load(path)
                        .map_err(|e| crate::exit::Usage(format!("--emulator-script: {e}")))?,
                ),
                None => None,
            };
            // Sessions outlive this process, so that `--resume` works in the next one. The
            // file holds conversation text: it lives in the private state directory.
            let state_file = match crate::state::private_dir() {
                Ok(d) => Some(d.join("emulator-sessions.json")),
                Err(e) => {
                    tracing::warn!("sessions will not be resumable after this run: {e:#}");
                    None
                }
            };
            let config = emulator::EmulatorConfig {
                speed,
                script,
                state_file,
                ..emulator::EmulatorConfig::default()
            };
            let emulator = emulator::Emulator::start(config)
                .await
                .context("cannot start the built-in emulator")?;
            let endpoint = with_version(Endpoint::custom(&emulator.base_url())?, version);
            // The built-in emulator takes any key, as Google's servers need one.
            let auth = Auth::api_key("emulator");
            return Ok(Self {
                endpoint,
                auth,
                name: "emulator".into(),
                emulator: Some(emulator),
            });
        }
        if let Some(url) = &args.endpoint {
            let endpoint = if url.contains("/ws/") {
                Endpoint::verbatim(url)?
            } else {
                with_version(Endpoint::custom(url)?, version)
            };
            let auth = match (&args.ephemeral_token, Auth::from_env()) {
                (Some(token), _) => Auth::ephemeral_token(token.as_str()),
                (None, Ok(auth)) => auth,
                // A local server such as `gemlive emulator` wants a key like Google does; any will do.
                (None, Err(_)) if is_loopback(url) => Auth::api_key("local"),
                (None, Err(e)) => return Err(e.into()),
            };
            return Ok(Self {
                endpoint,
                auth,
                name: url.clone(),
                emulator: None,
            });
        }
        if args.vertex {
            let project = args
                .project
                .clone()
                .context("Vertex AI needs --project (or GOOGLE_CLOUD_PROJECT)")?;
            let token = args.access_token.clone().context(
                "Vertex AI needs an access token: --access-token or GOOGLE_CLOUD_ACCESS_TOKEN (e.g. $(gcloud auth print-access-token))",
            )?;
            let endpoint =
                Endpoint::vertex(project, args.location.clone(), VertexApiVersion::default());
            return Ok(Self {
                endpoint,
                auth: Auth::bearer(token),
                name: "vertex".into(),
                emulator: None,
            });
        }
        let auth = match &args.ephemeral_token {
            Some(token) => Auth::ephemeral_token(token.as_str()),
            None => Auth::from_env().map_err(|e| {
                crate::exit::Config(format!(
                    "{e}\n  hint: get a key at https://aistudio.google.com/apikey, or try gemlive with no key against the built-in emulator: gemlive chat --emulator \"Hello\""
                ))
            })?,
        };
        Ok(Self {
            endpoint: Endpoint::gemini(version),
            auth,
            name: "gemini".into(),
            emulator: None,
        })
    }

    /// Whether this is one of Google's services (where the model catalogue is the law).
    pub(crate) fn is_google(&self) -> bool {
        matches!(self.name.as_str(), "gemini" | "vertex")
    }

    /// A short name of where it connects.
    pub(crate) fn short(&self) -> String {
        match self.name.as_str() {
            "emulator" => "the built-in emulator".into(),
            "gemini" => "generativelanguage.googleapis.com".into(),
            "vertex" => "Vertex AI".into(),
            url => url.to_owned(),
        }
    }

    /// What a person calls this backend, for the banner and the connecting line.
    pub(crate) fn describe(&self) -> String {
        match self.name.as_str() {
            "emulator" => "the built-in emulator (no key, no network)".into(),
            "gemini" => "Google's Gemini API (generativelanguage.googleapis.com)".into(),
            "vertex" => "Vertex AI".into(),
            url => url.to_owned(),
        }
    }

    /// The client configuration for a session with `setup`: the library's defaults
    /// (automatic resumption included) with the flags' timeouts, CA file and recording.
    pub(crate) fn client_config(
        &self,
        args: &ConnectArgs,
        session: &SessionArgs,
        setup: Setup,
    ) -> Result<ClientConfig> {
        let mut config = ClientConfig::new(self.endpoint.clone(), self.auth.clone(), setup);
        config.setup_timeout = Duration::from_secs(args.setup_timeout);
        config.connect_timeout = Duration::from_secs(args.connect_timeout);
        config.stall_timeout = Some(session.stall_timeout);
        let record = session.record.as_deref();
        if let Some(ca) = &args.ca_file {
            config.tls = TlsConfig {
                extra_ca_file: Some(ca.clone()),
                ..config.tls
            };
        }
        if let Some(path) = record {
            config.record = Some(transport::RecorderConfig::new(path.to_owned()));
        }
        Ok(config)
    }

    pub(crate) async fn shutdown(self) {
        if let Some(e) = self.emulator {
            e.shutdown().await;
        }
    }
}

fn with_version(endpoint: Endpoint, version: ApiVersion) -> Endpoint {
    match endpoint {
        Endpoint::Custom { base_url, .. } => Endpoint::Custom { base_url, version },
        other => other,
    }
}

/// The flags that select a saved session's backend again (`None` for Vertex AI, whose project
/// and location are not saved).
pub(crate) fn flags_for(backend: &str) -> Option<String> {
    match backend {
        "emulator" => Some(" --emulator".into()),
        "gemini" => Some(String::new()),
        "vertex" => None,
        url => Some(format!(" --endpoint {url}")),
    }
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| transport::is_loopback_host(&u))
}

/// Ends a session: closes it, lets the last frames (a final resumption update) arrive for up to
/// two seconds, and saves the latest resumable handle as the one `--resume` picks up.
pub(crate) async fn close_and_save(
    sender: &transport::LiveSender,
    events: &mut transport::LiveEvents,
    model: String,
    backend: &str,
) -> Option<String> {
    let _ = sender.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while events.next().await.is_some() {}
    })
    .await;
    let handle = sender
        .resumption_handle()
        .or_else(|| events.resumption_handle());
    crate::state::save_latest(handle, model, backend)
}
