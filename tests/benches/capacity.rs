//! Issue 7 part 5: how many concurrent realtime sessions the emulator sustains with p99 frame
//! lateness under 20 ms. The emulator runs in a child process (real-time pacing, 200 ms chunks); this
//! process is a deliberately lean load generator on one thread: per session a raw WebSocket that
//! streams prebuilt 40 ms `realtimeInput` frames of 16 kHz audio in real time and, with manual
//! activity detection, asks for a 2 s spoken answer every turn (`activityStart`, 1 s of speech,
//! `activityEnd`). The emulator schedules answer chunk `i` at `activityEnd handled + i × 200 ms`;
//! its lateness here is its arrival minus `activityEnd sent + i × 200 ms`, so it includes the
//! emulator's queueing, both TCP stacks and this process's own delay.
//!
//! `cargo bench -p gemlive-tests --bench capacity` steps through 100 to 3,000 sessions (about
//! 15 s each); `-- --test` runs 20 sessions for a second. `-- --sessions 300,600` picks the steps.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use futures_util::StreamExt;
use support::{ServeArgs, Server};
use tokio::time::{Instant, MissedTickBehavior};

const MODEL: &str = "gemini-2.5-flash-native-audio-preview-12-2025";
const PATH: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=bench";
/// One input frame: 40 ms of 16 kHz PCM16.
const INPUT_FRAME: Duration = Duration::from_millis(40);
/// Input frames of speech per turn (1 s).
const SPEECH_FRAMES: u32 = 25;
/// Output chunk length (the emulator's default).
const CHUNK: Duration = Duration::from_millis(200);
/// Target: p99 lateness under this.
const TARGET_P99: Duration = Duration::from_millis(20);

struct Plan {
    sessions: usize,
    /// Length of each spoken answer.
    reply: Duration,
    /// Time for every session to start its first turn (starts are spread over it).
    ramp: Duration,
    /// Measurement window after the ramp.
    measure: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if support::serve_if_asked(&args) {
        return;
    }
    if !support::selected("capacity", &args) {
        return;
    }
    let test = args.iter().any(|a| a == "--test");
    let steps: Vec<usize> = match args.iter().position(|a| a == "--sessions") {
        Some(at) => args
            .get(at + 1)
            .expect("--sessions N,M,...")
            .split(',')
            .map(|n| n.parse().expect("a session count"))
            .collect(),
        None if test => vec![20],
        None => vec![100, 250, 500, 1000, 1500, 2000, 2500, 3000],
    };
    println!("capacity: load average {} before", support::load_average());
    let mut largest_ok = None;
    for sessions in steps {
        let plan = if test {
            Plan {
                sessions,
                reply: Duration::from_millis(400),
                ramp: Duration::from_millis(200),
                measure: Duration::from_secs(2),
            }
        } else {
            Plan {
                sessions,
                reply: Duration::from_secs(2),
                ramp: Duration::from_secs(3),
                measure: Duration::from_secs(8),
            }
        };
        let ok = step(test, &plan);
        if ok {
            largest_ok = Some(sessions);
        } else if !test {
            break;
        }
    }
    let largest = largest_ok.map_or_else(|| "none".to_owned(), |n| n.to_string());
    support::summary(
        test,
        &format!(
            "capacity: largest session count with p99 lateness under {TARGET_P99:?}: {largest}"
        ),
    );
}

