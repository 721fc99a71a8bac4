//! `--tls`: a certificate generated on first use, trusted through its CA file; and the official Python SDK,
//! unmodified, holding text, audio, tool, barge-in, goAway and resumption sessions over it.

mod common;
#[path = "../../../tests/support/prereq.rs"]
mod prereq;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use gemlive_emulator::{Emulator, EmulatorConfig, TlsConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

async fn tls_emulator(dir: &std::path::Path, config: EmulatorConfig) -> Emulator {
    let config = EmulatorConfig {
        tls: Some(TlsConfig {
            dir: dir.to_owned(),
        }),
        ..config
    };
    Emulator::start(config).await.expect("TLS emulator starts")
}

#[tokio::test]
async fn wss_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let emu = tls_emulator(dir.path(), common::fast()).await;
    let ca = emu.ca_file().expect("CA file").to_owned();
    assert!(emu.base_url().starts_with("wss://localhost:"));
    let ca_pem = std::fs::read(&ca).unwrap();
    emu.shutdown().await;
    // Reused, not regenerated, on the next start.
    let emu = tls_emulator(dir.path(), common::fast()).await;
    assert_eq!(std::fs::read(&ca).unwrap(), ca_pem);

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(emu.local_addr())
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("certificate verifies against ca.pem");
    let url = format!("{}{}?key=k", emu.base_url(), common::V1BETA);
    let (mut ws, _) =
        async_tungstenite::tokio::client_async(url.into_client_request().unwrap(), tls)
            .await
            .expect("websocket over TLS");
    use futures_util::StreamExt;
    ws.send(async_tungstenite::tungstenite::Message::text(
        serde_json::json!({"setup": {"model": common::MODEL_38}}).to_string(),
    ))
    .await
    .unwrap();
    let first = ws.next().await.unwrap().unwrap();
    assert_eq!(
        first.into_data().as_ref(),
        b"{\n  \"setupComplete\": {}\n}\n"
    );
}

/// Whether `python3` can import the official SDK (`.ci/run` installs it); if not, says so.
fn has_python_sdk() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import google.genai"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        prereq::missing(
            "python3 with the official SDK (google-genai)",
            "python3 -m pip install google-genai, or run .ci/run",
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_runs_the_quickstart_flows() {
    if !has_python_sdk() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let emu = tls_emulator(
        dir.path(),
        EmulatorConfig {
            speed: 3.0,
            ..EmulatorConfig::default()
        },
    )
    .await;
    let short = EmulatorConfig {
        speed: 3.0,
        connection_lifetime: Duration::from_millis(2500),
        go_away_notice: Duration::from_millis(2000),
        ..EmulatorConfig::default()
    };
    let go_away = tls_emulator(dir.path(), short).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_flows.py");
    let https = |e: &Emulator| format!("https://localhost:{}", e.local_addr().port());
    let ca = emu.ca_file().unwrap().to_owned();
    let (a, b) = (https(&emu), https(&go_away));
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(a)
            .arg(b)
            .env("SSL_CERT_FILE", ca)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK flows failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for flow in ["text", "audio", "tools", "barge-in", "goAway", "resumption"] {
        assert!(
            stdout.contains(&format!("{flow}: ok")),
            "{flow} missing:\n{stdout}"
        );
    }
}
