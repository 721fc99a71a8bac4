//! What `chat` (and `replay`) show: for a person, the answer on stdout and everything else on
//! stderr; for a program (`--json`), one JSON object per line on stdout and nothing else.
//!
//! For a person on a terminal the answer is labelled (`gemini:`), its Markdown rendered, and
//! colours used unless `NO_COLOR` or `TERM=dumb`; audio progress is a row of the live area, below
//! the text. When stdout is a pipe or a file it gets the model's text only, exactly as sent.

use std::path::Path;
use std::time::Duration;

use protocol::{Close, CloseKind, Event};
use serde_json::{Value, json};
use tools::ToolEvent;

use crate::term::markdown::Markdown;
use crate::term::{Style, sanitize, screen};
use crate::tools::CallNews;

/// Where events go.
#[derive(Debug)]
pub(crate) struct Output {
    json: bool,
    /// The user asked for audio: its MIME type and progress are shown.
    audio: bool,
    /// stdout is a terminal: the answer is labelled and made safe to show.
    tty_out: bool,
    /// Colours and Markdown on stdout.
    styled_out: bool,
    /// Colours on stderr.
    styled_err: bool,
    /// The answer's line is unfinished.
    mid_line: bool,
    /// This turn's answer has begun (its label is out).
    answering: bool,
    md: Markdown,
    audio_seconds: f64,
    mime_shown: bool,
    /// The live area's rows: what connects, audio progress, a hint.
    connecting: Option<String>,
    progress: Option<String>,
    hint: Option<String>,
    /// Where this turn's answer starts in stdout, when stdout is a file it can be taken back from.
    mark: Option<u64>,
    /// The cause of the latest cut was said: the reconnection that follows need not repeat it.
    cause_said: bool,
    /// The conversation so far, for `/save`.
    pub(crate) log: Vec<(Speaker, String)>,
}

/// Who said a part of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Speaker {
    User,
    Model,
}

impl Output {
    pub(crate) fn new(json: bool, audio: bool) -> Self {
        let caps = screen().caps();
        Self {
            json,
            audio,
            tty_out: !json && caps.stdout_tty,
            styled_out: !json && caps.stdout_tty && caps.colour,
            styled_err: caps.stderr_tty && caps.colour,
            mid_line: false,
            answering: false,
            md: Markdown::new(!json && caps.stdout_tty && caps.colour),
            audio_seconds: 0.0,
            mime_shown: false,
            connecting: None,
            progress: None,
            hint: None,
            mark: None,
            cause_said: false,
            log: Vec::new(),
        }
    }

    /// Whether spoken replies are asked for.
    pub(crate) fn set_audio(&mut self, audio: bool) {
        self.audio = audio;
    }

    fn emit(&self, value: &Value) {
        screen().out(&format!("{value}\n"));
    }

    /// A status line on stderr (nothing with `--json`), on a line of its own. On a terminal
    /// drawn on, one that comes mid-answer waits for the answer's row to end (the screen holds
    /// it); the answer's text is never broken by it, on a terminal or in a file.
    fn status(&mut self, style: Style, text: &str) {
        if !self.json {
            if self.mid_line && self.tty_out && !screen().caps().draw_stdout() {
                self.end_line();
            }
            screen().err_line(&style.paint(self.styled_err, text));
        }
    }

    /// A remark for a person (stderr); scripts (`--json`) don't get it.
    pub(crate) fn note(&mut self, text: &str) {
        self.status(Style::DIM, text);
    }

    /// A warning for a person (stderr), also with `--json`, where stderr is not read as data.
    pub(crate) fn warning(&mut self, text: &str) {
        if self.mid_line && self.tty_out {
            self.end_line();
        }
        let label = Style::YELLOW.paint(self.styled_err, "warning:");
        screen().err_line(&format!("{label} {text}"));
    }

    /// The banner of an interactive chat.
    pub(crate) fn banner(&mut self, lines: &[String]) {
        if let Some((first, rest)) = lines.split_first() {
            self.status(Style::BOLD, first);
            for l in rest {
                self.status(Style::DIM, l);
            }
        }
    }

    fn redraw_live(&self) {
        let rows: Vec<String> = [&self.connecting, &self.progress, &self.hint]
            .into_iter()
            .flatten()
            .map(|r| Style::DIM.paint(self.styled_err, r))
            .collect();
        screen().set_live(rows);
    }

