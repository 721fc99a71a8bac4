//! A minimal Live-protocol server and an HTTP CONNECT proxy on loopback,
//! for the transport's integration tests and the examples' tests. Not the
//! emulator: just enough of the protocol to hold a session.

// `ErrorResponse` is tungstenite's type for rejecting an upgrade; its size is not ours to choose.
#![allow(dead_code, unreachable_pub, clippy::result_large_err)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use base64::Engine as _;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A CA plus a leaf certificate for `localhost` and `127.0.0.1`.
pub struct TestPki {
    pub dir: tempfile::TempDir,
    pub ca_file: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub fn pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gemlive test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    TestPki {
        dir,
        ca_file,
        server_config: Arc::new(server_config),
    }
}

/// The HTTP upgrade request as the server saw it.
#[derive(Clone, Debug, Default)]
pub struct SeenRequest {
    pub uri: String,
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One accepted WebSocket, server side.
pub struct ServerConn {
    pub ws: WebSocketStream<TokioAdapter<Box<dyn Io>>>,
    pub request: SeenRequest,
}

impl ServerConn {
    /// The next client text frame as JSON; `None` on close or EOF.
    pub async fn recv_json(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
                Ok(Message::Binary(b)) => return serde_json::from_slice(&b).ok(),
                Ok(Message::Close(_)) => {
                    // Let tungstenite flush its answering close frame.
                    while let Some(Ok(_)) = self.ws.next().await {}
                    return None;
                }
                Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Google style: a binary frame with 2-space pretty-printed JSON.
    pub async fn send_binary_json(&mut self, value: &Value) {
        let mut text = serde_json::to_vec_pretty(value).unwrap();
        text.push(b'\n');
        let _ = self.ws.send(Message::binary(text)).await;
    }

    pub async fn send_text_json(&mut self, value: &Value) {
        let _ = self.ws.send(Message::text(value.to_string())).await;
    }

    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        // Finish the close handshake: read until the client answers or leaves.
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

/// A loopback WebSocket server running `handler` for every connection.
pub struct LiveServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<SeenRequest>>>,
    pub tls: bool,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveServer {
    pub async fn start<F, Fut>(tls: Option<Arc<rustls::ServerConfig>>, handler: F) -> Self
    where
        F: Fn(ServerConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_with_upgrade(tls, None, handler).await
    }

    /// Like `start`, but answers every upgrade with `reject` (HTTP status) when given.
    pub async fn start_with_upgrade<F, Fut>(
        tls: Option<Arc<rustls::ServerConfig>>,
        reject: Option<u16>,
        handler: F,
    ) -> Self
    where
        F: Fn(ServerConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let handler = Arc::new(handler);
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let tls = tls.clone();
                let seen = Arc::clone(&seen);
                let handler = Arc::clone(&handler);
                tokio::spawn(async move {
                    let io: Box<dyn Io> = match tls {
                        Some(config) => {
                            match tokio_rustls::TlsAcceptor::from(config).accept(tcp).await {
                                Ok(s) => Box::new(s),
                                Err(_) => return,
                            }
                        }
                        None => Box::new(tcp),
                    };
                    let captured = Arc::new(Mutex::new(SeenRequest::default()));
                    let cap = Arc::clone(&captured);
                    let callback = move |req: &Request, resp: Response| {
                        let seen = SeenRequest {
                            uri: req.uri().to_string(),
                            headers: req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.to_str().unwrap_or_default().to_owned())
                                })
                                .collect(),
                        };
                        *cap.lock().unwrap() = seen;
                        match reject {
                            Some(status) => {
                                let mut err = ErrorResponse::new(Some("denied by test".to_owned()));
                                *err.status_mut() = http::StatusCode::from_u16(status).unwrap();
                                Err(err)
                            }
                            None => Ok(resp),
                        }
                    };
                    let ws = async_tungstenite::tokio::accept_hdr_async(io, callback).await;
                    let request = captured.lock().unwrap().clone();
                    seen.lock().unwrap().push(request.clone());
                    if let Ok(ws) = ws {
                        handler(ServerConn { ws, request }).await;
                    }
                });
            }
        });
        Self {
            addr,
            requests,
            tls: is_tls,
            task,
        }
    }

    /// `https://localhost:PORT` or `http://127.0.0.1:PORT`, for `Endpoint::custom`.
    pub fn base_url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://127.0.0.1:{}", self.addr.port())
        }
    }

    pub fn requests(&self) -> Vec<SeenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// A tiny Live session: answers `setup` with `setupComplete`, each user text
