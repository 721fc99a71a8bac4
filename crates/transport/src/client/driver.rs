//! The driver task: owns the connection and the [`Session`], drains its outputs, and resumes
//! the session on a new connection when its connection ends in a way resuming can repair.
//!
//! One loop, never blocked on one thing: it delivers events, takes commands, reads the socket,
//! waits for a reconnection or a timer, whichever comes first. While the session moves to a
//! new connection (after a break, or to leave one the server announced the end of with
//! `goAway`) commands wait: at most one is taken and held, so that a `close` is still seen.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use protocol::{Close, CloseInfo, Event, Output, Session, ends_interaction};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::resume::{Pacing, ResumePolicy, random_fraction};
use super::sender::Command;
use super::{EventTap, ReconnectFn, SessionInfo};
use crate::Error;
use crate::connection::{Connection, Incoming};
use crate::recorder::Recorder;

/// How long to wait for the server to answer our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// With a turn still running, leave a connection this long before its goAway deadline (at
/// most half the notice).
const GO_AWAY_MARGIN: Duration = Duration::from_secs(2);

pub(super) type Reply = oneshot::Sender<Result<(), Error>>;

type Connecting<C> = Pin<Box<dyn Future<Output = Result<C, Error>> + Send>>;

/// What woke the driver.
enum Step<C> {
    Delivered,
    EventsGone,
    Command(Option<(Command, Reply)>),
    Incoming(Result<Incoming, Error>),
    Connected(Result<C, Error>),
    Timer,
}

/// Automatic resumption: how to open a connection, the policy, and where it stands.
struct Resume<C> {
    reconnect: ReconnectFn<C>,
    policy: ResumePolicy,
    pacing: Pacing,
    /// The server announced the end of the current connection.
    go_away: Option<GoAway>,
    /// We are leaving the current connection for a goAway (its notice).
    rotating: Option<Duration>,
    /// The session is between connections.
    outage: Option<Outage>,
}

#[derive(Clone, Copy, Debug)]
struct GoAway {
    deadline: Instant,
    time_left: Duration,
}

/// A session between connections.
#[derive(Debug)]
struct Outage {
    /// The close that ended the last working connection.
    cause: Close,
    since: Instant,
    /// Connection attempts started.
    attempts: u32,
    /// When the next attempt starts (none while one runs).
    next_at: Option<Instant>,
    last_error: Option<String>,
}

