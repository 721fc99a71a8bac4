//! `gemlive chat`: the Live API quickstart from a terminal.
//!
//! One prompt, a list of turns, lines from a file or stdin, or an interactive prompt; replies as
//! streamed text (or the transcript of spoken replies), and with `--audio` as WAV files. Sending
//! and receiving run concurrently: a line typed while a reply streams interrupts it.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use audio::{AudioSink, SampleRate, WavSink};
use protocol::Event;
use protocol::wire::InteractionStatus;
use tokio::sync::mpsc;

use crate::args::ChatArgs;
use crate::backend::Backend;
use crate::exit::Usage;
use crate::output::Output;
use crate::setup::{self, Reply};
use crate::state;
use crate::tools::ToolRunner;

/// Where the user's turns come from.
enum Input {
    /// Known up front (prompt, --turn, a file, piped stdin): sent one after another.
    Fixed(VecDeque<String>),
    /// Typed at a prompt; `q` or Ctrl-D quits.
    Interactive,
}

fn input(args: &ChatArgs) -> Result<Input> {
    let mut turns: VecDeque<String> = VecDeque::new();
    if !args.prompt.is_empty() {
        turns.push_back(args.prompt.join(" "));
    }
    turns.extend(args.turns.iter().cloned());
    if let Some(path) = &args.turns_file {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin()).context("cannot read turns from stdin")?
        } else {
            std::fs::read_to_string(path)
                .map_err(|e| Usage(format!("cannot read {}: {e}", path.display())))?
        };
        turns.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    if !turns.is_empty() {
        return Ok(Input::Fixed(turns));
    }
    if std::io::stdin().is_terminal() {
        return Ok(Input::Interactive);
    }
    let text = std::io::read_to_string(std::io::stdin()).context("cannot read turns from stdin")?;
    let turns: VecDeque<String> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !is_quit(l))
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if turns.is_empty() {
        return Err(Usage(
            "nothing to say: give a prompt, --turn, --turns-file, or lines on stdin".into(),
        )
        .into());
    }
    Ok(Input::Fixed(turns))
}

fn is_quit(line: &str) -> bool {
    matches!(line.trim(), "q" | "quit" | "exit" | "/quit")
}

/// Where spoken replies go.
struct AudioFiles {
    single: Option<PathBuf>,
    dir: PathBuf,
    current: Option<(PathBuf, WavSink<std::io::BufWriter<std::fs::File>>)>,
}

