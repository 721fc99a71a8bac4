//! `gemlive talk`: a spoken conversation, full duplex, with interruption.
//!
//! ```text
//!  mic / WAV (paced) / stdin PCM ─ uplink thread (local VAD) ─┐
//!  typed lines, push-to-talk (Enter) ─ stdin thread ──────────┤  one loop: sends realtimeInput
//!  --video frames ─ timer task ───────────────────────────────┤  (audio, text, video, activity)
//!  server events ─ transport ─────────────────────────────────┘  and plays, cuts, records, shows
//!                                           speaker (device or simulated) ◄─┘
//! ```
//!
//! Model audio goes to a speaker: a device, or, without one, a simulated speaker that plays the
//! same buffer in real time. Either way `interrupted` (or local speech) flushes it within one
//! callback, and what it actually played is what `--output` and `--record-audio` keep and what
//! the transcript's cut-off mark is computed from.

#[cfg(feature = "device")]
pub(crate) mod device;
mod record;
mod speaker;
mod uplink;
mod video;
mod view;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use audio::{AudioSink, AudioSource, ChunkDuration, Paced, RawSource, SampleRate, WavSource};
use protocol::Event;
use protocol::wire::{InteractionStatus, VoiceActivityType};
use serde_json::json;
use tokio::sync::mpsc;

use crate::args::TalkArgs;
use crate::backend::Backend;
use crate::exit::{Interrupted, Unfinished, Usage};
use crate::setup::{self, Reply};
use crate::state;
use crate::term::editor::{Action, Editor};
use crate::term::keys::{self, Key, RawMode};
use crate::term::{Style, screen};
use crate::tools::Calls;
use record::{Conversation, Heard};
use uplink::Up;
use view::{Cut, Lost, Summary, TurnEnd, View};

/// How long push-to-talk keeps sending after the key, so the end of the utterance is not cut.
const PTT_TAIL: Duration = Duration::from_millis(300);
/// How long `--half-duplex` keeps the microphone muted after playback, for the room's echo.
const ECHO_TAIL: Duration = Duration::from_millis(300);
/// With a file or pipe as input: how long to wait for a reply after it ended.
const REPLY_WAIT: Duration = Duration::from_secs(5);
/// Audio louder than this (dBFS) counts as speech for telling whether a broken connection
/// took a reply to it along (a rough guess, where the local voice detector is not built in).
const SPEECH_DBFS: f32 = -40.0;
/// Speech that stopped this long before a connection broke was a whole utterance: its reply
/// was due on that connection. Speech that goes on reaches the next connection, which answers.
const UTTERANCE_GAP: Duration = Duration::from_millis(300);

/// `gemlive devices`.
pub(crate) fn list_devices() -> Result<()> {
    #[cfg(feature = "device")]
    return device::list();
    #[cfg(not(feature = "device"))]
    Err(no_devices().into())
}

#[cfg(not(feature = "device"))]
fn no_devices() -> Usage {
    Usage(
        "this gemlive was built without audio devices; rebuild with `--features device` \
         (needs libasound2-dev on Linux), or use --input FILE.wav and --output FILE.wav"
            .into(),
    )
}

/// The speaker: a device when asked for or when talking into the microphone, else simulated.
fn open_speaker(args: &TalkArgs, mic: bool) -> Result<(Box<dyn AudioSink>, String, Option<Echo>)> {
    let device = args.output_device.is_some() || (mic && !args.no_play);
    if device {
        #[cfg(feature = "device")]
        return device::speaker(
            args.output_device.as_deref(),
            mic && cfg!(feature = "aec") && !args.no_aec,
        );
        #[cfg(not(feature = "device"))]
        return Err(no_devices().into());
    }
    let speaker = speaker::VirtualSpeaker::start().context("cannot start the playback clock")?;
    Ok((
        Box::new(speaker),
        "no speaker (simulated playback)".into(),
        None,
    ))
}

#[cfg(feature = "device")]
type Echo = device::Echo;
#[cfg(not(feature = "device"))]
type Echo = std::convert::Infallible;

/// The user's audio: a WAV file or stdin in real time, or the microphone.
fn open_source(
    args: &TalkArgs,
    chunk: ChunkDuration,
    echo: Option<Echo>,
) -> Result<(Box<dyn AudioSource>, String)> {
    match &args.input {
        Some(p) if p == Path::new("-") => {
            let rate = SampleRate::new(args.input_rate)
                .map_err(|e| Usage(format!("--input-rate: {e}")))?;
            let source = RawSource::stdin(rate, chunk)?;
            Ok((
                Box::new(Paced::new(source)),
                format!("PCM16 at {} Hz on stdin", rate.hz()),
            ))
        }
        Some(p) => {
            let source = WavSource::open(p, chunk)
                .map_err(|e| Usage(format!("cannot read {}: {e}", p.display())))?;
            Ok((
                Box::new(Paced::new(source)),
                format!("{} in real time", p.display()),
            ))
        }
        None => {
            #[cfg(feature = "device")]
            return device::mic(args.input_device.as_deref(), chunk, echo);
            #[cfg(not(feature = "device"))]
            {
                let _ = echo;
                Err(no_devices().into())
            }
        }
    }
}

