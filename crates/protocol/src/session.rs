//! The sans-IO client session: frames in, events and frames out, time as an argument.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::close::Close;
use crate::decode::decode_server;
use crate::error::{Error, Misuse, Violation};
use crate::event::{Event, PendingTurn, Speech};
use crate::models::{self, Backend, ClientContentRule, ModelProfile};
use crate::speech::{Marker, Replayed, SpeechLog};
use crate::wire::{
    ClientContent, ClientMessage, ContextUpdate, FunctionCall, FunctionResponse, InteractionStatus,
    Modality, RealtimeInput, Scheduling, ServerContent, ServerMessage, SessionResumptionConfig,
    Setup, ToolResponse, encode_base64_into,
};

/// Input audio rate the Live API expects natively.
pub const INPUT_SAMPLE_RATE: u32 = 16_000;
/// Output audio rate of the Live API.
pub const OUTPUT_SAMPLE_RATE: u32 = 24_000;

/// The longest `goAway.timeLeft` taken as said. A connection lasts minutes; the wire can say
/// `u64::MAX` seconds, which no deadline can hold, so longer values are clamped to this.
pub const MAX_TIME_LEFT: Duration = Duration::from_secs(24 * 60 * 60);

/// The default [`SessionConfig::stall_timeout`]: longer than any silence of a working server
/// mid-turn (pongs seen 8 to 30 s late, thinking before the first output), short enough that a
/// stuck turn ends well before a person gives up on it.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(45);

/// The default [`SessionConfig::speech_kept`]: longer than an utterance, short enough that
/// sending it again costs a moment (about 1.3 MB of frames at 16 kHz).
pub const DEFAULT_SPEECH_KEPT: Duration = Duration::from_secs(30);

/// Frame buffers [`Session::recycle`] keeps for reuse.
pub const SPARE_FRAMES: usize = 4;

/// `audio/pcm;rate=N`.
pub fn pcm_mime(sample_rate: u32) -> String {
    format!("audio/pcm;rate={sample_rate}")
}

/// The rate of an `audio/pcm;rate=N` MIME type; `None` when absent or not PCM.
pub fn pcm_rate(mime_type: &str) -> Option<u32> {
    let mut parts = mime_type.split(';');
    let base = parts.next()?.trim();
    if !base.eq_ignore_ascii_case("audio/pcm") && !base.eq_ignore_ascii_case("audio/l16") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("rate")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// How to start a session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// The setup message, sent first. Its model name is used as given (see [`models`]).
    pub setup: Setup,
    /// The backend, for its rules (transparent resumption and explicit VAD are Vertex-only,
    /// tool responses need ids on the Gemini API).
    pub backend: Backend,
    /// How long to wait for `setupComplete` (`Duration::MAX`: forever).
    pub setup_timeout: Duration,
    /// How long a model turn may go without progress: while a reply is awaited (a text turn
    /// was sent) or streaming, and no frame arrives for this long, the session closes with
    /// [`CloseKind::Stalled`](crate::CloseKind::Stalled) (retriable: a driver resumes and sends
    /// the turn again). Paused while tool calls wait for the application, after
    /// `generationComplete` (Google may hold `turnComplete` back for the length of the audio) and
    /// while the model works in the background (`turnComplete` with `IN_PROGRESS`,
    /// `waitingForInput`). Speech starts the clock when the server shows it heard it (an input
    /// transcription between replies, or the end of activity its voice detection reports), except
    /// with proactive audio, where the model may choose silence; otherwise the reply's first
    /// output does. A text turn the model chooses not to answer (possible with proactive audio)
    /// looks like a stall too: it is sent again at most the driver's resend limit, then reported.
    /// `None` disables the check.
    pub stall_timeout: Option<Duration>,
    /// How much of the speech sent since the server last covered it (see
    /// [`Session::cut_turn`]) the session keeps to send again after a break: the newest audio,
    /// up to this long. Older audio of the same stretch is dropped and reported
    /// ([`Speech::dropped`](crate::Speech::dropped)). `Duration::ZERO` keeps none.
    pub speech_kept: Duration,
}

impl SessionConfig {
    /// A Gemini API session with a 15 s setup timeout and the [`DEFAULT_STALL_TIMEOUT`].
    pub fn new(setup: Setup) -> Self {
        Self {
            setup,
            backend: Backend::GeminiApi,
            setup_timeout: Duration::from_secs(15),
            stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
            speech_kept: DEFAULT_SPEECH_KEPT,
        }
    }
}

/// What the session wants done next. Drain with [`Session::poll_output`] until `Idle`.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send this JSON as one text frame.
    Transmit(String),
    /// Hand this event to the application.
    Event(Event),
    /// Close the connection (code 1000).
    Close,
    /// Nothing to do; call [`Session::handle_timeout`] at `wake_at` if no input comes first.
    Idle {
        /// The next deadline, if any.
        wake_at: Option<Instant>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// `None`: the timeout reaches past what an `Instant` can hold.
    AwaitingSetup {
        deadline: Option<Instant>,
    },
    Active,
    Closing,
    Closed(Close),
}

#[derive(Clone, Debug, PartialEq)]
struct PendingCall {
    id: Option<String>,
    name: String,
}

/// A user turn sent and not answered yet.
#[derive(Clone, Debug, PartialEq)]
struct SentTurn {
    /// Its number in the session (1-based, across connections).
    number: u64,
    /// The frame as sent, to send it again.
    frame: String,
    text: String,
    /// Its message index on the connection it was sent on.
    index: u64,
    /// How many times it was sent again after cuts.
    resends: u32,
}

