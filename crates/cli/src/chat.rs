//! `gemlive chat`: the Live API quickstart from a terminal.
//!
//! One prompt, a list of turns, lines from a file or stdin, or an interactive prompt; replies as
//! streamed text (or the transcript of spoken replies), and with `--audio` as WAV files.
//!
//! Interactive, on a terminal: the keys go to an input line that stays below the streaming
//! reply. Enter sends the line, and while a reply streams it interrupts it (the new line is the
//! next turn). Ctrl-C cancels the reply in flight (the rest is neither shown nor played; the
//! session goes on), clears a line being typed, and at an empty prompt asks for a second Ctrl-C
//! to quit, so that a Ctrl-C aimed at a reply that has just ended does not end the session.
//! Ctrl-D at an empty prompt, `/quit` (or `q`) quit. Lines starting with `/` are commands.
//!
//! Every turn is kept in a ledger, so that when a session ends early the turns that were not
//! answered are named.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use audio::{AudioSink, SampleRate, WavSink};
use bytes::Bytes;
use protocol::wire::InteractionStatus;
use protocol::{CloseKind, Event};
use tokio::sync::mpsc;

use crate::args::ChatArgs;
use crate::backend::Backend;
use crate::exit::{Config, Interrupted, Unfinished, Usage};
use crate::output::Output;
use crate::paths;
use crate::setup::{self, Reply};
use crate::state;
use crate::term::editor::{Action, Editor};
use crate::term::keys::{self, Key, RawMode};
use crate::term::{Style, screen};
use crate::tools::Calls;

/// Where the user's turns come from.
enum Input {
    /// Known up front (prompt, --turn, a file, piped stdin): sent one after another.
    Fixed(VecDeque<String>),
    /// Typed at a terminal.
    Interactive,
}

fn input(args: &ChatArgs) -> Result<Input> {
    let mut turns: VecDeque<String> = VecDeque::new();
    if !args.prompt.is_empty() {
        let prompt = args.prompt.join(" ");
        if prompt.trim().is_empty() {
            return Err(Usage("the prompt is empty: nothing to send".into()).into());
        }
        if args.session.resume.as_deref() == Some("latest")
            && let Some(first) = args.prompt.first()
            && state::looks_like_handle(first)
        {
            return Err(Usage(format!(
                "{first} looks like a session handle: pass it as --resume={first} (with `=`); \
                 `--resume` alone resumes the latest session and sends the words after it"
            ))
            .into());
        }
        turns.push_back(prompt);
    }
    for t in &args.turns {
        if t.trim().is_empty() {
            return Err(Usage("--turn is empty: nothing to send".into()).into());
        }
        turns.push_back(t.clone());
    }
    if let Some(path) = &args.turns_file {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin()).context("cannot read turns from stdin")?
        } else {
            std::fs::read_to_string(path)
                .map_err(|e| Usage(format!("cannot read {}: {e}", path.display())))?
        };
        turns.extend(lines(&text));
    }
    if !turns.is_empty() {
        return Ok(Input::Fixed(turns));
    }
    if screen().caps().stdin_tty {
        return Ok(Input::Interactive);
    }
    let text = std::io::read_to_string(std::io::stdin()).context("cannot read turns from stdin")?;
    let turns: VecDeque<String> = lines(&text).collect();
    if turns.is_empty() {
        return Err(Usage(
            "nothing to say: give a prompt, --turn, --turns-file, or lines on stdin".into(),
        )
        .into());
    }
    Ok(Input::Fixed(turns))
}

/// Turns from text: one per non-empty line, each sent as it is (`q` too: quitting is for the
/// interactive prompt).
fn lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// Words that quit at the interactive prompt.
fn is_quit(line: &str) -> bool {
    matches!(line, "q" | "quit" | "exit" | "/quit" | "/exit" | "/q")
}

/// Where spoken replies go.
#[derive(Debug)]
enum Target {
    /// Every reply, one after another, in one file; whether a file was there before.
    File(PathBuf, bool),
    /// A file per reply.
    Dir(PathBuf),
}

