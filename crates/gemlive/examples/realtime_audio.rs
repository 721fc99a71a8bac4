//! Realtime audio in: a WAV file streamed in real time as if it were the microphone
//! (`-- question.wav`, 16 kHz mono is native; any WAV is resampled), then the spoken answer.
use gemlive::audio::{AudioSource, ChunkDuration, WavSource};
use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/question.wav");
    let path = std::env::args().nth(1).unwrap_or_else(|| default.into());
    let client = Client::from_env_or_emulator().await?;
    let config = LiveConfig::audio().transcription().input_transcription();
    let model = "gemini-3.8-live";
    let mut session = client.live().connect(model, config).await?;
    let mut mic = WavSource::open(&path, ChunkDuration::from_millis(40)?)?;
    println!("streaming {path}");
    while let Some(chunk) = mic.next_chunk()? {
        session.send_realtime_input(&chunk).await?;
        tokio::time::sleep(chunk.duration()).await;
    }
    // The microphone paused: the server's voice detection ends the user's turn.
    session
        .send_realtime_input(RealtimeInput::AudioStreamEnd)
        .await?;
    let mut wav = Wav::create("answer.wav")?;
    let mut turn = session.receive();
    while let Some(event) = turn.next().await? {
        wav.write(&event)?;
        match &event {
            Event::InputTranscript { text, .. } => println!("you said: {text}"),
            _ => {
                if let Some(text) = event.text() {
                    println!("gemini: {text}");
                }
            }
        }
    }
    println!(
        "{:.1} s of answer in answer.wav",
        wav.finish()?.as_secs_f64()
    );
    Ok(())
}
