//! [`AuthProvider`]: credentials asked for before every connection of a session.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(doc)]
use super::ClientConfig;
use crate::Error;
use crate::endpoint::Auth;

/// A future returned by an [`AuthProvider`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Auth, Error>> + Send + 'a>>;

/// Credentials that change over the life of a session: OAuth2 access tokens for Vertex AI
/// (they last an hour), or anything else that must be fresh on each connection.
///
/// Set as [`ClientConfig::auth_provider`], it is asked before every connection: the first one
/// and each one automatic resumption opens, so that a session that outlives its token resumes
/// with a new one. It should cache what it returns until shortly before it expires (the
/// credentials libraries do). A failure fails the first connection with
/// [`Error::Credentials`]; during a resumption it counts as a failed attempt, retried with the
/// [`ResumePolicy`](super::ResumePolicy)'s backoff. Each call is bounded by
/// [`ClientConfig::connect_timeout`].
///
/// ```
/// use gemlive_transport::{Auth, AuthFuture, AuthProvider, Secret};
///
/// /// Reads the token a sidecar keeps fresh in a file.
/// #[derive(Debug)]
/// struct TokenFile(std::path::PathBuf);
///
/// impl AuthProvider for TokenFile {
///     fn auth(&self) -> AuthFuture<'_> {
///         Box::pin(async move {
///             let token = tokio::fs::read_to_string(&self.0)
///                 .await
///                 .map_err(|e| gemlive_transport::Error::Credentials(e.into()))?;
///             Ok(Auth::Bearer(Secret::new(token.trim())))
///         })
///     }
/// }
/// ```
pub trait AuthProvider: Send + Sync + fmt::Debug {
    /// The credential for the next connection.
    fn auth(&self) -> AuthFuture<'_>;
}

/// Asks `provider`, within `limit`.
pub(super) async fn ask(provider: &dyn AuthProvider, limit: Duration) -> Result<Auth, Error> {
    match tokio::time::timeout(limit, provider.auth()).await {
        Ok(auth) => auth,
        Err(_) => Err(Error::Credentials(
            format!(
                "no credential within {:.0} s (the connect timeout)",
                limit.as_secs_f64()
            )
            .into(),
        )),
    }
}
