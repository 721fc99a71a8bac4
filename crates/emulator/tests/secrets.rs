//! The emulator never logs a secret: with every crate's logs at TRACE (tungstenite's included,
//! through `log`), no API key or bearer token a client sends appears in the output. (The test's
//! own client handshake, tungstenite's client side, is left out: it is not the emulator's, and
//! gemlive's client does not use it.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_at_any_log_level() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,tungstenite::handshake::client=off",
        ))
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");
    let key = "fake-secret-test-key-0123456789";
    let emu = start(gemlive_emulator::EmulatorConfig {
        api_key: Some(key.to_owned()),
        ..fast()
    })
    .await;
    let mut c = Client::connect(&emu, &format!("{V1BETA}?key={key}"), &[]).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.send(json!({"realtimeInput": {"text": "hello"}})).await;
    c.turn().await;
    c.close().await;
    let mut c = Client::connect(&emu, V1BETA, &[("x-goog-api-key", key)]).await;
    c.setup(json!({"model": MODEL_38})).await;
    c.close().await;
    let mut c = Client::connect(&emu, VERTEX, &[("authorization", &format!("Bearer {key}"))]).await;
    c.setup(json!({"model": VERTEX_MODEL})).await;
    c.close().await;
    let mut bad = Client::connect(&emu, &format!("{V1BETA}?key={key}-wrong"), &[]).await;
    bad.send(json!({"setup": {"model": MODEL_38}})).await;
    assert_eq!(bad.closed().await.0, 1007);
    emu.shutdown().await;
    let out = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        out.contains("TRACE") || out.contains("DEBUG"),
        "logs were captured: {out}"
    );
    assert!(!out.contains("SECRET"), "a secret in the logs:\n{out}");
}
