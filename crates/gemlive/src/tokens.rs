//! Ephemeral tokens: short-lived credentials for clients that must not hold the API key
//! (`POST /v1alpha/auth_tokens`, the SDKs' `client.auth_tokens.create`).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use transport::{Endpoint, Secret};

use crate::client::Client;
use crate::config::LiveConfig;
use crate::{Error, Result};

/// What a token allows ([`Tokens::create`]). The defaults are the server's: one use, valid for
/// 30 minutes, a new session must start within a minute, any setup.
#[derive(Clone, Debug, Default)]
pub struct TokenConfig {
    uses: Option<u32>,
    expire_time: Option<SystemTime>,
    new_session_expire_time: Option<SystemTime>,
    constraints: Option<(String, LiveConfig)>,
    lock_additional_fields: Option<Vec<String>>,
}

impl TokenConfig {
    /// The server's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many sessions the token may start (`0`: any number). Resuming a session does not
    /// count as a use.
    #[must_use]
    pub fn uses(mut self, uses: u32) -> Self {
        self.uses = Some(uses);
        self
    }

    /// After this time the token's sessions end (at most 20 hours ahead).
    #[must_use]
    pub fn expire_time(mut self, at: SystemTime) -> Self {
        self.expire_time = Some(at);
        self
    }

    /// [`TokenConfig::expire_time`] `after` from now.
    #[must_use]
    pub fn expire_in(self, after: Duration) -> Self {
        self.expire_time(SystemTime::now() + after)
    }

    /// After this time no new session may start with the token.
    #[must_use]
    pub fn new_session_expire_time(mut self, at: SystemTime) -> Self {
        self.new_session_expire_time = Some(at);
        self
    }

    /// [`TokenConfig::new_session_expire_time`] `after` from now.
    #[must_use]
    pub fn new_session_expire_in(self, after: Duration) -> Self {
        self.new_session_expire_time(SystemTime::now() + after)
    }

    /// Locks the sessions to `model` and `config` (`live_connect_constraints`): with no
    /// [`TokenConfig::lock_additional_fields`], the whole setup is the token's.
    #[must_use]
    pub fn live_constraints(mut self, model: impl Into<String>, config: LiveConfig) -> Self {
        self.constraints = Some((model.into(), config));
        self
    }

    /// Which fields of the locked setup override the client's (the field mask): the fields the
    /// constraints set, plus these (`temperature`, `system_instruction`, ...). An empty list
    /// locks exactly the fields the constraints set.
    #[must_use]
    pub fn lock_additional_fields<S: Into<String>>(
        mut self,
        fields: impl IntoIterator<Item = S>,
    ) -> Self {
        self.lock_additional_fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// The request body, as the SDKs send it.
    fn body(&self) -> Result<Value> {
        let mut body = Map::new();
        if let Some(uses) = self.uses {
            body.insert("uses".into(), uses.into());
        }
        if let Some(at) = self.expire_time {
            body.insert("expireTime".into(), rfc3339(at)?.into());
        }
        if let Some(at) = self.new_session_expire_time {
            body.insert("newSessionExpireTime".into(), rfc3339(at)?.into());
        }
        if let Some((model, config)) = &self.constraints {
            let name = Endpoint::default().model_name(model)?;
            let setup = serde_json::to_value(config.setup(&name)?)
                .map_err(|e| Error::Config(e.to_string()))?;
            if let Some(extra) = &self.lock_additional_fields {
                body.insert("fieldMask".into(), field_mask(&setup, extra).into());
            }
            body.insert("bidiGenerateContentSetup".into(), setup);
        }
        Ok(Value::Object(body))
    }
}

/// The SDKs' field mask: every field the setup sets (one level into objects), plus `extra`
/// (generation settings under `generationConfig.`).
fn field_mask(setup: &Value, extra: &[String]) -> String {
    let mut paths = Vec::new();
    if let Value::Object(fields) = setup {
        for (key, value) in fields {
            match value {
                Value::Object(inner) if !inner.is_empty() => {
                    paths.extend(inner.keys().map(|k| format!("{key}.{k}")));
                }
                _ => paths.push(key.clone()),
            }
        }
    }
    for field in extra {
        let camel = protocol::decode::to_camel_case(field);
        let generation = [
            "responseModalities",
            "temperature",
            "topP",
            "topK",
            "maxOutputTokens",
            "seed",
            "speechConfig",
            "mediaResolution",
            "thinkingConfig",
            "enableAffectiveDialog",
        ];
        let path = if generation.contains(&camel.as_str()) {
            format!("generationConfig.{camel}")
        } else {
            camel
        };
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths.join(",")
}

fn rfc3339(at: SystemTime) -> Result<String> {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .map_err(|e| Error::Config(format!("a token time: {e}")))
}

/// A minted token. Use [`AuthToken::name`] as the credential ([`Client::ephemeral`]).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// `auth_tokens/...`: the credential itself (redacted in `Debug`).
    pub name: Secret,
    /// When the token's sessions end.
    pub expire_time: Option<SystemTime>,
    /// When the token stops starting new sessions.
    pub new_session_expire_time: Option<SystemTime>,
    /// Sessions it may start (`None`: unlimited).
    pub uses: Option<u32>,
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("name", &"auth_tokens/<redacted>")
            .field("expire_time", &self.expire_time)
            .field("new_session_expire_time", &self.new_session_expire_time)
            .field("uses", &self.uses)
            .finish()
    }
}

