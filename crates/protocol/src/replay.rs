//! Replaying scenario fixtures and recorded sessions through a [`Session`], and checking the
//! recorded conformance corpus. Pure: callers pass text and an origin `Instant`.
//!
//! # Fixture format
//!
//! One JSON object per line (JSONL). The first line is a header; each further line is a step at
//! `t_ms` milliseconds after the start:
//!
//! ```text
//! {"header": {"description": "...", "backend": "gemini" | "vertex", "setup": {...}, "setup_timeout_ms": 15000}}
//! {"t_ms": 0,   "send": {...}}          the next frame the session transmits must equal this JSON
//! {"t_ms": 40,  "recv": {...}}          a server frame (delivered pretty-printed, as Google does)
//! {"t_ms": 41,  "recv_raw": "{oops"}    a server frame given verbatim (malformed frames)
//! {"t_ms": 50,  "cmd": {"text": "hi"}}  a command; see [`Command`]
//! {"t_ms": 90,  "close": {"code": 1011, "reason": "..."}}   the server closes (`null`: no close frame)
//! {"t_ms": 20000, "tick": true}         time passes: `handle_timeout`
//! ```
//!
//! The trace prints one line per transmitted frame (`>`), event (`<`), close request (`x`) and
//! command error (`!`), with audio and other bytes summarised as length and CRC-32, so
//! snapshots stay small and deterministic.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::decode::to_camel_case;
use crate::event::Event;
use crate::models::Backend;
use crate::session::{CloseInfo, Output, Session, SessionConfig};
use crate::wire::{self, ClientContent, ContextUpdate, FunctionResponse, Setup};

/// A fixture that cannot be replayed, or whose expectations failed.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// A line that is not valid fixture JSON.
    #[error("line {line}: {message}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A `send` step that does not match what the session transmitted.
    #[error("line {line}: expected the session to send {expected}, it sent {actual}")]
    Mismatch {
        /// 1-based line number.
        line: usize,
        /// The fixture's frame.
        expected: String,
        /// The session's frame, or "nothing".
        actual: String,
    },
}

/// The header line. Fixtures carry the setup; recordings made by the transport's recorder carry
/// `source`, `model`, `endpoint`, ... instead and start with the setup as their first `send`.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    description: String,
    #[serde(default)]
    backend: Option<String>,
    #[serde(default)]
    setup: Option<Value>,
    #[serde(default)]
    setup_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    t_ms: u64,
    #[serde(default)]
    send: Option<Value>,
    #[serde(default)]
    recv: Option<Value>,
    #[serde(default)]
    recv_raw: Option<String>,
    #[serde(default)]
    cmd: Option<Command>,
    #[serde(default, deserialize_with = "close_step")]
    close: Option<Option<CloseStep>>,
    #[serde(default)]
    tick: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseStep {
    code: u16,
    #[serde(default)]
    reason: String,
}

fn close_step<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<CloseStep>>, D::Error> {
    Option::<CloseStep>::deserialize(d).map(Some)
}

/// A fixture command: one application action.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// `send_text`.
    Text(String),
    /// `send_user_turn`.
    UserTurn(String),
    /// `send_client_content`.
    ClientContent(ClientContent),
    /// `send_audio` with `bytes` of a deterministic PCM pattern at `rate`.
    Audio {
        /// Byte count.
        bytes: usize,
        /// Sample rate.
        rate: u32,
    },
    /// `send_video` with `bytes` of a deterministic pattern.
    Video {
        /// Byte count.
        bytes: usize,
        /// MIME type.
        mime: String,
    },
    /// `send_activity_start`.
    ActivityStart {},
    /// `send_activity_end`.
    ActivityEnd {},
    /// `send_audio_stream_end`.
    AudioStreamEnd {},
    /// `send_tool_response`.
    ToolResponse(Vec<FunctionResponse>),
    /// `update_context`.
    ContextUpdate(ContextUpdate),
    /// `close`.
    Close {},
    /// The transport reconnects: `next_connection`.
    Reconnect {},
}

fn format_err(line: usize, message: impl ToString) -> ReplayError {
    ReplayError::Format {
        line,
        message: message.to_string(),
    }
}

