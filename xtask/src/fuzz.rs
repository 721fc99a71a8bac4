//! `cargo xtask fuzz [TARGET] [--time S] [--asan] | --smoke`: the cargo-fuzz targets in `fuzz/`
//! (a nightly toolchain and cargo-fuzz), one at a time, each on its growing corpus
//! (`fuzz/corpus/TARGET`) plus seeds generated from `fixtures/` and the conformance corpus
//! (`target/fuzz-seeds/TARGET`, rewritten every run), then a table of executions and coverage.
//! `--smoke` is the `fuzz smoke` step of `cargo xtask ci`: every target for a few seconds on its
//! seeds alone, from an unoptimized build.
//!
//! A crash stops the run with libFuzzer's report and the input in `fuzz/artifacts/TARGET/`: keep it
//! as `crates/fuzzing/tests/crashes/TARGET/<what-it-is>` (replayed by `cargo test` on stable), then
//! fix the bug. See `fuzz/README.md`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cmd, corpus};

/// Seconds per target in the smoke run.
const SMOKE_SECONDS: u64 = 3;
/// Seconds per target when `--time` is not given.
const DEFAULT_SECONDS: u64 = 60;
/// Targets whose input is JSON text, which the protocol dictionary helps.
const JSON_TARGETS: &[&str] = &[
    "session",
    "decode_server",
    "decode_client",
    "emulator",
    "setup_json",
];

/// Targets whose input is a whole session, and the longest input they are given: recorded
/// sessions make seeds of up to 50 KB, which would otherwise set libFuzzer's limit and halve the
/// executions a second while the corpus grows. Their prefixes keep the structure.
const SESSION_TARGETS: &[&str] = &["session", "emulator"];
const SESSION_MAX_LEN: usize = 8192;

/// What fuzzing needs that the machine may lack.
pub(crate) enum Tools {
    Ready,
    /// No nightly toolchain: cargo-fuzz cannot build anything.
    NoNightly,
    /// A nightly toolchain without cargo-fuzz.
    NoCargoFuzz,
}

/// Whether a nightly toolchain (through rustup) and cargo-fuzz are there.
pub(crate) fn tools() -> Tools {
    if !cmd::succeeds(nightly().arg("--version")) {
        return Tools::NoNightly;
    }
    if cmd::succeeds(nightly().args(["fuzz", "--version"])) {
        Tools::Ready
    } else {
        Tools::NoCargoFuzz
    }
}

/// How to get cargo-fuzz.
pub(crate) const INSTALL_CARGO_FUZZ: &str =
    "cargo install cargo-fuzz --version 0.13.2 --locked, as .ci/run does";
/// How to get a nightly toolchain.
pub(crate) const INSTALL_NIGHTLY: &str = "rustup toolchain install nightly";

/// What one run of one target reached, from libFuzzer's output.
#[derive(Debug, Default)]
struct Stats {
    executions: u64,
    coverage: u64,
    features: u64,
    corpus: u64,
    elapsed: Duration,
}

/// `cargo xtask fuzz [TARGET] [--time S] [--asan] | --smoke`.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut target = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut asan = false;
    let mut smoke_only = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--time takes a number of seconds")?;
            }
            "--asan" => asan = true,
            "--smoke" => smoke_only = true,
            name if target.is_none() && !name.starts_with('-') => target = Some(name.to_owned()),
            other => bail!(
                "unexpected argument {other:?}: cargo xtask fuzz [TARGET] [--time S] [--asan] | --smoke"
            ),
        }
    }
    match tools() {
        Tools::Ready => {}
        Tools::NoNightly => bail!("cargo-fuzz needs a nightly toolchain: {INSTALL_NIGHTLY}"),
        Tools::NoCargoFuzz => bail!("cargo-fuzz is missing: {INSTALL_CARGO_FUZZ}"),
    }
    let corpus =
        std::env::var_os(corpus::ENV).map_or_else(|| corpus::default_dir(root), PathBuf::from);
    let corpus = corpus.join("sessions").is_dir().then_some(corpus);
    if smoke_only {
        return smoke(root, corpus.as_deref());
    }
    let targets: Vec<&str> = match &target {
        Some(t) if gemlive_fuzzing::target(t).is_some() => vec![t.as_str()],
        Some(t) => bail!(
            "no fuzz target {t:?}; the targets are {}",
            names().join(", ")
        ),
        None => names(),
    };
    let build = Build {
        sanitizer: if asan { "address" } else { "none" },
        dev: false,
    };
    run_targets(root, corpus.as_deref(), &targets, seconds, &build, true)
}

