//! Tools in `chat` and `talk`, and `gemlive mcp list`: the functions `--tools` declares,
//! `--tool-command` commands and the tools of `--mcp`/`--mcp-url` servers, in one
//! `gemlive-tools` registry whose dispatcher answers every call; what it does is shown as it
//! happens.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Result;
use protocol::Event;
use protocol::wire::Setup;
use serde_json::Value;
use tools::{Dispatcher, McpServer, Source, Tool, ToolError, ToolEvent, ToolEvents, Tools};

use crate::args::{McpListArgs, ToolArgs};
use crate::exit::Usage;

/// The registry of the flags' tools; every MCP server is started (`starting` is told which,
/// then `None`) and lists its tools. Functions declared with `--tools` (or `--config`) that no
/// command answers get an error result that says how to answer them.
pub(crate) async fn registry(
    args: &ToolArgs,
    mut starting: impl FnMut(Option<String>),
) -> Result<Tools> {
    let mut tools = Tools::new().fallback(|_, call| async move {
        let name = call.name().to_owned();
        Err(ToolError::new(format!(
            "no command configured for {name} (use --tool-command {name}=COMMAND)"
        )))
    });
    for spec in &args.commands {
        let (name, command) = spec
            .split_once('=')
            .map(|(n, c)| (n.trim(), c.trim()))
            .filter(|(n, c)| !n.is_empty() && !c.is_empty())
            .ok_or_else(|| Usage(format!("--tool-command wants NAME=COMMAND, got {spec:?}")))?;
        tools.add(Tool::command(name, "", command).reuse_declaration());
    }
    let servers = args
        .mcp
        .iter()
        .map(|line| {
            McpServer::command(line)
                .map(|s| (format!("--mcp {line:?}"), "starting", s))
                .map_err(|e| Usage(format!("--mcp {line:?}: {e}")))
        })
        .chain(args.mcp_urls.iter().map(|url| {
            Ok((
                format!("--mcp-url {url}"),
                "connecting to",
                McpServer::http(url),
            ))
        }));
    for server in servers {
        let (flag, doing, server) = server?;
        starting(Some(format!("{doing} the MCP server {}…", server.name())));
        let added = tools.add_mcp(&server).await;
        starting(None);
        if added.map_err(|e| Usage(format!("{flag}: {e}")))? == 0 {
            tracing::warn!("{flag}: the server has no tools");
        }
    }
    Ok(tools)
}

/// Declares `tools` in `setup` by the model's rules; the dispatcher answers their calls.
pub(crate) fn declare(
    tools: &Tools,
    setup: &mut Setup,
    backend: protocol::Backend,
) -> Result<Dispatcher> {
    Ok(tools
        .declare(setup, backend)
        .map_err(|e| Usage(e.to_string()))?)
}

/// The calls of one session, from the model's `toolCall` to the dispatcher's last word on
/// each, and the model's reaction to the results of NON_BLOCKING calls, which comes in a turn of
/// its own: the session is busy until then.
#[derive(Debug)]
pub(crate) struct Calls {
    events: ToolEvents,
    book: Book,
    /// Functions whose calls are NON_BLOCKING.
    non_blocking: HashSet<String>,
    /// How long the model's reaction to a result is waited for, once it is due.
    wait: Duration,
}

/// What the session's calls came to.
#[derive(Debug)]
pub(crate) enum CallNews {
    /// What the dispatcher did.
    Tool(ToolEvent),
    /// The model did not react to a NON_BLOCKING result within the wait: the session is no
    /// longer held for it.
    NoReaction { name: String, waited: Duration },
}

impl Calls {
    /// Starts answering the session's calls; the model's reaction to a NON_BLOCKING result is
    /// waited for at most `wait` once its call's turn has ended.
    pub(crate) fn start(
        dispatcher: Dispatcher,
        sender: &transport::LiveSender,
        wait: Duration,
    ) -> Self {
        let non_blocking = dispatcher
            .tools()
            .map(|(name, _)| name)
            .filter(|name| dispatcher.non_blocking(name) == Some(true))
            .map(str::to_owned)
            .collect();
        Self {
            events: dispatcher.start(sender),
            book: Book::default(),
            non_blocking,
            wait,
        }
    }

    /// Follows the session's events: calls asked for and cancelled, the model's turns.
    pub(crate) fn saw(&mut self, event: &Event) {
        self.book.saw(event);
        self.book.settle(Instant::now(), self.wait);
    }

    /// What the dispatcher did next, or that a reaction did not come; `None` once the
    /// dispatcher has stopped.
    pub(crate) async fn next(&mut self) -> Option<CallNews> {
        let event = tokio::select! {
            event = self.events.next() => event?,
            () = sleep_until(self.book.deadline()) => {
                let name = self.book.give_up(Instant::now())?;
                return Some(CallNews::NoReaction { name, waited: self.wait });
            }
        };
        let finished = match &event {
            ToolEvent::Responded {
                id,
                name,
                will_continue: false,
                ..
            }
            | ToolEvent::Failed { id, name, .. } => {
                Some((id, name, self.non_blocking.contains(name)))
            }
            ToolEvent::Cancelled { id, name } => Some((id, name, false)),
            _ => None,
        };
        if let Some((id, name, reacts)) = finished {
            let key = id.clone().unwrap_or_else(|| name.clone());
            self.book.finished(key, name, reacts);
            self.book.settle(Instant::now(), self.wait);
        }
        Some(CallNews::Tool(event))
    }