    /// What is being connected to, while it is (`None` once connected).
    pub(crate) fn connecting(&mut self, what: Option<String>) {
        self.connecting = what;
        self.redraw_live();
    }

    /// A hint below the transcript (`None` to remove it).
    pub(crate) fn hint(&mut self, hint: Option<String>) {
        self.hint = hint;
        self.redraw_live();
    }

    /// Ends the answer's line.
    fn end_line(&mut self) {
        if self.answering {
            let rest = self.md.finish();
            if !rest.is_empty() {
                screen().out(&rest);
            }
        }
        screen().end_out_line(self.mid_line);
        self.mid_line = false;
    }

    /// The user's line, as sent (in the transcript of an interactive chat).
    pub(crate) fn user_line(&mut self, text: &str, interactive: bool) {
        self.log.push((Speaker::User, text.to_owned()));
        if self.json || !interactive {
            return;
        }
        self.end_line();
        let prompt = Style::BLUE.paint(self.styled_err, "you>");
        let line = format!("{prompt} {}", sanitize(text));
        if screen().caps().draw_stdout() {
            screen().out(&format!("{line}\n"));
        }
    }

    /// A new turn starts.
    pub(crate) fn start_turn(&mut self) {
        self.audio_seconds = 0.0;
        self.mime_shown = false;
        self.answering = false;
        self.mark = screen().out_mark();
    }

    /// The answer shown so far in this turn is void (its connection was cut): on a terminal
    /// it stays, marked as cut off; from a file of its own it is taken back; in a pipe its line
    /// is ended. The `/save` log forgets it, and the audio progress starts over.
    fn void_answer(&mut self) {
        if self.answering {
            if matches!(self.log.last(), Some((Speaker::Model, _))) {
                self.log.pop();
            }
            let rest = self.md.finish();
            if self.tty_out {
                let mark = Style::YELLOW.paint(self.styled_out, " …");
                screen().out(&format!("{rest}{mark}"));
                self.mid_line = true;
            } else if self.mark.is_some_and(|m| screen().out_rewind(m)) {
                self.mid_line = false;
            }
            self.answering = false;
        }
        if self.mid_line {
            self.end_line();
        }
        self.audio_seconds = 0.0;
        self.mime_shown = false;
        self.progress = None;
        self.redraw_live();
    }

    /// The turn's connection was cut and the turn is sent again on a new one: its new answer
    /// replaces what came so far.
    pub(crate) fn restart_turn(&mut self, text: &str, cause: &Close) {
        self.cause_said = true;
        if self.json {
            return;
        }
        self.void_answer();
        self.status(
            Style::YELLOW,
            &format!(
                "[cut off: {} · asking “{}” again]",
                describe(cause),
                short(text)
            ),
        );
    }

    /// A turn that will get no answer: its connection was cut and it was not sent again.
    pub(crate) fn turn_not_completed(
        &mut self,
        turn: usize,
        text: &str,
        cause: &Close,
        tries: u32,
    ) {
        self.cause_said = true;
        if self.json {
            self.emit(&json!({"event": "turn_end", "turn": turn, "completed": false, "text": text, "close": close_json(cause)}));
            return;
        }
        self.void_answer();
        let tries = if tries > 1 {
            format!(" (sent {tries} times)")
        } else {
            String::new()
        };
        self.warning(&format!(
            "turn {} “{}” was not completed: {}{tries}",
            turn + 1,
            short(text),
            describe(cause)
        ));
    }

    fn answer(&mut self, text: &str) {
        match self.log.last_mut() {
            Some((Speaker::Model, t)) if self.answering => t.push_str(text),
            _ => self.log.push((Speaker::Model, text.to_owned())),
        }
        let mut shown = String::new();
        if !self.answering {
            self.answering = true;
            if self.tty_out {
                shown.push_str(&Style::GREEN.paint(self.styled_out, "gemini:"));
                shown.push(' ');
            }
        }
        if self.tty_out {
            shown.push_str(&self.md.push(&sanitize(text)));
        } else {
            shown.push_str(text);
        }
        if !shown.is_empty() {
            screen().out(&shown);
            self.mid_line = !shown.ends_with('\n');
        }
    }

