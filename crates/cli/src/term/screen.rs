//! The one writer of the terminal.
//!
//! The screen has two parts. The *transcript* only grows: the answer, the user's lines, status
//! lines. Below it, the *live area* is redrawn as things change: rows of status (audio progress,
//! meters, hints) and the input line, with the cursor where the user types. Before anything is
//! added to the transcript the live area is erased (only the rows gemlive drew: it moves up from
//! its own cursor), the transcript's unfinished row is rewritten so that the terminal's cursor is
//! exactly where the text stopped, the text is written, and the live area is drawn again below.
//! Nothing ever erases transcript text, whatever the widths and wraps.
//!
//! When a stream is not a terminal (or `TERM=dumb`), its text is written as it is, with no
//! cursor movement: a pipe or a file gets plain lines.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use unicode_width::UnicodeWidthChar;

use super::Caps;

/// The input line as the editor wants it drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InputView {
    /// The prompt, possibly styled.
    pub(crate) prompt: String,
    /// What has been typed.
    pub(crate) text: String,
    /// The cursor, a byte index into `text`.
    pub(crate) cursor: usize,
}

/// Where the terminal is, and what gemlive has drawn on it.
#[derive(Debug)]
pub(crate) struct Screen {
    caps: Caps,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
enum Device {
    Stdout,
    /// A test's buffer, with a fixed width.
    #[cfg(test)]
    Buffer(Vec<u8>, usize),
}

#[derive(Debug)]
struct Inner {
    /// The terminal drawn on, when there is one.
    device: Option<Device>,
    /// The transcript's unfinished row: its cells so far and its text (styles included, to
    /// rewrite it).
    col: usize,
    row_text: String,
    /// Status lines waiting for the answer's row to end.
    pending: Vec<String>,
    live: Vec<String>,
    input: Option<InputView>,
    /// Rows from the top of the live area down to the terminal's cursor, while it is drawn.
    drawn: Option<usize>,
    cursor_hidden: bool,
}

static SCREEN: OnceLock<Screen> = OnceLock::new();

/// The process's screen.
pub(crate) fn screen() -> &'static Screen {
    SCREEN.get_or_init(|| Screen::new(Caps::detect()))
}

impl Screen {
    fn new(caps: Caps) -> Self {
        // Only a terminal that shows the answer is drawn on. When stdout goes elsewhere (a file,
        // `| tee`), what reaches the terminal from the pipe cannot be known, so nothing there
        // is ever redrawn: lines are only added.
        let device = caps.draw_stdout().then_some(Device::Stdout);
        Self {
            caps,
            inner: Mutex::new(Inner {
                device,
                col: 0,
                row_text: String::new(),
                pending: Vec::new(),
                live: Vec::new(),
                input: None,
                drawn: None,
                cursor_hidden: false,
            }),
        }
    }

    pub(crate) fn caps(&self) -> Caps {
        self.caps
    }

