//! MCP servers' tools, on the official Rust MCP SDK (`rmcp`): stdio child processes and
//! streamable HTTP.
//!
//! [`Tools::add_mcp`](crate::Tools::add_mcp) starts (or connects to) a server, lists its tools and
//! adds one [`Tool`] per MCP tool. A call is routed to its server as `tools/call`; a cancelled
//! call (the model's `toolCallCancellation`, or the call timeout) sends the server
//! `notifications/cancelled`. A server that exits or stops answering gives the model an error
//! result, naming the server and quoting the end of its stderr, and the session goes on.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, JsonObject,
};
use rmcp::service::{RoleClient, RunningService, ServiceError, ServiceExt};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use transport::{Secret, TlsConfig};

use crate::tool::{BoxFuture, CallContext, Handler, Source, Tool, ToolError};

/// The default time a server gets to start and answer `initialize` and `tools/list`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default time one tool call may take.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a stdio server's stderr kept for error messages.
const STDERR_LINES: usize = 8;

/// An MCP server to attach to a session.
///
/// ```
/// use std::time::Duration;
/// use gemlive_tools::McpServer;
///
/// let everything = McpServer::command("npx -y @modelcontextprotocol/server-everything")?;
/// assert_eq!(everything.name(), "server-everything");
/// let remote = McpServer::http("http://127.0.0.1:3001/mcp")
///     .named("calendar")
///     .call_timeout(Duration::from_secs(20));
/// assert_eq!(remote.name(), "calendar");
/// # Ok::<(), gemlive_tools::McpError>(())
/// ```
#[derive(Clone)]
pub struct McpServer {
    name: String,
    target: Target,
    connect_timeout: Duration,
    call_timeout: Duration,
}

#[derive(Clone)]
enum Target {
    Stdio {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Http {
        url: String,
        headers: Vec<(String, Secret)>,
        tls: TlsConfig,
    },
}

impl McpServer {
    /// A server run as a child process from a command line (split like a shell does, without
    /// expansions), speaking MCP on its stdin and stdout.
    pub fn command(command_line: &str) -> Result<Self, McpError> {
        let words = shlex::split(command_line)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| McpError::Command(command_line.to_owned()))?;
        let mut words = words.into_iter();
        let program = words.next().unwrap_or_default();
        Ok(Self::stdio(program, words))
    }

