//! The recorder tap: every frame in both directions, with times relative to
//! the start of the connection, as JSONL in the fixtures' recording format
//! (`fixtures/README.md`), which `protocol::replay` plays back (each `send`
//! is replayed as the command that produced it):
//!
//! ```text
//! {"header":{"description":"...","source":"gemlive-transport/0.1.0","model":"models/x","backend":"mldev","endpoint":"wss://...","setup_timeout_ms":15000}}
//! {"t_ms":0,"send":{"setup":{...}}}
//! {"t_ms":412,"recv":{"setupComplete":{}}}
//! {"t_ms":500,"send":{"realtimeInput":{"text":"Hello"}}}
//! {"t_ms":9000,"close":{"code":1011,"reason":"Internal error encountered."}}
//! ```
//!
//! Frames that are not JSON are written as `recv_raw`, a connection that
//! ended without a close frame as `"close": null`, and fired deadlines as
//! `tick`. Credentials never reach the file: they travel in headers, the
//! endpoint is written redacted, and any line that would contain one of the
//! session's secrets has it replaced. Audio can be trimmed to a short, still
//! decodable base64 prefix.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

use protocol::{Backend, CloseInfo, SessionConfig};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::Error;
use crate::secret::Secret;

/// What to do with base64 media (`"data"` fields) in recordings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AudioPolicy {
    /// Record media as sent and received.
    #[default]
    Keep,
    /// Cut every `"data"` string longer than `max_chars` to a prefix of at
    /// most `max_chars` characters (a multiple of 8, so it stays valid base64
    /// of whole 16-bit samples).
    Trim {
        /// Upper bound for a kept `"data"` string (at least 8 is kept).
        max_chars: usize,
    },
}

/// Where and how to record a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderConfig {
    /// The JSONL file to create (truncated if it exists).
    pub path: PathBuf,
    /// Media handling.
    pub audio: AudioPolicy,
    /// The header's `description` (default: "recorded by gemlive-transport/VERSION").
    pub description: Option<String>,
}

impl RecorderConfig {
    /// Record to `path`, keeping audio.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            audio: AudioPolicy::Keep,
            description: None,
        }
    }

    /// Trim `"data"` strings to `max_chars`.
    #[must_use]
    pub fn trim_audio(mut self, max_chars: usize) -> Self {
        self.audio = AudioPolicy::Trim { max_chars };
        self
    }
}

/// An open recording.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    start: Instant,
    audio: AudioPolicy,
    secrets: Vec<Secret>,
}

impl Recorder {
    /// Creates the file and writes the header line for a session started
    /// with `session`. `endpoint` says where it connects (pass a redacted
    /// URL); `secrets` are scrubbed from every line.
    pub fn create(
        config: &RecorderConfig,
        session: &SessionConfig,
        endpoint: &str,
        secrets: Vec<Secret>,
    ) -> Result<Self, Error> {
        let err = |source| Error::Recorder {
            path: config.path.display().to_string(),
            source,
        };
        let file = File::create(&config.path).map_err(err)?;
        let source = concat!("gemlive-transport/", env!("CARGO_PKG_VERSION"));
        let description = config
            .description
            .clone()
            .unwrap_or_else(|| format!("recorded by {source}"));
        let backend = match session.backend {
            Backend::Vertex => "vertex",
            _ => "mldev",
        };
        let setup_timeout_ms = u64::try_from(session.setup_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut recorder = Self {
            path: config.path.clone(),
            out: Some(BufWriter::new(file)),
            start: Instant::now(),
            audio: config.audio,
            secrets: secrets
                .into_iter()
                .filter(|s| s.expose().trim().len() >= 4)
                .collect(),
        };
        recorder.write_line(&json!({ "header": {
            "description": description,
            "source": source,
            "model": session.setup.model,
            "backend": backend,
            "endpoint": endpoint,
            "setup_timeout_ms": setup_timeout_ms,
        }}));
        if recorder.out.is_none() {
            return Err(err(std::io::Error::other(
                "the header line could not be written",
            )));
        }
        Ok(recorder)
    }

    /// Restarts the clock (call when the connection opens).
    pub fn reset_clock(&mut self) {
        self.start = Instant::now();
    }

    /// Records a frame we sent.
    pub fn send(&mut self, frame: &str) {
        match serde_json::from_str(frame) {
            Ok(value) => self.step("send", value),
            Err(e) => tracing::warn!("not recording a sent frame that is not JSON: {e}"),
        }
    }

    /// Records a frame we received (text or binary payload); a frame that
    /// is not JSON is kept verbatim as `recv_raw`.
    pub fn recv(&mut self, payload: &[u8]) {
        match serde_json::from_slice(payload) {
            Ok(value) => self.step("recv", value),
            Err(_) => self.step(
                "recv_raw",
                Value::String(String::from_utf8_lossy(payload).into_owned()),
            ),
        }
    }

    /// Records a fired deadline (`tick`).
    pub fn tick(&mut self) {
        self.step("tick", Value::Bool(true));
    }

    /// Records the end of the connection as the session saw it: a close
    /// frame's code and reason, or `null` when there was none.
    pub fn close(&mut self, close: Option<&CloseInfo>) {
        let value = close.map_or(
            Value::Null,
            |c| json!({ "code": c.code, "reason": c.reason }),
        );
        self.step("close", value);
        self.flush();
    }

    /// Flushes buffered lines to disk.
    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out
            && let Err(e) = out.flush()
        {
            tracing::warn!(path = %self.path.display(), "recording stopped: {e}");
            self.out = None;
        }
    }