fn parse_backend(name: Option<&str>) -> Result<Backend, String> {
    match name.map(str::to_ascii_lowercase).as_deref() {
        None | Some("gemini" | "mldev" | "gemini-api") => Ok(Backend::GeminiApi),
        Some("vertex") => Ok(Backend::Vertex),
        Some(other) => Err(format!("unknown backend {other:?} (gemini or vertex)")),
    }
}

/// Replays a fixture and returns its trace.
pub fn replay(fixture: &str, origin: Instant) -> Result<Vec<String>, ReplayError> {
    replay_into(fixture, origin, &mut Vec::new())
}

/// Replays a fixture or a recording and returns the events an application received, in order
/// (what `gemlive replay` shows as `chat` showed it).
pub fn events(fixture: &str, origin: Instant) -> Result<Vec<Event>, ReplayError> {
    let mut events = Vec::new();
    replay_into(fixture, origin, &mut events)?;
    Ok(events)
}

fn replay_into(
    fixture: &str,
    origin: Instant,
    events: &mut Vec<Event>,
) -> Result<Vec<String>, ReplayError> {
    let mut lines = fixture
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or_else(|| format_err(1, "empty fixture"))?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct HeaderLine {
        header: Header,
    }
    let header = serde_json::from_str::<HeaderLine>(first)
        .map_err(|e| format_err(1, e))?
        .header;
    // A recording: the setup is its first `send`, and every later `send` is replayed as a command.
    let recording = header.setup.is_none();
    let lines: Vec<(usize, &str)> = lines.collect();
    let (setup_value, lines) = match header.setup {
        Some(setup) => (setup, &lines[..]),
        None => {
            let (index, text) = lines
                .first()
                .ok_or_else(|| format_err(1, "a recording with no frames"))?;
            let step: Value = serde_json::from_str(text).map_err(|e| format_err(index + 1, e))?;
            let setup = step["send"]["setup"].clone();
            if setup.is_null() {
                return Err(format_err(
                    index + 1,
                    "the header has no setup, and the first step is not the setup `send`",
                ));
            }
            (setup, &lines[1..])
        }
    };
    let setup: Setup =
        serde_json::from_value(setup_value).map_err(|e| format_err(1, format!("setup: {e}")))?;
    let mut config = SessionConfig::new(setup);
    config.backend = parse_backend(header.backend.as_deref()).map_err(|e| format_err(1, e))?;
    if let Some(ms) = header.setup_timeout_ms {
        config.setup_timeout = Duration::from_millis(ms);
    }
    let mut trace = Vec::new();
    if !header.description.is_empty() {
        trace.push(format!("# {}", header.description));
    }
    let mut session = match Session::new(config, origin) {
        Ok(s) => s,
        Err(e) => {
            trace.push(format!("{:>6} ! {e}", 0));
            return Ok(trace);
        }
    };
    let mut sent: VecDeque<String> = VecDeque::new();
    drain(&mut session, 0, &mut trace, &mut sent, events);

    for &(index, text) in lines {
        let line = index + 1;
        let step: Step = serde_json::from_str(text).map_err(|e| format_err(line, e))?;
        let now = origin
            .checked_add(Duration::from_millis(step.t_ms))
            .ok_or_else(|| format_err(line, "t_ms is too large"))?;
        let t = step.t_ms;
        let kinds = [
            step.send.is_some(),
            step.recv.is_some(),
            step.recv_raw.is_some(),
            step.cmd.is_some(),
            step.close.is_some(),
            step.tick.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(format_err(
                line,
                "a step has exactly one of send, recv, recv_raw, cmd, close, tick",
            ));
        }
        if recording && let Some(frame) = step.send {
            let resent = crate::decode_client(frame.to_string().as_bytes())
                .map_err(crate::Error::from)
                .and_then(|decoded| resend(&mut session, decoded.message, now));
            match resent {
                Ok(Some(next)) => {
                    trace.push(format!("{t:>6} ~ reconnect"));
                    session = next;
                }
                Ok(None) => {}
                Err(e) => trace.push(format!("{t:>6} ! {e}")),
            }
            drain(&mut session, t, &mut trace, &mut sent, events);
            continue;
        }
        if let Some(expected) = step.send {
            let actual = sent.pop_front();
            let matches = actual
                .as_deref()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
                .is_some_and(|a| a == expected);
            if !matches {
                return Err(ReplayError::Mismatch {
                    line,
                    expected: expected.to_string(),
                    actual: actual.unwrap_or_else(|| "nothing".into()),
                });
            }
            continue;
        }
        if let Some(frame) = step.recv {
            let bytes = serde_json::to_vec_pretty(&frame).map_err(|e| format_err(line, e))?;
            let _ = session.handle_frame(&bytes, now);
        } else if let Some(raw) = step.recv_raw {
            let _ = session.handle_frame(raw.as_bytes(), now);
        } else if let Some(close) = step.close {
            session.handle_close(close.map(|c| CloseInfo::new(c.code, c.reason)), now);
        } else if step.tick.is_some() {
            session.handle_timeout(now);
        } else if let Some(cmd) = step.cmd {
            if let Command::Reconnect {} = cmd {
                match session.next_connection(now) {
                    Ok(next) => {
                        trace.push(format!("{t:>6} ~ reconnect"));
                        session = next;
                    }
                    Err(e) => trace.push(format!("{t:>6} ! {e}")),
                }
            } else if let Err(e) = run(&mut session, cmd, now) {
                trace.push(format!("{t:>6} ! {e}"));
            }
        }
        drain(&mut session, t, &mut trace, &mut sent, events);
    }
    Ok(trace)
}