    /// Whether there is a terminal to draw a live area (an input line, progress) on.
    pub(crate) fn live(&self) -> bool {
        self.lock().device.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answer (stdout), as it streams.
    pub(crate) fn out(&self, text: &str) {
        if self.caps.draw_stdout() {
            self.lock().transcript(text);
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// Where the answer stands in stdout when stdout is a regular file of its own
    /// (`> answer.txt`, not shared with stderr): a mark [`Screen::out_rewind`] can go back to.
    pub(crate) fn out_mark(&self) -> Option<u64> {
        use std::io::Seek;
        if self.caps.stdout_tty {
            return None;
        }
        let _out = std::io::stdout().lock();
        stdout_file()?.stream_position().ok()
    }

    /// Takes back what stdout got since `mark` (an answer that is replaced, or void), when
    /// stdout is a regular file of its own that nothing else wrote to since (it ends where
    /// gemlive's writes stopped). Returns whether it did.
    pub(crate) fn out_rewind(&self, mark: u64) -> bool {
        use std::io::{Seek, SeekFrom};
        let mut out = std::io::stdout().lock();
        let _ = out.flush();
        let Some(mut file) = stdout_file() else {
            return false;
        };
        let at = file.stream_position().ok();
        let len = file.metadata().ok().map(|m| m.len());
        if at != len || at.is_none_or(|at| at < mark) {
            return false;
        }
        file.set_len(mark).is_ok() && file.seek(SeekFrom::Start(mark)).is_ok()
    }

    /// Ends the answer's row, if it is unfinished (on stdout).
    pub(crate) fn end_out_line(&self, unfinished: bool) {
        if self.caps.draw_stdout() {
            let mut inner = self.lock();
            if inner.col > 0 {
                inner.transcript("\n");
            }
        } else if unfinished {
            self.out("\n");
        }
    }

    /// A line of status (stderr). On a terminal, a line that comes while the answer's row is
    /// unfinished waits for its end.
    pub(crate) fn err_line(&self, line: &str) {
        if self.caps.draw_stderr() && self.stderr_is_device() {
            let mut inner = self.lock();
            if inner.col > 0 {
                inner.pending.push(line.to_owned());
            } else {
                inner.transcript(&format!("{line}\n"));
            }
        } else {
            self.settle_stdout();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
            let _ = err.flush();
        }
    }

    /// With stdout a pipe (`| tee`) and stderr the terminal, waits (a quarter of a second at
    /// most) for the pipe's reader to take what is in it, so that the answer reaches the
    /// terminal before the status line that follows it.
    pub(crate) fn settle_stdout(&self) {
        use std::os::fd::AsFd;
        if self.caps.stdout_tty || !self.caps.stderr_tty {
            return;
        }
        let stdout = std::io::stdout();
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(250);
        while rustix::io::ioctl_fionread(stdout.as_fd()).is_ok_and(|n| n > 0)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// A status line shown at once, ending the answer's row first if needed (errors).
    pub(crate) fn err_line_now(&self, line: &str) {
        if self.caps.draw_stderr() && self.stderr_is_device() {
            let mut inner = self.lock();
            let lead = if inner.col > 0 { "\n" } else { "" };
            inner.transcript(&format!("{lead}{line}\n"));
        } else {
            self.end_out_line(false);
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
            let _ = err.flush();
        }
    }

    /// Whether stderr shows on the terminal drawn on (both are terminals).
    fn stderr_is_device(&self) -> bool {
        self.caps.stderr_tty && self.lock().device.is_some()
    }

    /// The live status rows (empty: none).
    pub(crate) fn set_live(&self, rows: Vec<String>) {
        let mut inner = self.lock();
        if inner.device.is_none() || inner.live == rows {
            return;
        }
        inner.redraw(|i| i.live = rows);
    }

    /// The input line (`None`: none).
    pub(crate) fn set_input(&self, input: Option<InputView>) {
        let mut inner = self.lock();
        if inner.device.is_none() || inner.input == input {
            return;
        }
        inner.redraw(|i| i.input = input);
    }

    /// Erases the live area for good and leaves the cursor on a fresh row (before exiting).
    pub(crate) fn finish(&self) {
        let mut inner = self.lock();
        if inner.device.is_none() {
            return;
        }
        inner.redraw(|i| {
            i.live.clear();
            i.input = None;
        });
        let pending = std::mem::take(&mut inner.pending);
        let mut text = String::new();
        if inner.col > 0 {
            text.push('\n');
        }
        for line in pending {
            text.push_str(&line);
            text.push('\n');
        }
        if !text.is_empty() {
            inner.transcript(&text);
        }
        if inner.cursor_hidden {
            inner.write("\x1b[?25h");
            inner.cursor_hidden = false;
        }
    }

    /// Bytes for the terminal itself (modes), not shown.
    pub(crate) fn raw_write(&self, text: &str) {
        self.lock().write(text);
    }

    #[cfg(test)]
    fn for_test(width: usize) -> Self {
        let caps = Caps {
            stdin_tty: true,
            stdout_tty: true,
            stderr_tty: true,
            dumb: false,
            colour: true,
        };
        let screen = Self::new(caps);
        screen.lock().device = Some(Device::Buffer(Vec::new(), width));
        screen
    }

    #[cfg(test)]
    fn bytes(&self) -> Vec<u8> {
        match &self.lock().device {
            Some(Device::Buffer(b, _)) => b.clone(),
            _ => Vec::new(),
        }
    }

    /// Test access to the transcript (stdout's text on a terminal).
    #[cfg(test)]
    fn transcript(&self, text: &str) {
        self.lock().transcript(text);
    }
}

/// Stdout as a file (the same open file, so the same position), when it is a regular file
/// that stderr does not also write to.
fn stdout_file() -> Option<std::fs::File> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let file =
        |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().ok().map(std::fs::File::from);
    let out = file(std::io::stdout().as_fd())?;
    let meta = out.metadata().ok()?;
    let err = file(std::io::stderr().as_fd()).and_then(|e| e.metadata().ok());
    let shared = err.is_some_and(|e| e.dev() == meta.dev() && e.ino() == meta.ino());
    (meta.is_file() && !shared).then_some(out)
}

impl Inner {
    fn width(&self) -> usize {
        use std::os::fd::AsFd;
        let size = match &self.device {
            Some(Device::Stdout) => rustix::termios::tcgetwinsize(std::io::stdout().as_fd()),
            #[cfg(test)]
            Some(Device::Buffer(_, w)) => return *w,
            None => return 80,
        };
        size.ok()
            .map(|s| usize::from(s.ws_col))
            .filter(|&w| w > 0)
            .unwrap_or(80)
    }

    fn write(&mut self, text: &str) {
        match &mut self.device {
            Some(Device::Stdout) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            #[cfg(test)]
            Some(Device::Buffer(b, _)) => b.extend_from_slice(text.as_bytes()),
            None => {}
        }
    }

    /// Changes what the live area shows, redrawing it in one write.
    fn redraw(&mut self, change: impl FnOnce(&mut Self)) {
        let mut buf = String::new();
        self.hide(&mut buf);
        change(self);
        self.show(&mut buf);
        self.write(&buf);
    }

    /// Adds `text` to the transcript, above the live area.
    fn transcript(&mut self, text: &str) {
        let mut buf = String::new();
        self.hide(&mut buf);
        buf.push_str(text);
        let width = self.width();
        self.advance(text, width);
        if self.col == 0 && !self.pending.is_empty() {
            for line in std::mem::take(&mut self.pending) {
                buf.push_str(&line);
                buf.push('\n');
            }
        }
        self.show(&mut buf);
        self.write(&buf);
    }

    /// Follows the terminal's cursor through `text`: wraps at `width`, skips escape sequences.
    fn advance(&mut self, text: &str, width: usize) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' => {
                    self.col = 0;
                    self.row_text.clear();
                }
                '\x1b' => {
                    // CSI: ESC [ parameters final byte; kept, as it styles the row.
                    self.row_text.push(c);
                    if chars.peek() == Some(&'[') {
                        self.row_text.push('[');
                        chars.next();
                        for p in chars.by_ref() {
                            self.row_text.push(p);
                            if ('\x40'..='\x7e').contains(&p) {
                                break;
                            }
                        }
                    }
                }
                '\t' => {
                    let next = ((self.col / 8) + 1) * 8;
                    if self.col >= width {
                        self.col = 8.min(width);
                        self.row_text.clear();
                        self.row_text.push('\t');
                    } else {
                        self.col = next.min(width);
                        self.row_text.push('\t');
                    }
                }
                c => {
                    let w = c.width().unwrap_or(0);
                    if self.col + w > width {
                        self.col = 0;
                        self.row_text.clear();
                    }
                    self.col += w;
                    self.row_text.push(c);
                }
            }
        }
    }

    /// Erases the live area and puts the cursor where the transcript stopped.
    fn hide(&mut self, buf: &mut String) {
        let Some(up) = self.drawn.take() else { return };
        if up > 0 {
            let _ = write!(buf, "\x1b[{up}A");
        }
        buf.push_str("\r\x1b[J");
        if self.col > 0 {
            buf.push_str("\x1b[A\r");
            buf.push_str(&self.row_text);
        }
    }

    /// Draws the live area below the transcript.
    fn show(&mut self, buf: &mut String) {
        if self.live.is_empty() && self.input.is_none() {
            return;
        }
        let width = self.width();
        if self.col > 0 {
            // Styles of the answer's row end there.
            buf.push_str("\x1b[0m\n");
        }
        let mut rows = 0;
        let count = self.live.len();
        for (i, row) in self.live.iter().enumerate() {
            // One row each: cut to fit, so that a narrow terminal does not wrap them.
            buf.push_str(&fit(row, width.saturating_sub(1)));
            buf.push_str("\x1b[0m");
            if i + 1 < count || self.input.is_some() {
                buf.push('\n');
                rows += 1;
            }
        }
        let Some(input) = &self.input else {
            self.drawn = Some(rows);
            if !self.cursor_hidden {
                buf.push_str("\x1b[?25l");
                self.cursor_hidden = true;
            }
            return;
        };
        buf.push_str(&input.prompt);
        buf.push_str("\x1b[0m");
        buf.push_str(&input.text);
        let prompt_cells = cells(&input.prompt);
        let (mut end_row, end_col) = layout(prompt_cells, &input.text, width);
        if end_col >= width {
            // The line fills its last row: the cursor belongs on the next one.
            buf.push('\n');
            end_row += 1;
        }
        let before = input.text.get(..input.cursor).unwrap_or(&input.text);
        let (mut row, mut col) = layout(prompt_cells, before, width);
        if col >= width {
            row += 1;
            col = 0;
        }
        if end_row > row {
            let _ = write!(buf, "\x1b[{}A", end_row - row);
        }
        buf.push('\r');
        if col > 0 {
            let _ = write!(buf, "\x1b[{col}C");
        }
        if self.cursor_hidden {
            buf.push_str("\x1b[?25h");
            self.cursor_hidden = false;
        }
        self.drawn = Some(rows + row);
    }
}

