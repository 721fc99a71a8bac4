//! Client → server messages.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::content::{Blob, Content, FunctionResponse};
use super::setup::{Setup, Tool};
use super::values::{Empty, wire_struct};

/// One client message. On the wire each is an object with exactly one key.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// `setup`: first message only.
    Setup(Box<Setup>),
    /// `clientContent`: ordered conversation turns.
    ClientContent(ClientContent),
    /// `realtimeInput`: streaming audio, video, text and activity signals.
    RealtimeInput(RealtimeInput),
    /// `toolResponse`: answers to `toolCall`.
    ToolResponse(ToolResponse),
    /// `contextUpdate`: mid-session system instruction and tools (2026).
    ContextUpdate(ContextUpdate),
}

impl ClientMessage {
    /// The camelCase top-level key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Setup(_) => "setup",
            Self::ClientContent(_) => "clientContent",
            Self::RealtimeInput(_) => "realtimeInput",
            Self::ToolResponse(_) => "toolResponse",
            Self::ContextUpdate(_) => "contextUpdate",
        }
    }

    /// Compact camelCase JSON with unset fields omitted and standard base64, as one text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("wire types serialize: {e}"))
    }
}

wire_struct! {
    /// The JSON shape of a client message: at most one of these is set.
    struct ClientMessageRepr {
        setup: Option<Setup>,
        #[serde(alias = "client_content")]
        client_content: Option<ClientContent>,
        #[serde(alias = "realtime_input")]
        realtime_input: Option<RealtimeInput>,
        #[serde(alias = "tool_response")]
        tool_response: Option<ToolResponse>,
        #[serde(alias = "context_update")]
        context_update: Option<ContextUpdate>,
    }
}

impl Serialize for ClientMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Self::Setup(m) => map.serialize_entry("setup", m)?,
            Self::ClientContent(m) => map.serialize_entry("clientContent", m)?,
            Self::RealtimeInput(m) => map.serialize_entry("realtimeInput", m)?,
            Self::ToolResponse(m) => map.serialize_entry("toolResponse", m)?,
            Self::ContextUpdate(m) => map.serialize_entry("contextUpdate", m)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ClientMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = ClientMessageRepr::deserialize(d)?;
        let mut found = Vec::with_capacity(1);
        if let Some(m) = repr.setup {
            found.push(Self::Setup(Box::new(m)));
        }
        if let Some(m) = repr.client_content {
            found.push(Self::ClientContent(m));
        }
        if let Some(m) = repr.realtime_input {
            found.push(Self::RealtimeInput(m));
        }
        if let Some(m) = repr.tool_response {
            found.push(Self::ToolResponse(m));
        }
        if let Some(m) = repr.context_update {
            found.push(Self::ContextUpdate(m));
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(D::Error::custom(
                "a client message needs one of setup, clientContent, realtimeInput, toolResponse, contextUpdate",
            )),
            _ => Err(D::Error::custom(format_args!(
                "a client message carries exactly one key, found {}",
                found
                    .iter()
                    .map(Self::key)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }
}

wire_struct! {
    /// `clientContent`: turns appended to the history, in order; interrupts generation.
    pub struct ClientContent {
        /// Turns appended to the history in order, each with a role (`"user"` or `"model"`).
        pub turns: Option<Vec<Content>>,
        /// `true`: generate now. The SDKs default it to `true`.
        #[serde(alias = "turn_complete")]
        pub turn_complete: Option<bool>,
    }
}

wire_struct! {
    /// `realtimeInput`: exactly one of these per message.
    pub struct RealtimeInput {
        /// A chunk of the audio stream: `audio/pcm;rate=16000`, mono PCM16 little-endian.
        pub audio: Option<Blob>,
        /// One video frame, `image/jpeg` or `image/png`, at most one per second.
        pub video: Option<Blob>,
        /// Realtime text; on 3.x models the way to send user text in the middle of a session.
        pub text: Option<String>,
        /// The user started speaking (only with automatic activity detection disabled).
        #[serde(alias = "activity_start")]
        pub activity_start: Option<Empty>,
        /// The user stopped speaking (only with automatic activity detection disabled).
        #[serde(alias = "activity_end")]
        pub activity_end: Option<Empty>,
        /// `true`: the microphone paused for a second or more; flushes cached audio (automatic VAD only).
        #[serde(alias = "audio_stream_end")]
        pub audio_stream_end: Option<bool>,
        /// Deprecated: only the first element is used; 3.1 rejects it.
        #[serde(alias = "media_chunks")]
        pub media_chunks: Option<Vec<Blob>>,
    }
}

wire_struct! {
    /// `toolResponse`.
    pub struct ToolResponse {
        /// One response per answered call, each echoing its call's id.
        #[serde(alias = "function_responses")]
        pub function_responses: Vec<FunctionResponse>,
    }
}

wire_struct! {
    /// `contextUpdate`: only the fields present are applied.
    pub struct ContextUpdate {
        /// The new system instruction (text parts only).
        #[serde(alias = "system_instruction")]
        pub system_instruction: Option<Content>,
        /// Wrapped so that an empty list means "clear all tools".
        pub tools: Option<ToolsUpdate>,
    }
}

/// `contextUpdate.tools`. Always written, even empty: an empty list clears the tools.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolsUpdate {
    /// The new tool list.
    pub tools: Vec<Tool>,
}
