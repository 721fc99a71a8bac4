//! Tool calling for Gemini Live sessions: typed Rust functions, shell commands and MCP servers'
//! tools behind one dispatcher.
//!
//! * [`Tool`]s of every kind go into a [`Tools`] registry: [`Tool::typed`] (an async function
//!   whose argument type derives `Deserialize` and `schemars::JsonSchema`), [`Tool::command`]
//!   (`sh -c`), [`Tool::raw`] (JSON in, JSON out), and with the `mcp` feature every tool of
//!   an MCP server (`Tools::add_mcp`, stdio or streamable HTTP, on the official `rmcp` SDK).
//! * [`Tools::declare`] adds their `functionDeclarations` to the setup by the model's rules
//!   (valid unique names, the OpenAPI-subset schema, `behavior` and NON_BLOCKING support per
//!   model) and returns a [`Dispatcher`].
//! * The dispatcher answers every `toolCall`: each call runs on its own task, its
//!   `toolResponse` carries the call's id, a `toolCallCancellation` aborts it (and nothing is
//!   sent for it), NON_BLOCKING results carry the tool's `scheduling`, and partial results
//!   stream with `willContinue` ([`CallContext::update`]). Bad arguments, failures, timeouts
//!   and crashed MCP servers become error results the model can read; the session goes on.
//! * It is fed the session's events by an [`EventTap`](transport::EventTap)
//!   ([`Dispatcher::event_tap`]), so the application's loop still sees tool calls but does not
//!   answer them, or by the application's own loop ([`Dispatcher::feed`]); it reports
//!   [`ToolEvent`]s (started, responded, cancelled, failed) for display.
//!
//! # Example
//!
//! A typed tool, called by the emulator's model and answered by the dispatcher:
//!
//! ```
//! use gemlive_tools::{Tool, ToolEvent, Tools};
//! use gemlive_tools::protocol::{Backend, Event, wire::Setup};
//! use gemlive_tools::transport::{Auth, ClientConfig, Endpoint, connect};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct City {
//!     /// The city, e.g. "Paris".
//!     name: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = emulator::Emulator::start(emulator::EmulatorConfig {
//! #     speed: f64::INFINITY, ..Default::default() }).await?;
//! # let endpoint = Endpoint::custom(&emulator.base_url())?;
//! let tools = Tools::new().with(Tool::typed("get_weather", "Weather of a city", |c: City| async move {
//!     Ok::<_, String>(format!("sunny in {}", c.name))
//! }));
//! let mut setup = Setup::new("gemini-3.1-flash-live-preview");
//! let dispatcher = tools.declare(&mut setup, Backend::GeminiApi)?;
//! let mut config = ClientConfig::new(endpoint, Auth::api_key("key"), setup);
//! config.event_tap = Some(dispatcher.event_tap());
//! let (sender, mut events) = connect(config).await?;
//! let mut tool_events = dispatcher.start(&sender);
//! sender.send_text("What is the weather in Paris?").await?;
//! let mut turn = events.next_turn();
//! while let Some(event) = turn.next().await? {
//!     if let Event::ToolCall { calls } = event {
//!         println!("the model calls {}", calls[0].name);
//!     }
//! }
//! let Some(ToolEvent::Started { name, .. }) = tool_events.next().await else { panic!() };
//! assert_eq!(name, "get_weather");
//! # sender.close().await?;
//! # emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod command;
mod dispatch;
#[cfg(feature = "mcp")]
mod mcp;
mod names;
mod registry;
pub mod schema;
mod tool;

pub use dispatch::{Dispatcher, EventFeed, ToolEvent, ToolEvents};
#[cfg(feature = "mcp")]
pub use mcp::{DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, McpError, McpServer};
pub use names::{MAX_NAME_LEN, live_name};
pub use registry::{DeclareError, Tools};
pub use tool::{BoxFuture, CallContext, Handler, Source, Tool, ToolError};
pub use {protocol, transport};
