use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::script::Script;

fn profile(model: &str, backend: protocol::Backend) -> protocol::models::ModelProfile {
    protocol::models::lookup(model, backend).unwrap()
}

pub(crate) fn setup(audio: bool) -> SessionSetup {
    SessionSetup {
        vertex: false,
        layout: Layout::new(
            &profile("gemini-3.8-live", protocol::Backend::GeminiApi),
            false,
        ),
        explicit_vad_signal: false,
        voice_activity: true,
        audio_out: audio,
        input_transcription: true,
        output_transcription: true,
        functions: vec![],
        google_search: false,
        vad: Some(VadConfig::new(true, true, None, Some(300))),
        no_interruption: false,
        resumption: false,
        compression: None,
        context_limit: 131_072,
        max_output_tokens: 65_536,
        initial_history_in_client_content: false,
        client_content_only_initial: false,
        system_instruction: None,
    }
}

fn opts() -> EngineOptions {
    EngineOptions {
        speed: 1.0,
        audio_chunk: crate::config::DEFAULT_AUDIO_CHUNK,
        voice: Voice::Synthetic,
        seed: 1,
        script: None,
    }
}

fn drain(e: &mut Engine, now: Instant) -> Vec<Out> {
    let mut v = Vec::new();
    while let Poll::Send(o) = e.poll(now) {
        v.push(o);
    }
    v
}

/// One second of a loud tone at 16 kHz, which the voice detection takes for speech.
fn voiced_second() -> Input {
    let pcm = (0..16_000)
        .map(|i| ((f64::from(i) * 0.2).sin() * 8000.0) as i16)
        .collect();
    Input::Audio { pcm, rate: 16_000 }
}

