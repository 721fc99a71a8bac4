//! `Content`, `Part` and what parts carry: shared by setup, client content and server content.

use serde_json::Value;

use super::enums::{Language, Outcome, Scheduling};
use super::values::{Base64, ProtoDuration, opt_i32, wire_struct};

wire_struct! {
    /// A turn of conversation: a role and its parts.
    pub struct Content {
        /// `"user"` or `"model"`; Vertex sends `"model"` on model turns, the Developer API omits it.
        pub role: Option<String>,
        /// The turn's parts, in order.
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
        /// Text (in small deltas when the response modality is TEXT).
        pub text: Option<String>,
        /// Inline bytes: an audio chunk from the model, an image from the user.
        #[serde(alias = "inline_data")]
        pub inline_data: Option<Blob>,
        /// A file by URI.
        #[serde(alias = "file_data")]
        pub file_data: Option<FileData>,
        /// A function call (in history; Live calls arrive as a top-level `toolCall`).
        #[serde(alias = "function_call")]
        pub function_call: Option<FunctionCall>,
        /// A function's result (in history).
        #[serde(alias = "function_response")]
        pub function_response: Option<FunctionResponse>,
        /// Code the model generated (half-cascade models, search).
        #[serde(alias = "executable_code")]
        pub executable_code: Option<ExecutableCode>,
        /// The result of running `executable_code`.
        #[serde(alias = "code_execution_result")]
        pub code_execution_result: Option<CodeExecutionResult>,
        /// Marks a thought summary (`includeThoughts`).
        pub thought: Option<bool>,
        /// An opaque signature of the model's thought, sent back with the history.
        #[serde(alias = "thought_signature")]
        pub thought_signature: Option<Base64>,
        /// Clip bounds and frame rate when the part is a video.
        #[serde(alias = "video_metadata")]
        pub video_metadata: Option<VideoMetadata>,
        /// The resolution this part's media is tokenized at.
        #[serde(alias = "media_resolution")]
        pub media_resolution: Option<PartMediaResolution>,
        /// Free-form metadata of the part (Developer API).
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
        /// What the bytes are: `audio/pcm;rate=16000`, `audio/pcm;rate=24000`, `image/jpeg`, ...
        #[serde(alias = "mime_type")]
        pub mime_type: String,
        /// The bytes (base64 on the wire, decoded once).
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
        /// The file's MIME type.
        #[serde(alias = "mime_type")]
        pub mime_type: Option<String>,
        /// Where the file is (a Files API or `gs://` URI).
        #[serde(alias = "file_uri")]
        pub file_uri: String,
        /// A name for display (Vertex only).
        #[serde(alias = "display_name")]
        pub display_name: Option<String>,
    }
}

wire_struct! {
    /// Per-part media resolution.
    pub struct PartMediaResolution {
        /// `MEDIA_RESOLUTION_LOW`, `..._MEDIUM` or `..._HIGH`.
        pub level: Option<String>,
    }
}

wire_struct! {
    /// Clip bounds and frame rate of a video part.
    pub struct VideoMetadata {
        /// Where the clip starts.
        #[serde(alias = "start_offset")]
        pub start_offset: Option<ProtoDuration>,
        /// Where the clip ends.
        #[serde(alias = "end_offset")]
        pub end_offset: Option<ProtoDuration>,
        /// Frames per second to sample.
        pub fps: Option<f64>,
    }
}

wire_struct! {
    /// Code the model generated (half-cascade models, search).
    pub struct ExecutableCode {
        /// The code's language (`PYTHON`).
        pub language: Option<Language>,
        /// The code.
        pub code: String,
    }
}

wire_struct! {
    /// The result of running `ExecutableCode`.
    pub struct CodeExecutionResult {
        /// How the run ended (`OUTCOME_OK`, `OUTCOME_FAILED`, `OUTCOME_DEADLINE_EXCEEDED`).
        pub outcome: Option<Outcome>,
        /// Standard output, or the error.
        pub output: Option<String>,
    }
}

wire_struct! {
    /// A function the model asks the client to call (in `toolCall.functionCalls`).
    pub struct FunctionCall {
        /// `fc_<digits>` (3.1), `function-call-<digits>` (2.5), UUIDs (Vertex).
        pub id: Option<String>,
        /// The declared function's name.
        pub name: String,
        /// The arguments, a JSON object following the declared parameters.
        pub args: Option<Value>,
        /// Vertex: streamed arguments.
        #[serde(alias = "partial_args")]
        pub partial_args: Vec<PartialArg>,
        /// Vertex: more `partial_args` for this call follow.
        #[serde(alias = "will_continue")]
        pub will_continue: Option<bool>,
    }
}

wire_struct! {
    /// A streamed piece of a function call's arguments (Vertex).
    pub struct PartialArg {
        /// Which argument this piece belongs to (a JSON path such as `$.location`).
        #[serde(alias = "json_path")]
        pub json_path: Option<String>,
        /// A piece of a string value.
        #[serde(alias = "string_value")]
        pub string_value: Option<String>,
        /// A number value.
        #[serde(alias = "number_value")]
        pub number_value: Option<f64>,
        /// A boolean value.
        #[serde(alias = "bool_value")]
        pub bool_value: Option<bool>,
        /// A null value.
        #[serde(alias = "null_value")]
        pub null_value: Option<Value>,
        /// More pieces of this argument follow.
        #[serde(alias = "will_continue")]
        pub will_continue: Option<bool>,
    }
}

wire_struct! {
    /// The client's answer to a `FunctionCall`.
    pub struct FunctionResponse {
        /// Echoes `FunctionCall.id`; required on the Developer API.
        pub id: Option<String>,
        /// The function's name, as called.
        pub name: Option<String>,
        /// A JSON object, by convention `{"output": ...}`, `{"result": ...}` or `{"error": ...}`.
        pub response: Option<Value>,
        /// A multimodal result (images, files), besides `response`.
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
        /// Inline bytes.
        #[serde(alias = "inline_data")]
        pub inline_data: Option<Blob>,
        /// A file by URI.
        #[serde(alias = "file_data")]
        pub file_data: Option<FileData>,
    }
}

wire_struct! {
    /// A span of a response that grounding supports.
    pub struct Segment {
        /// The part of the response the segment is in.
        #[serde(alias = "part_index", deserialize_with = "opt_i32")]
        pub part_index: Option<i32>,
        /// Start of the segment, in bytes into the part's text.
        #[serde(alias = "start_index", deserialize_with = "opt_i32")]
        pub start_index: Option<i32>,
        /// End of the segment (exclusive), in bytes into the part's text.
        #[serde(alias = "end_index", deserialize_with = "opt_i32")]
        pub end_index: Option<i32>,
        /// The segment's text.
        pub text: Option<String>,
    }
}
