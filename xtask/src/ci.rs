//! `cargo xtask ci [--corpus DIR]`: every check as a named step, each one timed, and a table of
//! the step times at the end, also when a step fails.
//!
//! Every workspace build goes through [`Ci::cargo`], which gives all of them the same
//! `--workspace` selection and feature flags: clippy, doc, the tests and the benchmarks' run then
//! share their dependencies' builds, and nothing is built twice for a profile (a `-p` or another
//! feature set resolves features anew and rebuilds whatever they touch). The default-feature
//! build is checked once, by clippy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{bench, cmd, corpus, fidelity, fuzz, package};

/// What a step did.
enum Outcome {
    Passed,
    /// Not run, and why (the machine lacks something; see [`Ci::missing`]).
    Skipped(String),
}

type Check = fn(&Ci) -> Result<Outcome>;

/// The checks, in order.
///
/// **Adding a check is one line here**: its name (for the table of step times) and a
/// `fn(&Ci) -> Result<Outcome>`. Inside, build with `ci.cargo("test")` (add `-p`, other features
/// or another target directory only for what the shared build cannot do, and say why), run other
/// programs with `ci.command("...")`, and when the machine lacks what the check needs,
/// `return ci.missing("a nightly toolchain", "rustup toolchain install nightly")`: a one-line
/// skip on a developer's machine, a failure under `.ci/run` (`GEMLIVE_CI`).
const STEPS: &[(&str, Check)] = &[
    ("fmt", fmt),
    ("clippy", clippy),
    ("clippy, default features", clippy_default_features),
    ("doc", doc),
    ("test", test),
    ("device tests", device_tests),
    ("benches, once", benches_once),
    ("conformance", conformance),
    ("fidelity", fidelity),
    ("package", package),
    ("talk, real audio streams", talk),
    ("fuzz smoke", fuzz_smoke),
];

/// Features for the shared build when the `device` feature cannot be built (no ALSA headers):
/// everything else.
const FEATURES_WITHOUT_ALSA: &str = "gemlive-audio/vad,gemlive-audio/aec,gemlive-cli/vad";

/// What the steps need to know about the machine and the run.
pub(crate) struct Ci {
    root: PathBuf,
    /// `--all-features`, or every feature but `device` without ALSA headers.
    features: Vec<&'static str>,
    /// The conformance corpus directory (holding `sessions/`), absolute; `None`: skipped.
    corpus: Option<PathBuf>,
    /// Under CI (`GEMLIVE_CI`): whatever a check needs must be there.
    strict: bool,
    /// ALSA headers, for the `device` feature (cpal).
    alsa: bool,
    /// A PulseAudio with a virtual speaker and microphone (`.ci/audio-env.sh`).
    pulse: bool,
}

/// Runs the steps; `cwd` is where the caller ran cargo (a relative `--corpus` is from there).
pub(crate) fn run(root: &Path, cwd: &Path, args: &[String]) -> Result<()> {
    let named = match args {
        [] => std::env::var_os(corpus::ENV).map(|dir| cwd.join(dir)),
        [flag, dir] if flag == "--corpus" => Some(cwd.join(dir)),
        _ => bail!("usage: cargo xtask ci [--corpus DIR]"),
    };
    let strict = std::env::var_os("GEMLIVE_CI").is_some();
    let corpus = find_corpus(root, named, strict)?;
    let alsa = cmd::succeeds(Command::new("pkg-config").args(["--exists", "alsa"]));
    let ci = Ci {
        root: root.to_owned(),
        features: if alsa {
            vec!["--all-features"]
        } else {
            vec!["--features", FEATURES_WITHOUT_ALSA]
        },
        corpus,
        strict,
        alsa,
        pulse: std::env::var_os("GEMLIVE_PULSE").is_some(),
    };

    let started = Instant::now();
    let mut done: Vec<(&str, Duration, Outcome)> = Vec::new();
    for &(name, check) in STEPS {
        eprintln!("\nci: {name}");
        let step_started = Instant::now();
        match check(&ci) {
            Ok(outcome) => done.push((name, step_started.elapsed(), outcome)),
            Err(e) => {
                let took = step_started.elapsed();
                print_table(&done, Some((name, took)), started.elapsed());
                return Err(e.context(format!(
                    "ci: step `{name}` failed after {:.1} s",
                    took.as_secs_f64()
                )));
            }
        }
    }
    print_table(&done, None, started.elapsed());
    Ok(())
}

