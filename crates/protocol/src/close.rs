//! Close codes and reasons, classified: who is at fault, whether a retry can help, and a hint.
//!
//! Google reports errors by closing the WebSocket with a code and a sentence; there is no error
//! frame. [`Close::from_wire`] turns that pair into something a program can act on and a person
//! can read.

use std::fmt;
use std::time::Duration;

/// Google's close reasons, verbatim (reference §2.6), for servers that emulate it.
pub mod reasons {
    /// 1007: generic invalid argument.
    pub const INVALID_ARGUMENT: &str = "Request contains an invalid argument.";
    /// 1007: a wrong API key.
    pub const API_KEY_INVALID: &str = "API key not valid. Please pass a valid API key.";
    /// 1007: an expired API key.
    pub const API_KEY_EXPIRED: &str = "API key expired. Please renew the API key.";
    /// 1007: an ephemeral token in the wrong place, or a bad one.
    pub const MALFORMED_AUTH_TOKEN: &str = "Missing or malformed auth token";
    /// 1007: the caller's region is not served.
    pub const LOCATION_NOT_SUPPORTED: &str = "User location is not supported for the API use.";
    /// 1008: no credentials, or a token on the wrong method.
    pub const UNREGISTERED_CALLER: &str = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
    /// 1008: seen after tool responses on 2.5 native audio.
    pub const ENTITY_NOT_FOUND: &str = "Requested entity was not found.";
    /// 1008: a feature the model does not support.
    pub const NOT_IMPLEMENTED: &str = "Operation is not implemented, or supported, or enabled.";
    /// 1011: internal error (also: resuming while the old connection is alive).
    pub const INTERNAL: &str = "Internal error encountered.";
    /// 1011: the hard session cap.
    pub const DEADLINE_EXPIRED: &str = "Deadline expired before operation could complete.";
    /// 1011: the service is down.
    pub const UNAVAILABLE: &str = "The service is currently unavailable.";
    /// 1011: quota exhausted.
    pub const QUOTA_EXCEEDED: &str =
        "You exceeded your current quota, please check your plan and billing details.";
    /// 1011: quota exhausted (older wording).
    pub const RESOURCE_EXHAUSTED: &str = "Resource has been exhausted (e.g. check quota).";

    /// 1008: an unknown model, or one that does not support Live.
    pub fn model_not_found(model: &str, api_version: &str) -> String {
        format!(
            "{model} is not found for API version {api_version}, or is not supported for bidiGenerateContent. Call ModelService.ListModels to see the list of available models and their supported methods."
        )
    }
}

/// What a close means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseKind {
    /// 1000: a normal close (after ours, or the end of a goAway cycle).
    Normal,
    /// 1001: the server is going away.
    GoingAway,
    /// 1006: the connection dropped without a close frame.
    Abnormal,
    /// 1007 with an unknown field: the setup or a message has a field the server does not know.
    UnknownField,
    /// 1007: an invalid payload or argument.
    InvalidArgument,
    /// 1007: the API key is wrong or expired.
    InvalidApiKey,
    /// 1007: an ephemeral token is missing, malformed or in the wrong place.
    InvalidToken,
    /// 1007: the caller's location is not served.
    LocationNotSupported,
    /// 1009: a message was larger than the server accepts.
    MessageTooBig,
    /// 1008: the model does not exist for this API version or does not support Live.
    ModelNotFound,
    /// 1008: no credentials, or a token used on the wrong method.
    Unauthenticated,
    /// 1008: a feature or entity the model does not support.
    NotSupported,
    /// 1008: another policy violation.
    PolicyViolation,
    /// 1011: quota or rate limit exhausted.
    QuotaExceeded,
    /// 1011: the session's hard time limit.
    DeadlineExpired,
    /// 1011: the service is unavailable.
    Unavailable,
    /// 1011: an internal server error.
    Internal,
    /// No setupComplete in time (local).
    SetupTimeout,
    /// Nothing received for too long (local).
    IdleTimeout,
    /// A model turn made no progress for too long (local; see `SessionConfig::stall_timeout`).
    Stalled,
    /// The server's `goAway` deadline came before the running turn was complete (local).
    GoAwayDeadline,
    /// Resuming on a new connection failed until the budget ran out, or was impossible (local).
    ResumeFailed,
    /// Any other code.
    Other,
}