/// Replays a recorded client message as the command that produced it. A second setup means the
/// recording continued on a new connection: the resuming session is returned.
fn resend(
    session: &mut Session,
    message: wire::ClientMessage,
    now: Instant,
) -> Result<Option<Session>, crate::Error> {
    use wire::ClientMessage as M;
    match message {
        M::Setup(_) => return session.next_connection(now).map(Some),
        M::ClientContent(c) => session.send_client_content(c)?,
        M::ToolResponse(r) => session.send_tool_response(r.function_responses)?,
        M::ContextUpdate(u) => session.update_context(u)?,
        M::RealtimeInput(r) => {
            let media = r
                .audio
                .or_else(|| r.media_chunks.and_then(|c| c.into_iter().next()));
            if let Some(blob) = media.as_ref().filter(|b| b.mime_type.starts_with("audio/")) {
                let rate = crate::pcm_rate(&blob.mime_type).unwrap_or(crate::INPUT_SAMPLE_RATE);
                session.send_audio(blob.data.as_bytes(), rate)?;
            } else if let Some(blob) = r.video.or(media) {
                session.send_video(blob.data.as_bytes(), &blob.mime_type)?;
            } else if let Some(text) = r.text {
                session.send_text(&text)?;
            } else if r.activity_start.is_some() {
                session.send_activity_start()?;
            } else if r.activity_end.is_some() {
                session.send_activity_end()?;
            } else if r.audio_stream_end == Some(true) {
                session.send_audio_stream_end()?;
            }
        }
    }
    Ok(None)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) % 251) as u8).collect()
}

fn run(session: &mut Session, cmd: Command, now: Instant) -> Result<(), crate::Error> {
    match cmd {
        Command::Text(t) => session.send_text(&t),
        Command::UserTurn(t) => session.send_user_turn(&t),
        Command::ClientContent(c) => session.send_client_content(c),
        Command::Audio { bytes, rate } => session.send_audio(&pattern(bytes), rate),
        Command::Video { bytes, mime } => session.send_video(&pattern(bytes), &mime),
        Command::ActivityStart {} => session.send_activity_start(),
        Command::ActivityEnd {} => session.send_activity_end(),
        Command::AudioStreamEnd {} => session.send_audio_stream_end(),
        Command::ToolResponse(r) => session.send_tool_response(r),
        Command::ContextUpdate(u) => session.update_context(u),
        Command::Close {} => {
            session.close(now);
            Ok(())
        }
        Command::Reconnect {} => Ok(()),
    }
}

fn drain(
    session: &mut Session,
    t: u64,
    trace: &mut Vec<String>,
    sent: &mut VecDeque<String>,
    events: &mut Vec<Event>,
) {
    loop {
        match session.poll_output() {
            Output::Transmit(frame) => {
                trace.push(format!("{t:>6} > {}", summarise_frame(&frame)));
                sent.push_back(frame);
            }
            Output::Event(e) => {
                trace.push(format!("{t:>6} < {}", render_event(&e)));
                events.push(e);
            }
            Output::Close => trace.push(format!("{t:>6} x close")),
            Output::Idle { .. } => break,
        }
    }
}