    /// Shows one event.
    pub(crate) fn event(&mut self, event: &Event) {
        if self.json {
            if let Some(v) = event_json(event) {
                self.emit(&v);
            }
            return;
        }
        match event {
            Event::Text {
                text,
                thought: false,
            }
            | Event::OutputTranscript { text, .. } => self.answer(text),
            Event::Text {
                text,
                thought: true,
            } => self.status(Style::DIM, &format!("(thinking) {}", sanitize(text).trim())),
            Event::InputTranscript {
                text,
                interim: false,
                ..
            } if !text.trim().is_empty() => {
                self.status(Style::DIM, &format!("you said: {}", sanitize(text).trim()));
            }
            Event::Audio {
                data, sample_rate, ..
            } => {
                self.audio_seconds += data.len() as f64 / 2.0 / f64::from((*sample_rate).max(1));
                if !self.audio {
                    return;
                }
                let mime = protocol::pcm_mime(*sample_rate);
                if screen().live() {
                    self.progress = Some(format!(
                        "♪ receiving {mime} · {:.1} s of audio",
                        self.audio_seconds
                    ));
                    self.redraw_live();
                } else if !self.mime_shown {
                    self.status(Style::DIM, &format!("receiving {mime}"));
                }
                self.mime_shown = true;
            }
            Event::Interrupted => {
                self.end_line();
                self.status(Style::YELLOW, "[interrupted]");
            }
            Event::ToolCall { calls } => {
                for c in calls {
                    self.status(Style::DIM, &calling(c));
                }
            }
            Event::ToolCallCancellation { ids } => {
                self.status(
                    Style::YELLOW,
                    &format!("[tool calls cancelled: {}]", ids.join(", ")),
                );
            }
            Event::GoAway { time_left, .. } => self.status(Style::YELLOW, &go_away(*time_left)),
            Event::Reconnecting {
                cause,
                attempt,
                delay,
            } => {
                let said = std::mem::take(&mut self.cause_said);
                let line = reconnecting(cause, *attempt, *delay, said);
                self.status(Style::YELLOW, &line);
            }
            Event::SetupComplete { resumed: true, .. } => {
                self.status(Style::YELLOW, "[reconnected: the session goes on]");
            }
            Event::Malformed(e) => {
                self.status(Style::YELLOW, &format!("[skipped a malformed frame: {e}]"));
            }
            Event::Violation(v) => {
                self.status(Style::YELLOW, &format!("[server protocol violation: {v}]"));
            }
            _ => {}
        }
    }

    /// A session is open (`--json` only: for a person, the banner or nothing says it).
    pub(crate) fn session_started(&mut self, session_id: Option<String>, resumed: bool) {
        if self.json {
            self.emit(
                &json!({"event": "setup_complete", "session_id": session_id, "resumed": resumed}),
            );
        }
    }

    /// The reply in flight was cancelled (Ctrl-C): the rest of it is not shown.
    pub(crate) fn cancelled(&mut self) {
        if self.json {
            self.emit(&json!({"event": "cancelled"}));
            return;
        }
        self.end_line();
        self.progress = None;
        self.redraw_live();
        self.status(Style::YELLOW, "[cancelled]");
    }

    /// The end of a turn, with its token count.
    /// The next output is a new answer (labelled again), also when the model speaks on its own
    /// (its reaction to a NON_BLOCKING tool's result).
    pub(crate) fn turn_complete(&mut self, turn: usize, tokens: Option<i32>) {
        if self.json {
            self.emit(&json!({"event": "turn_end", "turn": turn, "completed": true, "total_tokens": tokens}));
            self.start_turn();
            return;
        }
        self.end_line();
        self.progress = None;
        self.redraw_live();
        let mut marker = String::from("── turn complete");
        if let Some(t) = tokens {
            marker.push_str(&format!(" · {t} tokens"));
        }
        if self.audio_seconds > 0.0 && self.audio {
            marker.push_str(&format!(" · {:.1} s of audio", self.audio_seconds));
        }
        self.status(Style::DIM, &marker);
        self.start_turn();
    }

    /// What the tool dispatcher did with a call, or that the model did not react to a result.
    pub(crate) fn tool_event(&mut self, event: &CallNews) {
        if self.json {
            if let Some(v) = tool_event_json(event) {
                self.emit(&v);
            }
        } else if let Some(line) = tool_event_line(event) {
            self.status(Style::DIM, &line);
        }
    }