/// A frame to send right after the next `setupComplete`, and the turn it carries.
#[derive(Clone, Debug, PartialEq)]
struct Replay {
    frame: String,
    turn: Option<SentTurn>,
}

/// Where the model's reply stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// Nothing since the last interaction ended.
    None,
    /// Output is streaming.
    Streaming,
    /// `generationComplete` came; only `turnComplete` is missing.
    Generated,
    /// The model may go on later at its own pace (`IN_PROGRESS`, `waitingForInput`).
    Waiting,
}

/// A client session over one connection.
///
/// The methods follow quinn's scheme:
/// - **inputs** `handle_frame`, `handle_close`, `handle_timeout`: what happened on the connection;
/// - **commands** `send_*`, `update_context`, `close`: what the application wants;
/// - **outputs** `poll_output`: drain after every input or command, until [`Output::Idle`];
/// - **getters**: `session_id`, `resumption_handle`, `is_ready`, `is_closed`, ...
///
/// Client messages after the setup are numbered from 1 on each connection. With transparent
/// resumption (Vertex), the session keeps every message the server has not acknowledged through
/// `lastConsumedClientMessageIndex`, and [`Session::next_connection`] replays them.
///
/// The session also follows the model's turns: the user turns sent and not answered (text
/// turns and `clientContent` turns), whether a reply streams, and when the server last showed
/// progress. That gives the stall check ([`SessionConfig::stall_timeout`]) and, when a
/// connection ends mid-turn, [`Session::cut_turn`]: the [`Event::TurnCut`] that says which
/// turns were lost and which the next connection sends again.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    profile: Option<ModelProfile>,
    state: State,
    out: VecDeque<Output>,
    session_id: Option<String>,
    resumption_handle: Option<String>,
    resumed: bool,
    go_away_deadline: Option<Instant>,
    pending_calls: Vec<PendingCall>,
    sent: u64,
    unacknowledged: VecDeque<(u64, String)>,
    replay_after_setup: Vec<Replay>,
    history_open: bool,
    spare: Vec<String>,
    /// User turns sent over the whole session.
    turns_sent: u64,
    /// User turns sent and not answered, oldest first.
    unanswered: VecDeque<SentTurn>,
    /// Whether the oldest unanswered turn was taken off at `generationComplete`.
    answered_early: bool,
    /// The server showed it heard the user's speech (an input transcription, or its voice
    /// detection's end of activity) and no reply to it has begun: the speech is a turn
    /// awaiting its answer.
    speech_heard: bool,
    reply: Reply,
    /// A tool response went out and the model has not reacted yet.
    tool_reply_expected: bool,
    /// The last sign of progress of the open turn; `None` until the next input with a time.
    progress_at: Option<Instant>,
    /// Turns to send again on the next connection (see [`Session::cut_turn`]).
    resend: Vec<SentTurn>,
    /// The speech sent since the server last covered it.
    speech: SpeechLog,
    /// Send `speech` again right after `setupComplete`.
    speech_replay: bool,
    /// `setupComplete` came on this connection.
    was_ready: bool,
    /// The model's turn was interrupted (by speech) since the last `turnComplete`.
    barge_in: bool,
}

impl Session {
    /// Starts a session: checks the setup and queues it as the first frame.
    pub fn new(config: SessionConfig, now: Instant) -> Result<Self, Error> {
        let profile = models::lookup(&config.setup.model, config.backend);
        check_setup(&config, profile.as_ref())?;
        let history_open = config
            .setup
            .history_config
            .as_ref()
            .and_then(|h| h.initial_history_in_client_content)
            .unwrap_or(false);
        let deadline = now.checked_add(config.setup_timeout);
        let setup_frame = ClientMessage::Setup(Box::new(config.setup.clone())).to_json();
        let mut out = VecDeque::new();
        out.push_back(Output::Transmit(setup_frame));
        let resumed = config
            .setup
            .session_resumption
            .as_ref()
            .is_some_and(|r| r.handle.is_some());
        Ok(Self {
            config,
            profile,
            state: State::AwaitingSetup { deadline },
            out,
            session_id: None,
            resumption_handle: None,
            resumed,
            go_away_deadline: None,
            pending_calls: Vec::new(),
            sent: 0,
            unacknowledged: VecDeque::new(),
            replay_after_setup: Vec::new(),
            history_open,
            spare: Vec::new(),
            turns_sent: 0,
            unanswered: VecDeque::new(),
            answered_early: false,
            speech_heard: false,
            reply: Reply::None,
            tool_reply_expected: false,
            progress_at: None,
            resend: Vec::new(),
            speech: SpeechLog::default(),
            speech_replay: false,
            was_ready: false,
            barge_in: false,
        })
    }

