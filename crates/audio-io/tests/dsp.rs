//! Voice activity detection (feature `vad`) and echo cancellation (feature
//! `aec`), on generated audio.
#![cfg(any(feature = "vad", feature = "aec"))]

#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use std::path::Path;
use std::process::Command;

/// A deterministic noise generator (xorshift), in [-1, 1).
fn noise(seed: u64) -> impl FnMut() -> f32 {
    let mut x = seed.max(1);
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// espeak-ng speech at 16 kHz padded with 1 s of silence on each side, or
/// None (with a note; a failure in CI) if espeak-ng or sox is missing.
fn padded_speech(dir: &Path) -> Option<(Vec<i16>, usize)> {
    let raw = dir.join("raw.wav");
    let out = dir.join("speech16k.wav");
    let ok = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "160", "-w"])
        .arg(&raw)
        .arg("Hello Gemini, what is the weather like in Paris today?")
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("sox")
            .arg(&raw)
            .args(["-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer"])
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        prereq::missing(
            "espeak-ng or sox",
            "apt-get install espeak-ng sox, or run .ci/run; the speech part of this test",
        );
        return None;
    }
    let speech: Vec<i16> = hound::WavReader::open(&out)
        .unwrap()
        .into_samples::<i16>()
        .map(Result::unwrap)
        .collect();
    let len = speech.len();
    let mut padded = vec![0i16; 16_000];
    padded.extend(speech);
    padded.extend(vec![0i16; 16_000]);
    Some((padded, len))
}

#[cfg(feature = "vad")]
mod vad {
    use super::*;
    use gemlive_audio::vad::{VoiceDetector, VoiceEvent};
    use gemlive_audio::{Chunk, Error, SampleRate};

    /// Runs the detector over `audio` in 40 ms chunks; returns (time, event).
    fn events(audio: &[i16]) -> Vec<(f32, VoiceEvent)> {
        let mut vad = VoiceDetector::new();
        let mut out = Vec::new();
        for (i, c) in audio.chunks(640).enumerate() {
            let chunk = Chunk::new(SampleRate::LIVE_INPUT, c.to_vec());
            if let Some(e) = vad.process(&chunk).unwrap() {
                out.push((i as f32 * 0.04, e));
            }
        }
        out
    }

    #[test]
    fn silence_and_noise_are_not_speech() {
        assert!(events(&[0; 48_000]).is_empty());
        let mut n = noise(7);
        let hiss: Vec<i16> = (0..48_000).map(|_| (n() * 600.0) as i16).collect();
        assert!(events(&hiss).is_empty(), "{:?}", events(&hiss));
    }

    #[test]
    fn finds_speech_in_espeak_audio() {
        let dir = tempfile::tempdir().unwrap();
        let Some((audio, speech_len)) = padded_speech(dir.path()) else {
            return;
        };
        let ev = events(&audio);
        println!(
            "speech 1.000..{:.3} s, events {ev:?}",
            1.0 + speech_len as f32 / 16_000.0
        );
        let (start, first) = ev[0];
        assert_eq!(first, VoiceEvent::SpeechStarted);
        assert!((0.95..1.4).contains(&start), "started at {start}");
        let (end, last) = *ev.last().unwrap();
        assert_eq!(last, VoiceEvent::SpeechEnded);
        let speech_end = 1.0 + speech_len as f32 / 16_000.0;
        assert!(
            end > speech_end - 0.5 && end < speech_end + 0.6,
            "ended at {end}"
        );
    }

    #[test]
    fn only_16k_is_accepted() {
        let mut vad = VoiceDetector::new();
        let c = Chunk::new(SampleRate::LIVE_OUTPUT, vec![0; 960]);
        assert!(matches!(vad.process(&c), Err(Error::RateMismatch { .. })));
    }
}

#[cfg(feature = "aec")]
mod aec {
    use super::*;
    use gemlive_audio::aec::EchoCanceller;
    use gemlive_audio::{Error, SampleRate, pcm};

    fn energy(x: &[f32]) -> f32 {
        x.iter().map(|s| s * s).sum::<f32>() + 1e-12
    }

    /// The far end (what the speaker plays): espeak speech if available,
    /// else noise with a syllable-rate envelope.
    fn far_end(dir: &Path) -> Vec<f32> {
        match padded_speech(dir) {
            Some((audio, _)) => {
                // Repeat to give the canceller time to converge.
                let one: Vec<f32> = audio.iter().map(|&s| pcm::i16_to_f32(s)).collect();
                one.iter().chain(&one).copied().collect()
            }
            None => {
                let mut n = noise(3);
                (0..16_000 * 8)
                    .map(|i| {
                        let env = (std::f32::consts::TAU * 4.0 * i as f32 / 16_000.0)
                            .sin()
                            .abs();
                        0.3 * env * n()
                    })
                    .collect()
            }
        }
    }

    #[test]
    fn removes_a_delayed_echo() {
        let dir = tempfile::tempdir().unwrap();
        let rate = SampleRate::LIVE_INPUT;
        let far = far_end(dir.path());
        // The microphone hears the speaker 30 ms later, at half level, with a
        // short decaying tail.
        let delay = 480;
        let mut near = vec![0.0f32; far.len()];
        for (i, out) in near.iter_mut().enumerate().skip(delay) {
            let j = i - delay;
            *out = 0.5 * far[j] + if j >= 16 { 0.2 * far[j - 16] } else { 0.0 };
        }
        let mut aec = EchoCanceller::new(rate).unwrap();
        let mut cleaned = Vec::new();
        // Feed it the way the mic worker does: 40 ms at a time, render first.
        for (f, n) in far.chunks(640).zip(near.chunks(640)) {
            aec.render(f).unwrap();
            aec.capture(n, &mut cleaned).unwrap();
        }
        assert_eq!(cleaned.len(), near.len() / 160 * 160);
        let half = cleaned.len() / 2;
        let erle = 10.0 * (energy(&near[half..cleaned.len()]) / energy(&cleaned[half..])).log10();
        println!("ERLE over the second half: {erle:.1} dB");
        assert!(erle > 15.0, "ERLE {erle:.1} dB");

        // Then the far end goes quiet and the user talks: the canceller must
        // let the near-end voice through.
        let talk: Vec<f32> = (0..32_000)
            .map(|i| 0.2 * (std::f32::consts::TAU * 300.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mut out = Vec::new();
        for n in talk.chunks(640) {
            aec.render(&[0.0; 640]).unwrap();
            aec.capture(n, &mut out).unwrap();
        }
        let kept = 10.0 * (energy(&out[16_000..]) / energy(&talk[16_000..])).log10();
        println!("near-end level after the canceller: {kept:.1} dB");
        assert!(kept > -6.0, "near-end speech suppressed ({kept:.1} dB)");
    }

    #[test]
    fn rejects_unsupported_rates() {
        assert!(matches!(
            EchoCanceller::new(SampleRate::LIVE_OUTPUT),
            Err(Error::Processing(_))
        ));
    }
}
