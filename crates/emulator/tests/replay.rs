//! Replay: every recorded conformance session is served back, frame for frame.
//!
//! The corpus is read from `$GEMLIVE_CONFORMANCE_DIR`, by default `../shared/conformance/sessions` next to the
//! workspace (it is never copied into the repository).

mod common;

use std::path::PathBuf;

use common::*;
use gemlive_emulator::{EmulatorConfig, Replay, replay::Direction};
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
        for frame in &replay.frames {
            match frame.dir {
                Direction::Client => c.send(frame.frame.clone()).await,
                Direction::Server => {
                    let got: Value = c.msg().await;
                    assert_eq!(got, frame.frame, "{}", file.display());
                    server_frames += 1;
                }
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
