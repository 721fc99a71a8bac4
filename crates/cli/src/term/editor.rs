//! The input line: editing keys, history (kept across sessions, like a shell's).

use std::path::PathBuf;

use super::keys::Key;
use super::screen::InputView;

/// How many lines the history keeps.
const HISTORY: usize = 1000;

/// What a key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing beyond redrawing the line.
    Edit,
    /// Enter on a line with text: the line, trimmed.
    Submit(String),
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D on an empty line, or the terminal closed.
    Eof,
}

/// A line being typed.
#[derive(Debug, Default)]
pub(crate) struct Editor {
    text: String,
    /// A byte index into `text`, on a character boundary.
    cursor: usize,
    history: Vec<String>,
    /// While browsing the history: the entry shown, and the line typed before.
    browsing: Option<(usize, String)>,
    file: Option<PathBuf>,
}

impl Editor {
    /// An editor whose history lives in `file` (read now, appended to on each line).
    pub(crate) fn with_history(file: Option<PathBuf>) -> Self {
        let history = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        Self {
            history,
            file,
            ..Self::default()
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Empties the line.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.browsing = None;
    }

    /// The line as the screen draws it.
    pub(crate) fn view(&self, prompt: &str) -> InputView {
        InputView {
            prompt: prompt.to_owned(),
            text: self.text.clone(),
            cursor: self.cursor,
        }
    }

    fn insert(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    pub(crate) fn key(&mut self, key: Key) -> Action {
        match key {
            Key::Char(c) => {
                let c = if c == '\t' { ' ' } else { c };
                self.insert(c.encode_utf8(&mut [0; 4]));
            }
            Key::Paste(text) => self.insert(&text.replace('\n', " ")),
            Key::Enter => {
                let line = self.text.trim().to_owned();
                if line.is_empty() {
                    return Action::Edit;
                }
                self.remember(&line);
                self.clear();
                return Action::Submit(line);
            }
            Key::Ctrl('c') => return Action::Interrupt,
            Key::Ctrl('d') if self.text.is_empty() => return Action::Eof,
            Key::Eof => return Action::Eof,
            Key::Backspace | Key::Ctrl('h') => {
                let at = self.prev_boundary();
                self.text.replace_range(at..self.cursor, "");
                self.cursor = at;
            }
            Key::Delete | Key::Ctrl('d') => {
                let to = self.next_boundary();
                self.text.replace_range(self.cursor..to, "");
            }
            Key::Left | Key::Ctrl('b') => self.cursor = self.prev_boundary(),
            Key::Right | Key::Ctrl('f') => self.cursor = self.next_boundary(),
            Key::Home | Key::Ctrl('a') => self.cursor = 0,
            Key::End | Key::Ctrl('e') => self.cursor = self.text.len(),
            Key::Ctrl('u') => {
                self.text.replace_range(..self.cursor, "");
                self.cursor = 0;
            }
            Key::Ctrl('k') => self.text.truncate(self.cursor),
            Key::Ctrl('w') => {
                let before = &self.text[..self.cursor];
                let trimmed = before.trim_end();
                let at = trimmed
                    .char_indices()
                    .rev()
                    .find(|(_, c)| c.is_whitespace())
                    .map_or(0, |(i, c)| i + c.len_utf8());
                self.text.replace_range(at..self.cursor, "");
                self.cursor = at;
            }
            Key::Up | Key::Ctrl('p') => self.browse(true),
            Key::Down | Key::Ctrl('n') => self.browse(false),
            Key::Ctrl(_) => {}
        }
        Action::Edit
    }

    fn browse(&mut self, older: bool) {
        let len = self.history.len();
        let next = match (&self.browsing, older) {
            (None, true) if len > 0 => Some(len - 1),
            (None, _) => return,
            (Some((i, _)), true) => Some(i.saturating_sub(1)),
            (Some((i, _)), false) if i + 1 < len => Some(i + 1),
            (Some(_), false) => None,
        };
        match next {
            Some(i) => {
                let draft = self
                    .browsing
                    .take()
                    .map_or_else(|| self.text.clone(), |(_, d)| d);
                self.text.clone_from(&self.history[i]);
                self.browsing = Some((i, draft));
            }
            None => {
                self.text = self.browsing.take().map(|(_, d)| d).unwrap_or_default();
            }
        }
        self.cursor = self.text.len();
    }

    fn remember(&mut self, line: &str) {
        if self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_owned());
            if self.history.len() > HISTORY {
                self.history.drain(..self.history.len() - HISTORY);
            }
            if let Some(file) = &self.file {
                let mut text = self.history.join("\n");
                text.push('\n');
                if let Err(e) = crate::state::write_private(file, text.as_bytes()) {
                    tracing::warn!("cannot save the history: {e:#}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(e: &mut Editor, s: &str) {
        for c in s.chars() {
            e.key(Key::Char(c));
        }
    }

    #[test]
    fn editing_keys_work_like_a_shell() {
        let mut e = Editor::default();
        typed(&mut e, "helo wörld");
        for _ in 0..7 {
            e.key(Key::Left);
        }
        e.key(Key::Char('l'));
        assert_eq!(e.view("").text, "hello wörld");
        e.key(Key::End);
        e.key(Key::Ctrl('w'));
        assert_eq!(e.view("").text, "hello ");
        e.key(Key::Backspace);
        e.key(Key::Home);
        e.key(Key::Delete);
        assert_eq!(e.view("").text, "ello");
        assert_eq!(e.key(Key::Ctrl('c')), Action::Interrupt);
        assert_eq!(e.key(Key::Enter), Action::Submit("ello".into()));
        assert!(e.is_empty());
        assert_eq!(
            e.key(Key::Enter),
            Action::Edit,
            "an empty line sends nothing"
        );
        assert_eq!(e.key(Key::Ctrl('d')), Action::Eof);
        e.key(Key::Paste("two\nlines".into()));
        assert_eq!(e.view("").text, "two lines");
        e.key(Key::Ctrl('u'));
        assert!(e.is_empty());
    }

    #[test]
    fn up_and_down_browse_the_history_and_come_back_to_the_draft() {
        let mut e = Editor::default();
        for line in ["one", "two"] {
            typed(&mut e, line);
            e.key(Key::Enter);
        }
        typed(&mut e, "dra");
        e.key(Key::Up);
        assert_eq!(e.view("").text, "two");
        e.key(Key::Up);
        e.key(Key::Up);
        assert_eq!(e.view("").text, "one");
        e.key(Key::Down);
        e.key(Key::Down);
        assert_eq!(e.view("").text, "dra");
    }
}
