//! Nothing a server sends can panic the session (str0m's malformed-packet-injection policy):
//! every fixture and corpus frame, truncated at every length and with bytes flipped, inserted
//! or removed, goes through `Session::handle_frame`. The corpus's frames are left out, with a note,
//! where there is no corpus (see `tests/support/prereq.rs`).

#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use std::path::Path;
use std::time::{Duration, Instant};

use gemlive_protocol::{Output, Session, SessionConfig, wire};

#[allow(clippy::disallowed_methods)] // Tests pick an origin; the crate itself never reads the clock.
fn origin() -> Instant {
    Instant::now()
}

/// xorshift64*: deterministic mutations, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn frames() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut frames = Vec::new();
    for entry in std::fs::read_dir(root.join("fixtures")).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .skip(1)
        {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture line");
            if let Some(frame) = v.get("recv") {
                frames.push(serde_json::to_vec_pretty(frame).expect("serialize"));
            }
        }
    }
    for path in prereq::conformance_sessions()
        .unwrap_or_default()
        .iter()
        .take(20)
    {
        let text = std::fs::read_to_string(path).expect("read");
        for line in text.lines().skip(1).take(40) {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            if v["dir"] == "server" {
                let frame = serde_json::to_vec(&v["frame"]).expect("serialize");
                if frame.len() < 4096 {
                    frames.push(frame);
                }
            }
        }
    }
    frames
}

fn session() -> Session {
    let mut setup = wire::Setup::new("models/gemini-3.1-flash-live-preview");
    setup.session_resumption = Some(Default::default());
    let mut s = Session::new(SessionConfig::new(setup), origin()).expect("session");
    s.handle_frame(br#"{"setupComplete": {}}"#, origin())
        .expect("setup");
    s
}

fn feed(session: &mut Session, frame: &[u8]) {
    let _ = session.handle_frame(frame, origin());
    while !matches!(session.poll_output(), Output::Idle { .. }) {}
}

#[test]
fn mutated_frames_never_panic() {
    let frames = frames();
    assert!(
        frames.len() > 50,
        "expected fixture and corpus frames, got {}",
        frames.len()
    );
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut session = session();
    let mut fed = 0usize;
    const JUNK: &[u8] = b"{}[]\":,0-e.\\\x00\xff\xc3tnf ";
    for frame in &frames {
        let step = (frame.len() / 64).max(1);
        for cut in (0..frame.len()).step_by(step) {
            feed(&mut session, &frame[..cut]);
            fed += 1;
        }
        for _ in 0..64 {
            let mut m = frame.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(m.len());
                match rng.below(3) {
                    0 if !m.is_empty() => m[at] = JUNK[rng.below(JUNK.len())],
                    1 => m.insert(at.min(m.len()), JUNK[rng.below(JUNK.len())]),
                    _ if !m.is_empty() => {
                        m.remove(at);
                    }
                    _ => {}
                }
            }
            feed(&mut session, &m);
            fed += 1;
        }
    }
    assert!(!session.is_closed(), "no frame may close the session");
    assert!(fed > 5_000, "fed {fed} frames");
}

/// Durations, counts and indices at the limits of their types (and beyond) saturate or are
/// rejected as malformed: `goAway.timeLeft` of `u64::MAX` seconds used to overflow the deadline.
#[test]
fn wire_numbers_at_their_limits_never_panic() {
    let now = origin();
    let mut session = session();
    while !matches!(session.poll_output(), Output::Idle { .. }) {}
    for frame in [
        r#"{"goAway": {"timeLeft": "18446744073709551615s"}}"#,
        r#"{"goAway": {"timeLeft": "18446744073709551615.999999999s"}}"#,
        r#"{"goAway": {"timeLeft": 18446744073709551615}}"#,
        r#"{"goAway": {"timeLeft": 1.8e19}}"#,
        r#"{"goAway": {"timeLeft": 1e308}}"#,
        r#"{"goAway": {"timeLeft": "99999999999999999999s"}}"#,
        r#"{"voiceActivity": {"voiceActivityType": "ACTIVITY_START", "audioOffset": "18446744073709551615.999999999s"}}"#,
        r#"{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "-9223372036854775808"}}"#,
        r#"{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": "9223372036854775807"}}"#,
        r#"{"sessionResumptionUpdate": {"lastConsumedClientMessageIndex": 9.3e18}}"#,
        r#"{"usageMetadata": {"totalTokenCount": 2147483648, "promptTokenCount": -2147483649}}"#,
        r#"{"usageMetadata": {"promptTokensDetails": [{"tokenCount": "2147483647"}]}}"#,
        r#"{"serverContent": {"groundingMetadata": {"groundingSupports": [{"groundingChunkIndices": [2147483647, -1, 4e9]}]}}}"#,
    ] {
        feed(&mut session, frame.as_bytes());
    }
    assert!(!session.is_closed());
    let deadline = session.go_away_deadline().expect("a goAway deadline");
    let left = deadline.duration_since(now);
    assert!(
        left >= gemlive_protocol::MAX_TIME_LEFT
            && left < gemlive_protocol::MAX_TIME_LEFT + Duration::from_secs(60),
        "clamped to a day: {left:?}"
    );
    // A caller's `Duration::MAX` setup timeout means "no timeout", not an overflow.
    let mut config = SessionConfig::new(wire::Setup::new("models/m"));
    config.setup_timeout = Duration::MAX;
    let mut session = Session::new(config, now).expect("session");
    while !matches!(session.poll_output(), Output::Idle { .. }) {}
    session.handle_timeout(now + Duration::from_secs(365 * 24 * 3600));
    assert!(!session.is_closed());
}