fn text_of(out: &[Out]) -> String {
    out.iter()
        .filter_map(|o| match o {
            Out::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn text_turn_then_memory() {
    let mut e = Engine::new(setup(false), opts(), Memory::default());
    let t0 = Instant::now();
    e.handle(Input::Text("What is 10 + 10?".into()), t0);
    let out = drain(&mut e, t0 + Duration::from_secs(1));
    assert_eq!(text_of(&out), "10 + 10 is 20.");
    assert!(matches!(out[out.len() - 2], Out::GenerationComplete));
    assert!(matches!(
        out[out.len() - 1],
        Out::TurnComplete {
            usage: Usage { response: 4, .. },
            ..
        }
    ));
    e.handle(Input::Text("What was my last question?".into()), t0);
    let out = drain(&mut e, t0 + Duration::from_secs(2));
    assert_eq!(
        text_of(&out),
        "Your last question was: \"What is 10 + 10?\""
    );
}

#[test]
fn scripted_audio_length_in_chunks_of_the_configured_size() {
    let script = Script::from_json(
        r#"{"rules": [{"reply": {"text": "la", "audio_ms": 1010}}]}"#,
        std::path::Path::new("."),
    )
    .unwrap();
    let opts = EngineOptions {
        speed: f64::INFINITY,
        audio_chunk: Duration::from_millis(20),
        script: Some(Arc::new(script)),
        ..opts()
    };
    let mut e = Engine::new(setup(true), opts, Memory::default());
    let t0 = Instant::now();
    e.handle(Input::Text("go".into()), t0);
    let chunks: Vec<usize> = drain(&mut e, t0)
        .iter()
        .filter_map(|o| match o {
            Out::Audio { pcm, .. } => Some(pcm.len()),
            _ => None,
        })
        .collect();
    // 1,010 ms of 24 kHz PCM16: 50 chunks of 20 ms (960 bytes) and a last one of 10 ms.
    assert_eq!(chunks.len(), 51);
    assert!(chunks[..50].iter().all(|&n| n == 960));
    assert_eq!(chunks[50], 480);
}

#[test]
fn audio_is_paced_and_barge_in_interrupts() {
    let mut e = Engine::new(setup(true), opts(), Memory::default());
    let t0 = Instant::now();
    e.handle(
        Input::Text("Tell me a long story about the sea and the wind".into()),
        t0,
    );
    let first = drain(&mut e, t0);
    assert_eq!(
        first.len(),
        4,
        "the first chunks go at once (600 ms ahead of playback), the rest in real time: {first:?}"
    );
    let Poll::Wait(Some(next)) = e.poll(t0) else {
        panic!("expected a wait")
    };
    assert_eq!(next - t0, crate::config::DEFAULT_AUDIO_CHUNK);
    e.handle(voiced_second(), next);
    let out = drain(&mut e, next);
    assert!(
        matches!(out[0], Out::VoiceActivity { start: true, .. }),
        "{out:?}"
    );
    assert_eq!(out[1], Out::Interrupted);
    assert!(matches!(out[2], Out::TurnComplete { .. }));
    assert_eq!(e.memory().history[1].role, Role::Model);
}

#[test]
fn a_stream_that_stops_in_speech_ends_the_turn_in_real_time() {
    let mut setup = setup(false);
    setup.vad = Some(VadConfig::new(false, false, None, None));
    let mut e = Engine::new(setup, opts(), Memory::default());
    let t0 = Instant::now();
    e.handle(voiced_second(), t0);
    assert!(matches!(
        drain(&mut e, t0)[..],
        [Out::VoiceActivity { start: true, .. }]
    ));
    assert_eq!(e.poll(t0), Poll::Wait(Some(t0 + Duration::from_secs(1))));
    let out = drain(&mut e, t0 + Duration::from_secs(1));
    assert!(
        matches!(out[0], Out::VoiceActivity { start: false, .. }),
        "{out:?}"
    );
    assert!(matches!(&out[1], Out::InputTranscript { text, .. } if text == "[speech: 1.0 s]"));
}

#[test]
fn replies_are_capped_at_the_output_limit_and_generated_lazily() {
    let mut setup = setup(true);
    setup.max_output_tokens = 100;
    let opts = EngineOptions {
        speed: f64::INFINITY,
        ..opts()
    };
    let mut e = Engine::new(setup, opts, Memory::default());
    let t0 = Instant::now();
    let long = "word ".repeat(20_000);
    e.handle(Input::Text(format!("Please repeat: {long}")), t0);
    assert!(
        e.queue.len() < 10,
        "audio is made chunk by chunk, not queued whole"
    );
    let out = drain(&mut e, t0);
    let Some(Out::TurnComplete { usage, .. }) = out.last() else {
        panic!("{:?}", out.last())
    };
    assert!((90..=100).contains(&usage.response), "{usage:?}");
}

#[test]
fn a_spoken_turn_on_3_1_is_laid_out_as_google_recorded_it() {
    let mut setup = setup(true);
    setup.layout = Layout::new(
        &profile(
            "gemini-3.1-flash-live-preview",
            protocol::Backend::GeminiApi,
        ),
        false,
    );
    setup.voice_activity = false;
    let opts = EngineOptions {
        speed: f64::INFINITY,
        ..opts()
    };
    let mut e = Engine::new(setup, opts, Memory::default());
    let t0 = Instant::now();
    e.handle(voiced_second(), t0);
    e.handle(Input::AudioStreamEnd, t0);
    let kinds: Vec<&str> = drain(&mut e, t0)
        .iter()
        .map(|o| match o {
            Out::Resumption { resumable: true } => "R",
            Out::EmptyContent => "{}",
            Out::InputTranscript { .. } => "in",
            Out::Audio { .. } => "audio",
            Out::GenerationComplete => "generated",
            Out::TurnComplete { .. } => "complete",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let mut collapsed = kinds.clone();
    collapsed.dedup();
    // kotlin-genai LiveTest.testAudioInputSimple.mldev: setupComplete, then
    // R {} R inputTranscription {} {} R audio… generationComplete R R R R R turnComplete R.
    assert_eq!(
        collapsed,
        [
            "R",
            "{}",
            "R",
            "in",
            "{}",
            "R",
            "audio",
            "generated",
            "R",
            "complete",
            "R"
        ],
        "{kinds:?}"
    );
}
