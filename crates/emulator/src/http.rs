//! The HTTP side of the port as Google's front end shows it: the limits on requests, and JSON
//! responses with Google's error bodies. Reading and writing are `gemlive-http`'s.

use std::time::Duration;

use http_server::Limits;
use tokio::io::AsyncWrite;

/// What a request head may be.
pub(crate) const LIMITS: Limits = Limits {
    head_bytes: 64 * 1024,
    headers: 64,
    head_timeout: Duration::from_secs(30),
};
/// Largest accepted request body (`POST /v1alpha/auth_tokens`).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// Writes a complete HTTP/1.1 response with a JSON body and closes the exchange.
pub(crate) async fn respond_json<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    body: &str,
) -> std::io::Result<()> {
    let headers = [("Content-Type", "application/json; charset=UTF-8")];
    http_server::write_response(stream, status, &headers, body.as_bytes()).await
}

/// Google's JSON error body (`{"error": {"code", "message", "status"}}`).
pub(crate) fn google_error(code: u16, message: &str) -> String {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        _ => "UNKNOWN",
    };
    serde_json::to_string_pretty(
        &serde_json::json!({"error": {"code": code, "message": message, "status": status}}),
    )
    .unwrap_or_default()
}