    /// A session for a new connection that resumes this one: the setup carries the latest
    /// resumable handle (if any), pending tool calls carry over, and right after `setupComplete`
    /// it sends the turns [`Session::cut_turn`] marked for sending again, then the speech it
    /// marked, then (transparent mode) the messages the server had not acknowledged, all before
    /// any command's frame. A session whose connection never got to `setupComplete` hands on
    /// what it was to send.
    pub fn next_connection(&self, now: Instant) -> Result<Self, Error> {
        let mut config = self.config.clone();
        if let Some(handle) = &self.resumption_handle {
            let transparent = config
                .setup
                .session_resumption
                .as_ref()
                .and_then(|r| r.transparent);
            config.setup.session_resumption = Some(SessionResumptionConfig {
                handle: Some(handle.clone()),
                transparent,
            });
        }
        let mut next = Self::new(config, now)?;
        next.resumption_handle = self.resumption_handle.clone();
        next.pending_calls = self.pending_calls.clone();
        next.turns_sent = self.turns_sent;
        next.replay_after_setup.clone_from(&self.replay_after_setup);
        let unacknowledged = |t: &SentTurn| self.unacknowledged.iter().any(|(i, _)| *i == t.index);
        for turn in self.resend.iter().filter(|t| !unacknowledged(t)) {
            next.replay_after_setup.push(Replay {
                frame: turn.frame.clone(),
                turn: Some(turn.clone()),
            });
        }
        for (index, frame) in &self.unacknowledged {
            next.replay_after_setup.push(Replay {
                frame: frame.clone(),
                turn: self.resend.iter().find(|t| t.index == *index).cloned(),
            });
        }
        next.history_open = self.history_open && self.resumption_handle.is_none();
        next.speech.clone_from(&self.speech);
        next.speech_replay = self.speech_replay;
        Ok(next)
    }

    /// The connection ended (call once the session is closed, before
    /// [`Session::next_connection`]): the [`Event::TurnCut`] to show the application, or `None`
    /// when no turn was open and no speech was cut. Each unanswered text turn sent again fewer
    /// than `resend_limit` times so far is marked to be sent again by the next connection; pass
    /// 0 when there will be none. In transparent mode a turn that is not resent is also taken
    /// out of the replay.
    ///
    /// Speech is cut too: the realtime audio, `audioStreamEnd` and activity markers sent since
    /// the server last covered them (the end of a whole answer: `generationComplete`, or a
    /// `turnComplete` that ends the interaction and was not interrupted; barge-in speech stays),
    /// at most [`SessionConfig::speech_kept`] of audio. When the connection had reached
    /// `setupComplete` and such audio was sent, the cut names it as a [`PendingTurn`] with
    /// [`PendingTurn::speech`] (last in `turns`), and marks it to be sent again right after the
    /// next `setupComplete`, unless this stretch of speech was already sent again
    /// `resend_limit` times (then it is dropped). The audio goes out as fast as the connection
    /// takes it; the server's voice activity detection measures speech in the audio, not in
    /// time. In transparent mode (Vertex) the replay of unacknowledged messages already carries
    /// the audio, and no speech is kept.
    pub fn cut_turn(&mut self, resend_limit: u32) -> Option<Event> {
        let cause = self.close_reason()?.clone();
        let speech = self.was_ready && self.speech.has_audio();
        if !self.turn_open() && !speech {
            return None;
        }
        self.reply = Reply::None;
        self.tool_reply_expected = false;
        self.answered_early = false;
        self.speech_heard = false;
        let mut turns = Vec::with_capacity(self.unanswered.len());
        for mut turn in std::mem::take(&mut self.unanswered) {
            let resent = turn.resends < resend_limit;
            turns.push(PendingTurn {
                number: turn.number,
                text: turn.text.clone(),
                resent,
                speech: None,
            });
            if resent {
                turn.resends += 1;
                self.resend.push(turn);
            } else {
                self.unacknowledged.retain(|(i, _)| *i != turn.index);
            }
        }
        if speech {
            let resent = self.speech.resends < resend_limit;
            turns.push(PendingTurn {
                number: 0,
                text: String::new(),
                resent,
                speech: Some(Speech {
                    audio: self.speech.kept(),
                    dropped: self.speech.dropped(),
                }),
            });
            if resent {
                self.speech.resends += 1;
                self.speech_replay = true;
            } else {
                self.speech.covered();
            }
        }
        Some(Event::TurnCut { cause, turns })
    }

    // ----- inputs -----

    /// Handles one frame from the server (text or binary payload).
    ///
    /// A malformed frame or a protocol violation is returned as an error *and* queued as an
    /// event; the session goes on either way.
    pub fn handle_frame(&mut self, frame: &[u8], now: Instant) -> Result<(), Error> {
        if matches!(self.state, State::Closed(_)) {
            return Ok(());
        }
        let decoded = match decode_server(frame) {
            Ok(d) => d,
            Err(e) => {
                // Not progress: a stalled turn stays stalled.
                self.event(Event::Malformed(e.clone()));
                return Err(Error::Decode(e));
            }
        };
        let result = self.handle_message(decoded.message, now);
        self.progress_at = Some(now);
        if !decoded.unknown.is_empty() {
            self.event(Event::Unrecognized {
                fields: decoded.unknown,
            });
        }
        result
    }

