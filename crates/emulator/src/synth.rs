//! Output speech: 24 kHz PCM16 mono whose length fits the words, either a deterministic synthetic
//! signal or `espeak-ng`, generated lazily one chunk at a time: a reply of any length costs the
//! memory of one chunk and of its text.

use std::f64::consts::PI;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Voice;
use crate::ids::hash_str;

/// Output sample rate, always 24 kHz like Google's.
pub(crate) const OUTPUT_RATE: u32 = 24_000;

const MS: usize = OUTPUT_RATE as usize / 1000;

/// Samples in `d` at the output rate.
pub(crate) fn samples(d: Duration) -> usize {
    usize::try_from(u128::from(OUTPUT_RATE) * d.as_micros() / 1_000_000).unwrap_or(usize::MAX)
}

/// The duration of `n` samples at the output rate.
pub(crate) fn duration(n: usize) -> Duration {
    Duration::from_secs_f64(n as f64 / f64::from(OUTPUT_RATE))
}

/// One chunk of speech: samples and the words that start in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) pcm: Vec<i16>,
    pub(crate) words: Vec<String>,
    /// No speech follows this chunk.
    pub(crate) last: bool,
}

/// Speech generated on demand.
#[derive(Debug)]
pub(crate) struct SpeechStream {
    source: Source,
    /// Samples handed out so far.
    pos: usize,
    total: usize,
}

#[derive(Debug)]
enum Source {
    /// The synthetic voice, one word at a time.
    Synthetic {
        words: Vec<String>,
        next: usize,
        /// The current word's samples (burst and pause) and how many are handed out.
        buf: Vec<i16>,
        used: usize,
    },
    /// Ready samples (a WAV file, espeak-ng) with the sample where each word starts.
    Pcm {
        pcm: Arc<[i16]>,
        words: Vec<(usize, String)>,
        next: usize,
    },
    /// `unit` over and over; the text is said once, at the start.
    Repeat {
        unit: Arc<[i16]>,
        text: Option<String>,
    },
}

impl SpeechStream {
    /// `text` in `voice` (espeak-ng falls back to the synthetic voice if it fails).
    pub(crate) fn speak(text: &str, voice: Voice) -> Self {
        if voice == Voice::Espeak
            && let Some((pcm, words)) = espeak(text)
        {
            return Self::pcm(pcm.into(), words);
        }
        Self::synthetic(text)
    }

    /// The synthetic voice: one tone burst per word (pitch from the word's hash, 65 ms per
    /// character), 60 ms between words and 150 ms more after punctuation: about 2.5 words per
    /// second, like speech.
    pub(crate) fn synthetic(text: &str) -> Self {
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        let total = words.iter().map(|w| word_samples(w)).sum();
        Self {
            source: Source::Synthetic {
                words,
                next: 0,
                buf: Vec::new(),
                used: 0,
            },
            pos: 0,
            total,
        }
    }

    /// Given samples; `words` are `(first sample, word)` in order.
    pub(crate) fn pcm(pcm: Arc<[i16]>, words: Vec<(usize, String)>) -> Self {
        let total = pcm.len();
        Self {
            source: Source::Pcm {
                pcm,
                words,
                next: 0,
            },
            pos: 0,
            total,
        }
    }

    /// Exactly `len` of `unit` (from [`repeat_unit`]) over and over, saying `text` once.
    pub(crate) fn repeated(text: &str, unit: Arc<[i16]>, len: Duration) -> Self {
        let total = if unit.is_empty() { 0 } else { samples(len) };
        Self {
            source: Source::Repeat {
                unit,
                text: Some(text.to_owned()),
            },
            pos: 0,
            total,
        }
    }

    /// The whole speech's length.
    pub(crate) fn total(&self) -> Duration {
        duration(self.total)
    }

    /// The next chunk of at most `max` samples (at least one), or `None` at the end.
    pub(crate) fn next_chunk(&mut self, max: usize) -> Option<Chunk> {
        let want = max.max(1).min(self.total - self.pos);
        if want == 0 {
            return None;
        }
        let mut pcm = Vec::with_capacity(want);
        let mut words = Vec::new();
        match &mut self.source {
            Source::Synthetic {
                words: all,
                next,
                buf,
                used,
            } => {
                while pcm.len() < want {
                    if *used == buf.len() {
                        let Some(word) = all.get(*next) else { break };
                        *buf = word_pcm(word);
                        *used = 0;
                        words.push(word.clone());
                        *next += 1;
                    }
                    let n = (want - pcm.len()).min(buf.len() - *used);
                    pcm.extend_from_slice(&buf[*used..*used + n]);
                    *used += n;
                }
                if *used == buf.len() && *next == all.len() {
                    *buf = Vec::new();
                }
            }
            Source::Pcm {
                pcm: all,
                words: starts,
                next,
            } => {
                let end = self.pos + want;
                pcm.extend_from_slice(&all[self.pos..end]);
                while let Some((at, w)) = starts.get(*next) {
                    if *at >= end && end < self.total {
                        break;
                    }
                    words.push(w.clone());
                    *next += 1;
                }
            }
            Source::Repeat { unit, text } => {
                words.extend(text.take());
                while pcm.len() < want {
                    let offset = (self.pos + pcm.len()) % unit.len();
                    let n = (want - pcm.len()).min(unit.len() - offset);
                    pcm.extend_from_slice(&unit[offset..offset + n]);
                }
            }
        }
        self.pos += pcm.len();
        Some(Chunk {
            pcm,
            words,
            last: self.pos >= self.total,
        })
    }
}

