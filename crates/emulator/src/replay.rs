//! Serving a recorded session back to a client.
//!
//! Two formats are read, one JSON object per line:
//! - the conformance corpus: a `{"header": {...}}` line, then `{"dir": "client"|"server", "frame": {...}}`;
//! - the fixtures: `{"t_ms": 412, "recv": {...}}` (a server frame), `{"t_ms": 0, "send": {...}}` (a client
//!   frame); `cmd` and `tick` lines are ignored.
//!
//! The emulator walks the frames in order: a client frame waits for the client to send one (any message), a
//! server frame is sent as a binary frame of pretty-printed JSON, at its `t_ms` when the recording has times.
//! Client frames recorded before `setupComplete` (clients that pipeline) are not waited for after the setup.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::Error;

/// Who sent a recorded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Client,
    /// Server to client.
    Server,
}

/// One recorded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayFrame {
    /// Who sent it.
    pub dir: Direction,
    /// Time since the start of the session, when recorded.
    pub at: Option<Duration>,
    /// The JSON message.
    pub frame: Value,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The frames, in recorded order.
    pub frames: Vec<ReplayFrame>,
}

impl Replay {
    /// Parses either format (see the [module docs](self)).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut frames = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |m: &str| Error::Replay(format!("line {}: {m}", n + 1));
            let v: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
            if v.get("header").is_some() || v.get("cmd").is_some() || v.get("tick").is_some() {
                continue;
            }
            let at = v
                .get("t_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis);
            let (dir, frame) = match (
                v.get("dir").and_then(Value::as_str),
                v.get("frame"),
                v.get("recv"),
                v.get("send"),
            ) {
                (Some("client"), Some(f), _, _) => (Direction::Client, f),
                (Some("server"), Some(f), _, _) => (Direction::Server, f),
                (None, None, Some(f), None) => (Direction::Server, f),
                (None, None, None, Some(f)) => (Direction::Client, f),
                _ => return Err(bad("expected `dir` + `frame`, `recv` or `send`")),
            };
            frames.push(ReplayFrame {
                dir,
                at,
                frame: frame.clone(),
            });
        }
        if frames.is_empty() {
            return Err(Error::Replay("no frames".into()));
        }
        Ok(Self { frames })
    }

    /// Reads and parses a recording.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_owned(),
            source: e,
        })?;
        Self::parse(&text)
    }

    /// For each frame, how many client frames must have arrived before it is sent.
    pub(crate) fn client_frames_needed(&self) -> Vec<usize> {
        let mut seen = 0;
        let mut setup_done = false;
        self.frames
            .iter()
            .map(|f| match f.dir {
                Direction::Client => {
                    seen += 1;
                    seen
                }
                Direction::Server => {
                    if !setup_done && f.frame.get("setupComplete").is_some() {
                        setup_done = true;
                        return seen.min(1);
                    }
                    seen
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r.frames.len(), 6);
        assert_eq!(r.client_frames_needed(), vec![1, 2, 1, 2, 3, 3]);
        let fixture = "{\"t_ms\":0,\"send\":{\"setup\":{}}}\n{\"t_ms\":5,\"recv\":{\"setupComplete\":{}}}\n{\"t_ms\":9,\"tick\":true}";
        let r = Replay::parse(fixture).unwrap();
        assert_eq!(r.frames[1].at, Some(Duration::from_millis(5)));
        assert_eq!(r.frames[1].dir, Direction::Server);
        assert!(Replay::parse("{\"x\":1}").is_err());
    }
}
