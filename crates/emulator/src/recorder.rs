//! Recording connections in the conformance corpus format (`record_dir`), which replays.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::route::{Backend, LiveEndpoint};

/// Who sent a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Client,
    Server,
}

/// Appends frames to `DIR/emulator-<n>.jsonl`; stops quietly when the file cannot be written.
#[derive(Debug)]
pub(crate) struct Recorder {
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl Recorder {
    /// A recorder for connection `n`, or one that records nothing without `dir`.
    pub(crate) fn open(dir: Option<&Path>, n: u64, endpoint: &LiveEndpoint) -> Self {
        let file = dir.and_then(|dir| {
            let path = dir.join(format!("emulator-{n:04}.jsonl"));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).ok()?);
            let backend = if endpoint.backend == Backend::Vertex {
                "vertex"
            } else {
                "mldev"
            };
            let header = json!({"header": {"source": "gemlive-emulator", "backend": backend, "api_version": endpoint.version}});
            writeln!(f, "{header}").ok()?;
            Some(f)
        });
        Self { file }
    }

    pub(crate) fn frame(&mut self, dir: Direction, bytes: &[u8]) {
        let Some(f) = self.file.as_mut() else { return };
        let frame = serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        let dir = if dir == Direction::Client {
            "client"
        } else {
            "server"
        };
        let ok = writeln!(
            f,
            "{}",
            json!({"dir": dir, "bytes": bytes.len(), "frame": frame})
        )
        .and_then(|()| f.flush());
        if ok.is_err() {
            self.file = None;
        }
    }
}
