//! Screen tests: the real `gemlive` binary in a pseudo-terminal, every byte it writes fed to a
//! terminal emulator (`vt100`), and the rendered screen and cursor checked, the way a person
//! sees them.
//!
//! A scenario is a data file in `tests/screen/` (see `tests/screen/README.md`): the command, the
//! terminal sizes, then steps: keys to type, screen conditions to wait for (with a timeout,
//! never a fixed sleep), checks of the screen and the cursor, the exit code, and the files left
//! behind. `GEMLIVE_SCREEN=NAME` runs only the scenarios whose file name contains NAME;
//! a failure prints the screen as rendered.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde::Deserialize;

#[path = "common/emulator.rs"]
mod emulator;
#[path = "support/prereq.rs"]
mod prereq;
#[path = "common/speech.rs"]
mod speech;

use emulator::Emulator;

/// The `gemlive` binary cargo built for these tests, or `GEMLIVE_BIN` (to see how
/// another build fares).
fn gemlive() -> String {
    std::env::var("GEMLIVE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_gemlive").to_owned())
}
/// How long a wait may take unless the scenario says otherwise (a debug build on a busy machine).
const DEFAULT_TIMEOUT_S: u64 = 30;
/// Scenarios run at once.
const PARALLEL: usize = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    /// What a person would see go wrong, and the issue item it checks.
    about: String,
    /// `gemlive` arguments; `{dir}` is the scenario's scratch directory, `{scenarios}` the
    /// directory of the scenarios (shared files are in `files/`).
    #[serde(default)]
    args: Vec<String>,
    /// A shell command instead (`sh -c`), `{gemlive}` standing for the binary.
    shell: Option<String>,
    /// Terminal sizes, columns × rows; every step runs at each.
    #[serde(default = "default_sizes")]
    sizes: Vec<[u16; 2]>,
    /// Extra environment (`TERM` is `xterm-256color` and colours are on unless set here).
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Files written in the scratch directory before the start.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Speech-like WAV files to make, `name = seconds of sound` (then 1 s of silence).
    #[serde(default)]
    wavs: BTreeMap<String, f64>,
    /// Seconds a wait may take.
    timeout: Option<u64>,
    /// A TCP port that accepts connections and never answers, as `{silent}` (`ws://...`).
    #[serde(default)]
    silent_server: bool,
    /// Programs the scenario runs besides gemlive (MCP servers): without one it is skipped,
    /// and says so (a failure under `GEMLIVE_CI=1`).
    #[serde(default)]
    needs: Vec<String>,
    /// A `gemlive emulator` with these flags (`--script` paths relative to the scratch
    /// directory), as `{emulator}` (`ws://...`).
    emulator: Option<Vec<String>>,
    steps: Vec<Step>,
    /// Files checked after the exit.
    #[serde(default)]
    after: Vec<FileCheck>,
}

fn default_sizes() -> Vec<[u16; 2]> {
    vec![[120, 40]]
}

/// One step; its keys apply in this order: type, key, wait, wait_gone, then the checks, exit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// Text typed as it is (`\r` is Enter).
    #[serde(rename = "type")]
    typed: Option<String>,
    /// Named keys: enter, ctrl-c, ctrl-d, ctrl-u, ctrl-l, backspace, left, right, up, down,
    /// home, end, tab, escape.
    #[serde(default)]
    keys: Vec<String>,
    /// Wait until the screen shows this text.
    wait: Option<String>,
    /// Wait until the screen no longer shows this text.
    wait_gone: Option<String>,
    /// Wait until the cursor's row, trimmed, matches this pattern (`*` is any text).
    wait_cursor_row: Option<String>,
    /// The screen shows each of these texts.
    #[serde(default)]
    contains: Vec<String>,
    /// The screen shows none of these texts.
    #[serde(default)]
    lacks: Vec<String>,
    /// Consecutive rows matching these patterns (`*` is any text; rows trimmed at the right).
    #[serde(default)]
    block: Vec<String>,
    /// The cursor's row, trimmed, matches this pattern.
    cursor_row: Option<String>,
    /// The cursor's column.
    cursor_col: Option<u16>,
    /// The first cell of each of these texts is bold.
    #[serde(default)]
    bold: Vec<String>,
    /// No cell on the screen has a colour or an attribute.
    plain: Option<bool>,
    /// A pattern that matches no row on the screen (`*` is any text).
    no_row: Option<String>,
    /// Wait for the process to end with this exit code.
    exit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheck {
    path: String,
    #[serde(default = "yes")]
    exists: bool,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    lacks: Vec<String>,
    /// Every line is a JSON object.
    #[serde(default)]
    json_lines: bool,
    /// A WAV file with at least this many seconds of sound.
    wav_seconds: Option<f64>,
    /// The file's mode bits, in octal (`"600"`).
    mode: Option<String>,
}

