//! [`EventTap`]: every event on the driver's task, before the channel.

use std::sync::{Arc, Mutex, PoisonError};

use protocol::Event;

#[cfg(doc)]
use super::{ClientConfig, LiveEvents, LiveSender};
#[cfg(doc)]
use bytes::Bytes;

/// A function that sees every event on the driver's task, as soon as its
/// frame is decoded and before the event is queued for [`LiveEvents`].
///
/// Events reach [`LiveEvents`] through a channel, so the application's task
/// has to be woken and scheduled for each one. When that task is the one
/// `#[tokio::main]` runs on the main thread, the wake-up crosses threads and,
/// on a loaded machine, can take hundreds of microseconds. A tap runs in
/// the driver right after the decode: hand [`Event::Audio`] to a playback
/// buffer there (and flush it on [`Event::Interrupted`]) and the audio path
/// no longer depends on the application's scheduling. The event is still
/// delivered to [`LiveEvents`] afterwards ([`Event::Audio`]'s PCM is a
/// reference-counted [`Bytes`]: cloning it does not copy the audio).
///
/// The tap must return quickly and must not block: the driver reads the
/// socket and sends frames on the same task. It sees every event the
/// application sees, in the same order, including `SetupComplete` (each one
/// of a session resumed with [`ClientConfig::auto_resume`]) and the final
/// `Closed`. Clones of a tap (and of a [`ClientConfig`] holding it) share the
/// one function.
///
/// The tap keeps the socket's pace, and the socket keeps the application's:
/// when [`LiveEvents`] is not read and its channel is full, the driver stops
/// reading the socket, so the tap waits too. An application that only needs
/// the tap can drop its [`LiveEvents`]; the session goes on while a
/// [`LiveSender`] lives.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use gemlive_transport::EventTap;
/// use gemlive_transport::protocol::Event;
///
/// let pcm_bytes = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&pcm_bytes);
/// let tap = EventTap::new(move |event: &Event| {
///     if let Event::Audio { data, .. } = event {
///         counter.fetch_add(data.len(), Ordering::Relaxed);
///     }
/// });
/// # let _ = tap;
/// ```
#[derive(Clone)]
pub struct EventTap(Arc<Mutex<TapFn>>);

type TapFn = dyn FnMut(&Event) + Send;

impl EventTap {
    /// Wraps `f`.
    pub fn new(f: impl FnMut(&Event) + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(f)))
    }

    /// A tap that calls this one, then `next` (e.g. a tool dispatcher's tap and your own).
    #[must_use]
    pub fn then(self, next: Self) -> Self {
        Self::new(move |event| {
            self.call(event);
            next.call(event);
        })
    }

    pub(super) fn call(&self, event: &Event) {
        let mut f = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(event);
    }
}

impl std::fmt::Debug for EventTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventTap(..)")
    }
}
