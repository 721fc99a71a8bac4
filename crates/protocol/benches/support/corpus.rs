//! A deterministic corpus of server frames shaped like Google's: pretty-printed JSON, audio
//! chunks of 40 to 400 ms of 24 kHz PCM16, with transcript, text, generation-complete and
//! turn-complete + usage frames between them.

use std::fmt::Write as _;

use gemlive_protocol::wire::{ServerMessage, encode_base64_into};
use gemlive_protocol::{Event, Output, Session, decode_server};

use crate::pcm::{Lcg, speech_like_pcm};

/// One server frame, and what a decoder must find in it.
pub(crate) struct Frame {
    /// The frame as it comes off the socket.
    pub(crate) bytes: Vec<u8>,
    /// PCM bytes the payload decodes to (0 for non-audio frames).
    pub(crate) pcm_len: usize,
}

/// The corpus: a few turns of a spoken answer.
pub(crate) struct Corpus {
    pub(crate) frames: Vec<Frame>,
}

impl Corpus {
    /// `turns` turns of 12 audio chunks each, with transcripts, a text part and usage.
    pub(crate) fn new(turns: usize) -> Self {
        let mut rng = Lcg(0x9e37_79b9_7f4a_7c15);
        let mut frames = Vec::new();
        let mut t = 0usize;
        for turn in 0..turns {
            frames.push(frame(&format!(
                r#"{{"serverContent":{{"inputTranscription":{{"text":"Tell me about turn {turn}, please."}}}}}}"#
            )));
            for chunk in 0..12 {
                let ms = 40 + 20 * (rng.next() % 19) as usize; // 40..=400 ms
                let samples = 24 * ms;
                let pcm = speech_like_pcm(t, samples);
                t += samples;
                let mut data = String::new();
                encode_base64_into(&pcm, &mut data);
                frames.push(frame(&format!(
                    r#"{{"serverContent":{{"modelTurn":{{"parts":[{{"inlineData":{{"mimeType":"audio/pcm;rate=24000","data":"{data}"}}}}]}}}}}}"#
                )));
                if chunk % 2 == 1 {
                    frames.push(frame(&format!(
                        r#"{{"serverContent":{{"outputTranscription":{{"text":" words {chunk} of the answer"}}}}}}"#
                    )));
                }
                if chunk == 5 {
                    frames.push(frame(
                        r#"{"serverContent":{"modelTurn":{"parts":[{"text":"**Answering** the question","thought":true}]}}}"#,
                    ));
                }
            }
            frames.push(frame(r#"{"serverContent":{"generationComplete":true}}"#));
            frames.push(frame(
                r#"{"serverContent":{"turnComplete":true},"usageMetadata":{"promptTokenCount":515,"responseTokenCount":310,"totalTokenCount":825,"promptTokensDetails":[{"modality":"TEXT","tokenCount":515}],"responseTokensDetails":[{"modality":"AUDIO","tokenCount":310}]}}"#,
            ));
        }
        Self { frames }
    }

    /// Frames in the corpus.
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }

    /// PCM bytes all audio frames decode to.
    pub(crate) fn pcm_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.pcm_len).sum()
    }

    /// Frame bytes on the wire.
    pub(crate) fn wire_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.bytes.len()).sum()
    }

    /// One line of statistics.
    pub(crate) fn describe(&self) -> String {
        let audio = self.frames.iter().filter(|f| f.pcm_len > 0).count();
        let mut s = String::new();
        let _ = write!(
            s,
            "{} frames ({audio} audio), {:.2} MB on the wire, {:.2} MB of PCM ({:.1} s of 24 kHz audio)",
            self.len(),
            self.wire_bytes() as f64 / 1e6,
            self.pcm_bytes() as f64 / 1e6,
            self.pcm_bytes() as f64 / 48_000.0,
        );
        s
    }
}

/// Feeds one frame and drains its outputs; returns the PCM bytes handed to the application.
pub(crate) fn feed(session: &mut Session, frame: &[u8], now: std::time::Instant) -> usize {
    session.handle_frame(frame, now).expect("valid frame");
    let mut pcm = 0;
    loop {
        match session.poll_output() {
            Output::Idle { .. } => return pcm,
            Output::Event(Event::Audio { data, .. }) => pcm += std::hint::black_box(data).len(),
            other => {
                std::hint::black_box(other);
            }
        }
    }
}

/// Reformats compact JSON as Google sends it (pretty, two-space indents, trailing newline) and
/// records where the audio payload sits.
fn frame(compact: &str) -> Frame {
    let message = decode_server(compact.as_bytes()).expect("corpus frame decodes");
    assert!(
        message.unknown.is_empty(),
        "corpus frame has unknown fields"
    );
    let pretty = ServerMessage::to_json_pretty(&message.message);
    let audio = message
        .message
        .server_content
        .as_ref()
        .and_then(|c| c.model_turn.as_ref())
        .and_then(|t| t.parts.first())
        .and_then(|p| p.inline_data.as_ref());
    let pcm_len = audio.map_or(0, |blob| blob.data.as_bytes().len());
    Frame {
        bytes: pretty.into_bytes(),
        pcm_len,
    }
}
