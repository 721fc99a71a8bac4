//! Paired timing for ratios: on a shared, noisy machine two benchmarks run minutes apart do not
//! compare, so the ratios in the summaries come from rounds that alternate the contenders.

use std::time::{Duration, Instant};

/// Times `rounds` alternating passes of each contender and returns each one's median pass.
#[allow(clippy::disallowed_methods)] // a benchmark reads the clock
pub(crate) fn paired(rounds: usize, contenders: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut times = vec![Vec::with_capacity(rounds); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            // Alternate the order so neither side always runs on a warm cache.
            let i = if round % 2 == 0 {
                k
            } else {
                contenders.len() - 1 - k
            };
            let start = Instant::now();
            (contenders[i])();
            times[i].push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_unstable();
            t[t.len() / 2]
        })
        .collect()
}
