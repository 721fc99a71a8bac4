//! What the terminal shows while talking: live transcripts (partials replaced by finals), a
//! microphone level meter, turn boundaries, tool calls, cut-off marks and the summary; or, with
//! `--json`, the same as one JSON object per line.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use protocol::Event;
use serde_json::{Value, json};

use crate::output::event_json;

/// Where a reply was cut off.
#[derive(Debug)]
pub(crate) struct Cut {
    /// `server` (`interrupted`) or `local` (the local voice detector).
    pub(crate) by: &'static str,
    pub(crate) heard: Duration,
    pub(crate) received: Duration,
    pub(crate) dropped: Duration,
    pub(crate) heard_text: String,
    pub(crate) unheard_text: String,
}

/// The end of a model turn.
#[derive(Debug)]
pub(crate) struct TurnEnd {
    pub(crate) turn: usize,
    pub(crate) audio: Duration,
    pub(crate) first_audio: Option<Duration>,
    pub(crate) tokens: Option<i32>,
    pub(crate) interrupted: bool,
}

/// The end of the session.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) turns: usize,
    pub(crate) interruptions: usize,
    pub(crate) sent: Duration,
    pub(crate) received: Duration,
    pub(crate) heard: Duration,
    pub(crate) prompt_tokens: i64,
    pub(crate) response_tokens: i64,
    pub(crate) total_tokens: i64,
    pub(crate) first_audio: Vec<Duration>,
    pub(crate) video_frames: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    None,
    User,
    Model,
}

/// The renderer.
#[derive(Debug)]
pub(crate) struct View {
    json: bool,
    tty: bool,
    /// Styles (dim partials) unless NO_COLOR.
    colour: bool,
    meter: bool,
    /// What is on the current (unfinished) line.
    line: Line,
    /// The user's final transcript so far this turn.
    user: String,
    /// The latest low-latency partial, replaced by the next partial or final.
    interim: String,
    meter_shown: bool,
    last_meter: String,
}