/// The spoken replies' files. A reply's audio is kept until its turn ends, so that a reply
/// cut off and asked again is replaced by its new answer, and one that is not completed
/// leaves nothing.
#[derive(Debug)]
struct AudioFiles {
    target: Target,
    current: Option<(PathBuf, WavSink<std::io::BufWriter<std::fs::File>>)>,
    /// This turn's audio so far: (sample rate, PCM16 LE).
    pending: Vec<(u32, Bytes)>,
}

impl AudioFiles {
    fn check(args: &ChatArgs) -> Result<Self> {
        let target = match (&args.output, &args.output_dir) {
            (_, Some(dir)) => {
                if dir.exists() && !dir.is_dir() {
                    return Err(Usage(format!(
                        "--output-dir {} is a file, not a directory",
                        dir.display()
                    ))
                    .into());
                }
                paths::check_dir(dir, "--output-dir")?;
                Target::Dir(dir.clone())
            }
            (file, None) => {
                let path = file.clone().unwrap_or_else(|| PathBuf::from("audio.wav"));
                let replaced = paths::check_output_file(&path, "--output")?;
                Target::File(path, replaced)
            }
        };
        Ok(Self {
            target,
            current: None,
            pending: Vec::new(),
        })
    }

    fn write(&mut self, rate: u32, pcm: Bytes) {
        self.pending.push((rate, pcm));
    }

    /// This turn's audio so far is void: its turn starts over, or will not be completed.
    fn restart(&mut self) {
        self.pending.clear();
    }