    /// Calls are running, or the model is yet to react to a result: the session is not done.
    pub(crate) fn busy(&self) -> bool {
        self.book.busy()
    }
}

/// Where each call stands. The session's events and the dispatcher's come on two channels,
/// read in either order (a quick tool's result is often read before the rest of the turn that
/// called it, sometimes before the call itself), so a call is followed by its place among the
/// session's turns, never by when something was read: the model reacts to a NON_BLOCKING
/// result after the turn that made the call has ended (as `WHEN_IDLE` says), in the turn that
/// ends next.
#[derive(Debug, Default)]
struct Book {
    /// Calls not yet settled, by id (or name without one).
    calls: HashMap<String, Call>,
    /// Model turns ended so far (a `turnComplete` each).
    turns_ended: u64,
}

/// One call, as far as the session's events and the dispatcher's have told.
#[derive(Debug, Default)]
struct Call {
    name: String,
    /// The session asked for it: its reaction, if any, is the turn that ends when
    /// `turns_ended` reaches this (the call's own turn ends first).
    reaction_turn: Option<u64>,
    /// The dispatcher has had its last word (result, error or cancellation).
    done: bool,
    /// A result of a NON_BLOCKING call was sent: the model reacts to it.
    reacts: bool,
    /// When the wait for the reaction gives up (set once the call's turn has ended).
    deadline: Option<Instant>,
}

impl Book {
    fn saw(&mut self, event: &Event) {
        match event {
            Event::ToolCall { calls } => {
                for c in calls {
                    let call = self.calls.entry(c.key().to_owned()).or_default();
                    call.name.clone_from(&c.name);
                    call.reaction_turn = Some(self.turns_ended + 2);
                }
            }
            Event::ToolCallCancellation { ids } => {
                for id in ids {
                    self.calls.remove(id);
                }
            }
            // Each one, `IN_PROGRESS` too: the call's turn may end with it, the async work
            // (the call) under way.
            Event::TurnComplete { .. } => self.turns_ended += 1,
            // A broken connection takes the turns under way along (the break is said): a
            // result sent is not reacted to, one still to come is reacted to next.
            Event::TurnCut { .. } | Event::Reconnecting { .. } => {
                self.calls.retain(|_, c| !c.done);
                for call in self.calls.values_mut() {
                    call.reaction_turn = Some(self.turns_ended + 1);
                }
            }
            _ => {}
        }
    }

    /// The dispatcher's last word on call `key`: `reacts` when the model reacts to it.
    fn finished(&mut self, key: String, name: &str, reacts: bool) {
        let call = self.calls.entry(key).or_default();
        call.name = name.to_owned();
        call.done = true;
        call.reacts = reacts;
    }

    /// Lets go of the calls that are over; starts the wait for the reactions that are due.
    fn settle(&mut self, now: Instant, wait: Duration) {
        let ended = self.turns_ended;
        self.calls.retain(|_, c| {
            match c.reaction_turn {
                // Finished before the session's `toolCall` was read: it comes.
                None => true,
                Some(_) if !c.done => true,
                Some(turn) if !c.reacts || ended >= turn => false,
                Some(turn) => {
                    if ended + 1 >= turn {
                        c.deadline.get_or_insert(now + wait);
                    }
                    true
                }
            }
        });
    }

    /// When the first wait for a reaction gives up.
    fn deadline(&self) -> Option<Instant> {
        self.calls.values().filter_map(|c| c.deadline).min()
    }

    /// Stops waiting for a reaction whose time is up: the call's name.
    fn give_up(&mut self, now: Instant) -> Option<String> {
        let key = self
            .calls
            .iter()
            .find(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())?;
        self.calls.remove(&key).map(|c| c.name)
    }