    /// Handles the end of the connection: `Some` with the close frame's code and reason, `None`
    /// when it ended without one.
    pub fn handle_close(&mut self, close: Option<CloseInfo>, _now: Instant) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        let close = match close {
            Some(c) => c.classify(),
            None => Close::abnormal(),
        };
        self.finish(close);
    }

    /// Handles the passing of time: the setup timeout and the stall check. A turn sent by a
    /// command starts its stall clock at the next input that carries a time: call this right
    /// after such a command (with the current time) for an exact clock.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::AwaitingSetup {
            deadline: Some(deadline),
        } = self.state
            && now >= deadline
        {
            self.out.push_back(Output::Close);
            self.finish(Close::setup_timeout(self.config.setup_timeout));
            return;
        }
        if self.progress_at.is_none() {
            self.progress_at = Some(now);
        }
        if let (Some(deadline), Some(after)) = (self.stall_deadline(), self.config.stall_timeout)
            && now >= deadline
        {
            self.out.push_back(Output::Close);
            self.finish(Close::stalled(after));
        }
    }

    // ----- commands -----

    /// Sends user text as `realtimeInput.text` (the way on 3.x models).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.transmit(ClientMessage::RealtimeInput(RealtimeInput {
            text: Some(text.to_owned()),
            ..RealtimeInput::default()
        }))?;
        self.sent_turn(text.to_owned());
        Ok(())
    }

    /// Sends a user turn the way the model prefers: `realtimeInput.text` on 3.x models,
    /// `clientContent` with `turnComplete: true` on older ones.
    pub fn send_user_turn(&mut self, text: &str) -> Result<(), Error> {
        if self.profile.is_none_or(|p| p.text_via_realtime_input) {
            self.send_text(text)
        } else {
            self.send_client_content(ClientContent {
                turns: Some(vec![crate::wire::Content::user_text(text)]),
                turn_complete: Some(true),
            })
        }
    }

    /// Sends `clientContent`: turns appended to the history (interrupts generation).
    pub fn send_client_content(&mut self, content: ClientContent) -> Result<(), Error> {
        self.ready()?;
        if let Some(p) = self.profile
            && p.client_content == ClientContentRule::InitialHistoryOnly
            && !self.history_open
        {
            return Err(Misuse::ClientContentNotAllowed {
                model: self.config.setup.model.clone(),
            }
            .into());
        }
        // A turn the model answers; initial history is not answered.
        let turn = (content.turn_complete == Some(true) && !self.history_open)
            .then(|| content_text(&content));
        if content.turn_complete == Some(true) {
            self.history_open = false;
        }
        self.transmit(ClientMessage::ClientContent(content))?;
        if let Some(text) = turn {
            self.sent_turn(text);
        }
        Ok(())
    }

    /// Sends PCM16 little-endian mono audio as `realtimeInput.audio`.
    pub fn send_audio(&mut self, pcm16le: &[u8], sample_rate: u32) -> Result<(), Error> {
        self.ready()?;
        Self::check_audio(pcm16le, sample_rate)?;
        let frame = self.audio_frame(pcm16le, sample_rate);
        self.push_frame(frame);
        if !self.transparent() {
            self.speech
                .audio(pcm16le, sample_rate, self.config.speech_kept);
        }
        Ok(())
    }

    /// The hot path: written directly, base64 straight into the frame, in a recycled buffer
    /// when the driver hands frames back (see `recycle`).
    fn audio_frame(&mut self, pcm16le: &[u8], sample_rate: u32) -> String {
        let mut frame = self.spare.pop().unwrap_or_default();
        frame.clear();
        frame.reserve(pcm16le.len().div_ceil(3) * 4 + 80);
        frame.push_str(r#"{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate="#);
        let _ = write!(frame, "{sample_rate}");
        frame.push_str(r#"","data":""#);
        encode_base64_into(pcm16le, &mut frame);
        frame.push_str(r#""}}}"#);
        frame
    }

    /// The frame of a speech marker.
    fn marker_frame(marker: Marker) -> String {
        let input = match marker {
            Marker::ActivityStart => RealtimeInput {
                activity_start: Some(Default::default()),
                ..RealtimeInput::default()
            },
            Marker::ActivityEnd => RealtimeInput {
                activity_end: Some(Default::default()),
                ..RealtimeInput::default()
            },
            Marker::AudioStreamEnd => RealtimeInput {
                audio_stream_end: Some(true),
                ..RealtimeInput::default()
            },
        };
        ClientMessage::RealtimeInput(input).to_json()
    }

    /// Sends a speech marker and keeps it with the speech.
    fn send_marker(&mut self, marker: Marker) -> Result<(), Error> {
        self.ready()?;
        self.push_frame(Self::marker_frame(marker));
        if !self.transparent() {
            self.speech.marker(marker);
        }
        Ok(())
    }

    /// What [`Session::send_audio`] refuses in any state of the session: an odd number of bytes
    /// (PCM16 has two per sample) or a zero sample rate. For a driver that queues audio before
    /// the session sees it, so that a bad chunk is refused to its sender at once.
    pub fn check_audio(pcm16le: &[u8], sample_rate: u32) -> Result<(), Misuse> {
        if !pcm16le.len().is_multiple_of(2) {
            return Err(Misuse::OddPcmLength(pcm16le.len()));
        }
        if sample_rate == 0 {
            return Err(Misuse::ZeroSampleRate);
        }
        Ok(())
    }

    /// Sends one image frame (`image/jpeg` or `image/png`) as `realtimeInput.video`.
    pub fn send_video(&mut self, image: &[u8], mime_type: &str) -> Result<(), Error> {
        self.ready()?;
        if !mime_type.to_ascii_lowercase().starts_with("image/") {
            return Err(Misuse::NotAnImage(mime_type.to_owned()).into());
        }
        self.transmit(ClientMessage::RealtimeInput(RealtimeInput {
            video: Some(crate::wire::Blob::new(mime_type, image)),
            ..RealtimeInput::default()
        }))
    }

    /// Marks the start of user activity (automatic activity detection must be disabled).
    pub fn send_activity_start(&mut self) -> Result<(), Error> {
        self.ready()?;
        if !self.manual_vad() {
            return Err(Misuse::ManualActivityWithAutomaticVad.into());
        }
        self.send_marker(Marker::ActivityStart)
    }

    /// Marks the end of user activity: the user's turn is over.
    pub fn send_activity_end(&mut self) -> Result<(), Error> {
        self.ready()?;
        if !self.manual_vad() {
            return Err(Misuse::ManualActivityWithAutomaticVad.into());
        }
        self.send_marker(Marker::ActivityEnd)
    }

    /// Tells the server the audio stream paused or ended (automatic activity detection only).
    pub fn send_audio_stream_end(&mut self) -> Result<(), Error> {
        self.ready()?;
        if self.manual_vad() {
            return Err(Misuse::AudioStreamEndWithManualVad.into());
        }
        self.send_marker(Marker::AudioStreamEnd)
    }

    /// Answers pending tool calls. Each response must name a pending call's id (on Vertex a
    /// response without id is matched by function name). A response with `willContinue: true`
    /// keeps its call pending for more responses.
    pub fn send_tool_response(&mut self, responses: Vec<FunctionResponse>) -> Result<(), Error> {
        self.ready()?;
        if responses.is_empty() {
            return Err(Misuse::EmptyToolResponse.into());
        }
        let mut answered = Vec::new();
        for r in &responses {
            let index = match &r.id {
                Some(id) => self
                    .pending_calls
                    .iter()
                    .position(|c| c.id.as_deref() == Some(id.as_str())),
                None if self.config.backend == Backend::GeminiApi => {
                    return Err(Misuse::MissingToolResponseId {
                        name: r.name.clone().unwrap_or_default(),
                    }
                    .into());
                }
                None => self
                    .pending_calls
                    .iter()
                    .position(|c| Some(&c.name) == r.name.as_ref()),
            };
            match index {
                Some(i) => answered.push((i, r.will_continue == Some(true))),
                None => {
                    return Err(Misuse::UnknownToolCall(
                        r.id.clone().or_else(|| r.name.clone()).unwrap_or_default(),
                    )
                    .into());
                }
            }
        }
        let mut done: Vec<usize> = answered
            .into_iter()
            .filter(|(_, more)| !more)
            .map(|(i, _)| i)
            .collect();
        done.sort_unstable();
        done.dedup();
        for i in done.into_iter().rev() {
            self.pending_calls.remove(i);
        }
        let silent = responses
            .iter()
            .all(|r| r.scheduling == Some(Scheduling::Silent));
        self.transmit(ClientMessage::ToolResponse(ToolResponse {
            function_responses: responses,
        }))?;
        if !silent {
            self.tool_reply_expected = true;
            self.progress_at = None;
        }
        Ok(())
    }

    /// Updates the system instruction and/or tools mid-session (`contextUpdate`).
    pub fn update_context(&mut self, update: ContextUpdate) -> Result<(), Error> {
        self.transmit(ClientMessage::ContextUpdate(update))
    }

    /// Ends the session: queues [`Output::Close`]. The session is closed once the transport
    /// reports the close with [`Session::handle_close`].
    pub fn close(&mut self, _now: Instant) {
        match self.state {
            State::AwaitingSetup { .. } | State::Active => {
                self.state = State::Closing;
                self.out.push_back(Output::Close);
            }
            State::Closing | State::Closed(_) => {}
        }
    }

    // ----- outputs -----

    /// The next thing to do. Call until it returns [`Output::Idle`].
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        let wake_at = match self.state {
            State::AwaitingSetup { deadline } => deadline,
            _ => self.stall_deadline(),
        };
        Output::Idle { wake_at }
    }

    /// Hands back a frame from [`Output::Transmit`] once it is written, so that the next
    /// [`Session::send_audio`] reuses its buffer instead of allocating one. Optional: a driver
    /// that moves frames into its socket library simply never calls it. Keeps at most
    /// [`SPARE_FRAMES`] buffers.
    pub fn recycle(&mut self, frame: String) {
        if self.spare.len() < SPARE_FRAMES {
            self.spare.push(frame);
        }
    }

    // ----- getters -----

    /// The setup this session sent.
    pub fn setup(&self) -> &Setup {
        &self.config.setup
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.config.backend
    }

    /// What the session knows about its model, if it is a known one.
    pub fn model_profile(&self) -> Option<&ModelProfile> {
        self.profile.as_ref()
    }

    /// Whether `setupComplete` arrived and the session is open.
    pub fn is_ready(&self) -> bool {
        self.state == State::Active
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// How it ended, once closed.
    pub fn close_reason(&self) -> Option<&Close> {
        match &self.state {
            State::Closed(c) => Some(c),
            _ => None,
        }
    }

    /// Vertex's session id.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The latest handle that came with `resumable: true`.
    pub fn resumption_handle(&self) -> Option<&str> {
        self.resumption_handle.as_deref()
    }

    /// When the server said it would end this connection.
    pub fn go_away_deadline(&self) -> Option<Instant> {
        self.go_away_deadline
    }

    /// Ids (or names, when the server gave no id) of tool calls waiting for a response.
    pub fn pending_tool_calls(&self) -> impl Iterator<Item = &str> {
        self.pending_calls
            .iter()
            .map(|c| c.id.as_deref().unwrap_or(&c.name))
    }

    /// Client messages sent on this connection after the setup.
    pub fn messages_sent(&self) -> u64 {
        self.sent
    }

    /// Messages kept for transparent replay (not yet acknowledged by the server).
    pub fn unacknowledged(&self) -> usize {
        self.unacknowledged.len()
    }

    /// Whether a model turn is open: a user turn (typed, or speech the server transcribed)
    /// awaits its answer, a reply streams, or the model is to react to a tool response.
    pub fn turn_open(&self) -> bool {
        !self.unanswered.is_empty()
            || self.reply != Reply::None
            || self.tool_reply_expected
            || self.speech_heard
    }

    /// User turns sent over the whole session (the number of the latest one).
    pub fn turns_sent(&self) -> u64 {
        self.turns_sent
    }

    /// When the open turn counts as stalled, if the stall check runs now.
    fn stall_deadline(&self) -> Option<Instant> {
        let armed = self.state == State::Active
            && self.turn_open()
            && self.pending_calls.is_empty()
            && matches!(self.reply, Reply::None | Reply::Streaming);
        if !armed {
            return None;
        }
        self.progress_at?.checked_add(self.config.stall_timeout?)
    }

    // ----- internals -----

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// A user turn went out (its frame is the latest transmitted one).
    fn sent_turn(&mut self, text: String) {
        let Some(Output::Transmit(frame)) = self.out.back() else {
            return;
        };
        self.turns_sent += 1;
        self.unanswered.push_back(SentTurn {
            number: self.turns_sent,
            frame: frame.clone(),
            text,
            index: self.sent,
            resends: 0,
        });
        if self.reply == Reply::Waiting {
            self.reply = Reply::None;
        }
        self.progress_at = None;
    }

    /// The server heard the user speak between replies: an answer is awaited, unless the model
    /// may choose to stay silent (proactive audio), where silence is no stall.
    fn heard_speech(&mut self) {
        let proactive = self
            .config
            .setup
            .proactivity
            .as_ref()
            .is_some_and(|p| p.proactive_audio == Some(true));
        self.speech_heard = !proactive;
    }

    /// The model's reply shows up.
    fn replying(&mut self) {
        if self.reply == Reply::None {
            self.speech.reply_began();
            self.speech_heard = false;
        }
        if self.reply != Reply::Generated {
            self.reply = Reply::Streaming;
        }
        self.tool_reply_expected = false;
    }

    /// Sends the kept speech again (right after `setupComplete`); it stays kept.
    fn replay_speech(&mut self) {
        for item in self.speech.replay() {
            let frame = match item {
                Replayed::Audio { pcm, rate } => self.audio_frame(&pcm, rate),
                Replayed::Marker(marker) => Self::marker_frame(marker),
            };
            self.push_frame(frame);
        }
    }

    /// The oldest unanswered turn has its answer.
    fn answered(&mut self) {
        if !self.answered_early {
            self.unanswered.pop_front();
        }
    }

    fn finish(&mut self, close: Close) {
        self.state = State::Closed(close.clone());
        self.event(Event::Closed(close));
    }

    fn ready(&self) -> Result<(), Error> {
        match &self.state {
            State::Active => Ok(()),
            State::AwaitingSetup { .. } => Err(Misuse::NotReady.into()),
            State::Closing => Err(Error::Closed(Close::from_wire(
                1000,
                "closed by the client",
            ))),
            State::Closed(c) => Err(Error::Closed(c.clone())),
        }
    }

    fn manual_vad(&self) -> bool {
        self.config
            .setup
            .realtime_input_config
            .as_ref()
            .and_then(|c| c.automatic_activity_detection.as_ref())
            .and_then(|a| a.disabled)
            .unwrap_or(false)
    }

    fn transparent(&self) -> bool {
        self.config
            .setup
            .session_resumption
            .as_ref()
            .and_then(|r| r.transparent)
            .unwrap_or(false)
    }

    fn transmit(&mut self, message: ClientMessage) -> Result<(), Error> {
        self.ready()?;
        self.push_frame(message.to_json());
        Ok(())
    }

    fn push_frame(&mut self, frame: String) {
        self.sent += 1;
        if self.transparent() {
            self.unacknowledged.push_back((self.sent, frame.clone()));
        }
        self.out.push_back(Output::Transmit(frame));
    }

    fn handle_message(&mut self, msg: ServerMessage, now: Instant) -> Result<(), Error> {
        let mut violation = None;
        if let Some(setup) = msg.setup_complete {
            if matches!(self.state, State::AwaitingSetup { .. }) {
                self.state = State::Active;
                self.session_id = setup.session_id.clone();
                self.event(Event::SetupComplete {
                    session_id: setup.session_id,
                    resumed: self.resumed,
                });
                self.was_ready = true;
                for replay in std::mem::take(&mut self.replay_after_setup) {
                    self.push_frame(replay.frame);
                    if let Some(mut turn) = replay.turn {
                        turn.index = self.sent;
                        self.unanswered.push_back(turn);
                    }
                }
                if std::mem::take(&mut self.speech_replay) {
                    self.replay_speech();
                }
            } else {
                violation = Some(Violation::DuplicateSetupComplete);
            }
        } else if matches!(self.state, State::AwaitingSetup { .. })
            && let Some(what) = first_content_key(&msg)
        {
            violation = Some(Violation::BeforeSetupComplete(what));
        }
        let mut usage = msg.usage_metadata;
        if let Some(content) = msg.server_content {
            self.handle_content(content, &mut usage, now);
        }
        if let Some(u) = usage {
            self.event(Event::Usage(Box::new(u)));
        }
        if let Some(call) = msg.tool_call {
            self.replying();
            for c in &call.function_calls {
                self.pending_calls.push(PendingCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                });
            }
            self.event(Event::ToolCall {
                calls: call.function_calls,
            });
        }
        if let Some(cancel) = msg.tool_call_cancellation {
            self.pending_calls
                .retain(|c| !c.id.as_ref().is_some_and(|id| cancel.ids.contains(id)));
            self.event(Event::ToolCallCancellation { ids: cancel.ids });
        }
        if let Some(go_away) = msg.go_away {
            let time_left = go_away
                .time_left
                .map_or(Duration::ZERO, |d| d.0.min(MAX_TIME_LEFT));
            let deadline = now.checked_add(time_left).unwrap_or(now);
            self.go_away_deadline = Some(deadline);
            self.event(Event::GoAway {
                time_left,
                deadline,
            });
        }
        if let Some(update) = msg.session_resumption_update {
            let resumable = update.resumable.unwrap_or(false);
            let handle = update.new_handle.filter(|h| !h.is_empty());
            if resumable && let Some(h) = &handle {
                self.resumption_handle = Some(h.clone());
            }
            if let Some(index) = update.last_consumed_client_message_index {
                while self
                    .unacknowledged
                    .front()
                    .is_some_and(|(i, _)| i64::try_from(*i).is_ok_and(|i| i <= index))
                {
                    self.unacknowledged.pop_front();
                }
            }
            self.event(Event::Resumption {
                handle,
                resumable,
                last_consumed_index: update.last_consumed_client_message_index,
            });
        }
        if let Some(activity) = msg.voice_activity {
            let kind = activity
                .r#type
                .unwrap_or(crate::wire::VoiceActivityType::Unspecified);
            // The server's voice detection heard an utterance end: its answer is awaited.
            if kind == crate::wire::VoiceActivityType::ActivityEnd && self.reply == Reply::None {
                self.heard_speech();
            }
            self.event(Event::VoiceActivity {
                kind,
                audio_offset: activity.audio_offset.map(|d| d.0),
            });
        }
        if let Some(signal) = msg.voice_activity_detection_signal {
            self.event(Event::VadSignal {
                kind: signal
                    .vad_signal_type
                    .unwrap_or(crate::wire::VadSignalType::Unspecified),
            });
        }
        match violation {
            Some(v) => {
                self.event(Event::Violation(v.clone()));
                Err(Error::Violation(v))
            }
            None => Ok(()),
        }
    }

    fn handle_content(
        &mut self,
        content: ServerContent,
        usage: &mut Option<crate::wire::UsageMetadata>,
        now: Instant,
    ) {
        if let Some(t) = content.input_transcription {
            // Heard between replies: speech the next reply answers (one under way may carry
            // the transcription of what it answers).
            if self.reply == Reply::None && t.text.as_deref().is_some_and(|t| !t.trim().is_empty())
            {
                self.heard_speech();
            }
            self.event(Event::InputTranscript {
                text: t.text.unwrap_or_default(),
                finished: t.finished.unwrap_or(false),
                interim: false,
            });
        }
        if let Some(t) = content.interim_input_transcription {
            self.event(Event::InputTranscript {
                text: t.text.unwrap_or_default(),
                finished: t.finished.unwrap_or(false),
                interim: true,
            });
        }
        if content.model_turn.is_some() || content.output_transcription.is_some() {
            self.replying();
        }
        if let Some(turn) = content.model_turn {
            for part in turn.parts {
                if let Some(text) = part.text {
                    self.event(Event::Text {
                        text,
                        thought: part.thought.unwrap_or(false),
                    });
                }
                if let Some(blob) = part.inline_data {
                    let data: Bytes = blob.data.0;
                    let is_audio = blob
                        .mime_type
                        .get(..6)
                        .is_some_and(|p| p.eq_ignore_ascii_case("audio/"));
                    if is_audio {
                        let sample_rate = pcm_rate(&blob.mime_type).unwrap_or(OUTPUT_SAMPLE_RATE);
                        self.event(Event::Audio {
                            data,
                            mime_type: blob.mime_type,
                            sample_rate,
                            received: now,
                        });
                    } else {
                        self.event(Event::InlineData {
                            mime_type: blob.mime_type,
                            data,
                        });
                    }
                }
                if let Some(code) = part.executable_code {
                    self.event(Event::ExecutableCode(code));
                }
                if let Some(result) = part.code_execution_result {
                    self.event(Event::CodeExecutionResult(result));
                }
                if let Some(sig) = part.thought_signature {
                    self.event(Event::ThoughtSignature(sig.0));
                }
            }
        }
        if let Some(t) = content.output_transcription {
            self.event(Event::OutputTranscript {
                text: t.text.unwrap_or_default(),
                finished: t.finished.unwrap_or(false),
            });
        }
        if let Some(g) = content.grounding_metadata
            && g != Default::default()
        {
            self.event(Event::Grounding(Box::new(g)));
        }
        if let Some(u) = content.url_context_metadata {
            self.event(Event::UrlContext(Box::new(u)));
        }
        if content.generation_complete == Some(true) {
            // The answer is whole: a cut from here on loses nothing worth asking again, and the
            // speech before it was heard.
            self.speech.covered();
            if !self.answered_early {
                self.answered();
                self.answered_early = true;
            }
            self.reply = Reply::Generated;
            self.tool_reply_expected = false;
            self.event(Event::GenerationComplete);
        }
        if content.interrupted == Some(true) {
            self.barge_in = true;
            self.speech.covered_to_reply();
            self.event(Event::Interrupted);
        }
        if content.waiting_for_input == Some(true) {
            self.reply = Reply::Waiting;
            self.event(Event::WaitingForInput);
        }
        if content.turn_complete == Some(true) {
            if let Some(u) = usage.take() {
                self.event(Event::Usage(Box::new(u)));
            }
            if ends_interaction(content.interaction_status.as_ref()) {
                // Speech that interrupted the reply waits for its own answer.
                if !std::mem::take(&mut self.barge_in) {
                    self.speech.covered();
                }
                self.answered();
                self.answered_early = false;
                self.reply = Reply::None;
                self.tool_reply_expected = false;
            } else {
                self.reply = Reply::Waiting;
            }
            self.event(Event::TurnComplete {
                reason: content.turn_complete_reason,
                status: content.interaction_status,
            });
        }
    }
}

/// Whether a `turnComplete` with this `interactionStatus` ends the interaction, as google-genai
/// 3.x decides it: `IN_PROGRESS` (and the deprecated `REQUIRES_ACTION`) mean more output follows.
pub fn ends_interaction(status: Option<&InteractionStatus>) -> bool {
    !matches!(
        status,
        Some(InteractionStatus::InProgress | InteractionStatus::RequiresAction)
    )
}

/// The text of a `clientContent`'s turns, for [`PendingTurn::text`].
fn content_text(content: &ClientContent) -> String {
    let mut text = String::new();
    for part in content.turns.iter().flatten().flat_map(|t| &t.parts) {
        if let Some(t) = &part.text {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(t);
        }
    }
    text
}

/// The code and reason of a close frame, as the transport received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code.
    pub code: u16,
    /// The reason text.
    pub reason: String,
}