/// The smoke run (`cargo xtask ci`'s `fuzz smoke` step; the tools are there): every target for
/// a few seconds on its seeds alone (seeds from `corpus` too, the directory holding `sessions/`,
/// when given), from an unoptimized build, which builds in about half the time of an optimized one.
pub(crate) fn smoke(root: &Path, corpus: Option<&Path>) -> Result<()> {
    let build = Build {
        sanitizer: "none",
        dev: true,
    };
    run_targets(root, corpus, &names(), SMOKE_SECONDS, &build, false)
}

/// How the targets are built.
struct Build {
    /// `none` or `address`.
    sanitizer: &'static str,
    /// Unoptimized (`cargo fuzz --dev`).
    dev: bool,
}

impl Build {
    /// `cargo fuzz SUBCOMMAND` with this build's flags.
    fn cargo_fuzz(&self, root: &Path, subcommand: &str) -> Command {
        let mut cmd = nightly();
        cmd.current_dir(root.join("fuzz")).args([
            "fuzz",
            subcommand,
            "--sanitizer",
            self.sanitizer,
        ]);
        if self.dev {
            cmd.arg("--dev");
        }
        cmd
    }
}

fn names() -> Vec<&'static str> {
    gemlive_fuzzing::TARGETS.iter().map(|t| t.name).collect()
}

/// `cargo` on the nightly toolchain, whatever toolchain runs xtask.
fn nightly() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo"]);
    cmd
}

/// Builds every target once, then runs `targets` one after the other for `seconds` each;
/// `keep` grows `fuzz/corpus/TARGET` (otherwise new inputs go to the seeds' directory, which
/// the next run rewrites).
fn run_targets(
    root: &Path,
    corpus: Option<&Path>,
    targets: &[&str],
    seconds: u64,
    build: &Build,
    keep: bool,
) -> Result<()> {
    let started = Instant::now();
    let seeds = write_seeds(root, corpus)?;
    // One build for every target; each `cargo fuzz run` after it finds nothing to rebuild.
    cmd::run(&mut build.cargo_fuzz(root, "build"))?;
    let built = started.elapsed();
    let mut table = Vec::new();
    for &target in targets {
        let mut dirs = Vec::new();
        if keep {
            let grown = root.join("fuzz/corpus").join(target);
            std::fs::create_dir_all(&grown)
                .with_context(|| format!("create {}", grown.display()))?;
            dirs.push(grown);
        }
        dirs.push(seeds.join(target));
        let stats = run_target(root, target, &dirs, seconds, build)?;
        table.push((target, stats));
    }
    println!(
        "\nfuzz summary ({} build, {} sanitizer, {seconds} s per target): seeds and build {:.1} s, total {:.1} s",
        if build.dev { "dev" } else { "release" },
        build.sanitizer,
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {:<14} {:>12} {:>9} {:>7} {:>9} {:>7}",
        "target", "executions", "exec/s", "cov", "features", "corpus"
    );
    for (target, s) in &table {
        let rate = s.executions as f64 / s.elapsed.as_secs_f64().max(0.001);
        println!(
            "  {target:<14} {:>12} {rate:>9.0} {:>7} {:>9} {:>7}",
            s.executions, s.coverage, s.features, s.corpus
        );
    }
    Ok(())
}

