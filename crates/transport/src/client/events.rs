//! [`LiveEvents`] and the per-turn helper [`Turn`].

use std::pin::Pin;

use protocol::{Event, ends_interaction};
use tokio::sync::{mpsc, watch};

use super::{SessionInfo, closed_error};
use crate::Error;

/// The session's events, in order, ending with `Event::Closed`.
#[derive(Debug)]
pub struct LiveEvents {
    pub(super) events: mpsc::Receiver<Event>,
    pub(super) info: watch::Receiver<SessionInfo>,
    pub(super) resumed: bool,
}

impl LiveEvents {
    /// The next event; `None` after `Event::Closed` has been returned.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The events of the current model turn, like the Python SDK's
    /// `session.receive()`: see [`Turn`].
    pub fn next_turn(&mut self) -> Turn<'_> {
        Turn {
            events: self,
            done: false,
            generated: false,
        }
    }

    /// Vertex's session id.
    pub fn session_id(&self) -> Option<String> {
        self.info.borrow().session_id.clone()
    }

    /// The latest resumable handle.
    pub fn resumption_handle(&self) -> Option<String> {
        self.info.borrow().resumption_handle.clone()
    }

    /// A snapshot of the session's state.
    pub fn info(&self) -> SessionInfo {
        self.info.borrow().clone()
    }

    /// Whether the first connection resumed an earlier session: its setup
    /// carried a handle ([`ClientConfig::resume`](super::ClientConfig::resume)) and the server
    /// accepted it with `setupComplete` (a handle it does not accept closes the
    /// connection instead). That `setupComplete` is consumed by [`connect`](super::connect);
    /// later ones (automatic resumption) arrive as events.
    pub fn resumed(&self) -> bool {
        self.resumed
    }
}

impl futures_util::Stream for LiveEvents {
    type Item = Event;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

/// The events of one model turn.
#[derive(Debug)]
pub struct Turn<'a> {
    events: &'a mut LiveEvents,
    done: bool,
    /// `generationComplete` came: the answer is whole.
    generated: bool,
}

impl Turn<'_> {
    /// `Ok(Some(event))` for each event up to and including the
    /// `Event::TurnComplete` that ends the interaction, then `Ok(None)`.
    /// A `TurnComplete` whose status is `IN_PROGRESS` (background work on
    /// 3.8 models) does not end it; like google-genai's `receive()`.
    /// Events after `TurnComplete` stay queued for the next turn.
    ///
    /// It always ends. When the connection ends mid-turn:
    /// - the turn was sent again on a new connection ([`Event::TurnCut`]
    ///   whose first turn is `resent`): the `TurnCut` is yielded (what came
    ///   before it is superseded) and the new answer follows in this turn;
    /// - the answer was already whole (after `GenerationComplete`): the
    ///   `TurnCut` is the turn's last event;
    /// - otherwise `Err(Error::TurnCut)`: ask again (the session may go on), or
    ///   `Err(Error::Closed)` with code, reason and hint when the session ended.
    pub async fn next(&mut self) -> Result<Option<Event>, Error> {
        if self.done {
            return Ok(None);
        }
        match self.events.next().await {
            Some(Event::Closed(close)) => {
                self.done = true;
                Err(Error::Closed(close))
            }
            Some(Event::TurnCut { cause, turns }) => {
                if self.generated {
                    self.done = true;
                } else if !turns.first().is_some_and(|t| t.resent) {
                    self.done = true;
                    return Err(Error::TurnCut { cause, turns });
                }
                Ok(Some(Event::TurnCut { cause, turns }))
            }
            Some(event) => {
                match &event {
                    Event::TurnComplete { status, .. } => {
                        self.done = ends_interaction(status.as_ref());
                    }
                    Event::GenerationComplete => self.generated = true,
                    _ => {}
                }
                Ok(Some(event))
            }
            None => {
                self.done = true;
                Err(closed_error(&self.events.info))
            }
        }
    }

    /// All events of the turn.
    pub async fn collect(mut self) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await? {
            events.push(event);
        }
        Ok(events)
    }
}
