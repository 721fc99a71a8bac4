//! Quickstart step 2: send text, get speech back as a WAV file.
//!
//! ```text
//! GEMINI_API_KEY=... cargo run -p gemlive-transport --example text_to_audio -- \
//!     https://generativelanguage.googleapis.com --out audio.wav "Hello? Gemini are you there?"
//! ```

#[path = "common/mod.rs"]
pub(crate) mod common;

use std::path::PathBuf;

use gemlive_transport::connect;
use gemlive_transport::protocol::Event;
use gemlive_transport::protocol::wire::{GenerationConfig, Modality, Setup};

/// What one turn produced.
#[derive(Debug)]
pub(crate) struct Spoken {
    pub(crate) wav: PathBuf,
    pub(crate) samples: usize,
    pub(crate) sample_rate: u32,
    pub(crate) transcript: String,
}

/// Runs one turn and writes the model's speech to `--out` (default `audio.wav`).
pub(crate) async fn run(args: common::Args) -> Result<Spoken, common::BoxError> {
    let mut setup = Setup::new(args.model.as_str());
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![Modality::Audio]),
        ..GenerationConfig::default()
    });
    setup.output_audio_transcription = Some(Default::default());

    let (sender, mut events) = connect(common::config(&args, setup)?).await?;
    sender.send_text(args.prompt.as_str()).await?;
    let mut pcm = Vec::new();
    let mut sample_rate = 24_000;
    let mut transcript = String::new();
    let mut turn = events.next_turn();
    while let Some(event) = turn.next().await? {
        match event {
            Event::Audio {
                data,
                sample_rate: rate,
                ..
            } => {
                sample_rate = rate;
                pcm.extend_from_slice(&data);
            }
            Event::OutputTranscript { text, .. } => transcript.push_str(&text),
            _ => {}
        }
    }
    sender.close().await?;

    let wav = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("audio.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec)?;
    for sample in pcm.chunks_exact(2) {
        writer.write_sample(i16::from_le_bytes([sample[0], sample[1]]))?;
    }
    writer.finalize()?;
    Ok(Spoken {
        wav,
        samples: pcm.len() / 2,
        sample_rate,
        transcript,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match common::parse(std::env::args().skip(1)) {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(spoken) => {
            println!(
                "{}\nwrote {} ({} samples, {:.2} s at {} Hz)",
                spoken.transcript,
                spoken.wav.display(),
                spoken.samples,
                spoken.samples as f64 / f64::from(spoken.sample_rate),
                spoken.sample_rate
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
