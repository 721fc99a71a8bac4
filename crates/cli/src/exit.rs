//! Exit codes that tell a script what went wrong.
//!
//! - 0: success
//! - 1: anything else
//! - 2: usage: bad arguments or local files (unreadable --config, unwritable output)
//! - 3: configuration or auth: no key, a key or token refused, an unknown model, a setup the
//!   server rejected (close 1007/1008), a message too large (1009)
//! - 4: the service failed (close 1011: internal, unavailable, quota, deadline; a stalled reply,
//!   a reply that outlived its connection's goAway)
//! - 5: the network failed (connect, TLS, proxy, a drop without close frame, timeouts, a resume
//!   that could not reconnect)
//! - 130: ended by Ctrl-C before it was done
//!
//! A turn left without its answer by a break the session survived ([`Unfinished`]) gets the
//! code of the close that cut it.

use protocol::{Close, CloseKind, Fault};

pub(crate) const OTHER: u8 = 1;
pub(crate) const USAGE: u8 = 2;
pub(crate) const CONFIG: u8 = 3;
pub(crate) const SERVICE: u8 = 4;
pub(crate) const NETWORK: u8 = 5;
pub(crate) const INTERRUPTED: u8 = 130;

/// Ctrl-C ended the run before it was done (exit code 130).
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

/// A usage error found before any network traffic.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(pub(crate) String);

/// A configuration problem found before any network traffic (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Config(pub(crate) String);

/// Turns of the user's that did not get their answer (a cut that was not repaired): the exit
/// code is that of the close that cut the first of them.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Unfinished {
    pub(crate) message: String,
    pub(crate) cause: Close,
}

/// The close that ended a session while it was resuming after `cause`: a refusal of the
/// resumption (an expired or unknown handle gets 1007) is a resume that failed, classified by
/// what broke the connection.
pub(crate) fn while_resuming(cause: &Close, close: Close) -> Close {
    if close.kind == CloseKind::ResumeFailed {
        return close;
    }
    Close::resume_failed(
        cause,
        &format!(
            "the server refused to resume the session (close {}{}); its handle may have expired",
            close.code,
            if close.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", close.reason)
            }
        ),
    )
}

/// The exit code for a close.
pub(crate) fn for_close(close: &Close) -> u8 {
    match (close.kind, close.fault) {
        (CloseKind::Normal, _) => 0,
        // A connection's time ran out mid-turn: the service's limit.
        (CloseKind::QuotaExceeded | CloseKind::GoAwayDeadline, _) | (_, Fault::Server) => SERVICE,
        // Reconnecting failed after a break nobody is to blame for (a 1000 mid-turn).
        (CloseKind::ResumeFailed, Fault::None) | (_, Fault::Network) => NETWORK,
        (_, Fault::Client | Fault::Auth | Fault::Account) => CONFIG,
        _ => OTHER,
    }
}

/// The exit code for a turn that `close` cut short and that was not completed: never 0, as
/// a close that is normal for a session (1000) still left the turn without its answer.
pub(crate) fn for_cut(close: &Close) -> u8 {
    match for_close(close) {
        0 => SERVICE,
        code => code,
    }
}

