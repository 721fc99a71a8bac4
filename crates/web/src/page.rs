//! The relay's protocol with the page, over the WebSocket at `/relay`.
//!
//! Binary frames carry audio, as raw PCM16 little-endian mono: 16 kHz from the page (20-40 ms
//! chunks), 24 kHz to it. Text frames carry one JSON object each, tagged by `type`:
//!
//! * page → server: `start` (first, once: settings and an optional sealed `resume` box), `text`,
//!   `activityStart`, `activityEnd`, `audioStreamEnd`, `video` (base64 JPEG or PNG),
//!   `toolResponse`, `end`;
//! * server → page: `ready`, `inputTranscript`, `outputTranscript`, `text`, `interrupted`,
//!   `generationComplete`, `turnComplete`, `toolCall` (calls the page answers),
//!   `toolCallCancellation`, `toolStarted` / `toolResult` / `toolFailed` / `toolCancelled` (calls
//!   the server's tools answer), `voiceActivity`, `goAway`, `reconnecting` (the Live connection
//!   broke or moves: why, which attempt, when), `turnCut` (a turn the break cut short: the user
//!   turns sent again and those to ask again), `moved` (on a new connection), `resume` (a new
//!   sealed box), `closed` (code, reason and what to do), `error`.

use protocol::wire::{FunctionCall, FunctionResponse};
use protocol::{Close, Event, PendingTurn};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tools::ToolEvent;

use crate::settings::Settings;

/// A JSON message from the page.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum FromPage {
    /// Opens the session.
    Start {
        /// What the page asks for.
        #[serde(default)]
        settings: Settings,
        /// A sealed handle from an earlier `resume` message.
        #[serde(default)]
        resume: Option<String>,
    },
    /// Typed text.
    Text {
        /// The text.
        text: String,
    },
    /// Push-to-talk pressed.
    ActivityStart,
    /// Push-to-talk released.
    ActivityEnd,
    /// The microphone stopped.
    AudioStreamEnd,
    /// A camera or screen frame.
    #[serde(rename_all = "camelCase")]
    Video {
        /// `image/jpeg` or `image/png`.
        mime_type: String,
        /// Base64.
        data: String,
    },
    /// Answers to a `toolCall`.
    ToolResponse {
        /// The answers, as the wire writes them.
        responses: Vec<FunctionResponse>,
    },
    /// The person ended the conversation.
    End,
}

/// A JSON message to the page.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToPage<'a> {
    /// The session is open.
    Ready {
        /// The model, as the endpoint names it.
        model: &'a str,
        /// It resumed the page's earlier conversation.
        resumed: bool,
    },
    /// The user's speech, transcribed.
    #[serde(rename_all = "camelCase")]
    InputTranscript {
        /// A fragment.
        text: &'a str,
        /// The server marked it final.
        finished: bool,
    },
    /// The model's speech, transcribed.
    OutputTranscript {
        /// A fragment.
        text: &'a str,
    },
    /// Model text (or a thought summary).
    Text {
        /// A fragment.
        text: &'a str,
        /// A thought summary, not part of the answer.
        thought: bool,
    },
    /// Barge-in: flush playback now.
    Interrupted,
    /// The model has said everything (playback may go on).
    GenerationComplete,
    /// The model's turn is over.
    TurnComplete,
    /// Functions the model wants run that the page answers.
    ToolCall {
        /// The calls.
        calls: Vec<&'a FunctionCall>,
    },
    /// Calls cancelled by an interruption.
    ToolCallCancellation {
        /// Their ids.
        ids: &'a [String],
    },
    /// The server's voice detection.
    VoiceActivity {
        /// Speech started (or ended).
        start: bool,
    },
    /// One of the server's tools started on a call.
    ToolStarted {
        /// The call's id.
        id: Option<&'a str>,
        /// The function.
        name: &'a str,
        /// Its arguments.
        args: &'a Value,
    },
    /// A server tool's result, sent to the model.
    #[serde(rename_all = "camelCase")]
    ToolResult {
        /// The call's id.
        id: Option<&'a str>,
        /// The function.
        name: &'a str,
        /// What the model was sent.
        response: &'a Value,
        /// A partial result: more follow.
        will_continue: bool,
    },
    /// A server tool failed (the model was told why).
    ToolFailed {
        /// The call's id.
        id: Option<&'a str>,
        /// The function.
        name: &'a str,
        /// What went wrong.
        error: &'a str,
    },
    /// A server tool's call was cancelled and will not be answered.
    ToolCancelled {
        /// The call's id.
        id: Option<&'a str>,
        /// The function.
        name: &'a str,
    },
    /// The Live connection ended and the session resumes on a new one after `delay_ms`.
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        /// 1 for the first attempt after a connection ended.
        attempt: u32,
        /// Milliseconds until the attempt.
        delay_ms: u128,
        /// The server had announced the end (goAway): a planned move, not a failure.
        planned: bool,
        /// Why the connection ended.
        cause: Explained<'a>,
    },
    /// A break cut the model's turn short.
    TurnCut {
        /// Why.
        cause: Explained<'a>,
        /// The user turns that were not answered: typed ones, then speech (`speechMs`).
        turns: Vec<CutTurn<'a>>,
    },
    /// The session moved to a new Live connection (after a goAway or a drop) and goes on.
    Moved,
    /// The connection will move soon (the relay resumes on its own).
    #[serde(rename_all = "camelCase")]
    GoAway {
        /// Milliseconds left.
        time_left_ms: u128,
    },
    /// A new sealed resumption box: keep the latest for a reload.
    Resume {
        /// The box.
        handle: &'a str,
    },
    /// The session is over.
    Closed(Explained<'a>),
    /// Something the relay refused or could not do.
    Error {
        /// In words.
        message: &'a str,
    },
}

