//! Quickstart step 1: send text, get text back.
//!
//! ```text
//! GEMINI_API_KEY=... cargo run -p gemlive-transport --example text_to_text -- \
//!     https://generativelanguage.googleapis.com "Hello? Gemini are you there?"
//! ```
//!
//! Models that only speak (every current Gemini API Live model) are asked for
//! AUDIO with output transcription, and the transcript is printed; models that
//! can write are asked for TEXT.

#[path = "common/mod.rs"]
pub(crate) mod common;

use gemlive_transport::connect;
use gemlive_transport::protocol::models::{bare_id, lookup};
use gemlive_transport::protocol::wire::{GenerationConfig, Modality, Setup};
use gemlive_transport::protocol::{Backend, Event};

/// Runs one turn and returns the model's answer.
pub(crate) async fn run(args: common::Args) -> Result<String, common::BoxError> {
    let audio_only = lookup(bare_id(&args.model), Backend::GeminiApi).is_none_or(|p| p.audio_only);
    let mut setup = Setup::new(args.model.as_str());
    let modality = if audio_only {
        setup.output_audio_transcription = Some(Default::default());
        Modality::Audio
    } else {
        Modality::Text
    };
    setup.generation_config = Some(GenerationConfig {
        response_modalities: Some(vec![modality]),
        ..GenerationConfig::default()
    });

    let (sender, mut events) = connect(common::config(&args, setup)?).await?;
    sender.send_text(args.prompt.as_str()).await?;
    let mut answer = String::new();
    let mut turn = events.next_turn();
    while let Some(event) = turn.next().await? {
        match event {
            Event::Text {
                text,
                thought: false,
            }
            | Event::OutputTranscript { text, .. } => {
                print!("{text}");
                answer.push_str(&text);
            }
            _ => {}
        }
    }
    println!();
    sender.close().await?;
    Ok(answer)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match common::parse(std::env::args().skip(1)) {
        Ok(args) => run(args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
