//! Serving a recorded session back to a client.
//!
//! Two formats are read, one JSON object per line:
//! - the conformance corpus: a `{"header": {...}}` line, then `{"dir": "client"|"server", "frame": {...}}`;
//! - the scenario fixtures (`protocol::replay`): a header carrying the `setup`, then steps at `t_ms`:
//!   `send` (a client frame), `recv` (a server frame), `recv_raw` (a server frame given verbatim),
//!   `close` (`{"code", "reason"}`, or `null` to drop the connection without a close frame); `cmd` and `tick`
//!   lines are the client's business and are skipped.
//!
//! The emulator walks the steps in order: a client frame waits for the client to send one (any message), a
//! server frame is sent as a binary frame of pretty-printed JSON, at its `t_ms` when the recording has times
//! (scaled by [`EmulatorConfig::speed`](crate::EmulatorConfig::speed)). Client frames recorded before
//! `setupComplete` (clients that pipeline) are not waited for before it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::Error;

/// One recorded step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The client sent this message.
    Client(Value),
    /// The server sent this message.
    Server(Value),
    /// The server sent this text verbatim (for malformed frames).
    ServerRaw(String),
    /// The server closed with this code and reason.
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// The server dropped the connection without a close frame.
    Drop,
}

/// A step and when it happened, if the recording has times.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayStep {
    /// Time since the start of the session.
    pub at: Option<Duration>,
    /// What happened.
    pub step: Step,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The steps, in recorded order.
    pub steps: Vec<ReplayStep>,
}

impl Replay {
    /// Parses either format (see the [module docs](self)).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut steps = Vec::new();
        let mut header_setup = None;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |m: &str| Error::Replay(format!("line {}: {m}", n + 1));
            let v: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
            if let Some(h) = v.get("header") {
                header_setup = h.get("setup").cloned();
                continue;
            }
            if v.get("cmd").is_some() || v.get("tick").is_some() {
                continue;
            }
            let at = v
                .get("t_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis);
            let step = match (v.get("dir").and_then(Value::as_str), v.get("frame")) {
                (Some("client"), Some(f)) => Step::Client(f.clone()),
                (Some("server"), Some(f)) => Step::Server(f.clone()),
                _ => {
                    if let Some(f) = v.get("send") {
                        Step::Client(f.clone())
                    } else if let Some(f) = v.get("recv") {
                        Step::Server(f.clone())
                    } else if let Some(raw) = v.get("recv_raw").and_then(Value::as_str) {
                        Step::ServerRaw(raw.to_owned())
                    } else if let Some(close) = v.get("close") {
                        match close {
                            Value::Null => Step::Drop,
                            c => Step::Close {
                                code: c
                                    .get("code")
                                    .and_then(Value::as_u64)
                                    .and_then(|c| u16::try_from(c).ok())
                                    .ok_or_else(|| bad("close needs a code"))?,
                                reason: c
                                    .get("reason")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned(),
                            },
                        }
                    } else {
                        return Err(bad(
                            "expected `dir` + `frame`, `send`, `recv`, `recv_raw` or `close`",
                        ));
                    }
                }
            };
            steps.push(ReplayStep { at, step });
        }
        let has_setup = steps
            .iter()
            .any(|s| matches!(&s.step, Step::Client(f) if f.get("setup").is_some()));
        if let (Some(setup), false) = (header_setup, has_setup) {
            let step = Step::Client(serde_json::json!({ "setup": setup }));
            steps.insert(
                0,
                ReplayStep {
                    at: Some(Duration::ZERO),
                    step,
                },
            );
        }
        if steps.is_empty() {
            return Err(Error::Replay("no frames".into()));
        }
        Ok(Self { steps })
    }

    /// Reads and parses a recording.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e,
        })?;
        Self::parse(&text)
    }

    /// For each step, how many client frames must have arrived before the server acts on it.
    pub(crate) fn client_frames_needed(&self) -> Vec<usize> {
        let mut seen = 0;
        let mut setup_done = false;
        self.steps
            .iter()
            .map(|s| match &s.step {
                Step::Client(_) => {
                    seen += 1;
                    seen
                }
                Step::Server(f) if !setup_done && f.get("setupComplete").is_some() => {
                    setup_done = true;
                    seen.min(1)
                }
                _ => seen,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_formats_and_pipelined_clients() {
        let corpus = r#"{"header": {"backend": "mldev"}}
{"dir":"client","bytes":1,"frame":{"setup":{"model":"models/m"}}}
{"dir":"client","bytes":1,"frame":{"realtimeInput":{"text":"hi"}}}
{"dir":"server","bytes":1,"frame":{"setupComplete":{}}}
{"dir":"server","bytes":1,"frame":{"serverContent":{"turnComplete":true}}}
{"dir":"client","bytes":1,"frame":{"realtimeInput":{"text":"again"}}}
{"dir":"server","bytes":1,"frame":{"serverContent":{"turnComplete":true}}}"#;
        let r = Replay::parse(corpus).unwrap();
        assert_eq!(r.steps.len(), 6);
        assert_eq!(r.client_frames_needed(), vec![1, 2, 1, 2, 3, 3]);
        let fixture = r#"{"header": {"description": "d", "setup": {"model": "models/m"}}}
{"t_ms": 5, "recv": {"setupComplete": {}}}
{"t_ms": 6, "cmd": {"text": "hi"}}
{"t_ms": 7, "send": {"realtimeInput": {"text": "hi"}}}
{"t_ms": 8, "recv_raw": "{oops"}
{"t_ms": 9, "tick": true}
{"t_ms": 10, "close": null}"#;
        let r = Replay::parse(fixture).unwrap();
        assert_eq!(
            r.steps[0].step,
            Step::Client(json!({"setup": {"model": "models/m"}}))
        );
        assert_eq!(r.steps[1].at, Some(Duration::from_millis(5)));
        assert_eq!(r.steps[3].step, Step::ServerRaw("{oops".into()));
        assert_eq!(r.steps[4].step, Step::Drop);
        assert_eq!(r.client_frames_needed(), vec![1, 1, 2, 2, 2]);
        assert!(Replay::parse("{\"x\":1}").is_err());
    }
}