/// Who has to act to fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Nobody: an expected close.
    None,
    /// The request: fix the configuration or the message.
    Client,
    /// The credentials: fix the key, token or project.
    Auth,
    /// The account: quota, billing, location.
    Account,
    /// Google's side: retry, resume.
    Server,
    /// The network between us.
    Network,
}

/// A close with its classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code (1006 when no close frame arrived).
    pub code: u16,
    /// The server's reason, verbatim (empty when none).
    pub reason: String,
    /// What it means.
    pub kind: CloseKind,
    /// Who has to act.
    pub fault: Fault,
    /// Whether reconnecting (and resuming) can succeed without changing anything.
    pub retriable: bool,
    /// One line for a person: what to do.
    pub hint: &'static str,
}

impl Close {
    /// Classifies a close frame's code and reason.
    pub fn from_wire(code: u16, reason: &str) -> Self {
        let r = reason.to_ascii_lowercase();
        let (kind, fault, retriable, hint) = match code {
            1000 => (
                CloseKind::Normal,
                Fault::None,
                true,
                "the connection ended normally; resume with the latest handle to continue",
            ),
            1001 => (
                CloseKind::GoingAway,
                Fault::Server,
                true,
                "the server is going away; reconnect and resume with the latest handle",
            ),
            1006 => (
                CloseKind::Abnormal,
                Fault::Network,
                true,
                "the connection dropped without a close frame; check the network, then reconnect and resume",
            ),
            1007 if r.contains("unknown name") => (
                CloseKind::UnknownField,
                Fault::Client,
                false,
                "a field is not supported by this model, backend or API version; remove it (proactivity and affective dialog need API version v1alpha; `transparent` is Vertex-only)",
            ),
            1007 if r.contains("api key") => (
                CloseKind::InvalidApiKey,
                Fault::Auth,
                false,
                "the API key is not valid; check GEMINI_API_KEY / GOOGLE_API_KEY",
            ),
            1007 if r.contains("auth token") => (
                CloseKind::InvalidToken,
                Fault::Auth,
                false,
                "the ephemeral token is missing, malformed or expired; mint a new one and send it as `Authorization: Token` on BidiGenerateContentConstrained",
            ),
            1007 if r.contains("location is not supported") => (
                CloseKind::LocationNotSupported,
                Fault::Account,
                false,
                "the Gemini API is not available in your region; use Vertex AI in a supported location",
            ),
            1007 => (
                CloseKind::InvalidArgument,
                Fault::Client,
                false,
                "the server rejected a message: check the setup against the model (one response modality; on 3.1 models send text with realtimeInput, clientContent only for initial history)",
            ),
            1009 => (
                CloseKind::MessageTooBig,
                Fault::Client,
                false,
                "a message was larger than the server accepts (the reason gives the limit): send audio in 20-100 ms chunks, scale images down, split long text",
            ),
            1008 if r.contains("is not found for api version")
                || r.contains("not supported for bidigeneratecontent") =>
            {
                (
                    CloseKind::ModelNotFound,
                    Fault::Client,
                    false,
                    "the model does not exist for this API version or does not support Live; pick a Live model (e.g. gemini-3.1-flash-live-preview) or another API version (v1beta, v1alpha)",
                )
            }
            1008 if r.contains("unregistered callers") => (
                CloseKind::Unauthenticated,
                Fault::Auth,
                false,
                "no usable credentials: set an API key, or use an ephemeral token only on BidiGenerateContentConstrained",
            ),
            1008 if r.contains("not implemented") || r.contains("entity was not found") => (
                CloseKind::NotSupported,
                Fault::Client,
                false,
                "the model does not support what was asked (a feature, tool or audio format); check the model's capabilities",
            ),
            1008 => (
                CloseKind::PolicyViolation,
                Fault::Client,
                false,
                "the server refused the request by policy; check credentials and the model",
            ),
            1011 if r.contains("quota") || r.contains("exhausted") => (
                CloseKind::QuotaExceeded,
                Fault::Account,
                true,
                "quota exhausted; wait and retry, or check your plan and billing",
            ),
            1011 if r.contains("deadline expired") => (
                CloseKind::DeadlineExpired,
                Fault::Server,
                true,
                "the session hit its time limit; resume with the latest handle (enable context window compression for long sessions)",
            ),
            1011 if r.contains("unavailable") => (
                CloseKind::Unavailable,
                Fault::Server,
                true,
                "the service is unavailable; retry with backoff and resume",
            ),
            1011 => (
                CloseKind::Internal,
                Fault::Server,
                true,
                "internal server error; retry and resume (a resume while the old connection is still open also fails this way: close it first)",
            ),
            1012..=1014 => (
                CloseKind::Unavailable,
                Fault::Server,
                true,
                "the server is restarting or overloaded; retry with backoff",
            ),
            _ => (
                CloseKind::Other,
                Fault::Server,
                false,
                "unexpected close code; see the reason",
            ),
        };
        Self {
            code,
            reason: reason.to_owned(),
            kind,
            fault,
            retriable,
            hint,
        }
    }

