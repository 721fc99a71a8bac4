//! One Live session's behaviour, free of IO: inputs in, timed outputs out (`now` is always an argument).
//!
//! The connection layer decodes client frames into [`Input`]s, calls [`Engine::handle`], then drains
//! [`Engine::poll`] until it returns [`Poll::Wait`], turning each [`Out`] into a server frame.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::close::Close;
use crate::config::Voice;
use crate::responder::{self, Role, Turn};
use crate::script::{Action, Fault, Script, ScriptReply};
use crate::synth::{self, OUTPUT_RATE};
use crate::tools::{self, FunctionDecl};
use crate::vad::{Vad, VadConfig, VadEvent};

/// Audio tokens per second (input and output), as Google counts them.
const AUDIO_TOKENS_PER_SEC: f64 = 25.0;
/// Tokens per video frame (MEDIA_RESOLUTION_MEDIUM).
const VIDEO_FRAME_TOKENS: i64 = 258;
/// Gap between two text deltas.
const TEXT_DELTA_GAP: Duration = Duration::from_millis(40);

/// What the client configured (and the model allows), in the engine's terms.
#[derive(Debug, Clone)]
pub(crate) struct SessionSetup {
    pub(crate) vertex: bool,
    /// Vertex `explicitVadSignal`: send `voiceActivityDetectionSignal` events.
    pub(crate) explicit_vad_signal: bool,
    pub(crate) audio_out: bool,
    pub(crate) input_transcription: bool,
    pub(crate) output_transcription: bool,
    pub(crate) functions: Vec<FunctionDecl>,
    /// `None`: automatic activity detection disabled (manual `activityStart`/`activityEnd`).
    pub(crate) vad: Option<VadConfig>,
    pub(crate) no_interruption: bool,
    pub(crate) resumption: bool,
    /// `(trigger_tokens, target_tokens)` of `contextWindowCompression`.
    pub(crate) compression: Option<(i64, i64)>,
    pub(crate) context_limit: i64,
    pub(crate) initial_history_in_client_content: bool,
    /// `--strict-models` and the model is a 3.1 model: `clientContent` only for the initial history.
    pub(crate) client_content_only_initial: bool,
    pub(crate) system_instruction: Option<String>,
}

/// Engine-wide settings that do not come from the client.
#[derive(Debug, Clone)]
pub(crate) struct EngineOptions {
    /// Pacing factor (`f64::INFINITY`: none).
    pub(crate) speed: f64,
    /// Length of one outgoing audio chunk.
    pub(crate) audio_chunk: Duration,
    pub(crate) voice: Voice,
    pub(crate) seed: u64,
    pub(crate) script: Option<Arc<Script>>,
}

/// A function call the model is waiting on (survives resumption).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingCall {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) non_blocking: bool,
}

/// The state that survives resumption.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Memory {
    pub(crate) history: Vec<Turn>,
    pub(crate) pending_calls: Vec<PendingCall>,
    /// Audio received over the whole session (for `voiceActivity.audioOffset`).
    pub(crate) audio_offset: Duration,
    pub(crate) video_frames: usize,
    pub(crate) call_counter: u64,
    pub(crate) user_turns: u64,
    pub(crate) fired_rules: Vec<usize>,
}

/// A function response from the client.
#[derive(Debug, Clone)]
pub(crate) struct FnResponse {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) response: Value,
    /// `SILENT`, `WHEN_IDLE`, `INTERRUPT` (upper case) or `None`.
    pub(crate) scheduling: Option<String>,
    pub(crate) will_continue: bool,
}

/// A decoded client message, in the engine's terms.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    ClientContent {
        turns: Vec<Turn>,
        turn_complete: bool,
    },
    Text(String),
    Audio {
        pcm: Vec<i16>,
        rate: u32,
    },
    Video,
    ActivityStart,
    ActivityEnd,
    AudioStreamEnd,
    ToolResponse(Vec<FnResponse>),
    ContextUpdate {
        system_instruction: Option<String>,
        functions: Option<Vec<FunctionDecl>>,
    },
}

/// Token counts of one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub(crate) prompt_text: i64,
    pub(crate) prompt_audio: i64,
    pub(crate) prompt_image: i64,
    pub(crate) response: i64,
    pub(crate) response_audio: bool,
}