fn local_vad(args: &TalkArgs) -> Option<uplink::Detector> {
    #[cfg(feature = "vad")]
    if !args.ptt && !args.no_local_vad {
        return Some(audio::vad::VoiceDetector::new());
    }
    let _ = args;
    None
}

/// The model's audio on its way to the user's ears, and what keeps what was heard.
struct Playback {
    speaker: Box<dyn AudioSink>,
    heard: Heard,
    output: Option<(PathBuf, audio::WavSink<std::io::BufWriter<std::fs::File>>)>,
    record: Option<Conversation>,
    /// The level of the model's latest audio (dBFS), for the meter.
    level: f32,
}

impl Playback {
    fn write(&mut self, rate: u32, pcm: &[u8]) -> Result<Duration> {
        let rate = SampleRate::new(rate).context("the server sent audio at 0 Hz")?;
        let samples = audio::pcm::i16_from_le_bytes(pcm)?;
        let length = rate.duration_of(samples.len() as u64);
        self.level = dbfs(&samples);
        self.speaker.write(rate, &samples)?;
        let at_24k = if rate == SampleRate::LIVE_OUTPUT {
            samples
        } else {
            let f: Vec<f32> = samples.iter().map(|&s| audio::pcm::i16_to_f32(s)).collect();
            audio::resample_all(&f, rate, SampleRate::LIVE_OUTPUT)?
                .into_iter()
                .map(audio::pcm::f32_to_i16)
                .collect()
        };
        self.heard.push(&at_24k, self.speaker.played());
        Ok(length)
    }

    /// Moves what was heard since the last tick to the files.
    fn tick(&mut self, now: Instant, all: bool) -> Result<()> {
        let heard = if all {
            self.heard.take_all()
        } else {
            self.heard.take(self.speaker.played())
        };
        if let Some((_, out)) = &mut self.output {
            record::write_output(out, &heard)?;
        }
        if let Some(rec) = &mut self.record {
            rec.model(&heard, now);
            rec.write(now, false)?;
        }
        Ok(())
    }

    /// Barge-in: stops playback; returns what was dropped.
    fn cut(&mut self, now: Instant) -> Result<Duration> {
        self.tick(now, false)?;
        let dropped = self.speaker.flush();
        self.heard.flush();
        Ok(dropped)
    }

    fn busy(&self) -> bool {
        !self.speaker.queued().is_zero()
    }
}

/// The RMS level of `samples` in dBFS.
fn dbfs(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return -99.0;
    }
    let mean = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64;
    (20.0 * (mean.sqrt() / 32768.0).max(1e-5).log10()) as f32
}

/// The model's current turn.
#[derive(Debug, Default)]
struct Turn {
    active: bool,
    /// When its first content arrived.
    started: Option<Instant>,
    /// Audio received.
    audio: Duration,
    /// The speaker's `played + queued` when its first audio arrived.
    play_start: Option<Duration>,
    got_audio: bool,
    first_audio: Option<Duration>,
    text: String,
    /// Playback was cut: drop the rest of its audio.
    cut: bool,
    interrupted: bool,
    tokens: Option<i32>,
    /// The model finished generating it (`generationComplete`): a break now loses nothing.
    generated: bool,
}

impl Turn {
    /// Whether the model is being heard: audio queued, or its turn streaming (audio may
    /// arrive just in time, with nothing queued in between).
    fn speaking(&self, playback: &Playback) -> bool {
        playback.busy() || (self.active && self.got_audio && !self.cut)
    }
}

/// The reply the user is hearing: the model's turn under way or, until the next one begins,
/// the last one while its audio plays on (a turn completes before its audio has played, so a
/// cut then is that reply's, and the next one, the answer to the speech that cut it, plays).
fn heard_reply<'a>(turn: &'a mut Turn, last: &'a mut Turn, playback: &Playback) -> &'a mut Turn {
    if turn.started.is_none() && playback.busy() {
        last
    } else {
        turn
    }
}