    /// The connection ended with no close frame.
    pub fn abnormal() -> Self {
        Self::from_wire(1006, "")
    }

    /// No setupComplete arrived within `after`.
    pub fn setup_timeout(after: Duration) -> Self {
        Self {
            code: 1006,
            reason: format!("no setupComplete within {after:?}"),
            kind: CloseKind::SetupTimeout,
            fault: Fault::Network,
            retriable: true,
            hint: "the server did not answer the setup; check the endpoint and network, then retry",
        }
    }

    /// Nothing arrived within `after`.
    pub fn idle_timeout(after: Duration) -> Self {
        Self {
            code: 1006,
            reason: format!("nothing received for {after:?}"),
            kind: CloseKind::IdleTimeout,
            fault: Fault::Network,
            retriable: true,
            hint: "the connection went silent; reconnect and resume with the latest handle",
        }
    }

    /// A model turn made no progress within `after`: the client gave up on the connection.
    pub fn stalled(after: Duration) -> Self {
        Self {
            code: 1006,
            reason: format!("the model's turn made no progress for {after:?}"),
            kind: CloseKind::Stalled,
            fault: Fault::Server,
            retriable: true,
            hint: "the server stopped answering mid-turn; resume on a new connection and ask again",
        }
    }

    /// The connection had to be left at its `goAway` deadline with a turn still running.
    pub fn go_away_deadline(time_left: Duration) -> Self {
        Self {
            code: 1000,
            reason: format!(
                "the connection ended {time_left:?} after goAway, before the turn was complete"
            ),
            kind: CloseKind::GoAwayDeadline,
            fault: Fault::None,
            retriable: true,
            hint: "connections last about 10 minutes; the turn goes on by asking again on a new connection",
        }
    }

    /// Resuming after `cause` failed: `why` says how (attempts made, the last error) or why it
    /// was impossible. Code and fault are `cause`'s, so that the session's end is classified by
    /// what broke it.
    pub fn resume_failed(cause: &Self, why: &str) -> Self {
        let reason = if cause.reason.is_empty() {
            format!("{why} (the connection had closed with {})", cause.code)
        } else {
            format!(
                "{why} (the connection had closed with {}: {})",
                cause.code, cause.reason
            )
        };
        Self {
            code: cause.code,
            reason,
            kind: CloseKind::ResumeFailed,
            fault: cause.fault,
            retriable: false,
            hint: "the session could not be resumed; check the network and the service, then start a new session (or resume later with the latest handle)",
        }
    }

    /// Whether this is an expected, clean end.
    pub fn is_normal(&self) -> bool {
        self.kind == CloseKind::Normal
    }
}

