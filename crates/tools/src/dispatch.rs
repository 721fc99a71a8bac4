//! The dispatcher: answers a session's tool calls with the registry's handlers.
//!
//! It is fed the session's events (by an [`EventTap`] or by the application's loop through an
//! [`EventFeed`]), runs each call on its own task, sends the `toolResponse` with the call's id,
//! aborts a call on `toolCallCancellation` (no response is sent for it), and streams partial
//! results of NON_BLOCKING calls with `willContinue`. It reports what it does as [`ToolEvent`]s.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use protocol::wire::{FunctionCall, FunctionDeclaration, FunctionResponse, Scheduling};
use protocol::{Event, Misuse};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use transport::{EventTap, LiveSender, WeakLiveSender};

use crate::tool::{CallContext, Tool, ToolError, UpdateSink};

/// A tool as declared in one session.
pub(crate) struct Entry {
    /// The name the model calls it by.
    pub(crate) declared: String,
    pub(crate) tool: Tool,
    /// Whether its calls are NON_BLOCKING; `None` when the model is unknown and the tool left
    /// the behavior to the server.
    pub(crate) non_blocking: Option<bool>,
}

/// The registry resolved for one session (model and backend).
pub(crate) struct Plan {
    pub(crate) entries: Vec<Entry>,
    pub(crate) by_name: HashMap<String, usize>,
    /// Functions the setup declares that no tool answers: the application answers them.
    pub(crate) foreign: HashSet<String>,
    /// `willContinue` is allowed (Gemini API).
    pub(crate) streaming: bool,
    pub(crate) declarations: Vec<FunctionDeclaration>,
}

/// What the dispatcher did, for the application to show.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ToolEvent {
    /// A call started running.
    Started {
        /// The call's id.
        id: Option<String>,
        /// The declared function name.
        name: String,
        /// Its arguments.
        args: Value,
    },
    /// A result was sent to the model.
    Responded {
        /// The call's id.
        id: Option<String>,
        /// The declared function name.
        name: String,
        /// The `response` object sent.
        response: Value,
        /// A partial result: more follow (`willContinue`).
        will_continue: bool,
    },
    /// A call was cancelled and will not be answered: the server cancelled it (the user
    /// interrupted), or the session ended while it ran.
    Cancelled {
        /// The call's id.
        id: Option<String>,
        /// The declared function name.
        name: String,
    },
    /// A call failed. Unless the session is over, the model was sent `{"error": error}`.
    Failed {
        /// The call's id.
        id: Option<String>,
        /// The declared function name.
        name: String,
        /// What went wrong.
        error: String,
    },
}

/// The dispatcher's events, in order. Ends when the session has ended and every call is done.
#[derive(Debug)]
pub struct ToolEvents {
    rx: mpsc::UnboundedReceiver<ToolEvent>,
    /// Calls started and not finished, by the events read so far (id, or name without id).
    running: HashSet<String>,
}

impl ToolEvents {
    /// The next event; `None` once the dispatcher has stopped.
    pub async fn next(&mut self) -> Option<ToolEvent> {
        let event = self.rx.recv().await;
        self.track(event.as_ref());
        event
    }

    /// An event if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<ToolEvent> {
        let event = self.rx.try_recv().ok();
        self.track(event.as_ref());
        event
    }

    /// How many calls have started and not yet been answered, cancelled or failed, going by
    /// the events read so far (an application that waits for its tools before it ends).
    pub fn running(&self) -> usize {
        self.running.len()
    }

    fn track(&mut self, event: Option<&ToolEvent>) {
        let key = |id: &Option<String>, name: &str| id.clone().unwrap_or_else(|| name.to_owned());
        match event {
            Some(ToolEvent::Started { id, name, .. }) => {
                self.running.insert(key(id, name));
            }
            Some(
                ToolEvent::Responded {
                    id,
                    name,
                    will_continue: false,
                    ..
                }
                | ToolEvent::Cancelled { id, name }
                | ToolEvent::Failed { id, name, .. },
            ) => {
                self.running.remove(&key(id, name));
            }
            _ => {}
        }
    }
}

pub(crate) enum Input {
    Calls(Vec<FunctionCall>),
    Cancel(Vec<String>),
    Closed,
    Update {
        key: String,
        response: Value,
        scheduling: Option<Scheduling>,
    },
    Done {
        key: String,
        result: Result<Value, ToolError>,
    },
}

/// Hands a session's events to a [`Dispatcher`]. Cheap to clone; never blocks.
#[derive(Clone, Debug)]
pub struct EventFeed {
    tx: mpsc::UnboundedSender<Input>,
}

