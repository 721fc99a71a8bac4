//! One Live session's behaviour, free of IO: inputs in, timed outputs out (`now` is always an
//! argument).
//!
//! The connection layer decodes client frames into [`Input`]s, calls [`Engine::handle`], then
//! drains [`Engine::poll`] until it returns [`Poll::Wait`], turning each [`Out`] into a server
//! frame.
//!
//! - `mod.rs`: the types, input dispatch, and the output queue with its clock;
//! - `listen.rs`: audio in: voice activity, manual activity, speech turns;
//! - `reply.rs`: model turns: what to answer, speaking (text deltas, audio generated chunk by
//!   chunk, transcripts in the model's layout), ending and interrupting turns;
//! - `calls.rs`: function calls and their responses;
//! - `tokens.rs`: token accounting and the context window.

mod calls;
mod listen;
mod reply;
mod tokens;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::wire::GroundingMetadata;
use serde_json::Value;

use crate::close::Close;
use crate::config::Voice;
use crate::layout::{Layout, Transcripts};
use crate::responder::{Role, Turn};
use crate::script::Script;
use crate::synth::{self, SpeechStream};
use crate::tools::FunctionDecl;
use crate::vad::{Vad, VadConfig};

/// What the client configured (and the model allows), in the engine's terms.
#[derive(Debug, Clone)]
pub(crate) struct SessionSetup {
    pub(crate) vertex: bool,
    /// How the model lays out its messages.
    pub(crate) layout: Layout,
    /// Vertex `explicitVadSignal`: send `voiceActivityDetectionSignal` events.
    pub(crate) explicit_vad_signal: bool,
    /// Send `voiceActivity` events (Gemini API, 3.x models, automatic activity detection
    /// configured in the setup).
    pub(crate) voice_activity: bool,
    pub(crate) audio_out: bool,
    pub(crate) input_transcription: bool,
    pub(crate) output_transcription: bool,
    pub(crate) functions: Vec<FunctionDecl>,
    /// `googleSearch` declared.
    pub(crate) google_search: bool,
    /// `None`: automatic activity detection disabled (manual `activityStart`/`activityEnd`).
    pub(crate) vad: Option<VadConfig>,
    pub(crate) no_interruption: bool,
    /// `sessionResumption` in the setup.
    pub(crate) resumption: bool,
    /// `(trigger_tokens, target_tokens)` of `contextWindowCompression`.
    pub(crate) compression: Option<(i64, i64)>,
    pub(crate) context_limit: i64,
    /// The most tokens a reply of the built-in responder may have.
    pub(crate) max_output_tokens: i64,
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
    /// Google searches made for the turn (`billedToolCalls`).
    pub(crate) searches: i64,
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
    /// PCM16LE at 24 kHz, with the output transcription fragment spoken in it (3.x layout).
    Audio {
        pcm: Vec<u8>,
        transcript: Option<String>,
    },
    /// An `outputTranscription` of its own: a fragment, `{}` (opening) or `{"finished": true}`.
    OutputTranscript {
        text: Option<String>,
        finished: bool,
    },
    InputTranscript {
        text: String,
        finished: bool,
    },
    /// `{"serverContent": {}}`.
    EmptyContent,
    /// Python the model "runs" (`executableCode`).
    Code(String),
    Grounding(Box<GroundingMetadata>),
    GenerationComplete,
    Interrupted,
    TurnComplete {
        usage: Usage,
        grounding: Option<Box<GroundingMetadata>>,
    },
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

/// How far ahead of playback audio is sent: Google generates faster than real time (its
/// `generationComplete` comes while the audio still plays), so a client always holds some.
const AUDIO_LEAD: Duration = Duration::from_millis(600);

/// When (in emulated time from the start of the speech) chunk `n` of `chunk` is due.
fn speech_time(chunk: Duration, n: u32) -> Duration {
    chunk.saturating_mul(n).saturating_sub(AUDIO_LEAD)
}

/// Something queued for a time.
#[derive(Debug)]
struct Scheduled {
    at: Instant,
    item: Item,
    /// Part of the current model turn (dropped by an interruption).
    of_turn: bool,
}

#[derive(Debug)]
enum Item {
    Out {
        out: Out,
        /// Model text that is "said" once this is sent.
        said: Option<String>,
        ends_turn: bool,
    },
    /// Speech, generated one chunk at a time as it falls due.
    Speech(Box<Speaking>),
}

#[derive(Debug)]
struct Speaking {
    stream: SpeechStream,
    /// When the first chunk was due.
    start: Instant,
    /// Chunks sent so far.
    chunks: u32,
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
    /// When the last audio arrived (time without audio counts as silence for the VAD).
    last_audio: Option<Instant>,
    /// Audio received since a manual `activityStart`.
    manual_activity: Option<Duration>,
    connection_audio: Duration,
    turn: Option<ActiveTurn>,
    queue: VecDeque<Scheduled>,
    /// Outputs already made, to send before anything else.
    ready: VecDeque<Out>,
    /// Inputs held back by NO_INTERRUPTION until the current turn ends.
    deferred: VecDeque<Input>,
    /// WHEN_IDLE tool results to speak once the current turn ends.
    idle_results: VecDeque<String>,
    /// Until when the last reply's audio would be playing at the client (real time).
    playing_until: Option<Instant>,
    /// Token counts of the history (kept as it changes).
    history_tokens: tokens::HistoryTokens,
    history_open: bool,
    /// The turn being answered is speech (for [`Layout::speech_resumption`]).
    answering_speech: bool,
    closed: bool,
}

impl Engine {
    pub(crate) fn new(setup: SessionSetup, opts: EngineOptions, mem: Memory) -> Self {
        let vad = setup.vad.map(Vad::new);
        let history_open = setup.initial_history_in_client_content && mem.history.is_empty();
        let history_tokens = tokens::HistoryTokens::of(&mem.history);
        Self {
            setup,
            opts,
            mem,
            vad,
            last_audio: None,
            manual_activity: None,
            connection_audio: Duration::ZERO,
            turn: None,
            queue: VecDeque::new(),
            ready: VecDeque::new(),
            deferred: VecDeque::new(),
            idle_results: VecDeque::new(),
            playing_until: None,
            history_tokens,
            history_open,
            answering_speech: false,
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
            item: Item::Out {
                out,
                said: None,
                ends_turn: false,
            },
            of_turn: false,
        });
    }

