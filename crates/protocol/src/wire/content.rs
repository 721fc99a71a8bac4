//! `Content`, `Part` and what parts carry: shared by setup, client content and server content.

use serde_json::Value;

use super::enums::{Language, Outcome, Scheduling};
use super::values::{Base64, ProtoDuration, opt_i32, wire_struct};

wire_struct! {
    /// A turn of conversation: a role and its parts.
    pub struct Content {
        /// `"user"` or `"model"`; Vertex sends `"model"` on model turns, the Developer API omits it.
        pub role: Option<String>,
        pub parts: Vec<Part>,
    }
}

impl Content {
    /// A user turn holding one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self {
            role: Some("user".into()),
            parts: vec![Part::text(text)],
        }
    }

    /// A turn with the given role holding one text part.
    pub fn text(role: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            role: Some(role.into()),
            parts: vec![Part::text(text)],
        }
    }
}

wire_struct! {
    /// One part of a `Content`: a oneof of data, with optional modifiers.
    pub struct Part {
        pub text: Option<String>,
        #[serde(alias = "inline_data")]
        pub inline_data: Option<Blob>,
        #[serde(alias = "file_data")]
        pub file_data: Option<FileData>,
        #[serde(alias = "function_call")]
        pub function_call: Option<FunctionCall>,
        #[serde(alias = "function_response")]
        pub function_response: Option<FunctionResponse>,
        #[serde(alias = "executable_code")]
        pub executable_code: Option<ExecutableCode>,
        #[serde(alias = "code_execution_result")]
        pub code_execution_result: Option<CodeExecutionResult>,
        /// Marks a thought summary (`includeThoughts`).
        pub thought: Option<bool>,
        #[serde(alias = "thought_signature")]
        pub thought_signature: Option<Base64>,
        #[serde(alias = "video_metadata")]
        pub video_metadata: Option<VideoMetadata>,
        #[serde(alias = "media_resolution")]
        pub media_resolution: Option<PartMediaResolution>,
        #[serde(alias = "part_metadata")]
        pub part_metadata: Option<Value>,
    }
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// An inline data part.
    pub fn inline(mime_type: impl Into<String>, data: impl Into<Base64>) -> Self {
        Self {
            inline_data: Some(Blob::new(mime_type, data)),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// Bytes with a MIME type: audio chunks, images.
    pub struct Blob {
        #[serde(alias = "mime_type")]
        pub mime_type: String,
        pub data: Base64,
        /// Vertex only.
        #[serde(alias = "display_name")]
        pub display_name: Option<String>,
    }
}

impl Blob {
    /// A blob of `data` with `mime_type`.
    pub fn new(mime_type: impl Into<String>, data: impl Into<Base64>) -> Self {
        Self {
            mime_type: mime_type.into(),
            data: data.into(),
            display_name: None,
        }
    }
}

wire_struct! {
    /// A reference to a file by URI.
    pub struct FileData {
        #[serde(alias = "mime_type")]
        pub mime_type: Option<String>,
        #[serde(alias = "file_uri")]
        pub file_uri: String,
        #[serde(alias = "display_name")]
        pub display_name: Option<String>,
    }
}

wire_struct! {
    /// Per-part media resolution.
    pub struct PartMediaResolution {
        pub level: Option<String>,
    }
}

wire_struct! {
    /// Clip bounds and frame rate of a video part.
    pub struct VideoMetadata {
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
        pub fps: Option<f64>,
    }
}

wire_struct! {
    /// Code the model generated (half-cascade models, search).
    pub struct ExecutableCode {
        pub language: Option<Language>,
        pub code: String,
    }
}

wire_struct! {
    /// The result of running `ExecutableCode`.
    pub struct CodeExecutionResult {
        pub outcome: Option<Outcome>,
        pub output: Option<String>,
    }
}

wire_struct! {
    /// A function the model asks the client to call (in `toolCall.functionCalls`).
    pub struct FunctionCall {
        /// `fc_<digits>` (3.1), `function-call-<digits>` (2.5), UUIDs (Vertex).
        pub id: Option<String>,
        pub name: String,
        pub args: Option<Value>,
        /// Vertex: streamed arguments.
        #[serde(alias = "partial_args")]
        pub partial_args: Vec<PartialArg>,
        #[serde(alias = "will_continue")]
        pub will_continue: Option<bool>,
    }
}

wire_struct! {
    /// A streamed piece of a function call's arguments (Vertex).
    pub struct PartialArg {
        #[serde(alias = "json_path")]
        pub json_path: Option<String>,
        #[serde(alias = "string_value")]
        pub string_value: Option<String>,
        #[serde(alias = "number_value")]
        pub number_value: Option<f64>,
        #[serde(alias = "bool_value")]
        pub bool_value: Option<bool>,
        #[serde(alias = "null_value")]
        pub null_value: Option<Value>,
        #[serde(alias = "will_continue")]
        pub will_continue: Option<bool>,
    }
}

wire_struct! {
    /// The client's answer to a `FunctionCall`.
    pub struct FunctionResponse {
        /// Echoes `FunctionCall.id`; required on the Developer API.
        pub id: Option<String>,
        pub name: Option<String>,
        /// A JSON object, by convention `{"output": ...}`, `{"result": ...}` or `{"error": ...}`.
        pub response: Option<Value>,
        pub parts: Vec<FunctionResponsePart>,
        /// NON_BLOCKING calls only.
        pub scheduling: Option<Scheduling>,
        /// Developer API, NON_BLOCKING only: more responses for this id follow.
        #[serde(alias = "will_continue")]
        pub will_continue: Option<bool>,
    }
}

wire_struct! {
    /// A multimodal piece of a function's result.
    pub struct FunctionResponsePart {
        #[serde(alias = "inline_data")]
        pub inline_data: Option<Blob>,
        #[serde(alias = "file_data")]
        pub file_data: Option<FileData>,
    }
}

wire_struct! {
    /// A span of a response that grounding supports.
    pub struct Segment {
        #[serde(alias = "part_index", deserialize_with = "opt_i32")]
        pub part_index: Option<i32>,
        #[serde(alias = "start_index", deserialize_with = "opt_i32")]
        pub start_index: Option<i32>,
        #[serde(alias = "end_index", deserialize_with = "opt_i32")]
        pub end_index: Option<i32>,
        pub text: Option<String>,
    }
}