/// A function call sent to the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) args: Value,
}

/// Something to send (or do) on the connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    Text(String),
    /// PCM16LE at 24 kHz, with the output transcription fragment spoken in it (if enabled).
    Audio {
        pcm: Vec<u8>,
        transcript: Option<String>,
    },
    InputTranscript(String),
    GenerationComplete,
    Interrupted,
    TurnComplete(Usage),
    ToolCall(Vec<Call>),
    ToolCallCancellation(Vec<String>),
    VoiceActivity {
        start: bool,
        offset: Duration,
    },
    /// A resumption point; the connection mints the handle.
    Resumption {
        resumable: bool,
    },
    Close(Close),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// A frame that is not valid JSON.
    Malformed,
    /// Vertex `voiceActivityDetectionSignal` (start or end of speech).
    VadSignal {
        start: bool,
    },
    /// Answer pings this late from now on.
    SlowPongs(Duration),
}

/// What [`Engine::poll`] says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Poll {
    Send(Out),
    /// Nothing due; call again at this instant (or on new input).
    Wait(Option<Instant>),
}

#[derive(Debug)]
struct Scheduled {
    at: Instant,
    out: Out,
    /// Model text that is "said" once this item is sent.
    spoken: Option<String>,
    ends_turn: bool,
    /// Part of the current model turn (dropped by an interruption).
    of_turn: bool,
}

#[derive(Debug, Default)]
struct ActiveTurn {
    spoken: String,
    /// Blocking calls this turn waits on.
    awaiting: Vec<String>,
    /// Further output is withheld (script `stall`).
    stalled: bool,
}

/// One session.
#[derive(Debug)]
pub(crate) struct Engine {
    setup: SessionSetup,
    opts: EngineOptions,
    mem: Memory,
    vad: Option<Vad>,
    /// Audio received since a manual `activityStart`.
    manual_activity: Option<Duration>,
    connection_audio: Duration,
    turn: Option<ActiveTurn>,
    queue: VecDeque<Scheduled>,
    /// Inputs held back by NO_INTERRUPTION until the current turn ends.
    deferred: VecDeque<Input>,
    /// WHEN_IDLE tool results to speak once the current turn ends.
    idle_results: VecDeque<String>,
    history_open: bool,
    closed: bool,
}

fn text_tokens(s: &str) -> i64 {
    (s.chars().count() as i64 + 3) / 4
}

impl Engine {
    pub(crate) fn new(setup: SessionSetup, opts: EngineOptions, mem: Memory) -> Self {
        let vad = setup.vad.map(Vad::new);
        let history_open = setup.initial_history_in_client_content && mem.history.is_empty();
        Self {
            setup,
            opts,
            mem,
            vad,
            manual_activity: None,
            connection_audio: Duration::ZERO,
            turn: None,
            queue: VecDeque::new(),
            deferred: VecDeque::new(),
            idle_results: VecDeque::new(),
            history_open,
            closed: false,
        }
    }

    pub(crate) fn memory(&self) -> &Memory {
        &self.mem
    }

    /// Whether the client asked for resumption updates.
    pub(crate) fn setup_resumption(&self) -> bool {
        self.setup.resumption
    }

    /// Resumable now: not generating and no function call pending.
    pub(crate) fn resumable(&self) -> bool {
        self.turn.is_none() && self.mem.pending_calls.is_empty()
    }

    fn paced(&self, d: Duration) -> Duration {
        crate::config::paced(self.opts.speed, d)
    }

    fn push(&mut self, at: Instant, out: Out) {
        self.queue.push_back(Scheduled {
            at,
            out,
            spoken: None,
            ends_turn: false,
            of_turn: false,
        });
    }

    fn push_turn(&mut self, at: Instant, out: Out, spoken: Option<String>, ends_turn: bool) {
        self.queue.push_back(Scheduled {
            at,
            out,
            spoken,
            ends_turn,
            of_turn: true,
        });
    }

    fn close(&mut self, now: Instant, close: Close) {
        self.queue.clear();
        self.push(now, Out::Close(close));
        self.closed = true;
    }

