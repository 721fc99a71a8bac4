//! A tool: what the model is told about it (name, description, parameters, behavior) and the
//! handler that answers its calls.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use protocol::wire::{Behavior, Scheduling};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

/// A boxed future, as [`Handler`]s return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs the calls of one tool.
///
/// [`Tool::typed`], [`Tool::raw`], [`Tool::command`] and MCP servers build handlers; implement
/// this trait for anything else. The returned future is dropped when the call is cancelled (the
/// server's `toolCallCancellation`, a timeout, the end of the session): clean up in `Drop`.
pub trait Handler: Send + Sync + 'static {
    /// Runs one call with its arguments (a JSON object, `{}` when the model gave none).
    fn call(&self, args: Value, context: CallContext) -> BoxFuture<Result<Value, ToolError>>;
}

/// A tool failed. The model receives `{"error": message}` and the application a
/// [`ToolEvent::Failed`](crate::ToolEvent::Failed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    /// An error with this message (written for the model: say what went wrong and what to change).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// One call as its handler sees it: which call, and a way to stream partial results.
#[derive(Clone)]
pub struct CallContext {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) updates: Option<UpdateSink>,
}

#[derive(Clone)]
pub(crate) struct UpdateSink {
    pub(crate) key: String,
    pub(crate) tx: mpsc::UnboundedSender<crate::dispatch::Input>,
}

impl CallContext {
    /// A context for calling a handler directly (no streaming).
    pub fn detached(id: Option<String>, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            updates: None,
        }
    }

    /// The call's id, as the server gave it.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The function name the model called (the declared name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether [`CallContext::update`] reaches the model: NON_BLOCKING calls on the Gemini API
    /// (`willContinue` is neither allowed on Vertex nor for blocking calls).
    pub fn can_stream(&self) -> bool {
        self.updates.is_some()
    }

    /// Sends a partial result now (`willContinue: true`, with the tool's scheduling); the call
    /// stays open until the handler returns its final result. Returns `false` (and sends
    /// nothing) when the call cannot stream ([`CallContext::can_stream`]) or the session is over.
    pub fn update(&self, partial: impl Serialize) -> bool {
        self.update_with(partial, None)
    }

    /// Like [`CallContext::update`], with this scheduling instead of the tool's.
    pub fn update_with(&self, partial: impl Serialize, scheduling: Option<Scheduling>) -> bool {
        let Some(sink) = &self.updates else {
            return false;
        };
        let response = match serde_json::to_value(partial) {
            Ok(v) => crate::dispatch::result_object(v),
            Err(e) => {
                tracing::warn!(tool = %self.name, "cannot serialize a partial result: {e}");
                return false;
            }
        };
        sink.tx
            .send(crate::dispatch::Input::Update {
                key: sink.key.clone(),
                response,
                scheduling,
            })
            .is_ok()
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("can_stream", &self.can_stream())
            .finish()
    }
}

/// Where a tool comes from (for display, and to name MCP tools that clash).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A Rust function.
    Rust,
    /// A shell command.
    Command {
        /// The command line, run with `sh -c`.
        command: String,
    },
    /// A tool of an MCP server.
    Mcp {
        /// The server's name.
        server: String,
        /// The tool's name on that server.
        tool: String,
    },
}

/// A tool the model may call.
///
/// ```
/// use gemlive_tools::Tool;
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Weather {
///     /// City name, e.g. "Paris".
///     city: String,
/// }
///
/// let tool = Tool::typed("get_weather", "Current weather of a city", |w: Weather| async move {
///     Ok::<_, std::io::Error>(format!("sunny in {}", w.city))
/// })
/// .non_blocking();
/// assert_eq!(tool.name(), "get_weather");
/// ```
#[derive(Clone)]
pub struct Tool {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) parameters: Option<Value>,
    pub(crate) behavior: Option<Behavior>,
    pub(crate) scheduling: Option<Scheduling>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) reuse_declaration: bool,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) source: Source,
}