impl EventFeed {
    /// Passes on what the dispatcher needs from `event` (tool calls, cancellations, the end of
    /// the session) and ignores the rest.
    pub fn handle(&self, event: &Event) {
        let input = match event {
            Event::ToolCall { calls } => Input::Calls(calls.clone()),
            Event::ToolCallCancellation { ids } => Input::Cancel(ids.clone()),
            Event::Closed(_) => Input::Closed,
            _ => return,
        };
        let _ = self.tx.send(input);
    }
}

/// Answers the tool calls of one session. Made by [`Tools::declare`](crate::Tools::declare).
///
/// Driven automatically, it takes the session's events from an [`EventTap`]
/// ([`Dispatcher::event_tap`]): the application's receive loop still sees every `ToolCall`, but
/// does not answer it. Driven from the application's own loop, an [`EventFeed`]
/// ([`Dispatcher::feed`]) is handed each event. Either way [`Dispatcher::start`] runs it with
/// the session's sender. To answer calls entirely by hand, use [`Dispatcher::answer`].
pub struct Dispatcher {
    plan: Arc<Plan>,
    tx: mpsc::UnboundedSender<Input>,
    rx: mpsc::UnboundedReceiver<Input>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field(
                "tools",
                &self
                    .plan
                    .entries
                    .iter()
                    .map(|e| e.declared.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn new(plan: Plan) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            plan: Arc::new(plan),
            tx,
            rx,
        }
    }

    #[cfg(test)]
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The function declarations added to the setup, as sent.
    pub fn declarations(&self) -> &[FunctionDeclaration] {
        &self.plan.declarations
    }

    /// Whether calls of function `name` are NON_BLOCKING in this session (the model goes on,
    /// and reacts to the result in a later turn); `None` when this dispatcher does not answer
    /// it, or the model is unknown and decides by itself.
    ///
    /// ```
    /// use gemlive_tools::{Tool, Tools};
    /// use gemlive_tools::protocol::{Backend, wire::Setup};
    ///
    /// let tools = Tools::new().with(Tool::command("uptime", "", "uptime -p"));
    /// let mut setup = Setup::new("gemini-3.8-live");
    /// let dispatcher = tools.declare(&mut setup, Backend::GeminiApi)?;
    /// assert_eq!(dispatcher.non_blocking("uptime"), Some(true));
    /// assert_eq!(dispatcher.non_blocking("other"), None);
    /// # Ok::<(), gemlive_tools::DeclareError>(())
    /// ```
    pub fn non_blocking(&self, name: &str) -> Option<bool> {
        let &i = self.plan.by_name.get(name)?;
        self.plan.entries[i].non_blocking
    }

    /// Every function this dispatcher answers: its declared name and its tool (where it comes
    /// from, its description and parameters), in declaration order.
    pub fn tools(&self) -> impl Iterator<Item = (&str, &Tool)> {
        self.plan
            .entries
            .iter()
            .map(|e| (e.declared.as_str(), &e.tool))
    }

    /// An [`EventTap`] feeding this dispatcher (set it as `ClientConfig::event_tap`). To keep a
    /// tap of your own too, call [`EventFeed::handle`] from it instead.
    pub fn event_tap(&self) -> EventTap {
        let feed = self.feed();
        EventTap::new(move |event| feed.handle(event))
    }

    /// A feed for the application's own receive loop: hand it every event.
    pub fn feed(&self) -> EventFeed {
        EventFeed {
            tx: self.tx.clone(),
        }
    }

    /// Starts answering calls through `sender` on a task of the current tokio runtime. Calls
    /// that arrived before are answered too. The dispatcher does not keep the session alive:
    /// it stops at the session's `Closed` event, or when the application has dropped every
    /// sender.
    pub fn start(self, sender: &LiveSender) -> ToolEvents {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let run = Run {
            plan: self.plan,
            sender: sender.downgrade(),
            tx: self.tx,
            events: events_tx,
            running: HashMap::new(),
        };
        tokio::spawn(run.run(self.rx));
        ToolEvents {
            rx: events_rx,
            running: HashSet::new(),
        }
    }

    /// Runs one call to its end and returns the response to send, for applications that
    /// answer calls themselves. `None` when no tool of this registry answers `call.name` (a
    /// function declared by the application). Partial results are not streamed this way.
    pub async fn answer(&self, call: &FunctionCall) -> Option<FunctionResponse> {
        let response = match self.plan.by_name.get(&call.name) {
            Some(&i) => {
                let entry = &self.plan.entries[i];
                let context = CallContext::detached(call.id.clone(), &entry.declared);
                let result = execute(entry, call.args.clone(), context).await;
                respond(entry, call.id.clone(), result, None, false, false)
            }
            None if self.plan.foreign.contains(&call.name) => return None,
            None => unknown(call),
        };
        Some(response)
    }
}