/// The exit code and the classified close (if any) of an error.
pub(crate) fn classify(err: &anyhow::Error) -> (u8, Option<Close>) {
    for cause in err.chain() {
        if cause.downcast_ref::<Interrupted>().is_some() {
            return (INTERRUPTED, None);
        }
        if cause.downcast_ref::<Usage>().is_some() {
            return (USAGE, None);
        }
        if cause.downcast_ref::<Config>().is_some() {
            return (CONFIG, None);
        }
        if let Some(u) = cause.downcast_ref::<Unfinished>() {
            return (for_cut(&u.cause), Some(u.cause.clone()));
        }
        if let Some(e) = cause.downcast_ref::<transport::Error>() {
            use transport::Error as E;
            return match e {
                E::Closed(close) => (for_close(close), Some(close.clone())),
                E::TurnCut { cause, .. } => (for_cut(cause), Some(cause.clone())),
                E::Config(_) => (CONFIG, None),
                E::Protocol(protocol::Error::Misuse(_)) => (CONFIG, None),
                E::Handshake {
                    status: 401 | 403, ..
                } => (CONFIG, None),
                E::Tls(_)
                | E::Connect { .. }
                | E::TlsHandshake { .. }
                | E::Proxy(_)
                | E::WebSocket(_)
                | E::ConnectionLost(_)
                | E::ConnectTimeout(_)
                | E::IdleTimeout(_)
                | E::Handshake { .. } => (NETWORK, None),
                _ => (OTHER, None),
            };
        }
        if cause.downcast_ref::<transport::ConfigError>().is_some() {
            return (CONFIG, None);
        }
        if let Some(protocol::Error::Misuse(_)) = cause.downcast_ref::<protocol::Error>() {
            return (CONFIG, None);
        }
        if let Some(e) = cause.downcast_ref::<protocol::Error>()
            && let protocol::Error::Closed(close) = e
        {
            return (for_close(close), Some(close.clone()));
        }
    }
    (OTHER, None)
}

/// The error's message: each cause once (an error that already shows its source, as I/O
/// errors wrapped by the transport do, does not get it twice).
pub(crate) fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::close::reasons;

    #[test]
    fn a_cause_is_said_once() {
        let io = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        #[derive(Debug, thiserror::Error)]
        #[error("cannot connect to 127.0.0.1:9: {0}")]
        struct Connect(#[source] std::io::Error);
        let err = anyhow::Error::new(Connect(io)).context("cannot start the session");
        assert_eq!(
            message(&err),
            "cannot start the session: cannot connect to 127.0.0.1:9: Connection refused (os error 111)"
        );
    }

    #[test]
    fn closes_map_to_codes() {
        assert_eq!(
            for_close(&Close::from_wire(1007, reasons::API_KEY_INVALID)),
            CONFIG
        );
        assert_eq!(
            for_close(&Close::from_wire(
                1008,
                &reasons::model_not_found("models/x", "v1beta")
            )),
            CONFIG
        );
        assert_eq!(
            for_close(&Close::from_wire(1011, reasons::INTERNAL)),
            SERVICE
        );
        assert_eq!(
            for_close(&Close::from_wire(1011, reasons::QUOTA_EXCEEDED)),
            SERVICE
        );
        assert_eq!(for_close(&Close::abnormal()), NETWORK);
        assert_eq!(for_close(&Close::from_wire(1000, "")), 0);
        let err = anyhow::Error::new(transport::Error::Closed(Close::from_wire(
            1011,
            reasons::UNAVAILABLE,
        )));
        assert_eq!(classify(&err).0, SERVICE);
        assert_eq!(classify(&anyhow::Error::new(Usage("x".into()))).0, USAGE);
        // A turn cut and not sent again: like the close that cut it, never 0.
        let cut = |cause: Close| {
            classify(&anyhow::Error::new(transport::Error::TurnCut {
                cause,
                turns: Vec::new(),
            }))
            .0
        };
        assert_eq!(cut(Close::from_wire(1011, reasons::INTERNAL)), SERVICE);
        assert_eq!(cut(Close::abnormal()), NETWORK);
        assert_eq!(
            cut(Close::stalled(std::time::Duration::from_secs(1))),
            SERVICE
        );
        assert_eq!(
            cut(Close::go_away_deadline(std::time::Duration::from_secs(1))),
            SERVICE
        );
        assert_eq!(cut(Close::from_wire(1000, "")), SERVICE);
        // A failed resume is classified by what broke the connection.
        let failed = |cause: &Close| for_close(&Close::resume_failed(cause, "gave up"));
        assert_eq!(failed(&Close::from_wire(1011, reasons::INTERNAL)), SERVICE);
        assert_eq!(failed(&Close::abnormal()), NETWORK);
        assert_eq!(failed(&Close::from_wire(1000, "")), NETWORK);
        assert_eq!(
            classify(&anyhow::Error::new(transport::ConfigError::MissingApiKey)).0,
            CONFIG
        );
    }
}
