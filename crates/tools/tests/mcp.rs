//! Real MCP servers behind the dispatcher, with the emulator's model calling their tools:
//! `@modelcontextprotocol/server-everything` (npm) over stdio and streamable HTTP,
//! `mcp-server-time` (PyPI), and `tests/servers/faulty.py` (the official Python SDK) for a server
//! that crashes, hangs, and sees cancellations.
//!
//! A test whose server is not installed is skipped with a message, and fails under `GEMLIVE_CI=1`.

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use common::{Trace, WAIT, ask, emulator, have, session, turns, until};
use gemlive_tools::protocol::Event;
use gemlive_tools::{McpServer, Tool, ToolEvent, Tools};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

const MODEL: &str = "gemini-3.1-flash-live-preview";
const EVERYTHING: &str = "mcp-server-everything";
const EVERYTHING_HINT: &str = "npm install -g @modelcontextprotocol/server-everything";
const TIME: &str = "mcp-server-time";
const TIME_HINT: &str = "python3 -m pip install mcp-server-time";

fn faulty() -> McpServer {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/faulty.py");
    McpServer::stdio("python3", [script])
}

#[tokio::test]
async fn the_model_calls_tools_of_two_stdio_servers_and_says_their_results() {
    if !have(EVERYTHING, EVERYTHING_HINT) || !have(TIME, TIME_HINT) {
        return;
    }
    let mut tools = Tools::new();
    let everything = McpServer::stdio(EVERYTHING, ["stdio"]);
    let n = tools.add_mcp(&everything).await.unwrap();
    assert!(n >= 10, "server-everything lists its tools: {n}");
    assert_eq!(
        tools
            .add_mcp(&McpServer::stdio(TIME, ["--local-timezone", "UTC"]))
            .await
            .unwrap(),
        2
    );

    let emulator = emulator(f64::INFINITY, None).await;
    // The strict emulator accepts every declaration: names and schemas as converted.
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL, &tools).await;
    let mut trace = Trace::default();
    ask(
        &[
            "Please echo about Gemlive",
            "What is the current time in Europe/Paris?",
        ],
        &sender,
        &mut events,
        &mut tool_events,
        &mut trace,
    )
    .await;

    assert_eq!(trace.failures(), Vec::<String>::new());
    let responses = trace.responses();
    assert_eq!(
        responses[0],
        ("echo".to_owned(), json!({"output": "Echo: Gemlive"}))
    );
    let (name, time) = &responses[1];
    assert_eq!(name, "get_current_time");
    assert_eq!(time["output"]["timezone"], "Europe/Paris", "{time}");
    let said = trace.said();
    assert!(said.contains("Echo: Gemlive"), "{said}");
    assert!(said.contains("Europe/Paris"), "{said}");
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

/// `mcp-server-everything streamableHttp` on a free port, killed when dropped.
struct HttpServer {
    _child: tokio::process::Child,
    url: String,
}

async fn http_everything() -> HttpServer {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(EVERYTHING)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .env("GEMLIVE_TEST_SIDE", "http")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{EVERYTHING} did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    HttpServer {
        _child: child,
        url: format!("http://127.0.0.1:{port}/mcp"),
    }
}

