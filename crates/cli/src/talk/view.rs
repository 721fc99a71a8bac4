//! What the terminal shows while talking: live transcripts (partials replaced by finals), level
//! meters of the microphone and of the model's voice, turn boundaries, tool calls, cut-off marks
//! and the summary; or, with `--json`, the same as one JSON object per line.
//!
//! Transcripts go to stdout, remarks to stderr. On a terminal the meters and the partial
//! transcript are rows of the live area (below the transcript, cut to the terminal's width,
//! gone at the end), and the input line for typed text is below them.

use std::time::Duration;

use protocol::{Close, Event, Speech};
use serde_json::{Value, json};

use crate::output::{
    calling, close_json, describe, event_json, go_away, reconnecting, short, tool_event_json,
    tool_event_line,
};
use crate::term::{Style, sanitize, screen};
use crate::tools::CallNews;

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

/// A reply that a broken connection took along.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lost<'a> {
    /// The reply to this typed turn (not sent again: sent too often already).
    Typed(&'a str),
    /// A reply to speech, cut off mid-way (and the speech was not sent again: sent too often).
    Reply,
    /// Speech that ended before the break, whose reply had not begun.
    Unanswered,
    /// Speech the server heard, and no reply began for this long.
    Silent(Duration),
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
    /// Replies cut off by a connection and not asked again.
    pub(crate) not_completed: usize,
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
    /// A terminal drawn on: partial transcripts and meters are live rows.
    live: bool,
    /// Styles (dim partials, labels) unless NO_COLOR or TERM=dumb.
    colour: bool,
    /// What is on the current (unfinished) line.
    line: Line,
    /// The user's final transcript so far this turn.
    user: String,
    /// The latest low-latency partial, replaced by the next partial or final.
    interim: String,
    meter: Option<String>,
    /// The cause of the latest cut was said: the reconnection that follows need not repeat it.
    cause_said: bool,
}

/// Bars in a level meter.
const BARS: usize = 12;

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn bars(dbfs: f32) -> String {
    let n = (((dbfs + 60.0) / 60.0).clamp(0.0, 1.0) * BARS as f32).round() as usize;
    format!("[{}{}]", "#".repeat(n), " ".repeat(BARS - n))
}

impl View {
    pub(crate) fn new(json: bool) -> Self {
        let caps = screen().caps();
        Self {
            json,
            live: !json && screen().live(),
            colour: caps.colour && caps.stdout_tty,
            line: Line::None,
            user: String::new(),
            interim: String::new(),
            meter: None,
            cause_said: false,
        }
    }

    fn emit(&self, value: &Value) {
        screen().out(&format!("{value}\n"));
    }

    fn redraw_live(&self) {
        if !self.live {
            return;
        }
        let mut rows = Vec::new();
        if self.line == Line::User && !self.interim.is_empty() {
            rows.push(format!(
                "{} {}{}",
                Style::BLUE.paint(self.colour, "you:"),
                sanitize(self.user.trim_start()),
                Style::DIM.paint(self.colour, &sanitize(&self.interim))
            ));
        }
        if let Some(m) = &self.meter {
            rows.push(Style::DIM.paint(self.colour, m));
        }
        screen().set_live(rows);
    }

    fn end_line(&mut self) {
        match self.line {
            Line::None => {}
            Line::User => {
                let text = format!("{}{}", self.user, self.interim);
                let label = Style::BLUE.paint(self.colour, "you:");
                screen().out(&format!("{label} {}\n", sanitize(text.trim())));
                self.user.clear();
                self.interim.clear();
            }
            Line::Model => screen().end_out_line(true),
        }
        self.line = Line::None;
        self.redraw_live();
    }

    /// A line of its own, on stderr (nothing with `--json`).
    pub(crate) fn note(&mut self, text: &str) {
        if self.json {
            return;
        }
        self.end_line();
        screen().err_line(text);
    }

