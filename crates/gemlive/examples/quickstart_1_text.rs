//! Quickstart step 1, text to text: `cargo run -p gemlive --example quickstart_1_text`
//! (the Gemini API with GEMINI_API_KEY set, the built-in emulator without).
use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let live = Client::from_env_or_emulator().await?.live();
    let mut session = live.connect("gemini-3.8-live", LiveConfig::text()).await?;
    let message = "Hello? Gemini are you there?";
    println!(">  {message}\n");
    session.send_realtime_input(message).await?;
    // The turn ends when the model's turn is complete.
    let mut turn = session.receive();
    while let Some(text) = turn.next_text().await? {
        println!("- {text}");
    }
    session.close().await
}
