//! Seed corpora, generated from the fixtures and the conformance corpus (never copied into the
//! repository): the real frames, setups, commands and closes of recorded sessions, in each target's
//! input format. `cargo xtask fuzz` writes them out before every run.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use protocol::close::reasons;
use protocol::replay::Command as Cmd;
use serde_json::Value;

use crate::session::{CONFIGS, Command, RAW_SETUP};
use crate::{SEPARATOR, emulator};

/// One seed input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seed {
    /// The target it is for.
    pub target: &'static str,
    /// The input.
    pub data: Vec<u8>,
}

/// One recorded session, in the terms the seeds need.
#[derive(Debug, Default)]
struct Recording {
    vertex: bool,
    setup: Option<Value>,
    /// Server frames (bytes as sent) and client commands, in order.
    steps: Vec<Vec<u8>>,
    client_frames: Vec<Vec<u8>>,
    server_frames: Vec<Vec<u8>>,
    closes: Vec<(u16, String)>,
}

/// Every target's seeds: from the fixture files in `fixtures`, from the recorded sessions
/// `sessions` (`*.jsonl` files of the conformance corpus), and a few built here (audio files,
/// Google's close reasons). Lines that do not parse are skipped.
///
/// # Errors
///
/// When a directory or a file cannot be read.
pub fn generate(fixtures: &Path, sessions: &[PathBuf]) -> std::io::Result<Vec<Seed>> {
    let mut recordings = Vec::new();
    for path in jsonl_files(fixtures)? {
        recordings.push(fixture(&std::fs::read_to_string(path)?));
    }
    for path in sessions {
        recordings.push(conformance(&std::fs::read_to_string(path)?));
    }
    let mut seeds = BTreeSet::new();
    let mut add = |target: &'static str, data: Vec<u8>| {
        seeds.insert(Seed { target, data });
    };
    for r in &recordings {
        for frame in &r.server_frames {
            add("decode_server", frame.clone());
        }
        for frame in &r.client_frames {
            add("decode_client", frame.clone());
        }
        for (code, reason) in &r.closes {
            add("close", close(*code, reason));
        }
        let config = if r.vertex { 3 } else { 0 };
        add("session", joined(&[config], &r.steps));
        add("session", joined(&[config | RAW_SETUP], &r.server_frames));
        if let Some(setup) = &r.setup {
            let setup_frame = serde_json::json!({ "setup": setup })
                .to_string()
                .into_bytes();
            let mut frames = vec![setup_frame];
            frames.extend(r.client_frames.iter().skip(1).cloned());
            let flags = if r.vertex { emulator::VERTEX } else { 0 };
            add("emulator", joined(&[flags], &frames));
            add("emulator", joined(&[flags | emulator::PACED], &frames));
            add("setup_json", setup.to_string().into_bytes());
            if let Some(tools) = setup.get("tools") {
                add("setup_json", tools.to_string().into_bytes());
            }
            // As a LiveConfig dict: everything but the model.
            let mut config = setup.clone();
            if let Some(config) = config.as_object_mut() {
                config.remove("model");
            }
            add("setup_json", config.to_string().into_bytes());
        }
    }
    // Python-style config dicts, as the Python SDK takes them.
    for config in [
        r#"{"response_modalities": ["AUDIO"], "output_audio_transcription": {}, "speech_config": "Puck"}"#,
        r#"{"responseModalities": ["TEXT"], "system_instruction": "Be brief.", "temperature": 0.2}"#,
        r#"{"generation_config": {"max_output_tokens": 64}, "session_resumption": {"handle": "h"},
            "context_window_compression": {"sliding_window": {}}, "tools": [{"google_search": {}}]}"#,
    ] {
        add("setup_json", config.as_bytes().to_vec());
    }
    for (i, _) in CONFIGS.iter().enumerate() {
        let config = u8::try_from(i).unwrap_or(0);
        add("session", vec![config]);
    }
    for (code, reason) in [
        (1007, reasons::INVALID_ARGUMENT),
        (1007, reasons::API_KEY_INVALID),
        (1007, reasons::MALFORMED_AUTH_TOKEN),
        (1007, reasons::LOCATION_NOT_SUPPORTED),
        (1008, reasons::UNREGISTERED_CALLER),
        (1008, reasons::ENTITY_NOT_FOUND),
        (1008, reasons::NOT_IMPLEMENTED),
        (1011, reasons::INTERNAL),
        (1011, reasons::DEADLINE_EXPIRED),
        (1011, reasons::UNAVAILABLE),
        (1011, reasons::QUOTA_EXCEEDED),
        (1011, reasons::RESOURCE_EXHAUSTED),
        (1008, &reasons::model_not_found("models/x", "v1beta")),
        (1000, ""),
        (1001, ""),
        (1006, ""),
    ] {
        add("close", close(code, reason));
    }
    for (rate, channels, bits, float) in [
        (16_000, 1, 16, false),
        (44_100, 2, 16, false),
        (48_000, 1, 32, true),
        (22_050, 2, 24, false),
        (8_000, 1, 8, false),
    ] {
        for selector in [0u8, 1, 5] {
            let mut data = vec![selector];
            data.extend(wav(rate, channels, bits, float));
            add("wav", data);
        }
    }
    for rate in [16_000u32, 24_000, 44_100, 8_000] {
        for selector in [0u8, 2] {
            let mut data = rate.to_le_bytes().to_vec();
            data.push(selector);
            data.extend(tone(rate / 20).iter().flat_map(|s| s.to_le_bytes()));
            add("raw_pcm", data);
        }
    }
    Ok(seeds.into_iter().collect())
}

