//! The limits on the page's requests, and the responses: one request per connection, every
//! response closes it. Reading requests is `gemlive-http`'s.

use std::time::Duration;

use http_server::Limits;
use tokio::io::AsyncWrite;

/// What a request head may be.
pub(crate) const LIMITS: Limits = Limits {
    head_bytes: 16 * 1024,
    headers: 48,
    head_timeout: Duration::from_secs(10),
};
/// Largest accepted request body (the page's settings).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What every response says about itself: no sniffing, no referrer, no caching, no use by
/// other origins.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
];

/// A complete response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    /// A JSON error for the page: `{"error": message}`.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": message }))
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) async fn write<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<()> {
        let headers: Vec<(&str, &str)> = [("Content-Type", self.content_type)]
            .into_iter()
            .chain(SECURITY_HEADERS)
            .chain(self.headers.iter().map(|(n, v)| (*n, v.as_str())))
            .collect();
        http_server::write_response(stream, self.status, &headers, &self.body).await
    }
}