#[tokio::test]
async fn streamable_http_and_stdio_servers_with_clashing_names() {
    if !have(EVERYTHING, EVERYTHING_HINT) {
        return;
    }
    let remote = http_everything().await;
    let mut tools = Tools::new();
    let local = McpServer::stdio(EVERYTHING, ["stdio"]).env("GEMLIVE_TEST_SIDE", "stdio");
    tools.add_mcp(&local).await.unwrap();
    tools
        .add_mcp(&McpServer::http(&remote.url).named("remote"))
        .await
        .unwrap();

    // The model names the remote server's tools by their declared names.
    let script = r#"{"rules": [
        {"when": {"contains": "remote environment"}, "reply": {"tool_calls": [{"name": "remote_get-env", "args": {}}]}},
        {"when": {"contains": "local environment"}, "reply": {"tool_calls": [{"name": "get-env", "args": {}}]}}
    ]}"#;
    let emulator = emulator(f64::INFINITY, Some(script)).await;
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL, &tools).await;
    let mut trace = Trace::default();
    ask(
        &[
            "Show the remote environment",
            "Show the local environment",
            "Get structured content for Chicago",
        ],
        &sender,
        &mut events,
        &mut tool_events,
        &mut trace,
    )
    .await;

    assert_eq!(trace.failures(), Vec::<String>::new());
    let responses = trace.responses();
    let names: Vec<&str> = responses.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["remote_get-env", "get-env", "get-structured-content"]
    );
    let side = |v: &Value| v["output"].as_str().unwrap_or_default().to_owned();
    assert!(
        side(&responses[0].1).contains(r#""GEMLIVE_TEST_SIDE": "http""#),
        "{}",
        responses[0].1
    );
    assert!(
        side(&responses[1].1).contains(r#""GEMLIVE_TEST_SIDE": "stdio""#),
        "{}",
        responses[1].1
    );
    // Structured content comes as `output`, without the text that repeats it.
    let weather = &responses[2].1;
    assert!(weather["output"]["temperature"].is_number(), "{weather}");
    assert!(weather.get("text").is_none(), "{weather}");
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[derive(Deserialize, JsonSchema)]
struct Name {
    name: String,
}

#[tokio::test]
async fn a_server_that_crashes_mid_call_is_an_error_and_the_session_goes_on() {
    if !have(TIME, TIME_HINT) {
        return;
    }
    let mut tools = Tools::new().with(Tool::typed(
        "greet_person",
        "Greets",
        |n: Name| async move { Ok::<_, String>(format!("hello {}", n.name)) },
    ));
    tools.add_mcp(&faulty()).await.unwrap();
    let emulator = emulator(f64::INFINITY, None).await;
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL, &tools).await;
    let mut trace = Trace::default();
    ask(
        &["Crash server now", "Show history", "Greet person for Ada"],
        &sender,
        &mut events,
        &mut tool_events,
        &mut trace,
    )
    .await;

    let failures = trace.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].starts_with(
            "crash_server: the MCP server \"faulty\" failed: it stopped while running crash_server"
        ) && failures[0].contains("exiting in the middle of a call, on purpose"),
        "{failures:?}"
    );
    assert!(
        failures[1].starts_with("show_history: the MCP server \"faulty\" is not running"),
        "{failures:?}"
    );
    let said = trace.said();
    assert!(said.contains("crash_server failed"), "{said}");
    assert!(said.contains("greet_person returned hello Ada"), "{said}");
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_hanging_call_times_out_and_a_cancellation_reaches_the_server() {
    if !have(TIME, TIME_HINT) {
        return;
    }
    let mut tools = Tools::new();
    tools
        .add_mcp(&faulty().call_timeout(Duration::from_millis(500)))
        .await
        .unwrap();
    let emulator = emulator(f64::INFINITY, None).await;
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL, &tools).await;
    let mut trace = Trace::default();
    ask(
        &["Hang forever"],
        &sender,
        &mut events,
        &mut tool_events,
        &mut trace,
    )
    .await;
    assert_eq!(
        trace.failures(),
        ["hang_forever: hang_forever did not finish within 0.5 s and was cancelled"]
    );

    sender
        .send_text("Do a long count for 60 seconds")
        .await
        .unwrap();
    until(&mut events, &mut tool_events, &mut trace, |t| {
        t.tool_events()
            .iter()
            .any(|e| matches!(e, ToolEvent::Started { name, .. } if name == "long_count"))
    })
    .await;
    // Talking over the running call makes the server cancel it, and the MCP request with it.
    let before = turns(&trace);
    sender.send_text("Never mind that").await.unwrap();
    // The interrupted turn, then the answer to "never mind".
    until(&mut events, &mut tool_events, &mut trace, |t| {
        turns(t) == before + 2
    })
    .await;
    ask(
        &["Show history"],
        &sender,
        &mut events,
        &mut tool_events,
        &mut trace,
    )
    .await;
    assert!(
        trace
            .tool_events()
            .iter()
            .any(|e| matches!(e, ToolEvent::Cancelled { name, .. } if name == "long_count")),
        "{trace:#?}"
    );
    assert!(
        trace
            .session_events()
            .iter()
            .any(|e| matches!(e, Event::ToolCallCancellation { .. }))
    );
    let history = trace
        .responses()
        .into_iter()
        .find(|(n, _)| n == "show_history")
        .unwrap_or_else(|| panic!("{:?}\n{trace:#?}", trace.failures()))
        .1;
    assert_eq!(
        history,
        json!({"output": {"result": "long_count was cancelled"}})
    );
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_server_that_does_not_start_says_why() {
    let missing = McpServer::command("gemlive-no-such-mcp-server --flag").unwrap();
    let err = Tools::new()
        .add_mcp(&missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("MCP server \"gemlive-no-such-mcp-server\" did not start: cannot run"),
        "{err}"
    );
    let silent = McpServer::stdio("sh", ["-c", "echo booting >&2; sleep 30"])
        .named("silent")
        .connect_timeout(Duration::from_millis(500));
    let err = Tools::new().add_mcp(&silent).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "MCP server \"silent\" did not start: no answer within 0.5 s; it wrote: booting"
    );
    let nobody = McpServer::http("http://127.0.0.1:9/mcp").connect_timeout(Duration::from_secs(5));
    let err = Tools::new().add_mcp(&nobody).await.unwrap_err().to_string();
    assert!(
        err.starts_with("MCP server \"127.0.0.1\" did not start"),
        "{err}"
    );
}
