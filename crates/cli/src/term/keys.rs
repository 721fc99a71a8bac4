//! Keys from the terminal: no echo, no line buffering, no signals (Ctrl-C is a key), output
//! processing left as it was; and the bytes parsed into keys.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::Mutex;

use rustix::termios::{self, InputModes, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use tokio::sync::mpsc;

/// A key, or text pasted at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Char(char),
    /// Bracketed paste: newlines in it do not send.
    Paste(String),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    /// Ctrl and a letter (`'c'` for Ctrl-C).
    Ctrl(char),
    /// The terminal closed.
    Eof,
}

/// The terminal's settings before gemlive changed them.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Keys a byte at a time, without echo, for as long as it lives.
#[derive(Debug)]
pub(crate) struct RawMode(());

impl RawMode {
    /// Switches stdin (a terminal) to key mode; `None` when it is not a terminal.
    pub(crate) fn enable() -> Option<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN);
        raw.input_modes.remove(InputModes::ICRNL | InputModes::IXON);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        termios::tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw).ok()?;
        *SAVED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(saved);
        // Pasted text comes bracketed, so that its newlines are not Enter.
        super::screen::screen().raw_write("\x1b[?2004h");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        Some(Self(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was (also on a panic).
pub(crate) fn restore() {
    let saved = SAVED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(saved) = saved {
        super::screen::screen().raw_write("\x1b[?2004l");
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &saved);
    }
}

/// Reads keys from stdin on a thread of its own.
pub(crate) fn spawn_reader() -> mpsc::UnboundedReceiver<Key> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("gemlive-keys".into())
        .spawn(move || {
            let mut parser = Parser::default();
            let mut buf = [0u8; 1024];
            loop {
                let n = match std::io::stdin().lock().read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Key::Eof);
                        return;
                    }
                    Ok(n) => n,
                };
                let keys = parser.feed(&buf[..n]);
                parser.flush_escape();
                for key in keys {
                    if tx.send(key).is_err() {
                        return;
                    }
                }
            }
        })
        .ok();
    rx
}

/// Bytes to keys; a sequence split across reads is kept until it is whole.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    pending: Vec<u8>,
    paste: Option<Vec<u8>>,
}

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

impl Parser {
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        loop {
            if let Some(paste) = &mut self.paste {
                match find(&self.pending, PASTE_END) {
                    Some(i) => {
                        paste.extend_from_slice(&self.pending[..i]);
                        self.pending.drain(..i + PASTE_END.len());
                        let text = String::from_utf8_lossy(paste).replace("\r\n", "\n");
                        keys.push(Key::Paste(text.replace('\r', "\n")));
                        self.paste = None;
                        continue;
                    }
                    None => {
                        // Keep a possible start of the end marker.
                        let keep = self.pending.len().min(PASTE_END.len() - 1);
                        let take = self.pending.len() - keep;
                        paste.extend(self.pending.drain(..take));
                        return keys;
                    }
                }
            }
            let Some(&first) = self.pending.first() else {
                return keys;
            };
            let (key, used) = match first {
                b'\x1b' => match self.escape() {
                    Some(r) => r,
                    None => return keys,
                },
                b'\r' | b'\n' => (Some(Key::Enter), 1),
                0x7f | 0x08 => (Some(Key::Backspace), 1),
                b'\t' => (Some(Key::Char('\t')), 1),
                0x01..=0x1a => (Some(Key::Ctrl(char::from(b'a' + first - 1))), 1),
                0x00 | 0x1c..=0x1f => (None, 1),
                _ => {
                    let len = utf8_len(first);
                    if self.pending.len() < len {
                        return keys;
                    }
                    let c = std::str::from_utf8(&self.pending[..len])
                        .ok()
                        .and_then(|s| s.chars().next());
                    (c.map(Key::Char), len)
                }
            };
            self.pending.drain(..used);
            if let Some(k) = key {
                keys.push(k);
            }
        }
    }

    /// An escape sequence at the start of `pending`: the key and its length, or `None` when
    /// more bytes are needed.
    fn escape(&mut self) -> Option<(Option<Key>, usize)> {
        let p = &self.pending;
        if p.len() < 2 {
            // A lone ESC: wait for the rest, unless nothing follows in this read.
            return None;
        }
        match p[1] {
            b'[' => {
                let end = p[2..].iter().position(|b| (0x40..=0x7e).contains(b))? + 2;
                let seq = &p[..=end];
                if seq == PASTE_START {
                    self.paste = Some(Vec::new());
                    return Some((None, end + 1));
                }
                let key = match seq {
                    b"\x1b[A" => Some(Key::Up),
                    b"\x1b[B" => Some(Key::Down),
                    b"\x1b[C" => Some(Key::Right),
                    b"\x1b[D" => Some(Key::Left),
                    b"\x1b[H" | b"\x1b[1~" | b"\x1b[7~" => Some(Key::Home),
                    b"\x1b[F" | b"\x1b[4~" | b"\x1b[8~" => Some(Key::End),
                    b"\x1b[3~" => Some(Key::Delete),
                    _ => None,
                };
                Some((key, end + 1))
            }
            b'O' => {
                if p.len() < 3 {
                    return None;
                }
                let key = match p[2] {
                    b'A' => Some(Key::Up),
                    b'B' => Some(Key::Down),
                    b'C' => Some(Key::Right),
                    b'D' => Some(Key::Left),
                    b'H' => Some(Key::Home),
                    b'F' => Some(Key::End),
                    _ => None,
                };
                Some((key, 3))
            }
            // Alt-something, or ESC alone followed by a key: the ESC is dropped.
            _ => Some((None, 1)),
        }
    }

    /// A lone ESC at the end of a read is the Escape key: drop it.
    pub(crate) fn flush_escape(&mut self) {
        if self.pending == b"\x1b" {
            self.pending.clear();
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_become_keys_even_split_across_reads() {
        let mut p = Parser::default();
        assert_eq!(p.feed(b"h\xc3"), [Key::Char('h')], "half a character waits");
        assert_eq!(p.feed(b"\xa9\r"), [Key::Char('é'), Key::Enter]);
        assert_eq!(p.feed(b"\x1b["), []);
        assert_eq!(
            p.feed(b"D\x03\x04\x7f\x1b[3~\x1bOH"),
            [
                Key::Left,
                Key::Ctrl('c'),
                Key::Ctrl('d'),
                Key::Backspace,
                Key::Delete,
                Key::Home
            ]
        );
        assert_eq!(
            p.feed(b"\x1b[200~two\r\nlines\x1b[20"),
            [],
            "a paste waits for its end"
        );
        assert_eq!(
            p.feed(b"1~x"),
            [Key::Paste("two\nlines".into()), Key::Char('x')]
        );
        assert_eq!(p.feed(b"\x1b[99;5u\x1b"), []);
        p.flush_escape();
        assert_eq!(p.feed(b"y"), [Key::Char('y')]);
    }
}
