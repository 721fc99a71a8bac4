//! Sessions that outlive their connections: resumption handles, history and pending calls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::close::Close;
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

/// All sessions of one emulator.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    inner: Mutex<Inner>,
}

impl SessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
        handle
    }

    /// Attaches a connection to the session behind `handle`. Fails with 1011 while another connection still
    /// holds it (as Google does), and with 1007 for an unknown or expired handle or a different model.
    pub(crate) fn resume(
        &self,
        handle: &str,
        model: &str,
        now: Instant,
        ttl: Duration,
    ) -> Result<(u64, Memory), Close> {
        let mut inner = self.lock();
        let id = *inner
            .handles
            .get(handle)
            .ok_or_else(Close::invalid_argument)?;
        let s = inner
            .sessions
            .get_mut(&id)
            .ok_or_else(Close::invalid_argument)?;
        if s.attached {
            return Err(Close::internal());
        }
        if s.detached_at.is_some_and(|t| now.duration_since(t) > ttl) || s.model != model {
            return Err(Close::invalid_argument());
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
            Close::internal()
        );
        mem.user_turns = 4;
        store.detach(id, mem, now);
        assert_eq!(
            store
                .resume(&h, "models/x", now, Duration::from_secs(60))
                .unwrap_err(),
            Close::invalid_argument()
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
            Close::invalid_argument()
        );
        assert_eq!(
            store
                .resume("nope", "models/m", now, Duration::from_secs(60))
                .unwrap_err(),
            Close::invalid_argument()
        );
    }
}
