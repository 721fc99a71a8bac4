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

/// Points `setup` at the session to resume: `latest` (the saved one) or a handle. A saved
/// session's model wins unless `model_flag` names another than the default.
pub(crate) fn apply_resume(
    resume: &str,
    backend: &crate::backend::Backend,
    setup: &mut protocol::wire::Setup,
    model_flag: &str,
) -> Result<()> {
    let handle = if resume == "latest" {
        let saved = load().map_err(|e| crate::exit::Usage(format!("{e:#}")))?;
        if saved.backend != backend.name && backend.emulator.is_none() {
            tracing::warn!(
                "the saved session was made against {}, not {}",
                saved.backend,
                backend.name
            );
        }
        if setup.model != saved.model && model_flag == protocol::models::DEFAULT_MODEL {
            setup.model = saved.model;
        }
        saved.handle
    } else {
        resume.to_owned()
    };
    setup.session_resumption = Some(protocol::wire::SessionResumptionConfig {
        handle: Some(handle),
        transparent: None,
    });
    Ok(())
}

/// Saves the session's latest resumable handle, if it has one; returns it when saved.
pub(crate) fn save_latest(handle: Option<String>, model: String, backend: &str) -> Option<String> {
    let handle = handle?;
    let saved = SavedSession {
        handle: handle.clone(),
        model,
        backend: backend.to_owned(),
    };
    match save(&saved) {
        Ok(_) => Some(handle),
        Err(e) => {
            tracing::warn!("cannot save the session: {e:#}");
            None
        }
    }
}
