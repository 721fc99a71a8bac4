//! Replay: every recorded conformance session and every scenario fixture is served back, frame for frame.
//!
//! The corpus is read from `$GEMLIVE_CONFORMANCE_DIR/sessions`, by default `../shared/conformance/sessions` next to
//! the workspace (it is never copied into the repository; without it the corpus test is skipped with a note, see
//! `tests/support/prereq.rs`); the fixtures from the workspace's `fixtures/`.

mod common;
#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use std::path::{Path, PathBuf};

use common::*;
use gemlive_emulator::replay::{ReplayStep, Step};
use gemlive_emulator::{EmulatorConfig, Replay, fit_close_reason};
use serde_json::Value;

fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Plays one connection's steps as the client; returns the number of server frames checked.
async fn play(c: &mut Client, steps: &[ReplayStep], file: &Path) -> usize {
    let mut checked = 0;
    for step in steps {
        match &step.step {
            Step::Client(frame) => c.send(frame.clone()).await,
            Step::Server(frame) => {
                let got: Value = c.msg().await;
                assert_eq!(&got, frame, "{}", file.display());
                checked += 1;
            }
            Step::ServerRaw(raw) => {
                assert_eq!(&c.raw().await, raw, "{}", file.display());
                checked += 1;
            }
            Step::Close { code, reason } => {
                let want = (*code, fit_close_reason(reason).to_owned());
                assert_eq!(c.closed().await, want, "{}", file.display());
                return checked + 1;
            }
            Step::Drop => {
                assert_eq!(c.recv().await, Incoming::Dropped, "{}", file.display());
                return checked + 1;
            }
        }
    }
    checked
}

async fn serve(file: &Path, replay: Replay, vertex: bool) -> usize {
    let emu = start(EmulatorConfig {
        replay: Some(replay.clone()),
        ..fast()
    })
    .await;
    let mut checked = 0;
    for steps in &replay.connections {
        let mut c = if vertex {
            Client::connect(&emu, VERTEX, &[("authorization", "Bearer t")]).await
        } else {
            Client::dev(&emu).await
        };
        checked += play(&mut c, steps, file).await;
        c.close().await;
    }
    emu.shutdown().await;
    checked
}

#[tokio::test]
async fn every_conformance_session_replays() {
    let Some(files) = prereq::conformance_sessions() else {
        return;
    };
    assert!(
        files.len() >= 90,
        "expected the 99 recorded sessions, found {}",
        files.len()
    );
    let mut server_frames = 0;
    for file in &files {
        let replay = Replay::load(file).expect("recording parses");
        assert_eq!(replay.connections.len(), 1);
        let header = std::fs::read_to_string(file).unwrap();
        let vertex = header
            .lines()
            .next()
            .is_some_and(|h| h.contains("\"backend\":\"vertex\""));
        server_frames += serve(file, replay, vertex).await;
    }
    assert!(
        server_frames > 700,
        "{server_frames} server frames replayed"
    );
}

#[tokio::test]
async fn every_fixture_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let files = jsonl_files(&dir);
    assert!(files.len() >= 20, "fixtures at {}", dir.display());
    let mut steps = 0;
    for file in &files {
        let replay = Replay::load(file).expect("fixture parses");
        let vertex = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .next()
            .is_some_and(|h| h.contains("\"vertex\""));
        steps += serve(file, replay, vertex).await;
    }
    assert!(steps > 50, "{steps} server steps replayed");
}

#[tokio::test]
async fn fixture_times_are_paced() {
    let fixture = r#"{"header": {"description": "d", "setup": {"model": "models/gemini-3.8-live"}}}
{"t_ms": 0, "recv": {"setupComplete": {}}}
{"t_ms": 10, "send": {"realtimeInput": {"text": "hi"}}}
{"t_ms": 200, "recv": {"serverContent": {"turnComplete": true}}}
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
    assert_eq!(
        c.msg().await,
        serde_json::json!({"serverContent": {"turnComplete": true}})
    );
    assert!(
        t0.elapsed() >= std::time::Duration::from_millis(190),
        "paced by t_ms: {:?}",
        t0.elapsed()
    );
    assert_eq!(
        c.closed().await,
        (1011, "Internal error encountered.".into())
    );
}
