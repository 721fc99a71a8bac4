//! The minimal HTTP/1.1 server side shared by gemlive's emulator and its browser console.
//!
//! One request per connection, every response closes it: a head read with the server's
//! [`Limits`] (size, header count, time), a body read up to a limit ([`Request::read_body`],
//! [`BodyError`]), a complete response ([`write_response`]) or the switch to a WebSocket
//! ([`accept_websocket`]), and the accept loop that runs each connection on its own task and
//! ends them within a grace period at shutdown ([`Listener`], [`Server`]). [`Request`]'s
//! `Debug` shows no header or query value: they carry keys, tokens and cookies.
//!
//! ```
//! use std::time::Duration;
//!
//! use gemlive_http::{Limits, Listener, read_request, write_response};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::TcpStream;
//! use tokio::sync::watch;
//!
//! const LIMITS: Limits = Limits {
//!     head_bytes: 16 * 1024,
//!     headers: 32,
//!     head_timeout: Duration::from_secs(10),
//! };
//!
//! async fn hello(mut tcp: TcpStream, _stop: watch::Receiver<bool>) -> std::io::Result<()> {
//!     let Ok(Some(req)) = read_request(&mut tcp, &LIMITS).await else {
//!         return Ok(());
//!     };
//!     let body = format!("hello, {}", req.query("name").unwrap_or("you"));
//!     let headers = [("Content-Type", "text/plain; charset=utf-8")];
//!     write_response(&mut tcp, 200, &headers, body.as_bytes()).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let listener = Listener::bind(([127, 0, 0, 1], 0).into()).await?;
//! let addr = listener.local_addr();
//! let server = listener.serve(Duration::from_secs(1), hello);
//!
//! let mut tcp = TcpStream::connect(addr).await?;
//! tcp.write_all(b"GET /?name=Ada HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhello, Ada"));
//!
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod request;
mod response;
mod server;

pub use request::{BodyError, Limits, Request, read_request};
pub use response::{accept_websocket, reason_phrase, write_response};
pub use server::{Io, Listener, Server};