/// The corpus named by `--corpus`/`GEMLIVE_CONFORMANCE_DIR` (it must be there), or the one beside
/// the checkout; when there is none, one line saying what is skipped (an error under CI).
fn find_corpus(root: &Path, named: Option<PathBuf>, strict: bool) -> Result<Option<PathBuf>> {
    let (dir, required) = match named {
        Some(dir) => (dir, true),
        None => (corpus::default_dir(root), strict),
    };
    match corpus::sessions(&dir) {
        Ok(_) => Ok(Some(
            dir.canonicalize()
                .with_context(|| format!("resolve {}", dir.display()))?,
        )),
        Err(e) if required => Err(e.context("the conformance corpus is required here")),
        Err(_) => {
            eprintln!(
                "ci: no conformance corpus at {}: skipping its checks (`cargo xtask conformance` and the tests \
                 recorded_sessions_conform, every_conformance_session_replays, and the recorded frames of \
                 mutated_frames_never_panic); with a copy of the corpus (sessions recorded from Google's servers, \
                 not in the repository) run `cargo xtask ci --corpus DIR`",
                dir.display()
            );
            Ok(None)
        }
    }
}

impl Ci {
    /// `cargo SUBCOMMAND --workspace --locked FEATURES`, the shared build, with the run's
    /// environment (see [`Ci::command`]).
    fn cargo(&self, subcommand: &str) -> Command {
        let mut cargo = self.with_env(cmd::cargo());
        cargo
            .args([subcommand, "--workspace", "--locked"])
            .args(&self.features);
        cargo
    }

    /// `program` with the run's environment: the corpus for the tests that read it
    /// (`GEMLIVE_CONFORMANCE_DIR`, which makes it required), and snapshots compared, never
    /// written (`INSTA_UPDATE=no`: a mismatch fails and leaves no `.snap.new` behind).
    fn command(&self, program: &str) -> Command {
        self.with_env(Command::new(program))
    }

    fn with_env(&self, mut command: Command) -> Command {
        command.current_dir(&self.root).env("INSTA_UPDATE", "no");
        if let Some(dir) = &self.corpus {
            command.env(corpus::ENV, dir);
        }
        command
    }

    /// A check cannot run because `what` is missing (`how`: how to get it): a skip with one
    /// line, or under CI (`GEMLIVE_CI`, where `.ci/run` installs everything) a failure.
    fn missing(&self, what: &str, how: &str) -> Result<Outcome> {
        if self.strict {
            bail!("{what} is missing, and CI (GEMLIVE_CI) requires it: {how}");
        }
        eprintln!("ci: skipped: {what} is missing ({how})");
        Ok(Outcome::Skipped(format!("no {what}")))
    }
}

fn print_table(
    done: &[(&str, Duration, Outcome)],
    failed: Option<(&str, Duration)>,
    total: Duration,
) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("\nci: step times ({cores} cores)");
    let row = |name: &str, took: Option<Duration>, what: &str| {
        let took = took.map_or_else(|| "-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
        eprintln!("  {name:<26} {took:>9}  {what}");
    };
    for (name, took, outcome) in done {
        match outcome {
            Outcome::Passed => row(name, Some(*took), "ok"),
            Outcome::Skipped(why) => row(name, None, &format!("skipped: {why}")),
        }
    }
    if let Some((name, took)) = failed {
        row(name, Some(took), "FAILED");
        for (later, _) in STEPS.iter().skip(done.len() + 1) {
            row(later, None, "not run");
        }
    }
    let secs = total.as_secs_f64();
    row(
        "total",
        Some(total),
        &format!("{}:{:02} min", secs as u64 / 60, secs as u64 % 60),
    );
}

fn fmt(ci: &Ci) -> Result<Outcome> {
    let mut fmt = ci.with_env(cmd::cargo());
    cmd::run(fmt.args(["fmt", "--all", "--", "--check"]))?;
    Ok(Outcome::Passed)
}

/// Every target, every feature, under `-D warnings`.
fn clippy(ci: &Ci) -> Result<Outcome> {
    cmd::run(
        ci.cargo("clippy")
            .args(["--all-targets", "--", "-D", "warnings"]),
    )?;
    Ok(Outcome::Passed)
}

