//! What gemlive remembers between runs: resumable session handles, per backend, and the
//! prompt's history.
//!
//! Kept in the user's state directory (`$XDG_STATE_HOME/gemlive`, usually
//! `~/.local/state/gemlive`), or `$GEMLIVE_STATE_DIR`. The directory is private (0700) and
//! every file gemlive writes there is too (0600): they hold conversation text.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit::{Config, Usage};

/// How many handles are remembered (to recognise a handle of another backend).
const KEEP: usize = 50;

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct SessionsFile {
    /// Oldest first.
    sessions: Vec<SavedSession>,
}

pub(crate) fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("GEMLIVE_STATE_DIR") {
        return Some(PathBuf::from(d));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("gemlive"))
}

/// The state directory, created private to the user.
pub(crate) fn private_dir() -> Result<PathBuf> {
    let dir = dir().context("no state directory: set GEMLIVE_STATE_DIR")?;
    make_private_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` (and its parents) and makes it 0700.
pub(crate) fn make_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))
}

/// Writes `path` whole (a temporary file renamed over it), readable by the user only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_private_dir(parent)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn file() -> Result<PathBuf> {
    Ok(private_dir()?.join("sessions.json"))
}

fn load_all() -> Result<SessionsFile> {
    let path = file()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt; delete it", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SessionsFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Saves the session as the latest one of its backend.
pub(crate) fn save(session: &SavedSession) -> Result<()> {
    let mut all = load_all().unwrap_or_default();
    all.sessions.retain(|s| s.handle != session.handle);
    all.sessions.push(session.clone());
    if all.sessions.len() > KEEP {
        all.sessions.drain(..all.sessions.len() - KEEP);
    }
    let text = serde_json::to_string_pretty(&all).context("serialize the sessions")?;
    write_private(&file()?, text.as_bytes())
}

/// How a person names a backend.
pub(crate) fn describe(backend: &str) -> String {
    match backend {
        "emulator" => "the built-in emulator".into(),
        "gemini" => "Google's Gemini API".into(),
        "vertex" => "Vertex AI".into(),
        url => url.to_owned(),
    }
}

/// Points `setup` at the session to resume: `latest` (the latest saved for this backend) or a
/// handle. A handle gemlive saved for another backend is refused. A saved session's model wins
/// unless `model_flag` names another than the default. Returns the handle.
pub(crate) fn apply_resume(
    resume: &str,
    backend: &crate::backend::Backend,
    setup: &mut protocol::wire::Setup,
    model_flag: &str,
) -> Result<String> {
    let all = load_all().map_err(|e| Usage(format!("{e:#}")))?;
    let handle = if resume == "latest" {
        let Some(saved) = all
            .sessions
            .iter()
            .rev()
            .find(|s| s.backend == backend.name)
        else {
            let elsewhere = all
                .sessions
                .last()
                .map(|s| {
                    format!(
                        "; the latest saved session belongs to {} (resume it with {})",
                        describe(&s.backend),
                        crate::backend::flags_for(&s.backend).map_or_else(
                            || "its backend's flags".to_owned(),
                            |f| format!("gemlive chat{f} --resume")
                        )
                    )
                })
                .unwrap_or_default();
            return Err(Usage(format!(
                "no saved session for {}{elsewhere}; start one without --resume",
                describe(&backend.name)
            ))
            .into());
        };
        if setup.model != saved.model && model_flag == protocol::models::DEFAULT_MODEL {
            setup.model.clone_from(&saved.model);
        }
        saved.handle.clone()
    } else {
        if let Some(saved) = all.sessions.iter().find(|s| s.handle == resume)
            && saved.backend != backend.name
        {
            return Err(Config(format!(
                "the session {resume} belongs to {}, not {}: a handle only resumes where it was made",
                describe(&saved.backend),
                describe(&backend.name)
            ))
            .into());
        }
        if let Some(saved) = all.sessions.iter().find(|s| s.handle == resume)
            && model_flag == protocol::models::DEFAULT_MODEL
        {
            setup.model.clone_from(&saved.model);
        }
        resume.to_owned()
    };
    setup.session_resumption = Some(protocol::wire::SessionResumptionConfig {
        handle: Some(handle.clone()),
        transparent: None,
    });
    Ok(handle)
}

/// The handle of the latest session saved for `backend`.
pub(crate) fn latest_for(backend: &str) -> Option<String> {
    load_all()
        .ok()?
        .sessions
        .into_iter()
        .rev()
        .find(|s| s.backend == backend)
        .map(|s| s.handle)
}

/// Whether a prompt word is probably a handle given after `--resume ` (with a space) instead of
/// `--resume=`: a handle gemlive saved, or a long word of handle characters.
pub(crate) fn looks_like_handle(word: &str) -> bool {
    let shaped = word.len() >= 24
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=+/.".contains(c))
        && word.chars().any(|c| c.is_ascii_digit());
    shaped
        || load_all()
            .map(|all| all.sessions.iter().any(|s| s.handle == word))
            .unwrap_or(false)
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
        Ok(()) => Some(handle),
        Err(e) => {
            tracing::warn!("cannot save the session: {e:#}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_in_a_0700_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/sub/file.json");
        write_private(&path, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn handles_are_told_from_prompts() {
        assert!(looks_like_handle("5d65a1c2-9d6e-4c1b-8f2a-0e4f1a2b3c4d"));
        assert!(!looks_like_handle("What"));
        assert!(!looks_like_handle("internationalization-is-long"));
    }
}
