//! The WebSocket [`Connection`]: tokio TCP (direct, or through an HTTP(S)
//! CONNECT or SOCKS5 proxy), rustls, async-tungstenite. Liveness is an idle
//! timeout: after half of it passes without any frame the connection sends a
//! ping, and only when the other half passes after that ping without any
//! frame (pong included) is the connection declared dead: 30 s for a pong by
//! default, far beyond the few seconds Google sometimes takes, so a healthy
//! session is never killed by a strict ping deadline.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::client::IntoClientRequest as _;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use async_tungstenite::tungstenite::{self, Message};
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::HeaderMap;
use protocol::CloseInfo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use url::Url;

use crate::Error;
use crate::connection::{Connection, Incoming};
use crate::proxy::{Io, ProxyConfig, connect_via_proxy};
use crate::secret::redact_url;
use crate::tls::TlsConfig;

/// The default idle timeout: a ping goes out after 30 s of silence, and the
/// connection is declared dead when 30 more seconds pass without any frame.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The most tungstenite reads from the socket at once. It zero-fills this much
/// of its buffer before every read, however little arrives: with the default
/// 128 KiB that is 128 KiB per received frame for a realtime session, and for
/// a bulk stream of Google's 200 ms audio frames (13 KB each) 32 KiB reads
/// were measured cheaper than 16, 64, 128 or 256 KiB (client CPU 0.20 s against
/// 0.22 s per hour of audio, BENCHMARKS.md part 3). Larger frames still arrive
/// whole, in several reads.
const READ_BUFFER: usize = 32 * 1024;

/// How to open a WebSocket.
#[derive(Clone, Debug)]
pub struct WsOptions {
    /// Trusted CAs.
    pub tls: TlsConfig,
    /// Proxy selection.
    pub proxy: ProxyConfig,
    /// Declare the connection dead after this long without any frame from
    /// the server (pings are sent at half of it). `None` disables liveness checks.
    pub idle_timeout: Option<Duration>,
    /// Limit for TCP connect, proxy tunnel, TLS and the HTTP upgrade together.
    pub connect_timeout: Duration,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            tls: TlsConfig::default(),
            proxy: ProxyConfig::default(),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// The stream under the WebSocket: TCP or a proxy tunnel, with or without
/// TLS to the server.
pub(crate) enum MaybeTls {
    Plain(Box<dyn Io>),
    Tls(Box<TlsStream<Box<dyn Io>>>),
}

impl std::fmt::Debug for MaybeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "MaybeTls::Plain",
            Self::Tls(_) => "MaybeTls::Tls",
        })
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A WebSocket connection to a Live API server.
#[derive(Debug)]
pub struct WsConnection {
    ws: WebSocketStream<TokioAdapter<MaybeTls>>,
    idle_timeout: Option<Duration>,
    last_rx: Instant,
    pinged_at: Option<Instant>,
    ended: bool,
}

impl WsConnection {
    /// Connects to `url` (`ws://` or `wss://`) and performs the WebSocket
    /// upgrade with `headers` (credentials among them; they are never logged).
    pub async fn connect(
        url: &Url,
        headers: HeaderMap,
        options: &WsOptions,
    ) -> Result<Self, Error> {
        let limit = options.connect_timeout;
        tokio::time::timeout(limit, Self::connect_inner(url, headers, options))
            .await
            .map_err(|_| Error::ConnectTimeout(limit))?
    }

    async fn connect_inner(
        url: &Url,
        headers: HeaderMap,
        options: &WsOptions,
    ) -> Result<Self, Error> {
        let shown = redact_url(url);
        let stream = open_stream(url, options).await?;

        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!("gemlive/", env!("CARGO_PKG_VERSION"))),
        );
        for (name, value) in &headers {
            request.headers_mut().insert(name, value.clone());
        }
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (ws, response) =
            async_tungstenite::tokio::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(handshake_error)?;
        tracing::debug!(status = %response.status(), url = %shown, "WebSocket open");
        Ok(Self {
            ws,
            idle_timeout: options.idle_timeout,
            last_rx: Instant::now(),
            pinged_at: None,
            ended: false,
        })
    }
}