/// Splits a reply's transcript where playback stopped: `heard` of `total` seconds.
fn split_heard(text: &str, heard: Duration, total: Duration) -> (String, String) {
    let ratio = if total.is_zero() {
        0.0
    } else {
        (heard.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0)
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let target = (ratio * chars.len() as f64).round() as usize;
    // Snap back to the start of the word being spoken.
    let mut at = chars.get(target).map_or(text.len(), |&(i, _)| i);
    if target < chars.len() {
        while at > 0 && !text[..at].ends_with(char::is_whitespace) {
            at = text[..at].char_indices().next_back().map_or(0, |(i, _)| i);
        }
    }
    (text[..at].to_owned(), text[at..].to_owned())
}

/// Why the loop ended.
enum End {
    /// The input ended and the model answered: play out what is left.
    Drained,
    /// The user quit (/quit, Ctrl-D): drop what is left.
    Quit,
    /// Ctrl-C: drop what is left, exit 130.
    Interrupted,
}

/// Something typed.
enum Typed {
    Line(String),
    /// Enter on an empty line (push-to-talk).
    Empty,
    Eof,
    /// Ctrl-C at the terminal.
    Interrupt,
}

/// Where typed text comes from: keys at a terminal drawn on (an input line below the
/// transcript), or lines (a pipe, or a terminal that is not drawn on).
enum Typing {
    Keys {
        rx: mpsc::UnboundedReceiver<Key>,
        editor: Editor,
        _raw: RawMode,
    },
    Lines(mpsc::UnboundedReceiver<Option<String>>),
}

const PROMPT: &str = "you> ";

impl Typing {
    fn start() -> Self {
        if screen().live()
            && let Some(raw) = RawMode::enable()
        {
            let typing = Self::Keys {
                rx: keys::spawn_reader(),
                editor: Editor::default(),
                _raw: raw,
            };
            typing.draw();
            return typing;
        }
        Self::Lines(spawn_lines())
    }

    fn draw(&self) {
        if let Self::Keys { editor, .. } = self {
            let prompt = format!(
                "{} ",
                Style::BLUE.paint(screen().caps().colour, PROMPT.trim_end())
            );
            screen().set_input(Some(editor.view(&prompt)));
        }
    }

    /// The next thing typed (cancel-safe: keys are kept in the editor).
    async fn next(&mut self) -> Typed {
        match self {
            Self::Lines(rx) => match rx.recv().await.flatten() {
                None => Typed::Eof,
                Some(l) if l.trim().is_empty() => Typed::Empty,
                Some(l) => Typed::Line(l.trim().to_owned()),
            },
            Self::Keys { rx, editor, .. } => loop {
                let key = rx.recv().await.unwrap_or(Key::Eof);
                let typed = if key == Key::Enter && editor.is_empty() {
                    Some(Typed::Empty)
                } else {
                    match editor.key(key) {
                        Action::Edit => None,
                        Action::Submit(l) => Some(Typed::Line(l)),
                        Action::Interrupt => Some(Typed::Interrupt),
                        Action::Eof => Some(Typed::Eof),
                    }
                };
                let prompt = format!(
                    "{} ",
                    Style::BLUE.paint(screen().caps().colour, PROMPT.trim_end())
                );
                screen().set_input(Some(editor.view(&prompt)));
                if let Some(t) = typed {
                    return t;
                }
            },
        }
    }
}

async fn next_typed(typing: &mut Option<Typing>) -> Typed {
    match typing {
        Some(t) => t.next().await,
        None => std::future::pending().await,
    }
}

/// Stdin lines on a thread; `None` at the end.
fn spawn_lines() -> mpsc::UnboundedReceiver<Option<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    rx
}

