//! Connections, endpoints, auth and the async client that drives a
//! [`protocol`] session over a WebSocket.

mod client;
mod connection;
mod endpoint;
mod error;
pub mod memory;
mod proxy;
mod recorder;
mod secret;
mod tls;
mod ws;

pub use client::{
    ClientConfig, DEFAULT_EVENT_CAPACITY, LiveEvents, LiveSender, SessionInfo, SessionOptions,
    Turn, connect, start,
};
pub use connection::{Connection, Incoming};
pub use endpoint::{API_KEY_ENV_VARS, ApiVersion, Auth, ConfigError, Endpoint, VertexApiVersion};
pub use error::Error;
pub use protocol;
pub use proxy::{ProxyConfig, ProxyError};
pub use recorder::{AudioPolicy, Recorder, RecorderConfig};
pub use secret::Secret;
pub use tls::{TlsConfig, TlsError};
pub use ws::{DEFAULT_IDLE_TIMEOUT, WsConnection, WsOptions};
