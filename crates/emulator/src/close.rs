//! The closes the emulator sends, with Google's codes and reason texts (from `protocol::close::reasons`).

use protocol::close::reasons;

/// A WebSocket close the emulator decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: String,
}

impl Close {
    /// A close with `reason` cut to what fits a close frame, as Google's long reasons arrive.
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            code,
            reason: fit_close_reason(&reason).to_owned(),
        }
    }

    /// 1007 `Request contains an invalid argument.`
    pub(crate) fn invalid_argument() -> Self {
        Self::new(1007, reasons::INVALID_ARGUMENT)
    }

    /// 1007 `API key not valid. Please pass a valid API key.`
    pub(crate) fn api_key_invalid() -> Self {
        Self::new(1007, reasons::API_KEY_INVALID)
    }

    /// 1007 `Missing or malformed auth token`
    pub(crate) fn missing_auth_token() -> Self {
        Self::new(1007, reasons::MALFORMED_AUTH_TOKEN)
    }

    /// 1008: no credentials, or a token on the unconstrained method.
    pub(crate) fn unregistered_caller() -> Self {
        Self::new(1008, reasons::UNREGISTERED_CALLER)
    }

    /// 1008: unknown model, or one without Live support.
    pub(crate) fn model_not_found(model: &str, version: &str) -> Self {
        Self::new(1008, reasons::model_not_found(model, version))
    }

    /// 1011 `Internal error encountered.`
    pub(crate) fn internal() -> Self {
        Self::new(1011, reasons::INTERNAL)
    }

    /// 1011 `Deadline expired before operation could complete.` (end of a connection's lifetime).
    pub(crate) fn deadline_expired() -> Self {
        Self::new(1011, reasons::DEADLINE_EXPIRED)
    }

    /// 1011 quota text (too many simultaneous sessions).
    pub(crate) fn quota() -> Self {
        Self::new(1011, reasons::RESOURCE_EXHAUSTED)
    }

    /// 1009: a client message above the configured limit (the reason says the limit).
    pub(crate) fn too_big(limit: usize) -> Self {
        Self::new(
            1009,
            format!("Message exceeds the maximum allowed size of {limit} bytes."),
        )
    }

    /// 1001: the emulator shuts down.
    pub(crate) fn going_away() -> Self {
        Self::new(1001, "The service is shutting down.")
    }
}

/// The longest prefix of `reason` that fits a WebSocket close frame (123 bytes of UTF-8, RFC 6455 §5.5).
/// Google's longer reasons (the unknown-model and unregistered-caller texts) reach clients cut this way.
pub fn fit_close_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}