    /// A server run as a child process: `program` with `args`.
    pub fn stdio(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let program = program.into();
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        Self {
            name: stdio_name(&program, &args),
            target: Target::Stdio {
                program,
                args,
                env: Vec::new(),
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// A server reached over streamable HTTP at `url` (e.g. `http://127.0.0.1:3001/mcp`).
    pub fn http(url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            name: http_name(&url),
            target: Target::Http {
                url,
                headers: Vec::new(),
                tls: TlsConfig::default(),
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// The server's name: in messages, and as the prefix of its tools' names when they clash
    /// with other tools. By default the package or program name, or the URL's host.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names the server.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets an environment variable of a stdio server (ignored for HTTP).
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let Target::Stdio { env, .. } = &mut self.target {
            env.push((key.into(), value.into()));
        }
        self
    }

    /// Sends an HTTP header with every request (ignored for stdio), e.g. `Authorization`. The
    /// value is kept as a secret: never in logs or `Debug` output.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Target::Http { headers, .. } = &mut self.target {
            headers.push((name.into(), Secret::new(value.into())));
        }
        self
    }

    /// Which CAs an `https` server's certificate may chain to (default: webpki and system
    /// roots).
    #[must_use]
    pub fn tls(mut self, config: TlsConfig) -> Self {
        if let Target::Http { tls, .. } = &mut self.target {
            *tls = config;
        }
        self
    }

    /// How long the server may take to start and list its tools (default 60 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one call may take before it is cancelled and the model told so (default 60 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Starts or connects to the server and lists its tools, one [`Tool`] each, named as the
    /// server names them (the registry makes names valid and unique when it declares them).
    pub async fn connect(&self) -> Result<Vec<Tool>, McpError> {
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let connecting = self.start(&stderr);
        let service = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| McpError::Start {
                server: self.name.clone(),
                reason: format!(
                    "no answer within {} s{}",
                    self.connect_timeout.as_secs_f64(),
                    tail(&stderr)
                ),
            })??;
        let listed =
            tokio::time::timeout(self.connect_timeout, service.peer().list_all_tools()).await;
        let listed = match listed {
            Ok(Ok(tools)) => tools,
            Ok(Err(e)) => {
                return Err(McpError::List {
                    server: self.name.clone(),
                    reason: format!("{e}{}", tail(&stderr)),
                });
            }
            Err(_) => {
                return Err(McpError::List {
                    server: self.name.clone(),
                    reason: format!("no answer within {} s", self.connect_timeout.as_secs_f64()),
                });
            }
        };
        let server = Arc::new(Connection {
            name: self.name.clone(),
            service,
            stderr,
            stopped: OnceLock::new(),
        });
        Ok(listed
            .into_iter()
            .map(|t| {
                let description = t.description.as_deref().unwrap_or_default().to_owned();
                let schema = Value::Object((*t.input_schema).clone());
                let handler = McpTool {
                    server: Arc::clone(&server),
                    tool: t.name.to_string(),
                };
                Tool::new(t.name.to_string(), description, Some(schema), handler)
                    .timeout(self.call_timeout)
                    .with_source(Source::Mcp {
                        server: self.name.clone(),
                        tool: t.name.to_string(),
                    })
            })
            .collect())
    }

    async fn start(
        &self,
        stderr: &Arc<Mutex<VecDeque<String>>>,
    ) -> Result<RunningService<RoleClient, ClientConfig>, McpError> {
        let client = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("gemlive", env!("CARGO_PKG_VERSION")),
        );
        let failed = |reason: String| McpError::Start {
            server: self.name.clone(),
            reason,
        };
        match &self.target {
            Target::Stdio { program, args, env } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).envs(env.iter().cloned());
                let (child, err) = TokioChildProcess::builder(command)
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| failed(format!("cannot run {program:?}: {e}")))?;
                if let Some(err) = err {
                    tokio::spawn(keep_stderr(self.name.clone(), err, Arc::clone(stderr)));
                }
                client
                    .serve(child)
                    .await
                    .map_err(|e| failed(format!("{e}{}", tail(stderr))))
            }
            Target::Http { url, headers, tls } => {
                let tls = tls.client_config().map_err(|e| failed(e.to_string()))?;
                let http = reqwest::Client::builder()
                    .tls_backend_preconfigured((*tls).clone())
                    .pool_max_idle_per_host(0)
                    .build()
                    .map_err(|e| failed(format!("HTTP client: {e}")))?;
                let mut custom = HashMap::new();
                for (name, value) in headers {
                    let name = http::HeaderName::try_from(name.as_str())
                        .map_err(|e| failed(format!("header {name:?}: {e}")))?;
                    let value = http::HeaderValue::try_from(value.expose())
                        .map_err(|_| failed(format!("header {name}: invalid value")))?;
                    custom.insert(name, value);
                }
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(custom);
                let transport = StreamableHttpClientTransport::with_client(http, config);
                client
                    .serve(transport)
                    .await
                    .map_err(|e| failed(e.to_string()))
            }
        }
    }
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("McpServer");
        d.field("name", &self.name);
        match &self.target {
            Target::Stdio { program, args, env } => d
                .field("program", program)
                .field("args", args)
                .field("env", &env.iter().map(|(k, _)| k).collect::<Vec<_>>()),
            Target::Http { url, headers, .. } => d.field("url", url).field(
                "headers",
                &headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ),
        };
        d.field("call_timeout", &self.call_timeout).finish()
    }
}

/// An MCP server could not be attached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The command line is empty or its quotes do not match.
    #[error("cannot parse the MCP server command {0:?}")]
    Command(String),
    /// The server did not start, or did not complete the MCP handshake.
    #[error("MCP server {server:?} did not start: {reason}")]
    Start {
        /// The server's name.
        server: String,
        /// Why, with the end of its stderr when it wrote any.
        reason: String,
    },
    /// The server did not list its tools.
    #[error("MCP server {server:?} did not list its tools: {reason}")]
    List {
        /// The server's name.
        server: String,
        /// Why.
        reason: String,
    },
}

