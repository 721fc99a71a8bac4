//! [`Session::play_into`](crate::Session::play_into): the model's speech into a sink from the
//! session's own task (a [`transport::EventTap`]), so that audio never waits for the
//! application's task to be scheduled.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use audio::{AudioSink, SampleRate};
use protocol::Event;
use transport::EventTap;

/// Where a session's speech goes; shared by the [`Session`](crate::Session) and its tap.
#[derive(Default)]
pub(crate) struct Output(Mutex<Option<Playing>>);

struct Playing {
    sink: Box<dyn AudioSink>,
    /// A write failed already (said once per sink).
    failed: bool,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let playing = self.lock().is_some();
        f.debug_struct("Output").field("playing", &playing).finish()
    }
}

impl Output {
    /// The tap that feeds the sink, for the transport's driver.
    pub(crate) fn tap(self: &Arc<Self>) -> EventTap {
        let output = Arc::clone(self);
        EventTap::new(move |event| output.on_event(event))
    }

    /// Plays into `sink` from now on (none: nowhere); returns the sink played into before.
    pub(crate) fn replace(&self, sink: Option<Box<dyn AudioSink>>) -> Option<Box<dyn AudioSink>> {
        let playing = sink.map(|sink| Playing {
            sink,
            failed: false,
        });
        std::mem::replace(&mut *self.lock(), playing).map(|p| p.sink)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Playing>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn on_event(&self, event: &Event) {
        let flush = match event {
            Event::Audio {
                data, sample_rate, ..
            } => {
                let mut slot = self.lock();
                let Some(playing) = slot.as_mut() else { return };
                let written = SampleRate::new(*sample_rate)
                    .and_then(|rate| playing.sink.write_le_bytes(rate, data));
                if let Err(e) = written
                    && !std::mem::replace(&mut playing.failed, true)
                {
                    tracing::warn!(
                        "the session's audio output refused a chunk (later refusals are not logged): {e}"
                    );
                }
                return;
            }
            // The speech that was cut must not go on playing.
            Event::Interrupted => true,
            // The question is asked again: its new answer starts over.
            Event::TurnCut { turns, .. } => turns.first().is_some_and(|t| t.resent),
            _ => false,
        };
        if flush && let Some(playing) = self.lock().as_mut() {
            playing.sink.flush();
        }
    }
}
