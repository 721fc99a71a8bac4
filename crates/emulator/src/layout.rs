//! How Google lays out a session's messages, per model family and backend, as the real sessions
//! of the conformance corpus show it (and the reference where the corpus is silent).

use protocol::models::{Family, ModelProfile};

/// Where output transcripts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transcripts {
    /// In the frame of the audio chunk where their words start (3.x on the Gemini API).
    WithAudio,
    /// In frames of their own, ahead of the audio they transcribe (2.x, Vertex).
    Ahead,
}

/// The layout of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) transcripts: Transcripts,
    /// 2.5 native audio: the output transcript ends with `{"finished": true}`, before the last
    /// audio chunk.
    pub(crate) transcript_finished: bool,
    /// Vertex 2.0: an empty `outputTranscription: {}` opens each turn's transcript.
    pub(crate) transcript_opens_empty: bool,
    /// Vertex: `inputTranscription` carries `finished: true`.
    pub(crate) input_transcript_finished: bool,
    /// 3.1 on the Gemini API: input and output transcription without being configured.
    pub(crate) always_transcribe: bool,
    /// 3.1 on the Gemini API: resumable `sessionResumptionUpdate`s without `sessionResumption`
    /// in the setup, when a model turn starts and after it ends.
    pub(crate) unasked_resumption: bool,
    /// 3.1 on the Gemini API: `{"serverContent": {}}` opens every model turn.
    pub(crate) empty_content_opens_turn: bool,
    /// 3.1 on the Gemini API, a turn of speech: a resumption point when the speech starts,
    /// `{"serverContent": {}}` and another when it ends (before the input transcript), and one
    /// after the reply's `generationComplete` (every spoken turn recorded; no typed one).
    pub(crate) speech_resumption: bool,
    /// Half-cascade on the Gemini API: the call as Python `executableCode` before a `toolCall`.
    pub(crate) code_before_tool_call: bool,
    /// Vertex: a `toolCall` completes the model turn; the `toolResponse` starts a new one.
    pub(crate) tool_call_ends_turn: bool,
    /// Vertex: a `toolResponse` that matches no pending call is answered like a user turn (on
    /// the Gemini API it is ignored).
    pub(crate) answer_unmatched_tool_response: bool,
    /// 2.5 native audio: input while the last reply's audio would still be playing gets an
    /// `interrupted` first (the model's turn completes before its audio has played).
    pub(crate) interrupt_after_turn: bool,
    /// Search grounding in frames of its own after the answer, and `billedToolCalls` in the
    /// usage (Gemini API); otherwise a summary with `turnComplete` (Vertex).
    pub(crate) grounding_frames: bool,
    /// Whether AUDIO sessions get audio ([`ModelProfile::audio_output`]).
    pub(crate) audio: bool,
}

impl Layout {
    pub(crate) fn new(profile: &ModelProfile, vertex: bool) -> Self {
        let live31 = profile.family == Family::Live31 && !vertex;
        let gen3 = matches!(profile.family, Family::Live31 | Family::Live38);
        let native25 = profile.family == Family::NativeAudio25;
        Self {
            transcripts: if gen3 && !vertex {
                Transcripts::WithAudio
            } else {
                Transcripts::Ahead
            },
            transcript_finished: native25,
            transcript_opens_empty: vertex && profile.family == Family::HalfCascade,
            input_transcript_finished: vertex,
            always_transcribe: live31,
            unasked_resumption: live31,
            empty_content_opens_turn: live31,
            speech_resumption: live31,
            code_before_tool_call: !vertex && profile.family == Family::HalfCascade,
            tool_call_ends_turn: vertex,
            answer_unmatched_tool_response: vertex,
            interrupt_after_turn: native25,
            grounding_frames: !vertex,
            audio: profile.audio_output,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Backend;

    fn layout(model: &str, backend: Backend) -> Layout {
        let p = protocol::models::lookup(model, backend).unwrap();
        Layout::new(&p, backend == Backend::Vertex)
    }

    #[test]
    fn each_family_and_backend_as_recorded() {
        let l31 = layout("gemini-3.1-flash-live-preview", Backend::GeminiApi);
        assert_eq!(l31.transcripts, Transcripts::WithAudio);
        assert!(l31.unasked_resumption && l31.always_transcribe && l31.empty_content_opens_turn);
        assert!(l31.speech_resumption);
        let v25 = layout("gemini-live-2.5-flash-native-audio", Backend::Vertex);
        assert_eq!(v25.transcripts, Transcripts::Ahead);
        assert!(v25.transcript_finished && v25.interrupt_after_turn && v25.tool_call_ends_turn);
        assert!(!v25.unasked_resumption && !v25.speech_resumption && !v25.grounding_frames);
        let v20 = layout("gemini-2.0-flash-live-preview-04-09", Backend::Vertex);
        assert!(v20.transcript_opens_empty && !v20.transcript_finished);
        let half = layout("gemini-live-2.5-flash-preview", Backend::GeminiApi);
        assert!(half.code_before_tool_call && !half.audio && !half.answer_unmatched_tool_response);
        let l38 = layout("gemini-3.8-live", Backend::GeminiApi);
        assert!(!l38.unasked_resumption && !l38.always_transcribe && l38.audio);
    }
}