    /// Replies were written to a file.
    pub(crate) fn audio_file(&mut self, path: &Path, seconds: Duration, replaced: bool) {
        if self.json {
            self.emit(&json!({"event": "audio_file", "path": path.display().to_string(), "seconds": seconds.as_secs_f64(), "replaced": replaced}));
        } else {
            self.status(
                Style::DIM,
                &format!(
                    "wrote {} ({:.1} s{})",
                    path.display(),
                    seconds.as_secs_f64(),
                    if replaced {
                        ", replacing the file that was there"
                    } else {
                        ""
                    }
                ),
            );
        }
    }

    /// Where to resume from: `again` is the command line that resumes it.
    pub(crate) fn saved_session(&mut self, handle: &str, again: &str) {
        if self.json {
            self.emit(&json!({"event": "session_saved", "handle": handle}));
        } else {
            self.end_line();
            self.status(Style::DIM, &format!("session saved (handle {handle})"));
            self.status(Style::DIM, &format!("continue with: {again}"));
        }
    }

    /// Turns that were sent or queued but not answered.
    pub(crate) fn unanswered(&mut self, turns: &[(usize, String)]) {
        if turns.is_empty() {
            return;
        }
        if self.json {
            let list: Vec<Value> = turns
                .iter()
                .map(|(n, t)| json!({"turn": n, "text": t}))
                .collect();
            self.emit(&json!({"event": "unanswered", "turns": list}));
            return;
        }
        let list: Vec<String> = turns
            .iter()
            .map(|(n, t)| format!("#{} “{}”", n + 1, short(t)))
            .collect();
        self.warning(&format!("not answered: {}", list.join(", ")));
    }

    /// A fatal error, with its close classification when there is one.
    pub(crate) fn error(&mut self, message: &str, close: Option<&Close>, exit_code: u8) {
        if self.json {
            let mut v = json!({"event": "error", "message": message, "exit_code": exit_code});
            if let Some(c) = close {
                v["close"] = close_json(c);
            }
            self.emit(&v);
            return;
        }
        if self.answering || self.mid_line {
            self.end_line();
        }
        self.progress = None;
        self.connecting = None;
        self.redraw_live();
        let label = Style::RED.paint(self.styled_err, "error:");
        screen().err_line_now(&format!("{label} {message}"));
        if let Some(c) = close.filter(|c| !message.contains(c.hint)) {
            let hint = Style::BOLD.paint(self.styled_err, "hint:");
            screen().err_line_now(&format!("  {hint} {}", c.hint));
        }
    }

    /// Finishes any open line and the live area.
    pub(crate) fn finish(&mut self) {
        if !self.json {
            self.end_line();
        }
        self.progress = None;
        self.hint = None;
        self.connecting = None;
        self.redraw_live();
    }

    /// The conversation as Markdown (`/save`).
    pub(crate) fn markdown(&self, model: &str) -> String {
        let mut text = format!("# gemlive chat with {model}\n");
        for (who, said) in &self.log {
            match who {
                Speaker::User => text.push_str(&format!("\n**You:** {said}\n")),
                Speaker::Model => text.push_str(&format!("\n**Gemini:** {}\n", said.trim())),
            }
        }
        text
    }
}

/// The JSON line for what the tool dispatcher did (`None` for a call starting: the
/// `tool_call` event said it).
pub(crate) fn tool_event_json(news: &CallNews) -> Option<Value> {
    let event = match news {
        CallNews::Tool(event) => event,
        CallNews::NoReaction { name, waited } => {
            return Some(
                json!({"event": "tool_no_reaction", "name": name, "waited_s": waited.as_secs_f64()}),
            );
        }
    };
    Some(match event {
        ToolEvent::Responded {
            id,
            name,
            response,
            will_continue,
        } => {
            json!({"event": "tool_result", "id": id, "name": name, "response": response, "partial": will_continue})
        }
        ToolEvent::Failed { id, name, error } => {
            json!({"event": "tool_error", "id": id, "name": name, "error": error})
        }
        ToolEvent::Cancelled { id, name } => {
            json!({"event": "tool_cancelled", "id": id, "name": name})
        }
        _ => return None,
    })
}

