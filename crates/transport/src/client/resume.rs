//! Automatic resumption's policy: when to open the next connection, and when to give up.
//!
//! Pure: time is an argument, randomness too, so the pacing is tested without a clock.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

#[cfg(doc)]
use super::ClientConfig;

/// How automatic resumption reconnects ([`ClientConfig::auto_resume`]).
///
/// After a connection ends in a way that resuming can repair, the first new connection is
/// opened at once; each further one waits `initial_backoff`, doubled per level, at most
/// `max_backoff`, with `jitter`. A level is added by every attempt that fails and by every
/// connection that ends *young* (before `stable_after`, without completing a turn), planned
/// `goAway` rotations included, so that a server whose connections last seconds is never
/// reconnected to in a loop. A connection that completes a turn or lives `stable_after` resets
/// the level.
///
/// The client gives up (the session ends with a `Closed` of kind
/// [`CloseKind::ResumeFailed`](protocol::CloseKind::ResumeFailed)) after `max_attempts`
/// consecutive failures (attempts that fail and young connections that break), or when the
/// session would be without a working connection for `max_outage` (an attempt that could not
/// start within it is not made; one still running at its end is abandoned).
///
/// ```
/// use std::time::Duration;
/// use gemlive_transport::ResumePolicy;
///
/// let policy = ResumePolicy::default();
/// assert_eq!(policy.backoff(0), Duration::ZERO);
/// assert_eq!(policy.backoff(1), Duration::from_secs(1));
/// assert_eq!(policy.backoff(3), Duration::from_secs(4));
/// assert_eq!(policy.backoff(30), Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ResumePolicy {
    /// The wait at level 1 (default 1 s).
    pub initial_backoff: Duration,
    /// The longest wait (default 30 s).
    pub max_backoff: Duration,
    /// The part of each wait that is random, from 0 (none) to 1 (anywhere between zero and the
    /// wait); default 0.5, so that clients cut off together do not come back together.
    pub jitter: f64,
    /// Consecutive failures before giving up (default 10).
    pub max_attempts: u32,
    /// The longest time without a working connection before giving up (default 2 minutes).
    pub max_outage: Duration,
    /// A connection that lived this long counts as stable, like one that completed a turn
    /// (default 30 s).
    pub stable_after: Duration,
    /// How many times one user turn is sent again after its connection was cut (default 2;
    /// 0: never, every cut turn is reported as to be asked again).
    ///
    /// Speech counts as one turn too: the realtime audio (and `audioStreamEnd`, activity
    /// markers) sent since the server last covered it (the end of a whole answer) is kept, the
    /// newest [`DEFAULT_SPEECH_KEPT`](protocol::DEFAULT_SPEECH_KEPT) (30 s) of it, and sent again
    /// right after the new connection's `setupComplete`, before any audio sent meanwhile, at
    /// most this many times for the same stretch of speech. The `Event::TurnCut` names it as a
    /// `PendingTurn` with `speech` (how much audio went again, and how much older audio of the
    /// same stretch did not fit and was dropped). See `Session::cut_turn`.
    pub resend_limit: u32,
}

impl Default for ResumePolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            jitter: 0.5,
            max_attempts: 10,
            max_outage: Duration::from_secs(120),
            stable_after: Duration::from_secs(30),
            resend_limit: 2,
        }
    }
}

impl ResumePolicy {
    /// The wait at backoff `level`, before jitter: none at level 0, then `initial_backoff`
    /// doubling per level up to `max_backoff`.
    pub fn backoff(&self, level: u32) -> Duration {
        if level == 0 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(level - 1);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// [`backoff`](Self::backoff) with `jitter` applied; `random` is in `[0, 1)`.
    pub(super) fn jittered(&self, level: u32, random: f64) -> Duration {
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let wait = self.backoff(level);
        let factor = 1.0 - jitter * random.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(wait.as_secs_f64() * factor).unwrap_or(wait)
    }
}

/// A number in `[0, 1)` that differs from call to call (std's per-map hash keys: no RNG crate
/// for one jitter per reconnect).
pub(super) fn random_fraction() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // 53 bits: exactly representable.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Where the session stands with its connections: the backoff level and the failures that
/// count toward giving up.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    level: u32,
    failures: u32,
    /// When the current connection got its `setupComplete`.
    ready_at: Option<Instant>,
    /// A turn completed on the current connection.
    progressed: bool,
}