fn yes() -> bool {
    true
}

/// What a failed run shows.
struct Failure(String);

/// A running binary in a pseudo-terminal.
struct Session {
    /// The terminal's controlling side; closing it hangs the terminal up.
    _master: Box<dyn portable_pty::MasterPty + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Whether the reader hit the end (the process and everything holding the terminal ended).
    closed: Arc<Mutex<bool>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    timeout: Duration,
    exit: Option<u32>,
}

impl Session {
    fn start(
        sc: &Scenario,
        dir: &Path,
        size: [u16; 2],
        silent: Option<&str>,
        emulator: Option<&str>,
    ) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: size[1],
                cols: size[0],
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let bin = gemlive();
        let subst = |s: &str| {
            s.replace("{gemlive}", &bin)
                .replace("{dir}", &dir.display().to_string())
                .replace("{silent}", silent.unwrap_or("ws://127.0.0.1:9"))
                .replace("{emulator}", emulator.unwrap_or("ws://127.0.0.1:9"))
                .replace("{scenarios}", &scenario_dir().display().to_string())
        };
        let mut cmd = match &sc.shell {
            Some(line) => {
                let mut c = CommandBuilder::new("sh");
                c.args(["-c", &subst(line)]);
                c
            }
            None => {
                let mut c = CommandBuilder::new(&bin);
                c.args(sc.args.iter().map(|a| subst(a)));
                c
            }
        };
        cmd.cwd(dir);
        for var in [
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "GEMLIVE_ENDPOINT",
            "GEMLIVE_MODEL",
            "GEMLIVE_LOG",
            "NO_COLOR",
            "CLICOLOR",
            "CLICOLOR_FORCE",
            "COLUMNS",
            "LINES",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", dir);
        cmd.env("GEMLIVE_STATE_DIR", dir.join("state"));
        cmd.env("GEMLIVE_EMULATOR_SPEED", "0");
        for (k, v) in &sc.env {
            cmd.env(k, subst(v));
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn gemlive");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            nonzero(size[1]),
            nonzero(size[0]),
            0,
        )));
        let closed = Arc::new(Mutex::new(false));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        {
            let parser = Arc::clone(&parser);
            let closed = Arc::clone(&closed);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => parser.lock().expect("parser").process(&buf[..n]),
                    }
                }
                *closed.lock().expect("closed") = true;
            });
        }
        let writer = pty.master.take_writer().expect("pty writer");
        Self {
            _master: pty.master,
            parser,
            closed,
            writer,
            child,
            timeout: Duration::from_secs(sc.timeout.unwrap_or(DEFAULT_TIMEOUT_S)),
            exit: None,
        }
    }

    fn screen(&self) -> vt100::Screen {
        self.parser.lock().expect("parser").screen().clone()
    }

    fn send(&mut self, bytes: &[u8]) {
        // A key at a time, as a person types: each arrives in its own read.
        self.writer.write_all(bytes).expect("type");
        self.writer.flush().expect("flush");
    }

    /// Polls `cond` on the screen until it holds or the timeout passes.
    fn wait(&mut self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) -> Result<(), Failure> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if cond(&self.screen()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Failure(format!("timed out waiting for {what}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(&mut self) -> Result<u32, Failure> {
        if let Some(code) = self.exit {
            return Ok(code);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the last bytes reach the screen.
                let until = Instant::now() + Duration::from_secs(2);
                while !*self.closed.lock().expect("closed") && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let code = status.exit_code();
                self.exit = Some(code);
                return Ok(code);
            }
            if Instant::now() > deadline {
                return Err(Failure("timed out waiting for the exit".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("a terminal size is not zero")
}

fn key(name: &str) -> &'static [u8] {
    match name {
        "enter" => b"\r",
        "ctrl-c" => b"\x03",
        "ctrl-d" => b"\x04",
        "ctrl-u" => b"\x15",
        "ctrl-w" => b"\x17",
        "ctrl-l" => b"\x0c",
        "backspace" => b"\x7f",
        "tab" => b"\t",
        "escape" => b"\x1b",
        "up" => b"\x1b[A",
        "down" => b"\x1b[B",
        "right" => b"\x1b[C",
        "left" => b"\x1b[D",
        "home" => b"\x1b[H",
        "end" => b"\x1b[F",
        other => panic!("unknown key {other:?}"),
    }
}

/// `*` matches any run of characters; the rest is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

fn rows(screen: &vt100::Screen) -> Vec<String> {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols.get())
        .map(|r| r.trim_end().to_owned())
        .collect()
}

fn cursor_row(screen: &vt100::Screen) -> String {
    let (row, _) = screen.cursor_position();
    rows(screen)
        .get(usize::from(row))
        .cloned()
        .unwrap_or_default()
}

fn has_block(screen: &vt100::Screen, block: &[String]) -> bool {
    let rows = rows(screen);
    rows.windows(block.len())
        .any(|w| w.iter().zip(block).all(|(row, pat)| glob(pat, row)))
}

/// The screen as text (wrapped rows joined, as a person reads them).
fn text(screen: &vt100::Screen) -> String {
    screen.contents()
}

fn find_cell(screen: &vt100::Screen, needle: &str) -> Option<(u16, u16)> {
    let rows = rows(screen);
    for (r, row) in rows.iter().enumerate() {
        if let Some(byte) = row.find(needle) {
            let col = unicode_col(&row[..byte]);
            return Some((r as u16, col));
        }
    }
    None
}

fn unicode_col(prefix: &str) -> u16 {
    prefix.chars().count() as u16
}

fn plain(screen: &vt100::Screen) -> bool {
    let (rows, cols) = screen.size();
    (0..rows.get()).all(|r| {
        (0..cols.get()).all(|c| {
            screen.cell(r, c).is_none_or(|cell| {
                cell.fgcolor() == vt100::Color::Default
                    && cell.bgcolor() == vt100::Color::Default
                    && !cell.bold()
                    && !cell.dim()
                    && !cell.italic()
                    && !cell.underline()
                    && !cell.inverse()
            })
        })
    })
}

fn check(step: &Step, s: &mut Session) -> Result<(), Failure> {
    if let Some(t) = &step.typed {
        for ch in t.chars() {
            let mut b = [0u8; 4];
            s.send(ch.encode_utf8(&mut b).as_bytes());
        }
    }
    for k in &step.keys {
        s.send(key(k));
    }
    if let Some(w) = &step.wait {
        s.wait(&format!("{w:?}"), |sc| text(sc).contains(w.as_str()))?;
    }
    if let Some(w) = &step.wait_gone {
        s.wait(&format!("{w:?} to go"), |sc| !text(sc).contains(w.as_str()))?;
    }
    if let Some(w) = &step.wait_cursor_row {
        s.wait(&format!("the cursor on a row {w:?}"), |sc| {
            glob(w, &cursor_row(sc))
        })?;
    }
    if let Some(code) = step.exit {
        let got = s.wait_exit()?;
        if got != code {
            return Err(Failure(format!("exit code {got}, expected {code}")));
        }
    }
    let screen = s.screen();
    let all = text(&screen);
    for c in &step.contains {
        if !all.contains(c.as_str()) {
            return Err(Failure(format!("the screen does not show {c:?}")));
        }
    }
    for c in &step.lacks {
        if all.contains(c.as_str()) {
            return Err(Failure(format!("the screen shows {c:?}")));
        }
    }
    if !step.block.is_empty() && !has_block(&screen, &step.block) {
        return Err(Failure(format!("no rows in a row match {:#?}", step.block)));
    }
    if let Some(p) = &step.cursor_row {
        let row = cursor_row(&screen);
        if !glob(p, &row) {
            return Err(Failure(format!(
                "the cursor is on the row {row:?}, expected {p:?}"
            )));
        }
    }
    if let Some(col) = step.cursor_col {
        let (_, got) = screen.cursor_position();
        if got != col {
            return Err(Failure(format!(
                "the cursor is at column {got}, expected {col}"
            )));
        }
    }
    for b in &step.bold {
        match find_cell(&screen, b) {
            Some((r, c)) if screen.cell(r, c).is_some_and(vt100::Cell::bold) => {}
            Some(_) => return Err(Failure(format!("{b:?} is not bold"))),
            None => return Err(Failure(format!("the screen does not show {b:?}"))),
        }
    }
    if step.plain == Some(true) && !plain(&screen) {
        return Err(Failure("the screen has colours or attributes".to_owned()));
    }
    if let Some(p) = &step.no_row
        && let Some(row) = rows(&screen).iter().find(|r| glob(p, r))
    {
        return Err(Failure(format!("a row {row:?} matches {p:?}")));
    }
    Ok(())
}

fn check_file(dir: &Path, f: &FileCheck) -> Result<(), Failure> {
    let path = dir.join(&f.path);
    if !f.exists {
        return if path.exists() {
            Err(Failure(format!("{} exists", f.path)))
        } else {
            Ok(())
        };
    }
    if let Some(min) = f.wav_seconds {
        let wav = hound::WavReader::open(&path)
            .map_err(|e| Failure(format!("{} is not a WAV: {e}", f.path)))?;
        let secs = f64::from(wav.duration()) / f64::from(wav.spec().sample_rate);
        if secs < min {
            return Err(Failure(format!(
                "{} holds {secs:.2} s, expected {min} s or more",
                f.path
            )));
        }
    }
    if let Some(mode) = &f.mode {
        use std::os::unix::fs::PermissionsExt;
        let got = std::fs::metadata(&path)
            .map_err(|e| Failure(format!("{}: {e}", f.path)))?
            .permissions()
            .mode()
            & 0o777;
        if format!("{got:o}") != *mode {
            return Err(Failure(format!(
                "{} has mode {got:o}, expected {mode}",
                f.path
            )));
        }
    }
    let bytes =
        std::fs::read(&path).map_err(|e| Failure(format!("cannot read {}: {e}", f.path)))?;
    let body = String::from_utf8_lossy(&bytes);
    for c in &f.contains {
        if !body.contains(c.as_str()) {
            return Err(Failure(format!("{} lacks {c:?}:\n{body}", f.path)));
        }
    }
    for c in &f.lacks {
        if body.contains(c.as_str()) {
            return Err(Failure(format!("{} holds {c:?}:\n{body}", f.path)));
        }
    }
    if f.json_lines {
        for line in body.lines() {
            let ok = serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object());
            if !ok {
                return Err(Failure(format!(
                    "{}: not a JSON object line: {line:?}",
                    f.path
                )));
            }
        }
    }
    Ok(())
}

/// Runs one scenario at one size; the error says what failed and shows the screen.
fn run(name: &str, sc: &Scenario, size: [u16; 2]) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, body) in &sc.files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, body).expect("write a scenario file");
    }
    for (path, secs) in &sc.wavs {
        speech::speech_wav(&dir.path().join(path), &[(*secs, true), (1.0, false)]);
    }
    // Accepts connections (the kernel does) and never answers them.
    let silent = sc
        .silent_server
        .then(|| std::net::TcpListener::bind("127.0.0.1:0").expect("bind a silent server"));
    let silent_url = silent
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| format!("ws://{a}"));
    let emulator = sc
        .emulator
        .as_ref()
        .map(|flags| Emulator::start(Path::new(&gemlive()), dir.path(), flags));
    let mut session = Session::start(
        sc,
        dir.path(),
        size,
        silent_url.as_deref(),
        emulator.as_ref().map(|e| e.url.as_str()),
    );
    for (i, step) in sc.steps.iter().enumerate() {
        if let Err(Failure(why)) = check(step, &mut session) {
            let screen = session.screen();
            let (r, c) = screen.cursor_position();
            let mut all_rows = rows(&screen);
            while all_rows.last().is_some_and(String::is_empty) {
                all_rows.pop();
            }
            let shown: Vec<String> = all_rows
                .iter()
                .enumerate()
                .map(|(n, row)| format!("{n:>2}|{row}"))
                .collect();
            return Err(format!(
                "{name} at {}x{}, step {}: {why}\n({})\ncursor at row {r}, column {c}; the screen:\n{}",
                size[0],
                size[1],
                i + 1,
                sc.about,
                shown.join("\n")
            ));
        }
    }
    for f in &sc.after {
        check_file(dir.path(), f).map_err(|Failure(why)| format!("{name}: {why}"))?;
    }
    Ok(())
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/screen")
}

