//! Tools in `chat` and `talk`, and `gemlive mcp list`: the functions `--tools` declares,
//! `--tool-command` commands and the tools of `--mcp`/`--mcp-url` servers, in one
//! `gemlive-tools` registry whose dispatcher answers every call; what it does is shown as it
//! happens.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Result;
use protocol::wire::Setup;
use protocol::{Event, ends_interaction};
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
    /// Calls asked for and not yet answered, failed or cancelled (id, or name without one).
    pending: HashSet<String>,
    /// Functions whose calls are NON_BLOCKING.
    non_blocking: HashSet<String>,
    /// When the latest result of a NON_BLOCKING call went out, until the model answers it in a
    /// turn begun after it.
    reaction_due: Option<Instant>,
    /// When the model's current turn began (its first output).
    turn_began: Option<Instant>,
}

impl Calls {
    /// Starts answering the session's calls.
    pub(crate) fn start(dispatcher: Dispatcher, sender: &transport::LiveSender) -> Self {
        let non_blocking = dispatcher
            .tools()
            .map(|(name, _)| name)
            .filter(|name| dispatcher.non_blocking(name) == Some(true))
            .map(str::to_owned)
            .collect();
        Self {
            events: dispatcher.start(sender),
            pending: HashSet::new(),
            non_blocking,
            reaction_due: None,
            turn_began: None,
        }
    }

    /// Follows the session's events: calls asked for and cancelled, the model's turns.
    pub(crate) fn saw(&mut self, event: &Event) {
        match event {
            Event::ToolCall { calls } => {
                self.pending
                    .extend(calls.iter().map(|c| c.key().to_owned()));
            }
            Event::ToolCallCancellation { ids } => {
                for id in ids {
                    self.pending.remove(id);
                }
            }
            Event::Audio { .. } | Event::OutputTranscript { .. } => {
                self.turn_began.get_or_insert_with(Instant::now);
            }
            Event::Text { thought: false, .. } => {
                self.turn_began.get_or_insert_with(Instant::now);
            }
            Event::TurnComplete { status, .. } if ends_interaction(status.as_ref()) => {
                let began = self.turn_began.take();
                if self
                    .reaction_due
                    .is_some_and(|due| began.is_some_and(|b| b >= due))
                {
                    self.reaction_due = None;
                }
            }
            // A broken connection takes the reaction along (the break is said).
            Event::TurnCut { .. } | Event::Reconnecting { .. } => {
                self.reaction_due = None;
                self.turn_began = None;
            }
            _ => {}
        }
    }

    /// What the dispatcher did next; `None` once it has stopped.
    pub(crate) async fn next(&mut self) -> Option<ToolEvent> {
        let event = self.events.next().await?;
        let done = match &event {
            ToolEvent::Responded {
                id,
                name,
                will_continue: false,
                ..
            }
            | ToolEvent::Failed { id, name, .. } => {
                if self.non_blocking.contains(name) {
                    self.reaction_due = Some(Instant::now());
                }
                Some(id.as_deref().unwrap_or(name))
            }
            ToolEvent::Cancelled { id, name } => Some(id.as_deref().unwrap_or(name)),
            _ => None,
        };
        if let Some(key) = done {
            self.pending.remove(key);
        }
        Some(event)
    }

    /// Calls are running, or the model is yet to react to a result: the session is not done.
    pub(crate) fn busy(&self) -> bool {
        !self.pending.is_empty() || self.reaction_due.is_some()
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