/// Opens the byte stream under a `ws`/`wss` (or `http`/`https`) URL: TCP, or a tunnel through
/// the proxy the options select, then TLS for the secure schemes. Shared by the WebSocket
/// connection and [`crate::http`].
pub(crate) async fn open_stream(url: &Url, options: &WsOptions) -> Result<MaybeTls, Error> {
    let shown = redact_url(url);
    let secure = match url.scheme() {
        "wss" | "https" => true,
        "ws" | "http" => false,
        other => {
            return Err(Error::Config(crate::ConfigError::UnsupportedScheme(
                other.to_owned(),
            )));
        }
    };
    let host = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .unwrap_or_default();
    let port = url
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    // Build the TLS config first: a bad CA file should fail before any traffic.
    let tls = if secure {
        Some(options.tls.client_config()?)
    } else {
        None
    };

    let tcp: Box<dyn Io> = match options.proxy.proxy_for(url)? {
        Some(proxy) => {
            tracing::debug!(proxy = %redact_url(&proxy), url = %shown, "connecting through proxy");
            connect_via_proxy(&proxy, &host, port, || options.tls.client_config()).await?
        }
        None => {
            tracing::debug!(url = %shown, "connecting");
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|source| Error::Connect {
                    target: format!("{host}:{port}"),
                    source,
                })?;
            tcp.set_nodelay(true).ok();
            Box::new(tcp)
        }
    };

    let stream = match tls {
        Some(config) => {
            let name = ServerName::try_from(host.clone()).map_err(|_| {
                Error::Config(crate::ConfigError::InvalidUrl(format!(
                    "{host:?} is not a valid TLS server name"
                )))
            })?;
            let tls = TlsConnector::from(Arc::clone(&config))
                .connect(name, tcp)
                .await
                .map_err(|source| Error::TlsHandshake {
                    host: host.clone(),
                    source,
                })?;
            MaybeTls::Tls(Box::new(tls))
        }
        None => MaybeTls::Plain(tcp),
    };
    Ok(stream)
}

fn handshake_error(error: tungstenite::Error) -> Error {
    match error {
        tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    let text = String::from_utf8_lossy(b);
                    text.chars().take(500).collect::<String>()
                })
                .unwrap_or_default();
            Error::Handshake {
                status: response.status().as_u16(),
                body,
            }
        }
        other => Error::WebSocket(other),
    }
}

impl Connection for WsConnection {
    async fn send(&mut self, frame: String) -> Result<(), Error> {
        let send = self.ws.send(Message::text(frame));
        match self.idle_timeout {
            // A peer that stops reading cannot stall a sender forever.
            Some(idle) => tokio::time::timeout(idle, send)
                .await
                .map_err(|_| Error::IdleTimeout(idle))?
                .map_err(map_ws_error),
            None => send.await.map_err(map_ws_error),
        }
    }

