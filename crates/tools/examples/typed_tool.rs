//! A typed Rust tool in a Live session: the model calls `get_weather`, the dispatcher runs it
//! and sends its result, and the model speaks it.
//!
//! ```text
//! cargo run -p gemlive-tools --example typed_tool                       # the emulator, in process
//! GEMINI_API_KEY=... cargo run -p gemlive-tools --example typed_tool -- https://generativelanguage.googleapis.com
//! ```

use gemlive_tools::protocol::wire::{AudioTranscriptionConfig, Setup};
use gemlive_tools::protocol::{Backend, Event};
use gemlive_tools::transport::{Auth, ClientConfig, Endpoint, connect};
use gemlive_tools::{Tool, ToolEvent, Tools};
use schemars::JsonSchema;
use serde::Deserialize;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The tool: its argument type and the function (doc comments become the schema's descriptions).
#[derive(Deserialize, JsonSchema)]
struct Weather {
    /// The city, e.g. "Paris".
    city: String,
}

fn tools() -> Tools {
    Tools::new().with(Tool::typed(
        "get_weather",
        "Current weather of a city",
        |w: Weather| async move { Ok::<_, String>(format!("sunny and 21 degrees in {}", w.city)) },
    ))
}

/// One question, answered with the tool; returns what the model said.
pub(crate) async fn run(endpoint: Endpoint, auth: Auth) -> Result<String, BoxError> {
    let mut setup = Setup::new("gemini-3.1-flash-live-preview");
    setup.output_audio_transcription = Some(AudioTranscriptionConfig::default());
    let dispatcher = tools().declare(&mut setup, Backend::GeminiApi)?;
    let mut config = ClientConfig::new(endpoint, auth, setup);
    config.event_tap = Some(dispatcher.event_tap());
    let (sender, mut events) = connect(config).await?;
    let mut tool_events = dispatcher.start(&sender);

    sender.send_text("What is the weather in Paris?").await?;
    let (mut said, mut answered) = (String::new(), false);
    loop {
        tokio::select! {
            biased;
            Some(ToolEvent::Responded { name, response, .. }) = tool_events.next() => {
                println!("{name} answered {response}");
                answered = true;
            }
            event = events.next() => match event {
                Some(Event::ToolCall { calls }) => println!("model calls {}", calls[0].name),
                Some(Event::OutputTranscript { text, .. } | Event::Text { text, .. }) => {
                    said.push_str(&text);
                }
                // Done once the model has spoken after the answer.
                Some(Event::TurnComplete { .. }) if answered && !said.is_empty() => break,
                Some(Event::Closed(close)) => return Err(close.to_string().into()),
                Some(_) => {}
                None => break,
            },
        }
    }
    println!("model says: {said}");
    sender.close().await?;
    Ok(said)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match std::env::args().nth(1) {
        Some(url) => run(Endpoint::custom(&url)?, Auth::from_env()?).await?,
        None => {
            let emulator = emulator::Emulator::start(emulator::EmulatorConfig::default()).await?;
            let said = run(
                Endpoint::custom(&emulator.base_url())?,
                Auth::api_key("any"),
            )
            .await?;
            emulator.shutdown().await;
            said
        }
    };
    Ok(())
}