/// (clientContent turns or realtimeInput.text) with a model turn (text, or
/// 24 kHz PCM audio plus an output transcription when the setup asked for
/// AUDIO) and `turnComplete` with usage metadata. With `api_key` set, a
/// wrong `x-goog-api-key` closes with 1007 like Google.
pub async fn echo_session(mut conn: ServerConn, api_key: Option<&'static str>) {
    let Some(setup) = conn.recv_json().await else {
        return;
    };
    if let Some(expected) = api_key
        && conn.request.header("x-goog-api-key") != Some(expected)
    {
        conn.close(1007, "API key not valid. Please pass a valid API key.")
            .await;
        return;
    }
    let audio = setup["setup"]["generationConfig"]["responseModalities"]
        .as_array()
        .is_some_and(|m| m.iter().any(|v| v == "AUDIO"));
    conn.send_binary_json(&json!({"setupComplete": {}})).await;
    conn.send_binary_json(
        &json!({"sessionResumptionUpdate": {"newHandle": "handle-1", "resumable": true}}),
    )
    .await;
    while let Some(message) = conn.recv_json().await {
        let text = message["clientContent"]["turns"][0]["parts"][0]["text"]
            .as_str()
            .or_else(|| message["realtimeInput"]["text"].as_str())
            .or_else(|| message["client_content"]["turns"][0]["parts"][0]["text"].as_str())
            .or_else(|| message["realtime_input"]["text"].as_str());
        let Some(text) = text else { continue };
        let reply = format!("echo: {text}");
        if audio {
            for chunk in tone(0.5).chunks(9600) {
                let data = base64::engine::general_purpose::STANDARD.encode(chunk);
                conn.send_binary_json(&json!({"serverContent": {"modelTurn": {"parts": [
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}
                ]}}}))
                .await;
            }
            conn.send_binary_json(
                &json!({"serverContent": {"outputTranscription": {"text": reply}}}),
            )
            .await;
        } else {
            for word in reply.split_inclusive(' ') {
                conn.send_binary_json(
                    &json!({"serverContent": {"modelTurn": {"parts": [{"text": word}]}}}),
                )
                .await;
            }
        }
        conn.send_binary_json(&json!({"serverContent": {"generationComplete": true}}))
            .await;
        conn.send_binary_json(&json!({
            "serverContent": {"turnComplete": true},
            "usageMetadata": {"promptTokenCount": 5, "responseTokenCount": 7, "totalTokenCount": 12}
        }))
        .await;
    }
}

/// `seconds` of a 440 Hz tone, 24 kHz mono PCM16LE.
pub fn tone(seconds: f32) -> Vec<u8> {
    let n = (24_000.0 * seconds) as usize;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / 24_000.0;
            let s = (t * 440.0 * std::f32::consts::TAU).sin() * 8000.0;
            (s as i16).to_le_bytes()
        })
        .collect()
}

/// An HTTP CONNECT proxy on loopback that counts its tunnels.
pub struct ConnectProxy {
    pub addr: SocketAddr,
    pub tunnels: Arc<AtomicUsize>,
    pub targets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// `credentials`: the expected `user:password`, answered with 407 when missing.
    pub async fn start(credentials: Option<&'static str>) -> Self {
        Self::start_with(credentials, None).await
    }

    /// An `https://` proxy when `tls` is given (TLS to the proxy, then CONNECT).
    pub async fn start_with(
        credentials: Option<&'static str>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let (t, g) = (Arc::clone(&tunnels), Arc::clone(&targets));
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (t, g) = (Arc::clone(&t), Arc::clone(&g));
                let tls = tls.clone();
                tokio::spawn(async move {
                    let client: Box<dyn Io> = match tls {
                        Some(config) => {
                            match tokio_rustls::TlsAcceptor::from(config).accept(client).await {
                                Ok(s) => Box::new(s),
                                Err(_) => return,
                            }
                        }
                        None => Box::new(client),
                    };
                    let _ = tunnel(client, credentials, t, g).await;
                });
            }
        });
        Self {
            addr,
            tunnels,
            targets,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn tunnel(
    client: Box<dyn Io>,
    credentials: Option<&'static str>,
    tunnels: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let mut request_line = String::new();
    client.read_line(&mut request_line).await?;
    let mut auth = None;
    loop {
        let mut line = String::new();
        client.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("proxy-authorization")
        {
            auth = Some(value.trim().to_owned());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        client
            .get_mut()
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await?;
        return Ok(());
    };
    if let Some(expected) = credentials {
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(expected)
        );
        if auth.as_deref() != Some(want.as_str()) {
            client
                .get_mut()
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
                .await?;
            return Ok(());
        }
    }
    targets.lock().unwrap().push(target.to_owned());
    let mut upstream = TcpStream::connect(target).await?;
    client
        .get_mut()
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    tunnels.fetch_add(1, Ordering::SeqCst);
    let mut client = client.into_inner();
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// A SOCKS5 proxy on loopback (no auth, or username/password) that records
/// the targets it was asked for as `host:port` (domain or IP).
pub struct Socks5Proxy {
    pub addr: SocketAddr,
    pub targets: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Socks5Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Socks5Proxy {
    pub async fn start(credentials: Option<(&'static str, &'static str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let _ = socks5_session(client, credentials, seen).await;
                });
            }
        });
        Self {
            addr,
            targets,
            task,
        }
    }
}

async fn socks5_session(
    mut client: TcpStream,
    credentials: Option<(&'static str, &'static str)>,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt as _;
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await?;
    match credentials {
        None => client.write_all(&[5, 0]).await?,
        Some((user, pass)) => {
            if !methods.contains(&2) {
                client.write_all(&[5, 0xff]).await?;
                return Ok(());
            }
            client.write_all(&[5, 2]).await?;
            let ver = client.read_u8().await?;
            let ulen = client.read_u8().await?;
            let mut u = vec![0u8; usize::from(ulen)];
            client.read_exact(&mut u).await?;
            let plen = client.read_u8().await?;
            let mut p = vec![0u8; usize::from(plen)];
            client.read_exact(&mut p).await?;
            let ok = ver == 1 && u == user.as_bytes() && p == pass.as_bytes();
            client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
            if !ok {
                return Ok(());
            }
        }
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        _ => {
            let len = client.read_u8().await?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
    };
    let port = client.read_u16().await?;
    let target = format!("{host}:{port}");
    seen.lock().unwrap().push(target.clone());
    let Ok(mut upstream) = TcpStream::connect(target.as_str()).await else {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