/// The build a user gets without features: code behind `#[cfg(feature)]` leaves nothing unused.
/// Only the crates with features (and their dependents) are checked again.
fn clippy_default_features(ci: &Ci) -> Result<Outcome> {
    let mut clippy = ci.with_env(cmd::cargo());
    cmd::run(clippy.args([
        "clippy",
        "--workspace",
        "--locked",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok(Outcome::Passed)
}

/// The examples are documented too: with them, dev-dependencies take part in the feature
/// resolution as in the other steps, so no dependency is checked again for the documentation.
fn doc(ci: &Ci) -> Result<Outcome> {
    cmd::run(
        ci.cargo("doc")
            .args(["--no-deps", "--lib", "--examples"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    Ok(Outcome::Passed)
}

/// Unit, integration and doc tests, the fixture replay and the corpus tests among them.
fn test(ci: &Ci) -> Result<Outcome> {
    cmd::run(ci.cargo("test").arg("--no-fail-fast"))?;
    Ok(Outcome::Passed)
}

/// The audio crate's real-stream tests (`#[ignore]`d in plain `cargo test`): the test binary the
/// `test` step built, run for its ignored tests.
fn device_tests(ci: &Ci) -> Result<Outcome> {
    if !ci.alsa {
        return ci.missing(
            "ALSA headers",
            "apt-get install libasound2-dev, or run .ci/run",
        );
    }
    if !ci.pulse {
        return ci.missing(
            "PulseAudio with virtual devices",
            "source .ci/audio-env.sh, or run .ci/run",
        );
    }
    cmd::run(
        ci.cargo("test")
            .args(["--test", "device", "--", "--ignored"]),
    )?;
    Ok(Outcome::Passed)
}

/// Each benchmark once, built in the test profile with the tests' dependencies: they must build
/// and run, they measure nothing here (`cargo xtask bench` does).
fn benches_once(ci: &Ci) -> Result<Outcome> {
    let mut benches = ci.cargo("test");
    benches.args(bench::ONCE);
    match bench::python() {
        Some(python) => benches.env(bench::PYTHON, python),
        None => {
            eprintln!(
                "ci: the Python SDK is not in this run of the benchmarks (no python3 with google-genai)"
            );
            &mut benches
        }
    };
    cmd::run(&mut benches)?;
    Ok(Outcome::Passed)
}

/// The in-process conformance check, which prints the corpus's figures (the `test` step ran the
/// same checks as tests).
fn conformance(ci: &Ci) -> Result<Outcome> {
    let Some(dir) = &ci.corpus else {
        return Ok(Outcome::Skipped("no conformance corpus (see above)".into()));
    };
    corpus::check(&corpus::sessions(dir)?)?;
    Ok(Outcome::Passed)
}

/// The emulator against every recorded session, in the default and the `--strict-models` mode,
/// with their summary lines (the `test` step compared the same tables with their snapshots).
fn fidelity(ci: &Ci) -> Result<Outcome> {
    let Some(dir) = &ci.corpus else {
        return Ok(Outcome::Skipped("no conformance corpus (see above)".into()));
    };
    let dir = dir.display().to_string();
    fidelity::run(std::slice::from_ref(&dir), &ci.root, &ci.root)?;
    fidelity::run(&["--strict-models".to_owned(), dir], &ci.root, &ci.root)?;
    Ok(Outcome::Passed)
}

/// `cargo package` of the library crates, not verified (`cargo xtask package --verify` builds them).
fn package(_: &Ci) -> Result<Outcome> {
    package::package(false)?;
    Ok(Outcome::Passed)
}

/// `gemlive talk` through PulseAudio's virtual microphone and speaker, end to end, with the
/// binary the `test` step built (every feature).
fn talk(ci: &Ci) -> Result<Outcome> {
    if !ci.pulse {
        return ci.missing(
            "PulseAudio with virtual devices",
            "source .ci/audio-env.sh, or run .ci/run",
        );
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| ci.root.join("target"), PathBuf::from);
    cmd::run(
        ci.command("bash")
            .arg(".ci/talk-test.sh")
            .env("GEMLIVE_BIN", target.join("debug/gemlive")),
    )?;
    Ok(Outcome::Passed)
}

/// Every fuzz target for a few seconds (`fuzz.rs`). cargo-fuzz needs a nightly toolchain, which
/// the project does not require: without one the step is skipped with one line, under CI too.
/// With nightly, cargo-fuzz must be there under CI (`.ci/run` installs it).
fn fuzz_smoke(ci: &Ci) -> Result<Outcome> {
    match fuzz::tools() {
        fuzz::Tools::NoNightly => {
            eprintln!(
                "ci: skipped: no nightly toolchain for cargo-fuzz ({}); CI does not require one",
                fuzz::INSTALL_NIGHTLY
            );
            Ok(Outcome::Skipped("no nightly toolchain".into()))
        }
        fuzz::Tools::NoCargoFuzz => ci.missing("cargo-fuzz", fuzz::INSTALL_CARGO_FUZZ),
        fuzz::Tools::Ready => {
            fuzz::smoke(&ci.root, ci.corpus.as_deref())?;
            Ok(Outcome::Passed)
        }
    }
}
