//! Quickstart step 2, text to audio: the spoken answer goes to `audio.wav` (24 kHz mono), with
//! the MIME type of the first chunk and a dot per chunk (on standard error) as it arrives.
use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let live = Client::from_env_or_emulator().await?.live();
    let mut session = live.connect("gemini-3.8-live", LiveConfig::audio()).await?;
    let mut wav = Wav::create("audio.wav")?;
    let message = "Hello? Gemini are you there?";
    println!(">  {message}\n");
    session.send_realtime_input(message).await?;
    let mut turn = session.receive();
    while let Some(event) = turn.next().await? {
        if let Some(mime_type) = event.audio_mime_type().filter(|_| wav.duration().is_zero()) {
            println!("{mime_type}");
        }
        if wav.write(&event)? {
            eprint!(".");
        }
    }
    println!(
        "\n{:.1} s of audio in audio.wav",
        wav.finish()?.as_secs_f64()
    );
    Ok(())
}
