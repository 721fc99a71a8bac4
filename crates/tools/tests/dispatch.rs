//! The dispatcher against the emulator over loopback: typed Rust tools, cancellation,
//! NON_BLOCKING results while the model talks, errors the model can read, and the application
//! driving it by hand.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Item, Trace, WAIT, ask, emulator, session, turns, until};
use gemlive_tools::protocol::wire::{
    self, FunctionDeclaration, FunctionResponse, Scheduling, Setup,
};
use gemlive_tools::protocol::{Backend, Event};
use gemlive_tools::transport::connect;
use gemlive_tools::{CallContext, Tool, ToolEvent, Tools};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

const MODEL_31: &str = "gemini-3.1-flash-live-preview";
const MODEL_38: &str = "gemini-3.8-live";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Class {
    Economy,
    Business,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Guest {
    name: String,
    vip: bool,
}

/// A hotel booking.
#[derive(Debug, Deserialize, JsonSchema)]
struct Booking {
    /// The city.
    city: String,
    /// How many nights.
    nights: Option<u32>,
    class: Class,
    guest: Guest,
}

fn book_hotel() -> Tool {
    Tool::typed(
        "book_hotel",
        "Books a hotel room",
        |b: Booking| async move {
            Ok::<_, String>(json!({
                "confirmation": format!(
                    "{} nights in {}, {:?} class, for {} (vip: {})",
                    b.nights.unwrap_or(1), b.city, b.class, b.guest.name, b.guest.vip
                )
            }))
        },
    )
}

#[tokio::test]
async fn typed_tool_round_trip() {
    let emulator = emulator(f64::INFINITY, None).await;
    let tools = Tools::new().with(book_hotel());
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL_31, &tools).await;
    sender
        .send_text("Book a hotel in Paris for 3 nights in business class")
        .await
        .unwrap();
    let mut trace = Trace::default();
    until(&mut events, &mut tool_events, &mut trace, |t| turns(t) == 1).await;

    let tool_events = trace.tool_events();
    let [
        ToolEvent::Started { name, args, id },
        ToolEvent::Responded {
            response,
            will_continue: false,
            ..
        },
    ] = tool_events.as_slice()
    else {
        panic!("{trace:#?}")
    };
    assert_eq!(name, "book_hotel");
    assert!(id.as_deref().is_some_and(|id| id.starts_with("fc_")));
    assert_eq!(
        args,
        &json!({"city": "Paris", "nights": 3, "class": "business",
                "guest": {"name": "Paris", "vip": true}})
    );
    let confirmation = "3 nights in Paris, Business class, for Paris (vip: true)";
    assert_eq!(response, &json!({"confirmation": confirmation}));
    assert!(trace.said().contains(confirmation), "{}", trace.said());
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[test]
fn a_typed_tool_declares_the_openapi_subset() {
    let mut setup = Setup::new(MODEL_31);
    let dispatcher = Tools::new()
        .with(book_hotel())
        .declare(&mut setup, Backend::GeminiApi)
        .unwrap();
    let guest = json!({"type": "OBJECT", "required": ["name", "vip"], "properties": {
        "name": {"type": "STRING"}, "vip": {"type": "BOOLEAN"}}});
    assert_eq!(
        serde_json::to_value(dispatcher.declarations()).unwrap(),
        json!([{"name": "book_hotel", "description": "Books a hotel room", "parameters": {
            "type": "OBJECT",
            "title": "Booking",
            "description": "A hotel booking.",
            "required": ["city", "class", "guest"],
            "properties": {
                "city": {"type": "STRING", "description": "The city."},
                "nights": {"type": "INTEGER", "nullable": true,
                           "minimum": 0.0, "description": "How many nights."},
                "class": {"type": "STRING", "enum": ["economy", "business"]},
                "guest": guest
            }
        }}])
    );
}

/// Sets its flag when dropped: the handler's future was dropped (aborted).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[derive(Deserialize, JsonSchema)]
struct Topic {
    topic: String,
}

#[tokio::test]
async fn a_cancellation_aborts_the_running_call() {
    let emulator = emulator(f64::INFINITY, None).await;
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropped);
    let tools = Tools::new().with(Tool::typed(
        "research_topic",
        "Researches a topic at length",
        move |t: Topic| {
            let guard = DropFlag(Arc::clone(&flag));
            async move {
                tokio::time::sleep(Duration::from_secs(600)).await;
                drop(guard);
                Ok::<_, String>(format!("all about {}", t.topic))
            }
        },
    ));
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL_31, &tools).await;
    sender
        .send_text("Research topic about Rust please")
        .await
        .unwrap();
    let mut trace = Trace::default();
    until(&mut events, &mut tool_events, &mut trace, |t| {
        t.tool_events()
            .iter()
            .any(|e| matches!(e, ToolEvent::Started { .. }))
    })
    .await;
    // The user speaks again while the call runs: the server cancels the call.
    sender.send_text("Never mind. Hello there!").await.unwrap();
    until(&mut events, &mut tool_events, &mut trace, |t| turns(t) == 2).await;

    assert!(
        trace
            .tool_events()
            .iter()
            .any(|e| matches!(e, ToolEvent::Cancelled { name, .. } if name == "research_topic")),
        "no cancellation: {trace:#?}"
    );
    assert!(
        trace
            .session_events()
            .iter()
            .any(|e| matches!(e, Event::ToolCallCancellation { .. }))
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler must be aborted"
    );
    assert_eq!(tool_events.running(), 0);
    assert!(
        !trace
            .tool_events()
            .iter()
            .any(|e| matches!(e, ToolEvent::Responded { .. } | ToolEvent::Failed { .. })),
        "a cancelled call is not answered: {trace:#?}"
    );
    // The session goes on: the second turn is answered.
    assert!(!trace.said().is_empty(), "{trace:#?}");
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[derive(Deserialize, JsonSchema)]
struct Route {
    /// Destination city.
    to: String,
}