impl fmt::Display for Close {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "closed with {}", self.code)?;
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        write!(f, " (hint: {})", self.hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_reasons_google_sends() {
        let k = |code, reason: &str| Close::from_wire(code, reason).kind;
        assert_eq!(
            k(
                1007,
                "Invalid JSON payload received. Unknown name \"x\" at 'setup': Cannot find field."
            ),
            CloseKind::UnknownField
        );
        assert_eq!(k(1007, reasons::API_KEY_INVALID), CloseKind::InvalidApiKey);
        assert_eq!(k(1007, reasons::API_KEY_EXPIRED), CloseKind::InvalidApiKey);
        assert_eq!(
            k(1007, reasons::MALFORMED_AUTH_TOKEN),
            CloseKind::InvalidToken
        );
        assert_eq!(
            k(1007, reasons::LOCATION_NOT_SUPPORTED),
            CloseKind::LocationNotSupported
        );
        assert_eq!(
            k(1007, reasons::INVALID_ARGUMENT),
            CloseKind::InvalidArgument
        );
        assert_eq!(
            k(1008, &reasons::model_not_found("models/x", "v1beta")),
            CloseKind::ModelNotFound
        );
        assert_eq!(
            k(1008, reasons::UNREGISTERED_CALLER),
            CloseKind::Unauthenticated
        );
        assert_eq!(k(1008, reasons::NOT_IMPLEMENTED), CloseKind::NotSupported);
        assert_eq!(k(1008, reasons::ENTITY_NOT_FOUND), CloseKind::NotSupported);
        assert_eq!(k(1011, reasons::QUOTA_EXCEEDED), CloseKind::QuotaExceeded);
        assert_eq!(
            k(1011, reasons::RESOURCE_EXHAUSTED),
            CloseKind::QuotaExceeded
        );
        assert_eq!(
            k(1011, reasons::DEADLINE_EXPIRED),
            CloseKind::DeadlineExpired
        );
        assert_eq!(k(1011, reasons::UNAVAILABLE), CloseKind::Unavailable);
        assert_eq!(k(1011, reasons::INTERNAL), CloseKind::Internal);
        assert_eq!(
            k(
                1009,
                "Message exceeds the maximum allowed size of 65536 bytes."
            ),
            CloseKind::MessageTooBig
        );
        assert_eq!(k(1000, ""), CloseKind::Normal);
        assert_eq!(k(1006, ""), CloseKind::Abnormal);
        assert_eq!(k(4000, "custom"), CloseKind::Other);
        let big = Close::from_wire(
            1009,
            "Message exceeds the maximum allowed size of 16777216 bytes.",
        );
        assert_eq!(
            (big.kind, big.fault, big.retriable),
            (CloseKind::MessageTooBig, Fault::Client, false)
        );
        assert!(Close::from_wire(1011, reasons::INTERNAL).retriable);
        assert!(!Close::from_wire(1007, reasons::INVALID_ARGUMENT).retriable);
        assert!(Close::from_wire(1008, "x").to_string().contains("hint:"));
    }

    #[test]
    fn hints_name_no_command_line_flag() {
        let reasons = [
            (1000, ""),
            (1001, ""),
            (1006, ""),
            (1007, "Unknown name \"x\" at 'setup'"),
            (1007, reasons::API_KEY_INVALID),
            (1007, reasons::MALFORMED_AUTH_TOKEN),
            (1007, reasons::LOCATION_NOT_SUPPORTED),
            (1007, reasons::INVALID_ARGUMENT),
            (1008, "models/x is not found for API version v1beta"),
            (1008, reasons::UNREGISTERED_CALLER),
            (1008, reasons::NOT_IMPLEMENTED),
            (1008, "x"),
            (1009, ""),
            (1011, reasons::QUOTA_EXCEEDED),
            (1011, reasons::DEADLINE_EXPIRED),
            (1011, reasons::UNAVAILABLE),
            (1011, reasons::INTERNAL),
            (1012, ""),
            (4000, ""),
        ];
        let closes = reasons
            .iter()
            .map(|(code, reason)| Close::from_wire(*code, reason))
            .chain([
                Close::setup_timeout(Duration::from_secs(1)),
                Close::idle_timeout(Duration::from_secs(1)),
            ]);
        for close in closes {
            assert!(!close.hint.contains("--"), "{}", close.hint);
        }
    }
}