impl Pacing {
    /// The current connection got its `setupComplete`.
    pub(super) fn ready(&mut self, now: Instant) {
        self.ready_at = Some(now);
        self.progressed = false;
    }

    /// A turn completed: the session works.
    pub(super) fn progress(&mut self) {
        self.progressed = true;
        self.level = 0;
        self.failures = 0;
    }

    fn young(&self, now: Instant, policy: &ResumePolicy) -> bool {
        !self.progressed
            && self
                .ready_at
                .is_none_or(|at| now.saturating_duration_since(at) < policy.stable_after)
    }

    /// The level the next connection gets if the current one ends now.
    pub(super) fn level_after(&self, now: Instant, policy: &ResumePolicy) -> u32 {
        if self.young(now, policy) {
            self.level.saturating_add(1)
        } else {
            0
        }
    }

    /// The current connection ended (`planned`: we left it for a `goAway`).
    pub(super) fn ended(&mut self, now: Instant, planned: bool, policy: &ResumePolicy) {
        if self.young(now, policy) {
            self.level = self.level.saturating_add(1);
            if !planned {
                self.failures = self.failures.saturating_add(1);
            }
        } else {
            self.level = 0;
            self.failures = 0;
        }
        self.ready_at = None;
    }

    /// An attempt failed before its `setupComplete`.
    pub(super) fn failed(&mut self) {
        self.level = self.level.saturating_add(1);
        self.failures = self.failures.saturating_add(1);
    }

    pub(super) fn level(&self) -> u32 {
        self.level
    }

    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// The earliest time a planned rotation should leave the current connection: it is not
    /// worth leaving sooner than the next connection would be opened after a break.
    pub(super) fn earliest_rotation(&self, now: Instant, policy: &ResumePolicy) -> Instant {
        let wait = policy.backoff(self.level_after(now, policy));
        self.ready_at.map_or(now, |at| at + wait).max(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_shortens() {
        let policy = ResumePolicy::default();
        let waits: Vec<u64> = (0..8).map(|l| policy.backoff(l).as_secs()).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(policy.backoff(u32::MAX), policy.max_backoff);
        assert_eq!(policy.jittered(3, 0.0), Duration::from_secs(4));
        let shortest = policy.jittered(3, 0.999_999);
        assert!(
            (Duration::from_secs(2)..Duration::from_millis(2001)).contains(&shortest),
            "{shortest:?}"
        );
        let huge = ResumePolicy {
            max_backoff: Duration::MAX,
            initial_backoff: Duration::MAX,
            ..ResumePolicy::default()
        };
        assert!(huge.jittered(1, 0.0) > Duration::from_secs(1 << 60));
        let wild = ResumePolicy {
            jitter: f64::NAN,
            ..ResumePolicy::default()
        };
        assert_eq!(wild.jittered(2, 0.5), Duration::from_secs(2));
        let r = random_fraction();
        assert!((0.0..1.0).contains(&r), "{r}");
    }

    #[tokio::test(start_paused = true)]
    async fn young_connections_raise_the_level_and_a_turn_resets_it() {
        let policy = ResumePolicy::default();
        let mut pacing = Pacing::default();
        let t0 = Instant::now();
        pacing.ready(t0);
        assert_eq!(pacing.level_after(t0, &policy), 1);
        pacing.ended(t0 + Duration::from_secs(6), true, &policy);
        assert_eq!(
            (pacing.level(), pacing.failures()),
            (1, 0),
            "planned: no failure"
        );
        pacing.failed();
        assert_eq!((pacing.level(), pacing.failures()), (2, 1));
        let t1 = t0 + Duration::from_secs(10);
        pacing.ready(t1);
        assert_eq!(
            pacing.earliest_rotation(t1, &policy),
            t1 + Duration::from_secs(4),
            "level 3 if left now"
        );
        pacing.ended(t1 + Duration::from_secs(1), false, &policy);
        assert_eq!((pacing.level(), pacing.failures()), (3, 2));
        pacing.ready(t1);
        pacing.progress();
        assert_eq!((pacing.level(), pacing.failures()), (0, 0));
        pacing.ended(t1 + Duration::from_secs(1), false, &policy);
        assert_eq!(
            (pacing.level(), pacing.failures()),
            (0, 0),
            "it completed a turn"
        );
        pacing.ready(t1);
        pacing.ended(t1 + policy.stable_after, false, &policy);
        assert_eq!(
            (pacing.level(), pacing.failures()),
            (0, 0),
            "it lived long enough"
        );
    }
}
