//! Replay: every recorded conformance session is served back, frame for frame.
//!
//! The corpus is read from `$GEMLIVE_CONFORMANCE_DIR`, by default `../shared/conformance/sessions` next to the
//! workspace (it is never copied into the repository).

mod common;

use std::path::PathBuf;

use common::*;
use gemlive_emulator::replay::Step;
use gemlive_emulator::{EmulatorConfig, Replay};
use serde_json::Value;

fn corpus() -> PathBuf {
    std::env::var_os("GEMLIVE_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sessions"),
        PathBuf::from,
    )
}

#[tokio::test]
async fn every_conformance_session_replays() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 90,
        "expected the 99 recorded sessions, found {}",
        files.len()
    );
    let mut server_frames = 0;
    for file in &files {
        let replay = Replay::load(file).expect("recording parses");
        let text = std::fs::read_to_string(file).unwrap();
        let vertex = text
            .lines()
            .next()
            .is_some_and(|h| h.contains("\"backend\":\"vertex\""));
        let emu = start(EmulatorConfig {
            replay: Some(replay.clone()),
            ..fast()
        })
        .await;
        let mut c = if vertex {
            Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await
        } else {
            Client::dev(&emu).await
        };
        for step in &replay.steps {
            match &step.step {
                Step::Client(frame) => c.send(frame.clone()).await,
                Step::Server(frame) => {
                    let got: Value = c.msg().await;
                    assert_eq!(&got, frame, "{}", file.display());
                    server_frames += 1;
                }
                other => panic!("the corpus records frames only: {other:?}"),
            }
        }
        c.close().await;
        emu.shutdown().await;
    }
    assert!(
        server_frames > 700,
        "{server_frames} server frames replayed"
    );
}

#[tokio::test]
async fn fixture_format_with_times_raw_frames_and_close() {
    let fixture = r#"{"header": {"description": "d", "setup": {"model": "models/gemini-3.8-live"}}}
{"t_ms": 0, "recv": {"setupComplete": {}}}
{"t_ms": 10, "send": {"realtimeInput": {"text": "hi"}}}
{"t_ms": 200, "recv": {"serverContent": {"turnComplete": true}}}
{"t_ms": 210, "recv_raw": "{oops"}
{"t_ms": 220, "close": {"code": 1011, "reason": "Internal error encountered."}}"#;
    let replay = Replay::parse(fixture).unwrap();
    let emu = start(EmulatorConfig {
        replay: Some(replay),
        speed: 1.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut c = Client::dev(&emu).await;
    let t0 = std::time::Instant::now();
    c.send(serde_json::json!({"setup": {"model": "models/gemini-3.8-live"}}))
        .await;
    assert_eq!(c.msg().await, serde_json::json!({"setupComplete": {}}));
    c.send(serde_json::json!({"realtimeInput": {"text": "hi"}}))
        .await;
    assert_eq!(
        c.msg().await,
        serde_json::json!({"serverContent": {"turnComplete": true}})
    );
    assert!(
        t0.elapsed() >= std::time::Duration::from_millis(190),
        "paced by t_ms"
    );
    assert_eq!(c.msg().await, Value::String("{oops".into()));
    assert_eq!(
        c.closed().await,
        (1011, "Internal error encountered.".into())
    );
}