    async fn recv(&mut self) -> Result<Incoming, Error> {
        loop {
            if self.ended {
                return Ok(Incoming::Close(None));
            }
            // A ping goes out after half the idle timeout without a frame; the
            // connection is dead when the other half passes after the ping
            // without any frame. Counting from the ping (not from the last
            // frame) means a driver that paused reading is not penalised.
            let (ping_at, dead_at) = match (self.idle_timeout, self.pinged_at) {
                (Some(idle), None) => (Some(self.last_rx + idle / 2), None),
                (Some(idle), Some(pinged)) => (None, Some(pinged + idle / 2)),
                (None, _) => (None, None),
            };
            tokio::select! {
                // The socket first: frames that are already buffered count as
                // liveness even when the driver was busy for a while.
                biased;
                message = self.ws.next() => {
                    let message = match message {
                        None => {
                            self.ended = true;
                            return Ok(Incoming::Close(None));
                        }
                        Some(Err(e)) => match map_ws_error(e) {
                            Error::ConnectionLost(reason) => {
                                self.ended = true;
                                tracing::debug!("connection ended without a close frame: {reason}");
                                return Ok(Incoming::Close(None));
                            }
                            other => return Err(other),
                        },
                        Some(Ok(message)) => message,
                    };
                    self.last_rx = Instant::now();
                    self.pinged_at = None;
                    match message {
                        Message::Text(text) => return Ok(Incoming::Text(Bytes::from(text))),
                        Message::Binary(data) => return Ok(Incoming::Binary(data)),
                        Message::Close(frame) => {
                            self.ended = true;
                            return Ok(Incoming::Close(frame.map(|f| CloseInfo {
                                code: u16::from(f.code),
                                reason: f.reason.to_string(),
                            })));
                        }
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                () = sleep_until_opt(ping_at) => {
                    let now = Instant::now();
                    self.pinged_at = Some(now);
                    tracing::trace!("idle: sending ping");
                    let ping = self.ws.send(Message::Ping(Bytes::new()));
                    let grace = self.idle_timeout.unwrap_or_default() / 2;
                    match tokio::time::timeout_at(now + grace, ping).await {
                        Ok(result) => result.map_err(map_ws_error)?,
                        Err(_) => {
                            self.ended = true;
                            return Err(Error::IdleTimeout(self.idle_timeout.unwrap_or_default()));
                        }
                    }
                }
                () = sleep_until_opt(dead_at) => {
                    self.ended = true;
                    let idle = self.idle_timeout.unwrap_or_default();
                    return Err(Error::IdleTimeout(idle));
                }
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        match self.ws.close(Some(frame)).await {
            Ok(()) => Ok(()),
            Err(e) => match map_ws_error(e) {
                Error::ConnectionLost(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn shutdown(&mut self) {
        // Drive the close handshake (flush our close reply, read until the
        // server hangs up), but never hang on a silent peer.
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn map_ws_error(error: tungstenite::Error) -> Error {
    use tungstenite::error::ProtocolError;
    match error {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            Error::ConnectionLost("the WebSocket is closed".to_owned())
        }
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Error::ConnectionLost(
                "the server reset the connection without a close frame".to_owned(),
            )
        }
        tungstenite::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionAborted
            ) =>
        {
            Error::ConnectionLost(e.to_string())
        }
        other => Error::WebSocket(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames larger than [`READ_BUFFER`] (several reads each) and runs of
    /// smaller ones (several per read) arrive whole and in order over a real
    /// socket.
    #[tokio::test]
    async fn frames_of_any_size_around_the_read_buffer_arrive_whole() {
        let sizes = [
            1,
            13_000,
            READ_BUFFER - 1,
            READ_BUFFER,
            3 * READ_BUFFER + 7,
            1 << 20,
        ];
        let frames: Vec<Bytes> = sizes
            .iter()
            .cycle()
            .take(60)
            .enumerate()
            .map(|(i, &n)| Bytes::from((0..n).map(|j| (i * 31 + j) as u8).collect::<Vec<u8>>()))
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = frames.clone();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = async_tungstenite::tokio::accept_async(tcp).await.unwrap();
            for frame in sent {
                ws.send(Message::Binary(frame)).await.unwrap();
            }
            ws.send(Message::text("end")).await.unwrap();
            ws.close(None).await.unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        });
        let url = Url::parse(&format!("ws://127.0.0.1:{port}")).unwrap();
        let options = WsOptions {
            idle_timeout: None,
            ..WsOptions::default()
        };
        let mut conn = WsConnection::connect(&url, HeaderMap::new(), &options)
            .await
            .unwrap();
        for (i, frame) in frames.iter().enumerate() {
            match conn.recv().await.unwrap() {
                Incoming::Binary(got) => assert!(got == frame, "frame {i} differs"),
                other => panic!("frame {i}: {other:?}"),
            }
        }
        assert_eq!(
            conn.recv().await.unwrap(),
            Incoming::Text(Bytes::from_static(b"end"))
        );
        assert!(matches!(conn.recv().await.unwrap(), Incoming::Close(_)));
        conn.shutdown().await;
        server.await.unwrap();
    }
}
