//! Output paths, checked before connecting: a directory where a file is wanted, or a place
//! that cannot be written, is a usage error (exit 2) before any network traffic.

use std::path::Path;

use anyhow::Result;

use crate::exit::Usage;

/// Whether an output path can be written, checked before connecting; whether a file is there.
pub(crate) fn check_output_file(path: &Path, flag: &str) -> Result<bool> {
    if path.is_dir() {
        return Err(Usage(format!(
            "{flag} {} is a directory: give a file name{}",
            path.display(),
            if flag == "--output" {
                ", or use --output-dir for a file per reply"
            } else {
                ""
            }
        ))
        .into());
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    check_dir(parent, flag)?;
    Ok(path.exists())
}

/// Creates `dir` if needed and checks that files can be made in it.
pub(crate) fn check_dir(dir: &Path, flag: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Usage(format!(
            "{flag}: cannot create the directory {}: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".gemlive-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| Usage(format!("{flag}: cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Checks `--record` before connecting.
pub(crate) fn check_record(path: Option<&Path>) -> Result<()> {
    if let Some(p) = path {
        check_output_file(p, "--record")?;
    }
    Ok(())
}