/// The line for a person of what the tool dispatcher did (`None` for a call starting: the
/// `→ calling` line said it).
pub(crate) fn tool_event_line(news: &CallNews) -> Option<String> {
    let event = match news {
        CallNews::Tool(event) => event,
        CallNews::NoReaction { name, waited } => {
            return Some(format!(
                "[the model said nothing of {}'s result in {} s; going on]",
                sanitize(name),
                waited.as_secs_f64()
            ));
        }
    };
    Some(match event {
        ToolEvent::Responded {
            name,
            response,
            will_continue,
            ..
        } => format!(
            "← {name} returned {}{}",
            short_json(response),
            if *will_continue {
                " (more to come)"
            } else {
                ""
            }
        ),
        ToolEvent::Failed { name, error, .. } => {
            format!("← {name} failed: {}", sanitize(error))
        }
        ToolEvent::Cancelled { name, .. } => format!("[{name} cancelled: no result is sent]"),
        _ => return None,
    })
}

/// A JSON value for a status line: control characters made safe, cut at 300 characters.
fn short_json(value: &Value) -> String {
    const MAX: usize = 300;
    let text = value.to_string();
    let text = sanitize(&text);
    if text.chars().count() <= MAX {
        return text.into_owned();
    }
    let mut cut: String = text.chars().take(MAX).collect();
    cut.push('…');
    cut
}

/// The line for a `goAway`.
pub(crate) fn go_away(time_left: Duration) -> String {
    format!(
        "[the server will end this connection in {:.0} s]",
        time_left.as_secs_f64()
    )
}

/// The line for a call the model asks for.
pub(crate) fn calling(call: &protocol::wire::FunctionCall) -> String {
    let args = call.args.clone().unwrap_or(Value::Null);
    format!("→ calling {}({})", sanitize(&call.name), short_json(&args))
}

/// What ended a connection, in a few words: `close 1011 (Internal error encountered.)`,
/// `the connection dropped`, `the model's turn made no progress for 45s`.
pub(crate) fn describe(close: &Close) -> String {
    match close.kind {
        CloseKind::Abnormal => "the connection dropped, no close frame".into(),
        CloseKind::Normal if close.reason.is_empty() => "the connection ended (close 1000)".into(),
        CloseKind::GoAwayDeadline => {
            "the connection's time ran out (goAway) before the answer was complete".into()
        }
        CloseKind::Stalled
        | CloseKind::IdleTimeout
        | CloseKind::SetupTimeout
        | CloseKind::ResumeFailed => close.reason.clone(),
        _ if close.reason.is_empty() => format!("close {}", close.code),
        _ => format!("close {} ({})", close.code, close.reason),
    }
}

/// The line for an [`Event::Reconnecting`]; `said`: a cut just said its cause.
pub(crate) fn reconnecting(cause: &Close, attempt: u32, delay: Duration, said: bool) -> String {
    let when = if delay.is_zero() {
        String::new()
    } else {
        format!(" in {:.1} s", delay.as_secs_f64())
    };
    if attempt > 1 {
        format!("[resuming the session{when}: attempt {attempt}]")
    } else if said || cause.kind == CloseKind::Normal {
        format!("[resuming the session{when}…]")
    } else {
        format!(
            "[connection ended, {}: resuming the session{when}…]",
            describe(cause)
        )
    }
}

/// A user's turn, cut to fit a status line.
pub(crate) fn short(text: &str) -> String {
    const MAX: usize = 48;
    let text = sanitize(text);
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= MAX && line.len() == text.len() {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(MAX).collect();
    cut.push('…');
    cut
}

pub(crate) fn close_json(c: &Close) -> Value {
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
        Event::TurnCut { cause, turns } => {
            let turns: Vec<Value> = turns
                .iter()
                .map(|t| match t.speech {
                    Some(s) => json!({"speech_ms": s.audio.as_millis() as u64, "dropped_ms": s.dropped.as_millis() as u64, "resent": t.resent}),
                    None => json!({"number": t.number, "text": t.text, "resent": t.resent}),
                })
                .collect();
            json!({"event": "turn_cut", "close": close_json(cause), "turns": turns})
        }
        Event::Reconnecting {
            cause,
            attempt,
            delay,
        } => {
            json!({"event": "reconnecting", "close": close_json(cause), "attempt": attempt, "delay_ms": delay.as_millis() as u64})
        }
        Event::ThoughtSignature(_) => return None,
        _ => return None,
    })
}
