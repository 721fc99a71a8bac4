//! Request heads and bodies, read with the limits the server gives.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// What a server accepts in a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest head, in bytes (request line and headers).
    pub head_bytes: usize,
    /// Most header lines.
    pub headers: usize,
    /// How long a peer may take to send its head.
    pub head_timeout: Duration,
}

/// A parsed HTTP/1.1 request head plus whatever bytes followed it in the same reads.
///
/// `Debug` shows header and query names only: their values carry credentials (API keys,
/// `Authorization`, cookies).
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// As sent (`GET`, `POST`...).
    pub method: String,
    /// The target without its query, as sent (it may start with `//`).
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Bytes read past the head: the start of a body, or early WebSocket frames.
    pub rest: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn names(pairs: &[(String, String)]) -> Vec<&str> {
            pairs.iter().map(|(n, _)| n.as_str()).collect()
        }
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &names(&self.query))
            .field("headers", &names(&self.headers))
            .field("rest", &self.rest.len())
            .finish()
    }
}

impl Request {
    /// A request with no headers, no query and nothing read past its head (for tests of
    /// handlers; add to it with [`with_header`](Self::with_header) and
    /// [`with_query`](Self::with_query)).
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            rest: Vec::new(),
        }
    }

    /// Adds a header (its name lowercased, as [`read_request`] stores them).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds a decoded query pair.
    #[must_use]
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query value called `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name`, from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// A `GET` asking for a WebSocket (`Upgrade: websocket` with a `Sec-WebSocket-Key`).
    pub fn is_websocket_upgrade(&self) -> bool {
        self.method == "GET"
            && self
                .header("upgrade")
                .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
            && self.header("sec-websocket-key").is_some()
    }

    /// Reads the body announced by `Content-Length` (none: empty), at most `limit` bytes,
    /// starting with the bytes already read past the head.
    pub async fn read_body<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        limit: usize,
    ) -> Result<Vec<u8>, BodyError> {
        let length: usize = match self.header("content-length") {
            Some(v) => v.trim().parse().map_err(|_| BodyError::BadLength)?,
            None => 0,
        };
        if length > limit {
            return Err(BodyError::TooLarge { length, limit });
        }
        let mut body = std::mem::take(&mut self.rest);
        while body.len() < length {
            let mut buf = vec![0u8; length - body.len()];
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(BodyError::Truncated);
            }
            body.extend_from_slice(&buf[..n]);
        }
        body.truncate(length);
        Ok(body)
    }
}

/// Why a request body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// `Content-Length` is above the server's limit (nothing was read).
    #[error("the request body of {length} bytes is larger than the {limit} accepted")]
    TooLarge {
        /// As announced.
        length: usize,
        /// The server's limit.
        limit: usize,
    },
    /// `Content-Length` is not a number.
    #[error("the request's Content-Length is not a number")]
    BadLength,
    /// The peer closed before the announced length.
    #[error("the request body ended before its Content-Length")]
    Truncated,
    /// Reading failed.
    #[error("cannot read the request body: {0}")]
    Io(#[from] io::Error),
}

/// Reads and parses one request head within `limits`. `Ok(None)`: the peer closed before
/// sending anything. A head that is too large, has too many headers, is malformed or comes too
/// slowly is an error (`InvalidData`, `TimedOut`).
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    limits: &Limits,
) -> io::Result<Option<Request>> {
    tokio::time::timeout(limits.head_timeout, read_head(stream, limits))
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head did not come in time",
            ))
        })
}