    fn push_turn(&mut self, at: Instant, out: Out, said: Option<String>, ends_turn: bool) {
        self.queue.push_back(Scheduled {
            at,
            item: Item::Out {
                out,
                said,
                ends_turn,
            },
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
        loop {
            if let Some(out) = self.ready.pop_front() {
                return Poll::Send(out);
            }
            // A stalled turn withholds its own output; what was said before it (the user's
            // transcript, the turn's opening) has gone out, as Google's would have.
            if self.turn.as_ref().is_some_and(|t| t.stalled)
                && !self.closed
                && self.queue.front().is_none_or(|s| s.of_turn)
            {
                return Poll::Wait(None);
            }
            let stream_stop = self.stream_stop_deadline();
            if let Some(deadline) = stream_stop
                && deadline <= now
            {
                self.stream_stopped(now);
                continue;
            }
            let Some(front) = self.queue.front() else {
                return Poll::Wait(stream_stop);
            };
            if front.at > now {
                let wake = stream_stop.map_or(front.at, |s| s.min(front.at));
                return Poll::Wait(Some(wake));
            }
            self.step(now);
        }
    }

    /// Handles the front of the queue (due now) into `ready`.
    fn step(&mut self, now: Instant) {
        let Some(mut front) = self.queue.pop_front() else {
            return;
        };
        match front.item {
            Item::Out {
                out,
                said,
                ends_turn,
            } => {
                if let (Some(s), Some(turn)) = (said, self.turn.as_mut()) {
                    turn.spoken.push_str(&s);
                }
                self.ready.push_back(out);
                if ends_turn {
                    self.finish_turn(now);
                }
            }
            Item::Speech(ref mut speaking) => {
                let max = synth::samples(self.opts.audio_chunk).max(1);
                let Some(chunk) = speaking.stream.next_chunk(max) else {
                    return;
                };
                speaking.chunks += 1;
                front.at = speaking.start
                    + self.paced(speech_time(self.opts.audio_chunk, speaking.chunks));
                let last = chunk.last;
                self.lay_out(chunk);
                if !last {
                    self.queue.push_front(front);
                }
            }
        }
    }

    /// One chunk of speech as the model's layout sends it.
    fn lay_out(&mut self, chunk: synth::Chunk) {
        let layout = self.setup.layout;
        let first = self.turn.as_ref().is_none_or(|t| t.spoken.is_empty());
        let fragment = (!chunk.words.is_empty()).then(|| {
            let text = chunk.words.join(" ");
            if first { text } else { format!(" {text}") }
        });
        if let (Some(f), Some(turn)) = (&fragment, self.turn.as_mut()) {
            turn.spoken.push_str(f);
        }
        let transcribe = self.setup.output_transcription || layout.always_transcribe;
        let pcm: Vec<u8> = chunk.pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let fragment = fragment.filter(|_| transcribe);
        if layout.transcripts == Transcripts::WithAudio {
            self.ready.push_back(Out::Audio {
                pcm,
                transcript: fragment,
            });
            return;
        }
        if let Some(text) = fragment {
            if first && layout.transcript_opens_empty {
                self.ready.push_back(Out::OutputTranscript {
                    text: None,
                    finished: false,
                });
            }
            self.ready.push_back(Out::OutputTranscript {
                text: Some(text),
                finished: false,
            });
        }
        if chunk.last && transcribe && layout.transcript_finished {
            self.ready.push_back(Out::OutputTranscript {
                text: None,
                finished: true,
            });
        }
        self.ready.push_back(Out::Audio {
            pcm,
            transcript: None,
        });
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
                    for t in turns {
                        self.remember(t);
                    }
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
                for t in turns {
                    self.remember(t);
                }
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
                    self.remember(Turn {
                        role: Role::User,
                        text: text.clone(),
                    });
                    self.user_turn(now, text);
                }
            }
            Input::Audio { pcm, rate } => self.audio(&pcm, rate, now),
            Input::Video => self.mem.video_frames += 1,
            Input::ActivityStart => self.activity_start(now),
            Input::ActivityEnd => self.activity_end(now),
            Input::AudioStreamEnd => self.audio_stream_end(now),
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
}

#[cfg(test)]
mod tests;
