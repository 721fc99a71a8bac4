//! What gemlive remembers between runs: the latest resumable session handle.
//!
//! Kept in the user's state directory (`$XDG_STATE_HOME/gemlive`, usually
//! `~/.local/state/gemlive`), or `$GEMLIVE_STATE_DIR`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A saved session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SavedSession {
    /// The resumption handle.
    pub(crate) handle: String,
    /// The model it belongs to (a resume cannot change the model).
    pub(crate) model: String,
    /// Where it lives: "emulator", "gemini", "vertex" or the endpoint URL.
    pub(crate) backend: String,
}

pub(crate) fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("GEMLIVE_STATE_DIR") {
        return Some(PathBuf::from(d));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("gemlive"))
}

fn file() -> Result<PathBuf> {
    dir()
        .map(|d| d.join("last-session.json"))
        .context("no state directory: set GEMLIVE_STATE_DIR")
}

/// Saves the session as the latest one.
pub(crate) fn save(session: &SavedSession) -> Result<PathBuf> {
    let path = file()?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(session).context("serialize the session")?;
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The latest saved session.
pub(crate) fn load() -> Result<SavedSession> {
    let path = file()?;
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no saved session in {} (run a chat first, or pass --resume HANDLE)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is corrupt; delete it", path.display()))
}