    /// A warning (stderr, also with `--json`).
    pub(crate) fn warning(&mut self, text: &str) {
        self.end_line();
        let label = Style::YELLOW.paint(self.colour, "warning:");
        screen().err_line(&format!("{label} {text}"));
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
                self.redraw_live();
            }
            Event::OutputTranscript { text, .. }
            | Event::Text {
                text,
                thought: false,
            } => {
                let mut shown = String::new();
                if self.line != Line::Model {
                    self.end_line();
                    self.line = Line::Model;
                    shown.push_str(&Style::GREEN.paint(self.colour, "gemini:"));
                    shown.push(' ');
                }
                shown.push_str(&sanitize(text));
                screen().out(&shown);
            }
            Event::ToolCall { calls } => {
                for c in calls {
                    self.note(&calling(c));
                }
            }
            Event::ToolCallCancellation { ids } => {
                self.note(&format!("[tool calls cancelled: {}]", ids.join(", ")));
            }
            Event::GoAway { time_left, .. } => self.note(&go_away(*time_left)),
            Event::Reconnecting {
                cause,
                attempt,
                delay,
            } => {
                let said = std::mem::take(&mut self.cause_said);
                self.note(&reconnecting(cause, *attempt, *delay, said));
            }
            Event::Malformed(e) => self.note(&format!("[skipped a malformed frame: {e}]")),
            Event::Violation(v) => self.note(&format!("[server protocol violation: {v}]")),
            _ => {}
        }
    }

    /// The levels of the microphone and of the model's voice (dBFS; `None`: silent), as a live
    /// row on a terminal.
    pub(crate) fn level(&mut self, mic: f32, talking: bool, model: Option<f32>) {
        if !self.live {
            return;
        }
        let mut meter = format!(
            "mic {} {} {:>3.0} dB",
            if talking { "●" } else { " " },
            bars(mic),
            mic.max(-99.0)
        );
        if let Some(m) = model {
            meter.push_str(&format!(" · gemini ♪ {}", bars(m)));
        }
        if self.meter.as_deref() != Some(meter.as_str()) {
            self.meter = Some(meter);
            self.redraw_live();
        }
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

    /// A typed turn's connection was cut; it is sent again and its answer starts over.
    pub(crate) fn restart_turn(&mut self, text: &str, cause: &Close) {
        self.cause_said = true;
        self.note(&format!(
            "[cut off: {} · asking “{}” again]",
            describe(cause),
            short(text)
        ));
    }

    /// What the user said was cut with the connection, and is sent again on the next one.
    /// `said`: it was speech (or a reply to it) the user would miss; otherwise (silence between
    /// turns, as far as the client can tell) the move is not worth a line.
    pub(crate) fn resend_speech(&mut self, speech: Speech, cause: &Close, said: bool) {
        if !speech.dropped.is_zero() {
            self.warning(&format!(
                "the first {:.1} s of what you said did not fit in the {:.0} s kept for a break and were not sent again",
                speech.dropped.as_secs_f64(),
                speech.audio.as_secs_f64()
            ));
        }
        if said {
            self.cause_said = true;
            self.note(&format!(
                "[cut off: {} · sending what you said again]",
                describe(cause)
            ));
        }
    }

    /// A reply will not come: its connection broke.
    pub(crate) fn reply_lost(&mut self, lost: Lost<'_>, cause: &Close) {
        self.cause_said = true;
        if self.json {
            let typed = match lost {
                Lost::Typed(t) => Some(t),
                _ => None,
            };
            let started = matches!(lost, Lost::Typed(_) | Lost::Reply);
            self.emit(&json!({"event": "reply_lost", "typed": typed, "started": started, "close": close_json(cause)}));
            return;
        }
        let cause = describe(cause);
        self.warning(&match lost {
            Lost::Typed(t) => format!("“{}” was not completed: {cause}", short(t)),
            Lost::Reply => format!("the reply was cut off: {cause}; say it again"),
            Lost::Unanswered => {
                format!(
                    "what you said got no reply before the connection ended: {cause}; say it again"
                )
            }
            Lost::Silent(waited) => format!(
                "what you said got no reply within {:.1} s; say it again",
                waited.as_secs_f64()
            ),
        });
    }

    /// What the tool dispatcher did with a call.
    pub(crate) fn tool_event(&mut self, event: &CallNews) {
        if self.json {
            if let Some(v) = tool_event_json(event) {
                self.emit(&v);
            }
        } else if let Some(line) = tool_event_line(event) {
            self.note(&line);
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
                "first_audio_ms": ttfa, "video_frames": s.video_frames, "not_completed": s.not_completed,
            }));
            return;
        }
        self.end_line();
        let mut turns = if s.turns == 0 {
            "ended before the model answered".to_owned()
        } else {
            format!(
                "{} turn{} ({} interrupted)",
                s.turns,
                if s.turns == 1 { "" } else { "s" },
                s.interruptions
            )
        };
        if s.not_completed > 0 {
            turns.push_str(&format!(" · {} cut off and not completed", s.not_completed));
        }
        let mut text = format!(
            "{turns} · you {:.1} s · model {:.1} s received, {:.1} s heard · {} tokens ({} in, {} out)",
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
        screen().err_line(&text);
    }

    /// Ends the transcript's line and removes the live rows.
    pub(crate) fn finish(&mut self) {
        if !self.json {
            self.end_line();
        }
        self.meter = None;
        self.redraw_live();
    }
}