/// Compact JSON with every long base64 `data` string replaced by its decoded length and CRC-32.
pub fn summarise_frame(frame: &str) -> String {
    match serde_json::from_str::<Value>(frame) {
        Ok(mut v) => {
            summarise_value(&mut v);
            v.to_string()
        }
        Err(_) => frame.to_owned(),
    }
}

fn summarise_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if matches!(
                    k.as_str(),
                    "data" | "thoughtSignature" | "imageData" | "voiceSampleAudio" | "consentAudio"
                ) && let Value::String(s) = child
                    && let Ok(bytes) = wire::decode_base64(s)
                {
                    *child = Value::String(bytes_summary(&bytes));
                } else {
                    summarise_value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(summarise_value),
        _ => {}
    }
}

fn bytes_summary(bytes: &[u8]) -> String {
    format!(
        "<{} bytes crc32={:08x}>",
        bytes.len(),
        crc32fast::hash(bytes)
    )
}

/// One line for an event, with bytes summarised.
pub fn render_event(e: &Event) -> String {
    match e {
        Event::Audio {
            data, sample_rate, ..
        } => {
            format!("Audio {} @{sample_rate} Hz", bytes_summary(data))
        }
        Event::InlineData { mime_type, data } => {
            format!("InlineData {mime_type} {}", bytes_summary(data))
        }
        Event::ThoughtSignature(b) => format!("ThoughtSignature {}", bytes_summary(b)),
        Event::Text { text, thought } => {
            format!("Text {text:?}{}", if *thought { " (thought)" } else { "" })
        }
        Event::Usage(u) => {
            let mut s = String::from("Usage");
            let fields = [
                ("prompt", u.prompt_token_count),
                ("output", u.output_tokens()),
                ("total", u.total_token_count),
            ];
            for (name, value) in fields {
                if let Some(v) = value {
                    let _ = write!(s, " {name}={v}");
                }
            }
            s
        }
        Event::GoAway { time_left, .. } => format!("GoAway time_left={time_left:?}"),
        Event::Grounding(g) => format!(
            "Grounding queries={:?} chunks={}",
            g.web_search_queries.clone().unwrap_or_default(),
            g.grounding_chunks.as_ref().map_or(0, Vec::len)
        ),
        Event::Closed(c) => format!(
            "Closed {} {:?} kind={:?} fault={:?} retriable={} hint={:?}",
            c.code, c.reason, c.kind, c.fault, c.retriable, c.hint
        ),
        Event::Malformed(err) => format!("Malformed {err}"),
        Event::Violation(v) => format!("Violation {v}"),
        Event::Unrecognized { fields } => {
            format!(
                "Unrecognized {}",
                fields
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Event::ToolCall { calls } => format!(
            "ToolCall {}",
            calls
                .iter()
                .map(|c| format!(
                    "{}({}) id={}",
                    c.name,
                    c.args.clone().unwrap_or(Value::Null),
                    c.id.as_deref().unwrap_or("-")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// The outcome of checking one recorded session of the conformance corpus.
#[derive(Debug, Default)]
pub struct ConformanceReport {
    /// Frames read.
    pub frames: usize,
    /// What failed; empty when the session conforms.
    pub failures: Vec<String>,
    /// Events produced by replaying the server frames through a client session.
    pub events: Vec<String>,
}

/// Checks one conformance session (`{"header": ...}` then `{"dir", "bytes", "frame"}` lines):
/// every frame decodes with no unknown field, re-encoding gives the same JSON value (modulo
/// casing, base64 alphabet and number spelling), and the server frames replay through a client
/// session without protocol violations.
pub fn check_conformance(text: &str, origin: Instant) -> ConformanceReport {
    let mut report = ConformanceReport::default();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let backend = lines
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|h| h["header"]["backend"].as_str().map(str::to_owned));
    let backend = match parse_backend(backend.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            report.failures.push(format!("header: {e}"));
            return report;
        }
    };
    let mut session: Option<Session> = None;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let record: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                report.failures.push(format!("line {n}: not JSON: {e}"));
                continue;
            }
        };
        report.frames += 1;
        let frame = record["frame"].to_string();
        let dir = record["dir"].as_str().unwrap_or_default();
        let reencoded = match dir {
            "server" => crate::decode_server(frame.as_bytes())
                .map(|d| (d.unknown, serde_json::to_value(&d.message))),
            "client" => crate::decode_client(frame.as_bytes()).map(|d| {
                if let wire::ClientMessage::Setup(setup) = &d.message
                    && session.is_none()
                {
                    let mut config = SessionConfig::new((**setup).clone());
                    config.backend = backend;
                    match Session::new(config, origin) {
                        Ok(s) => session = Some(s),
                        Err(e) => report.failures.push(format!(
                            "line {n}: the session refused the recorded setup: {e}"
                        )),
                    }
                }
                (d.unknown, serde_json::to_value(&d.message))
            }),
            other => {
                report
                    .failures
                    .push(format!("line {n}: unknown dir {other:?}"));
                continue;
            }
        };
        match reencoded {
            Err(e) => report
                .failures
                .push(format!("line {n}: {dir} frame does not decode: {e}")),
            Ok((unknown, value)) => {
                if !unknown.is_empty() {
                    let names: Vec<String> = unknown.iter().map(ToString::to_string).collect();
                    report
                        .failures
                        .push(format!("line {n}: unknown fields {}", names.join(", ")));
                }
                match value {
                    Ok(value) if equivalent(&record["frame"], &value) => {}
                    Ok(value) => report.failures.push(format!(
                        "line {n}: re-encoding differs: {} vs {}",
                        summarise_frame(&record["frame"].to_string()),
                        summarise_frame(&value.to_string())
                    )),
                    Err(e) => report
                        .failures
                        .push(format!("line {n}: re-encoding failed: {e}")),
                }
            }
        }
        if dir == "server" {
            let Some(s) = session.as_mut() else {
                report
                    .failures
                    .push(format!("line {n}: server frame before any setup"));
                continue;
            };
            if let Err(e) = s.handle_frame(frame.as_bytes(), origin) {
                report.failures.push(format!("line {n}: {e}"));
            }
            loop {
                match s.poll_output() {
                    Output::Event(e) => report.events.push(render_event(&e)),
                    Output::Idle { .. } => break,
                    Output::Transmit(_) | Output::Close => {}
                }
            }
        }
    }
    report
}

/// JSON equality modulo key casing, base64 alphabet and padding, number spelling (`40` vs
/// `40.0` vs `"40"`), enum case and duration spelling.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let norm = |m: &serde_json::Map<String, Value>| -> Vec<(String, Value)> {
                let mut v: Vec<(String, Value)> = m
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (to_camel_case(k), v.clone()))
                    .collect();
                v.sort_by(|p, q| p.0.cmp(&q.0));
                v
            };
            let (x, y) = (norm(x), norm(y));
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|((ka, va), (kb, vb))| ka == kb && equivalent(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equivalent(p, q))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.trim().parse::<f64>().ok() == n.as_f64()
        }
        (Value::String(x), Value::String(y)) => {
            x == y
                || x.eq_ignore_ascii_case(y)
                || matches!((wire::ProtoDuration::parse(x), wire::ProtoDuration::parse(y)), (Some(p), Some(q)) if p == q)
                || matches!((wire::decode_base64(x), wire::decode_base64(y)), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // A test picks an origin; the crate never reads the clock.
    fn origin() -> Instant {
        Instant::now()
    }

    const HEADER: &str = r#"{"header": {"backend": "mldev"}}"#;
    const SETUP: &str = r#"{"dir": "client", "bytes": 1, "frame": {"setup": {"model": "models/gemini-3.1-flash-live-preview"}}}"#;

    #[test]
    fn conformance_passes_a_clean_session() {
        let text = [
            HEADER,
            SETUP,
            r#"{"dir": "server", "bytes": 1, "frame": {"setupComplete": {}}}"#,
        ]
        .join("\n");
        let report = check_conformance(&text, origin());
        assert_eq!(
            (report.frames, report.failures.len()),
            (2, 0),
            "{:?}",
            report.failures
        );
        assert_eq!(
            report.events,
            ["SetupComplete { session_id: None, resumed: false }"]
        );
    }

    #[test]
    fn conformance_reports_unknown_fields_bad_frames_and_violations() {
        let text = [
            HEADER,
            r#"{"dir": "server", "bytes": 1, "frame": {"setupComplete": {}}}"#,
            SETUP,
            r#"{"dir": "client", "bytes": 1, "frame": {"realtimeInput": {"txt": "typo"}}}"#,
            r#"{"dir": "server", "bytes": 1, "frame": {"setupComplete": {}}}"#,
            r#"{"dir": "server", "bytes": 1, "frame": {"setupComplete": {}}}"#,
            r#"{"dir": "server", "bytes": 1, "frame": {"goAway": {"timeLeft": "later"}}}"#,
        ]
        .join("\n");
        let failures = check_conformance(&text, origin()).failures;
        let expected = [
            "line 2: server frame before any setup",
            "line 4: unknown fields realtime_input.txt",
            "line 4: re-encoding differs",
            "line 6: protocol violation by the server: setupComplete arrived twice",
            "line 7: server frame does not decode",
            "line 7: malformed server message",
        ];
        assert_eq!(failures.len(), expected.len(), "{failures:#?}");
        for (f, e) in failures.iter().zip(expected) {
            assert!(f.starts_with(e), "{f} should start with {e}");
        }
    }

    #[test]
    fn equivalence_is_lenient_only_where_the_wire_is() {
        let e = |a: &str, b: &str| {
            equivalent(
                &serde_json::from_str(a).unwrap(),
                &serde_json::from_str(b).unwrap(),
            )
        };
        assert!(e(
            r#"{"mime_type": "x", "topK": 40.0, "data": "-__-AA"}"#,
            r#"{"mimeType": "x", "topK": 40, "data": "+//+AA=="}"#
        ));
        assert!(e(
            r#"{"triggerTokens": 25600, "timeLeft": "0.2s"}"#,
            r#"{"triggerTokens": "25600", "timeLeft": "0.200s"}"#
        ));
        assert!(e(
            r#"{"thinkingLevel": "low"}"#,
            r#"{"thinkingLevel": "LOW"}"#
        ));
        assert!(!e(r#"{"a": 1}"#, r#"{"a": 2}"#));
        assert!(!e(r#"{"a": 1}"#, r#"{"a": 1, "b": 1}"#));
        assert!(!e(r#"{"text": "hi"}"#, r#"{"text": "ho"}"#));
        assert!(!e(r#"[1, 2]"#, r#"[2, 1]"#));
    }

    #[test]
    fn send_expectations_are_checked() {
        let fixture = r#"{"header": {"setup": {"model": "models/gemini-3.8-live"}}}
{"t_ms": 0, "send": {"setup": {"model": "models/other"}}}"#;
        assert!(matches!(
            replay(fixture, origin()),
            Err(ReplayError::Mismatch { line: 2, .. })
        ));
        let bad = r#"{"header": {"setup": {"model": "m"}}}
{"t_ms": 0, "tick": true, "recv": {}}"#;
        assert!(matches!(
            replay(bad, origin()),
            Err(ReplayError::Format { line: 2, .. })
        ));
    }

    #[test]
    fn recordings_replay_their_client_frames_as_commands() {
        let recording = r#"{"header": {"source": "gemlive-transport/0.1.0", "model": "models/gemini-3.8-live", "backend": "mldev"}}
{"t_ms": 0, "send": {"setup": {"model": "models/gemini-3.8-live"}}}
{"t_ms": 40, "recv": {"setupComplete": {}}}
{"t_ms": 50, "send": {"realtimeInput": {"text": "hi"}}}
{"t_ms": 60, "send": {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAABAA=="}}}}
{"t_ms": 90, "close": {"code": 1000, "reason": ""}}"#;
        let trace = replay(recording, origin()).unwrap();
        assert_eq!(
            trace[0],
            r#"     0 > {"setup":{"model":"models/gemini-3.8-live"}}"#
        );
        assert_eq!(trace[2], r#"    50 > {"realtimeInput":{"text":"hi"}}"#);
        assert!(trace[3].contains("<4 bytes crc32="), "{}", trace[3]);
        assert!(trace[4].contains("Closed 1000"), "{}", trace[4]);
    }
}