enum Unsent {
    /// The session no longer waits for the call (cancelled as it finished).
    NotPending,
    /// The session has ended, or the application dropped it.
    SessionOver,
    Error(String),
}

struct Running {
    id: Option<String>,
    entry: usize,
    abort: AbortHandle,
    /// Partial results were sent: the last one says `willContinue: false`.
    streamed: bool,
}

struct Run {
    plan: Arc<Plan>,
    sender: WeakLiveSender,
    tx: mpsc::UnboundedSender<Input>,
    events: mpsc::UnboundedSender<ToolEvent>,
    running: HashMap<String, Running>,
}

impl Run {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        while let Some(input) = rx.recv().await {
            match input {
                Input::Calls(calls) => {
                    for call in calls {
                        self.start(call).await;
                    }
                }
                Input::Cancel(ids) => {
                    for id in ids {
                        if let Some(run) = self.running.remove(&id) {
                            run.abort.abort();
                            self.cancelled(&run);
                        }
                    }
                }
                Input::Update {
                    key,
                    response,
                    scheduling,
                } => self.update(key, response, scheduling).await,
                Input::Done { key, result } => self.done(key, result).await,
                Input::Closed => break,
            }
            if self.sender.upgrade().is_none() {
                break;
            }
        }
        for (_, run) in self.running.drain() {
            run.abort.abort();
            let entry = &self.plan.entries[run.entry];
            let _ = self.events.send(ToolEvent::Cancelled {
                id: run.id,
                name: entry.declared.clone(),
            });
        }
    }

    async fn start(&mut self, call: FunctionCall) {
        let key = call.key().to_owned();
        let Some(&index) = self.plan.by_name.get(&call.name) else {
            if self.plan.foreign.contains(&call.name) {
                tracing::debug!(name = %call.name, "a call for the application");
                return;
            }
            let response = unknown(&call);
            let error = response
                .response
                .as_ref()
                .and_then(|r| r["error"].as_str())
                .unwrap_or_default()
                .to_owned();
            self.emit(ToolEvent::Failed {
                id: call.id.clone(),
                name: call.name.clone(),
                error,
            });
            if let Err(Unsent::Error(e)) = self.send(response).await {
                tracing::warn!(name = %call.name, "an error result could not be sent: {e}");
            }
            return;
        };
        let plan = Arc::clone(&self.plan);
        let entry = &plan.entries[index];
        let args = call.args.unwrap_or_else(|| json!({}));
        self.emit(ToolEvent::Started {
            id: call.id.clone(),
            name: entry.declared.clone(),
            args: args.clone(),
        });
        let streams = plan.streaming && entry.non_blocking == Some(true);
        let context = CallContext {
            id: call.id.clone(),
            name: entry.declared.clone(),
            updates: streams.then(|| UpdateSink {
                key: key.clone(),
                tx: self.tx.clone(),
            }),
        };
        let tx = self.tx.clone();
        let done_key = key.clone();
        let task = tokio::spawn(async move {
            let entry = &plan.entries[index];
            let result = execute(entry, Some(args), context).await;
            let _ = tx.send(Input::Done {
                key: done_key,
                result,
            });
        });
        let previous = self.running.insert(
            key,
            Running {
                id: call.id,
                entry: index,
                abort: task.abort_handle(),
                streamed: false,
            },
        );
        if let Some(previous) = previous {
            // The server reused an id: the newer call replaces the older one.
            previous.abort.abort();
            self.cancelled(&previous);
        }
    }

    async fn update(&mut self, key: String, response: Value, scheduling: Option<Scheduling>) {
        let Some(run) = self.running.get_mut(&key) else {
            return;
        };
        run.streamed = true;
        let entry = &self.plan.entries[run.entry];
        let message = respond(entry, run.id.clone(), Ok(response), scheduling, true, false);
        let (id, name) = (run.id.clone(), entry.declared.clone());
        let response = message.response.clone().unwrap_or_default();
        match self.send(message).await {
            Ok(()) => self.emit(ToolEvent::Responded {
                id,
                name,
                response,
                will_continue: true,
            }),
            Err(failure) => self.unsent(id, name, failure),
        }
    }

    async fn done(&mut self, key: String, result: Result<Value, ToolError>) {
        // Not running any more: cancelled while it finished.
        let Some(run) = self.running.remove(&key) else {
            return;
        };
        let entry = &self.plan.entries[run.entry];
        let name = entry.declared.clone();
        let failure = result.as_ref().err().map(|e| e.0.clone());
        let message = respond(entry, run.id.clone(), result, None, false, run.streamed);
        let response = message.response.clone().unwrap_or_default();
        if let Err(failure) = self.send(message).await {
            self.unsent(run.id, name, failure);
            return;
        }
        self.emit(match failure {
            Some(error) => ToolEvent::Failed {
                id: run.id,
                name,
                error,
            },
            None => ToolEvent::Responded {
                id: run.id,
                name,
                response,
                will_continue: false,
            },
        });
    }

    async fn send(&self, response: FunctionResponse) -> Result<(), Unsent> {
        let sender = self.sender.upgrade().ok_or(Unsent::SessionOver)?;
        match sender.send_tool_response(vec![response]).await {
            Ok(()) => Ok(()),
            Err(transport::Error::Protocol(protocol::Error::Misuse(Misuse::UnknownToolCall(
                _,
            )))) => Err(Unsent::NotPending),
            Err(_) if sender.is_closed() => Err(Unsent::SessionOver),
            Err(e) => Err(Unsent::Error(e.to_string())),
        }
    }

    /// A result that could not be sent: the call was cancelled as it finished, the session is
    /// over (both: [`ToolEvent::Cancelled`]), or sending failed.
    fn unsent(&self, id: Option<String>, name: String, failure: Unsent) {
        self.emit(match failure {
            Unsent::NotPending | Unsent::SessionOver => ToolEvent::Cancelled { id, name },
            Unsent::Error(e) => ToolEvent::Failed {
                id,
                name,
                error: format!("the result could not be sent: {e}"),
            },
        });
    }

    fn cancelled(&self, run: &Running) {
        self.emit(ToolEvent::Cancelled {
            id: run.id.clone(),
            name: self.plan.entries[run.entry].declared.clone(),
        });
    }

    fn emit(&self, event: ToolEvent) {
        let _ = self.events.send(event);
    }
}

