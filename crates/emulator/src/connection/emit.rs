//! Engine outputs as the server messages Google sends, with the backend's names (Vertex:
//! `role: "model"`, `audio/pcm`, `candidatesTokenCount`, `groundingMetadata` beside
//! `turnComplete`).

use protocol::wire::{
    BilledToolCall, Blob, Content, ExecutableCode, FunctionCall, GroundingMetadata, Language,
    Modality, ModalityTokenCount, Part, ProtoDuration, ServerContent, ServerMessage, ToolCall,
    ToolCallCancellation, Transcription, UsageMetadata, VadSignalType, VoiceActivity,
    VoiceActivityDetectionSignal, VoiceActivityType,
};

use crate::engine::{Out, Usage};

fn server_content(sc: ServerContent) -> ServerMessage {
    ServerMessage {
        server_content: Some(sc),
        ..ServerMessage::default()
    }
}

fn transcription(text: Option<String>, finished: bool) -> Transcription {
    Transcription {
        text,
        finished: finished.then_some(true),
        ..Transcription::default()
    }
}

/// The message for an output that is one; `None` for the others (resumption points, closes,
/// drops, faults), which the connection handles.
pub(super) fn message(out: Out, vertex: bool) -> Option<ServerMessage> {
    let model_turn = |part: Part| Content {
        role: vertex.then(|| "model".to_owned()),
        parts: vec![part],
    };
    let msg = match out {
        Out::Text(text) => server_content(ServerContent {
            model_turn: Some(model_turn(Part::text(text))),
            ..ServerContent::default()
        }),
        Out::Audio { pcm, transcript } => {
            let mime = if vertex {
                "audio/pcm"
            } else {
                "audio/pcm;rate=24000"
            };
            server_content(ServerContent {
                model_turn: Some(model_turn(Part {
                    inline_data: Some(Blob::new(mime, pcm)),
                    ..Part::default()
                })),
                output_transcription: transcript.map(|t| transcription(Some(t), false)),
                ..ServerContent::default()
            })
        }
        Out::OutputTranscript { text, finished } => server_content(ServerContent {
            output_transcription: Some(transcription(text, finished)),
            ..ServerContent::default()
        }),
        Out::InputTranscript { text, finished } => server_content(ServerContent {
            input_transcription: Some(transcription(Some(text), finished)),
            ..ServerContent::default()
        }),
        Out::EmptyContent => server_content(ServerContent::default()),
        Out::Code(code) => server_content(ServerContent {
            model_turn: Some(model_turn(Part {
                executable_code: Some(ExecutableCode {
                    language: Some(Language::Python),
                    code,
                }),
                ..Part::default()
            })),
            ..ServerContent::default()
        }),
        Out::Grounding(g) => server_content(ServerContent {
            grounding_metadata: Some(*g),
            ..ServerContent::default()
        }),
        Out::GenerationComplete => server_content(ServerContent {
            generation_complete: Some(true),
            ..ServerContent::default()
        }),
        Out::Interrupted => server_content(ServerContent {
            interrupted: Some(true),
            ..ServerContent::default()
        }),
        Out::TurnComplete { usage, grounding } => ServerMessage {
            usage_metadata: Some(usage_metadata(&usage, vertex)),
            ..server_content(ServerContent {
                turn_complete: Some(true),
                // Vertex sends a groundingMetadata alongside turnComplete, empty without search.
                grounding_metadata: grounding
                    .map(|g| *g)
                    .or_else(|| vertex.then(GroundingMetadata::default)),
                ..ServerContent::default()
            })
        },
        Out::ToolCall(calls) => ServerMessage {
            tool_call: Some(ToolCall {
                function_calls: calls
                    .into_iter()
                    .map(|c| FunctionCall {
                        id: Some(c.id),
                        name: c.name,
                        args: Some(c.args),
                        ..FunctionCall::default()
                    })
                    .collect(),
            }),
            ..ServerMessage::default()
        },
        Out::ToolCallCancellation(ids) => ServerMessage {
            tool_call_cancellation: Some(ToolCallCancellation { ids }),
            ..ServerMessage::default()
        },
        Out::VoiceActivity { start, offset } => ServerMessage {
            voice_activity: Some(VoiceActivity {
                r#type: Some(if start {
                    VoiceActivityType::ActivityStart
                } else {
                    VoiceActivityType::ActivityEnd
                }),
                audio_offset: Some(ProtoDuration(offset)),
            }),
            ..ServerMessage::default()
        },
        Out::VadSignal { start } => ServerMessage {
            voice_activity_detection_signal: Some(VoiceActivityDetectionSignal {
                vad_signal_type: Some(if start {
                    VadSignalType::StartOfSpeech
                } else {
                    VadSignalType::EndOfSpeech
                }),
            }),
            ..ServerMessage::default()
        },
        Out::Resumption { .. } | Out::Close(_) | Out::Drop | Out::Malformed | Out::SlowPongs(_) => {
            return None;
        }
    };
    Some(msg)
}

/// Usage as Google writes it: zero counts and empty lists left out (proto3 JSON).
fn usage_metadata(u: &Usage, vertex: bool) -> UsageMetadata {
    let count = |n: i64| i32::try_from(n).ok().filter(|&n| n > 0);
    let detail = |modality: Modality, n: i64| ModalityTokenCount {
        modality: Some(modality),
        token_count: count(n),
    };
    let prompt = u.prompt_text + u.prompt_audio + u.prompt_image;
    let prompt_details: Vec<ModalityTokenCount> = [
        (Modality::Text, u.prompt_text),
        (Modality::Audio, u.prompt_audio),
        (Modality::Image, u.prompt_image),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(m, n)| detail(m, n))
    .collect();
    let response_modality = if u.response_audio {
        Modality::Audio
    } else {
        Modality::Text
    };
    let response_details = vec![detail(response_modality, u.response)];
    let mut meta = UsageMetadata {
        prompt_token_count: count(prompt),
        total_token_count: count(prompt + u.response),
        prompt_tokens_details: (!prompt_details.is_empty()).then_some(prompt_details),
        billed_tool_calls: (u.searches > 0).then(|| {
            vec![BilledToolCall {
                tool: Some("GOOGLE_SEARCH_RETRIEVAL".to_owned()),
                search_query_count: count(u.searches),
            }]
        }),
        ..UsageMetadata::default()
    };
    if vertex {
        meta.candidates_token_count = count(u.response);
        meta.candidates_tokens_details = Some(response_details);
    } else {
        meta.response_token_count = count(u.response);
        meta.response_tokens_details = Some(response_details);
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_leaves_out_zeros_as_google_does() {
        let u = Usage {
            prompt_text: 7,
            response: 0,
            response_audio: true,
            ..Usage::default()
        };
        let json = serde_json::to_value(usage_metadata(&u, true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"promptTokenCount": 7, "totalTokenCount": 7,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 7}],
                "candidatesTokensDetails": [{"modality": "AUDIO"}]})
        );
        let searched = Usage {
            searches: 3,
            response: 5,
            ..Usage::default()
        };
        let json = serde_json::to_value(usage_metadata(&searched, false)).unwrap();
        assert_eq!(
            json["billedToolCalls"],
            serde_json::json!([{"tool": "GOOGLE_SEARCH_RETRIEVAL", "searchQueryCount": 3}])
        );
        assert!(json.get("promptTokenCount").is_none());
    }
}
