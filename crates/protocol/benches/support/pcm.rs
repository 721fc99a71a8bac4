//! Deterministic test signals.

/// PCM16LE that looks like speech to a compressor: a few drifting partials under an envelope,
/// plus noise. Deterministic, starting at sample `t`.
pub(crate) fn speech_like_pcm(t: usize, samples: usize) -> Vec<u8> {
    let mut rng = Lcg(t as u64 ^ 0x2545_f491_4f6c_dd1d);
    let mut out = Vec::with_capacity(samples * 2);
    for i in t..t + samples {
        let x = i as f64 / 24_000.0;
        let envelope = 0.5 + 0.5 * (x * 3.0).sin();
        let voice = (x * 2.0 * std::f64::consts::PI * 140.0).sin() * 0.5
            + (x * 2.0 * std::f64::consts::PI * 280.0).sin() * 0.3
            + (x * 2.0 * std::f64::consts::PI * 910.0).sin() * 0.1;
        let noise = (rng.next() % 2001) as f64 / 1000.0 - 1.0;
        let v = (envelope * voice * 9_000.0 + noise * 300.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A tiny deterministic generator (Knuth's MMIX LCG, high bits).
pub(crate) struct Lcg(pub u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}
