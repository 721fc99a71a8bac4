//! `cargo xtask package [--verify]`: `cargo package` of every library crate, in dependency
//! order: manifests, file lists and lockfiles as crates.io would take them. With `--verify` each
//! one is also built from its packaged sources against the packages before it (several minutes on
//! two cores: CI packages without it). Nothing is uploaded.

use anyhow::Result;

use crate::cmd;

/// The published crates, dependencies first.
const LIBRARIES: [&str; 7] = [
    "gemlive-protocol",
    "gemlive-audio",
    "gemlive-http",
    "gemlive-emulator",
    "gemlive-transport",
    "gemlive-tools",
    "gemlive",
];

/// Packages every library crate, and builds each package when `verify` (Cargo packages them
/// together, resolving our own crates from the packages it just made, so the order of
/// publication is checked too).
pub(crate) fn package(verify: bool) -> Result<()> {
    let mut cargo = cmd::cargo();
    cargo.args(["package", "--locked"]);
    if !verify {
        cargo.arg("--no-verify");
    }
    for name in LIBRARIES {
        cargo.args(["-p", name]);
    }
    cmd::run(&mut cargo)
}