impl AudioFiles {
    fn new(args: &ChatArgs, single_turn: bool) -> Result<Self> {
        let dir = args.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let single = (single_turn && args.out_dir.is_none()).then(|| args.out.clone());
        let check_dir = single
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.clone());
        std::fs::create_dir_all(&check_dir).map_err(|e| {
            Usage(format!(
                "cannot create the output directory {}: {e}",
                check_dir.display()
            ))
        })?;
        let probe = check_dir.join(".gemlive-write-test");
        std::fs::write(&probe, b"").map_err(|e| {
            Usage(format!(
                "cannot write to the output directory {}: {e}",
                check_dir.display()
            ))
        })?;
        let _ = std::fs::remove_file(&probe);
        Ok(Self {
            single,
            dir,
            current: None,
        })
    }

    fn write(&mut self, turn: usize, rate: u32, pcm: &[u8]) -> Result<()> {
        let rate =
            SampleRate::new(rate).context("the server sent audio with a zero sample rate")?;
        if self.current.is_none() {
            let path = self
                .single
                .clone()
                .unwrap_or_else(|| self.dir.join(format!("audio_{turn}.wav")));
            let sink = WavSink::create(&path, rate)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.current = Some((path, sink));
        }
        if let Some((path, sink)) = &mut self.current {
            sink.write_le_bytes(rate, pcm)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<()> {
        if let Some((path, mut sink)) = self.current.take() {
            sink.finish()
                .with_context(|| format!("cannot finish {}", path.display()))?;
            out.audio_file(&path, sink.played());
        }
        Ok(())
    }
}

/// Runs the chat; returns when the user is done or the session ends.
pub(crate) async fn run(args: ChatArgs) -> Result<()> {
    let mut out = Output::new(args.json, args.audio);
    let input = input(&args)?;
    let single_turn = matches!(&input, Input::Fixed(t) if t.len() == 1);
    let reply = if args.audio {
        Reply::Audio
    } else {
        Reply::Text
    };
    let mut player = if args.audio && !args.no_play {
        speaker(&mut out)
    } else {
        None
    };
    let mut files = if args.audio {
        Some(AudioFiles::new(&args, single_turn)?)
    } else {
        None
    };
    let (mut tools, mut tool_results) =
        ToolRunner::new(&args.setup.tool_commands).map_err(|e| Usage(e.to_string()))?;

    let backend = Backend::resolve(&args.connect).await?;
    let mut setup = setup::build(&args.setup, reply, backend.endpoint.backend())
        .map_err(|e| Usage(format!("{e:#}")))?;
    if let Some(resume) = &args.resume {
        state::apply_resume(resume, &backend, &mut setup, &args.setup.model)?;
    }
    let model = setup.model.clone();
    let config = backend.client_config(&args.connect, setup)?;
    let (sender, mut events) = transport::connect(config).await?;
    out.event(&Event::SetupComplete {
        session_id: sender.session_id(),
        resumed: args.resume.is_some(),
    });

    let mut lines = match input {
        Input::Fixed(turns) => {
            let (tx, rx) = mpsc::unbounded_channel();
            for t in turns {
                let _ = tx.send(Some(t));
            }
            let _ = tx.send(None);
            Lines {
                rx,
                interactive: false,
            }
        }
        Input::Interactive => Lines::interactive(),
    };

    let mut turn = 0usize;
    let mut in_turn = false;
    let mut queued: VecDeque<String> = VecDeque::new();
    let mut input_done = false;
    let mut total_tokens = None;
    let result: Result<()> = loop {
        if !in_turn && !queued.is_empty() && tools.running() == 0 {
            let text = queued.pop_front().unwrap_or_default();
            out.start_turn();
            if let Err(e) = sender.send_user_turn(text).await {
                break Err(e.into());
            }
            in_turn = true;
        }
        if input_done && !in_turn && queued.is_empty() && tools.running() == 0 {
            break Ok(());
        }
        tokio::select! {
            line = lines.rx.recv(), if !input_done => match line.flatten() {
                Some(text) if is_quit(&text) => { input_done = true; queued.clear(); if lines.interactive { break Ok(()); } }
                Some(text) if lines.interactive && in_turn => {
                    // Typing while a reply streams interrupts it: send now.
                    if let Err(e) = sender.send_user_turn(text).await { break Err(e.into()); }
                }
                Some(text) => queued.push_back(text),
                None => { input_done = true; if lines.interactive { break Ok(()); } }
            },
            Some(done) = tool_results.recv() => {
                tools.finished(&done);
                out.tool_result(done.id.as_deref().unwrap_or("-"), &done.name, &done.response);
                if let Err(e) = sender.send_tool_response(vec![done.to_response()]).await { break Err(e.into()); }
                // The model answers the result: in the same turn (blocking calls) or a new one.
                in_turn = true;
            },
            event = events.next() => {
                let Some(event) = event else { break Ok(()) };
                out.event(&event);
                match event {
                    Event::Audio { data, sample_rate, .. } => {
                        if let Some(p) = &mut player
                            && let Err(e) = play(p.as_mut(), sample_rate, &data)
                        {
                            tracing::warn!("playback stopped: {e:#}");
                            player = None;
                        }
                        if let Some(files) = &mut files && let Err(e) = files.write(turn, sample_rate, &data) { break Err(e); }
                    }
                    Event::Interrupted => {
                        if let Some(p) = &mut player {
                            p.flush();
                        }
                    }
                    Event::Usage(u) => total_tokens = u.total_token_count,
                    Event::ToolCall { calls } => calls.iter().for_each(|c| tools.start(c)),
                    Event::ToolCallCancellation { ids } => { tools.cancel(&ids); }
                    Event::TurnComplete { status, .. } => {
                        if status == Some(InteractionStatus::InProgress) { continue; }
                        out.turn_complete(turn, total_tokens.take());
                        if let Some(files) = &mut files && let Err(e) = files.finish(&mut out) { break Err(e); }
                        turn += 1;
                        in_turn = false;
                    }
                    Event::Closed(close) => {
                        if close.is_normal() { break Ok(()); }
                        break Err(transport::Error::Closed(close).into());
                    }
                    _ => {}
                }
            }
        }
    };
    out.finish();
    if let Some(files) = &mut files {
        files.finish(&mut out)?;
    }
    if let Some(mut p) = player {
        // Play out what is queued (a reply arrives faster than real time).
        let _ = tokio::task::spawn_blocking(move || p.finish()).await;
    }
    if let Some(handle) =
        crate::backend::close_and_save(&sender, &mut events, model, &backend.name).await
    {
        out.saved_session(&handle);
    }
    backend.shutdown().await;
    result
}

/// Lines typed or read, `None` at the end.
struct Lines {
    rx: mpsc::UnboundedReceiver<Option<String>>,
    interactive: bool,
}

impl Lines {
    /// An interactive prompt with line editing and history, on its own thread.
    fn interactive() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let Ok(mut editor) = rustyline::DefaultEditor::new() else {
                let _ = tx.send(None);
                return;
            };
            // History survives the session, like a shell's.
            let history = state::dir().map(|d| d.join("history.txt"));
            if let Some(path) = &history {
                let _ = editor.load_history(path);
            }
            loop {
                match editor.readline("you> ") {
                    Ok(line) => {
                        let line = line.trim().to_owned();
                        if line.is_empty() {
                            continue;
                        }
                        let _ = editor.add_history_entry(line.as_str());
                        if let Some(path) = &history
                            && let Some(dir) = path.parent()
                            && std::fs::create_dir_all(dir).is_ok()
                        {
                            let _ = editor.save_history(path);
                        }
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        let _ = tx.send(None);
                        return;
                    }
                }
            }
        });
        Self {
            rx,
            interactive: true,
        }
    }
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
