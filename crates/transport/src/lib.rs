//! Connections, endpoints, auth and the async client that drives a
//! [`protocol`] session over a WebSocket.
//!
//! This crate is being built (see the transport issue); today it only
//! re-exports the protocol crate so the layout is visible.

pub use protocol;
