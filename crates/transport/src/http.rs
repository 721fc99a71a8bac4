//! One-shot HTTP/1.1 requests (hyper) over the same TCP, proxy and TLS stack as the WebSocket,
//! for the REST calls around a Live session such as minting ephemeral tokens.

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use url::Url;

use crate::Error;
use crate::secret::redact_url;
use crate::ws::{WsOptions, open_stream};

/// Largest response body read (error pages included).
const MAX_BODY: usize = 1 << 20;

/// An HTTP response: status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body, at most 1 MiB.
    pub body: Bytes,
}

/// POSTs `body` as `application/json` to `url` (`http` or `https`) with `headers` (credentials
/// among them; never logged), through the proxy and with the TLS roots of `options`, within
/// its connect timeout for connecting.
pub async fn post_json(
    url: &Url,
    headers: HeaderMap,
    body: Vec<u8>,
    options: &WsOptions,
) -> Result<HttpResponse, Error> {
    let limit = options.connect_timeout;
    let stream = tokio::time::timeout(limit, open_stream(url, options))
        .await
        .map_err(|_| Error::ConnectTimeout(limit))??;
    let shown = redact_url(url);
    let lost = |e: hyper::Error| Error::ConnectionLost(format!("HTTP {shown}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(lost)?;
    let driver = tokio::spawn(connection);
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(request_target(url))
        .header(http::header::HOST, host_header(url))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("gemlive/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| Error::ConnectionLost(format!("HTTP {shown}: {e}")))?;
    request.headers_mut().extend(headers);
    let response = sender.send_request(request).await.map_err(lost)?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(lost)?.into_data() {
            let room = MAX_BODY.saturating_sub(bytes.len());
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    driver.abort();
    Ok(HttpResponse {
        status,
        body: Bytes::from(bytes),
    })
}

/// Path and query, as the request line wants them.
fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}
