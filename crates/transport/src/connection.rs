//! The [`Connection`] trait: a message-level duplex that the client driver
//! runs over. [`crate::ws::WsConnection`] is the production implementation;
//! [`crate::memory`] provides an in-memory pair for tests.

use std::future::Future;

use bytes::Bytes;
use protocol::CloseInfo;

use crate::Error;

/// What a connection received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame (UTF-8 JSON).
    Text(Bytes),
    /// A binary frame; Google sends every server message this way (UTF-8 JSON, pretty-printed).
    Binary(Bytes),
    /// The peer closed: `Some` with the close frame's code and reason, `None`
    /// when the connection ended without a close frame (1006).
    Close(Option<CloseInfo>),
}

impl Incoming {
    /// The frame payload, for text and binary frames.
    pub fn payload(&self) -> Option<&[u8]> {
        match self {
            Self::Text(b) | Self::Binary(b) => Some(b),
            Self::Close(_) => None,
        }
    }
}

/// A message-level, full-duplex connection to a Live API server.
///
/// Frames are whole JSON messages: the client sends text frames and receives
/// text or binary frames and a close. Ping/pong and liveness are the
/// implementation's business. Implementations must be cancel-safe in
/// [`Connection::recv`]: the driver drops a pending `recv` future whenever a
/// command or timer fires, and no frame may be lost when that happens.
pub trait Connection: Send + 'static {
    /// Sends one JSON message as a text frame.
    fn send(&mut self, frame: String) -> impl Future<Output = Result<(), Error>> + Send;

    /// Receives the next frame or close. After a close has been returned,
    /// further calls return `Incoming::Close(None)` or an error.
    fn recv(&mut self) -> impl Future<Output = Result<Incoming, Error>> + Send;

    /// Sends a close frame. The peer's answering close arrives through
    /// [`Connection::recv`].
    fn close(&mut self, code: u16, reason: &str) -> impl Future<Output = Result<(), Error>> + Send;

    /// Finishes the connection after the session ended (flushes the close
    /// handshake, waits briefly for the peer to hang up). Never fails.
    fn shutdown(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}
