//! Tools through the facade against the emulator: a typed Rust tool the session answers by
//! itself while `receive()` still sees the call, a declared function the application answers by
//! hand in the same session, and a real MCP server (`mcp-server-time`, PyPI).

use std::io::Write;

use gemlive::emulator::EmulatorConfig;
use gemlive::prelude::*;
use gemlive::tools::McpServer;
use gemlive::types::{FunctionDeclaration, Tool as Declaration};
use serde_json::json;

/// A model whose functions are BLOCKING by default.
const MODEL: &str = "gemini-3.1-flash-live-preview";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    /// The city.
    city: String,
}

async fn client() -> Client {
    Client::emulator_with(EmulatorConfig {
        speed: f64::INFINITY,
        strict_models: true,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// The turn's calls (by name) and its words.
async fn turn(session: &mut Session) -> (Vec<String>, String) {
    let (mut calls, mut said) = (Vec::new(), String::new());
    let mut turn = session.receive();
    while let Some(event) = turn.next().await.unwrap() {
        if let Event::ToolCall { calls: c } = &event {
            calls.extend(c.iter().map(|c| c.name.clone()));
        }
        said.push_str(event.text().unwrap_or_default());
    }
    (calls, said)
}

#[tokio::test]
async fn the_session_runs_its_tools_and_leaves_declared_functions_to_the_application() {
    let weather = Tool::typed("get_weather", "Weather of a city", |c: City| async move {
        Ok::<_, String>(format!("sunny in {}", c.city))
    });
    let lights = Declaration {
        function_declarations: Some(vec![FunctionDeclaration {
            name: "set_lights".into(),
            description: Some("Turns the lights on or off".into()),
            ..FunctionDeclaration::default()
        }]),
        ..Declaration::default()
    };
    let config = LiveConfig::text().tools(weather).tools(lights);
    let setup = config.setup(MODEL).unwrap();
    assert!(setup.tools.unwrap()[0].function_declarations.is_some());
    let mut session = client().await.live().connect(MODEL, config).await.unwrap();
    let mut tool_events = session.tool_events().expect("the session runs tools");
    assert!(session.tool_events().is_none(), "taken once");

    session
        .send_realtime_input("What is the weather in Paris?")
        .await
        .unwrap();
    let (calls, said) = turn(&mut session).await;
    assert_eq!(calls, ["get_weather"], "receive() sees the call");
    assert_eq!(said, "get_weather returned sunny in Paris.");
    let Some(ToolEvent::Started { name, args, .. }) = tool_events.next().await else {
        panic!("a call started")
    };
    assert_eq!(
        (name.as_str(), args),
        ("get_weather", json!({"city": "Paris"}))
    );
    let Some(ToolEvent::Responded { response, .. }) = tool_events.next().await else {
        panic!("a call answered")
    };
    assert_eq!(response, json!({"result": "sunny in Paris"}));

    // A function the application declared: the session leaves it to the application.
    session
        .send_realtime_input("Set lights, please")
        .await
        .unwrap();
    let mut turn = session.receive();
    let call = loop {
        match turn.next().await.unwrap() {
            Some(Event::ToolCall { mut calls }) => break calls.remove(0),
            Some(_) => {}
            None => panic!("the model calls set_lights"),
        }
    };
    assert_eq!(call.name, "set_lights");
    assert!(tool_events.try_next().is_none(), "not the session's tool");
    let answer = FunctionResponse {
        id: call.id,
        name: Some(call.name),
        response: Some(json!({"result": "the lights are on"})),
        ..Default::default()
    };
    session.send_tool_response([answer]).await.unwrap();
    let said = session.receive().text().await.unwrap();
    assert!(said.contains("the lights are on"), "{said}");
    session.close().await.unwrap();
    assert_eq!(tool_events.next().await, None, "ends with the session");
}

#[tokio::test]
async fn a_tool_that_cannot_be_declared_fails_before_connecting() {
    let late = Tool::typed("get_weather", "Weather", |c: City| async move {
        Ok::<_, String>(c.city)
    })
    .non_blocking();
    let err = client()
        .await
        .live()
        .connect(MODEL, LiveConfig::text().tools(late))
        .await
        .unwrap_err();
    assert!(matches!(err, gemlive::Error::Tools(_)), "{err}");
    assert!(err.to_string().contains("NON_BLOCKING"), "{err}");
}

#[tokio::test]
async fn an_mcp_server_answers_through_the_session() {
    const TIME: &str = "mcp-server-time";
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(TIME).is_file()));
    if !found {
        let message = format!(
            "{TIME} is not installed (python3 -m pip install mcp-server-time; .ci/run installs it)"
        );
        assert_ne!(std::env::var("GEMLIVE_CI").as_deref(), Ok("1"), "{message}");
        let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
        return;
    }
    let mut tools = Tools::new();
    let server = McpServer::stdio(TIME, ["--local-timezone", "UTC"]);
    assert_eq!(tools.add_mcp(&server).await.unwrap(), 2);
    let config = LiveConfig::text().tools(tools);
    let mut session = client().await.live().connect(MODEL, config).await.unwrap();
    let mut tool_events = session.tool_events().unwrap();
    session
        .send_realtime_input("What is the current time in Europe/Paris?")
        .await
        .unwrap();
    let (calls, said) = turn(&mut session).await;
    assert_eq!(calls, ["get_current_time"]);
    assert!(said.contains("Europe/Paris"), "{said}");
    loop {
        match tool_events.next().await {
            Some(ToolEvent::Responded { name, response, .. }) => {
                assert_eq!(name, "get_current_time");
                assert_eq!(response["output"]["timezone"], "Europe/Paris", "{response}");
                break;
            }
            Some(ToolEvent::Started { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    session.close().await.unwrap();
}
