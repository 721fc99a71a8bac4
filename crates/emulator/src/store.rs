//! Sessions that outlive their connections: resumption handles, history and pending calls.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::engine::Memory;

#[derive(Debug)]
struct Stored {
    memory: Memory,
    model: String,
    attached: bool,
    /// When the last connection ended (handles expire `ttl` later).
    detached_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<u64, Stored>,
    handles: HashMap<String, u64>,
    next_session: u64,
    next_handle: u64,
}

/// Why a resume fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeError {
    /// Another connection still holds the session (Google answers 1011).
    Busy,
    /// Unknown or expired handle, or a different model (1007).
    Invalid,
}

/// All sessions of one emulator, optionally kept in a file so they survive a restart.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    inner: Mutex<Inner>,
    file: Option<PathBuf>,
}

/// The file form of the store. Times are ages, so that handles expire across restarts.
#[derive(Serialize, Deserialize)]
struct Saved {
    next_session: u64,
    next_handle: u64,
    saved_unix_secs: u64,
    sessions: Vec<SavedSession>,
}

#[derive(Serialize, Deserialize)]
struct SavedSession {
    id: u64,
    model: String,
    memory: Memory,
    handles: Vec<String>,
    /// How long ago, at save time, its last connection ended (0 while attached).
    detached_secs: u64,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SessionStore {
    /// A store kept in `file`: sessions saved there by an earlier run are loaded (all detached,
    /// so they can be resumed); every checkpoint and detach writes the file again. A missing
    /// file starts empty; an unreadable one is reported and replaced.
    pub(crate) fn persistent(file: &Path) -> Self {
        let mut inner = Inner::default();
        match std::fs::read_to_string(file) {
            Ok(text) => match serde_json::from_str::<Saved>(&text) {
                Ok(saved) => {
                    let now = Instant::now();
                    let elapsed = unix_secs().saturating_sub(saved.saved_unix_secs);
                    inner.next_session = saved.next_session;
                    inner.next_handle = saved.next_handle;
                    for s in saved.sessions {
                        let age = Duration::from_secs(s.detached_secs.saturating_add(elapsed));
                        let Some(detached_at) = now.checked_sub(age) else {
                            continue;
                        };
                        for h in s.handles {
                            inner.handles.insert(h, s.id);
                        }
                        let stored = Stored {
                            memory: s.memory,
                            model: s.model,
                            attached: false,
                            detached_at: Some(detached_at),
                        };
                        inner.sessions.insert(s.id, stored);
                    }
                }
                Err(e) => tracing::warn!(
                    "ignoring the emulator's session file {}: {e}",
                    file.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "cannot read the emulator's session file {}: {e}",
                file.display()
            ),
        }
        Self {
            inner: Mutex::new(inner),
            file: Some(file.to_owned()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the store to its file, if it has one (errors are logged: sessions go on in memory).
    fn persist(&self, inner: &Inner) {
        let Some(file) = &self.file else { return };
        let now = Instant::now();
        let mut handles: HashMap<u64, Vec<String>> = HashMap::new();
        for (h, id) in &inner.handles {
            handles.entry(*id).or_default().push(h.clone());
        }
        let sessions = inner
            .sessions
            .iter()
            .map(|(id, s)| SavedSession {
                id: *id,
                model: s.model.clone(),
                memory: s.memory.clone(),
                handles: handles.remove(id).unwrap_or_default(),
                detached_secs: s.detached_at.map_or(0, |t| now.duration_since(t).as_secs()),
            })
            .collect();
        let saved = Saved {
            next_session: inner.next_session,
            next_handle: inner.next_handle,
            saved_unix_secs: unix_secs(),
            sessions,
        };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = file.with_extension("tmp");
            std::fs::write(
                &tmp,
                serde_json::to_vec(&saved).map_err(std::io::Error::other)?,
            )?;
            std::fs::rename(&tmp, file)
        };
        if let Err(e) = write() {
            tracing::warn!(
                "cannot save the emulator's sessions to {}: {e}",
                file.display()
            );
        }
    }

    /// A new session, attached to the calling connection.
    pub(crate) fn create(&self, model: &str) -> u64 {
        let mut inner = self.lock();
        inner.next_session += 1;
        let id = inner.next_session;
        inner.sessions.insert(
            id,
            Stored {
                memory: Memory::default(),
                model: model.to_owned(),
                attached: true,
                detached_at: None,
            },
        );
        id
    }

    /// Saves `memory` and returns a fresh handle for the session.
    pub(crate) fn checkpoint(&self, session: u64, memory: &Memory, seed: u64) -> String {
        let mut inner = self.lock();
        inner.next_handle += 1;
        let handle = crate::ids::uuid(seed, "handle", inner.next_handle);
        if let Some(s) = inner.sessions.get_mut(&session) {
            s.memory = memory.clone();
        }
        inner.handles.insert(handle.clone(), session);
        self.persist(&inner);
        handle
    }

    /// Attaches a connection to the session behind `handle`: [`ResumeError::Busy`] while another connection
    /// still holds it, [`ResumeError::Invalid`] for an unknown or expired handle or a different model.
    pub(crate) fn resume(
        &self,
        handle: &str,
        model: &str,
        now: Instant,
        ttl: Duration,
    ) -> Result<(u64, Memory), ResumeError> {
        let mut inner = self.lock();
        let id = *inner.handles.get(handle).ok_or(ResumeError::Invalid)?;
        let s = inner.sessions.get_mut(&id).ok_or(ResumeError::Invalid)?;
        if s.attached {
            return Err(ResumeError::Busy);
        }
        if s.detached_at.is_some_and(|t| now.duration_since(t) > ttl) || s.model != model {
            return Err(ResumeError::Invalid);
        }
        s.attached = true;
        s.detached_at = None;
        Ok((id, s.memory.clone()))
    }

    /// The connection ended: keep everything up to here for a later resume.
    pub(crate) fn detach(&self, session: u64, memory: Memory, now: Instant) {
        let mut inner = self.lock();
        if let Some(s) = inner.sessions.get_mut(&session) {
            s.memory = memory;
            s.attached = false;
            s.detached_at = Some(now);
        }
        self.persist(&inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_rules() {
        let store = SessionStore::default();
        let now = Instant::now();
        let id = store.create("models/m");
        let mut mem = Memory {
            user_turns: 3,
            ..Memory::default()
        };
        let h = store.checkpoint(id, &mem, 1);
        assert_eq!(
            store
                .resume(&h, "models/m", now, Duration::from_secs(60))
                .unwrap_err(),
            ResumeError::Busy
        );
        mem.user_turns = 4;
        store.detach(id, mem, now);
        assert_eq!(
            store
                .resume(&h, "models/x", now, Duration::from_secs(60))
                .unwrap_err(),
            ResumeError::Invalid
        );
        let (rid, m) = store
            .resume(&h, "models/m", now, Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            (rid, m.user_turns),
            (id, 4),
            "everything up to the drop is restored"
        );
        store.detach(id, m, now);
        let late = now + Duration::from_secs(61);
        assert_eq!(
            store
                .resume(&h, "models/m", late, Duration::from_secs(60))
                .unwrap_err(),
            ResumeError::Invalid
        );
        assert_eq!(
            store
                .resume("nope", "models/m", now, Duration::from_secs(60))
                .unwrap_err(),
            ResumeError::Invalid
        );
    }

    #[test]
    fn sessions_survive_a_restart_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sessions.json");
        let store = SessionStore::persistent(&file);
        let id = store.create("models/m");
        let mem = Memory {
            user_turns: 2,
            ..Memory::default()
        };
        let h = store.checkpoint(id, &mem, 7);
        store.detach(id, mem, Instant::now());
        drop(store);

        let store = SessionStore::persistent(&file);
        let (rid, m) = store
            .resume(&h, "models/m", Instant::now(), Duration::from_secs(60))
            .unwrap();
        assert_eq!((rid, m.user_turns), (id, 2));
        let next = store.create("models/m");
        assert_ne!(next, id, "ids continue after the saved ones");

        std::fs::write(&file, "not json").unwrap();
        let store = SessionStore::persistent(&file);
        assert_eq!(
            store
                .resume(&h, "models/m", Instant::now(), Duration::from_secs(60))
                .unwrap_err(),
            ResumeError::Invalid
        );
    }
}
