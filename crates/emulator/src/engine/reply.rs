//! Model turns: what the model answers, how it says it (text deltas, or audio generated chunk by
//! chunk with its transcripts), how turns end and how they are interrupted.

use std::time::{Duration, Instant};

use super::tokens::{audio_tokens, text_tokens};
use super::{ActiveTurn, Engine, Input, Item, Out, Scheduled, Speaking};
use crate::close::Close;
use crate::responder::{self, Role, Turn};
use crate::script::{Action, Fault, ScriptReply};
use crate::search;
use crate::synth::SpeechStream;

/// How much of a user turn the responder reads to decide what to answer (the whole turn is in
/// the context all the same): a megabyte of text costs no more to answer than a paragraph.
const HEARD_BYTES: usize = 4096;

/// The start of `text` the responder reads.
fn heard(text: &str) -> &str {
    let mut end = text.len().min(HEARD_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Gap between two text deltas.
const TEXT_DELTA_GAP: Duration = Duration::from_millis(40);
/// Words per output transcript fragment when there is no audio to follow.
const TRANSCRIPT_WORDS: usize = 8;

impl Engine {
    /// A model turn starts: the layout's opening (`{"serverContent": {}}` on 3.1), then a
    /// resumption point (unasked ones, on 3.1, not when the turn is a function call).
    pub(super) fn start_turn(&mut self, now: Instant, calling: bool) {
        self.turn = Some(ActiveTurn::default());
        if self.setup.layout.empty_content_opens_turn {
            self.push(now, Out::EmptyContent);
        }
        if self.setup.resumption || !calling {
            self.resumption_point(now);
        }
    }

    /// A `sessionResumptionUpdate` where the session may be resumed from: when the client asked
    /// for them, and unasked on 3.1 (always resumable there, and none while a call is pending).
    pub(super) fn resumption_point(&mut self, now: Instant) {
        if self.setup.resumption {
            let resumable = self.resumable();
            self.push(now, Out::Resumption { resumable });
        } else if self.setup.layout.unasked_resumption && self.mem.pending_calls.is_empty() {
            self.push(now, Out::Resumption { resumable: true });
        }
    }

    pub(super) fn finish_turn(&mut self, now: Instant) {
        if let Some(turn) = self.turn.take()
            && !turn.spoken.trim().is_empty()
        {
            self.remember(Turn {
                role: Role::Model,
                text: turn.spoken.trim().to_owned(),
            });
        }
        self.resumption_point(now);
        if let Some(text) = self.idle_results.pop_front() {
            self.speak_turn(now, text, None, None);
            return;
        }
        while self.turn.is_none() {
            let Some(input) = self.deferred.pop_front() else {
                break;
            };
            self.handle(input, now);
        }
    }

    /// Cuts the current turn short (barge-in): `interrupted`, cancellations, `turnComplete`.
    pub(super) fn interrupt(&mut self, now: Instant) {
        let Some(turn) = self.turn.take() else { return };
        self.queue.retain(|s| !s.of_turn);
        self.playing_until = None;
        if !turn.spoken.trim().is_empty() {
            self.remember(Turn {
                role: Role::Model,
                text: turn.spoken.trim().to_owned(),
            });
        }
        self.push(now, Out::Interrupted);
        if !self.mem.pending_calls.is_empty() {
            let ids = self.mem.pending_calls.drain(..).map(|c| c.id).collect();
            self.push(now, Out::ToolCallCancellation(ids));
        }
        let audio = self.setup.audio_out && self.setup.layout.audio;
        let usage = self.usage(text_tokens(&turn.spoken), audio);
        self.push(
            now,
            Out::TurnComplete {
                usage,
                grounding: None,
            },
        );
        self.idle_results.clear();
        self.resumption_point(now);
    }

    /// The user did something (spoke, typed, started activity): a reply in progress is cut short
    /// unless NO_INTERRUPTION; on 2.5 native audio, a reply whose audio would still be playing
    /// gets an `interrupted` although its turn is complete.
    pub(super) fn user_activity(&mut self, now: Instant) {
        if self.turn.is_some() {
            if !self.setup.no_interruption {
                self.interrupt(now);
            }
        } else if self.playing_until.take().is_some_and(|t| now < t)
            && self.setup.layout.interrupt_after_turn
        {
            self.push(now, Out::Interrupted);
        }
    }

    /// Whether new input may go ahead now; `false` defers it (NO_INTERRUPTION during a reply).
    pub(super) fn barge_in(&mut self, input: &Input, now: Instant) -> bool {
        if self.turn.is_some() && self.setup.no_interruption {
            self.deferred.push_back(input.clone());
            return false;
        }
        self.user_activity(now);
        true
    }

    /// The user finished a turn (already in history): script, tools, search or the responder
    /// answers.
    pub(super) fn user_turn(&mut self, now: Instant, text: String) {
        self.mem.user_turns += 1;
        let rule = self.opts.script.as_ref().and_then(|s| {
            s.matching(&text, self.mem.user_turns, &self.mem.fired_rules)
                .map(|(i, a)| (i, a.clone()))
        });
        if let Some((index, action)) = rule {
            self.mem.fired_rules.push(index);
            match action {
                Action::Reply(r) => return self.scripted_reply(now, r),
                Action::Fault(f) => return self.fault(now, f, text),
            }
        }
        if !self.fit_context(now) {
            return;
        }
        let text = heard(&text);
        if let Some(decl) = crate::tools::intended_function(text, &self.setup.functions).cloned() {
            let args = crate::tools::fill_args(&decl, text);
            return self.call_functions(now, vec![(decl.name.clone(), args, decl.non_blocking)]);
        }
        if self.setup.google_search && search::wants_search(text) {
            let answer = search::answer(text);
            return self.speak_turn(now, answer.text.clone(), None, Some(answer));
        }
        let reply = self.answer(text);
        self.speak_turn(now, reply, None, None);
    }

    /// The responder's reply to `text`, the latest user turn (already in history), within the
    /// output token limit.
    fn answer(&self, text: &str) -> String {
        let before = self.mem.history.len().saturating_sub(1);
        let reply = responder::reply(
            heard(text),
            &self.mem.history[..before],
            self.mem.video_frames,
        );
        self.capped(reply, self.setup.audio_out)
    }

    fn scripted_reply(&mut self, now: Instant, r: ScriptReply) {
        if !r.tool_calls.is_empty() {
            let calls = r
                .tool_calls
                .into_iter()
                .map(|c| {
                    let nb = self
                        .setup
                        .functions
                        .iter()
                        .any(|f| f.name == c.name && f.non_blocking);
                    (c.name, c.args, nb)
                })
                .collect();
            return self.call_functions(now, calls);
        }
        let speech = match (r.audio, r.audio_len) {
            (Some(pcm), _) => Some(SpeechStream::pcm(pcm, vec![(0, r.text.clone())])),
            (None, Some((len, unit))) => Some(SpeechStream::repeated(&r.text, unit, len)),
            (None, None) => None,
        };
        self.speak_turn(now, r.text, speech, None);
    }

    fn fault(&mut self, now: Instant, fault: Fault, text: String) {
        match fault {
            Fault::Close { code, reason } => self.close(now, Close::new(code, reason)),
            Fault::Drop => {
                self.queue.clear();
                self.push(now, Out::Drop);
                self.closed = true;
            }
            Fault::Malformed => self.push(now, Out::Malformed),
            Fault::Delay(d) => {
                let reply = self.answer(&text);
                self.speak_turn(crate::config::later(now, d), reply, None, None);
            }
            Fault::Stall => {
                self.start_turn(now, false);
                if let Some(t) = self.turn.as_mut() {
                    t.stalled = true;
                }
            }
            Fault::PrematureTurnComplete => {
                self.start_turn(now, false);
                let usage = self.usage(0, self.setup.audio_out);
                self.push(
                    now,
                    Out::TurnComplete {
                        usage,
                        grounding: None,
                    },
                );
                let reply = self.answer(&text);
                self.turn = None;
                self.speak_turn(now, reply, None, None);
            }
            Fault::SlowPongs(d) => {
                self.push(now, Out::SlowPongs(d));
                let reply = self.answer(&text);
                self.speak_turn(now, reply, None, None);
            }
            Fault::EmptyAudioTurn => {
                self.start_turn(now, false);
                self.complete_silent_turn(now);
            }
        }
    }

    /// Ends the current turn now, with nothing said: `generationComplete`, `turnComplete`.
    pub(super) fn complete_silent_turn(&mut self, now: Instant) {
        self.push_turn(now, Out::GenerationComplete, None, false);
        let usage = self.usage(0, self.setup.audio_out && self.setup.layout.audio);
        self.push_turn(
            now,
            Out::TurnComplete {
                usage,
                grounding: None,
            },
            None,
            true,
        );
    }

    /// A new model turn saying `text` (with `speech` instead of the voice, and the grounding of
    /// a search answer).
    pub(super) fn speak_turn(
        &mut self,
        now: Instant,
        text: String,
        speech: Option<SpeechStream>,
        search: Option<search::Answer>,
    ) {
        self.start_turn(now, false);
        self.continue_speaking(now, text, speech, search);
    }

    /// Says `text` in the session's modality and ends the current turn: TEXT deltas; audio
    /// chunks generated as they fall due, with transcripts in the model's layout; transcripts
    /// alone from a model that answers without audio. Then grounding, `generationComplete`, and
    /// `turnComplete` once the audio would have finished playing.
    pub(super) fn continue_speaking(
        &mut self,
        now: Instant,
        text: String,
        speech: Option<SpeechStream>,
        search: Option<search::Answer>,
    ) {
        if self.turn.is_none() {
            self.start_turn(now, false);
        }
        let start = self.queue.back().map_or(now, |s| s.at.max(now));
        let audio = self.setup.audio_out && self.setup.layout.audio;
        let (end, done, response) = if audio {
            let speech = speech.unwrap_or_else(|| SpeechStream::speak(&text, self.opts.voice));
            let total = speech.total();
            let chunks = total
                .as_micros()
                .div_ceil(self.opts.audio_chunk.as_micros().max(1));
            let last = u32::try_from(chunks.saturating_sub(1)).unwrap_or(u32::MAX);
            let end = start + self.paced(super::speech_time(self.opts.audio_chunk, last));
            self.queue.push_back(Scheduled {
                at: start,
                item: Item::Speech(Box::new(Speaking {
                    stream: speech,
                    start,
                    chunks: 0,
                })),
                of_turn: true,
            });
            self.playing_until = now.checked_add(total);
            (end, start + self.paced(total), audio_tokens(total))
        } else if self.setup.audio_out {
            let end = self.say_transcripts(start, &text);
            (end, end, text_tokens(&text))
        } else {
            let end = self.say_deltas(start, &text);
            (end, end, text_tokens(&text))
        };
        let grounding_frames = self.setup.layout.grounding_frames;
        let mut searches = 0;
        if let Some(answer) = search.as_ref().filter(|_| grounding_frames) {
            for frame in answer.frames() {
                searches += 1;
                self.push_turn(end, Out::Grounding(Box::new(frame)), None, false);
            }
        }
        self.push_turn(end, Out::GenerationComplete, None, false);
        if self.answering_speech
            && self.setup.layout.speech_resumption
            && self.mem.pending_calls.is_empty()
        {
            self.push_turn(end, Out::Resumption { resumable: true }, None, false);
        }
        let mut usage = self.usage(response, audio);
        usage.searches = searches;
        let grounding = search
            .filter(|_| !grounding_frames)
            .map(|a| Box::new(a.summary()));
        self.push_turn(
            done.max(end),
            Out::TurnComplete { usage, grounding },
            None,
            true,
        );
    }

    /// TEXT: deltas of three words, 40 ms apart. Returns when the last is due.
    fn say_deltas(&mut self, start: Instant, text: &str) -> Instant {
        let mut words: Vec<&str> = text.split_inclusive(' ').collect();
        if words.is_empty() {
            words.push("");
        }
        let mut at = start;
        for (i, chunk) in words.chunks(3).enumerate() {
            let delta = chunk.concat();
            at = start + self.paced(TEXT_DELTA_GAP * i as u32);
            self.push_turn(at, Out::Text(delta.clone()), Some(delta), false);
        }
        at
    }

    /// AUDIO from a model that sends none: the output transcript alone (if asked for), in
    /// fragments of its own.
    fn say_transcripts(&mut self, start: Instant, text: &str) -> Instant {
        let transcribe = self.setup.output_transcription || self.setup.layout.always_transcribe;
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        let mut at = start;
        for (i, chunk) in words.chunks(TRANSCRIPT_WORDS).enumerate() {
            let fragment = chunk.concat();
            at = start + self.paced(TEXT_DELTA_GAP * i as u32);
            if transcribe {
                let out = Out::OutputTranscript {
                    text: Some(fragment.clone()),
                    finished: false,
                };
                self.push_turn(at, out, Some(fragment), false);
            } else if let Some(t) = self.turn.as_mut() {
                t.spoken.push_str(&fragment);
            }
        }
        at
    }
}