/// Samples of one synthetic word: its burst and the pause after it.
fn word_samples(word: &str) -> usize {
    let letters = word.chars().filter(|c| c.is_alphanumeric()).count().max(2);
    letters * 65 * MS + pause_ms(word) * MS
}

fn pause_ms(word: &str) -> usize {
    if word.ends_with(['.', ',', '?', '!', ';', ':']) {
        210
    } else {
        60
    }
}

fn word_pcm(word: &str) -> Vec<i16> {
    let total = word_samples(word);
    let len = total - pause_ms(word) * MS;
    let f0 = 110.0 + (hash_str(&word.to_lowercase()) % 100) as f64;
    let ramp = (10 * MS) as f64;
    let mut pcm = Vec::with_capacity(total);
    for i in 0..len {
        let t = i as f64 / f64::from(OUTPUT_RATE);
        let env = (i as f64 / ramp).min((len - i) as f64 / ramp).min(1.0);
        let s = (2.0 * PI * f0 * t).sin() * 0.6
            + (4.0 * PI * f0 * t).sin() * 0.3
            + (6.0 * PI * f0 * t).sin() * 0.1;
        pcm.push((s * env * 0.3 * 32767.0) as i16);
    }
    pcm.resize(total, 0);
    pcm
}

/// How long the synthetic voice takes to say `text`.
pub(crate) fn synthetic_duration(text: &str) -> Duration {
    duration(text.split_whitespace().map(word_samples).sum())
}

/// What [`SpeechStream::repeated`] repeats: the synthetic voice saying `text` (a word when
/// `text` is silent).
pub(crate) fn repeat_unit(text: &str) -> Vec<i16> {
    let text = if text.split_whitespace().next().is_some() {
        text
    } else {
        "audio"
    };
    text.split_whitespace().flat_map(word_pcm).collect()
}

/// Samples, and the sample where each word starts.
type Spoken = (Vec<i16>, Vec<(usize, String)>);

/// Runs `espeak-ng --stdout` and converts its WAV to 24 kHz; word starts are spread by character
/// count.
fn espeak(text: &str) -> Option<Spoken> {
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
    Some((pcm, words))
}

/// Minimal RIFF/WAVE reader for mono PCM16 (espeak writes a streaming header with an unknown data
/// size).
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
    if from == to || x.is_empty() || from == 0 {
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

    fn drain(mut s: SpeechStream, max: usize) -> Vec<Chunk> {
        std::iter::from_fn(|| s.next_chunk(max)).collect()
    }

    #[test]
    fn repeated_speech_has_the_exact_length() {
        let unit: Arc<[i16]> = repeat_unit("la").into();
        assert_eq!(repeat_unit(" "), repeat_unit("audio"));
        let s = SpeechStream::repeated("la", unit.clone(), Duration::from_millis(2_500));
        assert_eq!(s.total(), Duration::from_millis(2_500));
        let chunks = drain(s, 4_800);
        let pcm: Vec<i16> = chunks.iter().flat_map(|c| c.pcm.clone()).collect();
        assert_eq!(pcm.len(), 60_000);
        assert_eq!(&pcm[..unit.len()], &unit[..]);
        assert_eq!(&pcm[unit.len()..2 * unit.len()], &unit[..]);
        assert_eq!(chunks[0].words, ["la"]);
        assert!(chunks[1..].iter().all(|c| c.words.is_empty()));
        assert!(chunks.last().unwrap().last && !chunks[0].last);
    }

    #[test]
    fn synthetic_is_deterministic_and_fits_the_words() {
        let text = "Hello there, how are you?";
        let a = drain(SpeechStream::synthetic(text), 4_800);
        assert_eq!(a, drain(SpeechStream::synthetic(text), 4_800));
        let n: usize = a.iter().map(|c| c.pcm.len()).sum();
        assert_eq!(duration(n), synthetic_duration(text));
        let secs = duration(n).as_secs_f64();
        assert!((1.2..3.0).contains(&secs), "{secs} s for five words");
        let words: Vec<String> = a.iter().flat_map(|c| c.words.clone()).collect();
        assert_eq!(words.join(" "), text);
        // The same samples whatever the chunk size.
        let whole: Vec<i16> = a.iter().flat_map(|c| c.pcm.clone()).collect();
        let small: Vec<i16> = drain(SpeechStream::synthetic(text), 7)
            .iter()
            .flat_map(|c| c.pcm.clone())
            .collect();
        assert_eq!(whole, small);
        assert!(synthetic_duration(&"word ".repeat(50)) > synthetic_duration(text) * 8);
    }

    #[test]
    fn given_samples_carry_their_word_starts() {
        let pcm: Arc<[i16]> = vec![1; 100].into();
        let s = SpeechStream::pcm(
            pcm,
            vec![(0, "a".into()), (30, "b".into()), (99, "c".into())],
        );
        let chunks = drain(s, 40);
        let words: Vec<Vec<String>> = chunks.iter().map(|c| c.words.clone()).collect();
        assert_eq!(words, [vec!["a", "b"], vec![], vec!["c"]]);
        assert_eq!(
            chunks.iter().map(|c| c.pcm.len()).collect::<Vec<_>>(),
            [40, 40, 20]
        );
    }

    #[test]
    fn espeak_speaks_when_installed() {
        let Some((pcm, _)) = espeak("Testing one two three.") else {
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
        let secs = duration(pcm.len()).as_secs_f64();
        assert!((0.5..5.0).contains(&secs), "{secs}");
        assert!(pcm.iter().any(|&v| v.unsigned_abs() > 1000));
    }
}