/// The column of the microphone level meter.
const METER_COLUMN: usize = 48;

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl View {
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            tty: !json && std::io::stdout().is_terminal(),
            colour: std::env::var_os("NO_COLOR").is_none(),
            meter: !json && std::io::stderr().is_terminal(),
            line: Line::None,
            user: String::new(),
            interim: String::new(),
            meter_shown: false,
            last_meter: String::new(),
        }
    }

    fn emit(&self, value: &Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn clear_meter(&mut self) {
        if self.meter_shown {
            let _ = write!(
                std::io::stderr().lock(),
                "\x1b7\x1b[{METER_COLUMN}G\x1b[K\x1b8"
            );
            self.meter_shown = false;
        }
    }

    fn end_line(&mut self) {
        self.clear_meter();
        match self.line {
            Line::None => {}
            Line::User if !self.tty => {
                // Without a terminal the user's line is printed once, final.
                println!("you: {}", format!("{}{}", self.user, self.interim).trim());
            }
            _ => println!(),
        }
        if self.line == Line::User {
            self.user.clear();
            self.interim.clear();
        }
        self.line = Line::None;
        let _ = std::io::stdout().flush();
    }

    /// A line of its own.
    pub(crate) fn note(&mut self, text: &str) {
        if self.json {
            return;
        }
        self.end_line();
        println!("{text}");
        let _ = std::io::stdout().flush();
    }

    /// A talk-specific JSON event (nothing for a person).
    pub(crate) fn json(&mut self, value: Value) {
        if self.json {
            self.emit(&value);
        }
    }

    /// A protocol event.
    pub(crate) fn event(&mut self, event: &Event) {
        if self.json {
            if let Some(v) = event_json(event) {
                self.emit(&v);
            }
            return;
        }
        match event {
            Event::InputTranscript { text, interim, .. } => {
                if self.line != Line::User {
                    self.end_line();
                    self.line = Line::User;
                }
                if *interim {
                    text.clone_into(&mut self.interim);
                } else {
                    self.user.push_str(text);
                    self.interim.clear();
                }
                if self.tty {
                    self.clear_meter();
                    // The partial is dim; the next partial or the final replaces it.
                    let (dim, reset) = if self.colour {
                        ("\x1b[2m", "\x1b[0m")
                    } else {
                        ("", "")
                    };
                    print!(
                        "\r\x1b[Kyou: {}{dim}{}{reset}",
                        self.user.trim_start(),
                        self.interim
                    );
                    let _ = std::io::stdout().flush();
                }
            }
            Event::OutputTranscript { text, .. }
            | Event::Text {
                text,
                thought: false,
            } => {
                if self.line != Line::Model {
                    self.end_line();
                    self.line = Line::Model;
                    print!("model: ");
                }
                self.clear_meter();
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            Event::ToolCall { calls } => {
                for c in calls {
                    let args = c.args.clone().unwrap_or(Value::Null);
                    self.note(&format!("→ calling {}({args})", c.name));
                }
            }
            Event::ToolCallCancellation { ids } => {
                self.note(&format!("[tool calls cancelled: {}]", ids.join(", ")));
            }
            Event::GoAway { time_left, .. } => {
                self.note(&format!(
                    "[the server will end this connection in {time_left:?}]"
                ));
            }
            Event::Malformed(e) => self.note(&format!("[skipped a malformed frame: {e}]")),
            Event::Violation(v) => self.note(&format!("[server protocol violation: {v}]")),
            _ => {}
        }
    }

    /// The microphone level (dBFS), on stderr when it is a terminal.
    pub(crate) fn level(&mut self, dbfs: f32, talking: bool) {
        if !self.meter || self.line != Line::None {
            return;
        }
        let bars = (((dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * 20.0).round() as usize;
        let meter = format!(
            "{} [{}{}] {:>4.0} dB",
            if talking { "mic ●" } else { "mic" },
            "#".repeat(bars),
            " ".repeat(20 - bars),
            dbfs.max(-99.0)
        );
        if self.meter_shown && meter == self.last_meter {
            return;
        }
        // Drawn at the right of the current line, leaving the cursor where it was, so that
        // text being typed stays visible.
        let _ = write!(
            std::io::stderr().lock(),
            "\x1b7\x1b[{METER_COLUMN}G\x1b[K{meter}\x1b8"
        );
        self.last_meter = meter;
        self.meter_shown = true;
    }

    /// Playback was cut.
    pub(crate) fn cut(&mut self, cut: &Cut) {
        if self.json {
            self.emit(&json!({
                "event": "playback_cut", "by": cut.by,
                "heard_s": secs(cut.heard), "received_s": secs(cut.received), "dropped_s": secs(cut.dropped),
                "heard_text": cut.heard_text, "unheard_text": cut.unheard_text,
            }));
            return;
        }
        let mark = format!(
            "[cut off after {:.1} s of {:.1} s{}]",
            cut.heard.as_secs_f64(),
            cut.received.as_secs_f64(),
            if cut.by == "local" { ", you spoke" } else { "" }
        );
        if self.line == Line::Model {
            // The transcript shows the whole reply; mark what was not heard.
            self.note(&format!(
                "  {mark} heard: “{}” ✂ not heard: “{}”",
                cut.heard_text.trim(),
                cut.unheard_text.trim()
            ));
        } else {
            self.note(&mark);
        }
    }

    /// Push-to-talk changed.
    pub(crate) fn ptt(&mut self, talking: bool) {
        if self.json {
            self.emit(&json!({"event": "ptt", "talking": talking}));
        } else {
            self.note(if talking {
                "[talking: press Enter to stop]"
            } else {
                "[stopped talking]"
            });
        }
    }

    /// A model turn ended.
    pub(crate) fn turn_end(&mut self, t: &TurnEnd) {
        if self.json {
            self.emit(&json!({
                "event": "turn_end", "turn": t.turn, "audio_s": secs(t.audio),
                "first_audio_ms": t.first_audio.map(|d| d.as_millis() as u64),
                "total_tokens": t.tokens, "interrupted": t.interrupted,
            }));
            return;
        }
        let mut marker = format!("── turn {}", t.turn + 1);
        if t.interrupted {
            marker.push_str(" (interrupted)");
        }
        marker.push_str(&format!(" · {:.1} s of audio", t.audio.as_secs_f64()));
        if let Some(d) = t.first_audio {
            marker.push_str(&format!(" · first audio after {} ms", d.as_millis()));
        }
        if let Some(n) = t.tokens {
            marker.push_str(&format!(" · {n} tokens"));
        }
        self.note(&marker);
    }

    /// A video frame went out.
    pub(crate) fn video(&mut self, path: &std::path::Path, bytes: usize) {
        self.json(
            json!({"event": "video_frame", "file": path.display().to_string(), "bytes": bytes}),
        );
    }

    /// A file was written.
    pub(crate) fn file(&mut self, what: &str, path: &std::path::Path, length: Duration) {
        if self.json {
            self.emit(&json!({"event": "audio_file", "kind": what, "path": path.display().to_string(), "seconds": secs(length)}));
        } else {
            self.note(&format!(
                "wrote {} ({what}, {:.1} s)",
                path.display(),
                length.as_secs_f64()
            ));
        }
    }

    /// The session summary.
    pub(crate) fn summary(&mut self, s: &Summary) {
        let ttfa: Vec<u64> = s.first_audio.iter().map(|d| d.as_millis() as u64).collect();
        if self.json {
            self.emit(&json!({
                "event": "summary", "turns": s.turns, "interruptions": s.interruptions,
                "audio_sent_s": secs(s.sent), "audio_received_s": secs(s.received), "audio_heard_s": secs(s.heard),
                "prompt_tokens": s.prompt_tokens, "response_tokens": s.response_tokens, "total_tokens": s.total_tokens,
                "first_audio_ms": ttfa, "video_frames": s.video_frames,
            }));
            return;
        }
        self.end_line();
        let mut text = format!(
            "{} turns ({} interrupted) · you {:.1} s · model {:.1} s received, {:.1} s heard · {} tokens ({} in, {} out)",
            s.turns,
            s.interruptions,
            s.sent.as_secs_f64(),
            s.received.as_secs_f64(),
            s.heard.as_secs_f64(),
            s.total_tokens,
            s.prompt_tokens,
            s.response_tokens,
        );
        if !ttfa.is_empty() {
            let list: Vec<String> = ttfa.iter().map(|ms| format!("{ms}")).collect();
            text.push_str(&format!(" · first audio after {} ms", list.join(", ")));
        }
        if s.video_frames > 0 {
            text.push_str(&format!(" · {} video frames", s.video_frames));
        }
        eprintln!("{text}");
    }

    pub(crate) fn finish(&mut self) {
        if !self.json {
            self.end_line();
        }
    }
}
