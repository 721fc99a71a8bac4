//! Speech-like WAV files for the tests that run the `gemlive` binary.

use std::path::Path;

/// A "spoken" WAV at 16 kHz: `(seconds, loud)` segments, loud ones a voiced buzz that voice
/// detection takes for speech.
pub(crate) fn speech_wav(path: &Path, segments: &[(f64, bool)]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create a WAV");
    let mut n = 0u64;
    for &(secs, loud) in segments {
        for _ in 0..(secs * 16_000.0) as u64 {
            let t = n as f64 / 16_000.0;
            let s = if loud {
                ((2.0 * std::f64::consts::PI * 180.0 * t).sin() * 0.6
                    + (2.0 * std::f64::consts::PI * 360.0 * t).sin() * 0.3)
                    * 0.4
            } else {
                0.0
            };
            w.write_sample((s * 32767.0) as i16).expect("a sample");
            n += 1;
        }
    }
    w.finalize().expect("finish a WAV");
}
