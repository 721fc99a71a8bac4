//! Vertex AI with Google credentials, offline: a service-account key with an RSA key made for the
//! test (by `openssl`), whose `token_uri` is a local OAuth2 token endpoint that verifies the
//! signed JWT assertion and hands out numbered access tokens; the emulator's Vertex endpoint
//! behind a relay that records the `Authorization` of every WebSocket upgrade. The connection
//! drops in the middle of a turn: the session resumes with a fresh token, and the turn completes.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gemlive::emulator::{Emulator, EmulatorConfig, Script};
use gemlive::prelude::*;
use gemlive::{Error, GoogleCredentials};
use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MODEL: &str = "gemini-live-2.5-flash";
const EMAIL: &str = "live@test-project.iam.gserviceaccount.com";
const VERTEX_PATH: &str = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent";
/// The child process of [`client_vertex_uses_application_default_credentials`] finds the relay here.
const RELAY_ENV: &str = "GEMLIVE_TEST_VERTEX_RELAY";

type Log = Arc<Mutex<Vec<String>>>;

fn log(log: &Log, line: String) {
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(line);
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// A 2048-bit RSA key in PKCS#8 PEM, or `None` (the test says why) without `openssl`.
fn rsa_key() -> Option<String> {
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output();
    match made {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        other => {
            let message = format!("openssl cannot make an RSA key ({other:?}): install openssl");
            assert_ne!(std::env::var("GEMLIVE_CI").as_deref(), Ok("1"), "{message}");
            let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
            None
        }
    }
}

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// Reads one HTTP/1.1 request: its head, and a body of `Content-Length` bytes.
async fn read_request(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let end = loop {
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    let length: usize = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        body.extend_from_slice(&chunk[..n]);
    }
    (head, body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Google's OAuth2 token endpoint for service accounts, on loopback: checks the JWT bearer
/// assertion (RS256 signature by `public_key`, issuer, audience, scope, lifetime) and answers
/// `ya29.test-1`, `ya29.test-2`, ... valid for 20 s (which the credentials treat as expired
/// already, so each connection fetches a new one). Logs each token it hands out.
async fn token_endpoint(public_key: Vec<u8>, issued: Log) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/token", listener.local_addr().unwrap());
    let audience = uri.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (head, body) = read_request(&mut stream).await;
            assert!(head.starts_with("POST /token "), "{head}");
            let body = String::from_utf8(body).unwrap();
            let form: Vec<(&str, &str)> =
                body.split('&').filter_map(|p| p.split_once('=')).collect();
            let field = |name: &str| form.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
            assert_eq!(
                field("grant_type"),
                Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            );
            // Form-encoded: base64url padding arrives as `%3D`.
            let jwt = field("assertion")
                .expect("a JWT assertion")
                .replace("%3D", "=");
            let (signed, signature) = jwt.rsplit_once('.').unwrap();
            let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).unwrap();
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_key)
                .verify(signed.as_bytes(), &decode(signature))
                .expect("the assertion is signed with the service account's key");
            let (header, claims) = signed.split_once('.').unwrap();
            let header: Value = serde_json::from_slice(&decode(header)).unwrap();
            let claims: Value = serde_json::from_slice(&decode(claims)).unwrap();
            assert_eq!(header["alg"], "RS256");
            assert_eq!(claims["iss"], EMAIL);
            assert_eq!(claims["aud"], audience.as_str());
            assert_eq!(
                claims["scope"],
                "https://www.googleapis.com/auth/cloud-platform"
            );
            let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
            assert!((1..=3600).contains(&lifetime), "{claims}");
            let token = {
                let mut issued = issued.lock().unwrap_or_else(PoisonError::into_inner);
                let token = format!("ya29.test-{}", issued.len() + 1);
                issued.push(token.clone());
                token
            };
            let answer = json!({"access_token": token, "expires_in": 20, "token_type": "Bearer"})
                .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            stream.write_all(response.as_bytes()).await.unwrap();
        }
    });
    uri
}

/// A TCP relay to `upstream` that logs the `Authorization` of each WebSocket upgrade.
async fn relay(upstream: SocketAddr, seen: Log) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}{VERTEX_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let (head, rest) = read_request(&mut client).await;
                log(
                    &seen,
                    header(&head, "authorization").unwrap_or("none").to_owned(),
                );
                let mut server = TcpStream::connect(upstream).await.unwrap();
                server.write_all(head.as_bytes()).await.unwrap();
                server.write_all(&rest).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    url
}