/// Runs a tool's handler with its timeout; a panic in it is an error result.
async fn execute(
    entry: &Entry,
    args: Option<Value>,
    context: CallContext,
) -> Result<Value, ToolError> {
    let args = match args {
        Some(Value::Null) | None => json!({}),
        Some(a) => a,
    };
    let name = &entry.declared;
    let call = match catch_unwind(AssertUnwindSafe(|| entry.tool.handler.call(args, context))) {
        Ok(call) => AssertUnwindSafe(call).catch_unwind(),
        Err(panic) => return Err(panicked(name, &*panic)),
    };
    let outcome = match entry.tool.timeout {
        Some(limit) => match tokio::time::timeout(limit, call).await {
            Ok(outcome) => outcome,
            Err(_) => return Err(timed_out(name, limit)),
        },
        None => call.await,
    };
    outcome.unwrap_or_else(|panic| Err(panicked(name, &*panic)))
}

fn panicked(name: &str, panic: &(dyn Any + Send)) -> ToolError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(tool = name, "the tool panicked: {message}");
    ToolError(format!(
        "{name} failed unexpectedly (it panicked: {message})"
    ))
}

fn timed_out(name: &str, limit: Duration) -> ToolError {
    ToolError(format!(
        "{name} did not finish within {} s and was cancelled",
        limit.as_secs_f64()
    ))
}

/// The response for a result: an object as it is, any other value as `{"result": value}`, an
/// error as `{"error": message}`.
fn respond(
    entry: &Entry,
    id: Option<String>,
    result: Result<Value, ToolError>,
    scheduling: Option<Scheduling>,
    partial: bool,
    streamed: bool,
) -> FunctionResponse {
    let response = match result {
        Ok(v) => result_object(v),
        Err(e) => json!({"error": e.0}),
    };
    let non_blocking = entry.non_blocking == Some(true);
    FunctionResponse {
        id,
        name: Some(entry.declared.clone()),
        response: Some(response),
        scheduling: non_blocking
            .then(|| scheduling.or_else(|| entry.tool.scheduling.clone()))
            .flatten(),
        will_continue: (partial || streamed).then_some(partial),
        ..FunctionResponse::default()
    }
}

pub(crate) fn result_object(v: Value) -> Value {
    match v {
        Value::Object(_) => v,
        other => json!({"result": other}),
    }
}

fn unknown(call: &FunctionCall) -> FunctionResponse {
    FunctionResponse {
        id: call.id.clone(),
        name: Some(call.name.clone()),
        response: Some(json!({
            "error": format!("there is no function named {:?}; call one of the declared functions", call.name)
        })),
        ..FunctionResponse::default()
    }
}