fn scenarios() -> Vec<(String, PathBuf)> {
    let dir = scenario_dir();
    let filter = std::env::var("GEMLIVE_SCREEN").unwrap_or_default();
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("tests/screen")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, p)
        })
        .filter(|(name, _)| name.contains(&filter))
        .collect();
    found.sort();
    found
}

#[test]
fn screen_scenarios() {
    let jobs: Vec<(String, Scenario, [u16; 2])> = scenarios()
        .into_iter()
        .flat_map(|(name, path)| {
            let text = std::fs::read_to_string(&path).expect("read a scenario");
            let sc: Scenario =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            sc.sizes
                .clone()
                .into_iter()
                .map(|size| (name.clone(), size))
                .collect::<Vec<_>>()
                .into_iter()
                .map(move |(n, size)| {
                    let sc: Scenario = toml::from_str(&text).expect("parsed once already");
                    (n, sc, size)
                })
        })
        .collect();
    assert!(!jobs.is_empty(), "no scenario matches GEMLIVE_SCREEN");
    let jobs = Arc::new(Mutex::new(jobs));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let jobs = Arc::clone(&jobs);
            let failures = Arc::clone(&failures);
            std::thread::spawn(move || {
                loop {
                    let Some((name, sc, size)) = jobs.lock().expect("jobs").pop() else {
                        return;
                    };
                    let hint = format!("needed by the screen scenario {name}");
                    if !sc.needs.iter().all(|p| prereq::on_path(p, &hint)) {
                        continue;
                    }
                    let started = Instant::now();
                    let result = run(&name, &sc, size);
                    eprintln!(
                        "{} {name} {}x{} ({:.1} s)",
                        if result.is_ok() { "ok  " } else { "FAIL" },
                        size[0],
                        size[1],
                        started.elapsed().as_secs_f64()
                    );
                    if let Err(e) = result {
                        failures.lock().expect("failures").push(e);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a worker panicked");
    }
    let failures = failures.lock().expect("failures");
    assert!(
        failures.is_empty(),
        "{} screen scenario(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The matcher the scenarios rely on.
#[test]
fn glob_matches_like_a_shell() {
    assert!(glob("you> ", "you> "));
    assert!(!glob("you> ", "you> x"));
    assert!(glob("── turn complete*", "── turn complete · 12 tokens"));
    assert!(glob("*2 + 2*", "gemini: 2 + 2 is 4."));
    assert!(!glob("a*b*c", "acb"));
}