fn find_flights() -> Tool {
    Tool::typed_with_context(
        "find_flights",
        "Searches flights; takes a while",
        |r: Route, call: CallContext| async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let streamed = call.update(json!({"status": format!("searching flights to {}", r.to)}));
            tokio::time::sleep(Duration::from_millis(150)).await;
            Ok::<_, String>(json!({"flight": "AZ 123", "streamed": streamed}))
        },
    )
}

#[tokio::test]
async fn a_non_blocking_result_arrives_while_the_model_talks() {
    // Real-time pacing: the model says "I have started find_flights." for about a second.
    let emulator = emulator(1.0, None).await;
    let tools = Tools::new().with(find_flights());
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL_38, &tools).await;
    sender.send_text("Find flights to Rome").await.unwrap();
    let mut trace = Trace::default();
    until(&mut events, &mut tool_events, &mut trace, |t| {
        t.said().contains("AZ 123") && turns(t) >= 3
    })
    .await;

    let responded: Vec<(bool, &Value)> = trace
        .tool_events()
        .into_iter()
        .filter_map(|e| match e {
            ToolEvent::Responded {
                will_continue,
                response,
                ..
            } => Some((*will_continue, response)),
            _ => None,
        })
        .collect();
    assert_eq!(
        responded,
        [
            (true, &json!({"status": "searching flights to Rome"})),
            (false, &json!({"flight": "AZ 123", "streamed": true}))
        ]
    );
    let final_result = trace
        .position(|i| {
            matches!(
                i,
                Item::Tool(ToolEvent::Responded {
                    will_continue: false,
                    ..
                })
            )
        })
        .unwrap();
    let first_turn_end = trace
        .position(|i| matches!(i, Item::Session(Event::TurnComplete { .. })))
        .unwrap();
    assert!(
        final_result < first_turn_end,
        "the results arrive while the model is still talking: {trace:#?}"
    );
    let said = trace.said();
    assert!(said.contains("started find_flights"), "{said}");
    assert!(said.contains("searching flights to Rome"), "{said}");
    assert_eq!(tool_events.running(), 0);
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_interrupting_result_cuts_in() {
    let emulator = emulator(1.0, None).await;
    let gate = Tool::typed(
        "check_gate",
        "Finds the gate of a flight",
        |r: Route| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, String>(format!("gate B12 for {}", r.to))
        },
    )
    .scheduling(Scheduling::Interrupt);
    let (sender, mut events, mut tool_events) =
        session(&emulator, MODEL_38, &Tools::new().with(gate)).await;
    sender.send_text("Check the gate to Oslo").await.unwrap();
    let mut trace = Trace::default();
    until(&mut events, &mut tool_events, &mut trace, |t| {
        t.said().contains("gate B12 for Oslo")
    })
    .await;
    let interrupted = trace
        .position(|i| matches!(i, Item::Session(Event::Interrupted)))
        .unwrap_or_else(|| panic!("INTERRUPT cuts the model short: {trace:#?}"));
    let started = trace
        .position(|i| matches!(i, Item::Tool(ToolEvent::Started { .. })))
        .unwrap();
    assert!(started < interrupted);
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn errors_the_model_can_read() {
    let script = r#"{"rules": [
        {"when": {"contains": "garbled"}, "reply": {"tool_calls": [{"name": "book_hotel", "args": {"city": 42}}]}},
        {"when": {"contains": "ghost"}, "reply": {"tool_calls": [{"name": "ghost_tool", "args": {}}]}}
    ]}"#;
    let emulator = emulator(f64::INFINITY, Some(script)).await;
    let tools = Tools::new()
        .with(book_hotel())
        .with(
            Tool::raw("stuck_lookup", "Never answers", None, |_, _| async {
                std::future::pending::<()>().await;
                Ok(Value::Null)
            })
            .timeout(Duration::from_millis(200)),
        )
        .with(Tool::raw("panicky_lookup", "Panics", None, |_, _| async {
            panic!("boom");
        }));
    let (sender, mut events, mut tool_events) = session(&emulator, MODEL_31, &tools).await;
    let mut trace = Trace::default();
    let texts = [
        "a garbled booking",
        "call the ghost",
        "do the stuck lookup",
        "do the panicky lookup",
    ];
    ask(&texts, &sender, &mut events, &mut tool_events, &mut trace).await;
    let errors = trace.failures();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors[0].starts_with("book_hotel: invalid arguments: invalid type: integer `42`"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("no function named \"ghost_tool\""),
        "{errors:?}"
    );
    assert_eq!(
        errors[2],
        "stuck_lookup: stuck_lookup did not finish within 0.2 s and was cancelled"
    );
    assert_eq!(
        errors[3],
        "panicky_lookup: panicky_lookup failed unexpectedly (it panicked: boom)"
    );
    let said = trace.said();
    for expected in [
        "book_hotel failed: invalid arguments",
        "ghost_tool failed",
        "stuck_lookup failed",
        "panicky_lookup failed",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said:?}");
    }
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn driven_by_hand_beside_the_applications_own_functions() {
    let emulator = emulator(f64::INFINITY, None).await;
    // The application declares two functions itself; a command answers one of them.
    let declared = |name: &str| FunctionDeclaration {
        name: name.into(),
        description: Some("Says it loudly".into()),
        parameters: serde_json::from_value(
            json!({"type": "OBJECT", "properties": {"text": {"type": "STRING"}}}),
        )
        .unwrap(),
        ..FunctionDeclaration::default()
    };
    let tools = Tools::new().with(Tool::command("shout", "", "tr a-z A-Z").reuse_declaration());
    let mut setup = common::setup(MODEL_31);
    setup.tools = Some(vec![wire::Tool {
        function_declarations: Some(vec![declared("shout"), declared("by_hand")]),
        ..Default::default()
    }]);
    let dispatcher = tools.declare(&mut setup, Backend::GeminiApi).unwrap();
    assert!(dispatcher.declarations().is_empty());
    let feed = dispatcher.feed();
    let (sender, mut events) = connect(common::client(&emulator, setup)).await.unwrap();
    let mut tool_events = dispatcher.start(&sender);

    let mut said = String::new();
    for text in ["shout about Paris", "call by hand about Rome"] {
        sender.send_text(text).await.unwrap();
        loop {
            let event = tokio::time::timeout(WAIT, events.next())
                .await
                .unwrap()
                .unwrap();
            feed.handle(&event);
            match event {
                Event::ToolCall { calls } if calls[0].name == "by_hand" => {
                    let response = FunctionResponse {
                        id: calls[0].id.clone(),
                        name: Some("by_hand".into()),
                        response: Some(json!({"result": "done by hand"})),
                        ..FunctionResponse::default()
                    };
                    sender.send_tool_response(vec![response]).await.unwrap();
                }
                Event::OutputTranscript { text, .. } => said.push_str(&text),
                Event::TurnComplete { .. } => break,
                Event::Closed(close) => panic!("{close:?}"),
                _ => {}
            }
        }
    }
    assert!(said.contains(r#"{"TEXT":"PARIS"}"#), "{said}");
    assert!(said.contains("done by hand"), "{said}");
    let mut seen = Vec::new();
    while let Some(e) = tool_events.try_next() {
        seen.push(e);
        assert_eq!(tool_events.running(), seen.len() % 2, "{seen:?}");
    }
    assert!(
        matches!(seen.as_slice(), [ToolEvent::Started { name, .. }, ToolEvent::Responded { .. }] if name == "shout"),
        "only the command's call is the dispatcher's: {seen:?}"
    );
    sender.close().await.unwrap();
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_dispatcher_does_not_keep_the_session_alive() {
    // Real-time pacing: the model is still talking when the application lets the session go.
    let emulator = emulator(1.0, None).await;
    let (sender, mut events, mut tool_events) =
        session(&emulator, MODEL_31, &Tools::new().with(book_hotel())).await;
    sender
        .send_text("Tell me a story about the sea")
        .await
        .unwrap();
    let first = tokio::time::timeout(WAIT, events.next()).await.unwrap();
    assert!(first.is_some());
    drop((sender, events));
    // The driver notices at its next event that nobody listens or sends any more, and closes;
    // the dispatcher's own handle on the session does not keep it open.
    let end = tokio::time::timeout(WAIT, tool_events.next()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
    emulator.shutdown().await;
}
