//! Client frames after the setup, decoded strictly into the engine's inputs.

use protocol::wire::{ClientMessage, RealtimeInput, decode_base64};
use serde_json::Value;

use crate::close::Close;
use crate::engine::{FnResponse, Input};
use crate::responder::{Role as TurnRole, Turn, speech_placeholder};
use crate::setup::{content_text, function_decls};

/// Decodes a client frame strictly and returns its canonical JSON (camelCase, standard base64,
/// int64 as strings). Any unknown field closes with 1007 and Google's wording.
pub(crate) fn canonical(frame: &[u8]) -> Result<Value, Close> {
    to_value(&decode_strict(frame)?)
}

/// Decodes a client frame strictly: any unknown field closes with 1007 and Google's wording.
pub(crate) fn decode_strict(frame: &[u8]) -> Result<ClientMessage, Close> {
    let decoded = protocol::decode_client(frame).map_err(|e| {
        Close::new(
            1007,
            format!("Invalid JSON payload received. {}", e.message()),
        )
    })?;
    if let Some(field) = decoded.unknown.first() {
        return Err(Close::new(1007, field.google_reason()));
    }
    Ok(decoded.message)
}

/// The canonical JSON of a decoded client message.
fn to_value(message: &ClientMessage) -> Result<Value, Close> {
    serde_json::from_str(&message.to_json()).map_err(|_| Close::internal())
}

/// `audio/pcm;rate=16000` -> 16000 (plain `audio/pcm` is 16 kHz, as Google treats it).
fn pcm_rate(mime: &str) -> u32 {
    protocol::pcm_rate(mime).unwrap_or(protocol::INPUT_SAMPLE_RATE)
}

fn pcm16(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn blob_bytes(blob: &Value) -> Vec<u8> {
    blob.get("data")
        .and_then(Value::as_str)
        .and_then(|d| decode_base64(d).ok())
        .unwrap_or_default()
}

/// The engine inputs of a client message after the setup; `refuse_media_chunks` (strict models)
/// closes on the deprecated `mediaChunks`.
pub(crate) fn inputs(
    message: &ClientMessage,
    refuse_media_chunks: bool,
) -> Result<Vec<Input>, Close> {
    if let ClientMessage::RealtimeInput(input) = message {
        // The hot path of a realtime session (audio every 20 to 100 ms): straight from the typed
        // message, whose audio is already decoded, without the JSON round trip below.
        return realtime_inputs(input, refuse_media_chunks);
    }
    let v = to_value(message)?;
    let Some((key, body)) = v
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    else {
        return Err(Close::invalid_argument());
    };
    let input = match key.as_str() {
        "clientContent" => Input::ClientContent {
            turns: body
                .get("turns")
                .and_then(Value::as_array)
                .map(|t| t.iter().map(turn_of).collect())
                .unwrap_or_default(),
            turn_complete: body.get("turnComplete").and_then(Value::as_bool) == Some(true),
        },
        "toolResponse" => Input::ToolResponse(
            body.get("functionResponses")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(fn_response).collect())
                .unwrap_or_default(),
        ),
        "contextUpdate" => Input::ContextUpdate {
            system_instruction: body.get("systemInstruction").map(content_text),
            functions: body
                .get("tools")
                .map(|t| function_decls(t.get("tools").unwrap_or(&Value::Null), false)),
        },
        _ => return Err(Close::invalid_argument()),
    };
    Ok(vec![input])
}

fn fn_response(r: &Value) -> FnResponse {
    FnResponse {
        id: r.get("id").and_then(Value::as_str).map(str::to_owned),
        name: r.get("name").and_then(Value::as_str).map(str::to_owned),
        response: r.get("response").cloned().unwrap_or(Value::Null),
        scheduling: r
            .get("scheduling")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase),
        will_continue: r.get("willContinue").and_then(Value::as_bool) == Some(true),
    }
}

/// The engine inputs of one `realtimeInput` message, in the order the fields take effect.
fn realtime_inputs(body: &RealtimeInput, refuse_media_chunks: bool) -> Result<Vec<Input>, Close> {
    if refuse_media_chunks && body.media_chunks.is_some() {
        return Err(Close::invalid_argument());
    }
    let mut inputs = Vec::new();
    let chunk = body.media_chunks.as_ref().and_then(|c| c.first());
    for blob in [body.audio.as_ref(), chunk].into_iter().flatten() {
        let mime = if blob.mime_type.is_empty() {
            "audio/pcm"
        } else {
            blob.mime_type.as_str()
        };
        if mime.starts_with("audio/") {
            inputs.push(Input::Audio {
                pcm: pcm16(blob.data.as_bytes()),
                rate: pcm_rate(mime),
            });
        } else if mime.starts_with("image/") || mime.starts_with("video/") {
            inputs.push(Input::Video);
        }
    }
    if body.video.is_some() {
        inputs.push(Input::Video);
    }
    if body.activity_start.is_some() {
        inputs.push(Input::ActivityStart);
    }
    if let Some(t) = &body.text {
        inputs.push(Input::Text(t.clone()));
    }
    if body.activity_end.is_some() {
        inputs.push(Input::ActivityEnd);
    }
    if body.audio_stream_end == Some(true) {
        inputs.push(Input::AudioStreamEnd);
    }
    Ok(inputs)
}

fn turn_of(content: &Value) -> Turn {
    let role = match content.get("role").and_then(Value::as_str) {
        Some("model") => TurnRole::Model,
        _ => TurnRole::User,
    };
    let mut text = content_text(content);
    if let Some(parts) = content.get("parts").and_then(Value::as_array) {
        for p in parts {
            let Some(blob) = p.get("inlineData") else {
                continue;
            };
            let mime = blob
                .get("mimeType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let note = if mime.starts_with("audio/") {
                let secs = blob_bytes(blob).len() as f64 / 2.0 / f64::from(pcm_rate(mime));
                speech_placeholder(secs)
            } else {
                format!("[{mime}]")
            };
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&note);
        }
    }
    Turn { role, text }
}
