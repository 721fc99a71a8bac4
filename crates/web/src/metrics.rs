//! What the relay costs: sessions, frames, and the latency it adds to each frame (from the moment
//! a frame is read on one side to the moment it is handed to the other side's socket), in
//! lock-free histograms.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Fine resolution, up to [`FINE`] buckets (20 ms).
const BUCKET_US: u64 = 10;
const FINE: usize = 2000;
/// Coarse resolution above 20 ms, up to 5 s; slower samples land in the last bucket (and `max`).
const COARSE_US: u64 = 1000;
const BUCKETS: usize = FINE + 4980;

/// A latency histogram: 10 µs buckets up to 20 ms, then 1 ms buckets up to 5 s.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Counts one sample.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let fine_limit = FINE as u64 * BUCKET_US;
        let i = if us < fine_limit {
            (us / BUCKET_US) as usize
        } else {
            usize::try_from((us - fine_limit) / COARSE_US)
                .map_or(BUCKETS - 1, |c| (FINE + c).min(BUCKETS - 1))
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0..=1), as the upper edge of its bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= rank {
                if i == BUCKETS - 1 {
                    return self.max();
                }
                if i < FINE {
                    return Duration::from_micros((i as u64 + 1) * BUCKET_US);
                }
                return Duration::from_micros(
                    FINE as u64 * BUCKET_US + (i - FINE + 1) as u64 * COARSE_US,
                );
            }
        }
        self.max()
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }
}

/// Counters of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Relayed sessions open now.
    pub sessions_open: AtomicUsize,
    /// Relayed sessions started since the server started.
    pub sessions_total: AtomicU64,
    /// Relay connections refused (over the limit, bad origin, bad start).
    pub refused: AtomicU64,
    /// Tokens minted for direct mode.
    pub tokens_minted: AtomicU64,
    /// Browser → Live API: from the browser's frame read to the frame handed to the upstream
    /// connection.
    pub uplink: Histogram,
    /// Live API → browser: from the upstream frame read to the frame written to the browser.
    pub downlink: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_buckets() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        for us in 1..=100 {
            h.record(Duration::from_micros(us * 10 - 5));
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.quantile(0.5), Duration::from_micros(500));
        assert_eq!(h.quantile(0.99), Duration::from_micros(990));
        h.record(Duration::from_micros(30_500));
        assert_eq!(h.quantile(1.0), Duration::from_millis(31));
        h.record(Duration::from_secs(9));
        assert_eq!(h.quantile(1.0), Duration::from_secs(9));
        assert_eq!(h.max(), Duration::from_secs(9));
    }
}
