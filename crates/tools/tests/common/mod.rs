//! Sessions with the emulator over loopback, with a dispatcher attached.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::time::Duration;

use emulator::{Emulator, EmulatorConfig, Script};
use gemlive_tools::protocol::wire::{AudioTranscriptionConfig, Setup};
use gemlive_tools::protocol::{Backend, Event};
use gemlive_tools::transport::{Auth, ClientConfig, Endpoint, LiveEvents, LiveSender, connect};
use gemlive_tools::{ToolEvent, ToolEvents, Tools};
use serde_json::Value;

/// Long enough for anything a test waits for; a hang fails instead of blocking the suite.
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn emulator(speed: f64, script: Option<&str>) -> Emulator {
    let script = script.map(|s| Script::from_json(s, std::path::Path::new(".")).unwrap());
    Emulator::start(EmulatorConfig {
        speed,
        script,
        strict_models: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// A session on `model` with `tools` declared and answered by a dispatcher fed by an event tap.
pub async fn session(
    emulator: &Emulator,
    model: &str,
    tools: &Tools,
) -> (LiveSender, LiveEvents, ToolEvents) {
    let mut setup = setup(model);
    let dispatcher = tools.declare(&mut setup, Backend::GeminiApi).unwrap();
    let mut config = client(emulator, setup);
    config.event_tap = Some(dispatcher.event_tap());
    let (sender, events) = connect(config).await.unwrap();
    let tool_events = dispatcher.start(&sender);
    (sender, events, tool_events)
}

/// AUDIO with output transcription.
pub fn setup(model: &str) -> Setup {
    let mut setup = Setup::new(model);
    setup.output_audio_transcription = Some(AudioTranscriptionConfig::default());
    setup
}

/// The client configuration for the emulator.
pub fn client(emulator: &Emulator, setup: Setup) -> ClientConfig {
    let endpoint = Endpoint::custom(&emulator.base_url()).unwrap();
    ClientConfig::new(endpoint, Auth::api_key("test"), setup)
}

/// Everything that happened, in the order the test saw it.
#[derive(Debug, Default)]
pub struct Trace {
    pub items: Vec<Item>,
}

#[derive(Debug)]
pub enum Item {
    Session(Event),
    Tool(ToolEvent),
}

impl Trace {
    /// What the model said (transcripts and text), all turns.
    pub fn said(&self) -> String {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Session(Event::OutputTranscript { text, .. } | Event::Text { text, .. }) => {
                    Some(text.as_str())
                }
                _ => None,
            })
            .collect::<String>()
    }

    pub fn tool_events(&self) -> Vec<&ToolEvent> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Tool(e) => Some(e),
                Item::Session(_) => None,
            })
            .collect()
    }

    pub fn session_events(&self) -> Vec<&Event> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Session(e) => Some(e),
                Item::Tool(_) => None,
            })
            .collect()
    }

    /// `name: error` of every failed call.
    pub fn failures(&self) -> Vec<String> {
        self.tool_events()
            .into_iter()
            .filter_map(|e| match e {
                ToolEvent::Failed { name, error, .. } => Some(format!("{name}: {error}")),
                _ => None,
            })
            .collect()
    }

    /// Every response sent, partial ones included: the function name and the response.
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.tool_events()
            .into_iter()
            .filter_map(|e| match e {
                ToolEvent::Responded { name, response, .. } => {
                    Some((name.clone(), response.clone()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn position(&self, f: impl Fn(&Item) -> bool) -> Option<usize> {
        self.items.iter().position(f)
    }
}

/// Reads both streams (tool events first when both are ready) into `trace` until `done` says
/// so; panics after [`WAIT`] or when the session closes first.
pub async fn until(
    events: &mut LiveEvents,
    tool_events: &mut ToolEvents,
    trace: &mut Trace,
    done: impl Fn(&Trace) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(trace) {
        let item = tokio::select! {
            biased;
            Some(e) = tool_events.next() => Item::Tool(e),
            e = events.next() => match e {
                Some(Event::Closed(close)) => panic!("session closed: {close:?}\n{trace:#?}"),
                Some(e) => Item::Session(e),
                None => panic!("events ended\n{trace:#?}"),
            },
            () = tokio::time::sleep_until(deadline) => panic!("timed out; so far:\n{trace:#?}"),
        };
        if !matches!(item, Item::Session(Event::Audio { .. })) {
            trace.items.push(item);
        }
    }
}

/// Sends each text as a user turn and waits for a turn to complete after it.
pub async fn ask(
    texts: &[&str],
    sender: &LiveSender,
    events: &mut LiveEvents,
    tool_events: &mut ToolEvents,
    trace: &mut Trace,
) {
    for text in texts {
        let before = turns(trace);
        sender.send_text(*text).await.unwrap();
        until(events, tool_events, trace, |t| turns(t) > before).await;
    }
}

/// Turns completed so far.
pub fn turns(trace: &Trace) -> usize {
    trace
        .session_events()
        .iter()
        .filter(|e| matches!(e, Event::TurnComplete { .. }))
        .count()
}

/// Whether an external program is available. Missing: the test is skipped with a message, unless
/// `GEMLIVE_CI=1` (the CI installs every program: then it fails).
pub fn have(program: &str, install_hint: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        let message = format!("{program} is not installed ({install_hint}; .ci/run installs it)");
        assert!(
            std::env::var("GEMLIVE_CI").as_deref() != Ok("1"),
            "GEMLIVE_CI=1: {message}"
        );
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
    }
    found
}
