//! The JSON configurations a user writes. `gemlive chat|talk --config` and `--tools` files: the
//! CLI (a binary crate) parses the file as JSON, wraps the value as a setup message
//! (`{"setup": value}`, or a setup holding `value` as its tools) and decodes that with the
//! protocol's strict decoder, refusing unknown fields; this target takes the same path from the
//! JSON value on (the CLI's own unwrapping of `{"setup": ...}` and `{"tools": ...}` stays in the
//! binary). `gemlive token create --config` and the `gemlive` crate read Python-style config
//! dicts with `LiveConfig::from_json`: a config it accepts must give a setup that Google's strict
//! decoding takes, every field known.

use protocol::wire::ClientMessage;
use serde_json::{Value, json};

/// A model the facade knows (its rules apply to the setup it builds).
const MODEL: &str = "models/gemini-3.1-flash-live-preview";

/// Input: a JSON document.
pub(crate) fn run(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let config = json!({ "setup": value });
    crate::decode::client(config.to_string().as_bytes());
    let tools = json!({ "setup": { "model": "m", "tools": value } });
    crate::decode::client(tools.to_string().as_bytes());
    let Ok(live) = gemlive::LiveConfig::from_json(value) else {
        return;
    };
    let Ok(setup) = live.setup(MODEL) else { return };
    let frame = ClientMessage::Setup(Box::new(setup)).to_json();
    crate::assert_server_takes(&frame, "a config from LiveConfig::from_json");
}
