//! Concurrent relayed voice sessions: a load generator speaking the page's protocol (`/relay`)
//! to a `gemlive web` server whose upstream is the emulator, all on loopback, in real time.
//!
//! Each session sends 16 kHz PCM16 in 32 ms chunks, paced like a microphone: one second of voiced
//! buzz, then two seconds of silence, over and over; the emulator answers every utterance with a
//! second or two of 24 kHz speech, which the relay passes back. The relay's own histograms give
//! the latency it adds to each frame, in both directions, from the moment its task reads the
//! frame; what comes before that moment is the wait for a CPU, which a probe on the relay's
//! runtime measures on its own (how long a task that became ready waits to run), next to the
//! load generator's own lateness. The relay runs on a runtime of its own, so that its CPU time
//! is told apart from the emulator's and the load generator's.
//!
//! `cargo bench -p gemlive-web --bench relay`; `GEMLIVE_WEB_BENCH_SESSIONS` (default 500) and
//! `GEMLIVE_WEB_BENCH_SECS` (default 30) change the load. Bounded in count and time, loopback only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_tungstenite::tokio::client_async_with_config;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use emulator::{Emulator, EmulatorConfig};
use futures_util::StreamExt;
use gemlive_web::gemlive::Client;
use gemlive_web::{Histogram, Upstream, WebConfig, WebServer};
use tokio::net::TcpStream;

const CHUNK: usize = 512; // 32 ms at 16 kHz
const TICK: Duration = Duration::from_millis(32);
const VOICED_TICKS: u32 = 31; // about 1 s
const CYCLE_TICKS: u32 = 94; // about 3 s

