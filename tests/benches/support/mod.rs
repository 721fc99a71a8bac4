//! Shared by the end-to-end benchmarks: an emulator in a child process (so that the measured
//! process's CPU time and memory are its own), and CPU/memory figures from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use emulator::{Emulator, EmulatorConfig, Script, TlsConfig};

/// Kernel clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on every Linux ABI).
const USER_HZ: u64 = 100;

/// How the emulator child is started: `--serve SPEED CHUNK_MS AUDIO_MS MAX_SESSIONS [TLS_DIR]`.
#[derive(Debug, Clone)]
pub(crate) struct ServeArgs {
    /// Pacing factor (`inf`: none).
    pub(crate) speed: f64,
    /// `EmulatorConfig::audio_chunk`.
    pub(crate) chunk: Duration,
    /// With `Some`, every user turn is answered with exactly this much audio (`audio_ms`).
    pub(crate) reply: Option<Duration>,
    /// `EmulatorConfig::max_sessions`.
    pub(crate) max_sessions: usize,
    /// Serve TLS with the CA in this directory.
    pub(crate) tls_dir: Option<PathBuf>,
}

impl ServeArgs {
    fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "--serve".to_owned(),
            self.speed.to_string(),
            self.chunk.as_millis().to_string(),
            self.reply.map_or(0, |d| d.as_millis()).to_string(),
            self.max_sessions.to_string(),
        ];
        if let Some(dir) = &self.tls_dir {
            v.push(dir.display().to_string());
        }
        v
    }

    /// Parses what [`ServeArgs::to_args`] wrote (after `--serve`).
    fn parse(args: &[String]) -> Option<Self> {
        let reply_ms: u64 = args.get(2)?.parse().ok()?;
        Some(Self {
            speed: args.first()?.parse().ok()?,
            chunk: Duration::from_millis(args.get(1)?.parse().ok()?),
            reply: (reply_ms > 0).then(|| Duration::from_millis(reply_ms)),
            max_sessions: args.get(3)?.parse().ok()?,
            tls_dir: args.get(4).map(PathBuf::from),
        })
    }
}

/// If this process was started as the emulator child (`--serve ...`), runs it until stdin closes and
/// returns `true`.
pub(crate) fn serve_if_asked(args: &[String]) -> bool {
    let Some(at) = args.iter().position(|a| a == "--serve") else {
        return false;
    };
    let serve =
        ServeArgs::parse(&args[at + 1..]).expect("--serve SPEED CHUNK_MS AUDIO_MS MAX [DIR]");
    let script = serve.reply.map(|d| {
        let json = format!(
            r#"{{"rules": [{{"reply": {{"text": "la", "audio_ms": {}}}}}]}}"#,
            d.as_millis()
        );
        Script::from_json(&json, std::path::Path::new(".")).expect("script")
    });
    let config = EmulatorConfig {
        speed: serve.speed,
        audio_chunk: serve.chunk,
        script,
        max_sessions: serve.max_sessions,
        tls: serve.tls_dir.map(|dir| TlsConfig { dir }),
        connection_lifetime: Duration::from_secs(3600),
        ..EmulatorConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let emulator = Emulator::start(config).await.expect("start the emulator");
        println!("{}", emulator.base_url());
        // Until the parent closes our stdin (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await;
        emulator.shutdown().await;
    });
    true
}

/// `exe`, or `exe` run by the command line in the environment variable `var` when it is set (to
/// profile a child process, e.g. `valgrind --tool=callgrind`).
pub(crate) fn wrapped_command(var: &str, exe: PathBuf) -> Command {
    let wrapper = std::env::var(var).unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

/// An emulator child process; dropping it closes its stdin and waits for it.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    /// `ws://127.0.0.1:PORT` or `wss://localhost:PORT` (its CA is `TLS_DIR/emulator::CA_FILE`).
    pub(crate) url: String,
}

impl Server {
    /// Starts `current_exe --serve ...` and waits for its URL.
    pub(crate) fn spawn(serve: &ServeArgs) -> Self {
        let exe = std::env::current_exe().expect("current_exe");
        // For profiling: `GEMLIVE_BENCH_EMULATOR_WRAPPER="valgrind --tool=callgrind"` runs the
        // emulator under that command.
        let mut child = wrapped_command("GEMLIVE_BENCH_EMULATOR_WRAPPER", exe)
            .args(serve.to_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the emulator child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's URL");
        Self {
            stdin: child.stdin.take(),
            child,
            url: line.trim().to_owned(),
        }
    }

    /// The child's CPU time so far (user + system).
    pub(crate) fn cpu(&self) -> Duration {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }

    /// The child's peak RSS so far, in kB.
    pub(crate) fn peak_rss_kb(&self) -> u64 {
        status_kb(&format!("/proc/{}/status", self.child.id()), "VmHWM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// User + system CPU time of the process whose `stat` file this is (every thread, dead ones too).
pub(crate) fn cpu_time(stat_path: &str) -> Duration {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
    Duration::from_millis(ticks * 1000 / USER_HZ)
}

/// This process's CPU time so far.
pub(crate) fn self_cpu() -> Duration {
    cpu_time("/proc/self/stat")
}

/// A `kB` line of a `/proc/*/status` file (`VmHWM`: peak RSS, `VmRSS`: current RSS).
pub(crate) fn status_kb(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// This process's peak RSS so far, in kB.
pub(crate) fn self_peak_rss_kb() -> u64 {
    status_kb("/proc/self/status", "VmHWM")
}

/// The load average line, for the record.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the benchmark `name` runs, given the command line: every positional argument (not an
/// option, nor the value of `--sessions`) is a filter, as with criterion; no filter runs everything.
pub(crate) fn selected(name: &str, args: &[String]) -> bool {
    let mut filters = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--sessions"))
        .peekable();
    filters.peek().is_none() || filters.any(|(_, f)| name.contains(f.as_str()))
}

/// Prints a `summary:` line for `cargo xtask bench`, marked as such in `--test` mode.
pub(crate) fn summary(test: bool, line: &str) {
    if test {
        println!("summary: [--test, one pass, not a measurement] {line}");
    } else {
        println!("summary: {line}");
    }
}