    /// Next output due at `now`, or when to ask again.
    pub(crate) fn poll(&mut self, now: Instant) -> Poll {
        if self.turn.as_ref().is_some_and(|t| t.stalled) && !self.closed {
            return Poll::Wait(None);
        }
        let Some(front) = self.queue.front() else {
            return Poll::Wait(None);
        };
        if front.at > now {
            return Poll::Wait(Some(front.at));
        }
        let Some(item) = self.queue.pop_front() else {
            return Poll::Wait(None);
        };
        if let (Some(s), Some(turn)) = (&item.spoken, self.turn.as_mut()) {
            turn.spoken.push_str(s);
        }
        if item.ends_turn {
            self.finish_turn(now);
        }
        Poll::Send(item.out)
    }

    fn finish_turn(&mut self, now: Instant) {
        if let Some(turn) = self.turn.take()
            && !turn.spoken.trim().is_empty()
        {
            self.mem.history.push(Turn {
                role: Role::Model,
                text: turn.spoken.trim().to_owned(),
            });
        }
        if self.setup.resumption {
            let resumable = self.resumable();
            self.push(now, Out::Resumption { resumable });
        }
        if let Some(text) = self.idle_results.pop_front() {
            self.speak_turn(now, text, None);
            return;
        }
        while self.turn.is_none() {
            let Some(input) = self.deferred.pop_front() else {
                break;
            };
            self.handle(input, now);
        }
    }

    fn usage(&self, response: i64) -> Usage {
        let mut u = Usage {
            response,
            response_audio: self.setup.audio_out,
            ..Usage::default()
        };
        if let Some(si) = &self.setup.system_instruction {
            u.prompt_text += text_tokens(si);
        }
        for t in &self.mem.history {
            match t
                .text
                .strip_prefix("[speech: ")
                .and_then(|r| r.strip_suffix(" s]"))
                .and_then(|s| s.parse::<f64>().ok())
            {
                Some(secs) => u.prompt_audio += (secs * AUDIO_TOKENS_PER_SEC).round() as i64,
                None => u.prompt_text += text_tokens(&t.text),
            }
        }
        u.prompt_image = self.mem.video_frames as i64 * VIDEO_FRAME_TOKENS;
        u
    }

    fn prompt_tokens(&self) -> i64 {
        let u = self.usage(0);
        u.prompt_text + u.prompt_audio + u.prompt_image
    }

    /// Context accounting before a generation: slide the window when compression is on, otherwise refuse
    /// once the context limit is exceeded.
    fn fit_context(&mut self, now: Instant) -> bool {
        let total = self.prompt_tokens();
        match self.setup.compression {
            Some((trigger, target)) if total > trigger => {
                while self.prompt_tokens() > target && self.mem.history.len() > 1 {
                    self.mem.history.remove(0);
                    while self.mem.history.len() > 1 && self.mem.history[0].role != Role::User {
                        self.mem.history.remove(0);
                    }
                }
                true
            }
            None if total > self.setup.context_limit => {
                self.close(now, Close::invalid_argument());
                false
            }
            _ => true,
        }
    }

    /// Cuts the current turn short (barge-in): `interrupted`, cancellations, `turnComplete`.
    fn interrupt(&mut self, now: Instant) {
        let Some(turn) = self.turn.take() else { return };
        self.queue.retain(|s| !s.of_turn);
        if !turn.spoken.trim().is_empty() {
            self.mem.history.push(Turn {
                role: Role::Model,
                text: turn.spoken.trim().to_owned(),
            });
        }
        self.push(now, Out::Interrupted);
        if !self.mem.pending_calls.is_empty() {
            let ids = self.mem.pending_calls.drain(..).map(|c| c.id).collect();
            self.push(now, Out::ToolCallCancellation(ids));
        }
        let usage = self.usage(text_tokens(&turn.spoken));
        self.push(now, Out::TurnComplete(usage));
        self.idle_results.clear();
        if self.setup.resumption {
            self.push(now, Out::Resumption { resumable: true });
        }
    }

    /// Whether new activity during a reply may interrupt it; `false` defers `input`.
    fn barge_in(&mut self, input: &Input, now: Instant) -> bool {
        if self.turn.is_none() {
            return true;
        }
        if self.setup.no_interruption {
            self.deferred.push_back(input.clone());
            return false;
        }
        self.interrupt(now);
        true
    }

