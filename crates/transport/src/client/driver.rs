//! The driver task: owns the connection and the [`Session`], drains its
//! outputs, and resumes on a new connection when the session allows it.

use std::collections::VecDeque;
use std::time::Duration;

use protocol::{Close, CloseInfo, Event, Output, Session};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::events::ends_interaction;
use super::sender::Command;
use super::{EventTap, ReconnectFn, SessionInfo};
use crate::Error;
use crate::connection::{Connection, Incoming};
use crate::recorder::Recorder;

/// How long to wait for the server to answer our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// With a turn still running, move to a new connection this long before a
/// goAway's deadline.
const GO_AWAY_MARGIN: Duration = Duration::from_secs(2);
/// Consecutive attempts to resume on a new connection.
const RESUME_ATTEMPTS: u32 = 5;
/// The first wait between resumption attempts; doubles each time.
const RESUME_BACKOFF: Duration = Duration::from_millis(1500);

pub(super) type Reply = oneshot::Sender<Result<(), Error>>;

/// What woke the driver.
enum Step {
    Delivered,
    EventsGone,
    Command(Option<(Command, Reply)>),
    Incoming(Result<Incoming, Error>),
    Timer,
}

pub(super) struct Driver<C> {
    conn: C,
    session: Session,
    commands: mpsc::Receiver<(Command, Reply)>,
    commands_open: bool,
    events: mpsc::Sender<Event>,
    events_open: bool,
    /// Events drained from the session but not yet accepted by the channel.
    /// The socket is only read while this is empty, which bounds it.
    pending: VecDeque<Event>,
    info: watch::Sender<SessionInfo>,
    recorder: Option<Recorder>,
    event_tap: Option<EventTap>,
    conn_open: bool,
    close_deadline: Option<Instant>,
    wake_at: Option<Instant>,
    transport_error: Option<String>,
    abandoned: bool,
    /// Opens a new connection for automatic resumption.
    reconnect: Option<ReconnectFn<C>>,
    /// The application asked to close: never resume.
    user_closed: bool,
    /// Between the decision to resume and the new connection's setupComplete.
    resuming: bool,
    /// The close that ended the current connection, held back while resuming.
    held_close: Option<Close>,
    /// Consecutive resumption attempts without a setupComplete.
    resume_attempts: u32,
    /// A goAway's deadline: move to a new connection once the turn is done.
    go_away: Option<Instant>,
    /// Model output arrived and the interaction is not complete yet.
    turn_active: bool,
}

