//! Paired timing for ratios: on a shared, noisy machine two benchmarks run minutes apart do not
//! compare, so the ratios in the summaries come from rounds that alternate the contenders.

use std::time::{Duration, Instant};

/// Runs `rounds` alternating passes of each contender, each returning how long its pass took
/// ([`time`], or its own clock for a pass in another process), and returns each one's median.
pub(crate) fn paired(
    rounds: usize,
    contenders: &mut [&mut dyn FnMut() -> Duration],
) -> Vec<Duration> {
    let mut times = vec![Vec::with_capacity(rounds); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            // Alternate the order so neither side always runs on a warm cache.
            let i = if round % 2 == 0 {
                k
            } else {
                contenders.len() - 1 - k
            };
            times[i].push((contenders[i])());
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

/// How long `pass` takes.
#[allow(clippy::disallowed_methods)] // a benchmark reads the clock
pub(crate) fn time(pass: impl FnOnce()) -> Duration {
    let start = Instant::now();
    pass();
    start.elapsed()
}
