//! Decoding frames into wire messages, with every unknown field reported.

mod track;

use std::fmt;

use serde::de::DeserializeOwned;

use crate::wire::{ClientMessage, ServerMessage};

/// A decoded message and the fields it carried that this version does not know.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded<T> {
    /// The message, with unknown fields left out.
    pub message: T,
    /// Unknown fields, in the order they appeared. Empty for a fully understood frame.
    pub unknown: Vec<UnknownField>,
}

/// A field the decoder did not recognise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownField {
    /// The key as it was written.
    pub name: String,
    /// Where it sat, as a snake_case proto path like Google writes it: `setup.generation_config`,
    /// `setup.tools[0].function_declarations[0].parameters`; empty at the top level.
    pub parent_path: String,
}

impl UnknownField {
    /// The reason Google closes the socket with (code 1007) for this field.
    pub fn google_reason(&self) -> String {
        if self.parent_path.is_empty() {
            format!(
                "Invalid JSON payload received. Unknown name \"{}\": Cannot find field.",
                self.name
            )
        } else {
            format!(
                "Invalid JSON payload received. Unknown name \"{}\" at '{}': Cannot find field.",
                self.name, self.parent_path
            )
        }
    }
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parent_path.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}.{}", self.parent_path, self.name)
        }
    }
}

/// `generationConfig` → `generation_config`; snake_case input is returned unchanged.
pub fn to_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `generation_config` → `generationConfig`; camelCase input is returned unchanged.
pub fn to_camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A frame that is not a valid message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} at line {line} column {column}: {message} (near `{excerpt}`)")]
pub struct DecodeError {
    what: &'static str,
    message: String,
    line: usize,
    column: usize,
    excerpt: String,
}

impl DecodeError {
    fn new(what: &'static str, err: &serde_json::Error, frame: &[u8]) -> Self {
        let message = err.to_string();
        // serde_json appends " at line L column C"; we print position ourselves.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        Self {
            what,
            message,
            line: err.line(),
            column: err.column(),
            excerpt: excerpt(frame, err.line(), err.column()),
        }
    }

    /// What was being decoded: "server message" or "client message".
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The parser's message, without position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 1-based line and column of the error (0 when unknown).
    pub fn position(&self) -> (usize, usize) {
        (self.line, self.column)
    }

    /// Up to about 80 characters of the frame around the error.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

const EXCERPT_CHARS: usize = 40;

fn excerpt(frame: &[u8], line: usize, column: usize) -> String {
    let text = String::from_utf8_lossy(frame);
    let mut offset = 0usize;
    if line > 0 {
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                offset += column.saturating_sub(1).min(l.len());
                break;
            }
            offset += l.len();
        }
    }
    let offset = offset.min(text.len());
    let mut start = offset.saturating_sub(EXCERPT_CHARS);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (offset + EXCERPT_CHARS).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut out: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if start > 0 {
        out.insert(0, '…');
    }
    if end < text.len() {
        out.push('…');
    }
    out
}

fn decode<T: DeserializeOwned>(
    what: &'static str,
    frame: &[u8],
) -> Result<Decoded<T>, DecodeError> {
    // Derived structs would also take a JSON array, filling fields by position: a frame is an object.
    if let Some(&first) = frame.iter().find(|b| !b.is_ascii_whitespace())
        && first != b'{'
    {
        let err = <serde_json::Error as serde::de::Error>::custom("expected a JSON object");
        return Err(DecodeError {
            what,
            message: err.to_string(),
            line: 1,
            column: 1,
            excerpt: excerpt(frame, 1, 1),
        });
    }
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(frame);
    let message: T =
        track::deserialize(&mut de, &mut unknown).map_err(|e| DecodeError::new(what, &e, frame))?;
    de.end().map_err(|e| DecodeError::new(what, &e, frame))?;
    Ok(Decoded { message, unknown })
}

/// Decodes a server frame (the payload of a binary or text WebSocket frame).
///
/// Lenient: unknown fields are reported in [`Decoded::unknown`], never an error, so new server
/// fields cannot break a client.
pub fn decode_server(frame: &[u8]) -> Result<Decoded<ServerMessage>, DecodeError> {
    decode("server message", frame)
}

/// Decodes a client frame. A server validating like Google's rejects any frame whose
/// [`Decoded::unknown`] is not empty, with [`UnknownField::google_reason`] and close code 1007.
pub fn decode_client(frame: &[u8]) -> Result<Decoded<ClientMessage>, DecodeError> {
    decode("client message", frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_get_google_paths() {
        let frame = br#"{"setup": {"model": "models/m", "responseModalities": ["TEXT"],
            "generation_config": {"bogus": 1},
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "additionalProperties": false}}]}]}}"#;
        let d = decode_client(frame).unwrap();
        let reasons: Vec<String> = d.unknown.iter().map(UnknownField::google_reason).collect();
        assert_eq!(
            reasons,
            [
                "Invalid JSON payload received. Unknown name \"responseModalities\" at 'setup': Cannot find field.",
                "Invalid JSON payload received. Unknown name \"bogus\" at 'setup.generation_config': Cannot find field.",
                "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'setup.tools[0].function_declarations[0].parameters': Cannot find field.",
            ]
        );
    }

    #[test]
    fn top_level_unknown_and_oneof_errors() {
        let d = decode_server(br#"{"serverContent": {}, "brandNew": {"x": 1}}"#).unwrap();
        assert_eq!(
            d.unknown[0].google_reason(),
            "Invalid JSON payload received. Unknown name \"brandNew\": Cannot find field."
        );
        let err = decode_client(br#"{"setup": {"model": "m"}, "clientContent": {}}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("exactly one key, found setup and clientContent"),
            "{err}"
        );
        let err = decode_client(b"{}").unwrap_err();
        assert!(err.to_string().contains("needs one of setup"), "{err}");
    }

    #[test]
    fn malformed_frames_are_errors_with_an_excerpt() {
        let err = decode_server(b"{\n  \"serverContent\": {\n    \"turnComplete\": tru\n  }\n}")
            .unwrap_err();
        assert!(err.position().0 >= 3, "{:?}", err.position());
        assert!(err.excerpt().contains("tru"), "{}", err.excerpt());
        for bad in [
            &b""[..],
            b"[]",
            b"\"x\"",
            b"{\"serverContent\": 5}",
            b"{} {}",
            b"\xff\xfe",
            b"{\"goAway\": {\"timeLeft\": \"soon\"}}",
        ] {
            assert!(
                decode_server(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn case_conversions() {
        assert_eq!(to_snake_case("generationConfig"), "generation_config");
        assert_eq!(to_snake_case("turn_complete"), "turn_complete");
        assert_eq!(to_camel_case("turn_complete"), "turnComplete");
        assert_eq!(to_camel_case("mimeType"), "mimeType");
    }
}