fn jsonl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Strings longer than this (audio, mostly) are cut: seeds stay small enough to mutate quickly,
/// and a cut base64 string of a multiple of 4 characters still decodes.
const MAX_STRING: usize = 256;

fn shorten(value: &mut Value) {
    match value {
        Value::String(s) if s.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
        Value::Array(items) => items.iter_mut().for_each(shorten),
        Value::Object(fields) => fields.values_mut().for_each(shorten),
        _ => {}
    }
}

fn joined(prefix: &[u8], pieces: &[Vec<u8>]) -> Vec<u8> {
    let mut data = prefix.to_vec();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            data.push(SEPARATOR);
        }
        data.extend_from_slice(piece);
    }
    data
}

fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut data = code.to_le_bytes().to_vec();
    data.extend_from_slice(reason.as_bytes());
    data
}

fn command(command: Command, arg: impl AsRef<[u8]>) -> Vec<u8> {
    let mut piece = vec![command as u8];
    piece.extend_from_slice(arg.as_ref());
    piece
}

/// The lines of a recording that parse as JSON, their long strings cut.
fn json_lines(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .map(|mut v| {
            shorten(&mut v);
            v
        })
}

/// Whether a recording's header is for Vertex AI.
fn is_vertex(header: &Value) -> bool {
    header.get("backend").and_then(Value::as_str) == Some("vertex")
}

/// A fixture (`fixtures/*.jsonl`, see `protocol::replay`).
fn fixture(text: &str) -> Recording {
    let mut r = Recording::default();
    for v in json_lines(text) {
        if let Some(header) = v.get("header") {
            r.vertex = is_vertex(header);
            r.setup = header.get("setup").cloned();
        } else if let Some(frame) = v.get("send") {
            r.client_frames.push(frame.to_string().into_bytes());
        } else if let Some(frame) = v.get("recv") {
            // Google's frames are pretty-printed.
            let frame = serde_json::to_vec_pretty(frame).unwrap_or_default();
            r.server_frames.push(frame.clone());
            r.steps.push(frame);
        } else if let Some(raw) = v.get("recv_raw").and_then(Value::as_str) {
            r.server_frames.push(raw.as_bytes().to_vec());
            r.steps.push(raw.as_bytes().to_vec());
        } else if let Some(cmd) = v.get("cmd") {
            if let Some(piece) = serde_json::from_value(cmd.clone())
                .ok()
                .map(fixture_command)
            {
                r.steps.push(piece);
            }
        } else if let Some(close) = v.get("close") {
            let info = close.as_object().map(|c| {
                let code = c.get("code").and_then(Value::as_u64).unwrap_or(1000);
                let reason = c.get("reason").and_then(Value::as_str).unwrap_or_default();
                (u16::try_from(code).unwrap_or(1000), reason.to_owned())
            });
            let arg = info
                .as_ref()
                .map_or_else(Vec::new, |(c, reason)| self::close(*c, reason));
            r.steps.push(command(Command::Close, arg));
            r.closes.extend(info);
        } else if v.get("tick").is_some() {
            r.steps.push(command(Command::Tick, [20]));
        }
    }
    r
}