impl CloseInfo {
    /// A close frame's content.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// What it means.
    pub fn classify(&self) -> Close {
        Close::from_wire(self.code, &self.reason)
    }
}

fn first_content_key(msg: &ServerMessage) -> Option<&'static str> {
    if msg
        .server_content
        .as_ref()
        .is_some_and(|c| *c != ServerContent::default())
    {
        Some("serverContent")
    } else if msg.tool_call.is_some() {
        Some("toolCall")
    } else if msg.tool_call_cancellation.is_some() {
        Some("toolCallCancellation")
    } else if msg.session_resumption_update.is_some() {
        Some("sessionResumptionUpdate")
    } else {
        None
    }
}

fn check_setup(config: &SessionConfig, profile: Option<&ModelProfile>) -> Result<(), Error> {
    let setup = &config.setup;
    let modalities = setup.response_modalities();
    if modalities.len() > 1 {
        let names: Vec<&str> = modalities.iter().map(Modality::as_str).collect();
        return Err(Misuse::MultipleModalities(names.join(", ")).into());
    }
    if let Some(p) = profile
        && p.audio_only
        && modalities.first().is_some_and(|m| *m != Modality::Audio)
    {
        return Err(Misuse::AudioOnlyModel {
            model: setup.model.clone(),
        }
        .into());
    }
    if config.backend == Backend::GeminiApi {
        if setup
            .session_resumption
            .as_ref()
            .and_then(|r| r.transparent)
            .is_some()
        {
            return Err(Misuse::TransparentOnGeminiApi.into());
        }
        if setup.explicit_vad_signal.is_some() {
            return Err(Misuse::ExplicitVadSignalOnGeminiApi.into());
        }
    }
    Ok(())
}