    pub(crate) fn handle(&mut self, input: Input, now: Instant) {
        if self.closed {
            return;
        }
        match input {
            Input::ClientContent {
                turns,
                turn_complete,
            } => {
                if self.history_open {
                    self.mem.history.extend(turns);
                    if turn_complete {
                        self.history_open = false;
                    }
                    return;
                }
                if self.setup.client_content_only_initial {
                    self.close(now, Close::invalid_argument());
                    return;
                }
                let probe = Input::ClientContent {
                    turns: turns.clone(),
                    turn_complete,
                };
                if !self.barge_in(&probe, now) {
                    return;
                }
                self.mem.history.extend(turns);
                if turn_complete {
                    let user = self
                        .mem
                        .history
                        .iter()
                        .rposition(|t| t.role == Role::User)
                        .map(|i| self.mem.history[i].text.clone())
                        .unwrap_or_default();
                    self.user_turn(now, user);
                }
            }
            Input::Text(text) => {
                let probe = Input::Text(text.clone());
                if self.barge_in(&probe, now) {
                    self.mem.history.push(Turn {
                        role: Role::User,
                        text: text.clone(),
                    });
                    self.user_turn(now, text);
                }
            }
            Input::Audio { pcm, rate } => self.audio(pcm, rate, now),
            Input::Video => self.mem.video_frames += 1,
            Input::ActivityStart => {
                if self.manual_activity.is_some() {
                    return;
                }
                self.manual_activity = Some(Duration::ZERO);
                let offset = self.mem.audio_offset;
                self.activity_signal(true, offset, now);
                if self.turn.is_some() && !self.setup.no_interruption {
                    self.interrupt(now);
                }
            }
            Input::ActivityEnd => {
                let Some(speech) = self.manual_activity.take() else {
                    return;
                };
                let offset = self.mem.audio_offset;
                self.activity_signal(false, offset, now);
                self.speech_turn(now, speech);
            }
            Input::AudioStreamEnd => {
                if let Some(ev) = self.vad.as_mut().and_then(Vad::flush) {
                    self.vad_event(ev, now);
                }
            }
            Input::ToolResponse(responses) => self.tool_responses(responses, now),
            Input::ContextUpdate {
                system_instruction,
                functions,
            } => {
                if let Some(si) = system_instruction {
                    self.setup.system_instruction = Some(si);
                }
                if let Some(f) = functions {
                    self.setup.functions = f;
                }
            }
        }
    }

