//! The CLI's `--config` and `--tools` files. The CLI (a binary crate) parses the file as JSON,
//! wraps the value as a setup message (`{"setup": value}`, or a setup holding `value` as its
//! tools) and decodes that with the protocol's strict decoder, refusing unknown fields. This target
//! takes the same path from the JSON value on; the CLI's own unwrapping of `{"setup": ...}` and
//! `{"tools": ...}` stays in the binary.

use serde_json::{Value, json};

/// Input: a JSON document.
pub(crate) fn run(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let config = json!({ "setup": value });
    crate::decode::client(config.to_string().as_bytes());
    let tools = json!({ "setup": { "model": "m", "tools": value } });
    crate::decode::client(tools.to_string().as_bytes());
}
