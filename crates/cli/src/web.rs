//! `gemlive web`: the browser console (crate `gemlive-web`), wired to the built-in emulator or
//! the Live API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use transport::{ApiVersion, Auth, Endpoint, Secret, TlsConfig};

#[derive(Debug, Args)]
#[command(
    after_help = "The page works with a microphone, a speaker, a camera or a screen, in relay mode (the \
key stays here) or direct mode (the page gets a single-use token). To listen beyond loopback, pass \
--bind and set GEMLIVE_WEB_SECRET (16+ characters); open the page once with ?secret=..."
)]
pub(crate) struct WebArgs {
    /// Serve the page against the built-in emulator (no key, no network).
    #[arg(long, conflicts_with = "endpoint")]
    emulator: bool,
    /// A Live-compatible server instead of Google's, e.g. a `gemlive emulator` (ws://127.0.0.1:9000).
    #[arg(long, env = "GEMLIVE_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8780)]
    port: u16,
    /// The address to listen on; anything but loopback needs GEMLIVE_WEB_SECRET.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// A public origin the page is served from behind a proxy (https://voice.example.com); repeatable.
    #[arg(long = "origin", value_name = "URL")]
    origins: Vec<url::Url>,
    /// The model when the page names none.
    #[arg(long, env = "GEMLIVE_MODEL", default_value = protocol::models::DEFAULT_MODEL)]
    model: String,
    /// Record every relayed session to DIR/session-N.jsonl (secrets scrubbed).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Relay only: no ephemeral tokens for direct mode.
    #[arg(long)]
    no_direct: bool,
    /// Relayed sessions held at once.
    #[arg(long, default_value_t = gemlive_web::DEFAULT_MAX_SESSIONS)]
    max_sessions: usize,
    /// A PEM file of extra CA certificates to trust.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

pub(crate) async fn run(args: WebArgs) -> Result<()> {
    let mut emulator = None;
    let (endpoint, auth) = if args.emulator {
        let config = emulator::EmulatorConfig {
            max_sessions: args.max_sessions,
            ..emulator::EmulatorConfig::default()
        };
        let e = emulator::Emulator::start(config)
            .await
            .context("cannot start the built-in emulator")?;
        let endpoint = Endpoint::custom(&e.base_url())?;
        emulator = Some(e);
        // The emulator wants a key, as Google does; any will do.
        (endpoint, Auth::api_key("emulator"))
    } else if let Some(url) = &args.endpoint {
        let auth = Auth::from_env().unwrap_or_else(|_| Auth::api_key("local"));
        (Endpoint::custom(url)?, auth)
    } else {
        let auth = Auth::from_env().map_err(|e| {
            crate::exit::Config(format!(
                "{e}\n  hint: try the console offline first: gemlive web --emulator"
            ))
        })?;
        (Endpoint::gemini(ApiVersion::V1Beta), auth)
    };
    let mut upstream = gemlive_web::Upstream::new(endpoint, auth);
    upstream.record_dir = args.record;
    if let Some(ca) = args.ca_file {
        upstream.tls = TlsConfig {
            extra_ca_file: Some(ca),
            ..TlsConfig::default()
        };
    }
    let mut config = gemlive_web::WebConfig::new(upstream);
    config.bind = SocketAddr::new(args.bind, args.port);
    config.secret = std::env::var("GEMLIVE_WEB_SECRET").ok().map(Secret::new);
    config.origins = args.origins;
    config.default_model = args.model;
    config.max_sessions = args.max_sessions;
    config.direct = !args.no_direct;
    let secret = config.secret.is_some();
    let server = gemlive_web::WebServer::start(config).await?;
    println!("gemlive web: open {}", server.url());
    if secret {
        println!("  (once with ?secret=<GEMLIVE_WEB_SECRET> at the end of the URL)");
    }
    println!("  Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    if let Some(e) = emulator {
        e.shutdown().await;
    }
    Ok(())
}