    /// Writes this turn's audio (turn number `turn`).
    fn flush(&mut self, turn: usize) -> Result<()> {
        for (rate, pcm) in std::mem::take(&mut self.pending) {
            let rate =
                SampleRate::new(rate).context("the server sent audio with a zero sample rate")?;
            if self.current.is_none() {
                let path = match &self.target {
                    Target::File(p, _) => p.clone(),
                    Target::Dir(d) => d.join(format!("audio_{turn}.wav")),
                };
                let sink = WavSink::create(&path, rate)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                self.current = Some((path, sink));
            }
            if let Some((path, sink)) = &mut self.current {
                sink.write_le_bytes(rate, &pcm)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// The end of turn `turn`: its audio is written, and a file per reply is complete.
    fn turn_done(&mut self, turn: usize, out: &mut Output) -> Result<()> {
        self.flush(turn)?;
        if matches!(self.target, Target::Dir(_)) {
            self.close(out)?;
        }
        Ok(())
    }

    /// The end of the chat, in turn `turn` (what came of a reply cut short by the user is kept).
    fn finish(&mut self, turn: usize, out: &mut Output) -> Result<()> {
        self.flush(turn)?;
        self.close(out)
    }

    fn close(&mut self, out: &mut Output) -> Result<()> {
        if let Some((path, mut sink)) = self.current.take() {
            sink.finish()
                .with_context(|| format!("cannot finish {}", path.display()))?;
            let replaced = matches!(self.target, Target::File(_, true));
            out.audio_file(&path, sink.played(), replaced);
        }
        Ok(())
    }
}

/// A turn of the user's, and what became of it.
#[derive(Debug)]
struct Turn {
    text: String,
    state: TurnState,
    /// Its number in the current session (`PendingTurn::number`), once sent.
    number: Option<u64>,
    /// How many times its connection was cut.
    cuts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TurnState {
    Queued,
    Sent,
    Answered,
    /// Cut short by the user: a new line, or Ctrl-C.
    Interrupted,
    /// Its connection was cut and it was not sent again: it has no answer.
    NotCompleted,
}

/// The session's turns, in order.
#[derive(Debug, Default)]
struct Ledger {
    turns: Vec<Turn>,
}

impl Ledger {
    fn add(&mut self, text: String) -> usize {
        self.turns.push(Turn {
            text,
            state: TurnState::Queued,
            number: None,
            cuts: 0,
        });
        self.turns.len() - 1
    }

    /// Turn `i` went out as the session's `number`-th user turn.
    fn sent(&mut self, i: usize, number: u64) {
        if let Some(t) = self.turns.get_mut(i) {
            t.state = TurnState::Sent;
            t.number = Some(number);
        }
    }

    /// The turn the session knows as its `number`-th.
    fn by_number(&self, number: u64) -> Option<usize> {
        self.turns.iter().position(|t| t.number == Some(number))
    }

    /// A new session numbers its turns from 1 again.
    fn new_session(&mut self) {
        for t in &mut self.turns {
            t.number = None;
        }
    }

    /// The turns that were cut and not completed.
    fn not_completed(&self) -> Vec<(usize, &str)> {
        self.turns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state == TurnState::NotCompleted)
            .map(|(i, t)| (i, t.text.as_str()))
            .collect()
    }

    fn next_queued(&self) -> Option<usize> {
        self.turns.iter().position(|t| t.state == TurnState::Queued)
    }

    fn in_flight(&self) -> Option<usize> {
        self.turns.iter().rposition(|t| t.state == TurnState::Sent)
    }

    fn set(&mut self, i: usize, state: TurnState) {
        if let Some(t) = self.turns.get_mut(i) {
            t.state = state;
        }
    }

    /// The turns that were queued or sent and got no complete answer.
    fn unanswered(&self) -> Vec<(usize, String)> {
        self.turns
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.state, TurnState::Queued | TurnState::Sent))
            .map(|(i, t)| (i, t.text.clone()))
            .collect()
    }
}

/// An open session.
struct Live {
    sender: transport::LiveSender,
    events: transport::LiveEvents,
    model: String,
    /// User turns sent in it.
    turns: u64,
    /// Its tool calls, answered by the dispatcher.
    calls: Calls,
}

impl Live {
    /// Sends ledger turn `i`.
    async fn send(&mut self, ledger: &mut Ledger, i: usize) -> Result<(), transport::Error> {
        let text = ledger.turns[i].text.clone();
        self.sender.send_user_turn(text).await?;
        self.turns += 1;
        ledger.sent(i, self.turns);
        Ok(())
    }
}

/// What can change between the sessions of one chat (`/audio`, `/voice`, `/model`).
struct Settings {
    audio: bool,
}

/// Opens a session with `tools` declared and answered: shows what it connects to while it
/// does; a refused handle gets its own message.
async fn open(
    args: &ChatArgs,
    backend: &Backend,
    settings: &Settings,
    resume: Option<&str>,
    tools: &tools::Tools,
    out: &mut Output,
) -> Result<Live> {
    let reply = if settings.audio {
        Reply::Audio
    } else {
        Reply::Text
    };
    let mut setup = setup::build(
        &args.setup,
        args.session.tools.declarations.as_deref(),
        reply,
        backend.endpoint.backend(),
    )
    .map_err(|e| Usage(format!("{e:#}")))?;
    let dispatcher = crate::tools::declare(tools, &mut setup, backend.endpoint.backend())?;
    let handle = match resume {
        Some(r) => Some(state::apply_resume(
            r,
            backend,
            &mut setup,
            &args.setup.model,
        )?),
        None => None,
    };
    let model = setup.model.clone();
    let mut config = backend.client_config(&args.connect, &args.session, setup)?;
    config.event_tap = Some(dispatcher.event_tap());
    out.connecting(Some(format!(
        "connecting to {} (up to {} s)…",
        backend.short(),
        args.connect.connect_timeout
    )));
    let connected = transport::connect(config).await;
    out.connecting(None);
    let (sender, events) = match connected {
        Ok(c) => c,
        Err(transport::Error::Closed(close))
            if handle.is_some() && close.kind == CloseKind::InvalidArgument =>
        {
            return Err(Config(format!(
                "the server refused the session handle {} (close {}: {})\n  hint: a handle is \
                 unknown once it has expired (2 hours after the session's last connection), \
                 and only resumes with the same model and backend; start a new session without \
                 --resume",
                handle.unwrap_or_default(),
                close.code,
                close.reason
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    out.session_started(sender.session_id(), handle.is_some());
    let calls = Calls::start(dispatcher, &sender, args.session.stall_timeout);
    Ok(Live {
        sender,
        events,
        model,
        turns: 0,
        calls,
    })
}

/// The command line that resumes a session of this chat's backend.
fn resume_command(args: &ChatArgs, backend: &Backend) -> String {
    let flags = if args.connect.vertex {
        format!(
            " --vertex --project {} --location {}",
            args.connect.project.as_deref().unwrap_or("PROJECT"),
            args.connect.location
        )
    } else {
        crate::backend::flags_for(&backend.name).unwrap_or_default()
    };
    format!("gemlive chat{flags} --resume")
}

/// Runs the chat; returns when the user is done or the session ends.
pub(crate) async fn run(mut args: ChatArgs) -> Result<()> {
    let wants_audio = args.audio || args.output.is_some() || args.output_dir.is_some();
    let mut out = Output::new(args.json, wants_audio);
    // Everything that can be checked is checked before connecting (exit 2).
    let input = input(&args)?;
    let mut files = if wants_audio {
        Some(AudioFiles::check(&args)?)
    } else {
        None
    };
    paths::check_record(args.session.record.as_deref())?;
    let backend = Backend::resolve(&args.connect).await?;
    let kind = backend.endpoint.backend();
    let checked = setup::check(&args.setup, kind, backend.is_google())
        .map_err(|e| Usage(format!("{e:#}")))?;
    for w in &checked.warnings {
        out.warning(w);
    }
    if args.setup.no_transcription
        && !wants_audio
        && protocol::models::lookup(&args.setup.model, kind).is_none_or(|p| p.audio_only)
    {
        return Err(Usage(format!(
            "--no-transcription leaves nothing to show: {} answers by voice, and chat shows the \
             transcript of it; add --audio to keep the voice in a WAV, or drop --no-transcription",
            args.setup.model
        ))
        .into());
    }
    let mut player = if wants_audio && !args.no_play {
        speaker(&mut out)
    } else {
        None
    };
    let mut settings = Settings { audio: wants_audio };
    let interactive = matches!(input, Input::Interactive);
    // The session `/resume` goes back to: the one saved last before the current one.
    let mut previous = state::latest_for(&backend.name);
    // Keys are taken from the start, so that what is typed while connecting is kept (and not
    // echoed over the screen).
    let keyboard = if interactive && screen().live() {
        RawMode::enable()
    } else {
        None
    };
    let mut keys = keyboard.as_ref().map(|_| keys::spawn_reader());
    let prompt = format!("{} ", Style::BLUE.paint(screen().caps().colour, "you>"));
    let mut editor = Editor::with_history(state::private_dir().ok().map(|d| d.join("history.txt")));
    let show_prompt = |editor: &Editor| {
        screen().set_input(Some(editor.view(&prompt)));
    };
    if keys.is_some() {
        show_prompt(&editor);
    }
    let tools = crate::tools::registry(&args.session.tools, |s| out.connecting(s)).await?;
    let mut live = open(
        &args,
        &backend,
        &settings,
        args.session.resume.as_deref(),
        &tools,
        &mut out,
    )
    .await?;

    let mut ledger = Ledger::default();
    let mut lines = match input {
        Input::Fixed(turns) => {
            for t in turns {
                ledger.add(t);
            }
            None
        }
        Input::Interactive if keys.is_none() => Some(spawn_lines()),
        Input::Interactive => None,
    };
    if interactive {
        let resumed = args
            .session
            .resume
            .as_ref()
            .map(|_| " · resumed the saved session".to_owned())
            .unwrap_or_default();
        out.banner(&[
            format!("gemlive chat · {}{resumed}", live.model),
            format!("backend: {}", backend.describe()),
            if keys.is_some() {
                "Enter sends, and interrupts a reply · Ctrl-C cancels a reply".into()
            } else {
                "type a line and Enter to send it".into()
            },
            "Ctrl-D or /quit quits · /help lists the commands".into(),
        ]);
    }
    let plain_prompt = || {
        // A terminal that cannot be drawn on: the prompt is written once, the terminal echoes.
        if !screen().caps().stdin_tty {
            return;
        }
        use std::io::Write;
        screen().settle_stdout();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "you> ");
        let _ = err.flush();
    };
    if lines.is_some() {
        plain_prompt();
    }

    let mut turn_index = 0usize;
    // Turns cut short by the user (Ctrl-C, or Enter during a reply) whose `turnComplete` is
    // still to come: what they still send is dropped, and their end is not a new turn's.
    let mut stale = 0usize;
    // The reply in flight is whole (`generationComplete`): a cut now loses only its `turnComplete`.
    let mut generated = false;
    // The close that cut the first turn that was not completed.
    let mut first_cut: Option<protocol::Close> = None;
    // What broke the connection the session is resuming from, until it has.
    let mut resuming: Option<protocol::Close> = None;
    let mut quit_armed = false;
    let mut total_tokens = None;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let result: Result<()> = loop {
        if ledger.in_flight().is_none()
            && !live.calls.busy()
            && let Some(next) = ledger.next_queued()
        {
            out.start_turn();
            generated = false;
            if !interactive {
                out.user_line(&ledger.turns[next].text, false);
            }
            if let Err(e) = live.send(&mut ledger, next).await {
                break Err(e.into());
            }
        }
        if !interactive
            && ledger.in_flight().is_none()
            && ledger.next_queued().is_none()
            && !live.calls.busy()
        {
            break Ok(());
        }
        // A line, a key or Ctrl-C, as one of these.
        let mut submitted: Option<String> = None;
        let mut interrupt = false;
        let mut eof = false;
        tokio::select! {
            key = async { keys.as_mut()?.recv().await }, if keys.is_some() => {
                let key = key.unwrap_or(Key::Eof);
                if !matches!(key, Key::Ctrl('c')) && quit_armed {
                    quit_armed = false;
                    out.hint(None);
                }
                match editor.key(key) {
                    Action::Edit => {}
                    Action::Submit(line) => submitted = Some(line),
                    Action::Interrupt => interrupt = true,
                    Action::Eof => eof = true,
                }
                show_prompt(&editor);
            },
            line = async { lines.as_mut()?.recv().await }, if lines.is_some() => match line.flatten() {
                Some(l) if !l.trim().is_empty() => submitted = Some(l.trim().to_owned()),
                Some(_) => plain_prompt(),
                None => eof = true,
            },
            _ = &mut ctrl_c, if keys.is_none() => {
                if !interactive {
                    break Err(Interrupted.into());
                }
                interrupt = true;
                ctrl_c.set(tokio::signal::ctrl_c());
            },
            Some(done) = live.calls.next() => out.tool_event(&done),
            event = live.events.next() => {
                let Some(event) = event else { break Ok(()) };
                live.calls.saw(&event);
                let content = matches!(event, Event::Text { .. } | Event::OutputTranscript { .. } | Event::Audio { .. } | Event::InputTranscript { .. });
                if !(stale > 0 && content) {
                    out.event(&event);
                }
                // Some(answered): the turn in flight has ended.
                let mut ended = None;
                match event {
                    Event::Audio { data, sample_rate, .. } if stale == 0 => {
                        if let Some(p) = &mut player
                            && let Err(e) = play(p.as_mut(), sample_rate, &data)
                        {
                            out.warning(&format!("playback stopped: {e:#}"));
                            player = None;
                        }
                        if let Some(files) = &mut files { files.write(sample_rate, data); }
                    }
                    Event::Interrupted => {
                        if let Some(p) = &mut player {
                            p.flush();
                        }
                    }
                    Event::GenerationComplete if stale == 0 => generated = true,
                    Event::Usage(u) => total_tokens = u.total_token_count,
                    Event::TurnComplete { status, .. } => {
                        if status == Some(InteractionStatus::InProgress) { continue; }
                        if stale > 0 {
                            stale -= 1;
                            total_tokens = None;
                            out.start_turn();
                            if let Some(files) = &mut files && let Err(e) = files.turn_done(turn_index, &mut out) { break Err(e); }
                            turn_index += 1;
                            if lines.is_some() && ledger.next_queued().is_none() {
                                plain_prompt();
                            }
                        } else {
                            ended = Some(true);
                        }
                    }
                    Event::TurnCut { cause, turns } => {
                        let in_flight = ledger.in_flight();
                        let mut listed = false;
                        for t in &turns {
                            let Some(i) = ledger.by_number(t.number) else { continue };
                            match ledger.turns[i].state {
                                // A reply the user cancelled: if it is not asked again, its
                                // `turnComplete` will not come.
                                TurnState::Interrupted if !t.resent => stale = stale.saturating_sub(1),
                                TurnState::Sent => {
                                    listed = true;
                                    ledger.turns[i].cuts += 1;
                                    if t.resent {
                                        // Its new answer follows, from the start.
                                        out.restart_turn(&t.text, &cause);
                                        if let Some(files) = &mut files { files.restart(); }
                                        if let Some(p) = &mut player { p.flush(); }
                                        total_tokens = None;
                                        generated = false;
                                    } else {
                                        ended = Some(false);
                                    }
                                }
                                _ => {}
                            }
                        }
                        // Not listed: the server had its whole answer (or the cut turn is not one
                        // the session can name).
                        if !listed && in_flight.is_some() {
                            ended = Some(generated);
                        }
                        if ended == Some(false) && let Some(i) = in_flight {
                            ledger.set(i, TurnState::NotCompleted);
                            out.turn_not_completed(i, &ledger.turns[i].text, &cause, ledger.turns[i].cuts.max(1));
                            if let Some(files) = &mut files { files.restart(); }
                            if let Some(p) = &mut player { p.flush(); }
                            total_tokens = None;
                            first_cut.get_or_insert(cause);
                        }
                    }
                    Event::Reconnecting { cause, .. } => resuming = Some(cause),
                    Event::SetupComplete { .. } => resuming = None,
                    Event::Closed(close) => {
                        if close.is_normal() { break Ok(()); }
                        let close = match &resuming {
                            Some(cause) => crate::exit::while_resuming(cause, close),
                            None => close,
                        };
                        break Err(transport::Error::Closed(close).into());
                    }
                    _ => {}
                }
                if let Some(answered) = ended {
                    if answered {
                        out.turn_complete(turn_index, total_tokens.take());
                        if let Some(i) = ledger.in_flight() {
                            ledger.set(i, TurnState::Answered);
                        }
                    }
                    generated = false;
                    if let Some(files) = &mut files && let Err(e) = files.turn_done(turn_index, &mut out) { break Err(e); }
                    turn_index += 1;
                    if lines.is_some() && ledger.next_queued().is_none() {
                        plain_prompt();
                    }
                }
            }
        }
        if eof {
            break Ok(());
        }
        if interrupt {
            if let Some(i) = ledger.in_flight() {
                // Cancel the reply in flight: nothing more of it is shown or played.
                stale += 1;
                ledger.set(i, TurnState::Interrupted);
                if let Some(p) = &mut player {
                    p.flush();
                }
                out.cancelled();
            } else if !editor.is_empty() {
                editor.clear();
                show_prompt(&editor);
            } else if quit_armed || keys.is_none() {
                break Ok(());
            } else {
                quit_armed = true;
                out.hint(Some("press Ctrl-C again to quit (or Ctrl-D)".into()));
            }
            continue;
        }
        let Some(line) = submitted else { continue };
        if is_quit(&line) {
            break Ok(());
        }
        if let Some(command) = line.strip_prefix('/').filter(|c| !c.starts_with('/')) {
            let before = (
                args.setup.model.clone(),
                args.setup.voice.clone(),
                settings.audio,
            );
            match command_line(
                command,
                &mut args,
                &mut settings,
                &mut out,
                &live.model,
                previous.as_deref(),
            ) {
                Command::Nothing => {}
                Command::NewSession(resume) => {
                    // A reply in flight stays with the session being left: cut off on screen
                    // first (the lines below would otherwise wait for its row to end).
                    if let Some(i) = ledger.in_flight() {
                        ledger.set(i, TurnState::Interrupted);
                        out.cancelled();
                    }
                    // The current session is saved first, so that it can be resumed later.
                    if let Some(handle) = crate::backend::close_and_save(
                        &live.sender,
                        &mut live.events,
                        live.model.clone(),
                        &backend.name,
                    )
                    .await
                    {
                        out.note(&format!("the previous session is saved (handle {handle})"));
                        previous = Some(handle);
                    }
                    if settings.audio && files.is_none() {
                        match AudioFiles::check(&args) {
                            Ok(f) => files = Some(f),
                            Err(e) => {
                                out.warning(&format!("{e:#}"));
                            }
                        }
                    }
                    out.set_audio(settings.audio);
                    stale = 0;
                    ledger.new_session();
                    let opened = match open(
                        &args,
                        &backend,
                        &settings,
                        resume.as_deref(),
                        &tools,
                        &mut out,
                    )
                    .await
                    {
                        Ok(l) => Ok((l, resume.is_some())),
                        Err(e) => {
                            // A bad model or handle loses nothing: back to the session just left.
                            out.warning(&format!(
                                "{}; back to the previous session",
                                crate::exit::message(&e)
                            ));
                            (args.setup.model, args.setup.voice, settings.audio) = before;
                            out.set_audio(settings.audio);
                            open(
                                &args,
                                &backend,
                                &settings,
                                previous.as_deref(),
                                &tools,
                                &mut out,
                            )
                            .await
                            .map(|l| (l, true))
                        }
                    };
                    match opened {
                        Ok((l, resumed)) => {
                            live = l;
                            out.note(&format!(
                                "{} with {}",
                                if resumed {
                                    "resumed the session"
                                } else {
                                    "a new session"
                                },
                                live.model
                            ));
                        }
                        Err(e) => break Err(e),
                    }
                }
            }
            continue;
        }
        // `//text` sends `/text`.
        let text = if line.starts_with("//") {
            line[1..].to_owned()
        } else {
            line
        };
        out.user_line(&text, interactive);
        if let Some(i) = ledger.in_flight() {
            // Enter during a reply interrupts it: the new line goes now, the server cuts the
            // reply short.
            ledger.set(i, TurnState::Interrupted);
            stale += 1;
            if let Some(p) = &mut player {
                p.flush();
            }
            let next = ledger.add(text);
            out.start_turn();
            generated = false;
            if let Err(e) = live.send(&mut ledger, next).await {
                break Err(e.into());
            }
        } else {
            ledger.add(text);
        }
    };
    drop(keyboard);
    screen().set_input(None);
    out.finish();
    if let Some(files) = &mut files {
        files.finish(turn_index, &mut out)?;
    }
    if let Some(mut p) = player {
        // Play out what is queued (a reply arrives faster than real time).
        let _ = tokio::task::spawn_blocking(move || p.finish()).await;
    }
    if result.is_err() || !interactive {
        out.unanswered(&ledger.unanswered());
    }
    if let Some(handle) = crate::backend::close_and_save(
        &live.sender,
        &mut live.events,
        live.model.clone(),
        &backend.name,
    )
    .await
    {
        out.saved_session(&handle, &resume_command(&args, &backend));
    }
    backend.shutdown().await;
    screen().finish();
    result?;
    // A script learns from the exit code that not every turn was answered (a person at the
    // prompt saw each warning, and asked again or not).
    match first_cut {
        Some(cause) if !interactive => {
            let lost = ledger.not_completed();
            let list: Vec<String> = lost
                .iter()
                .map(|(i, t)| format!("#{} “{}”", i + 1, crate::output::short(t)))
                .collect();
            Err(Unfinished {
                message: format!(
                    "{} of {} turns {} not completed ({}): {}",
                    lost.len(),
                    ledger.turns.len(),
                    if lost.len() == 1 { "was" } else { "were" },
                    list.join(", "),
                    crate::output::describe(&cause)
                ),
                cause,
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// What an in-chat command asks of the loop.
enum Command {
    Nothing,
    /// A new session, resuming this handle (`Some("latest")` for the saved one) or fresh.
    NewSession(Option<String>),
}

const HELP: &str = "\
commands:
  /help           this list
  /quit           quit (also q, Ctrl-D, or Ctrl-C twice at an empty prompt)
  /save FILE      write the conversation so far as Markdown
  /audio on|off   spoken replies (to --output, audio.wav by default); starts a new session
  /voice NAME     another voice (`gemlive voices`); starts a new session
  /model NAME     another model (`gemlive models`); starts a new session
  /resume [HANDLE]  go back to the session saved before this one (or HANDLE)
  //text          send a line that starts with /
A new session does not know the conversation so far; the current one is saved first.";

fn command_line(
    line: &str,
    args: &mut ChatArgs,
    settings: &mut Settings,
    out: &mut Output,
    model: &str,
    previous: Option<&str>,
) -> Command {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match (name, rest) {
        ("help" | "?", _) => {
            for l in HELP.lines() {
                out.note(l);
            }
            Command::Nothing
        }
        ("save", "") => {
            out.warning("/save needs a file name: /save chat.md");
            Command::Nothing
        }
        ("save", file) => {
            let path = Path::new(file);
            let existed = path.exists();
            match std::fs::write(path, out.markdown(model)) {
                Ok(()) => out.note(&format!(
                    "saved the conversation to {file}{}",
                    if existed { " (replacing it)" } else { "" }
                )),
                Err(e) => out.warning(&format!("cannot write {file}: {e}")),
            }
            Command::Nothing
        }
        ("audio", "on" | "off") => {
            let on = rest == "on";
            if on == settings.audio {
                out.note(&format!("spoken replies are already {rest}"));
                return Command::Nothing;
            }
            settings.audio = on;
            out.note(&format!(
                "spoken replies {rest}: the reply's kind is fixed for a session, so a new session starts"
            ));
            Command::NewSession(None)
        }
        ("voice", v) if !v.is_empty() => {
            if protocol::models::voice(v).is_none() {
                out.warning(&format!(
                    "{v} is not a voice gemlive knows (`gemlive voices` lists them); trying it"
                ));
            }
            args.setup.voice = Some(v.to_owned());
            out.note("the voice is fixed for a session: a new session starts");
            Command::NewSession(None)
        }
        ("model", m) if !m.is_empty() => {
            args.setup.model = m.to_owned();
            out.note("the model is fixed for a session: a new session starts");
            Command::NewSession(None)
        }
        ("resume", "") => {
            match previous {
                Some(h) => Command::NewSession(Some(h.to_owned())),
                None => {
                    out.warning("no session was saved before this one started; /resume HANDLE resumes another");
                    Command::Nothing
                }
            }
        }
        ("resume", handle) => Command::NewSession(Some(handle.to_owned())),
        _ => {
            out.warning(&format!(
                "unknown command /{name}, not sent (/help lists them; //text sends a line starting with /)"
            ));
            Command::Nothing
        }
    }
}

/// Lines from a terminal that cannot be drawn on (`TERM=dumb`), on a thread; `None` at the end.
fn spawn_lines() -> mpsc::UnboundedReceiver<Option<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    if tx.send(Some(line.trim_end().to_owned())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Model audio as it arrives, to the speaker.
fn play(sink: &mut dyn AudioSink, rate: u32, pcm: &[u8]) -> Result<()> {
    let rate = SampleRate::new(rate).context("the server sent audio with a zero sample rate")?;
    sink.write_le_bytes(rate, pcm)?;
    Ok(())
}

/// The default speaker, in builds with device audio, when one can be opened.
#[cfg(feature = "device")]
fn speaker(out: &mut Output) -> Option<Box<dyn AudioSink>> {
    match crate::talk::device::speaker(None, false) {
        Ok((sink, _, _)) => Some(sink),
        Err(e) => {
            out.note(&format!("not playing: {e:#} (--no-play hides this)"));
            None
        }
    }
}

/// Without device audio, replies are only written to files.
#[cfg(not(feature = "device"))]
fn speaker(_out: &mut Output) -> Option<Box<dyn AudioSink>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_names_the_turns_without_an_answer() {
        let mut l = Ledger::default();
        for t in ["hello", "what is 2+2", "tell me a joke"] {
            l.add(t.into());
        }
        let first = l.next_queued().unwrap();
        l.set(first, TurnState::Sent);
        assert_eq!(l.in_flight(), Some(0));
        l.set(first, TurnState::Answered);
        l.set(1, TurnState::Sent);
        assert_eq!(
            l.unanswered(),
            [
                (1, "what is 2+2".to_owned()),
                (2, "tell me a joke".to_owned())
            ]
        );
    }

    #[test]
    fn q_is_sent_from_files_and_quits_only_at_the_prompt() {
        let turns: Vec<String> = lines("hi\nq\n\nbye\n").collect();
        assert_eq!(turns, ["hi", "q", "bye"]);
        assert!(is_quit("q") && is_quit("/quit") && !is_quit("quitting"));
    }
}
