//! The closes the emulator sends, with Google's codes and reason texts.

/// A WebSocket close the emulator decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: String,
}

impl Close {
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// 1007 `Request contains an invalid argument.`
    pub(crate) fn invalid_argument() -> Self {
        Self::new(1007, "Request contains an invalid argument.")
    }

    /// 1007 `API key not valid. Please pass a valid API key.`
    pub(crate) fn api_key_invalid() -> Self {
        Self::new(1007, "API key not valid. Please pass a valid API key.")
    }

    /// 1007 `Missing or malformed auth token`
    pub(crate) fn missing_auth_token() -> Self {
        Self::new(1007, "Missing or malformed auth token")
    }

    /// 1008: no credentials, or a token on the unconstrained method.
    pub(crate) fn unregistered_caller() -> Self {
        Self::new(
            1008,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )
    }

    /// 1008: unknown model, or one without Live support.
    pub(crate) fn model_not_found(model: &str, version: &str) -> Self {
        Self::new(
            1008,
            format!(
                "{model} is not found for API version {version}, or is not supported for bidiGenerateContent. Call ModelService.ListModels to see the list of available models and their supported methods."
            ),
        )
    }

    /// 1011 `Internal error encountered.`
    pub(crate) fn internal() -> Self {
        Self::new(1011, "Internal error encountered.")
    }

    /// 1011 `Deadline expired before operation could complete.` (end of a connection's lifetime).
    pub(crate) fn deadline_expired() -> Self {
        Self::new(1011, "Deadline expired before operation could complete.")
    }

    /// 1011 quota text (too many simultaneous sessions).
    pub(crate) fn quota() -> Self {
        Self::new(1011, "Resource has been exhausted (e.g. check quota).")
    }

    /// 1009: a client message above the configured limit.
    pub(crate) fn too_big(limit: usize) -> Self {
        Self::new(
            1009,
            format!("Message exceeds the maximum allowed size of {limit} bytes."),
        )
    }
}
