//! Audio in: automatic voice activity detection (a turn ends on silence, when the stream stops,
//! or on `audioStreamEnd`), manual `activityStart`/`activityEnd`, and the speech turns they make.

use std::time::{Duration, Instant};

use super::{Engine, Input, Out};
use crate::responder::{self, Role, Turn};
use crate::vad::VadEvent;

impl Engine {
    pub(super) fn audio(&mut self, pcm: &[i16], rate: u32, now: Instant) {
        let dur = Duration::from_secs_f64(pcm.len() as f64 / f64::from(rate.max(1)));
        let base = self.mem.audio_offset.saturating_sub(self.connection_audio);
        self.mem.audio_offset += dur;
        self.connection_audio += dur;
        if let Some(active) = self.manual_activity.as_mut() {
            *active += dur;
            return;
        }
        let Some(vad) = self.vad.as_mut() else { return };
        self.last_audio = Some(now);
        for ev in vad.push(pcm, rate) {
            let ev = match ev {
                VadEvent::Start { offset } => VadEvent::Start {
                    offset: base + offset,
                },
                VadEvent::End { offset, speech } => VadEvent::End {
                    offset: base + offset,
                    speech,
                },
            };
            self.vad_event(ev, now);
        }
    }

    /// In speech with no audio arriving: when the silence that ends it will have passed. Time
    /// without audio counts as silence, in real time (a client that stops streaming, or sends a
    /// whole clip at once, gets its answer as from Google).
    pub(super) fn stream_stop_deadline(&self) -> Option<Instant> {
        let left = self.vad.as_ref()?.silence_left()?;
        Some(crate::config::later(self.last_audio?, left))
    }

    /// The stream stopped long enough: the speech ends.
    pub(super) fn stream_stopped(&mut self, now: Instant) {
        self.last_audio = None;
        if let Some(ev) = self.vad.as_mut().and_then(crate::vad::Vad::flush) {
            let base = self.mem.audio_offset.saturating_sub(self.connection_audio);
            let ev = match ev {
                VadEvent::End { offset, speech } => VadEvent::End {
                    offset: base + offset,
                    speech,
                },
                start @ VadEvent::Start { .. } => start,
            };
            self.vad_event(ev, now);
        }
    }

    pub(super) fn audio_stream_end(&mut self, now: Instant) {
        self.stream_stopped(now);
    }

    pub(super) fn activity_start(&mut self, now: Instant) {
        if self.manual_activity.is_some() {
            return;
        }
        self.manual_activity = Some(Duration::ZERO);
        let offset = self.mem.audio_offset;
        self.activity_signal(true, offset, now);
        self.user_activity(now);
    }

    pub(super) fn activity_end(&mut self, now: Instant) {
        let Some(speech) = self.manual_activity.take() else {
            return;
        };
        let offset = self.mem.audio_offset;
        self.activity_signal(false, offset, now);
        self.speech_turn(now, speech);
    }

    /// Voice activity as the backend reports it: `voiceActivity` on the Gemini API when the setup
    /// asked for it, `voiceActivityDetectionSignal` on Vertex with `explicitVadSignal`.
    fn activity_signal(&mut self, start: bool, offset: Duration, now: Instant) {
        if self.setup.vertex {
            if self.setup.explicit_vad_signal {
                self.push(now, Out::VadSignal { start });
            }
        } else if self.setup.voice_activity {
            self.push(now, Out::VoiceActivity { start, offset });
        }
    }

    fn vad_event(&mut self, ev: VadEvent, now: Instant) {
        match ev {
            VadEvent::Start { offset } => {
                self.activity_signal(true, offset, now);
                let idle = self.turn.is_none();
                self.user_activity(now);
                if idle && self.setup.layout.speech_resumption {
                    self.resumption_point(now);
                }
            }
            VadEvent::End { offset, speech } => {
                self.activity_signal(false, offset, now);
                self.speech_turn(now, speech);
            }
        }
    }

    fn speech_turn(&mut self, now: Instant, speech: Duration) {
        let text = responder::speech_placeholder(speech.as_secs_f64());
        if self.setup.layout.speech_resumption && self.turn.is_none() {
            self.push(now, Out::EmptyContent);
            self.resumption_point(now);
        }
        if self.setup.input_transcription || self.setup.layout.always_transcribe {
            self.push(
                now,
                Out::InputTranscript {
                    text: text.clone(),
                    finished: self.setup.layout.input_transcript_finished,
                },
            );
        }
        if self.turn.is_some() && self.setup.no_interruption {
            self.deferred.push_back(Input::Text(text));
            return;
        }
        self.remember(Turn {
            role: Role::User,
            text: text.clone(),
        });
        self.answering_speech = true;
        self.user_turn(now, text);
        self.answering_speech = false;
    }
}
