//! Markdown shown with terminal styles as it streams: `# headings` and `**bold**` in bold,
//! `*italic*`, `` `code` `` and fenced code blocks in colour, `- items` as bullets. A piece of
//! text is held back only while it may still be markup (a `*`, the start of a line), so the
//! reply keeps streaming. Without colour the text passes through unchanged.

use super::Style;

/// The renderer of one reply.
#[derive(Debug)]
pub(crate) struct Markdown {
    on: bool,
    /// The start of the current line, held until it is known whether it is a block marker.
    prefix: Option<String>,
    /// A `*` waiting for the next character.
    star: bool,
    prev: Option<char>,
    bold: bool,
    italic: bool,
    code: bool,
    heading: bool,
    /// Inside a fenced code block.
    fence: bool,
    /// The rest of this line is shown as it is (a fence line).
    verbatim: bool,
}

impl Markdown {
    pub(crate) fn new(on: bool) -> Self {
        Self {
            on,
            prefix: Some(String::new()),
            star: false,
            prev: None,
            bold: false,
            italic: false,
            code: false,
            heading: false,
            fence: false,
            verbatim: false,
        }
    }

    /// The rendering of `text`, as far as it is known.
    pub(crate) fn push(&mut self, text: &str) -> String {
        if !self.on {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            self.char(c, &mut out);
        }
        out
    }

    /// What is still held, and the styles ended (the end of the reply).
    pub(crate) fn finish(&mut self) -> String {
        if !self.on {
            return String::new();
        }
        let mut out = String::new();
        if let Some(prefix) = self.prefix.take() {
            for c in prefix.chars() {
                self.inline(c, &mut out);
            }
        }
        if std::mem::take(&mut self.star) {
            out.push('*');
        }
        let styled = self.bold || self.italic || self.code || self.heading || self.fence;
        *self = Self::new(true);
        if styled {
            out.push_str(Style::RESET);
        }
        out
    }

    fn char(&mut self, c: char, out: &mut String) {
        let Some(prefix) = &mut self.prefix else {
            self.inline(c, out);
            return;
        };
        prefix.push(c);
        let indent = prefix.len() - prefix.trim_start_matches(' ').len();
        let body = &prefix[indent..];
        let fence = body.starts_with("```");
        let undecided = body.is_empty() && c != '\n'
            || "```".starts_with(body)
            || !self.fence
                && (body.len() <= 6 && body.chars().all(|c| c == '#')
                    || matches!(body, "-" | "*" | "+"));
        if undecided && !fence {
            return;
        }
        let prefix = self.prefix.take().unwrap_or_default();
        let (indent, body) = prefix.split_at(indent);
        if fence {
            self.fence = !self.fence;
            self.verbatim = true;
            out.push_str(Style::DIM.code());
            out.push_str(&prefix);
            return;
        }
        if self.fence {
            out.push_str(Style::CYAN.code());
            self.verbatim = true;
            for c in prefix.chars() {
                self.inline(c, out);
            }
            return;
        }
        if let Some(rest) = body.trim_start_matches('#').strip_prefix(' ')
            && body.starts_with('#')
            && rest.is_empty()
        {
            self.heading = true;
            out.push_str(indent);
            self.restyle(out);
            return;
        }
        if matches!(body, "- " | "* " | "+ ") {
            out.push_str(indent);
            out.push_str("• ");
            self.prev = Some(' ');
            return;
        }
        for c in prefix.chars() {
            self.inline(c, out);
        }
    }

    fn inline(&mut self, c: char, out: &mut String) {
        if c == '\n' {
            if std::mem::take(&mut self.star) {
                out.push('*');
            }
            let styled = self.bold || self.italic || self.code || self.heading || self.verbatim;
            self.bold = false;
            self.italic = false;
            self.code = false;
            self.heading = false;
            self.verbatim = false;
            if styled {
                out.push_str(Style::RESET);
            }
            out.push('\n');
            self.prefix = Some(String::new());
            self.prev = None;
            return;
        }
        if self.verbatim {
            out.push(c);
            return;
        }
        if std::mem::take(&mut self.star) {
            if c == '*' {
                self.bold = !self.bold;
                self.restyle(out);
                return;
            }
            let after_space = self
                .prev
                .is_none_or(|p| p.is_whitespace() || "([{\"'".contains(p));
            if self.italic && !self.prev.is_some_and(char::is_whitespace) {
                self.italic = false;
                self.restyle(out);
            } else if !self.italic && after_space && !c.is_whitespace() {
                self.italic = true;
                self.restyle(out);
            } else {
                out.push('*');
                self.prev = Some('*');
            }
        }
        match c {
            '*' if !self.code => self.star = true,
            '`' => {
                self.code = !self.code;
                self.restyle(out);
            }
            c => {
                out.push(c);
                self.prev = Some(c);
            }
        }
    }

    /// Ends every style, then turns on the current ones.
    fn restyle(&self, out: &mut String) {
        out.push_str(Style::RESET);
        if self.bold || self.heading {
            out.push_str(Style::BOLD.code());
        }
        if self.italic {
            out.push_str(Style::ITALIC.code());
        }
        if self.code {
            out.push_str(Style::CYAN.code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `text` fed in pieces of `n` characters, then shows styles as tags.
    fn render(text: &str, n: usize) -> String {
        let mut md = Markdown::new(true);
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        for piece in chars.chunks(n) {
            out.push_str(&md.push(&piece.iter().collect::<String>()));
        }
        out.push_str(&md.finish());
        out.replace("\x1b[0m", "<0>")
            .replace("\x1b[1m", "<b>")
            .replace("\x1b[3m", "<i>")
            .replace("\x1b[36m", "<c>")
            .replace("\x1b[2m", "<d>")
    }

    #[test]
    fn inline_markup_becomes_styles_whatever_the_pieces() {
        for n in [1, 2, 3, 100] {
            assert_eq!(
                render("It is **really** *easy*: `x = 2`, 2 * 3 = 6.", n),
                "It is <0><b>really<0> <0><i>easy<0>: <0><c>x = 2<0>, 2 * 3 = 6.",
                "pieces of {n}"
            );
        }
    }

    #[test]
    fn blocks_become_headings_bullets_and_code() {
        let text = "# Title\n\n- one\n  * two\n```rust\nlet a = *b;\n```\n#hashtag\n";
        assert_eq!(
            render(text, 3),
            "<0><b>Title<0>\n\n• one\n  • two\n<d>```rust<0>\n<c>let a = *b;<0>\n<d>```<0>\n#hashtag\n"
        );
    }

    #[test]
    fn without_colour_the_text_is_untouched() {
        let mut md = Markdown::new(false);
        assert_eq!(md.push("**x** `y`"), "**x** `y`");
        assert_eq!(md.finish(), "");
    }
}