/// Summaries used by tests and traces.
impl FunctionCall {
    /// The id, or the name when the server gave no id.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do; the session never reads the clock
    fn recycled_frames_are_reused_and_identical() {
        let now = Instant::now();
        let mut session = Session::new(SessionConfig::new(Setup::new("models/m")), now).unwrap();
        assert!(matches!(session.poll_output(), Output::Transmit(_)));
        session
            .handle_frame(br#"{"setupComplete": {}}"#, now)
            .unwrap();
        assert!(matches!(session.poll_output(), Output::Event(_)));
        let pcm = [1u8, 0, 255, 127, 0, 128];
        session.send_audio(&pcm, 16_000).unwrap();
        let Output::Transmit(fresh) = session.poll_output() else {
            panic!("expected a frame")
        };
        let expected =
            r#"{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"AQD/fwCA"}}}"#;
        assert_eq!(fresh, expected);
        // A long frame handed back is reused for a shorter one, and nothing of it leaks through.
        let mut old = "x".repeat(4096);
        old.insert_str(0, "stale");
        let old_ptr = old.as_ptr();
        session.recycle(old);
        session.send_audio(&pcm, 16_000).unwrap();
        let Output::Transmit(reused) = session.poll_output() else {
            panic!("expected a frame")
        };
        assert_eq!(reused, expected);
        assert_eq!(reused.as_ptr(), old_ptr);
        for _ in 0..2 * SPARE_FRAMES {
            session.recycle(String::new());
        }
        assert_eq!(session.spare.len(), SPARE_FRAMES);
    }
}
