//! [`Secret`]: a credential that never shows up in `Debug`, logs or errors.

use std::fmt;

/// An API key, ephemeral token, access token or proxy password.
///
/// `Debug` prints `Secret(<redacted>)`; there is deliberately no `Display`.
/// The value is only reachable through [`Secret::expose`], which is called
/// exactly where the credential goes on the wire (an HTTP header).
///
/// ```
/// let key = gemlive_transport::Secret::new("AIza-very-secret");
/// assert_eq!(format!("{key:?}"), "Secret(<redacted>)");
/// assert_eq!(key.expose(), "AIza-very-secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Only call this to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is empty (or only whitespace).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// `url` with credentials removed: the userinfo password and the values of
/// the `key`, `access_token` and `token` query parameters. Use it for every
/// URL that reaches a log line, an error or a recording.
pub(crate) fn redact_url(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("redacted"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    "redacted".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn is_secret_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "key" | "access_token" | "token" | "api_key"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(s)).contains("hunter2"));
    }

    #[test]
    fn urls_lose_credentials() {
        let url = url::Url::parse(
            "wss://user:pw@example.com/ws?key=AIzaSECRET&alt=json&access_token=auth_tokens/abc",
        )
        .unwrap();
        let shown = redact_url(&url);
        assert!(!shown.contains("AIzaSECRET"), "{shown}");
        assert!(!shown.contains("auth_tokens"), "{shown}");
        assert!(!shown.contains(":pw@"), "{shown}");
        assert!(shown.contains("alt=json"), "{shown}");
    }
}
