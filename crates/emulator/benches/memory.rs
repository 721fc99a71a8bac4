//! Memory per session under the replies and clients that used to blow it up: a 1 MB text turn,
//! an hour-long reply, and hostile clients (a 50 MB frame, a flood of tiny frames, a client that
//! never reads). The emulator runs without pacing in a child process (this benchmark started with
//! `--serve`), so that the clients' own buffers are not counted; each scenario reports the
//! emulator's peak RSS above what it held before (Linux: `VmHWM`, reset through
//! `/proc/PID/clear_refs`), and how long it took.
//!
//! `cargo bench -p gemlive-emulator --bench memory` (add `--test` for one quick pass of each).
//! Prints `summary:` lines, like the other benchmarks.

use std::future::Future;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use futures_util::StreamExt;
use gemlive_emulator::{Emulator, EmulatorConfig, Script};
use serde_json::json;

const V1BETA: &str =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=bench";

type Ws = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS of `pid` to its current RSS; returns the current RSS in KiB.
fn reset_peak(pid: u32) -> Option<u64> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").ok()?;
    status_kb(pid, "VmRSS:")
}

/// The emulator under test, in this process (`--serve`): prints its address, runs until killed.
async fn serve(quick: bool) {
    let reply_ms: u64 = if quick { 60_000 } else { 3_600_000 };
    let script = Script::from_json(
        &json!({"rules": [
            {"when": {"contains": "long reply"}, "reply": {"text": "la", "audio_ms": reply_ms}},
            {"when": {"contains": "endless"}, "reply": {"text": "la", "audio_ms": 3_600_000}}
        ]})
        .to_string(),
        std::path::Path::new("."),
    )
    .expect("script");
    let emu = Emulator::start(EmulatorConfig {
        speed: f64::INFINITY,
        script: Some(script),
        write_timeout: Duration::from_secs(2),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    println!("{}", emu.base_url());
    std::future::pending::<()>().await;
}

/// A connected client of the emulator at `base`.
async fn connect(base: &str) -> Ws {
    let req = format!("{base}{V1BETA}")
        .into_client_request()
        .expect("request");
    async_tungstenite::tokio::connect_async(req)
        .await
        .expect("connect")
        .0
}

async fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::Text(Utf8Bytes::from(v.to_string())))
        .await
        .expect("send");
}

/// Reads to the end of the turn (or the close), keeping nothing: received bytes and the close.
async fn drain_turn(ws: &mut Ws) -> (u64, Option<u16>) {
    let mut bytes = 0;
    while let Some(Ok(m)) = ws.next().await {
        match m {
            Message::Binary(b) => {
                bytes += b.len() as u64;
                if memchr_turn_complete(&b) {
                    return (bytes, None);
                }
            }
            Message::Close(f) => return (bytes, f.map(|f| u16::from(f.code))),
            _ => {}
        }
    }
    (bytes, None)
}

fn memchr_turn_complete(frame: &[u8]) -> bool {
    frame.len() < 4096 && String::from_utf8_lossy(frame).contains("\"turnComplete\": true")
}

async fn setup(ws: &mut Ws, extra: serde_json::Value) {
    let mut setup = json!({"model": "models/gemini-3.8-live"});
    if let (Some(s), Some(e)) = (setup.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    send(ws, json!({ "setup": setup })).await;
    let _ = ws.next().await;
}

struct Figures {
    peak_mib: f64,
    secs: f64,
    note: String,
}

async fn measure<F: Future<Output = String>>(pid: u32, run: F) -> Figures {
    let before = reset_peak(pid).unwrap_or(0);
    let started = Instant::now();
    let note = run.await;
    let secs = started.elapsed().as_secs_f64();
    let peak = status_kb(pid, "VmHWM:").unwrap_or(0);
    Figures {
        peak_mib: peak.saturating_sub(before) as f64 / 1024.0,
        secs,
        note,
    }
}

/// The scenarios, each against an emulator process of its own.
const SCENARIOS: [&str; 6] = [
    "1 MB text turn, compression on",
    "1 MB text turn, no compression",
    "long reply",
    "50 MB frame",
    "100,000 tiny frames",
    "a client that never reads",
];

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if std::env::args().any(|a| a == "--serve") {
        runtime.block_on(serve(quick));
        return;
    }
    for scenario in SCENARIOS {
        let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(["--serve", if quick { "--test" } else { "--full" }])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the emulator process");
        let mut base = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut base,
        )
        .expect("the emulator's address");
        let f = runtime.block_on(measure(child.id(), run(scenario, base.trim(), quick)));
        let _ = child.kill();
        let _ = child.wait();
        let name = if scenario == "long reply" {
            if quick {
                "1-minute reply"
            } else {
                "hour-long reply"
            }
        } else {
            scenario
        };
        println!(
            "summary: emulator memory: {name}: peak RSS +{:.1} MiB, {:.2} s ({})",
            f.peak_mib, f.secs, f.note
        );
    }
}

async fn run(scenario: &str, base: &str, quick: bool) -> String {
    let mut ws = connect(base).await;
    match scenario {
        "1 MB text turn, compression on" => {
            setup(
                &mut ws,
                json!({"contextWindowCompression": {"slidingWindow": {}}}),
            )
            .await;
            send(
                &mut ws,
                json!({"realtimeInput": {"text": "x ".repeat(1 << 19)}}),
            )
            .await;
            let (bytes, _) = drain_turn(&mut ws).await;
            format!("answered, {} KB of reply frames", bytes / 1000)
        }
        "1 MB text turn, no compression" => {
            setup(&mut ws, json!({})).await;
            send(
                &mut ws,
                json!({"realtimeInput": {"text": "x ".repeat(1 << 19)}}),
            )
            .await;
            let (_, close) = drain_turn(&mut ws).await;
            format!("closed {close:?}: over the context window")
        }
        "long reply" => {
            setup(&mut ws, json!({})).await;
            send(
                &mut ws,
                json!({"realtimeInput": {"text": "a long reply please"}}),
            )
            .await;
            let (bytes, _) = drain_turn(&mut ws).await;
            let minutes = if quick { 1 } else { 60 };
            format!("{minutes} min of audio, {} MB of frames", bytes / 1_000_000)
        }
        "50 MB frame" => {
            setup(&mut ws, json!({})).await;
            let text = format!(
                "{{\"realtimeInput\": {{\"text\": \"{}\"}}}}",
                "a".repeat(50 << 20)
            );
            let _ = ws.send(Message::Text(Utf8Bytes::from(text))).await;
            let (_, close) = drain_turn(&mut ws).await;
            format!("closed {close:?}")
        }
        "100,000 tiny frames" => {
            setup(&mut ws, json!({})).await;
            let frame = r#"{"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAA="}}}"#;
            for _ in 0..100_000 {
                ws.send(Message::Text(Utf8Bytes::from_static(frame)))
                    .await
                    .expect("send");
            }
            send(
                &mut ws,
                json!({"realtimeInput": {"text": "What is 1 + 1?"}}),
            )
            .await;
            drain_turn(&mut ws).await;
            "then a question, answered".to_owned()
        }
        _ => {
            setup(&mut ws, json!({})).await;
            send(
                &mut ws,
                json!({"realtimeInput": {"text": "an endless reply"}}),
            )
            .await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            // By now the emulator has let it go: reading ends.
            let ended = tokio::time::timeout(Duration::from_secs(30), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await
            .is_ok();
            format!("an hour of audio asked, dropped after the 2 s write timeout: {ended}")
        }
    }
}
