//! Running commands, echoed first as a shell would.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The `cargo` that runs xtask (so the toolchain pinned by `rust-toolchain.toml`).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cmd`, echoed first; an error if it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", show(cmd));
    let status = cmd.status().with_context(|| format!("run {}", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", show(cmd));
    }
    Ok(())
}

/// Whether `cmd` runs and succeeds, its output discarded (probing for a tool).
pub(crate) fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cmd` as a shell line: the program's file name and the arguments, without the environment.
pub(crate) fn show(cmd: &Command) -> String {
    let program = std::path::Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    cmd.get_args().fold(program, |line, arg| {
        format!("{line} {}", arg.to_string_lossy())
    })
}