    fn step(&mut self, kind: &str, mut value: Value) {
        if let AudioPolicy::Trim { max_chars } = self.audio {
            trim_data(&mut value, max_chars);
        }
        let t_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut line = serde_json::Map::new();
        line.insert("t_ms".to_owned(), t_ms.into());
        line.insert(kind.to_owned(), value);
        self.write_line(&Value::Object(line));
    }

    fn write_line(&mut self, value: &Value) {
        let Some(out) = &mut self.out else { return };
        let mut line = value.to_string();
        for secret in &self.secrets {
            if line.contains(secret.expose()) {
                line = line.replace(secret.expose(), "<redacted>");
            }
        }
        line.push('\n');
        if let Err(e) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!(path = %self.path.display(), "recording stopped: {e}");
            self.out = None;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Cuts every `"data"` string longer than `max_chars` to a multiple-of-8
/// prefix (6 bytes, three 16-bit samples per 8 characters), so it decodes.
pub(crate) fn trim_data(value: &mut Value, max_chars: usize) {
    let keep = (max_chars / 8).max(1) * 8;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(s)
                        if key == "data" && s.is_ascii() && s.len() > max_chars.max(8) =>
                    {
                        s.truncate(keep);
                    }
                    other => trim_data(other, max_chars),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                trim_data(item, max_chars);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn trimmed_audio_stays_decodable() {
        let pcm: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pcm);
        let mut v = json!({"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64}},
            {"text": "data"}
        ]}}});
        trim_data(&mut v, 100);
        let data = v["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]
            .as_str()
            .unwrap();
        assert_eq!(data.len(), 96);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(decoded, pcm[..72]);
        assert_eq!(decoded.len() % 2, 0);
        assert_eq!(v["serverContent"]["modelTurn"]["parts"][1]["text"], "data");
    }

    #[tokio::test(start_paused = true)]
    async fn lines_have_relative_times_and_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let config = RecorderConfig::new(&path);
        let session = SessionConfig::new(protocol::wire::Setup::new("models/m"));
        let mut rec = Recorder::create(
            &config,
            &session,
            "ws://127.0.0.1:1/ws",
            vec![Secret::new("AIzaSECRETKEY")],
        )
        .unwrap();
        rec.send(r#"{"setup":{"model":"models/m"}}"#);
        tokio::time::advance(std::time::Duration::from_millis(412)).await;
        rec.recv(b"{\n  \"setupComplete\": {}\n}\n");
        rec.send(r#"{"realtimeInput":{"text":"my key is AIzaSECRETKEY"}}"#);
        rec.recv(b"not json");
        tokio::time::advance(std::time::Duration::from_millis(100)).await;
        rec.tick();
        rec.close(Some(&CloseInfo::new(1011, "Internal error encountered.")));
        rec.close(None);
        drop(rec);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("AIzaSECRETKEY"));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"header": {
                "description": format!("recorded by gemlive-transport/{}", env!("CARGO_PKG_VERSION")),
                "source": format!("gemlive-transport/{}", env!("CARGO_PKG_VERSION")),
                "model": "models/m",
                "backend": "mldev",
                "endpoint": "ws://127.0.0.1:1/ws",
                "setup_timeout_ms": 15000
            }})
        );
        assert_eq!(
            lines[1],
            json!({"t_ms": 0, "send": {"setup": {"model": "models/m"}}})
        );
        assert_eq!(
            lines[2],
            json!({"t_ms": 412, "recv": {"setupComplete": {}}})
        );
        assert_eq!(
            lines[3],
            json!({"t_ms": 412, "send": {"realtimeInput": {"text": "my key is <redacted>"}}})
        );
        assert_eq!(lines[4], json!({"t_ms": 412, "recv_raw": "not json"}));
        assert_eq!(lines[5], json!({"t_ms": 512, "tick": true}));
        assert_eq!(
            lines[6],
            json!({"t_ms": 512, "close": {"code": 1011, "reason": "Internal error encountered."}})
        );
        assert_eq!(lines[7], json!({"t_ms": 512, "close": null}));
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let err = Recorder::create(
            &RecorderConfig::new("/nonexistent-dir/x.jsonl"),
            &SessionConfig::new(protocol::wire::Setup::new("models/m")),
            "nowhere",
            vec![],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir/x.jsonl"),
            "{err}"
        );
    }
}
