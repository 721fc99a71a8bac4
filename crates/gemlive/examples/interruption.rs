//! Interruption: while the model speaks, a new message cuts its answer short
//! (`Event::Interrupted`: a player drops what it has queued); then the new question is answered.
use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let client = Client::from_env_or_emulator().await?;
    let model = "gemini-3.8-live";
    let config = LiveConfig::audio().transcription();
    let mut session = client.live().connect(model, config).await?;
    let sender = session.sender();
    session
        .send_realtime_input("Tell me a long story about a lighthouse keeper.")
        .await?;
    let mut audio_chunks = 0;
    let mut turn = session.receive();
    while let Some(event) = turn.next().await? {
        match event {
            Event::Audio { .. } => {
                audio_chunks += 1;
                if audio_chunks == 1 {
                    println!("the model speaks; interrupting");
                    sender.send_realtime_input("Stop! What is 2 + 2?").await?;
                }
            }
            Event::Interrupted => println!("interrupted after {audio_chunks} audio chunk(s)"),
            _ => {}
        }
    }
    println!("answer: {}", session.receive().text().await?);
    Ok(())
}