/// The emulator, dropping the TCP connection when the second question arrives (once).
async fn emulator() -> Emulator {
    let script = r#"{"rules": [{"when": {"contains": "2+2"}, "once": true, "fault": "drop"}]}"#;
    Emulator::start(EmulatorConfig {
        speed: f64::INFINITY,
        script: Some(Script::from_json(script, Path::new(".")).unwrap()),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap()
}

/// The relay's Vertex URL for a Vertex client (the emulator speaks Vertex on that path).
fn through(client: Client, relay: String) -> Client {
    client.with_transport(move |c| {
        c.endpoint = transport::Endpoint::Verbatim {
            url: relay.parse().unwrap(),
            backend: protocol::Backend::Vertex,
        };
        c.allow_insecure_ws = true;
    })
}

/// Two questions; the connection drops at the second, which is sent again after resuming.
async fn converse(client: &Client) {
    let model =
        format!("projects/test-project/locations/us-central1/publishers/google/models/{MODEL}");
    let mut session = client
        .live()
        .connect(&model, LiveConfig::text())
        .await
        .unwrap();
    session.send_client_content("What is 1+1?").await.unwrap();
    assert_eq!(session.receive().text().await.unwrap(), "1 + 1 is 2.");
    session.send_client_content("What is 2+2?").await.unwrap();
    let events = session.receive().collect().await.unwrap();
    let moved: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::TurnCut { .. } | Event::Reconnecting { .. } | Event::SetupComplete { .. }
            )
        })
        .collect();
    assert!(
        matches!(
            moved[..],
            [
                Event::TurnCut { turns, .. },
                Event::Reconnecting { attempt: 1, .. },
                Event::SetupComplete { resumed: true, .. },
            ] if turns[0].resent
        ),
        "{events:?}"
    );
    let said: String = events.iter().filter_map(Event::text).collect();
    assert_eq!(said, "2 + 2 is 4.");
    session.close().await.unwrap();
}

/// A service-account key file whose token endpoint is `token_uri`.
fn key_file(dir: &Path, pem: &str, token_uri: &str) -> std::path::PathBuf {
    let path = dir.join("service-account.json");
    let key = json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    });
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

struct Setup {
    dir: tempfile::TempDir,
    key: std::path::PathBuf,
    issued: Log,
    seen: Log,
    relay: String,
    _emulator: Emulator,
}

async fn setup() -> Option<Setup> {
    let pem = rsa_key()?;
    let public_key = RsaKeyPair::from_pkcs8(&der(&pem))
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let (issued, seen) = (Log::default(), Log::default());
    let token_uri = token_endpoint(public_key, Arc::clone(&issued)).await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &pem, &token_uri);
    let emulator = emulator().await;
    let relay = relay(emulator.local_addr(), Arc::clone(&seen)).await;
    Some(Setup {
        dir,
        key,
        issued,
        seen,
        relay,
        _emulator: emulator,
    })
}

fn assert_fresh_token_per_connection(setup: &Setup) {
    assert_eq!(lines(&setup.issued), ["ya29.test-1", "ya29.test-2"]);
    assert_eq!(
        lines(&setup.seen),
        ["Bearer ya29.test-1", "Bearer ya29.test-2"],
        "each connection carries the token fetched for it"
    );
}

#[tokio::test]
async fn a_service_account_key_gives_each_connection_a_fresh_token() {
    let Some(setup) = setup().await else { return };
    let credentials = GoogleCredentials::service_account_file(&setup.key);
    assert_eq!(credentials.project_id().await.unwrap(), "test-project");
    let shown = format!("{credentials:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    let client = through(
        Client::vertex_with("test-project", "us-central1", credentials),
        setup.relay.clone(),
    );
    converse(&client).await;
    assert_fresh_token_per_connection(&setup);
}

#[tokio::test]
async fn client_vertex_uses_application_default_credentials() {
    let Some(setup) = setup().await else { return };
    // GOOGLE_APPLICATION_CREDENTIALS is read by the process: set it for a child, this test
    // binary running the ignored test below. HOME is empty: no gcloud file, no gcloud config.
    // Asynchronously: the token endpoint and the relay run on this test's runtime.
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "adc_child", "--ignored", "--nocapture"])
        .env("GOOGLE_APPLICATION_CREDENTIALS", &setup.key)
        .env("HOME", setup.dir.path())
        .env(RELAY_ENV, &setup.relay)
        .output()
        .await
        .unwrap();
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("1 passed"), "{shown}");
    assert_fresh_token_per_connection(&setup);
}

#[tokio::test]
#[ignore = "run by client_vertex_uses_application_default_credentials, in a process of its own"]
async fn adc_child() {
    let relay = std::env::var(RELAY_ENV).expect("run by its parent test");
    converse(&through(
        Client::vertex("test-project", "us-central1"),
        relay,
    ))
    .await;
}

#[tokio::test]
async fn credentials_that_cannot_be_used_fail_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.json");
    let client = Client::vertex_with(
        "test-project",
        "us-central1",
        GoogleCredentials::service_account_file(&missing),
    );
    let err = client
        .live()
        .connect(MODEL, LiveConfig::audio())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Credentials(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("nowhere.json") && shown.contains("hint: "),
        "{shown}"
    );
}