/// A running server, shared by its tools.
struct Connection {
    name: String,
    service: RunningService<RoleClient, ClientConfig>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Why the server is gone, once it is.
    stopped: OnceLock<String>,
}

struct McpTool {
    server: Arc<Connection>,
    tool: String,
}

impl Handler for McpTool {
    fn call(&self, args: Value, _context: CallContext) -> BoxFuture<Result<Value, ToolError>> {
        let server = Arc::clone(&self.server);
        let tool = self.tool.clone();
        Box::pin(async move {
            if let Some(why) = server.stopped.get() {
                return Err(ToolError(format!(
                    "the MCP server {:?} is not running ({why}); {tool} cannot be called",
                    server.name
                )));
            }
            let arguments: JsonObject = match args {
                Value::Object(map) => map,
                _ => JsonObject::new(),
            };
            let params = CallToolRequestParams::new(tool.clone()).with_arguments(arguments);
            match server.service.peer().call_tool(params).await {
                Ok(result) => tool_result(&serde_json::to_value(result).unwrap_or_default()),
                Err(ServiceError::McpError(e)) => {
                    Err(ToolError(format!("{tool} failed: {}", e.message)))
                }
                Err(e) if server.service.is_closed() || is_transport_error(&e) => {
                    let why = format!("it stopped while running {tool}{}", tail(&server.stderr));
                    let why = server.stopped.get_or_init(|| why);
                    tracing::warn!(server = %server.name, "MCP server gone: {why}");
                    Err(ToolError(format!(
                        "the MCP server {:?} failed: {why}",
                        server.name
                    )))
                }
                Err(e) => Err(ToolError(format!("{tool} failed: {e}"))),
            }
        })
    }
}

fn is_transport_error(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::TransportClosed | ServiceError::TransportSend(_)
    )
}

/// An MCP `CallToolResult` as a Live function response: an error as `{"error": text}`,
/// structured content as `{"output": value}` (with the text beside it as `text` when it says
/// more), text alone as `{"output": text}`. Images, audio and resources are described in the text.
fn tool_result(result: &Value) -> Result<Value, ToolError> {
    let text: Vec<String> = result["content"]
        .as_array()
        .map(|blocks| blocks.iter().filter_map(block_text).collect())
        .unwrap_or_default();
    let text = text.join("\n");
    if result["isError"].as_bool() == Some(true) {
        return Err(ToolError(if text.is_empty() {
            "the tool reported an error".to_owned()
        } else {
            text
        }));
    }
    let Some(structured) = result.get("structuredContent").filter(|v| !v.is_null()) else {
        return Ok(json!({"output": text}));
    };
    // Servers repeat structured content as text (its JSON, or a lone `result`) for older
    // clients: it is sent once.
    let repeated = text.is_empty()
        || serde_json::from_str::<Value>(&text).is_ok_and(|t| t == *structured)
        || structured.get("result").and_then(Value::as_str) == Some(text.as_str());
    Ok(if repeated {
        json!({"output": structured})
    } else {
        json!({"output": structured, "text": text})
    })
}

fn block_text(block: &Value) -> Option<String> {
    let kind = block["type"].as_str()?;
    Some(match kind {
        "text" => block["text"].as_str()?.to_owned(),
        "image" | "audio" => format!(
            "[{kind} {}, {} bytes of base64]",
            block["mimeType"].as_str().unwrap_or("?"),
            block["data"].as_str().map_or(0, str::len)
        ),
        "resource" => {
            let r = &block["resource"];
            match r["text"].as_str() {
                Some(t) => t.to_owned(),
                None => format!("[resource {}]", r["uri"].as_str().unwrap_or("?")),
            }
        }
        "resource_link" => format!(
            "[resource link {} {}]",
            block["name"].as_str().unwrap_or_default(),
            block["uri"].as_str().unwrap_or("?")
        ),
        _ => return None,
    })
}