impl<C: Connection> Driver<C> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        conn: C,
        session: Session,
        commands: mpsc::Receiver<(Command, Reply)>,
        events: mpsc::Sender<Event>,
        info: watch::Sender<SessionInfo>,
        recorder: Option<Recorder>,
        event_tap: Option<EventTap>,
        reconnect: Option<ReconnectFn<C>>,
    ) -> Self {
        Self {
            conn,
            session,
            commands,
            commands_open: true,
            events,
            events_open: true,
            pending: VecDeque::new(),
            info,
            recorder,
            event_tap,
            conn_open: true,
            close_deadline: None,
            wake_at: None,
            transport_error: None,
            abandoned: false,
            reconnect,
            user_closed: false,
            resuming: false,
            held_close: None,
            resume_attempts: 0,
            go_away: None,
            turn_active: false,
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            self.drain().await;
            if let Some(close) = self.held_close.take() {
                self.resume(close).await;
                continue;
            }
            self.publish();
            if self.session.is_closed() && (self.pending.is_empty() || !self.events_open) {
                break;
            }
            if !self.events_open && !self.commands_open && !self.abandoned {
                // Nobody is listening or sending any more: end the session.
                self.abandoned = true;
                self.user_closed = true;
                self.session.close(Instant::now().into_std());
                continue;
            }
            let go_away_at = self.go_away.map(|deadline| {
                if self.turn_active {
                    deadline.checked_sub(GO_AWAY_MARGIN).unwrap_or(deadline)
                } else {
                    Instant::now()
                }
            });
            if go_away_at.is_some_and(|at| at <= Instant::now()) {
                // Leave this connection before the server ends it; the
                // answering close resumes on a new one.
                self.go_away = None;
                self.resuming = true;
                self.session.close(Instant::now().into_std());
                continue;
            }
            let wake = [self.wake_at, self.close_deadline, go_away_at]
                .into_iter()
                .flatten()
                .min();
            let read_socket = self.conn_open && self.pending.is_empty();
            let step = tokio::select! {
                permit = self.events.reserve(), if self.events_open && !self.pending.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.pending.pop_front() {
                                permit.send(event);
                            }
                            Step::Delivered
                        }
                        Err(_) => Step::EventsGone,
                    }
                }
                command = self.commands.recv(), if self.commands_open && !self.resuming => Step::Command(command),
                incoming = self.conn.recv(), if read_socket => Step::Incoming(incoming),
                () = sleep_until_opt(wake) => Step::Timer,
            };
            match step {
                Step::Delivered => {}
                Step::EventsGone => {
                    self.events_open = false;
                    self.pending.clear();
                }
                Step::Command(Some((command, reply))) => self.apply(command, reply).await,
                Step::Command(None) => self.commands_open = false,
                Step::Incoming(incoming) => self.on_incoming(incoming),
                Step::Timer => self.on_timer(),
            }
        }
        self.publish();
        if let Some(recorder) = &mut self.recorder {
            recorder.flush();
        }
        self.conn.shutdown().await;
    }

    /// Drains the session's outputs until it is idle.
    async fn drain(&mut self) {
        loop {
            match self.session.poll_output() {
                Output::Transmit(frame) => {
                    if let Some(recorder) = &mut self.recorder {
                        recorder.send(&frame);
                    }
                    if self.conn_open
                        && let Err(e) = self.conn.send(frame).await
                    {
                        self.lost(&e);
                    }
                }
                Output::Event(event) => {
                    self.observe(&event);
                    if let Event::Closed(close) = &event
                        && self.may_resume(close)
                    {
                        self.resuming = true;
                        self.held_close = Some(close.clone());
                        continue;
                    }
                    if matches!(event, Event::Closed(_)) {
                        self.resuming = false;
                    }
                    self.deliver(event);
                }
                Output::Close => {
                    if self.conn_open {
                        match self.conn.close(1000, "").await {
                            Ok(()) => {
                                self.close_deadline = Some(Instant::now() + CLOSE_GRACE);
                            }
                            Err(e) => self.lost(&e),
                        }
                    }
                }
                Output::Idle { wake_at } => {
                    self.wake_at = wake_at.map(Instant::from_std);
                    return;
                }
            }
        }
    }

    /// Brings [`SessionInfo`] up to date; allocates only when something changed.
    fn publish(&self) {
        let closed = if self.resuming || self.held_close.is_some() {
            None
        } else {
            self.session.close_reason()
        };
        let session_id = self.session.session_id();
        let handle = self.session.resumption_handle();
        let go_away_deadline = self.session.go_away_deadline();
        self.info.send_if_modified(|current| {
            // Every field, so that a new one cannot be forgotten here.
            let SessionInfo {
                session_id: current_id,
                resumption_handle: current_handle,
                go_away_deadline: current_deadline,
                closed: current_closed,
            } = current;
            let mut modified = false;
            if current_id.as_deref() != session_id {
                *current_id = session_id.map(str::to_owned);
                modified = true;
            }
            if current_handle.as_deref() != handle {
                *current_handle = handle.map(str::to_owned);
                modified = true;
            }
            if *current_deadline != go_away_deadline {
                *current_deadline = go_away_deadline;
                modified = true;
            }
            if current_closed.as_ref() != closed {
                *current_closed = closed.cloned();
                modified = true;
            }
            modified
        });
    }

    async fn apply(&mut self, command: Command, reply: Reply) {
        self.transport_error = None;
        let s = &mut self.session;
        let result = match command {
            Command::Text(text) => s.send_text(&text),
            Command::UserTurn(text) => s.send_user_turn(&text),
            Command::ClientContent(content) => s.send_client_content(content),
            Command::Audio {
                pcm16le,
                sample_rate,
            } => s.send_audio(&pcm16le, sample_rate),
            Command::Video { image, mime_type } => s.send_video(&image, &mime_type),
            Command::ActivityStart => s.send_activity_start(),
            Command::ActivityEnd => s.send_activity_end(),
            Command::AudioStreamEnd => s.send_audio_stream_end(),
            Command::ToolResponse(responses) => s.send_tool_response(responses),
            Command::UpdateContext(update) => s.update_context(update),
            Command::Close => {
                self.user_closed = true;
                s.close(Instant::now().into_std());
                Ok(())
            }
        };
        let result = result.map_err(Error::from);
        // Hand the frame to the connection before answering, so that
        // `send_*().await` means "on the wire" and applies backpressure.
        self.drain().await;
        let result = match (result, self.transport_error.take()) {
            (Ok(()), Some(reason)) => Err(Error::ConnectionLost(reason)),
            (result, _) => result,
        };
        let _ = reply.send(result);
    }

    /// Tracks what automatic resumption needs to know about the session.
    fn observe(&mut self, event: &Event) {
        match event {
            Event::SetupComplete { .. } => {
                self.resuming = false;
                self.resume_attempts = 0;
            }
            Event::GoAway { deadline, .. }
                if self.reconnect.is_some()
                    && !self.user_closed
                    && self.session.resumption_handle().is_some() =>
            {
                self.go_away = Some(Instant::from_std(*deadline));
            }
            Event::TurnComplete { status, .. } if ends_interaction(status.as_ref()) => {
                self.turn_active = false;
            }
            Event::Text { .. }
            | Event::Audio { .. }
            | Event::InlineData { .. }
            | Event::OutputTranscript { .. }
            | Event::ToolCall { .. } => self.turn_active = true,
            _ => {}
        }
    }

    /// Whether a close can be repaired by resuming on a new connection.
    fn may_resume(&self, close: &Close) -> bool {
        self.reconnect.is_some()
            && !self.user_closed
            && close.retriable
            && self.session.resumption_handle().is_some()
    }

    /// Opens a new connection and resumes the session on it; after
    /// [`RESUME_ATTEMPTS`] failures the held close ends the session.
    async fn resume(&mut self, close: Close) {
        self.conn.shutdown().await;
        self.conn_open = false;
        self.go_away = None;
        self.turn_active = false;
        while self.resume_attempts < RESUME_ATTEMPTS {
            if self.resume_attempts > 0 {
                // Google refuses a resume while the old connection is still
                // half-open (1011); give it a moment, then back off.
                let delay = RESUME_BACKOFF * 2u32.pow(self.resume_attempts - 1);
                tokio::time::sleep(delay).await;
            }
            self.resume_attempts += 1;
            let next = match self.session.next_connection(Instant::now().into_std()) {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!("cannot resume: {e}");
                    break;
                }
            };
            let Some(reconnect) = self.reconnect.as_mut() else {
                break;
            };
            match reconnect().await {
                Ok(conn) => {
                    tracing::debug!(
                        attempt = self.resume_attempts,
                        "resuming on a new connection after {}",
                        close
                    );
                    self.conn = conn;
                    self.session = next;
                    self.conn_open = true;
                    self.close_deadline = None;
                    return;
                }
                Err(e) => tracing::warn!(
                    attempt = self.resume_attempts,
                    "reconnecting to resume failed: {e}"
                ),
            }
        }
        // Give up: the session ends with the close that started it all.
        self.resuming = false;
        self.deliver(Event::Closed(close));
    }

    /// Shows `event` to the tap, then queues it for the application.
    fn deliver(&mut self, event: Event) {
        if let Some(tap) = &self.event_tap {
            tap.call(&event);
        }
        if self.events_open {
            self.pending.push_back(event);
        }
    }

    fn on_incoming(&mut self, incoming: Result<Incoming, Error>) {
        let now = Instant::now().into_std();
        match incoming {
            Ok(Incoming::Text(payload) | Incoming::Binary(payload)) => {
                if let Some(recorder) = &mut self.recorder {
                    recorder.recv(&payload);
                }
                if let Err(e) = self.session.handle_frame(&payload, now) {
                    tracing::warn!("server frame not handled: {e}");
                }
            }
            Ok(Incoming::Close(close)) => {
                self.conn_open = false;
                // We asked to close and the server hung up without answering:
                // the session ended as requested.
                let close = match (close, self.close_deadline.take()) {
                    (None, Some(_)) => Some(CloseInfo::new(1000, "")),
                    (close, _) => close,
                };
                if let Some(recorder) = &mut self.recorder {
                    recorder.close(close.as_ref());
                }
                self.session.handle_close(close, now);
            }
            Err(e) => self.lost(&e),
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.close_deadline.is_some_and(|d| now >= d) {
            // The server never answered our close frame.
            self.close_deadline = None;
            self.conn_open = false;
            let close = CloseInfo::new(1000, "");
            if let Some(recorder) = &mut self.recorder {
                recorder.close(Some(&close));
            }
            self.session.handle_close(Some(close), now.into_std());
            return;
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.tick();
        }
        self.session.handle_timeout(now.into_std());
    }

    /// The connection failed: the session ends with a local 1006 that
    /// carries the reason.
    fn lost(&mut self, error: &Error) {
        if !self.conn_open {
            return;
        }
        self.conn_open = false;
        let reason = error.to_string();
        tracing::debug!("connection lost: {reason}");
        let close = if self.close_deadline.take().is_some() {
            // Lost while closing at our request: the session ended as asked.
            CloseInfo::new(1000, "")
        } else {
            CloseInfo::new(1006, reason.clone())
        };
        if let Some(recorder) = &mut self.recorder {
            recorder.close(Some(&close));
        }
        self.transport_error = Some(reason);
        self.session
            .handle_close(Some(close), Instant::now().into_std());
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
