//! `cargo xtask package`: `cargo package` of every library crate, in dependency order, each one
//! verified (built from its packaged sources) against the packages before it, as crates.io
//! would build them. Nothing is uploaded.

use anyhow::Result;

/// The published crates, dependencies first.
const LIBRARIES: [&str; 6] = [
    "gemlive-protocol",
    "gemlive-audio",
    "gemlive-emulator",
    "gemlive-transport",
    "gemlive-tools",
    "gemlive",
];

/// Packages and verifies every library crate (Cargo packages them together, resolving our own
/// crates from the packages it just made, so the order of publication is checked too).
pub(crate) fn package() -> Result<()> {
    let mut args = vec!["package", "--locked"];
    for name in LIBRARIES {
        args.extend(["-p", name]);
    }
    super::cargo(&args)
}
