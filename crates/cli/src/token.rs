//! `gemlive token create`: mints an ephemeral token with the API key, for a client that must not
//! hold the key (a browser, a device). Prints the token (`auth_tokens/...`) on stdout.

use std::time::Duration;

use anyhow::{Context, Result};
use gemlive::{Client, LiveConfig, TokenConfig};

use crate::args::TokenCreateArgs;

pub(crate) async fn create(args: TokenCreateArgs) -> Result<()> {
    let client = match &args.endpoint {
        Some(url) => {
            let client = Client::endpoint(url)?;
            match gemlive::Auth::from_env() {
                Ok(auth) => client.with_auth(auth),
                Err(_) => client,
            }
        }
        None => Client::from_env().map_err(|_| {
            crate::exit::Config(
                "minting a token needs the API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)\n  hint: get a key at https://aistudio.google.com/apikey".into(),
            )
        })?,
    };
    let mut config = TokenConfig::new()
        .uses(args.uses)
        .expire_in(Duration::from_secs(args.expire_minutes * 60))
        .new_session_expire_in(Duration::from_secs(args.new_session_seconds));
    if let Some(model) = &args.model {
        let live = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read {}", path.display()))?;
                let value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                LiveConfig::from_json(value)
                    .map_err(|e| crate::exit::Usage(format!("{}: {e}", path.display())))?
            }
            None => LiveConfig::new(),
        };
        config = config.live_constraints(model.as_str(), live);
        if !args.lock.is_empty() {
            config = config.lock_additional_fields(args.lock.iter().map(String::as_str));
        }
    }
    let token = client.tokens().create(config).await?;
    if args.json {
        let time = |t: Option<std::time::SystemTime>| {
            t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        let line = serde_json::json!({
            "name": token.name.expose(),
            "expire_time_unix": time(token.expire_time),
            "new_session_expire_time_unix": time(token.new_session_expire_time),
            "uses": token.uses,
        });
        println!("{line}");
    } else {
        println!("{}", token.name.expose());
        eprintln!(
            "valid for {} min, {} use(s); connect with --ephemeral-token (API version v1alpha)",
            args.expire_minutes,
            token
                .uses
                .map_or_else(|| "unlimited".to_owned(), |u| u.to_string())
        );
    }
    Ok(())
}