/// Writes every target's seeds to `target/fuzz-seeds/TARGET/`, replacing the previous ones.
fn write_seeds(root: &Path, corpus: Option<&Path>) -> Result<PathBuf> {
    let dir = root.join("target/fuzz-seeds");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    let sessions = match corpus {
        Some(corpus) => corpus::sessions(corpus)?,
        None => {
            eprintln!(
                "fuzz: no conformance corpus at {}: seeds from fixtures only",
                corpus::default_dir(root).display()
            );
            Vec::new()
        }
    };
    let seeds = gemlive_fuzzing::seeds::generate(&root.join("fixtures"), &sessions)
        .context("generate the seeds")?;
    for name in names() {
        std::fs::create_dir_all(dir.join(name)).context("create the seed directories")?;
    }
    for (i, seed) in seeds.iter().enumerate() {
        let path = dir.join(seed.target).join(format!("seed-{i:05}"));
        std::fs::write(&path, &seed.data).with_context(|| format!("write {}", path.display()))?;
    }
    eprintln!("fuzz: {} seeds in {}", seeds.len(), dir.display());
    Ok(dir)
}

/// Runs one target on `dirs` (the first one receives new inputs).
fn run_target(
    root: &Path,
    target: &str,
    dirs: &[PathBuf],
    seconds: u64,
    build: &Build,
) -> Result<Stats> {
    let mut fuzz = build.cargo_fuzz(root, "run");
    fuzz.arg(target).args(dirs).args([
        "--",
        &format!("-max_total_time={seconds}"),
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]);
    if SESSION_TARGETS.contains(&target) {
        fuzz.arg(format!("-max_len={SESSION_MAX_LEN}"));
    }
    if JSON_TARGETS.contains(&target) {
        fuzz.arg(format!(
            "-dict={}",
            root.join("fuzz/protocol.dict").display()
        ));
    }
    eprintln!("$ {}", cmd::show(&fuzz));
    let started = Instant::now();
    let mut child = fuzz
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("run the {target} fuzzer"))?;
    let stderr = child.stderr.take().context("capture the fuzzer's output")?;
    // libFuzzer's progress, without its line per new input or its recommended dictionary; the
    // whole log is kept for the figures.
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.context("read the fuzzer's output")?;
        let noise = ["\tNEW ", "\tREDUCE ", "NEW_FUNC[", "###### "]
            .iter()
            .any(|n| line.contains(n))
            || line.starts_with('"');
        if !noise {
            eprintln!("{line}");
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait().context("wait for the fuzzer")?;
    if !status.success() {
        bail!(
            "the {target} fuzzer failed ({status}): keep the input from fuzz/artifacts/{target}/ as \
             crates/fuzzing/tests/crashes/{target}/<what-it-is>, then fix the bug"
        );
    }
    let mut stats = parse_stats(&log);
    stats.elapsed = started.elapsed();
    eprintln!(
        "fuzz: {target}: {} executions, cov {}, features {}",
        stats.executions, stats.coverage, stats.features
    );
    Ok(stats)
}

/// The last `cov:`/`ft:`/`corp:` figures and the final execution count of a libFuzzer log.
fn parse_stats(log: &str) -> Stats {
    let mut stats = Stats::default();
    let number = |s: &str| {
        s.trim_end_matches(['b', 'k', 'K', 'M', '/'])
            .parse()
            .unwrap_or(0)
    };
    for line in log.lines() {
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.executions = number(n.trim());
        }
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            let field = match word {
                "cov:" => &mut stats.coverage,
                "ft:" => &mut stats.features,
                "corp:" => &mut stats.corpus,
                _ => continue,
            };
            *field = words
                .next()
                .map_or(0, |w| number(w.split('/').next().unwrap_or(w)));
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfuzzer_figures_are_read() {
        let log = "#2\tINITED cov: 120 ft: 130 corp: 2/40b exec/s: 0 rss: 30Mb\n\
                   #4096\tpulse  cov: 1501 ft: 4200 corp: 180/9Kb lim: 43 exec/s: 2048 rss: 60Mb\n\
                   #9000\tDONE   cov: 1510 ft: 4300 corp: 190/10Kb lim: 48 exec/s: 3000 rss: 61Mb\n\
                   stat::number_of_executed_units: 9001\n";
        let s = parse_stats(log);
        assert_eq!(
            (s.executions, s.coverage, s.features, s.corpus),
            (9001, 1510, 4300, 190)
        );
    }
}