/// A close, in words for the person.
#[derive(Debug, Serialize)]
pub struct Explained<'a> {
    /// The WebSocket close code.
    pub code: u16,
    /// The server's reason.
    pub reason: &'a str,
    /// The protocol crate's kind (`Debug` spelling, e.g. `ModelNotFound`).
    pub kind: String,
    /// Who has to act.
    pub fault: String,
    /// Whether retrying can work.
    pub retriable: bool,
    /// What to do.
    pub hint: &'a str,
}

/// A user turn a break cut short.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CutTurn<'a> {
    /// What the user typed (empty for speech).
    pub text: &'a str,
    /// Sent again on the new connection (its answer follows); otherwise the user asks again.
    pub resent: bool,
    /// Speech: the milliseconds of audio cut (sent again when `resent`); absent for text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speech_ms: Option<u128>,
}

impl<'a> From<&'a PendingTurn> for CutTurn<'a> {
    fn from(turn: &'a PendingTurn) -> Self {
        Self {
            text: &turn.text,
            resent: turn.resent,
            speech_ms: turn.speech.map(|s| s.audio.as_millis()),
        }
    }
}

impl<'a> From<&'a Close> for Explained<'a> {
    fn from(close: &'a Close) -> Self {
        Self {
            code: close.code,
            reason: &close.reason,
            kind: format!("{:?}", close.kind),
            fault: format!("{:?}", close.fault),
            retriable: close.retriable,
            hint: close.hint,
        }
    }
}

impl ToPage<'_> {
    /// The JSON text.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the page is told about an event; `None` for events it has no use for (audio goes as a
/// binary frame, handles are sealed first, tool calls and reconnections need the relay's state).
pub(crate) fn describe(event: &Event) -> Option<ToPage<'_>> {
    Some(match event {
        Event::InputTranscript {
            text,
            finished,
            interim: _,
        } => ToPage::InputTranscript {
            text,
            finished: *finished,
        },
        Event::OutputTranscript { text, .. } => ToPage::OutputTranscript { text },
        Event::Text { text, thought } => ToPage::Text {
            text,
            thought: *thought,
        },
        // `connect` consumed the first one: any other is a resumed connection.
        Event::SetupComplete { .. } => ToPage::Moved,
        Event::Interrupted => ToPage::Interrupted,
        Event::GenerationComplete => ToPage::GenerationComplete,
        Event::TurnComplete { .. } => ToPage::TurnComplete,
        Event::ToolCallCancellation { ids } => ToPage::ToolCallCancellation { ids },
        Event::VoiceActivity { kind, .. } => ToPage::VoiceActivity {
            start: matches!(kind, protocol::wire::VoiceActivityType::ActivityStart),
        },
        Event::GoAway { time_left, .. } => ToPage::GoAway {
            time_left_ms: time_left.as_millis(),
        },
        Event::TurnCut { cause, turns } => ToPage::TurnCut {
            cause: cause.into(),
            turns: turns.iter().map(CutTurn::from).collect(),
        },
        Event::Closed(close) => ToPage::Closed(close.into()),
        _ => return None,
    })
}

/// What the page is told about one of the server's tools at work.
pub(crate) fn describe_tool(event: &ToolEvent) -> Option<ToPage<'_>> {
    Some(match event {
        ToolEvent::Started { id, name, args } => ToPage::ToolStarted {
            id: id.as_deref(),
            name,
            args,
        },
        ToolEvent::Responded {
            id,
            name,
            response,
            will_continue,
        } => ToPage::ToolResult {
            id: id.as_deref(),
            name,
            response,
            will_continue: *will_continue,
        },
        ToolEvent::Failed { id, name, error } => ToPage::ToolFailed {
            id: id.as_deref(),
            name,
            error,
        },
        ToolEvent::Cancelled { id, name } => ToPage::ToolCancelled {
            id: id.as_deref(),
            name,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_messages_parse_and_unknown_ones_are_refused() {
        let m: FromPage = serde_json::from_str(r#"{"type":"text","text":"hi"}"#).unwrap();
        assert!(matches!(m, FromPage::Text { text } if text == "hi"));
        let m: FromPage =
            serde_json::from_str(r#"{"type":"start","settings":{"model":"m","pushToTalk":true}}"#)
                .unwrap();
        assert!(matches!(m, FromPage::Start { settings, resume: None } if settings.push_to_talk));
        let m: FromPage = serde_json::from_str(
            r#"{"type":"toolResponse","responses":[{"id":"fc_1","name":"f","response":{"ok":1}}]}"#,
        )
        .unwrap();
        assert!(matches!(m, FromPage::ToolResponse { responses } if responses.len() == 1));
        let m: FromPage =
            serde_json::from_str(r#"{"type":"video","mimeType":"image/jpeg","data":"AA=="}"#)
                .unwrap();
        assert!(matches!(m, FromPage::Video { mime_type, .. } if mime_type == "image/jpeg"));
        assert!(serde_json::from_str::<FromPage>(r#"{"type":"setup","model":"m"}"#).is_err());
        assert!(serde_json::from_str::<FromPage>(r#"{"type":"text","text":"a","x":1}"#).is_err());
    }

    #[test]
    fn closes_are_explained() {
        let close = Close::from_wire(
            1008,
            "models/x is not found for API version v1beta, or is not supported for bidiGenerateContent.",
        );
        let json = ToPage::Closed((&close).into()).to_json();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["type"], "closed");
        assert_eq!(v["code"], 1008);
        assert_eq!(v["kind"], "ModelNotFound");
        assert!(v["hint"].as_str().unwrap().contains("Live model"));
    }
}
