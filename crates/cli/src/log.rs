//! Logging: what reaches stderr from `tracing` (gemlive's crates) and `log` (tungstenite,
//! rustls...), at any level.
//!
//! - By default only warnings and errors, as `warning: ...` lines for a person: no timestamps,
//!   colour only on a terminal that wants it, and never in the middle of the answer's line.
//! - `GEMLIVE_LOG` (e.g. `debug`, `trace`, `gemlive_transport=debug`) turns on the developer
//!   format, with levels and targets.
//! - Secrets never get out: every line, whatever crate wrote it, is scrubbed of the credentials
//!   this process knows (API keys, tokens from the environment and the flags) and of the values
//!   of credential headers and query parameters (`x-goog-api-key`, `authorization`, `key=`,
//!   `access_token=`), such as tungstenite's handshake trace prints.

use std::fmt;
use std::io;
use std::sync::{Mutex, OnceLock};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::term::{Style, screen};

/// The credentials this process holds, scrubbed from every log line.
static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

/// Environment variables that hold credentials.
const SECRET_VARS: &[&str] = &[
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_CLOUD_ACCESS_TOKEN",
    "GEMLIVE_EPHEMERAL_TOKEN",
    "GEMLIVE_EMULATOR_KEY",
];

/// Names whose values are credentials, in headers (`name: value`), JSON (`"name": "value"`)
/// and URLs (`name=value`).
const SECRET_NAMES: &[&str] = &[
    "x-goog-api-key",
    "authorization",
    "proxy-authorization",
    "key",
    "access_token",
    "token",
];

/// Remembers a credential so that no log line shows it.
pub(crate) fn secret(value: &str) {
    let value = value.trim();
    // Very short values would scrub ordinary words; real credentials are long.
    if value.len() < 6 {
        return;
    }
    let mut list = SECRETS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !list.iter().any(|s| s == value) {
        list.push(value.to_owned());
    }
}

/// Installs the subscriber (and the bridge from the `log` crate).
pub(crate) fn init() {
    for var in SECRET_VARS {
        if let Ok(v) = std::env::var(var) {
            secret(&v);
        }
    }
    let caps = screen().caps();
    let colour = caps.colour && caps.stderr_tty;
    let developer = std::env::var_os("GEMLIVE_LOG").is_some_and(|v| !v.is_empty());
    let filter = if developer {
        tracing_subscriber::EnvFilter::try_from_env("GEMLIVE_LOG").unwrap_or_else(|e| {
            eprintln!("warning: GEMLIVE_LOG: {e}; showing warnings only");
            "warn".into()
        })
    } else {
        // The MCP SDK logs its transport's failures itself; gemlive-tools reports them, once.
        "warn,rmcp=off".into()
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Lines)
        .with_ansi(colour);
    let installed = if developer {
        builder.with_target(true).try_init()
    } else {
        builder.event_format(Human { colour }).try_init()
    };
    if let Err(e) = installed {
        eprintln!("warning: cannot set up logging: {e}");
    }
}

/// `warning: the message field=value`, for a person.
struct Human {
    colour: bool,
}

impl<S, N> FormatEvent<S, N> for Human
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (label, style) = match *event.metadata().level() {
            Level::ERROR => ("error:", Style::RED),
            Level::WARN => ("warning:", Style::YELLOW),
            Level::INFO => ("note:", Style::DIM),
            _ => ("debug:", Style::DIM),
        };
        write!(writer, "{} ", style.paint(self.colour, label))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// A log event's bytes, shown line by line once the event is complete.
#[derive(Debug, Default)]
struct Lines;

#[derive(Debug, Default)]
struct LineBuffer(Vec<u8>);

impl<'a> MakeWriter<'a> for Lines {
    type Writer = LineBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        LineBuffer::default()
    }
}

impl io::Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = scrub(&text);
        for line in text.lines() {
            screen().err_line(line);
        }
    }
}

/// `text` without credentials.
pub(crate) fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(list) = SECRETS.get() {
        for s in list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "<redacted>");
            }
        }
    }
    for name in SECRET_NAMES {
        out = scrub_named(&out, name);
    }
    out
}

/// Replaces the value after each `name` followed by `:`, `=` or `": "` (any case).
fn scrub_named(text: &str, name: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find(name) {
        let start = at + found;
        let after = start + name.len();
        // A whole name: not the tail of a longer word (`monkey:`, `x-api-key-id=`).
        // (A header after an escaped line break, `\r\nx-goog-api-key`, counts as whole.)
        let before = &lower[..start];
        let bounded = (before
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
            || before.ends_with("\\n")
            || before.ends_with("\\r"))
            && lower[after..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
        out.push_str(&text[at..after]);
        at = after;
        if !bounded {
            continue;
        }
        // The separator: optional quote, `:` or `=`, spaces and an opening quote.
        let rest = &text[after..];
        let sep_len = rest
            .char_indices()
            .take_while(|&(i, c)| matches!(c, '"' | '\'' | ' ' | ':' | '=' | '\\') && i < 8)
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        let sep = &rest[..sep_len];
        if !sep.contains(':') && !sep.contains('=') {
            continue;
        }
        out.push_str(sep);
        let value = &rest[sep_len..];
        // `Bearer x` and `Token x`: the scheme stays.
        let mut value_start = 0;
        for scheme in ["Bearer ", "Token ", "Basic "] {
            if value.starts_with(scheme) {
                out.push_str(scheme);
                value_start = scheme.len();
            }
        }
        let len = value[value_start..]
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(c, '\\' | '"' | '\'' | ',' | '&' | ';' | ')' | '}' | ']')
            })
            .unwrap_or(value.len() - value_start);
        if len > 0 {
            out.push_str("<redacted>");
        }
        at = after + sep_len + value_start + len;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_scrubbed_from_headers_urls_and_json() {
        let trace = r#"Request: "GET /ws HTTP/1.1\r\nHost: h\r\nx-goog-api-key: AIzaSECRET\r\nAuthorization: Bearer ya29.tok\r\n""#;
        let clean = scrub(trace);
        assert!(
            !clean.contains("AIzaSECRET") && !clean.contains("ya29.tok"),
            "{clean}"
        );
        assert!(
            clean.contains(r"x-goog-api-key: <redacted>\r\nAuthorization: Bearer <redacted>\r\n")
        );
        assert_eq!(
            scrub("GET wss://h/ws?key=abc123&alt=x and ?access_token=auth_tokens/zz"),
            "GET wss://h/ws?key=<redacted>&alt=x and ?access_token=<redacted>"
        );
        assert_eq!(
            scrub(r#"{"X-Goog-Api-Key": "k-123456", "monkey": "banana", "key_id": 3}"#),
            r#"{"X-Goog-Api-Key": "<redacted>", "monkey": "banana", "key_id": 3}"#
        );
        secret("a-known-credential");
        assert_eq!(scrub("it was a-known-credential!"), "it was <redacted>!");
        secret("short");
        assert_eq!(scrub("short"), "short");
    }
}
