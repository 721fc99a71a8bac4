//! An in-memory [`Connection`] pair for tests: [`pair`] returns the client
//! end (give it to [`crate::start`]) and a [`MemoryPeer`] that plays the
//! server.

use bytes::Bytes;
use protocol::CloseInfo;
use tokio::sync::mpsc;

use crate::Error;
use crate::connection::{Connection, Incoming};

/// What the client end sent, as seen by the [`MemoryPeer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientFrame {
    /// A text frame (one JSON message).
    Text(String),
    /// A close frame.
    Close(CloseInfo),
}

/// The client end of an in-memory connection.
#[derive(Debug)]
pub struct MemoryConnection {
    tx: mpsc::Sender<ClientFrame>,
    rx: mpsc::Receiver<Incoming>,
    closed: bool,
}

/// The server end of an in-memory connection. Dropping it ends the
/// connection without a close frame (the client sees 1006).
#[derive(Debug)]
pub struct MemoryPeer {
    tx: mpsc::Sender<Incoming>,
    rx: mpsc::Receiver<ClientFrame>,
}

/// A connected pair; each direction buffers up to `capacity` frames and
/// then applies backpressure, like a socket.
pub fn pair(capacity: usize) -> (MemoryConnection, MemoryPeer) {
    let (client_tx, peer_rx) = mpsc::channel(capacity.max(1));
    let (peer_tx, client_rx) = mpsc::channel(capacity.max(1));
    (
        MemoryConnection {
            tx: client_tx,
            rx: client_rx,
            closed: false,
        },
        MemoryPeer {
            tx: peer_tx,
            rx: peer_rx,
        },
    )
}

impl Connection for MemoryConnection {
    async fn send(&mut self, frame: String) -> Result<(), Error> {
        self.tx
            .send(ClientFrame::Text(frame))
            .await
            .map_err(|_| Error::ConnectionLost("in-memory peer dropped".to_owned()))
    }

    async fn recv(&mut self) -> Result<Incoming, Error> {
        if self.closed {
            return Ok(Incoming::Close(None));
        }
        match self.rx.recv().await {
            Some(incoming) => {
                if matches!(incoming, Incoming::Close(_)) {
                    self.closed = true;
                }
                Ok(incoming)
            }
            None => {
                self.closed = true;
                Ok(Incoming::Close(None))
            }
        }
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        let close = CloseInfo {
            code,
            reason: reason.to_owned(),
        };
        self.tx
            .send(ClientFrame::Close(close))
            .await
            .map_err(|_| Error::ConnectionLost("in-memory peer dropped".to_owned()))
    }
}

impl MemoryPeer {
    /// The next frame from the client; `None` once the client end is gone.
    pub async fn recv(&mut self) -> Option<ClientFrame> {
        self.rx.recv().await
    }

    /// The next text frame parsed as JSON; `None` on a close, a vanished
    /// client or a frame that is not JSON.
    pub async fn recv_json(&mut self) -> Option<serde_json::Value> {
        match self.recv().await? {
            ClientFrame::Text(text) => serde_json::from_str(&text).ok(),
            ClientFrame::Close(_) => None,
        }
    }

    /// Sends a binary frame with `json` pretty-printed, as Google does.
    /// Returns `false` when the client end is gone.
    pub async fn send_json(&self, json: &serde_json::Value) -> bool {
        let mut text = serde_json::to_vec_pretty(json).unwrap_or_default();
        text.push(b'\n');
        self.send_binary(text).await
    }

    /// Sends a binary frame.
    pub async fn send_binary(&self, data: impl Into<Bytes>) -> bool {
        self.tx.send(Incoming::Binary(data.into())).await.is_ok()
    }

    /// Sends a text frame.
    pub async fn send_text(&self, text: impl Into<String>) -> bool {
        self.tx
            .send(Incoming::Text(Bytes::from(text.into())))
            .await
            .is_ok()
    }

    /// Sends a close frame with `code` and `reason`.
    pub async fn close(&self, code: u16, reason: &str) -> bool {
        let close = CloseInfo {
            code,
            reason: reason.to_owned(),
        };
        self.tx.send(Incoming::Close(Some(close))).await.is_ok()
    }
}