/// Minting a token failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The server refused the request.
    #[error("minting an ephemeral token failed with HTTP {status}: {message} (hint: {hint})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// What to do.
        hint: &'static str,
    },
    /// The answer was not a token.
    #[error("the token endpoint answered something that is not a token: {0}")]
    Malformed(String),
    /// Tokens exist only on the Gemini API.
    #[error(
        "ephemeral tokens are a Gemini API feature, not Vertex AI's (hint: use a Gemini API client: Client::new or Client::from_env)"
    )]
    NotOnVertex,
}

/// Ephemeral tokens of a [`Client`] ([`Client::tokens`]).
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    client: &'a Client,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Mints a token (`POST /v1alpha/auth_tokens` with the client's API key), through the
    /// client's proxy and TLS settings.
    ///
    /// ```no_run
    /// # async fn demo() -> gemlive::Result<()> {
    /// use std::time::Duration;
    /// use gemlive::{Client, LiveConfig, TokenConfig};
    ///
    /// let server = Client::from_env()?;
    /// let token = server.tokens().create(
    ///     TokenConfig::new()
    ///         .uses(1)
    ///         .expire_in(Duration::from_secs(30 * 60))
    ///         .live_constraints("gemini-3.1-flash-live-preview", LiveConfig::audio()),
    /// ).await?;
    /// // Hand `token.name` to the browser or device; there:
    /// let client = Client::ephemeral(token.name);
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, config: TokenConfig) -> Result<AuthToken> {
        let inner = self.client.inner();
        if matches!(inner.endpoint, Endpoint::Vertex { .. }) {
            return Err(TokenError::NotOnVertex.into());
        }
        let url = url::Url::parse(&format!("{}/v1alpha/auth_tokens", inner.rest_base))
            .map_err(|e| Error::Config(format!("the token endpoint: {e}")))?;
        let headers = self.client.auth().await?.headers()?;
        let body = config.body()?.to_string().into_bytes();
        let options = self.client.transport_options();
        let response = transport::post_json(&url, headers, body, &options).await?;
        parse_response(response.status, &response.body)
    }
}

fn parse_response(status: u16, body: &[u8]) -> Result<AuthToken> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let message = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| String::from_utf8_lossy(body).into_owned(), str::to_owned);
        let hint = match status {
            400 => "check the token's fields: times at most 20 hours ahead, a valid locked setup",
            401 | 403 => "token minting needs a valid API key (Client::new or Client::from_env)",
            404 => "the endpoint has no token service; tokens exist on the Gemini API (v1alpha)",
            _ => "retry later",
        };
        return Err(TokenError::Refused {
            status,
            message,
            hint,
        }
        .into());
    }
    let malformed = |what: &str| TokenError::Malformed(what.to_owned());
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| n.starts_with("auth_tokens/"))
        .ok_or_else(|| malformed("no `name` starting with auth_tokens/"))?;
    let time = |key: &str| -> Result<Option<SystemTime>> {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|t| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .map(SystemTime::from)
                    .map_err(|_| malformed(&format!("`{key}` is not a timestamp")).into())
            })
            .transpose()
    };
    Ok(AuthToken {
        name: Secret::new(name),
        expire_time: time("expireTime")?,
        new_session_expire_time: time("newSessionExpireTime")?,
        uses: value
            .get("uses")
            .and_then(Value::as_u64)
            .and_then(|u| u32::try_from(u).ok()),
    })
}

impl From<AuthToken> for Secret {
    fn from(token: AuthToken) -> Self {
        token.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_is_what_the_sdks_send() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let config = TokenConfig::new()
            .uses(2)
            .expire_time(at)
            .live_constraints(
                "gemini-3.1-flash-live-preview",
                LiveConfig::audio().temperature(0.5),
            )
            .lock_additional_fields(["system_instruction"]);
        assert_eq!(
            config.body().unwrap(),
            json!({
                "uses": 2,
                "expireTime": "2027-01-15T08:00:00Z",
                "bidiGenerateContentSetup": {
                    "model": "models/gemini-3.1-flash-live-preview",
                    "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.5}
                },
                "fieldMask": "generationConfig.responseModalities,generationConfig.temperature,model,systemInstruction"
            })
        );
        assert_eq!(TokenConfig::new().body().unwrap(), json!({}));
    }

    #[test]
    fn refusals_carry_the_message_and_a_hint() {
        let err = parse_response(400, br#"{"error": {"code": 400, "message": "bad time"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad time") && err.contains("hint:"), "{err}");
        let err = parse_response(200, br#"{"name": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("auth_tokens/"), "{err}");
    }
}