async fn keep_stderr(
    server: String,
    stderr: tokio::process::ChildStderr,
    lines: Arc<Mutex<VecDeque<String>>>,
) {
    let mut reader = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        tracing::debug!(server = %server, "stderr: {line}");
        let mut kept = lines.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() == STDERR_LINES {
            kept.pop_front();
        }
        kept.push_back(line);
    }
}

/// `; it wrote: ...` with the last lines of a server's stderr, or nothing.
fn tail(stderr: &Mutex<VecDeque<String>>) -> String {
    let kept = stderr.lock().unwrap_or_else(PoisonError::into_inner);
    let lines: Vec<&str> = kept
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("; it wrote: {}", lines.join(" | "))
    }
}

/// `npx -y @scope/server-x@1.2` → `server-x`; `python3 -m srv` → `srv`; `./my-server` → `my-server`.
fn stdio_name(program: &str, args: &[String]) -> String {
    const LAUNCHERS: [&str; 12] = [
        "npx", "uvx", "pipx", "bunx", "pnpx", "node", "python", "python3", "uv", "deno", "bun",
        "docker",
    ];
    let base = |s: &str| s.rsplit(['/', '\\']).next().unwrap_or(s).to_owned();
    let program_name = base(program);
    let word = if LAUNCHERS.contains(&program_name.as_str()) {
        args.iter()
            .find(|a| !a.starts_with('-') && !matches!(a.as_str(), "run" | "exec" | "tool"))
            .map_or_else(|| program_name.clone(), |a| base(a))
    } else {
        program_name
    };
    let word = word.split('@').find(|s| !s.is_empty()).unwrap_or("mcp");
    let word = word
        .strip_suffix(".py")
        .or_else(|| word.strip_suffix(".js"))
        .unwrap_or(word);
    word.to_owned()
}

fn http_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "mcp".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        let name = |line: &str| McpServer::command(line).unwrap().name().to_owned();
        assert_eq!(
            name("npx -y @modelcontextprotocol/server-everything"),
            "server-everything"
        );
        assert_eq!(
            name("uvx mcp-server-time --local-timezone UTC"),
            "mcp-server-time"
        );
        assert_eq!(name("python3 -m my_server"), "my_server");
        assert_eq!(name("python3 'tests/servers/faulty.py'"), "faulty");
        assert_eq!(
            name("/usr/bin/mcp-server-everything stdio"),
            "mcp-server-everything"
        );
        assert_eq!(name("npx pkg@1.2.3"), "pkg");
        assert_eq!(
            McpServer::http("https://tools.example.com/mcp").name(),
            "tools.example.com"
        );
        assert!(matches!(
            McpServer::command("  "),
            Err(McpError::Command(_))
        ));
        assert!(matches!(
            McpServer::command("a 'b"),
            Err(McpError::Command(_))
        ));
        let debug = format!(
            "{:?}",
            McpServer::http("http://h/mcp").header("Authorization", "Bearer s3cret")
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn results() {
        let text = json!({"content": [{"type": "text", "text": "Echo: hi"}]});
        assert_eq!(tool_result(&text).unwrap(), json!({"output": "Echo: hi"}));
        let structured = json!({"content": [{"type": "text", "text": "{\"t\":1}"}],
            "structuredContent": {"t": 1}});
        assert_eq!(
            tool_result(&structured).unwrap(),
            json!({"output": {"t": 1}})
        );
        let python = json!({"content": [{"type": "text", "text": "done"}],
            "structuredContent": {"result": "done"}});
        assert_eq!(
            tool_result(&python).unwrap(),
            json!({"output": {"result": "done"}})
        );
        let both = json!({"content": [{"type": "text", "text": "1 degree"}],
            "structuredContent": {"t": 1}});
        assert_eq!(
            tool_result(&both).unwrap(),
            json!({"output": {"t": 1}, "text": "1 degree"})
        );
        let error = json!({"content": [{"type": "text", "text": "bad zone"}], "isError": true});
        assert_eq!(tool_result(&error).unwrap_err().0, "bad zone");
        let image =
            json!({"content": [{"type": "image", "mimeType": "image/png", "data": "AAAA"}]});
        assert_eq!(
            tool_result(&image).unwrap(),
            json!({"output": "[image image/png, 4 bytes of base64]"})
        );
    }
}
