//! Serving a recorded session back to a client.
//!
//! Two formats are read, one JSON object per line:
//! - the conformance corpus: a `{"header": {...}}` line, then `{"dir": "client"|"server", "frame": {...}}`.
//!   The emulator walks the frames in order: a client frame waits for the client to send one (any message),
//!   a server frame is sent at once. Client frames recorded before `setupComplete` (clients that pipeline) are
//!   not waited for before it.
//! - the scenario fixtures (`fixtures/*.jsonl`): a header carrying the `setup`, then steps at `t_ms`:
//!   `recv` (a server frame), `recv_raw` (a server frame given verbatim), `close` (`{"code", "reason"}`, or
//!   `null` to drop the connection without a close frame), `cmd: {"reconnect": {}}` (what follows is served
//!   on the next connection). Each connection waits for the client's setup, then plays its steps at their
//!   `t_ms` (scaled by [`EmulatorConfig::speed`](crate::EmulatorConfig::speed)); the other client steps
//!   (`send`, `cmd`, `tick`) describe the client and are skipped.
//!
//! Server frames are sent as binary frames of pretty-printed JSON, exactly as recorded otherwise.

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

/// A recorded session: the steps of each connection, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// One list of steps per connection (the n-th client connection is served the n-th list; later ones the
    /// last).
    pub connections: Vec<Vec<ReplayStep>>,
}

impl Replay {
    /// Parses either format (see the [module docs](self)).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut connections = vec![Vec::new()];
        let mut header_setup = None;
        let mut timed = false;
        // Fixtures: the setup a later connection sends (the last setup `send` of its segment).
        let mut segment_setups: Vec<Option<Value>> = vec![None];
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
            let at = v
                .get("t_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis);
            timed |= at.is_some();
            if v.pointer("/cmd/reconnect").is_some() {
                connections.push(Vec::new());
                segment_setups.push(None);
                continue;
            }
            if v.get("cmd").is_some() || v.get("tick").is_some() {
                continue;
            }
            let step = match (v.get("dir").and_then(Value::as_str), v.get("frame")) {
                (Some("client"), Some(f)) => Step::Client(f.clone()),
                (Some("server"), Some(f)) => Step::Server(f.clone()),
                _ => {
                    if let Some(f) = v.get("send") {
                        if f.get("setup").is_some()
                            && let Some(last) = segment_setups.last_mut()
                        {
                            *last = Some(f.clone());
                        }
                        continue;
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
            if let Some(steps) = connections.last_mut() {
                steps.push(ReplayStep { at, step });
            }
        }
        // A header with a setup is a fixture, even one with no steps (a client-side refusal).
        if timed || header_setup.is_some() {
            // Fixtures: each connection starts with the client's setup.
            for (i, steps) in connections.iter_mut().enumerate() {
                let setup = match (i, &segment_setups[i], &header_setup) {
                    (_, Some(s), _) if i > 0 => Some(s.clone()),
                    (_, _, Some(h)) => Some(serde_json::json!({ "setup": h })),
                    (_, Some(s), None) => Some(s.clone()),
                    _ => None,
                };
                if let Some(setup) = setup {
                    let at = steps.first().and_then(|s| s.at);
                    steps.insert(
                        0,
                        ReplayStep {
                            at,
                            step: Step::Client(setup),
                        },
                    );
                }
            }
        }
        if connections.iter().all(Vec::is_empty) {
            return Err(Error::Replay("no frames".into()));
        }
        Ok(Self { connections })
    }

    /// Reads and parses a recording.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e,
        })?;
        Self::parse(&text)
    }

    /// The steps served on the `n`-th connection (0-based; past the last, the last).
    pub(crate) fn connection(&self, n: usize) -> &[ReplayStep] {
        self.connections
            .get(n)
            .or_else(|| self.connections.last())
            .map_or(&[], Vec::as_slice)
    }
}

/// For each step, how many client frames must have arrived before the server acts on it.
pub(crate) fn client_frames_needed(steps: &[ReplayStep]) -> Vec<usize> {
    let mut seen = 0;
    let mut setup_done = false;
    steps
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
        assert_eq!(r.connections.len(), 1);
        assert_eq!(
            client_frames_needed(r.connection(0)),
            vec![1, 2, 1, 2, 3, 3]
        );
        let fixture = r#"{"header": {"description": "d", "setup": {"model": "models/m"}}}
{"t_ms": 5, "recv": {"setupComplete": {}}}
{"t_ms": 6, "cmd": {"text": "hi"}}
{"t_ms": 7, "send": {"realtimeInput": {"text": "hi"}}}
{"t_ms": 8, "recv_raw": "{oops"}
{"t_ms": 10, "close": null}
{"t_ms": 20, "cmd": {"reconnect": {}}}
{"t_ms": 20, "send": {"setup": {"model": "models/m"}}}
{"t_ms": 20, "send": {"setup": {"model": "models/m", "sessionResumption": {"handle": "h"}}}}
{"t_ms": 30, "recv": {"setupComplete": {}}}"#;
        let r = Replay::parse(fixture).unwrap();
        let first = r.connection(0);
        assert_eq!(
            first[0].step,
            Step::Client(json!({"setup": {"model": "models/m"}}))
        );
        assert_eq!(first[1].at, Some(Duration::from_millis(5)));
        assert_eq!(first[2].step, Step::ServerRaw("{oops".into()));
        assert_eq!(first[3].step, Step::Drop);
        assert_eq!(client_frames_needed(first), vec![1, 1, 1, 1]);
        let second = r.connection(1);
        assert_eq!(
            second[0].step,
            Step::Client(
                json!({"setup": {"model": "models/m", "sessionResumption": {"handle": "h"}}})
            )
        );
        assert_eq!(r.connection(7), second);
        assert!(Replay::parse("{\"x\":1}").is_err());
    }
}