async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    limits: &Limits,
) -> io::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = vec![httparse::EMPTY_HEADER; limits.headers];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                return Ok(Some(Request {
                    method: req.method.unwrap_or("GET").to_owned(),
                    path: path.to_owned(),
                    query: url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect(),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                    rest: buf[len..].to_vec(),
                }));
            }
            Ok(httparse::Status::Partial) if buf.len() < limits.head_bytes => {}
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head too large",
                ));
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        head_bytes: 16 * 1024,
        headers: 8,
        head_timeout: Duration::from_secs(5),
    };

    async fn read(raw: &[u8]) -> io::Result<Option<Request>> {
        read_request(&mut &raw[..], &LIMITS).await
    }

    #[tokio::test]
    async fn a_head_is_parsed_with_query_headers_and_cookies() {
        let raw = b"GET /relay?x=1%202 HTTP/1.1\r\nHost: 127.0.0.1:8\r\nCookie: a=1; gemlive=tag\r\n\r\nrest";
        let req = read(raw).await.unwrap().unwrap();
        assert_eq!(req.path, "/relay");
        assert_eq!(req.query("x"), Some("1 2"));
        assert_eq!(req.header("host"), Some("127.0.0.1:8"));
        assert_eq!(req.cookie("gemlive"), Some("tag"));
        assert_eq!(req.cookie("b"), None);
        assert_eq!(req.rest, b"rest");
    }

    #[tokio::test]
    async fn a_head_in_pieces_is_read_whole_and_a_doubled_slash_kept() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let reading = tokio::spawn(async move { read_request(&mut server, &LIMITS).await });
        for piece in [
            &b"POST //v1alpha/auth"[..],
            b"_tokens HTTP/1.1\r\nX-A: 1\r",
            b"\n\r\n{}",
        ] {
            tokio::io::AsyncWriteExt::write_all(&mut client, piece)
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
        let req = reading.await.unwrap().unwrap().unwrap();
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("POST", "//v1alpha/auth_tokens")
        );
        assert_eq!(req.header("x-a"), Some("1"));
        assert_eq!(req.rest, b"{}");
    }

    #[tokio::test]
    async fn a_peer_that_sends_nothing_or_half_a_head_or_garbage() {
        assert!(read(b"").await.unwrap().is_none());
        let half = read(b"GET / HTTP/1.1\r\nHost:").await.unwrap_err();
        assert_eq!(half.kind(), io::ErrorKind::UnexpectedEof);
        let garbage = read(b"\x16\x03\x01 hello\r\n\r\n").await.unwrap_err();
        assert_eq!(garbage.kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn oversized_heads_and_bodies_are_refused() {
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', LIMITS.head_bytes + 10));
        assert!(read(&raw).await.is_err());

        let many: String = (0..=LIMITS.headers)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let raw = format!("GET / HTTP/1.1\r\n{many}\r\n");
        let err = read(raw.as_bytes()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        let raw = "POST /api/token HTTP/1.1\r\nContent-Length: 65537\r\n\r\n";
        let mut req = read(raw.as_bytes()).await.unwrap().unwrap();
        let body = req.read_body(&mut &b""[..], 64 * 1024).await;
        assert!(
            matches!(
                body,
                Err(BodyError::TooLarge {
                    length: 65537,
                    limit: 65536
                })
            ),
            "{body:?}"
        );
    }

    #[tokio::test]
    async fn a_slow_head_times_out() {
        let (_client, mut server) = tokio::io::duplex(64);
        let limits = Limits {
            head_timeout: Duration::from_millis(20),
            ..LIMITS
        };
        let err = read_request(&mut server, &limits).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_body_is_the_rest_of_the_head_then_the_stream_up_to_its_length() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\"";
        let mut req = read(raw).await.unwrap().unwrap();
        let body = req.read_body(&mut &b":1}extra"[..], 100).await.unwrap();
        assert_eq!(body, b"{\"a\":1}");

        let mut none = Request::new("POST", "/");
        assert_eq!(
            none.read_body(&mut &b"ignored"[..], 100).await.unwrap(),
            b""
        );

        let mut short = Request::new("POST", "/").with_header("Content-Length", "5");
        let body = short.read_body(&mut &b"abc"[..], 100).await;
        assert!(matches!(body, Err(BodyError::Truncated)), "{body:?}");

        let mut bad = Request::new("POST", "/").with_header("Content-Length", "five");
        let body = bad.read_body(&mut &b"abcde"[..], 100).await;
        assert!(matches!(body, Err(BodyError::BadLength)), "{body:?}");
    }

    #[tokio::test]
    async fn debug_shows_no_header_or_query_value() {
        let raw = b"GET /ws?key=AIzaSECRETKEY&access_token=auth_tokens/SECRETTOKEN HTTP/1.1\r\n\
            Authorization: Bearer SECRETBEARER\r\nCookie: gemlive_web=SECRETTAG\r\n\
            X-Goog-Api-Key: SECRETHEADER\r\n\r\nSECRETREST";
        let req = read(raw).await.unwrap().unwrap();
        let shown = format!("{req:?} {req:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        for name in [
            "key",
            "access_token",
            "authorization",
            "cookie",
            "x-goog-api-key",
        ] {
            assert!(shown.contains(name), "{name} missing from {shown}");
        }
    }

    #[test]
    fn an_upgrade_is_a_get_with_upgrade_websocket_and_a_key() {
        let upgrade = Request::new("GET", "/relay")
            .with_header("Upgrade", "WebSocket")
            .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        assert!(upgrade.is_websocket_upgrade());
        let post = Request {
            method: "POST".into(),
            ..upgrade.clone()
        };
        assert!(!post.is_websocket_upgrade());
        let no_key = Request::new("GET", "/relay").with_header("Upgrade", "websocket");
        assert!(!no_key.is_websocket_upgrade());
    }
}
