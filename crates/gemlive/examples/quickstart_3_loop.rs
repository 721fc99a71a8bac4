//! Quickstart step 3, the chat loop: turns from the command line
//! (`-- Hello "What's your name?"`) or typed (`q` quits); each answer goes to `audio_N.wav`.
use std::io::{BufRead, Write};

use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let client = Client::from_env_or_emulator().await?;
    let model = "gemini-3.8-live";
    let config = LiveConfig::audio().transcription();
    let mut session = client.live().connect(model, config).await?;
    let mut given = std::env::args().skip(1).peekable();
    let typed = given.peek().is_none();
    let mut lines = std::io::stdin().lock().lines().map_while(Result::ok);
    let mut next_turn = move || {
        if !typed {
            return given.next().inspect(|text| println!("message > {text}"));
        }
        print!("message > ");
        std::io::stdout().flush().ok();
        lines.next().filter(|text| text.trim() != "q")
    };
    if typed {
        println!("Type 'q' to quit");
    }
    let mut index = 0;
    while let Some(text) = next_turn() {
        session.send_realtime_input(text).await?;
        let mut wav = Wav::create(format!("audio_{index}.wav"))?;
        let mut turn = session.receive();
        while let Some(event) = turn.next().await? {
            wav.write(&event)?;
            if let Some(text) = event.text() {
                print!("{text}");
                std::io::stdout().flush().ok();
            }
        }
        println!("\n<Turn complete> audio_{index}.wav");
        index += 1;
    }
    Ok(())
}