#[derive(Default)]
struct Load {
    ready: AtomicU64,
    failed: AtomicU64,
    frames_up: AtomicU64,
    audio_down_bytes: AtomicU64,
    turns: AtomicU64,
    /// How late the load generator's own ticks were (it shares the machine).
    tick_lateness: Histogram,
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime (seconds) of this process's threads whose name starts with `prefix`
/// (`""`: all of them), from /proc (clock ticks of 1/100 s).
fn cpu_secs(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1;
            if !name.starts_with(prefix) {
                return None;
            }
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .sum()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn session(addr: std::net::SocketAddr, load: Arc<Load>, until: Instant, n: u64) {
    let fail = || {
        load.failed.fetch_add(1, Ordering::Relaxed);
    };
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return fail();
    };
    let _ = tcp.set_nodelay(true);
    let Ok(mut request) = format!("ws://{addr}/relay").into_client_request() else {
        return fail();
    };
    let origin = format!("http://{addr}");
    if let Ok(v) = origin.parse() {
        request.headers_mut().insert("origin", v);
    }
    // Replies come in 9.6 KB frames; tungstenite's default 128 KiB read buffer (zeroed before
    // every read) would make the load generator pay more than the relay.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let Ok((ws, _)) = client_async_with_config(request, tcp, Some(config)).await else {
        return fail();
    };
    let (mut tx, mut rx) = ws.split();
    let start = r#"{"type":"start","settings":{"vad":"high","inputTranscription":true,"outputTranscription":true}}"#;
    if tx.send(Message::text(start)).await.is_err() {
        return fail();
    }
    match rx.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"ready\"") => {}
        _ => return fail(),
    }
    load.ready.fetch_add(1, Ordering::Relaxed);
    let reader_load = load.clone();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            match msg {
                Message::Binary(b) => {
                    reader_load
                        .audio_down_bytes
                        .fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                Message::Text(t) if t.contains("\"turnComplete\"") => {
                    reader_load.turns.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    });
    // Stagger the sessions' phases across one cycle.
    let offset = (n % u64::from(CYCLE_TICKS)) as u32;
    let mut voiced = vec![0u8; CHUNK * 2];
    for (i, s) in voiced.chunks_exact_mut(2).enumerate() {
        let t = i as f64 / 16_000.0;
        let v = ((2.0 * std::f64::consts::PI * 180.0 * t).sin() * 0.3 * 32767.0) as i16;
        s.copy_from_slice(&v.to_le_bytes());
    }
    let silent = vec![0u8; CHUNK * 2];
    let mut next = tokio::time::Instant::now();
    let mut tick = offset;
    while Instant::now() < until {
        next += TICK;
        tokio::time::sleep_until(next).await;
        load.tick_lateness
            .record(tokio::time::Instant::now() - next);
        let frame = if tick % CYCLE_TICKS < VOICED_TICKS {
            &voiced
        } else {
            &silent
        };
        tick += 1;
        if tx.send(Message::binary(frame.clone())).await.is_err() {
            break;
        }
        load.frames_up.fetch_add(1, Ordering::Relaxed);
    }
    let _ = tx.send(Message::text(r#"{"type":"end"}"#)).await;
    let _ = tokio::time::timeout(Duration::from_secs(3), reader).await;
}

/// Every 5 ms, how long a task that became ready waits until the relay's runtime runs it again
/// (the machine's share of any frame's latency, before the relay reads it).
async fn ready_task_waits(waits: Arc<Histogram>) {
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let ready = Instant::now();
        tokio::task::yield_now().await;
        waits.record(ready.elapsed());
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let sessions = env_num("GEMLIVE_WEB_BENCH_SESSIONS", 500);
    let secs = env_num("GEMLIVE_WEB_BENCH_SECS", 30);
    // The relay (with its upstream clients) runs on threads of its own, so that its CPU time can
    // be told apart from the emulator's and the load generator's.
    let relay_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("relay")
        .enable_all()
        .build()
        .expect("a runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let emulator = Emulator::start(EmulatorConfig {
            max_sessions: sessions as usize + 16,
            ..EmulatorConfig::default()
        })
        .await
        .expect("the emulator");
        let client = Client::endpoint(&emulator.http_url())
            .expect("an endpoint")
            .with_api_key("emulator");
        let mut config = WebConfig::new(Upstream::new(client));
        config.max_sessions = sessions as usize + 16;
        let server = relay_runtime
            .spawn(WebServer::start(config))
            .await
            .expect("the relay's runtime")
            .expect("the server");
        let addr = server.local_addr();
        println!("relay bench: {sessions} sessions for {secs} s, load before: {}", loadavg());
        let waits = Arc::new(Histogram::default());
        let probe = relay_runtime.spawn(ready_task_waits(waits.clone()));

        let load = Arc::new(Load::default());
        let until = Instant::now() + Duration::from_secs(secs);
        let opened = Instant::now();
        let mut tasks = Vec::new();
        for n in 0..sessions {
            tasks.push(tokio::spawn(session(addr, load.clone(), until, n)));
            // Open at about 100 sessions per second, as browsers would arrive.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ramp = opened.elapsed();
        let (cpu0, relay0) = (cpu_secs(""), cpu_secs("relay"));
        let t0 = Instant::now();
        let up0 = server.metrics().uplink.count();
        for t in tasks {
            let _ = t.await;
        }
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_secs("") - cpu0;
        let relay_cpu = cpu_secs("relay") - relay0;
        let m = server.metrics();
        println!(
            "sessions: {} ready, {} failed (ramp {:.1} s); peak open at the end of the ramp",
            load.ready.load(Ordering::Relaxed),
            load.failed.load(Ordering::Relaxed),
            ramp.as_secs_f64()
        );
        println!(
            "frames up: {} ({:.0}/s after the ramp), audio down: {:.0} s of 24 kHz speech, turns: {}",
            load.frames_up.load(Ordering::Relaxed),
            (m.uplink.count() - up0) as f64 / wall,
            load.audio_down_bytes.load(Ordering::Relaxed) as f64 / 48_000.0,
            load.turns.load(Ordering::Relaxed)
        );
        for (name, h) in [("uplink", &m.uplink), ("downlink", &m.downlink)] {
            println!(
                "relay added latency, {name}: n={} p50 {} p99 {} p99.9 {} max {}",
                h.count(),
                ms(h.quantile(0.5)),
                ms(h.quantile(0.99)),
                ms(h.quantile(0.999)),
                ms(h.max())
            );
        }
        probe.abort();
        println!(
            "relay runtime, a ready task's wait for a CPU: p50 {} p99 {} p99.9 {} max {}",
            ms(waits.quantile(0.5)),
            ms(waits.quantile(0.99)),
            ms(waits.quantile(0.999)),
            ms(waits.max())
        );
        println!(
            "load generator tick lateness: p50 {} p99 {} max {}",
            ms(load.tick_lateness.quantile(0.5)),
            ms(load.tick_lateness.quantile(0.99)),
            ms(load.tick_lateness.max())
        );
        println!(
            "CPU over {wall:.1} s: relay {:.0}% of one core ({:.2} ms per session-second), whole process {:.0}%; load after: {}",
            relay_cpu / wall * 100.0,
            relay_cpu * 1000.0 / (wall * sessions as f64),
            cpu / wall * 100.0,
            loadavg()
        );
        server.shutdown().await;
        emulator.shutdown().await;
    });
}