/// One step: `plan.sessions` concurrent sessions against a fresh emulator. Returns whether p99 < 20 ms.
fn step(test: bool, plan: &Plan) -> bool {
    let server = Server::spawn(&ServeArgs {
        speed: 1.0,
        chunk: CHUNK,
        reply: Some(plan.reply),
        max_sessions: plan.sessions + 16,
        tls_dir: None,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("{}{PATH}", server.url);
    let frames = Rc::new(Frames::new());
    let samples: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let connected = Instant::now();
    let local = tokio::task::LocalSet::new();
    let (load_cpu, emu_cpu, measured_from, measured_until) = local.block_on(&runtime, async {
        let mut conns = Vec::with_capacity(plan.sessions);
        for _ in 0..plan.sessions {
            conns.push(open(&url, &frames).await);
        }
        let start = Instant::now() + Duration::from_millis(100);
        let from = start + plan.ramp;
        let until = from + plan.measure;
        let mut tasks = Vec::with_capacity(plan.sessions);
        for (k, ws) in conns.into_iter().enumerate() {
            let offset = plan.ramp.mul_f64(k as f64 / plan.sessions as f64);
            let session = Session {
                frames: frames.clone(),
                samples: samples.clone(),
                reply_frames: plan.reply.as_millis().div_ceil(CHUNK.as_millis()) as u32,
                from,
                until,
            };
            tasks.push(tokio::task::spawn_local(session.run(ws, start + offset)));
        }
        // CPU times over exactly the measurement window.
        let cpu = async {
            tokio::time::sleep_until(from).await;
            let before = (support::self_cpu(), server.cpu());
            tokio::time::sleep_until(until).await;
            let after = (support::self_cpu(), server.cpu());
            (
                after.0.saturating_sub(before.0),
                after.1.saturating_sub(before.1),
            )
        };
        let sessions = async {
            for t in tasks {
                t.await.expect("session task");
            }
        };
        let ((load_cpu, emu_cpu), ()) = tokio::join!(cpu, sessions);
        (load_cpu, emu_cpu, from, until)
    });
    let window = measured_until - measured_from;
    let emu_peak = server.peak_rss_kb();
    drop(server);
    let mut s = samples.take();
    s.sort_unstable();
    let pct = |p: f64| {
        s.get(((s.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let (p50, p99, max) = (pct(0.50), pct(0.99), s.last().copied().unwrap_or_default());
    let ok = !s.is_empty() && p99 < TARGET_P99;
    let line = format!(
        "capacity {n} sessions: {frames} answer frames in {w:.0?}, lateness p50 {p50:.1?} p99 {p99:.1?} max {max:.1?} -> {verdict}; emulator CPU {ec:.0}% of one core, peak RSS {er:.0} MB; load generator CPU {lc:.0}%, peak RSS {lr:.0} MB (connecting took {ct:.1?}; load average {la})",
        n = plan.sessions,
        frames = s.len(),
        w = window,
        verdict = if ok { "ok" } else { "over 20 ms" },
        ec = 100.0 * emu_cpu.as_secs_f64() / window.as_secs_f64(),
        er = emu_peak as f64 / 1024.0,
        lc = 100.0 * load_cpu.as_secs_f64() / window.as_secs_f64(),
        lr = support::self_peak_rss_kb() as f64 / 1024.0,
        ct = measured_from - plan.ramp - Duration::from_millis(100) - connected,
        la = support::load_average(),
    );
    support::summary(test, &line);
    ok
}

type Ws = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;

/// The prebuilt client frames every session sends.
struct Frames {
    setup: Message,
    audio: Message,
    activity_start: Message,
    activity_end: Message,
}

impl Frames {
    fn new() -> Self {
        // 40 ms of a 220 Hz tone at 16 kHz, like the microphone's chunks.
        let samples = INPUT_FRAME.as_millis() as usize * 16;
        let pcm: Vec<u8> = (0..samples)
            .flat_map(|i| {
                let t = i as f64 / 16_000.0;
                (((2.0 * std::f64::consts::PI * 220.0 * t).sin() * 8_000.0) as i16).to_le_bytes()
            })
            .collect();
        let mut data = String::new();
        protocol::wire::encode_base64_into(&pcm, &mut data);
        let text = |v: serde_json::Value| Message::text(v.to_string());
        Self {
            setup: text(serde_json::json!({"setup": {
                "model": format!("models/{MODEL}"),
                "generationConfig": {"responseModalities": ["AUDIO"]},
                "realtimeInputConfig": {"automaticActivityDetection": {"disabled": true}},
            }})),
            audio: text(serde_json::json!({"realtimeInput": {
                "audio": {"data": data, "mimeType": "audio/pcm;rate=16000"},
            }})),
            activity_start: text(serde_json::json!({"realtimeInput": {"activityStart": {}}})),
            activity_end: text(serde_json::json!({"realtimeInput": {"activityEnd": {}}})),
        }
    }
}

/// Connects, sends the setup and waits for `setupComplete`.
async fn open(url: &str, frames: &Frames) -> Ws {
    // tungstenite zero-fills its whole read buffer before every read: 128 KiB by default, which
    // costs more than the reading itself with a thousand connections. An answer chunk is 13 KB.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut ws, _) = async_tungstenite::tokio::connect_async_with_config(url, Some(config))
        .await
        .expect("connect to the emulator");
    ws.send(frames.setup.clone()).await.expect("send the setup");
    let first = tokio::time::timeout(Duration::from_secs(30), ws.next())
        .await
        .expect("setupComplete in time");
    match first {
        Some(Ok(Message::Binary(b))) if find(&b, b"setupComplete") => ws,
        other => panic!("expected setupComplete, got {other:?}"),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

struct Session {
    frames: Rc<Frames>,
    samples: Rc<RefCell<Vec<Duration>>>,
    reply_frames: u32,
    /// Keep lateness samples of answers whose `activityEnd` went out in `[from, until)`.
    from: Instant,
    until: Instant,
}

impl Session {
    /// Streams audio in real time from `start`: turn after turn, until `until` plus the last answer.
    async fn run(self, mut ws: Ws, start: Instant) {
        let hard_stop = self.until + Duration::from_secs(10);
        let mut tick = tokio::time::interval_at(start, INPUT_FRAME);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        // Speech frames sent in the current turn; `None` while waiting for the answer.
        let mut speaking: Option<u32> = Some(0);
        // The current answer: when activityEnd went out, and chunks received so far.
        let mut answer: Option<(Instant, u32)> = None;
        loop {
            tokio::select! {
                now = tick.tick() => {
                    if now >= hard_stop || (now >= self.until && speaking == Some(0)) {
                        break;
                    }
                    if speaking == Some(0) {
                        ws.send(self.frames.activity_start.clone()).await.expect("send");
                    }
                    ws.send(self.frames.audio.clone()).await.expect("send");
                    if let Some(n) = speaking.as_mut() {
                        *n += 1;
                        if *n == SPEECH_FRAMES {
                            ws.send(self.frames.activity_end.clone()).await.expect("send");
                            answer = Some((Instant::now(), 0));
                            speaking = None;
                        }
                    }
                }
                msg = ws.next() => {
                    let now = Instant::now();
                    let frame = match msg {
                        Some(Ok(Message::Binary(b))) => b,
                        Some(Ok(_)) => continue,
                        other => panic!("session ended: {other:?}"),
                    };
                    let Some((sent, received)) = answer.as_mut() else { continue };
                    // Audio chunks say so in their first lines; turnComplete frames are small.
                    if find(&frame[..frame.len().min(160)], b"\"inlineData\"") {
                        let due = *sent + CHUNK * *received;
                        *received += 1;
                        if (self.from..self.until).contains(sent) {
                            self.samples.borrow_mut().push(now.saturating_duration_since(due));
                        }
                    } else if frame.len() < 4096 && find(&frame, b"\"turnComplete\"") {
                        assert_eq!(*received, self.reply_frames, "every answer chunk arrived");
                        answer = None;
                        speaking = Some(0);
                    }
                }
            }
        }
        let _ = ws.close(None).await;
    }
}
