//! The terminal: what it can show, and one place that draws on it.
//!
//! gemlive writes three kinds of things: the answer (stdout), status lines (stderr) and, on a
//! terminal, a live area below them that it redraws (the input line, audio progress, meters).
//! When a stream is a terminal its writes go through the [`Screen`], which keeps the live area
//! below everything else and never erases what it did not draw; otherwise they are plain
//! lines, with no colour and no cursor movement, so that a pipe or a file gets text only.
//!
//! - [`screen`]: the live area and the transcript above it.
//! - [`keys`]: keys from the terminal without echo (termios), parsed.
//! - [`editor`]: the input line: editing, history.
//! - [`markdown`]: Markdown shown with styles as it streams.

pub(crate) mod editor;
pub(crate) mod keys;
pub(crate) mod markdown;
pub(crate) mod screen;

use std::io::IsTerminal;

pub(crate) use screen::screen;

/// What the process's streams are, decided once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    pub(crate) stdin_tty: bool,
    pub(crate) stdout_tty: bool,
    pub(crate) stderr_tty: bool,
    /// `TERM=dumb` (or unset): no cursor movement, no colour.
    pub(crate) dumb: bool,
    /// Colour and styles: a capable terminal and no `NO_COLOR`.
    pub(crate) colour: bool,
}

impl Caps {
    pub(crate) fn detect() -> Self {
        let term = std::env::var("TERM").unwrap_or_default();
        let dumb = term.is_empty() || term == "dumb";
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            dumb,
            colour: !dumb && !no_colour,
        }
    }

    /// Whether stdout is a terminal gemlive may draw on (move the cursor, redraw).
    pub(crate) fn draw_stdout(&self) -> bool {
        self.stdout_tty && !self.dumb
    }

    /// Whether stderr is a terminal gemlive may draw on.
    pub(crate) fn draw_stderr(&self) -> bool {
        self.stderr_tty && !self.dumb
    }
}

/// Text styles (SGR); empty when colour is off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style(&'static str);

impl Style {
    pub(crate) const DIM: Self = Self("\x1b[2m");
    pub(crate) const BOLD: Self = Self("\x1b[1m");
    pub(crate) const ITALIC: Self = Self("\x1b[3m");
    pub(crate) const YELLOW: Self = Self("\x1b[33m");
    pub(crate) const RED: Self = Self("\x1b[1;31m");
    pub(crate) const CYAN: Self = Self("\x1b[36m");
    pub(crate) const GREEN: Self = Self("\x1b[1;32m");
    pub(crate) const BLUE: Self = Self("\x1b[1;34m");
    pub(crate) const RESET: &'static str = "\x1b[0m";

    pub(crate) fn code(self) -> &'static str {
        self.0
    }

    /// `text` in this style when `on`.
    pub(crate) fn paint(self, on: bool, text: &str) -> String {
        if on && !text.is_empty() {
            format!("{}{text}{}", self.0, Self::RESET)
        } else {
            text.to_owned()
        }
    }
}

/// Text from the network made safe for a terminal: control characters (escape sequences a
/// server could use to move the cursor, retitle the window or worse) become `�`; newlines and
/// tabs stay.
pub(crate) fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_from_the_server_are_not_run() {
        assert_eq!(sanitize("2 + 2\nis 4\t."), "2 + 2\nis 4\t.");
        assert_eq!(
            sanitize("a\x1b]0;pwned\x07b\rc"),
            "a\u{fffd}]0;pwned\u{fffd}b\u{fffd}c"
        );
    }

    #[test]
    fn styles_only_when_colour_is_on() {
        assert_eq!(Style::BOLD.paint(false, "x"), "x");
        assert_eq!(Style::BOLD.paint(true, "x"), "\x1b[1mx\x1b[0m");
        assert_eq!(Style::BOLD.paint(true, ""), "");
    }
}