impl Tool {
    /// A tool from any [`Handler`], with its parameters as a JSON Schema (`None`: no parameters).
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Option<Value>,
        handler: impl Handler,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
            behavior: None,
            scheduling: None,
            timeout: None,
            reuse_declaration: false,
            handler: Arc::new(handler),
            source: Source::Rust,
        }
    }

    /// A tool from an async function of the raw JSON arguments.
    pub fn raw<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Option<Value>,
        f: F,
    ) -> Self
    where
        F: Fn(Value, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        Self::new(name, description, parameters, FnHandler(f))
    }

    /// A tool from an async function whose argument type derives `Deserialize` and `JsonSchema`.
    ///
    /// The parameters are declared from the type's schema (doc comments become descriptions).
    /// Arguments that do not parse are answered with an error the model can read; the function
    /// is not called. `Ok(value)` is sent serialized (an object as it is, anything else as
    /// `{"result": value}`), `Err(e)` as `{"error": "<e>"}`.
    pub fn typed<A, R, E, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        R: Serialize + 'static,
        E: fmt::Display + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        Self::typed_with_context(name, description, move |args: A, _: CallContext| f(args))
    }

    /// Like [`Tool::typed`], and the function also gets the [`CallContext`] (the call's id,
    /// partial results for NON_BLOCKING calls).
    pub fn typed_with_context<A, R, E, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        R: Serialize + 'static,
        E: fmt::Display + 'static,
        F: Fn(A, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        let schema = SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| s.meta_schema = None)
            .into_generator()
            .into_root_schema_for::<A>()
            .to_value();
        let unit = schema.get("type").and_then(Value::as_str) == Some("null");
        let handler = FnHandler(move |args: Value, context: CallContext| {
            let args = if unit && args.as_object().is_some_and(|o| o.is_empty()) {
                Value::Null
            } else {
                args
            };
            let parsed = serde_json::from_value::<A>(args);
            let run = parsed.map(|a| f(a, context));
            async move {
                let fut = run.map_err(|e| ToolError(format!("invalid arguments: {e}")))?;
                let value = fut.await.map_err(|e| ToolError(e.to_string()))?;
                serde_json::to_value(value)
                    .map_err(|e| ToolError(format!("the result could not be serialized: {e}")))
            }
        });
        Self::new(name, description, Some(schema), handler)
    }

    /// The declared name as asked for (the registry may change it to be valid and unique).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description the model reads.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The parameters as a JSON Schema.
    pub fn parameters(&self) -> Option<&Value> {
        self.parameters.as_ref()
    }

    /// Where the tool comes from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Declare it `NON_BLOCKING`: the model goes on talking while it runs, and its result is
    /// scheduled ([`Tool::scheduling`]). Models without NON_BLOCKING support (3.1,
    /// half-cascade) refuse it: [`Tools::declare`](crate::Tools::declare) says so.
    #[must_use]
    pub fn non_blocking(mut self) -> Self {
        self.behavior = Some(Behavior::NonBlocking);
        self
    }

    /// Declare it `BLOCKING`: the model waits for its result (the default, except on 3.8 Live).
    #[must_use]
    pub fn blocking(mut self) -> Self {
        self.behavior = Some(Behavior::Blocking);
        self
    }

    /// How the result of a NON_BLOCKING call is delivered: `INTERRUPT` (the model stops and
    /// answers now), `WHEN_IDLE` (after its current output; the server's default) or `SILENT`
    /// (added to the context without a reply). Ignored for blocking calls.
    #[must_use]
    pub fn scheduling(mut self, scheduling: Scheduling) -> Self {
        self.scheduling = Some(scheduling);
        self
    }

    /// Cancel a call that runs longer than this and answer the model with an error.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// When the setup already declares a function of this name (declared by hand, or read
    /// from a file), answer its calls instead of declaring another one.
    #[must_use]
    pub fn reuse_declaration(mut self) -> Self {
        self.reuse_declaration = true;
        self
    }

    pub(crate) fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("behavior", &self.behavior)
            .field("scheduling", &self.scheduling)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Value, CallContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
{
    fn call(&self, args: Value, context: CallContext) -> BoxFuture<Result<Value, ToolError>> {
        Box::pin((self.0)(args, context))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    async fn call(tool: &Tool, args: Value) -> Result<Value, ToolError> {
        tool.handler
            .call(args, CallContext::detached(None, tool.name()))
            .await
    }

    #[tokio::test]
    async fn typed_arguments_and_results() {
        let ping = Tool::typed("ping", "", |(): ()| async { Ok::<_, String>("pong") });
        assert_eq!(ping.parameters().unwrap()["type"], "null");
        assert_eq!(call(&ping, json!({})).await.unwrap(), json!("pong"));

        #[derive(serde::Deserialize, JsonSchema)]
        struct Add {
            a: i64,
            b: i64,
        }
        let add = Tool::typed("add", "", |x: Add| async move {
            if x.b == 0 {
                return Err("b must not be 0");
            }
            Ok(x.a + x.b)
        });
        assert_eq!(call(&add, json!({"a": 2, "b": 3})).await.unwrap(), json!(5));
        assert_eq!(
            call(&add, json!({"a": 2})).await.unwrap_err().0,
            "invalid arguments: missing field `b`"
        );
        assert_eq!(
            call(&add, json!({"a": 2, "b": 0})).await.unwrap_err().0,
            "b must not be 0"
        );
    }
}