pub(super) struct Driver<C> {
    conn: C,
    conn_open: bool,
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
    close_deadline: Option<Instant>,
    wake_at: Option<Instant>,
    transport_error: Option<String>,
    abandoned: bool,
    /// The application asked to close: never resume.
    user_closed: bool,
    /// The current session got its setupComplete.
    ready: bool,
    /// Some connection of this session got its setupComplete.
    ever_ready: bool,
    /// How the session ended for good (the last event).
    closed: Option<Close>,
    resume: Option<Resume<C>>,
    /// A connection attempt in flight.
    connecting: Option<Connecting<C>>,
    /// A command taken while the session moves to a new connection.
    held: Option<(Command, Reply)>,
    /// Turn numbers the last cut sends again.
    resent: Vec<u64>,
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
        reconnect: Option<(ReconnectFn<C>, ResumePolicy)>,
    ) -> Self {
        Self {
            conn,
            conn_open: true,
            session,
            commands,
            commands_open: true,
            events,
            events_open: true,
            pending: VecDeque::new(),
            info,
            recorder,
            event_tap,
            close_deadline: None,
            wake_at: None,
            transport_error: None,
            abandoned: false,
            user_closed: false,
            ready: false,
            ever_ready: false,
            closed: None,
            resume: reconnect.map(|(reconnect, policy)| Resume {
                reconnect,
                policy,
                pacing: Pacing::default(),
                go_away: None,
                rotating: None,
                outage: None,
            }),
            connecting: None,
            held: None,
            resent: Vec::new(),
        }
    }

    pub(super) async fn run(mut self) {
        loop {
            self.drain().await;
            self.publish();
            if self.closed.is_some() && (self.pending.is_empty() || !self.events_open) {
                break;
            }
            if !self.events_open && !self.commands_open && !self.abandoned {
                // Nobody is listening or sending any more: end the session.
                self.abandoned = true;
                self.user_closed = true;
                if self.moving() {
                    self.end_move(Close::from_wire(1000, ""));
                } else {
                    self.session.close(Instant::now().into_std());
                }
                continue;
            }
            if !self.moving()
                && let Some((command, reply)) = self.held.take()
            {
                self.apply(command, reply).await;
                continue;
            }
            let rotate_at = self.rotation_at();
            if rotate_at.is_some_and(|at| at <= Instant::now()) {
                self.rotate();
                continue;
            }
            let (attempt_at, outage_end) = self
                .resume
                .as_ref()
                .and_then(|r| Some((r.outage.as_ref()?, r.policy.max_outage)))
                .map_or((None, None), |(o, budget)| {
                    (o.next_at, o.since.checked_add(budget))
                });
            let wake = [
                self.wake_at,
                self.close_deadline,
                rotate_at,
                attempt_at,
                outage_end,
            ]
            .into_iter()
            .flatten()
            .min();
            let read_socket = self.conn_open && self.pending.is_empty();
            let take_commands = self.commands_open && self.held.is_none();
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
                command = self.commands.recv(), if take_commands => Step::Command(command),
                incoming = self.conn.recv(), if read_socket => Step::Incoming(incoming),
                conn = finish_opt(&mut self.connecting), if self.connecting.is_some() => Step::Connected(conn),
                () = sleep_until_opt(wake) => Step::Timer,
            };
            match step {
                Step::Delivered => {}
                Step::EventsGone => {
                    self.events_open = false;
                    self.pending.clear();
                }
                Step::Command(Some((command, reply))) => {
                    if self.moving() {
                        self.hold(command, reply);
                    } else {
                        self.apply(command, reply).await;
                    }
                }
                Step::Command(None) => self.commands_open = false,
                Step::Incoming(incoming) => self.on_incoming(incoming),
                Step::Connected(conn) => self.on_connected(conn),
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
                Output::Event(Event::Closed(close)) => self.on_closed(close).await,
                Output::Event(event) => {
                    self.observe(&event);
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
        let closed = self.closed.as_ref();
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
        if let Some(close) = &self.closed {
            let _ = reply.send(Err(Error::Closed(close.clone())));
            return;
        }
        self.transport_error = None;
        let turns_before = self.session.turns_sent();
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
        // A turn starts its stall clock now.
        self.session.handle_timeout(Instant::now().into_std());
        let result = result.map_err(Error::from);
        // Hand the frame to the connection before answering, so that
        // `send_*().await` means "on the wire" and applies backpressure.
        self.drain().await;
        let turn = self.session.turns_sent();
        let result = match (result, self.transport_error.take()) {
            // The frame died with the connection, and the session sends it again on the next.
            (Ok(()), Some(_)) if turn > turns_before && self.resent.contains(&turn) => Ok(()),
            (Ok(()), Some(reason)) => Err(Error::ConnectionLost(reason)),
            (result, _) => result,
        };
        let _ = reply.send(result);
    }

    /// Keeps a command that came while the session moves to a new connection; a close ends the
    /// move (and the session) at once.
    fn hold(&mut self, command: Command, reply: Reply) {
        if !matches!(command, Command::Close) {
            self.held = Some((command, reply));
            return;
        }
        self.user_closed = true;
        if self.resume.as_ref().is_some_and(|r| r.outage.is_some()) {
            self.end_move(Close::from_wire(1000, ""));
        }
        // Leaving for a goAway: the answering close now ends the session.
        let _ = reply.send(Ok(()));
    }

    /// Tracks what automatic resumption needs to know about the session.
    fn observe(&mut self, event: &Event) {
        let now = Instant::now();
        match event {
            Event::SetupComplete { .. } => {
                self.ready = true;
                self.ever_ready = true;
                if let Some(r) = &mut self.resume {
                    r.pacing.ready(now);
                    r.outage = None;
                }
            }
            Event::GoAway {
                deadline,
                time_left,
            } => {
                if let Some(r) = &mut self.resume
                    && !self.user_closed
                {
                    r.go_away = Some(GoAway {
                        deadline: Instant::from_std(*deadline),
                        time_left: *time_left,
                    });
                }
            }
            Event::TurnComplete { status, .. } if ends_interaction(status.as_ref()) => {
                if let Some(r) = &mut self.resume {
                    r.pacing.progress();
                }
            }
            _ => {}
        }
    }

    /// Whether the session is moving to a new connection (commands wait meanwhile).
    fn moving(&self) -> bool {
        self.resume
            .as_ref()
            .is_some_and(|r| r.outage.is_some() || r.rotating.is_some())
    }

    /// When to leave the current connection for a goAway: once no turn is open (but not sooner
    /// than a new connection would be paced), or shortly before the deadline.
    fn rotation_at(&self) -> Option<Instant> {
        let r = self.resume.as_ref()?;
        let go_away = r.go_away?;
        if r.rotating.is_some()
            || r.outage.is_some()
            || !self.conn_open
            || self.session.resumption_handle().is_none()
        {
            // Without a handle, leaving would end the session: stay until the server ends it.
            return None;
        }
        let margin = GO_AWAY_MARGIN.min(go_away.time_left / 2);
        let latest = go_away
            .deadline
            .checked_sub(margin)
            .unwrap_or(go_away.deadline);
        if self.session.turn_open() {
            return Some(latest);
        }
        Some(
            r.pacing
                .earliest_rotation(Instant::now(), &r.policy)
                .min(latest),
        )
    }

    /// Leaves the current connection for a goAway; the answering close resumes on a new one.
    fn rotate(&mut self) {
        if let Some(r) = &mut self.resume
            && let Some(go_away) = r.go_away.take()
        {
            r.rotating = Some(go_away.time_left);
            self.session.close(Instant::now().into_std());
        }
    }

    /// The session ended on its connection: resume on a new one, or end it for good.
    async fn on_closed(&mut self, close: Close) {
        let now = Instant::now();
        let planned = self.resume.as_mut().and_then(|r| r.rotating.take());
        let was_ready = std::mem::take(&mut self.ready);
        let resume = self.may_resume(&close);
        if let Some(r) = &mut self.resume {
            r.go_away = None;
            if was_ready {
                r.pacing.ended(now, planned.is_some(), &r.policy);
            } else if r.outage.is_some() {
                r.pacing.failed();
            }
        }
        if !self.user_closed {
            let limit = match (&resume, &self.resume) {
                (Ok(()), Some(r)) => r.policy.resend_limit,
                _ => 0,
            };
            if let Some(Event::TurnCut { cause, turns }) = self.session.cut_turn(limit) {
                let cause = planned.map_or(cause, Close::go_away_deadline);
                self.resent = turns
                    .iter()
                    .filter(|t| t.resent)
                    .map(|t| t.number)
                    .collect();
                self.deliver(Event::TurnCut { cause, turns });
            }
        }
        match resume {
            Ok(()) => {
                // Google refuses a resume while the old connection is still open.
                if self.conn_open {
                    self.conn_open = false;
                    self.conn.shutdown().await;
                }
                self.close_deadline = None;
                let Some(r) = &mut self.resume else { return };
                match &mut r.outage {
                    Some(outage) => outage.last_error = Some(close.to_string()),
                    None => {
                        r.outage = Some(Outage {
                            cause: close,
                            since: now,
                            attempts: 0,
                            next_at: None,
                            last_error: None,
                        });
                    }
                }
                self.schedule(now, planned.is_some());
            }
            Err(end) => {
                if let Some(r) = &mut self.resume {
                    r.outage = None;
                }
                self.finish(end);
            }
        }
    }

    /// Whether `close` can be repaired by resuming on a new connection; otherwise the close
    /// that ends the session.
    fn may_resume(&self, close: &Close) -> Result<(), Close> {
        if self.resume.is_none() || self.user_closed || !close.retriable || !self.ever_ready {
            return Err(close.clone());
        }
        if self.session.resumption_handle().is_none() {
            // Never a fresh session in place of the old one: its history would be gone.
            return Err(Close::resume_failed(
                close,
                "not resumed: the server had sent no resumable handle yet",
            ));
        }
        Ok(())
    }

    /// Plans the next connection attempt of the outage, or gives up.
    fn schedule(&mut self, now: Instant, planned: bool) {
        let Some(r) = &mut self.resume else { return };
        let Some(outage) = &mut r.outage else { return };
        let elapsed = now.saturating_duration_since(outage.since);
        let delay = if planned && outage.attempts == 0 {
            // A rotation was already paced.
            Duration::ZERO
        } else {
            r.policy.jittered(r.pacing.level(), random_fraction())
        };
        // No attempt that could not start within the budget.
        if r.pacing.failures() >= r.policy.max_attempts
            || elapsed.saturating_add(delay) >= r.policy.max_outage
        {
            self.give_up(now);
            return;
        }
        outage.next_at = Some(now + delay);
        let event = Event::Reconnecting {
            cause: outage.cause.clone(),
            attempt: outage.attempts + 1,
            delay,
        };
        tracing::debug!(
            attempt = outage.attempts + 1,
            ?delay,
            "resuming after {}",
            outage.cause
        );
        self.deliver(event);
    }

    fn start_attempt(&mut self) {
        let Some(r) = &mut self.resume else { return };
        let Some(outage) = &mut r.outage else { return };
        outage.next_at = None;
        outage.attempts += 1;
        self.connecting = Some((r.reconnect)());
    }

    fn on_connected(&mut self, conn: Result<C, Error>) {
        self.connecting = None;
        let now = Instant::now();
        let attempt = conn.and_then(|conn| {
            let next = self.session.next_connection(now.into_std())?;
            Ok((conn, next))
        });
        match attempt {
            Ok((conn, next)) => {
                self.conn = conn;
                self.conn_open = true;
                self.session = next;
                self.close_deadline = None;
            }
            Err(e) => {
                tracing::debug!("reconnecting to resume failed: {e}");
                if let Some(r) = &mut self.resume {
                    r.pacing.failed();
                    if let Some(outage) = &mut r.outage {
                        outage.last_error = Some(e.to_string());
                    }
                }
                self.schedule(now, false);
            }
        }
    }

    /// The outage outlasted the policy's budget: the session ends with a close that says so.
    fn give_up(&mut self, now: Instant) {
        let Some(outage) = self.resume.as_ref().and_then(|r| r.outage.as_ref()) else {
            return;
        };
        let why = format!(
            "gave up resuming after {} attempt{} in {:.1} s{}",
            outage.attempts,
            if outage.attempts == 1 { "" } else { "s" },
            now.saturating_duration_since(outage.since).as_secs_f64(),
            outage
                .last_error
                .as_ref()
                .map(|e| format!("; the last one: {e}"))
                .unwrap_or_default()
        );
        let close = Close::resume_failed(&outage.cause, &why);
        self.end_move(close);
    }

    /// Ends a move to a new connection and the session with it.
    fn end_move(&mut self, close: Close) {
        self.connecting = None;
        if let Some(r) = &mut self.resume {
            r.outage = None;
            r.rotating = None;
        }
        self.finish(close);
    }

    /// The session is over: `close` is its last event.
    fn finish(&mut self, close: Close) {
        if let Some((_, reply)) = self.held.take() {
            let _ = reply.send(Err(Error::Closed(close.clone())));
        }
        self.closed = Some(close.clone());
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
        if let Some(r) = &self.resume
            && let Some(outage) = &r.outage
        {
            if now.saturating_duration_since(outage.since) >= r.policy.max_outage {
                // An attempt still in flight is abandoned.
                self.give_up(now);
                return;
            }
            if outage.next_at.is_some_and(|at| now >= at) {
                self.start_attempt();
                return;
            }
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

async fn finish_opt<F: Future + Unpin>(future: &mut Option<F>) -> F::Output {
    match future {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}