/// Cells taken by `text`, escape sequences aside.
pub(crate) fn cells(text: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in text.chars() {
        if in_escape {
            if ('\x40'..='\x7e').contains(&c) && c != '[' {
                in_escape = false;
            }
            continue;
        }
        if c == '\x1b' {
            in_escape = true;
            continue;
        }
        n += c.width().unwrap_or(0);
    }
    n
}

/// The row and column after writing `text` from column `start` of row 0 (wrapping at `width`;
/// a column equal to `width` means the row is full).
fn layout(start: usize, text: &str, width: usize) -> (usize, usize) {
    let (mut row, mut col) = (start / width.max(1), start % width.max(1));
    if start > 0 && col == 0 {
        row -= 1;
        col = width;
    }
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if col + w > width {
            row += 1;
            col = 0;
        }
        col += w;
    }
    (row, col)
}

/// `text` cut to `max` cells (escape sequences kept), with `…` when cut.
fn fit(text: &str, max: usize) -> String {
    if cells(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut n = 0;
    let mut in_escape = false;
    for c in text.chars() {
        if in_escape {
            out.push(c);
            if ('\x40'..='\x7e').contains(&c) && c != '[' {
                in_escape = false;
            }
            continue;
        }
        if c == '\x1b' {
            in_escape = true;
            out.push(c);
            continue;
        }
        let w = c.width().unwrap_or(0);
        if n + w + 1 > max {
            out.push('…');
            break;
        }
        n += w;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(screen: &Screen, width: u16) -> vt100::Parser {
        let mut p = vt100::Parser::new(
            std::num::NonZeroU16::new(10).unwrap(),
            std::num::NonZeroU16::new(width).unwrap(),
            0,
        );
        // The terminal translates `\n` to CR LF (OPOST, ONLCR), as gemlive leaves it.
        let bytes = screen.bytes();
        let text = String::from_utf8(bytes).unwrap().replace('\n', "\r\n");
        p.process(text.as_bytes());
        p
    }

    fn rows(p: &vt100::Parser) -> Vec<String> {
        p.screen()
            .rows(0, p.screen().size().1.get())
            .map(|r| r.trim_end().to_owned())
            .collect()
    }

    fn input(text: &str) -> Option<InputView> {
        Some(InputView {
            prompt: "you> ".into(),
            text: text.into(),
            cursor: text.len(),
        })
    }

    #[test]
    fn the_answer_streams_above_the_input_line_and_nothing_is_erased() {
        let s = Screen::for_test(20);
        s.set_input(input(""));
        s.transcript("you> hi\n");
        s.transcript("gemini: 2 + ");
        s.set_input(input("ab"));
        s.transcript("2 is 4, and this wraps around");
        s.set_live(vec!["♪ 1.0 s of audio".into()]);
        s.transcript(" twice.\n");
        let p = render(&s, 20);
        assert_eq!(
            rows(&p)[..6],
            [
                "you> hi",
                "gemini: 2 + 2 is 4,",
                "and this wraps aroun",
                "d twice.",
                "♪ 1.0 s of audio",
                "you> ab"
            ]
        );
        assert_eq!(p.screen().cursor_position(), (5, 7));
    }

    #[test]
    fn a_full_row_and_a_wrapped_input_line_keep_their_places() {
        let s = Screen::for_test(10);
        s.set_input(input("0123456789abc"));
        s.transcript("abcdefghij");
        s.transcript("klm\n");
        let p = render(&s, 10);
        assert_eq!(
            rows(&p)[..4],
            ["abcdefghij", "klm", "you> 01234", "56789abc"]
        );
        assert_eq!(p.screen().cursor_position(), (3, 8));
        // The cursor after a line that fills its row exactly goes to the next row.
        s.set_input(input("01234"));
        let p = render(&s, 10);
        assert_eq!(rows(&p)[2..4], ["you> 01234", ""]);
        assert_eq!(p.screen().cursor_position(), (3, 0));
    }

    #[test]
    fn status_lines_wait_for_the_end_of_the_answers_row() {
        let s = Screen::for_test(40);
        s.transcript("half a rep");
        s.lock().pending.push("warning: x".into());
        s.transcript("ly\n");
        s.finish();
        let p = render(&s, 40);
        assert_eq!(rows(&p)[..2], ["half a reply", "warning: x"]);
    }

    #[test]
    fn live_rows_are_cut_to_the_width() {
        assert_eq!(fit("mic [#####     ] -20 dB", 10), "mic [####…");
        assert_eq!(fit("\x1b[2mshort\x1b[0m", 10), "\x1b[2mshort\x1b[0m");
        assert_eq!(cells("\x1b[1;31merror:\x1b[0m é 日"), 11);
        assert_eq!(layout(5, "0123456789abc", 10), (1, 8));
        assert_eq!(layout(5, "01234", 10), (0, 10));
    }
}
