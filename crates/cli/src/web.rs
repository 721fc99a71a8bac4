//! `gemlive web`: the browser console (crate `gemlive-web`), wired to the built-in emulator or
//! the Live API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use gemlive::Client;
use tools::{McpServer, Tools};
use transport::{Auth, Secret};

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
    /// An MCP server to run (a command line, e.g. 'uvx mcp-server-time'): the relay declares its
    /// tools in every session and answers the model's calls with them. Repeatable.
    #[arg(long = "mcp", value_name = "COMMAND", help_heading = "Tools")]
    mcp: Vec<String>,
    /// An MCP server over streamable HTTP (e.g. http://127.0.0.1:3001/mcp). Repeatable.
    #[arg(long = "mcp-url", value_name = "URL", help_heading = "Tools")]
    mcp_urls: Vec<String>,
}

/// The MCP servers' tools, started (or reached) once for every relayed session.
async fn mcp_tools(args: &WebArgs) -> Result<Tools> {
    let mut servers = Vec::new();
    for command in &args.mcp {
        let server = McpServer::command(command)
            .map_err(|e| crate::exit::Usage(format!("--mcp {command:?}: {e}")))?;
        servers.push(server);
    }
    servers.extend(args.mcp_urls.iter().map(McpServer::http));
    let mut tools = Tools::new();
    for server in &servers {
        let n = tools
            .add_mcp(server)
            .await
            .with_context(|| format!("the MCP server {}", server.name()))?;
        eprintln!(
            "gemlive web: {n} tools from the MCP server {}",
            server.name()
        );
    }
    Ok(tools)
}

pub(crate) async fn run(args: WebArgs) -> Result<()> {
    let tools = mcp_tools(&args).await?;
    let mut emulator = None;
    let client = if args.emulator {
        let config = emulator::EmulatorConfig {
            max_sessions: args.max_sessions,
            ..emulator::EmulatorConfig::default()
        };
        let e = emulator::Emulator::start(config)
            .await
            .context("cannot start the built-in emulator")?;
        // The emulator wants a key, as Google does; any will do.
        let client = Client::endpoint(&e.http_url())?.with_api_key("emulator");
        emulator = Some(e);
        client
    } else if let Some(url) = &args.endpoint {
        let auth = Auth::from_env().unwrap_or_else(|_| Auth::api_key("local"));
        Client::endpoint(url)?.with_auth(auth)
    } else {
        // A missing key in the CLI's words (the facade's hint speaks to library users).
        Auth::from_env().map_err(|e| {
            crate::exit::Config(format!(
                "{e}\n  hint: try the console offline first: gemlive web --emulator"
            ))
        })?;
        Client::from_env()?
    };
    let client = match args.ca_file {
        Some(ca) => client.with_transport(move |c| c.tls.extra_ca_file = Some(ca.clone())),
        None => client,
    };
    let mut upstream = gemlive_web::Upstream::new(client);
    upstream.record_dir = args.record;
    let mut config = gemlive_web::WebConfig::new(upstream);
    config.tools = tools;
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
