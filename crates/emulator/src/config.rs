//! Configuration of an emulator instance.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::replay::Replay;
use crate::script::Script;

/// How the emulator gives its replies a voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Voice {
    /// A deterministic synthetic signal: one tone burst per word, whose length follows the word's length.
    #[default]
    Synthetic,
    /// Real speech from the `espeak-ng` program (must be on `PATH`); falls back to [`Voice::Synthetic`] if it fails.
    Espeak,
}

impl std::str::FromStr for Voice {
    type Err = crate::Error;

    /// `synthetic` or `espeak` (for command lines).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "synthetic" => Ok(Self::Synthetic),
            "espeak" | "espeak-ng" => Ok(Self::Espeak),
            other => Err(crate::Error::Config(format!(
                "unknown voice {other:?} (synthetic or espeak)"
            ))),
        }
    }
}

/// TLS settings: the emulator serves `wss://` with a certificate it generates on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Directory holding `ca.pem` (the certificate clients must trust, e.g. through `SSL_CERT_FILE`),
    /// `server.pem` and `server.key`. Created and filled on first use, reused afterwards.
    pub dir: PathBuf,
}

/// Everything an [`Emulator`](crate::Emulator) needs. `Default` gives a loopback server on an ephemeral port
/// that accepts any API key and paces audio in real time.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to bind. Default `127.0.0.1:0` (loopback, ephemeral port).
    pub bind: SocketAddr,
    /// The one API key accepted (`x-goog-api-key` / `?key=` / Vertex `Bearer`). `None` accepts any non-empty key.
    pub api_key: Option<String>,
    /// Admit Live connections and token requests that carry no credential at all, as if they had a
    /// valid key (a credential that is present is still checked; the ephemeral-token method still
    /// wants its token). For an emulator that only its own process uses, such as the `gemlive`
    /// crate's `Client::emulator()`. Default `false`: like Google, no credential closes with 1008.
    pub anonymous: bool,
    /// Output pacing factor: `1.0` streams audio in real time, `10.0` ten times faster.
    /// `f64::INFINITY` disables pacing entirely. Must be greater than zero.
    pub speed: f64,
    /// Length of one outgoing audio chunk (one `serverContent` frame of 24 kHz PCM16). Default 200 ms, as
    /// Google sends; at least 1 ms and at most 60 s. Benchmarks use smaller chunks to stress per-frame costs.
    pub audio_chunk: Duration,
    /// Enforce the model-specific rules of the reference (for example: no `clientContent` after the initial
    /// history on 3.1 models, AUDIO-only native-audio models, no NON_BLOCKING functions on 3.1).
    pub strict_models: bool,
    /// Serve TLS (`wss://`, `https://`) instead of plain TCP.
    pub tls: Option<TlsConfig>,
    /// Voice of the built-in responder.
    pub voice: Voice,
    /// A scenario that overrides the built-in responder on matching input.
    pub script: Option<Script>,
    /// Serve a recorded session to every client instead of the responder.
    pub replay: Option<Replay>,
    /// Write every connection's frames to `DIR/<connection>.jsonl` (conformance corpus format).
    pub record_dir: Option<PathBuf>,
    /// How long one WebSocket connection may last before it is closed (default 10 minutes).
    pub connection_lifetime: Duration,
    /// How long before the end of a connection the `goAway` is sent (default 50 s, clamped to the lifetime).
    pub go_away_notice: Duration,
    /// How long a resumption handle stays valid after its session's last connection ended (default 2 h).
    pub resumption_ttl: Duration,
    /// Largest accepted client message in bytes (default 16 MiB); a larger one closes with 1009.
    pub max_message_bytes: usize,
    /// Largest number of simultaneous Live connections (default 64); more close with 1011 and the quota text.
    pub max_sessions: usize,
    /// Seed of every pseudo-random choice (session ids, resumption handles, call ids, token
    /// names): the same seed and the same input give the same session. `None` (the default) draws
    /// one per emulator, so that no two emulators hand out the same handle and a client cannot
    /// resume another run's session by accident.
    pub seed: Option<u64>,
    /// How long a write may wait for a client that does not read before the connection is
    /// dropped (default 30 s).
    pub write_timeout: Duration,
    /// Keep resumable sessions in this file, so that they survive a restart of the emulator (the
    /// CLI's `--emulator` uses it for `--resume` across runs). `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: None,
            anonymous: false,
            speed: 1.0,
            audio_chunk: DEFAULT_AUDIO_CHUNK,
            strict_models: false,
            tls: None,
            voice: Voice::Synthetic,
            script: None,
            replay: None,
            record_dir: None,
            connection_lifetime: Duration::from_secs(600),
            go_away_notice: Duration::from_secs(50),
            resumption_ttl: Duration::from_secs(2 * 3600),
            max_message_bytes: 16 << 20,
            max_sessions: 64,
            seed: None,
            write_timeout: Duration::from_secs(30),
            state_file: None,
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("bind", &self.bind)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("anonymous", &self.anonymous)
            .field("speed", &self.speed)
            .field("audio_chunk", &self.audio_chunk)
            .field("strict_models", &self.strict_models)
            .field("tls", &self.tls)
            .field("voice", &self.voice)
            .field("script", &self.script.as_ref().map(|s| s.rules.len()))
            .field("replay", &self.replay.as_ref().map(|r| r.connections.len()))
            .field("record_dir", &self.record_dir)
            .field("connection_lifetime", &self.connection_lifetime)
            .field("go_away_notice", &self.go_away_notice)
            .field("resumption_ttl", &self.resumption_ttl)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("seed", &self.seed)
            .field("write_timeout", &self.write_timeout)
            .field("state_file", &self.state_file)
            .finish()
    }
}

