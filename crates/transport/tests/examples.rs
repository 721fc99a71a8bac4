//! The quickstart examples hold full sessions with a local Live-protocol
//! server over TLS, directly and through a local HTTP CONNECT proxy.

// Each example includes the shared `common` module itself; both examples are
// compiled into this one test crate.
#![allow(clippy::duplicate_mod)]

mod support;

#[allow(dead_code)]
#[path = "../examples/text_to_audio.rs"]
mod text_to_audio;
#[allow(dead_code)]
#[path = "../examples/text_to_text.rs"]
mod text_to_text;

use std::sync::atomic::Ordering;

use support::{ConnectProxy, LiveServer, ServerConn, echo_session, pki};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn text_to_text_over_tls_and_through_a_proxy() {
    let pki = pki();
    let server = LiveServer::start(Some(pki.server_config.clone()), |c: ServerConn| {
        echo_session(c, None)
    })
    .await;
    let base = server.base_url();
    let ca = pki.ca_file.to_str().unwrap();

    let direct =
        text_to_text::common::parse(args(&[&base, "--ca-file", ca, "Hello", "there"])).unwrap();
    let answer = text_to_text::run(direct).await.unwrap();
    assert_eq!(answer, "echo: Hello there");

    let proxy = ConnectProxy::start(None).await;
    let proxy_url = proxy.url();
    let via_proxy =
        text_to_text::common::parse(args(&[&base, "--ca-file", ca, "--proxy", &proxy_url, "hi"]))
            .unwrap();
    let answer = text_to_text::run(via_proxy).await.unwrap();
    assert_eq!(answer, "echo: hi");
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn text_to_audio_writes_a_wav_over_tls_and_through_a_proxy() {
    let pki = pki();
    let server = LiveServer::start(Some(pki.server_config.clone()), |c: ServerConn| {
        echo_session(c, None)
    })
    .await;
    let proxy = ConnectProxy::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("answer.wav");
    let parsed = text_to_audio::common::parse(args(&[
        &server.base_url(),
        "--ca-file",
        pki.ca_file.to_str().unwrap(),
        "--proxy",
        &proxy.url(),
        "--out",
        out.to_str().unwrap(),
        "sing",
    ]))
    .unwrap();
    let spoken = text_to_audio::run(parsed).await.unwrap();
    assert_eq!(spoken.transcript, "echo: sing");
    assert_eq!(proxy.tunnels.load(Ordering::SeqCst), 1);

    let reader = hound::WavReader::open(&out).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 24_000, 16)
    );
    let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
    let expected: Vec<i16> = support::tone(0.5)
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(samples, expected, "the WAV holds exactly the streamed PCM");
    assert_eq!(spoken.samples, 12_000);
}

#[test]
fn usage_errors() {
    assert!(text_to_text::common::parse(args(&[])).is_err());
    assert!(text_to_text::common::parse(args(&["http://x", "--bogus"])).is_err());
    let parsed = text_to_text::common::parse(args(&["http://x"])).unwrap();
    assert_eq!(parsed.model, "gemini-3.1-flash-live-preview");
}
