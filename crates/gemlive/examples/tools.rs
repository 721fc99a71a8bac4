//! Tools: a typed Rust function the model can call. The session declares it, runs each call and
//! sends the result back; the model answers with it. `cargo run -p gemlive --example tools`
//! (the Gemini API with GEMINI_API_KEY set, the built-in emulator without).
use gemlive::prelude::*;

/// The tool's arguments: the doc comments become the schema the model reads.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    /// The city, e.g. "Paris".
    city: String,
}

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let weather = Tool::typed("get_weather", "Weather of a city", |c: City| async move {
        Ok::<_, String>(format!("sunny and 21 degrees in {}", c.city))
    });
    let config = LiveConfig::text().tools(weather.blocking()); // the model waits for it
    let live = Client::from_env_or_emulator().await?.live();
    let mut session = live.connect("gemini-3.8-live", config).await?;
    session.send_realtime_input("Weather in Paris?").await?;
    println!("{}", session.receive().text().await?);
    session.close().await
}
