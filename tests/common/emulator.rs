//! A `gemlive emulator` process for the tests that run the `gemlive` binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `gemlive emulator` on a free port of loopback, killed when dropped.
pub(crate) struct Emulator {
    child: Child,
    /// Its `ws://` address.
    pub(crate) url: String,
}

impl Emulator {
    /// Starts `bin emulator --port 0` with `flags` (audio unpaced unless they give `--speed`),
    /// in `dir`, and waits for its address.
    pub(crate) fn start(bin: &Path, dir: &Path, flags: &[String]) -> Self {
        let unpaced: &[&str] = if flags.iter().any(|f| f == "--speed") {
            &[]
        } else {
            &["--speed", "0"]
        };
        let mut child = Command::new(bin)
            .args(["emulator", "--port", "0"])
            .args(unpaced)
            .args(flags)
            .current_dir(dir)
            .env_remove("GEMLIVE_EMULATOR_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gemlive emulator");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the emulator's first line");
        let url = first
            .trim()
            .strip_prefix("gemlive emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
