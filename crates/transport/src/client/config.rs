//! What [`connect`](super::connect) and [`start`](super::start) need to know.

use std::sync::Arc;
use std::time::Duration;

use protocol::SessionConfig;
use protocol::wire::{SessionResumptionConfig, Setup};

use super::{AuthProvider, EventTap, ResumePolicy};
#[cfg(doc)]
use super::{LiveEvents, LiveSender, connect, start, start_resumable};
#[cfg(doc)]
use crate::Connection;
use crate::endpoint::{Auth, Endpoint};
use crate::proxy::ProxyConfig;
use crate::recorder::{Recorder, RecorderConfig};
use crate::tls::TlsConfig;
use crate::ws::{DEFAULT_IDLE_TIMEOUT, DEFAULT_READ_BUFFER, WsOptions};

/// Default bound of the event channel.
pub const DEFAULT_EVENT_CAPACITY: usize = 256;

/// Everything [`connect`] needs.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// How to authenticate (unless [`auth_provider`](Self::auth_provider) is set).
    pub auth: Auth,
    /// Credentials asked for before every connection, the first and each one that automatic
    /// resumption opens (refreshable Vertex AI access tokens); replaces [`auth`](Self::auth).
    pub auth_provider: Option<Arc<dyn AuthProvider>>,
    /// The setup message. Its model name is completed with the endpoint's
    /// rules ([`Endpoint::model_name`]).
    pub setup: Setup,
    /// How long to wait for `setupComplete` after sending the setup.
    pub setup_timeout: Duration,
    /// Limit for TCP connect, proxy, TLS and the HTTP upgrade together.
    pub connect_timeout: Duration,
    /// Liveness: a connection without any frame (pongs included) for this
    /// long is dead. `None` disables the check.
    pub idle_timeout: Option<Duration>,
    /// Trusted CAs (extra CA file for corporate TLS).
    pub tls: TlsConfig,
    /// Proxy selection (from the environment by default).
    pub proxy: ProxyConfig,
    /// Allow plain `ws://` to hosts that are not loopback.
    pub allow_insecure_ws: bool,
    /// The most read from the socket at once, in bytes (default
    /// [`DEFAULT_READ_BUFFER`], 32 KiB, right for a client receiving Google's audio). A process
    /// that relays many sessions of small frames spends less CPU with 4 to 8 KiB: see
    /// [`WsOptions::read_buffer`].
    pub read_buffer: usize,
    /// Record every frame to a JSONL file.
    pub record: Option<RecorderConfig>,
    /// Bound of the event channel.
    pub event_capacity: usize,
    /// Keep the session alive across connections (on by default): after a
    /// `goAway` (once no turn is open, or shortly before its deadline), a
    /// retriable close (network loss, 1011, 1000 from the server) or a
    /// stalled turn, open a new connection that resumes with the latest
    /// handle, paced by [`resume_policy`](Self::resume_policy). The new
    /// connection announces itself with `Event::Reconnecting` and then
    /// `Event::SetupComplete { resumed: true, .. }`. A turn the break cut
    /// short ends with `Event::TurnCut`, which says which user turns are sent
    /// again on the new connection (their answers follow) and which must be
    /// asked again; speech not yet answered is sent again too (see
    /// [`ResumePolicy::resend_limit`]); commands sent meanwhile wait for the
    /// new connection.
    ///
    /// Resuming needs handles: when this is on, a setup without
    /// `session_resumption` gets `sessionResumption: {}`. A connection that
    /// breaks before the server sent a resumable handle ends the session
    /// (a fresh session would silently lose its history): `Event::Closed`
    /// with [`CloseKind::ResumeFailed`](protocol::CloseKind::ResumeFailed).
    pub auto_resume: bool,
    /// Backoff, budget and resends of [`auto_resume`](Self::auto_resume).
    pub resume_policy: ResumePolicy,
    /// A turn without progress for this long is stalled: the connection is
    /// left and, with [`auto_resume`](Self::auto_resume), the session resumes
    /// and sends the turn again (see
    /// [`SessionConfig::stall_timeout`](protocol::SessionConfig::stall_timeout);
    /// default [`DEFAULT_STALL_TIMEOUT`](protocol::DEFAULT_STALL_TIMEOUT)).
    pub stall_timeout: Option<Duration>,
    /// How much of the speech not yet answered is kept to be sent again after a break: the
    /// newest audio, up to this long (default
    /// [`DEFAULT_SPEECH_KEPT`](protocol::DEFAULT_SPEECH_KEPT), 30 s: about 1 MB of 16 kHz
    /// audio per session while the microphone streams between answers; lower it for many
    /// sessions in one process, `Duration::ZERO` keeps none). See
    /// [`SessionConfig::speech_kept`](protocol::SessionConfig::speech_kept).
    pub speech_kept: Duration,
    /// Called with every event on the driver's task, before it is queued for
    /// [`LiveEvents`] (see [`EventTap`]).
    pub event_tap: Option<EventTap>,
}