fn fixture_command(cmd: Cmd) -> Vec<u8> {
    match cmd {
        Cmd::Text(t) => command(Command::Text, t),
        Cmd::UserTurn(t) => command(Command::UserTurn, t),
        Cmd::ClientContent(c) => command(Command::ClientContent, json(&c)),
        Cmd::Audio { bytes, rate } => {
            let rate = u16::try_from(rate).unwrap_or(16_000).to_le_bytes();
            let mut arg = rate.to_vec();
            arg.extend((0..bytes.min(640)).map(|i| (i % 251) as u8));
            command(Command::Audio, arg)
        }
        Cmd::Video { bytes, .. } => command(Command::Video, vec![0; bytes.min(64) + 1]),
        Cmd::ActivityStart {} => command(Command::Activity, [0]),
        Cmd::ActivityEnd {} => command(Command::Activity, [1]),
        Cmd::AudioStreamEnd {} => command(Command::Activity, [2]),
        Cmd::ToolResponse(r) => command(Command::ToolResponse, json(&r)),
        Cmd::ContextUpdate(u) => command(Command::ContextUpdate, json(&u)),
        Cmd::Close {} => command(Command::ClientClose, []),
        Cmd::Reconnect {} => [
            command(Command::CutTurn, [1]),
            command(Command::Reconnect, []),
        ]
        .join(&SEPARATOR),
    }
}

fn json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A recorded session (`../shared/conformance/sessions/*.jsonl`).
fn conformance(text: &str) -> Recording {
    let mut r = Recording::default();
    for v in json_lines(text) {
        if let Some(header) = v.get("header") {
            r.vertex = is_vertex(header);
            continue;
        }
        let frame = &v["frame"];
        match v.get("dir").and_then(Value::as_str) {
            Some("server") => {
                let bytes = serde_json::to_vec_pretty(frame).unwrap_or_default();
                r.server_frames.push(bytes.clone());
                if frame.get("setupComplete").is_none() {
                    r.steps.push(bytes);
                }
            }
            Some("client") => {
                if r.setup.is_none() {
                    r.setup = frame.get("setup").cloned();
                }
                r.client_frames.push(frame.to_string().into_bytes());
                if let Some(piece) = client_command(frame) {
                    r.steps.push(piece);
                }
            }
            _ => {}
        }
    }
    r
}

/// The session command that sends (about) this client frame.
fn client_command(frame: &Value) -> Option<Vec<u8>> {
    if let Some(input) = frame.get("realtimeInput") {
        if let Some(text) = input.get("text").and_then(Value::as_str) {
            return Some(command(Command::Text, text));
        }
        if input.get("audio").is_some() {
            let mut arg = 16_000u16.to_le_bytes().to_vec();
            arg.extend([0; 64]);
            return Some(command(Command::Audio, arg));
        }
        if input.get("audioStreamEnd").is_some() {
            return Some(command(Command::Activity, [2]));
        }
        return None;
    }
    if let Some(content) = frame.get("clientContent") {
        return Some(command(Command::ClientContent, content.to_string()));
    }
    let responses = frame.get("toolResponse")?.get("functionResponses")?;
    Some(command(Command::ToolResponse, responses.to_string()))
}

/// 50 ms of a 440 Hz tone at `rate`.
fn tone(frames: u32) -> Vec<i16> {
    (0..frames)
        .map(|i| ((f64::from(i) * 0.06).sin() * 12_000.0) as i16)
        .collect()
}

/// A small WAV file of a tone.
fn wav(rate: u32, channels: u16, bits: u16, float: bool) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut out = Cursor::new(Vec::new());
    if let Ok(mut w) = hound::WavWriter::new(&mut out, spec) {
        for s in tone(rate / 20) {
            for _ in 0..channels {
                let _ = match (float, bits) {
                    (true, _) => w.write_sample(f32::from(s) / 32_768.0),
                    (false, 8) => w.write_sample((s >> 8) as i8),
                    (false, 16) => w.write_sample(s),
                    (false, _) => w.write_sample(i32::from(s) << (bits - 16)),
                };
            }
        }
        let _ = w.finalize();
    }
    out.into_inner()
}
