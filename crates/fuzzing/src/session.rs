//! The client `Session`: server frames, commands, timeouts, closes and reconnections in any order.
//!
//! Input: one flags byte, then NUL-separated pieces. The flags pick a setup from [`CONFIGS`] (low
//! bits) and whether the session starts ready (`setupComplete` already handled) or the input plays
//! the setup phase itself (`0x80`). A piece whose first byte is one of the [`Command`] bytes is
//! a command with the rest as its argument; any other piece is a server frame.
//!
//! Checked after every step: draining `poll_output` ends; every frame the session transmits is
//! one the strict decoder accepts with no unknown field (what Google's server would take); the
//! session reports `Closed` once, and is closed from then on.

use std::time::{Duration, Instant};

use protocol::wire::{ClientContent, ContextUpdate, FunctionResponse, Setup};
use protocol::{Backend, CloseInfo, Event, Output, Session, SessionConfig};

/// Setups the flags byte picks from: one per behaviour the session has rules for.
pub const CONFIGS: &[(Backend, &str)] = &[
    // 3.1: text through realtimeInput, clientContent only for the initial history.
    (
        Backend::GeminiApi,
        r#"{"model": "models/gemini-3.1-flash-live-preview", "sessionResumption": {},
            "historyConfig": {"initialHistoryInClientContent": true}}"#,
    ),
    // 2.5 native audio with manual activity detection.
    (
        Backend::GeminiApi,
        r#"{"model": "models/gemini-2.5-flash-native-audio-preview-12-2025",
            "realtimeInputConfig": {"automaticActivityDetection": {"disabled": true}},
            "outputAudioTranscription": {}, "inputAudioTranscription": {}}"#,
    ),
    // A half-cascade model answering in text, clientContent at any time.
    (
        Backend::GeminiApi,
        r#"{"model": "models/gemini-live-2.5-flash-preview",
            "generationConfig": {"responseModalities": ["TEXT"]}, "sessionResumption": {}}"#,
    ),
    // Vertex with transparent resumption: numbered messages, replay on reconnection.
    (
        Backend::Vertex,
        r#"{"model": "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash",
            "generationConfig": {"responseModalities": ["TEXT"]},
            "sessionResumption": {"transparent": true}}"#,
    ),
    // Vertex native audio with explicit VAD signals.
    (
        Backend::Vertex,
        r#"{"model": "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio",
            "explicitVadSignal": true, "sessionResumption": {}}"#,
    ),
    // A model the library does not know: no model rules apply.
    (
        Backend::GeminiApi,
        r#"{"model": "models/not-a-known-model"}"#,
    ),
];

/// Flags bit: the input plays the setup phase (no automatic `setupComplete`).
pub const RAW_SETUP: u8 = 0x80;

/// Command bytes (first byte of a piece). JSON whitespace (tab, LF, CR) is not among them, so a
/// frame never reads as a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Command {
    /// `send_text(arg)`.
    Text = 0x01,
    /// `send_user_turn(arg)`.
    UserTurn = 0x02,
    /// `send_client_content(arg as JSON)`.
    ClientContent = 0x03,
    /// `send_audio(arg[2..], rate = arg[0..2] as u16 LE)`.
    Audio = 0x04,
    /// `send_video(arg[1..], a MIME type picked by arg[0])`.
    Video = 0x05,
    /// Activity start, end or audio stream end (by `arg[0] % 3`).
    Activity = 0x06,
    /// `send_tool_response`: `arg` as JSON, or else an answer to every pending call.
    ToolResponse = 0x07,
    /// `update_context(arg as JSON)`.
    ContextUpdate = 0x08,
    /// Time passes: `arg[0]` seconds, then `handle_timeout`.
    Tick = 0x0b,
    /// `handle_close`: code `arg[0..2]` (u16 LE) and reason `arg[2..]`; no close frame when empty.
    Close = 0x0c,
    /// `next_connection`, then `setupComplete` on it unless `arg` is non-empty.
    Reconnect = 0x0e,
    /// `cut_turn` with a resend limit of `arg[0] % 4` (what a driver does before it reconnects).
    CutTurn = 0x11,
    /// `close(now)`.
    ClientClose = 0x0f,
    /// `recycle` a frame buffer of `arg`.
    Recycle = 0x10,
}

impl Command {
    const ALL: [Self; 14] = [
        Self::Text,
        Self::UserTurn,
        Self::ClientContent,
        Self::Audio,
        Self::Video,
        Self::Activity,
        Self::ToolResponse,
        Self::ContextUpdate,
        Self::Tick,
        Self::Close,
        Self::Reconnect,
        Self::CutTurn,
        Self::ClientClose,
        Self::Recycle,
    ];

    fn of(byte: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u8 == byte)
    }
}

/// Outputs one step may queue before the session counts as running away.
const MAX_OUTPUTS: usize = 100_000;

const SETUP_COMPLETE: &[u8] = br#"{"setupComplete": {}}"#;

struct Driver {
    session: Session,
    now: Instant,
    closed_events: usize,
}

