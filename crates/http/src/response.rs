//! What the server sends back: a complete response that closes the exchange, or the switch to a
//! WebSocket.

use std::io;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::Request;

/// The reason phrase of `status` (`"Error"` for a code HTTP does not name).
pub fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// Writes a complete HTTP/1.1 response: the status line, `headers` in order, `Content-Length`,
/// `Connection: close`, then `body`. A header name or value holding a line break is refused
/// (`InvalidInput`) before anything is written.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let breaks = |s: &str| s.contains(['\r', '\n']);
    if let Some((name, _)) = headers.iter().find(|(n, v)| breaks(n) || breaks(v)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the response header {name:?} holds a line break"),
        ));
    }
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

/// Answers a WebSocket upgrade ([`Request::is_websocket_upgrade`]) with `101 Switching
/// Protocols` and returns the server's side of the socket. The bytes read past the head (frames
/// the client sent early) are taken from `req.rest` and read first.
pub async fn accept_websocket<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    req: &mut Request,
    config: WebSocketConfig,
) -> io::Result<WebSocketStream<TokioAdapter<S>>> {
    stream.write_all(upgrade_response(req).as_bytes()).await?;
    stream.flush().await?;
    Ok(WebSocketStream::from_partially_read(
        TokioAdapter::new(stream),
        std::mem::take(&mut req.rest),
        Role::Server,
        Some(config),
    )
    .await)
}

/// The `101 Switching Protocols` head that accepts `req`'s upgrade.
fn upgrade_response(req: &Request) -> String {
    let key = req.header("sec-websocket-key").unwrap_or_default();
    let accept = derive_accept_key(key.trim().as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_tungstenite::tungstenite::Message;
    use futures_util::StreamExt;
    use tokio::io::AsyncReadExt;

    #[test]
    fn reason_phrases_are_http_s() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(413), "Payload Too Large");
        assert_eq!(reason_phrase(421), "Misdirected Request");
        assert_eq!(reason_phrase(599), "Error");
        assert_eq!(reason_phrase(1000), "Error");
    }

    #[tokio::test]
    async fn a_response_is_complete_and_closes() {
        let mut out = Vec::new();
        write_response(&mut out, 404, &[("Content-Type", "text/plain")], b"no")
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
        );
        let mut out = Vec::new();
        let split = write_response(&mut out, 303, &[("Location", "/\r\nSet-Cookie: x=1")], b"");
        assert_eq!(split.await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn an_upgrade_is_accepted_with_the_key_s_hash_and_early_frames_kept() {
        // RFC 6455, section 1.3: the sample key and its accept value.
        let mut req = Request::new("GET", "/ws")
            .with_header("Upgrade", "websocket")
            .with_header("Sec-WebSocket-Key", " dGhlIHNhbXBsZSBub25jZQ== ");
        // A masked text frame "hi" the client sent right behind its head.
        req.rest = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
        let (mut client, server) = tokio::io::duplex(1024);
        let mut ws = accept_websocket(server, &mut req, WebSocketConfig::default())
            .await
            .unwrap();
        assert!(req.rest.is_empty());
        let mut head = vec![0u8; 129];
        client.read_exact(&mut head).await.unwrap();
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hi"));
        ws.send(Message::text("ok")).await.unwrap();
        let mut frame = [0u8; 4];
        client.read_exact(&mut frame).await.unwrap();
        assert_eq!(frame, [0x81, 2, b'o', b'k']);
    }
}
