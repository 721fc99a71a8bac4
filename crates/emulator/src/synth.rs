//! Output speech: 24 kHz PCM16 mono whose length fits the words, either a deterministic synthetic signal or
//! `espeak-ng`.

use std::f64::consts::PI;
use std::time::Duration;

use crate::config::Voice;
use crate::ids::hash_str;

/// Output sample rate, always 24 kHz like Google's.
pub(crate) const OUTPUT_RATE: u32 = 24_000;

/// Synthesized speech with the sample offset where each word starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Speech {
    pub(crate) pcm: Vec<i16>,
    /// `(first sample, word)` in order; the transcript is these words joined by spaces.
    pub(crate) words: Vec<(usize, String)>,
}

pub(crate) fn speak(text: &str, voice: Voice) -> Speech {
    match voice {
        Voice::Espeak => espeak(text).unwrap_or_else(|| synthetic(text)),
        Voice::Synthetic => synthetic(text),
    }
}

const MS: usize = OUTPUT_RATE as usize / 1000;

/// One tone burst per word (pitch from the word's hash, 65 ms per character), 60 ms between words and
/// 150 ms more after punctuation: about 2.5 words per second, like speech.
pub(crate) fn synthetic(text: &str) -> Speech {
    let mut pcm = Vec::new();
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        words.push((pcm.len(), word.to_owned()));
        let letters = word.chars().filter(|c| c.is_alphanumeric()).count().max(2);
        let len = letters * 65 * MS;
        let f0 = 110.0 + (hash_str(&word.to_lowercase()) % 100) as f64;
        let ramp = (10 * MS) as f64;
        for i in 0..len {
            let t = i as f64 / f64::from(OUTPUT_RATE);
            let env = (i as f64 / ramp).min((len - i) as f64 / ramp).min(1.0);
            let s = (2.0 * PI * f0 * t).sin() * 0.6
                + (4.0 * PI * f0 * t).sin() * 0.3
                + (6.0 * PI * f0 * t).sin() * 0.1;
            pcm.push((s * env * 0.3 * 32767.0) as i16);
        }
        let pause = if word.ends_with(['.', ',', '?', '!', ';', ':']) {
            210
        } else {
            60
        };
        pcm.resize(pcm.len() + pause * MS, 0);
    }
    Speech { pcm, words }
}

/// What [`repeated`] repeats: the synthetic voice saying `text` (a word when `text` is silent).
pub(crate) fn repeat_unit(text: &str) -> Vec<i16> {
    let once = synthetic(text).pcm;
    if once.is_empty() {
        synthetic("audio").pcm
    } else {
        once
    }
}

/// Exactly `len` of `unit` (from [`repeat_unit`]) over and over; the transcript is `text` once, at
/// the start.
pub(crate) fn repeated(text: &str, unit: &[i16], len: Duration) -> Speech {
    let samples = (u128::from(OUTPUT_RATE) * len.as_micros() / 1_000_000) as usize;
    let pcm = unit.iter().copied().cycle().take(samples).collect();
    Speech {
        pcm,
        words: vec![(0, text.to_owned())],
    }
}

/// Runs `espeak-ng --stdout` and converts its WAV to 24 kHz; word starts are spread by character count.
fn espeak(text: &str) -> Option<Speech> {
    let out = std::process::Command::new("espeak-ng")
        .args(["--stdout", "-v", "en-us", "--", text])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let (rate, samples) = parse_wav(&out.stdout)?;
    let pcm = resample(&samples, rate, OUTPUT_RATE);
    let total: usize = text.split_whitespace().map(|w| w.chars().count() + 1).sum();
    let mut acc = 0;
    let words = text
        .split_whitespace()
        .map(|w| {
            let start = pcm.len() * acc / total.max(1);
            acc += w.chars().count() + 1;
            (start, w.to_owned())
        })
        .collect();
    Some(Speech { pcm, words })
}

/// Minimal RIFF/WAVE reader for mono PCM16 (espeak writes a streaming header with an unknown data size).
pub(crate) fn parse_wav(b: &[u8]) -> Option<(u32, Vec<i16>)> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut i = 12;
    let mut rate = None;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let size = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        let body = i + 8;
        if id == b"fmt " {
            rate = Some(u32::from_le_bytes(
                b.get(body + 4..body + 8)?.try_into().ok()?,
            ));
        } else if id == b"data" {
            let end = body.saturating_add(size).min(b.len());
            let samples = b[body..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Some((rate?, samples));
        }
        i = body.checked_add(size)? + (size & 1);
    }
    None
}

/// Linear-interpolation resampling (good enough for a voice preview).
pub(crate) fn resample(x: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let n = (x.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    (0..n)
        .map(|i| {
            let pos = i as f64 * f64::from(from) / f64::from(to);
            let j = pos as usize;
            let frac = pos - j as f64;
            let a = f64::from(x[j.min(x.len() - 1)]);
            let b = f64::from(x[(j + 1).min(x.len() - 1)]);
            (a + (b - a) * frac) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_speech_has_the_exact_length() {
        let once = synthetic("la").pcm;
        assert_eq!(repeat_unit("la"), once);
        let s = repeated("la", &once, Duration::from_millis(2_500));
        assert_eq!(s.pcm.len(), 60_000);
        assert_eq!(&s.pcm[..once.len()], &once[..]);
        assert_eq!(&s.pcm[once.len()..2 * once.len()], &once[..]);
        assert_eq!(s.words, vec![(0, "la".to_owned())]);
        assert_eq!(repeat_unit(" "), synthetic("audio").pcm);
    }

    #[test]
    fn synthetic_is_deterministic_and_fits_the_words() {
        let a = synthetic("Hello there, how are you?");
        assert_eq!(a, synthetic("Hello there, how are you?"));
        let secs = a.pcm.len() as f64 / f64::from(OUTPUT_RATE);
        assert!((1.2..3.0).contains(&secs), "{secs} s for five words");
        assert_eq!(a.words.len(), 5);
        assert!(a.words.windows(2).all(|w| w[0].0 < w[1].0));
        let long = synthetic(&"word ".repeat(50));
        assert!(long.pcm.len() > 8 * a.pcm.len());
    }

    #[test]
    fn espeak_speaks_when_installed() {
        let Some(s) = espeak("Testing one two three.") else {
            assert!(
                std::process::Command::new("espeak-ng")
                    .arg("--version")
                    .output()
                    .is_err(),
                "espeak-ng failed"
            );
            // The rule of tests/support/prereq.rs: CI installs every tool.
            assert!(
                std::env::var_os("GEMLIVE_CI").is_none(),
                "espeak-ng is missing, and CI (GEMLIVE_CI) requires it: apt-get install espeak-ng"
            );
            eprintln!("skipped: espeak-ng is missing (apt-get install espeak-ng)");
            return;
        };
        let secs = s.pcm.len() as f64 / f64::from(OUTPUT_RATE);
        assert!((0.5..5.0).contains(&secs), "{secs}");
        assert!(s.pcm.iter().any(|&v| v.unsigned_abs() > 1000));
    }
}