/// Runs the conversation.
pub(crate) async fn run(mut args: TalkArgs) -> Result<()> {
    let mut view = View::new(args.json);
    let chunk = ChunkDuration::from_millis(args.chunk_ms).map_err(|e| Usage(e.to_string()))?;
    let video = match &args.video {
        Some(p) => Some((video::frames(p)?, video::interval(args.video_fps)?)),
        None => None,
    };
    let stdin_audio = args.input.as_deref() == Some(Path::new("-"));
    if stdin_audio && args.ptt {
        return Err(
            Usage("--ptt reads Enter from stdin, which --input - uses for audio".into()).into(),
        );
    }
    let stdin_tty = screen().caps().stdin_tty;
    let mut replaced = Vec::new();
    for (path, flag) in [
        (&args.output, "--output"),
        (&args.record_audio, "--record-audio"),
        (&args.session.record, "--record"),
    ] {
        if let Some(p) = path
            && crate::paths::check_output_file(p, flag)?
        {
            replaced.push(p.clone());
        }
    }
    let mic = args.input.is_none();
    let (speaker, speaker_name, echo) = open_speaker(&args, mic)?;
    let (source, source_name) = open_source(&args, chunk, echo)?;
    let origin = Instant::now();
    let mut playback = Playback {
        speaker,
        heard: Heard::default(),
        output: match &args.output {
            Some(p) => Some((p.clone(), record::create_output(p)?)),
            None => None,
        },
        record: args
            .record_audio
            .as_deref()
            .map(|p| Conversation::create(p, origin))
            .transpose()?,
        level: -99.0,
    };

    let backend = Backend::resolve(&args.connect).await?;
    let checked = setup::check(&args.setup, backend.endpoint.backend(), backend.is_google())
        .map_err(|e| Usage(format!("{e:#}")))?;
    for w in &checked.warnings {
        view.warning(w);
    }
    args.setup.no_vad |= args.ptt;
    let mut setup = setup::build(
        &args.setup,
        args.session.tools.declarations.as_deref(),
        Reply::Audio,
        backend.endpoint.backend(),
    )
    .map_err(|e| Usage(format!("{e:#}")))?;
    let tools = crate::tools::registry(&args.session.tools, |starting| {
        if let Some(what) = starting {
            view.note(&what);
        }
    })
    .await?;
    let dispatcher = crate::tools::declare(&tools, &mut setup, backend.endpoint.backend())?;
    if let Some(resume) = &args.session.resume {
        state::apply_resume(resume, &backend, &mut setup, &args.setup.model)?;
    }
    let model = setup.model.clone();
    // A conversation outlives a connection (about 10 minutes): the client resumes on a new one
    // after a goAway, a network loss or a stalled reply.
    let mut config = backend.client_config(&args.connect, &args.session, setup)?;
    config.event_tap = Some(dispatcher.event_tap());
    let (sender, mut events) = transport::connect(config).await?;
    let mut calls = Calls::start(dispatcher, &sender, args.session.stall_timeout);
    view.event(&Event::SetupComplete {
        session_id: sender.session_id(),
        resumed: args.session.resume.is_some(),
    });
    view.json(json!({"event": "talk_started", "model": model, "input": source_name, "output": speaker_name, "ptt": args.ptt}));
    view.note(&format!("talking to {model} · {}", backend.describe()));
    view.note(&format!("{source_name} → {speaker_name}"));
    view.note(&if stdin_audio {
        "Ctrl-C ends it".to_owned()
    } else if stdin_tty {
        format!(
            "type a line to send it as text{} · /quit or Ctrl-D ends it",
            if args.ptt {
                " · Enter on an empty line starts and stops talking"
            } else {
                ""
            }
        )
    } else {
        "lines on stdin are sent as text".to_owned()
    });

    let mut uplink = uplink::spawn(source, local_vad(&args))?;
    let mut typing = (!stdin_audio).then(Typing::start);
    let (video_tx, mut video_rx) = mpsc::unbounded_channel();
    let video_task = video.map(|(frames, every)| {
        let sender = sender.clone();
        tokio::spawn(async move {
            let mut timer = tokio::time::interval(every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Frames are read and scaled once, before their tick; `None` marks unusable files.
            let mut ready: HashMap<PathBuf, Option<(Vec<u8>, &'static str)>> = HashMap::new();
            for frame in frames.iter().cycle() {
                if !ready.contains_key(&frame.path) {
                    let (path, mime) = (frame.path.clone(), frame.mime);
                    let prepared = tokio::task::spawn_blocking(move || {
                        std::fs::read(&path)
                            .map_err(anyhow::Error::from)
                            .and_then(|b| video::prepare(b, mime))
                    })
                    .await;
                    let usable = match prepared {
                        Ok(Ok(p)) => Some(p),
                        Ok(Err(e)) => {
                            tracing::warn!(
                                "cannot send {} as a video frame: {e:#}",
                                frame.path.display()
                            );
                            None
                        }
                        Err(_) => return,
                    };
                    ready.insert(frame.path.clone(), usable);
                    if ready.len() == frames.len() && ready.values().all(Option::is_none) {
                        return;
                    }
                }
                let Some(Some((bytes, mime))) = ready.get(&frame.path) else {
                    continue;
                };
                timer.tick().await;
                let len = bytes.len();
                if sender.send_video(bytes.clone(), *mime).await.is_err() {
                    return;
                }
                if video_tx.send((frame.path.clone(), len)).is_err() {
                    return;
                }
            }
        })
    });

    let mut summary = Summary::default();
    // The close that cut the first reply that will not come.
    let mut first_cut: Option<protocol::Close> = None;
    // What broke the connection the session is resuming from, until it has.
    let mut resuming: Option<protocol::Close> = None;
    // When the user last sent speech, and when the model's latest reply began: speech after
    // the reply, then a break, and the reply to it is lost with the connection.
    let mut spoke_at: Option<Instant> = None;
    let mut reply_at: Option<Instant> = None;
    // When the server last showed it heard speech (voice activity, a transcript), and until
    // when speech left without a reply was reported.
    let mut heard_at: Option<Instant> = None;
    let mut reported: Option<Instant> = None;
    let stall = args.session.stall_timeout;
    // The break that is being repaired was said (by a `TurnCut`).
    let mut break_said = false;
    // Speech was sent again after a break, and no reply has begun since.
    let mut speech_resent = false;
    let mut turn = Turn::default();
    // The model's last completed (or cut) turn, whose audio may still be playing.
    let mut last = Turn::default();
    // When the user's input last ended (for time to first audio).
    let mut user_done: Option<Instant> = None;
    let mut input_done = false;
    // The user's last speech or text (seen by the server), and the start of the last reply
    // that was not interrupted: the input is answered when the second is later.
    let mut user_activity: Option<Instant> = None;
    let mut answered: Option<Instant> = None;
    let mut last_event = Instant::now();
    let mut ptt_talking = false;
    let mut ptt_used = false;
    let mut ptt_tail: Option<Instant> = None;
    let mut speaking = false;
    let mut echo_until = Instant::now();
    let mut level = -99.0f32;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let result: Result<End> = loop {
        tokio::select! {
            up = uplink.recv(), if !input_done => match up {
                Some(Up::Chunk(c)) => {
                    level = c.rms_dbfs();
                    let now = Instant::now();
                    let sending = !args.ptt || ptt_talking || ptt_tail.is_some();
                    if !sending { continue; }
                    // Half duplex: muted while the model's turn runs, while audio plays (the
                    // stream may arrive just in time, with nothing queued in between) and for
                    // the echo's tail after.
                    let muted = args.half_duplex
                        && ((turn.active && !turn.cut) || playback.busy() || now < echo_until);
                    let samples = if muted { vec![0; c.samples.len()] } else { c.samples };
                    if !muted && level > SPEECH_DBFS { spoke_at = Some(now); }
                    if let Some(rec) = &mut playback.record && let Err(e) = rec.user(&samples, c.rate, now) { break Err(e); }
                    summary.sent += c.rate.duration_of(samples.len() as u64);
                    if let Err(e) = sender.send_audio(audio::pcm::i16_to_le_bytes(&samples), c.rate.hz()).await { break Err(e.into()); }
                }
                Some(Up::Speech(started)) => {
                    speaking = started;
                    if started { spoke_at = Some(Instant::now()); }
                    if started && turn.speaking(&playback) && !args.half_duplex {
                        let reply = heard_reply(&mut turn, &mut last, &playback);
                        if let Err(e) = cut(&mut playback, reply, &mut view, &mut summary, "local") { break Err(e); }
                    }
                }
                Some(Up::End) | None => {
                    input_done = true;
                    let sent = if args.ptt {
                        if ptt_talking || ptt_tail.is_some() {
                            ptt_talking = false;
                            ptt_tail = None;
                            sender.send_activity_end().await
                        } else { Ok(()) }
                    } else {
                        sender.send_audio_stream_end().await
                    };
                    if let Err(e) = sent { break Err(e.into()); }
                    if !turn.active { user_done.get_or_insert_with(Instant::now); }
                    view.json(json!({"event": "input_end"}));
                }
                Some(Up::Failed(e)) => break Err(anyhow!("the audio input failed: {e}")),
            },
            typed = next_typed(&mut typing), if typing.is_some() => match typed {
                Typed::Eof => {
                    // Ctrl-D on a terminal ends the session; the end of a pipe only ends typing.
                    if stdin_tty { break Ok(End::Quit); }
                    if args.ptt && !ptt_used {
                        break Err(Usage(
                            "--ptt: stdin ended before an empty line (Enter) started talking, so nothing was sent; push-to-talk wants a terminal or lines on stdin".into(),
                        ).into());
                    }
                    typing = None;
                }
                Typed::Interrupt => break Ok(End::Interrupted),
                Typed::Line(text) if text == "/quit" => break Ok(End::Quit),
                Typed::Empty => {
                    if !args.ptt { continue; }
                    let sent = if ptt_talking {
                        ptt_talking = false;
                        ptt_tail = Some(Instant::now() + PTT_TAIL);
                        Ok(())
                    } else {
                        ptt_talking = true;
                        if ptt_tail.take().is_some() {
                            // Still inside the previous utterance: carry on with it.
                            Ok(())
                        } else {
                            if turn.speaking(&playback) {
                                let reply = heard_reply(&mut turn, &mut last, &playback);
                                if let Err(e) = cut(&mut playback, reply, &mut view, &mut summary, "local") { break Err(e); }
                            }
                            sender.send_activity_start().await
                        }
                    };
                    if let Err(e) = sent { break Err(e.into()); }
                    ptt_used |= ptt_talking;
                    view.ptt(ptt_talking);
                }
                Typed::Line(text) => {
                    view.json(json!({"event": "user_text", "text": text}));
                    view.note(&format!("you (typed): {text}"));
                    if let Err(e) = sender.send_text(&text).await { break Err(e.into()); }
                    user_done = Some(Instant::now());
                    user_activity = user_done;
                }
            },
            Some(done) = calls.next() => view.tool_event(&done),
            Some((path, bytes)) = video_rx.recv() => {
                summary.video_frames += 1;
                view.video(&path, bytes);
            },
            event = events.next() => {
                let Some(event) = event else { break Ok(End::Quit) };
                calls.saw(&event);
                let now = Instant::now();
                if shows_progress(&event) {
                    last_event = now;
                }
                if let Event::Reconnecting { cause, attempt: 1, .. } = &event {
                    // No reply was streaming (or the cut said so): the Session does not know
                    // speech as a turn, but speech that ended before the break waited for its
                    // reply on that connection.
                    let unanswered = spoke_at.is_some_and(|s| {
                        reply_at.is_none_or(|r| r < s) && s.elapsed() >= UTTERANCE_GAP
                    });
                    if !break_said && unanswered {
                        lose(&mut view, &mut summary, &mut first_cut, Lost::Unanswered, cause.clone());
                        reply_at = Some(now);
                        reported = Some(now);
                    }
                }
                view.event(&event);
                let content = matches!(event, Event::Audio { .. } | Event::OutputTranscript { .. } | Event::Text { .. } | Event::ToolCall { .. });
                if content && turn.started.is_none() {
                    turn.started = Some(now);
                    reply_at = Some(now);
                    speech_resent = false;
                }
                match event {
                    Event::Audio { data, sample_rate, .. } => {
                        turn.active = true;
                        if turn.cut { continue; }
                        if turn.play_start.is_none() {
                            let s = playback.speaker.status();
                            turn.play_start = Some(s.played + s.queued);
                        }
                        let d = match playback.write(sample_rate, &data) { Ok(d) => d, Err(e) => break Err(e) };
                        turn.audio += d;
                        summary.received += d;
                        if !turn.got_audio {
                            turn.got_audio = true;
                            turn.first_audio = user_done.take().map(|t| t.elapsed());
                        }
                    }
                    Event::OutputTranscript { text, .. } | Event::Text { text, thought: false } => {
                        turn.active = true;
                        turn.text.push_str(&text);
                    }
                    Event::Interrupted => {
                        // 2.5 native audio interrupts the last reply too, after its turn completed.
                        let reply = heard_reply(&mut turn, &mut last, &playback);
                        reply.interrupted = true;
                        if !reply.cut && let Err(e) = cut(&mut playback, reply, &mut view, &mut summary, "server") { break Err(e); }
                    }
                    Event::VoiceActivity { kind, .. } => {
                        user_activity = Some(now);
                        heard_at = Some(now);
                        if kind == VoiceActivityType::ActivityEnd { user_done = Some(now); }
                    }
                    Event::InputTranscript { text, interim: false, .. } if !text.trim().is_empty() => {
                        user_activity = Some(now);
                        heard_at = Some(now);
                    }
                    Event::Usage(u) => {
                        summary.prompt_tokens += i64::from(u.prompt_token_count.unwrap_or(0));
                        summary.response_tokens += i64::from(u.response_token_count.or(u.candidates_token_count).unwrap_or(0));
                        summary.total_tokens += i64::from(u.total_token_count.unwrap_or(0));
                        turn.tokens = u.total_token_count;
                    }
                    Event::GenerationComplete => turn.generated = true,
                    Event::TurnComplete { status, .. } => {
                        if status == Some(InteractionStatus::InProgress) { continue; }
                        complete(&mut view, &mut summary, &mut answered, &mut turn, &mut last);
                    }
                    Event::TurnCut { cause, turns } => {
                        // A reply the model had finished (`generationComplete`) is whole: only
                        // its `turnComplete` went with the connection.
                        let whole = turn.generated;
                        if whole {
                            complete(&mut view, &mut summary, &mut answered, &mut turn, &mut last);
                        }
                        // The reply so far is all of it that comes; what is queued still plays.
                        let (spoken, typed): (Vec<_>, Vec<_>) = turns.iter().partition(|t| t.speech.is_some());
                        // Speech since the last reply, or a reply to speech, was cut.
                        let said = (typed.is_empty() && turn.active)
                            || spoke_at.is_some_and(|s| reply_at.is_none_or(|r| r < s));
                        if let Some(t) = typed.iter().find(|t| t.resent) {
                            view.restart_turn(&t.text, &cause);
                        } else if let Some(t) = typed.first() {
                            lose(&mut view, &mut summary, &mut first_cut, Lost::Typed(&t.text), cause.clone());
                        }
                        match spoken.first().map(|t| (t.resent, t.speech.unwrap_or_default())) {
                            Some((true, speech)) => {
                                view.resend_speech(speech, &cause, said);
                                speech_resent |= said;
                            }
                            _ if !said || !typed.is_empty() => {}
                            _ => {
                                let lost = if turn.active { Lost::Reply } else { Lost::Unanswered };
                                lose(&mut view, &mut summary, &mut first_cut, lost, cause);
                                reply_at = Some(now);
                                reported = Some(now);
                            }
                        }
                        if !whole { last = std::mem::take(&mut turn); }
                        break_said = true;
                    }
                    Event::Reconnecting { cause, attempt, .. } => {
                        if attempt == 1 { break_said = false; }
                        resuming = Some(cause);
                    }
                    Event::SetupComplete { resumed, .. } => {
                        resuming = None;
                        if resumed { view.note("[reconnected: the session goes on]"); }
                    }
                    Event::Closed(close) => {
                        if close.is_normal() { break Ok(End::Quit); }
                        if speech_resent {
                            // Sent again for a connection that never came.
                            lose(&mut view, &mut summary, &mut first_cut, Lost::Unanswered, close.clone());
                        }
                        let close = match &resuming {
                            Some(cause) => crate::exit::while_resuming(cause, close),
                            None => close,
                        };
                        break Err(transport::Error::Closed(close).into());
                    }
                    _ => {}
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                if let Err(e) = playback.tick(now, false) { break Err(e); }
                if playback.busy() { echo_until = now + ECHO_TAIL; }
                if let Some(t) = ptt_tail && now >= t {
                    ptt_tail = None;
                    if let Err(e) = sender.send_activity_end().await { break Err(e.into()); }
                    user_done = Some(now);
                    user_activity = Some(now);
                }
                view.level(level, ptt_talking || speaking, playback.busy().then_some(playback.level));
                let idle = !turn.active && ptt_tail.is_none() && !playback.busy() && !calls.busy();
                let pending = user_activity.is_none_or(|u| answered.is_none_or(|a| a < u));
                let drained = input_done && idle && (!pending || last_event.elapsed() >= REPLY_WAIT);
                // Speech the server heard, and no reply began, at the end of a file's input: it
                // will not come. (Before that, the session's stall check cuts the connection
                // and the speech is sent again on the next, or named lost: a `TurnCut`.)
                let owed = heard_at.filter(|h| reply_at.is_none_or(|r| r < *h) && reported.is_none_or(|r| r < *h));
                let quiet = owed.map(|h| spoke_at.map_or(h, |s| s.max(h)).elapsed());
                if let Some(waited) = quiet && !turn.active && drained {
                    let waited = waited.min(stall);
                    lose(&mut view, &mut summary, &mut first_cut, Lost::Silent(waited), protocol::Close::stalled(waited));
                    reported = Some(now);
                }
                if drained {
                    break Ok(End::Drained);
                }
            },
            _ = &mut ctrl_c => break Ok(End::Interrupted),
        }
    };
    drop(uplink);
    drop(typing);
    screen().set_input(None);
    if let Some(task) = video_task {
        task.abort();
    }
    view.finish();

    // Play out or drop what is left, then finalize the files.
    let drained = matches!(result, Ok(End::Drained));
    let mut speaker = playback.speaker;
    let finished = if drained {
        tokio::task::block_in_place(|| speaker.finish())
    } else {
        speaker.flush();
        Ok(())
    };
    playback.speaker = speaker;
    if let Err(e) = finished {
        tracing::warn!("playback did not finish: {e}");
    }
    let now = Instant::now();
    let files = finish_files(&mut playback, now, drained, &replaced, &mut view);
    summary.heard = playback.speaker.played();

    if let Some(handle) =
        crate::backend::close_and_save(&sender, &mut events, model, &backend.name).await
    {
        view.json(json!({"event": "session_saved", "handle": handle}));
        view.note(&format!("session saved (handle {handle})"));
        view.note(&format!(
            "continue with: gemlive talk{} --resume",
            crate::backend::flags_for(&backend.name).unwrap_or_default()
        ));
    }
    view.summary(&summary);
    backend.shutdown().await;
    screen().finish();
    if matches!(result?, End::Interrupted) {
        files?;
        return Err(Interrupted.into());
    }
    files?;
    // From a file or a pipe, a script learns from the exit code that a reply did not come (a
    // person at the microphone heard it, and said it again or not).
    match first_cut {
        Some(cause) if !mic => Err(Unfinished {
            message: format!(
                "{} of the model's replies did not come: {}",
                summary.not_completed,
                crate::output::describe(&cause)
            ),
            cause,
        }
        .into()),
        _ => Ok(()),
    }
}

/// The model's turn ended with its reply whole: said, counted, and kept as the last one.
fn complete(
    view: &mut View,
    summary: &mut Summary,
    answered: &mut Option<Instant>,
    turn: &mut Turn,
    last: &mut Turn,
) {
    view.turn_end(&TurnEnd {
        turn: summary.turns,
        audio: turn.audio,
        first_audio: turn.first_audio,
        tokens: turn.tokens,
        interrupted: turn.interrupted,
    });
    if let Some(d) = turn.first_audio {
        summary.first_audio.push(d);
    }
    summary.turns += 1;
    if !turn.interrupted
        && let Some(t) = turn.started
    {
        *answered = Some(t);
    }
    *last = std::mem::take(turn);
}

/// A reply that will not come: said, counted, and the first one's cause kept for the exit code.
fn lose(
    view: &mut View,
    summary: &mut Summary,
    first: &mut Option<protocol::Close>,
    lost: Lost<'_>,
    cause: protocol::Close,
) {
    view.reply_lost(lost, &cause);
    summary.not_completed += 1;
    first.get_or_insert(cause);
}

/// Whether `event` shows the conversation going on (the model's output, the server hearing
/// the user), as opposed to the connection's housekeeping (goAway, resumption, reconnection).
fn shows_progress(event: &Event) -> bool {
    !matches!(
        event,
        Event::GoAway { .. }
            | Event::Resumption { .. }
            | Event::Reconnecting { .. }
            | Event::SetupComplete { .. }
            | Event::TurnCut { .. }
            | Event::Malformed(_)
            | Event::Violation(_)
            | Event::Unrecognized { .. }
    )
}

/// Stops playback mid-`reply` and marks the transcript where it was cut.
fn cut(
    playback: &mut Playback,
    reply: &mut Turn,
    view: &mut View,
    summary: &mut Summary,
    by: &'static str,
) -> Result<()> {
    let dropped = playback.cut(Instant::now())?;
    reply.cut = true;
    if reply.audio.is_zero() && dropped.is_zero() {
        // Interrupted before it said anything: nothing was cut off.
        return Ok(());
    }
    let played = playback.speaker.played();
    let heard = reply
        .play_start
        .map_or(Duration::ZERO, |s| played.saturating_sub(s))
        .min(reply.audio);
    let (heard_text, unheard_text) = split_heard(&reply.text, heard, reply.audio);
    summary.interruptions += 1;
    view.cut(&Cut {
        by,
        heard,
        received: reply.audio,
        dropped,
        heard_text,
        unheard_text,
    });
    Ok(())
}

fn finish_files(
    playback: &mut Playback,
    now: Instant,
    drained: bool,
    replaced: &[PathBuf],
    view: &mut View,
) -> Result<()> {
    playback.tick(now, drained)?;
    if let Some((path, mut out)) = playback.output.take() {
        out.finish().context("cannot finish the output WAV")?;
        if out.played().is_zero() {
            // Nothing was heard: no empty WAV left behind (nor in place of an older one).
            let _ = std::fs::remove_file(&path);
            view.note(&format!(
                "the model said nothing: {} not written",
                path.display()
            ));
        } else {
            let what = if replaced.contains(&path) {
                "model speech as heard, replacing the file that was there"
            } else {
                "model speech as heard"
            };
            view.file(what, &path, out.played());
        }
    }
    if let Some(rec) = playback.record.take() {
        let (path, length) = rec.finish(now)?;
        view.file("conversation, you left, model right", &path, length);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_falls_at_a_word_start() {
        let text = "I heard 1.5 seconds of speech.";
        let (a, b) = split_heard(text, Duration::from_millis(500), Duration::from_secs(1));
        assert_eq!(a, "I heard 1.5 ");
        assert_eq!(b, "seconds of speech.");
        let (a, b) = split_heard(text, Duration::ZERO, Duration::from_secs(1));
        assert_eq!((a.as_str(), b.as_str()), ("", text));
        let (a, b) = split_heard(text, Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!((a.as_str(), b.as_str()), (text, ""));
        let (a, _) = split_heard(
            "héllo wörld",
            Duration::from_millis(700),
            Duration::from_secs(1),
        );
        assert_eq!(a, "héllo ");
    }
}
