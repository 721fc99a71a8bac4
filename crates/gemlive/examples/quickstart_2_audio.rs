//! Quickstart step 2, text to audio: the spoken answer goes to `audio.wav` (24 kHz mono), with
//! the MIME type of the first chunk and a dot per chunk (on standard error) as it arrives.
use gemlive::prelude::*;

#[tokio::main]
async fn main() -> gemlive::Result<()> {
    let live = Client::from_env_or_emulator().await?.live();
    let mut session = live.connect("gemini-3.8-live", LiveConfig::audio()).await?;
    // The session writes each chunk of speech into the file the moment it arrives.
    let wav = Wav::create("audio.wav")?;
    session.play_into(wav.clone());
    let message = "Hello? Gemini are you there?";
    println!(">  {message}\n");
    session.send_realtime_input(message).await?;
    let mut turn = session.receive();
    let mut chunks = 0;
    while let Some(event) = turn.next().await? {
        if let Some(mime_type) = event.audio_mime_type() {
            if chunks == 0 {
                println!("{mime_type}");
            }
            chunks += 1;
            eprint!(".");
        }
    }
    let seconds = wav.finish()?.as_secs_f64();
    println!("\n{chunks} chunks, {seconds:.1} s of audio in audio.wav");
    Ok(())
}