impl Driver {
    /// Drains the outputs and checks what they say.
    fn drain(&mut self) {
        for _ in 0..MAX_OUTPUTS {
            match self.session.poll_output() {
                Output::Idle { .. } => return,
                Output::Transmit(frame) => crate::assert_server_takes(&frame, "the session"),
                Output::Event(Event::Closed(_)) => {
                    self.closed_events += 1;
                    assert_eq!(self.closed_events, 1, "Closed is reported once");
                    assert!(self.session.is_closed(), "Closed means closed");
                }
                Output::Event(_) | Output::Close => {}
            }
        }
        panic!("poll_output never returned Idle");
    }

    fn frame(&mut self, frame: &[u8]) {
        let _ = self.session.handle_frame(frame, self.now);
        self.drain();
    }

    fn command(&mut self, command: Command, arg: &[u8]) {
        let text = || String::from_utf8_lossy(arg);
        let s = &mut self.session;
        let _ = match command {
            Command::Text => s.send_text(&text()),
            Command::UserTurn => s.send_user_turn(&text()),
            Command::ClientContent => match serde_json::from_slice::<ClientContent>(arg) {
                Ok(content) => s.send_client_content(content),
                Err(_) => Ok(()),
            },
            Command::Audio => {
                let rate = arg.get(..2).map_or(0, |r| u16::from_le_bytes([r[0], r[1]]));
                s.send_audio(arg.get(2..).unwrap_or_default(), u32::from(rate))
            }
            Command::Video => {
                let mime = match arg.first().copied().unwrap_or(0) % 3 {
                    0 => "image/jpeg",
                    1 => "IMAGE/PNG",
                    _ => "text/plain",
                };
                s.send_video(arg.get(1..).unwrap_or_default(), mime)
            }
            Command::Activity => match arg.first().copied().unwrap_or(0) % 3 {
                0 => s.send_activity_start(),
                1 => s.send_activity_end(),
                _ => s.send_audio_stream_end(),
            },
            Command::ToolResponse => {
                let responses = serde_json::from_slice::<Vec<FunctionResponse>>(arg)
                    .unwrap_or_else(|_| {
                        s.pending_tool_calls()
                            .map(|key| FunctionResponse {
                                id: Some(key.to_owned()),
                                name: Some(key.to_owned()),
                                response: Some(serde_json::json!({"ok": true})),
                                ..FunctionResponse::default()
                            })
                            .collect()
                    });
                s.send_tool_response(responses)
            }
            Command::ContextUpdate => match serde_json::from_slice::<ContextUpdate>(arg) {
                Ok(update) => s.update_context(update),
                Err(_) => Ok(()),
            },
            Command::Tick => {
                let secs = arg.first().copied().unwrap_or(1);
                self.now += Duration::from_secs(u64::from(secs));
                s.handle_timeout(self.now);
                Ok(())
            }
            Command::Close => {
                let close = arg.get(..2).map(|c| {
                    CloseInfo::new(
                        u16::from_le_bytes([c[0], c[1]]),
                        String::from_utf8_lossy(&arg[2..]),
                    )
                });
                s.handle_close(close, self.now);
                Ok(())
            }
            Command::Reconnect => {
                if let Ok(next) = s.next_connection(self.now) {
                    self.session = next;
                    self.closed_events = 0;
                    self.drain();
                    if arg.is_empty() {
                        self.frame(SETUP_COMPLETE);
                    }
                }
                Ok(())
            }
            Command::CutTurn => {
                let limit = arg.first().map_or(1, |b| b % 4);
                let closed = s.is_closed();
                if let Some(cut) = s.cut_turn(u32::from(limit)) {
                    assert!(closed, "a turn is cut only once its connection closed");
                    assert!(
                        matches!(cut, Event::TurnCut { .. }),
                        "cut_turn gives a TurnCut"
                    );
                    assert!(!s.turn_open(), "no turn stays open after a cut");
                }
                Ok(())
            }
            Command::ClientClose => {
                s.close(self.now);
                Ok(())
            }
            Command::Recycle => {
                s.recycle(text().into_owned());
                Ok(())
            }
        };
        self.drain();
    }
}

/// The target.
pub(crate) fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (backend, setup) = CONFIGS[usize::from(flags & !RAW_SETUP) % CONFIGS.len()];
    let setup: Setup = serde_json::from_str(setup).expect("the fuzz setups are valid");
    let mut config = SessionConfig::new(setup);
    config.backend = backend;
    // Any instant will do: the session never reads the clock, time is what the input says.
    let now = Instant::now();
    let session = Session::new(config, now).expect("the fuzz setups are accepted");
    let mut driver = Driver {
        session,
        now,
        closed_events: 0,
    };
    driver.drain();
    if flags & RAW_SETUP == 0 {
        driver.frame(SETUP_COMPLETE);
    }
    for piece in crate::pieces(rest) {
        let command = piece
            .split_first()
            .and_then(|(&first, arg)| Some((Command::of(first)?, arg)));
        match command {
            Some((command, arg)) => driver.command(command, arg),
            None => driver.frame(piece),
        }
    }
}