impl ClientConfig {
    /// A configuration with the defaults: 15 s setup timeout, 20 s connect
    /// timeout, 60 s idle timeout, 45 s stall timeout, automatic resumption
    /// with the default [`ResumePolicy`], webpki + system roots, proxy from
    /// the environment, a 32 KiB read buffer, no recording.
    pub fn new(endpoint: Endpoint, auth: Auth, setup: Setup) -> Self {
        Self {
            endpoint,
            auth,
            auth_provider: None,
            setup,
            setup_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(20),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            tls: TlsConfig::default(),
            proxy: ProxyConfig::default(),
            allow_insecure_ws: false,
            read_buffer: DEFAULT_READ_BUFFER,
            record: None,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            auto_resume: true,
            resume_policy: ResumePolicy::default(),
            stall_timeout: Some(protocol::DEFAULT_STALL_TIMEOUT),
            speech_kept: protocol::DEFAULT_SPEECH_KEPT,
            event_tap: None,
        }
    }
}

impl ClientConfig {
    /// How its connections are opened: TLS, proxy, timeouts and read buffer (also what a
    /// one-shot HTTP request to the same backend needs, see [`post_json`](crate::post_json)).
    pub fn ws_options(&self) -> WsOptions {
        WsOptions {
            tls: self.tls.clone(),
            proxy: self.proxy.clone(),
            idle_timeout: self.idle_timeout,
            connect_timeout: self.connect_timeout,
            read_buffer: self.read_buffer,
        }
    }

    /// Resume an earlier session: the setup carries `handle` (the latest
    /// [`LiveSender::resumption_handle`] of the old connection). The model
    /// must stay the same; other settings may change.
    #[must_use]
    pub fn resume(mut self, handle: impl Into<String>) -> Self {
        let transparent = self
            .setup
            .session_resumption
            .as_ref()
            .and_then(|r| r.transparent);
        self.setup.session_resumption = Some(SessionResumptionConfig {
            handle: Some(handle.into()),
            transparent,
        });
        self
    }
}

/// How to run a session over an already open [`Connection`] (see [`start`]).
#[derive(Debug)]
pub struct SessionOptions {
    /// The protocol session's configuration (setup, backend, setup timeout).
    pub session: SessionConfig,
    /// Bound of the event channel.
    pub event_capacity: usize,
    /// A recorder tap.
    pub recorder: Option<Recorder>,
    /// Called with every event before it is queued (see [`EventTap`]).
    pub event_tap: Option<EventTap>,
    /// How [`start_resumable`] reconnects (unused by [`start`]).
    pub resume_policy: ResumePolicy,
}

impl SessionOptions {
    /// Options with the default event capacity, no recorder and no tap.
    pub fn new(session: SessionConfig) -> Self {
        Self {
            session,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            recorder: None,
            event_tap: None,
            resume_policy: ResumePolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read buffer is a setting of the client's connections, 32 KiB unless changed.
    #[test]
    fn the_read_buffer_reaches_the_connections_options() {
        let endpoint = Endpoint::custom("ws://127.0.0.1:9").unwrap();
        let mut config = ClientConfig::new(endpoint, Auth::None, Setup::new("m"));
        assert_eq!(config.ws_options().read_buffer, 32 * 1024);
        config.read_buffer = 8 * 1024;
        config.connect_timeout = Duration::from_secs(3);
        let options = config.ws_options();
        assert_eq!(
            (options.read_buffer, options.connect_timeout),
            (8 * 1024, Duration::from_secs(3))
        );
    }
}