/// The variable [`speed_from_env`] reads.
pub const SPEED_ENV: &str = "GEMLIVE_EMULATOR_SPEED";

/// A pacing factor as people write it: a number, `0` meaning no pacing at all
/// (`f64::INFINITY` for [`EmulatorConfig::speed`]).
pub fn parse_speed(text: &str) -> Result<f64, crate::Error> {
    let bad = || crate::Error::Config(format!("speed {text:?} is not a number of 0 or more"));
    let v: f64 = text.trim().parse().map_err(|_| bad())?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(bad());
    }
    Ok(if v == 0.0 { f64::INFINITY } else { v })
}

/// The pacing factor from `GEMLIVE_EMULATOR_SPEED` ([`parse_speed`]), `1.0` (real time, like
/// the service) when it is not set. Built-in emulators honour it so that tests can run them
/// unpaced.
pub fn speed_from_env() -> Result<f64, crate::Error> {
    match std::env::var(SPEED_ENV) {
        Err(_) => Ok(1.0),
        Ok(v) => parse_speed(&v).map_err(|e| crate::Error::Config(format!("{SPEED_ENV}: {e}"))),
    }
}

impl EmulatorConfig {
    /// Scales an emulated duration (audio playback, generation delays) by [`speed`](Self::speed).
    pub(crate) fn paced(&self, d: Duration) -> Duration {
        paced(self.speed, d)
    }

    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        if self.speed.is_nan() || self.speed <= 0.0 {
            return Err(crate::Error::Config(format!(
                "speed must be greater than zero (f64::INFINITY disables pacing), got {}",
                self.speed
            )));
        }
        if !(Duration::from_millis(1)..=MAX_AUDIO_CHUNK).contains(&self.audio_chunk) {
            return Err(crate::Error::Config(format!(
                "audio_chunk must be between 1 ms and {} s, got {:?}",
                MAX_AUDIO_CHUNK.as_secs(),
                self.audio_chunk
            )));
        }
        if self.max_sessions == 0 {
            return Err(crate::Error::Config(
                "max_sessions must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The default [`EmulatorConfig::audio_chunk`]: 200 ms, the chunk size Google's servers send.
pub(crate) const DEFAULT_AUDIO_CHUNK: Duration = Duration::from_millis(200);
/// The largest accepted [`EmulatorConfig::audio_chunk`].
const MAX_AUDIO_CHUNK: Duration = Duration::from_secs(60);

/// A duration far enough to mean "never" without overflowing an `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `d` of emulated time at pacing factor `speed` (`f64::INFINITY`: no time at all).
pub(crate) fn paced(speed: f64, d: Duration) -> Duration {
    if speed.is_infinite() {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(d.as_secs_f64() / speed).unwrap_or(FAR)
    }
}

/// `t + d`, saturating at a far future instead of overflowing (durations come from configs and scripts).
pub(crate) fn later(t: std::time::Instant, d: Duration) -> std::time::Instant {
    t.checked_add(d).or_else(|| t.checked_add(FAR)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voices_parse() {
        assert_eq!("espeak".parse::<Voice>().unwrap(), Voice::Espeak);
        assert_eq!("Synthetic".parse::<Voice>().unwrap(), Voice::Synthetic);
        assert!("robot".parse::<Voice>().is_err());
    }

    #[test]
    fn speed_is_validated_and_pacing_saturates() {
        let bad = |speed| {
            EmulatorConfig {
                speed,
                ..EmulatorConfig::default()
            }
            .validate()
            .is_err()
        };
        assert!(bad(0.0) && bad(-1.0) && bad(f64::NAN));
        assert!(!bad(f64::INFINITY) && !bad(1e-9));
        let chunk_ok = |audio_chunk| {
            EmulatorConfig {
                audio_chunk,
                ..EmulatorConfig::default()
            }
            .validate()
            .is_ok()
        };
        assert!(chunk_ok(Duration::from_millis(1)) && chunk_ok(Duration::from_secs(60)));
        assert!(!chunk_ok(Duration::ZERO) && !chunk_ok(Duration::from_micros(999)));
        assert!(!chunk_ok(Duration::from_secs(61)));
        assert_eq!(paced(f64::INFINITY, Duration::from_secs(5)), Duration::ZERO);
        assert_eq!(
            paced(2.0, Duration::from_secs(5)),
            Duration::from_millis(2500)
        );
        assert!(paced(1e-300, Duration::from_secs(5)) > Duration::from_secs(1_000_000));
        let now = std::time::Instant::now();
        assert!(later(now, Duration::MAX) > now);
    }

    #[test]
    fn speeds_parse_with_zero_for_unpaced() {
        assert_eq!(parse_speed("0").unwrap(), f64::INFINITY);
        assert_eq!(parse_speed(" 2.5 ").unwrap(), 2.5);
        assert!(parse_speed("-1").is_err() && parse_speed("fast").is_err());
        assert!(parse_speed("inf").is_err() && parse_speed("NaN").is_err());
    }
}