    fn busy(&self) -> bool {
        !self.calls.is_empty()
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// `gemlive mcp list`.
pub(crate) async fn list(args: McpListArgs) -> Result<()> {
    let tools = registry(&args.tools, |starting| {
        if let Some(what) = starting {
            eprintln!("{what}");
        }
    })
    .await?;
    let mut setup = crate::setup::with_declarations(&args.model, &args.tools)?;
    let dispatcher = declare(&tools, &mut setup, protocol::Backend::GeminiApi)?;
    if args.json {
        let declarations = setup
            .tools
            .iter()
            .flatten()
            .flat_map(|t| t.function_declarations.iter().flatten())
            .collect::<Vec<_>>();
        crate::say(&serde_json::to_string_pretty(&declarations)?);
        return Ok(());
    }
    let declared: Vec<_> = setup
        .tools
        .iter()
        .flatten()
        .flat_map(|t| t.function_declarations.iter().flatten())
        .collect();
    if declared.is_empty() {
        crate::say("no tools: give --mcp, --mcp-url, --tools or --tool-command");
        return Ok(());
    }
    crate::say(&format!(
        "{} function{} declared for {}:",
        declared.len(),
        if declared.len() == 1 { "" } else { "s" },
        args.model
    ));
    for d in declared {
        let from = dispatcher
            .tools()
            .find(|(name, _)| *name == d.name)
            .map_or_else(String::new, |(_, tool)| origin(tool));
        crate::say(&format!("  {}  ({from})", d.name));
        if let Some(text) = d.description.as_deref().and_then(|t| t.lines().next()) {
            crate::say(&format!("      {text}"));
        }
        let params = d
            .parameters
            .as_ref()
            .map(|p| serde_json::to_value(p).unwrap_or_default());
        let list = params.as_ref().map(parameters).unwrap_or_default();
        if !list.is_empty() {
            crate::say(&format!("      parameters: {list}"));
        }
    }
    Ok(())
}

/// Where a tool comes from, in a few words.
fn origin(tool: &Tool) -> String {
    if tool.name().is_empty() {
        // The fallback, for a function declared by --tools that no command answers.
        return "declared by --tools; no --tool-command answers it".to_owned();
    }
    match tool.source() {
        Source::Mcp { server, tool } => format!("MCP server {server}, tool {tool}"),
        Source::Command { command } => format!("runs {command}"),
        _ => "built in".to_owned(),
    }
}

/// `name: type (required), ...` of declared parameters (the OpenAPI subset).
fn parameters(schema: &Value) -> String {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| {
                    let kind = p["type"].as_str().unwrap_or("any").to_ascii_lowercase();
                    let required = if required.contains(&name.as_str()) {
                        ", required"
                    } else {
                        ""
                    };
                    format!("{name} ({kind}{required})")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::wire::FunctionCall;

    const WAIT: Duration = Duration::from_secs(5);

    fn call(id: &str) -> Event {
        Event::ToolCall {
            calls: vec![FunctionCall {
                id: Some(id.into()),
                name: "echo".into(),
                ..FunctionCall::default()
            }],
        }
    }

    fn turn_complete() -> Event {
        Event::TurnComplete {
            reason: None,
            status: None,
        }
    }

    /// Feeds the session's events and the dispatcher's last word (at `result`, an index into
    /// `events`) in that order; whether the book is busy after each step.
    fn busy_after(events: &[Event], result: usize) -> Vec<bool> {
        let mut book = Book::default();
        let now = Instant::now();
        let mut busy = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if i == result {
                book.finished("fc_1".into(), "echo", true);
                book.settle(now, WAIT);
            }
            book.saw(event);
            book.settle(now, WAIT);
            busy.push(book.busy());
        }
        busy
    }

    #[test]
    fn a_non_blocking_result_is_reacted_to_in_the_turn_after_the_call_whatever_the_order_read() {
        // The call's turn ("I have started echo."), then the model's reaction in a turn of its
        // own. Busy until the reaction's end however early or late the result was read.
        let events = [call("fc_1"), turn_complete(), turn_complete()];
        for result in 0..events.len() {
            assert_eq!(
                busy_after(&events, result),
                [true, true, false],
                "result read before event {result}"
            );
        }
        // Read after everything: not busy once it is.
        let mut book = Book::default();
        for e in &events {
            book.saw(e);
        }
        book.finished("fc_1".into(), "echo", true);
        book.settle(Instant::now(), WAIT);
        assert!(!book.busy());
    }

    #[test]
    fn the_wait_for_a_reaction_starts_when_the_calls_turn_ends_and_gives_up() {
        let mut book = Book::default();
        let t0 = Instant::now();
        book.saw(&call("fc_1"));
        book.finished("fc_1".into(), "echo", true);
        book.settle(t0, WAIT);
        assert_eq!(book.deadline(), None, "the call's turn goes on");
        book.saw(&turn_complete());
        book.settle(t0, WAIT);
        assert_eq!(book.deadline(), Some(t0 + WAIT));
        assert_eq!(book.give_up(t0), None);
        assert_eq!(book.give_up(t0 + WAIT).as_deref(), Some("echo"));
        assert!(!book.busy());
    }

    #[test]
    fn blocking_cancelled_and_cut_calls_are_not_waited_for() {
        // A BLOCKING call's result continues its own turn: nothing more is owed.
        let mut book = Book::default();
        book.saw(&call("fc_1"));
        assert!(book.busy());
        book.finished("fc_1".into(), "echo", false);
        book.settle(Instant::now(), WAIT);
        assert!(!book.busy());
        // The server cancelled it: no result, no reaction.
        book.saw(&call("fc_2"));
        book.saw(&Event::ToolCallCancellation {
            ids: vec!["fc_2".into()],
        });
        assert!(!book.busy());
        // A break takes a result's reaction along.
        book.saw(&call("fc_1"));
        book.finished("fc_1".into(), "echo", true);
        book.saw(&Event::Reconnecting {
            cause: protocol::Close::stalled(WAIT),
            attempt: 1,
            delay: Duration::ZERO,
        });
        book.settle(Instant::now(), WAIT);
        assert!(!book.busy());
    }
}
