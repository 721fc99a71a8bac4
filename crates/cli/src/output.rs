//! Showing events: for a person (streamed text, markers, colour on a terminal) or for a program
//! (`--json`: one JSON object per line on stdout, nothing else).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use protocol::{Close, Event};
use serde_json::{Value, json};

/// Where events go.
#[derive(Debug)]
pub(crate) struct Output {
    json: bool,
    colour: bool,
    progress: bool,
    /// Whether the current line has model text on it.
    mid_line: bool,
    audio_seconds: f64,
    first_audio_shown: bool,
    /// Whether the user asked for audio: then the MIME type and progress are shown.
    audio: bool,
}

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

impl Output {
    pub(crate) fn new(json: bool, audio: bool) -> Self {
        Self {
            json,
            colour: !json
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            progress: !json && std::io::stderr().is_terminal(),
            mid_line: false,
            audio_seconds: 0.0,
            first_audio_shown: false,
            audio,
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.colour {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn emit(&self, value: Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn line(&mut self, text: &str) {
        self.end_line();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn end_line(&mut self) {
        self.clear_progress();
        if self.mid_line {
            let _ = writeln!(std::io::stdout().lock());
            self.mid_line = false;
        }
    }

    fn clear_progress(&self) {
        if self.progress && self.audio && self.audio_seconds > 0.0 {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }

    fn stream(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{text}");
        let _ = out.flush();
        self.mid_line = true;
    }

    /// A new turn starts.
    pub(crate) fn start_turn(&mut self) {
        self.audio_seconds = 0.0;
        self.first_audio_shown = false;
    }

    /// Shows one event.
    pub(crate) fn event(&mut self, event: &Event) {
        if self.json {
            if let Some(v) = event_json(event) {
                self.emit(v);
            }
            return;
        }
        match event {
            Event::Text {
                text,
                thought: false,
            }
            | Event::OutputTranscript { text, .. } => self.stream(text),
            Event::Text {
                text,
                thought: true,
            } => {
                let t = self.paint(DIM, &format!("(thinking) {text}"));
                self.line(&t);
            }
            Event::InputTranscript {
                text,
                interim: false,
                ..
            } if !text.trim().is_empty() => {
                let t = self.paint(DIM, &format!("you said: {}", text.trim()));
                self.line(&t);
            }
            Event::Audio {
                data, sample_rate, ..
            } => {
                self.audio_seconds += data.len() as f64 / 2.0 / f64::from((*sample_rate).max(1));
                if !self.audio {
                    return;
                }
                if !self.first_audio_shown {
                    self.first_audio_shown = true;
                    self.end_line();
                    eprintln!(
                        "{}",
                        self.paint(
                            DIM,
                            &format!("receiving {}", protocol::pcm_mime(*sample_rate))
                        )
                    );
                }
                if self.progress {
                    let _ = write!(
                        std::io::stderr().lock(),
                        "\r{} {:.1} s of audio",
                        if self.mid_line { "" } else { "♪" },
                        self.audio_seconds
                    );
                }
            }
            Event::Interrupted => {
                let t = self.paint(YELLOW, "[interrupted]");
                self.line(&t);
            }
            Event::ToolCall { calls } => {
                for c in calls {
                    let args = c.args.clone().unwrap_or(Value::Null);
                    let t = self.paint(DIM, &format!("→ calling {}({args})", c.name));
                    self.line(&t);
                }
            }
            Event::ToolCallCancellation { ids } => {
                let t = self.paint(
                    YELLOW,
                    &format!("[tool calls cancelled: {}]", ids.join(", ")),
                );
                self.line(&t);
            }
            Event::GoAway { time_left, .. } => {
                let t = self.paint(
                    YELLOW,
                    &format!("[the server will end this connection in {time_left:?}]"),
                );
                self.line(&t);
            }
            Event::Malformed(e) => {
                let t = self.paint(YELLOW, &format!("[skipped a malformed frame: {e}]"));
                self.line(&t);
            }
            Event::Violation(v) => {
                let t = self.paint(YELLOW, &format!("[server protocol violation: {v}]"));
                self.line(&t);
            }
            _ => {}
        }
    }

    /// The end of a turn, with its token count.
    pub(crate) fn turn_complete(&mut self, turn: usize, tokens: Option<i32>) {
        if self.json {
            self.emit(json!({"event": "turn_end", "turn": turn, "total_tokens": tokens}));
            return;
        }
        let mut marker = String::from("── turn complete");
        if let Some(t) = tokens {
            marker.push_str(&format!(" · {t} tokens"));
        }
        if self.audio_seconds > 0.0 {
            marker.push_str(&format!(" · {:.1} s of audio", self.audio_seconds));
        }
        let t = self.paint(DIM, &marker);
        self.line(&t);
    }

    /// A tool ran.
    pub(crate) fn tool_result(&mut self, id: &str, name: &str, response: &Value) {
        if self.json {
            self.emit(
                json!({"event": "tool_result", "id": id, "name": name, "response": response}),
            );
        } else {
            let t = self.paint(DIM, &format!("← {name} returned {response}"));
            self.line(&t);
        }
    }

    /// A reply was written to a file.
    pub(crate) fn audio_file(&mut self, path: &std::path::Path, seconds: Duration) {
        if self.json {
            self.emit(json!({"event": "audio_file", "path": path.display().to_string(), "seconds": seconds.as_secs_f64()}));
        } else {
            let t = self.paint(
                DIM,
                &format!("wrote {} ({:.1} s)", path.display(), seconds.as_secs_f64()),
            );
            self.line(&t);
        }
    }

    /// Where to resume from.
    pub(crate) fn saved_session(&mut self, handle: &str) {
        if self.json {
            self.emit(json!({"event": "session_saved", "handle": handle}));
        } else {
            self.end_line();
            eprintln!(
                "{}",
                self.paint(
                    DIM,
                    &format!("session handle {handle} saved; continue with: gemlive chat --resume")
                )
            );
        }
    }

    /// A fatal error, with its close classification when there is one.
    pub(crate) fn error(&mut self, message: &str, close: Option<&Close>, exit_code: u8) {
        if self.json {
            let mut v = json!({"event": "error", "message": message, "exit_code": exit_code});
            if let Some(c) = close {
                v["close"] = close_json(c);
            }
            self.emit(v);
        } else {
            self.end_line();
            eprintln!(
                "{} {message}",
                self.paint(&format!("{BOLD}{RED}"), "error:")
            );
            if let Some(c) = close.filter(|c| !message.contains(c.hint)) {
                eprintln!("  {} {}", self.paint(BOLD, "hint:"), c.hint);
            }
        }
    }

    /// A remark for a person (stderr); scripts (`--json`) don't get it.
    #[cfg(feature = "device")]
    pub(crate) fn note(&mut self, text: &str) {
        if !self.json {
            self.end_line();
            eprintln!("{}", self.paint(DIM, text));
        }
    }

    /// Finishes any open line.
    pub(crate) fn finish(&mut self) {
        if !self.json {
            self.end_line();
        }
    }
}

fn close_json(c: &Close) -> Value {
    json!({"code": c.code, "reason": c.reason, "kind": format!("{:?}", c.kind), "fault": format!("{:?}", c.fault), "retriable": c.retriable, "hint": c.hint})
}

/// The JSON line for an event (`None` for events that carry nothing for a script).
pub(crate) fn event_json(event: &Event) -> Option<Value> {
    Some(match event {
        Event::SetupComplete {
            session_id,
            resumed,
        } => json!({"event": "setup_complete", "session_id": session_id, "resumed": resumed}),
        Event::Text { text, thought } => {
            json!({"event": if *thought { "thought" } else { "text" }, "text": text})
        }
        Event::Audio {
            data, sample_rate, ..
        } => {
            json!({"event": "audio", "bytes": data.len(), "sample_rate": sample_rate, "mime_type": protocol::pcm_mime(*sample_rate)})
        }
        Event::InlineData { mime_type, data } => {
            json!({"event": "inline_data", "mime_type": mime_type, "bytes": data.len()})
        }
        Event::InputTranscript {
            text,
            finished,
            interim,
        } => {
            json!({"event": "input_transcript", "text": text, "finished": finished, "interim": interim})
        }
        Event::OutputTranscript { text, finished } => {
            json!({"event": "output_transcript", "text": text, "finished": finished})
        }
        Event::GenerationComplete => json!({"event": "generation_complete"}),
        Event::Interrupted => json!({"event": "interrupted"}),
        Event::WaitingForInput => json!({"event": "waiting_for_input"}),
        Event::TurnComplete { reason, status } => {
            json!({"event": "turn_complete", "reason": reason.as_ref().map(|r| r.as_str().to_owned()), "status": status.as_ref().map(|s| s.as_str().to_owned())})
        }
        Event::Usage(u) => json!({"event": "usage", "usage": u}),
        Event::ToolCall { calls } => json!({"event": "tool_call", "calls": calls}),
        Event::ToolCallCancellation { ids } => {
            json!({"event": "tool_call_cancellation", "ids": ids})
        }
        Event::GoAway { time_left, .. } => {
            json!({"event": "go_away", "time_left_ms": time_left.as_millis() as u64})
        }
        Event::Resumption {
            handle,
            resumable,
            last_consumed_index,
        } => {
            json!({"event": "resumption", "handle": handle, "resumable": resumable, "last_consumed_index": last_consumed_index})
        }
        Event::VoiceActivity { kind, audio_offset } => {
            json!({"event": "voice_activity", "kind": kind.as_str(), "audio_offset_ms": audio_offset.map(|d| d.as_millis() as u64)})
        }
        Event::VadSignal { kind } => json!({"event": "vad_signal", "kind": kind.as_str()}),
        Event::Grounding(g) => json!({"event": "grounding", "grounding": g}),
        Event::UrlContext(u) => json!({"event": "url_context", "url_context": u}),
        Event::ExecutableCode(c) => json!({"event": "executable_code", "code": c}),
        Event::CodeExecutionResult(r) => json!({"event": "code_execution_result", "result": r}),
        Event::Unrecognized { fields } => {
            json!({"event": "unrecognized", "fields": fields.iter().map(ToString::to_string).collect::<Vec<_>>()})
        }
        Event::Malformed(e) => json!({"event": "malformed", "message": e.to_string()}),
        Event::Violation(v) => json!({"event": "violation", "message": v.to_string()}),
        Event::Closed(c) => {
            let mut v = close_json(c);
            v["event"] = "closed".into();
            v
        }
        Event::ThoughtSignature(_) => return None,
        _ => return None,
    })
}
