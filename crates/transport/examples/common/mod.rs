//! Command-line handling shared by the quickstart examples.

use std::path::PathBuf;

use gemlive_transport::protocol::wire::Setup;
use gemlive_transport::{Auth, ClientConfig, Endpoint, ProxyConfig, TlsConfig};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `<base-url> [--ca-file PEM] [--proxy URL] [--model NAME] [--out FILE] [PROMPT...]`
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) base_url: String,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) proxy: Option<String>,
    pub(crate) model: String,
    pub(crate) out: Option<PathBuf>,
    pub(crate) prompt: String,
}

pub(crate) const USAGE: &str = "usage: <example> <base-url> [--ca-file PEM] [--proxy http://host:port] [--model NAME] [--out FILE] [PROMPT...]
  base-url: https://generativelanguage.googleapis.com, or a local server such as http://127.0.0.1:9000
  the API key comes from GEMINI_API_KEY or GOOGLE_API_KEY (GOOGLE_API_KEY wins); none is sent when both are unset";

pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, BoxError> {
    let mut args = args.into_iter();
    let mut base_url = None;
    let mut parsed = Args {
        base_url: String::new(),
        ca_file: None,
        proxy: None,
        model: "gemini-3.1-flash-live-preview".to_owned(),
        out: None,
        prompt: String::new(),
    };
    let mut prompt = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--ca-file" => parsed.ca_file = Some(value("--ca-file")?.into()),
            "--proxy" => parsed.proxy = Some(value("--proxy")?),
            "--model" => parsed.model = value("--model")?,
            "--out" => parsed.out = Some(value("--out")?.into()),
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}").into());
            }
            _ if base_url.is_none() => base_url = Some(arg),
            _ => prompt.push(arg),
        }
    }
    parsed.base_url = base_url.ok_or(USAGE)?;
    parsed.prompt = if prompt.is_empty() {
        "Hello? Gemini are you there?".to_owned()
    } else {
        prompt.join(" ")
    };
    Ok(parsed)
}

/// The client configuration for `args` and `setup`.
pub(crate) fn config(args: &Args, setup: Setup) -> Result<ClientConfig, BoxError> {
    let auth = match Auth::from_env() {
        Ok(auth) => auth,
        Err(_) => Auth::None,
    };
    let mut config = ClientConfig::new(Endpoint::custom(&args.base_url)?, auth, setup);
    if let Some(ca_file) = &args.ca_file {
        config.tls = TlsConfig {
            extra_ca_file: Some(ca_file.clone()),
            ..TlsConfig::default()
        };
    }
    if let Some(proxy) = &args.proxy {
        config.proxy = ProxyConfig::url(proxy)?;
    }
    Ok(config)
}