    fn audio(&mut self, pcm: Vec<i16>, rate: u32, now: Instant) {
        let dur = Duration::from_secs_f64(pcm.len() as f64 / f64::from(rate.max(1)));
        let base = self.mem.audio_offset.saturating_sub(self.connection_audio);
        self.mem.audio_offset += dur;
        self.connection_audio += dur;
        if let Some(active) = self.manual_activity.as_mut() {
            *active += dur;
            return;
        }
        let Some(vad) = self.vad.as_mut() else { return };
        for ev in vad.push(&pcm, rate) {
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

    /// Voice activity as the backend reports it: `voiceActivity` on the Gemini API,
    /// `voiceActivityDetectionSignal` on Vertex when `explicitVadSignal` asked for it.
    fn activity_signal(&mut self, start: bool, offset: Duration, now: Instant) {
        if !self.setup.vertex {
            self.push(now, Out::VoiceActivity { start, offset });
        } else if self.setup.explicit_vad_signal {
            self.push(now, Out::VadSignal { start });
        }
    }

    fn vad_event(&mut self, ev: VadEvent, now: Instant) {
        match ev {
            VadEvent::Start { offset } => {
                self.activity_signal(true, offset, now);
                if self.turn.is_some() && !self.setup.no_interruption {
                    self.interrupt(now);
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
        if self.setup.input_transcription {
            self.push(now, Out::InputTranscript(text.clone()));
        }
        let probe = Input::Text(text.clone());
        if self.turn.is_some() && self.setup.no_interruption {
            self.deferred.push_back(probe);
            return;
        }
        self.mem.history.push(Turn {
            role: Role::User,
            text: text.clone(),
        });
        self.user_turn(now, text);
    }

    /// The user finished a turn (already in history): script, tools, or the responder answers.
    fn user_turn(&mut self, now: Instant, text: String) {
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
        let decls = &self.setup.functions;
        if let Some(decl) = tools::named_function(&text, decls).cloned() {
            let args = tools::fill_args(&decl, &text);
            return self.call_functions(now, vec![(decl.name.clone(), args, decl.non_blocking)]);
        }
        let reply = self.answer(&text);
        self.speak_turn(now, reply, None);
    }

    /// The responder's reply to `text`, the latest user turn (already in history).
    fn answer(&self, text: &str) -> String {
        let before = self.mem.history.len().saturating_sub(1);
        responder::reply(text, &self.mem.history[..before], self.mem.video_frames)
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
        let audio = match (r.audio, r.audio_len) {
            (Some(pcm), _) => Some(synth::Speech {
                words: vec![(0, r.text.clone())],
                pcm,
            }),
            (None, Some((len, unit))) => Some(synth::repeated(&r.text, &unit, len)),
            (None, None) => None,
        };
        self.speak_turn(now, r.text, audio);
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
                self.speak_turn(crate::config::later(now, d), reply, None);
            }
            Fault::Stall => {
                self.start_turn(now);
                if let Some(t) = self.turn.as_mut() {
                    t.stalled = true;
                }
            }
            Fault::PrematureTurnComplete => {
                self.start_turn(now);
                self.push(now, Out::TurnComplete(self.usage(0)));
                let reply = self.answer(&text);
                self.turn = None;
                self.speak_turn(now, reply, None);
            }
            Fault::SlowPongs(d) => {
                self.push(now, Out::SlowPongs(d));
                let reply = self.answer(&text);
                self.speak_turn(now, reply, None);
            }
            Fault::EmptyAudioTurn => {
                self.start_turn(now);
                self.push(now, Out::GenerationComplete);
                let usage = self.usage(0);
                self.push_turn(now, Out::TurnComplete(usage), None, true);
            }
        }
    }

    fn start_turn(&mut self, now: Instant) {
        self.turn = Some(ActiveTurn::default());
        if self.setup.resumption {
            self.push(now, Out::Resumption { resumable: false });
        }
    }

    fn call_functions(&mut self, now: Instant, calls: Vec<(String, Value, bool)>) {
        if self.turn.is_none() {
            self.start_turn(now);
        }
        let mut out = Vec::new();
        let mut started = Vec::new();
        for (name, args, non_blocking) in calls {
            self.mem.call_counter += 1;
            let id = if self.setup.vertex {
                crate::ids::uuid(self.opts.seed, "call", self.mem.call_counter)
            } else {
                format!(
                    "fc_{}",
                    crate::ids::mix(self.opts.seed ^ self.mem.call_counter)
                        % 10_000_000_000_000_000_000
                )
            };
            self.mem.pending_calls.push(PendingCall {
                id: id.clone(),
                name: name.clone(),
                non_blocking,
            });
            if non_blocking {
                started.push(name.clone());
            } else if let Some(t) = self.turn.as_mut() {
                t.awaiting.push(id.clone());
            }
            out.push(Call { id, name, args });
        }
        self.push(now, Out::ToolCall(out));
        let blocking = self.turn.as_ref().is_some_and(|t| !t.awaiting.is_empty());
        if !started.is_empty() && !blocking {
            let text = format!("I have started {}.", started.join(" and "));
            self.continue_speaking(now, text, None);
        } else if self.setup.vertex {
            // Vertex completes the model turn right after the call; the response starts a new one.
            self.push_turn(now, Out::GenerationComplete, None, false);
            let usage = self.usage(0);
            self.push_turn(now, Out::TurnComplete(usage), None, true);
        }
    }

    fn tool_responses(&mut self, responses: Vec<FnResponse>, now: Instant) {
        let mut results = Vec::new();
        for r in responses {
            let pos = self
                .mem
                .pending_calls
                .iter()
                .position(|c| Some(&c.id) == r.id.as_ref())
                .or_else(|| {
                    r.id.is_none()
                        .then(|| {
                            self.mem
                                .pending_calls
                                .iter()
                                .position(|c| Some(&c.name) == r.name.as_ref())
                        })
                        .flatten()
                });
            let Some(pos) = pos else { continue };
            let call = if r.will_continue {
                self.mem.pending_calls[pos].clone()
            } else {
                self.mem.pending_calls.remove(pos)
            };
            if let Some(t) = self.turn.as_mut() {
                t.awaiting.retain(|id| *id != call.id);
            }
            let summary = tools::summarize(&call.name, &r.response);
            let scheduling = r.scheduling.clone().or_else(|| {
                r.response
                    .get("scheduling")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase)
            });
            results.push((call, summary, scheduling));
        }
        for (call, summary, scheduling) in results {
            self.mem.history.push(Turn {
                role: Role::User,
                text: format!("[{} result: {summary}]", call.name),
            });
            if !call.non_blocking {
                if self.turn.as_ref().is_some_and(|t| t.awaiting.is_empty()) {
                    self.continue_speaking(now, summary, None);
                } else if self.turn.is_none() {
                    self.speak_turn(now, summary, None);
                }
                continue;
            }
            match scheduling.as_deref() {
                Some("SILENT") => {}
                Some("INTERRUPT") => {
                    self.interrupt(now);
                    self.speak_turn(now, summary, None);
                }
                _ if self.turn.is_some() => self.idle_results.push_back(summary),
                _ => self.speak_turn(now, summary, None),
            }
        }
    }

    /// A new model turn saying `text`.
    fn speak_turn(&mut self, now: Instant, text: String, audio: Option<synth::Speech>) {
        self.start_turn(now);
        self.continue_speaking(now, text, audio);
    }

    /// Streams `text` (TEXT deltas, or paced audio with transcription) and ends the current turn.
    fn continue_speaking(&mut self, now: Instant, text: String, audio: Option<synth::Speech>) {
        if self.turn.is_none() {
            self.start_turn(now);
        }
        let start = self.queue.back().map_or(now, |s| s.at.max(now));
        if !self.setup.audio_out {
            let mut words: Vec<&str> = text.split_inclusive(' ').collect();
            if words.is_empty() {
                words.push("");
            }
            let deltas: Vec<String> = words.chunks(3).map(|c| c.concat()).collect();
            let mut at = start;
            for (i, d) in deltas.iter().enumerate() {
                at = start + self.paced(TEXT_DELTA_GAP * i as u32);
                self.push_turn(at, Out::Text(d.clone()), Some(d.clone()), false);
            }
            self.push_turn(at, Out::GenerationComplete, None, false);
            let usage = self.usage(text_tokens(&text));
            self.push_turn(at, Out::TurnComplete(usage), None, true);
            return;
        }
        let speech = audio.unwrap_or_else(|| synth::speak(&text, self.opts.voice));
        let chunk_len = self.opts.audio_chunk;
        let chunk = (u128::from(OUTPUT_RATE) * chunk_len.as_micros() / 1_000_000).max(1) as usize;
        let total = Duration::from_secs_f64(speech.pcm.len() as f64 / f64::from(OUTPUT_RATE));
        let mut word = 0;
        let mut at = start;
        for (i, samples) in speech.pcm.chunks(chunk).enumerate() {
            let end = (i + 1) * chunk;
            let mut fragment = String::new();
            while word < speech.words.len()
                && (speech.words[word].0 < end || end >= speech.pcm.len())
            {
                if word > 0 {
                    fragment.push(' ');
                }
                fragment.push_str(&speech.words[word].1);
                word += 1;
            }
            at = start + self.paced(chunk_len * i as u32);
            let pcm = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            let transcript =
                (self.setup.output_transcription && !fragment.is_empty()).then(|| fragment.clone());
            self.push_turn(at, Out::Audio { pcm, transcript }, Some(fragment), false);
        }
        self.push_turn(at, Out::GenerationComplete, None, false);
        let usage = self.usage((total.as_secs_f64() * AUDIO_TOKENS_PER_SEC).round() as i64);
        let done = start + self.paced(total);
        self.push_turn(done.max(at), Out::TurnComplete(usage), None, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn setup(audio: bool) -> SessionSetup {
        SessionSetup {
            vertex: false,
            explicit_vad_signal: false,
            audio_out: audio,
            input_transcription: true,
            output_transcription: true,
            functions: vec![],
            vad: Some(VadConfig::new(true, true, None, Some(300))),
            no_interruption: false,
            resumption: false,
            compression: None,
            context_limit: 131_072,
            initial_history_in_client_content: false,
            client_content_only_initial: false,
            system_instruction: None,
        }
    }

    fn opts() -> EngineOptions {
        EngineOptions {
            speed: 1.0,
            audio_chunk: crate::config::DEFAULT_AUDIO_CHUNK,
            voice: Voice::Synthetic,
            seed: 1,
            script: None,
        }
    }

    fn drain(e: &mut Engine, now: Instant) -> Vec<Out> {
        let mut v = Vec::new();
        while let Poll::Send(o) = e.poll(now) {
            v.push(o);
        }
        v
    }

    #[test]
    fn text_turn_then_memory() {
        let mut e = Engine::new(setup(false), opts(), Memory::default());
        let t0 = Instant::now();
        e.handle(Input::Text("What is 10 + 10?".into()), t0);
        let out = drain(&mut e, t0 + Duration::from_secs(1));
        let text: String = out
            .iter()
            .filter_map(|o| {
                if let Out::Text(t) = o {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(text, "10 + 10 is 20.");
        assert!(matches!(out[out.len() - 2], Out::GenerationComplete));
        assert!(matches!(
            out[out.len() - 1],
            Out::TurnComplete(Usage { response: 4, .. })
        ));
        e.handle(Input::Text("What was my last question?".into()), t0);
        let out = drain(&mut e, t0 + Duration::from_secs(2));
        let text: String = out
            .iter()
            .filter_map(|o| {
                if let Out::Text(t) = o {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(text, "Your last question was: \"What is 10 + 10?\"");
    }

    #[test]
    fn scripted_audio_length_in_chunks_of_the_configured_size() {
        let script = Script::from_json(
            r#"{"rules": [{"reply": {"text": "la", "audio_ms": 1010}}]}"#,
            std::path::Path::new("."),
        )
        .unwrap();
        let opts = EngineOptions {
            speed: f64::INFINITY,
            audio_chunk: Duration::from_millis(20),
            script: Some(Arc::new(script)),
            ..opts()
        };
        let mut e = Engine::new(setup(true), opts, Memory::default());
        let t0 = Instant::now();
        e.handle(Input::Text("go".into()), t0);
        let chunks: Vec<usize> = drain(&mut e, t0)
            .iter()
            .filter_map(|o| match o {
                Out::Audio { pcm, .. } => Some(pcm.len()),
                _ => None,
            })
            .collect();
        // 1,010 ms of 24 kHz PCM16: 50 chunks of 20 ms (960 bytes) and a last one of 10 ms.
        assert_eq!(chunks.len(), 51);
        assert!(chunks[..50].iter().all(|&n| n == 960));
        assert_eq!(chunks[50], 480);
    }

    #[test]
    fn audio_is_paced_and_barge_in_interrupts() {
        let mut e = Engine::new(setup(true), opts(), Memory::default());
        let t0 = Instant::now();
        e.handle(
            Input::Text("Tell me a long story about the sea and the wind".into()),
            t0,
        );
        let first = drain(&mut e, t0);
        assert_eq!(
            first.len(),
            1,
            "only the first chunk is due at once: {first:?}"
        );
        let Poll::Wait(Some(next)) = e.poll(t0) else {
            panic!("expected a wait")
        };
        assert_eq!(next - t0, crate::config::DEFAULT_AUDIO_CHUNK);
        let speech: Vec<i16> = (0..16_000)
            .map(|i| ((f64::from(i) * 0.2).sin() * 8000.0) as i16)
            .collect();
        e.handle(
            Input::Audio {
                pcm: speech,
                rate: 16_000,
            },
            next,
        );
        let out = drain(&mut e, next);
        assert!(
            matches!(out[0], Out::VoiceActivity { start: true, .. }),
            "{out:?}"
        );
        assert_eq!(out[1], Out::Interrupted);
        assert!(matches!(out[2], Out::TurnComplete(_)));
        assert_eq!(e.memory().history[1].role, Role::Model);
    }
}
