//! Quickstart step 4, resumable sessions: ask, quit, then resume the conversation with its handle
//! in a new session and ask what the last question was.
use std::io::Write;

use gemlive::prelude::*;

async fn chat(
    client: &Client,
    turns: &[&str],
    handle: Option<String>,
) -> gemlive::Result<Option<String>> {
    println!("Connecting with handle: {handle:?}");
    let config = LiveConfig::audio().transcription().resumption(handle);
    let model = "gemini-3.8-live";
    let mut session = client.live().connect(model, config).await?;
    println!("resumed: {}", session.resumed());
    for (i, message) in turns.iter().enumerate() {
        println!("\n> {message}");
        session.send_realtime_input(*message).await?;
        let mut wav = Wav::create(format!("resumable_{i}.wav"))?;
        let mut turn = session.receive();
        while let Some(event) = turn.next().await? {
            wav.write(&event)?;
            if let Some(text) = event.text() {
                print!("{text}");
                std::io::stdout().flush().ok();
            }
        }
        println!();
    }
    // Quit: close the session and keep its latest handle.
    session.close().await?;
    Ok(session.resumption_handle())
}

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let client = Client::from_env_or_emulator().await?;
    let handle = chat(
        &client,
        &["Hello, what's your name?", "What is the capital of Brazil?"],
        None,
    )
    .await?;
    println!("\nlast handle: {}", handle.as_deref().unwrap_or("none"));
    chat(&client, &["What was my last question?"], handle).await?;
    Ok(())
}
