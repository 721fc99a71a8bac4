//! [`GoogleCredentials`]: Google Cloud credentials for Vertex AI (feature `vertex`), on the
//! `gcp_auth` crate.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::OnceCell;
use transport::Secret;

use crate::client::{TokenFuture, TokenProvider};
use crate::{Error, Result};

/// The OAuth2 scope Vertex AI's Live API takes.
const SCOPES: &[&str] = &["https://www.googleapis.com/auth/cloud-platform"];

/// Google Cloud credentials: a [`TokenProvider`] of OAuth2 access tokens, cached until shortly
/// before they expire and refreshed for the next connection after that.
///
/// [`GoogleCredentials::application_default`] finds Application Default Credentials like
/// Google's own libraries do, in this order:
///
/// 1. a service-account key file named by `GOOGLE_APPLICATION_CREDENTIALS`;
/// 2. the gcloud ADC file (`~/.config/gcloud/application_default_credentials.json`, written by
///    `gcloud auth application-default login`);
/// 3. the metadata server (Compute Engine, Cloud Run, GKE...);
/// 4. `gcloud auth print-access-token`.
///
/// Nothing is read before the first connection asks for a token. Token requests go straight to
/// Google's OAuth2 endpoint (or the key file's `token_uri`), verified with the system's root
/// certificates; they do not use the session's proxy.
///
/// ```no_run
/// # async fn demo() -> gemlive::Result<()> {
/// use gemlive::{Client, GoogleCredentials};
///
/// let key = GoogleCredentials::service_account_file("/secrets/live-sa.json");
/// let client = Client::vertex_with("my-project", "europe-west4", key);
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct GoogleCredentials {
    source: Source,
    provider: Arc<OnceCell<Arc<dyn gcp_auth::TokenProvider>>>,
}

#[derive(Clone, Debug)]
enum Source {
    ApplicationDefault,
    ServiceAccountFile(PathBuf),
}

impl GoogleCredentials {
    /// Application Default Credentials (see the type's documentation for the order).
    pub fn application_default() -> Self {
        Self::from_source(Source::ApplicationDefault)
    }

    /// The service-account key file at `path` (JSON, as downloaded from the console).
    pub fn service_account_file(path: impl Into<PathBuf>) -> Self {
        Self::from_source(Source::ServiceAccountFile(path.into()))
    }

    fn from_source(source: Source) -> Self {
        Self {
            source,
            provider: Arc::new(OnceCell::new()),
        }
    }

    /// The project the credentials belong to (the key file's `project_id`, the ADC file's quota
    /// project, or the metadata server's project).
    pub async fn project_id(&self) -> Result<String> {
        let provider = self.provider().await?;
        let project = provider.project_id().await.map_err(failed)?;
        Ok(project.to_string())
    }

    async fn provider(&self) -> Result<&Arc<dyn gcp_auth::TokenProvider>> {
        self.provider
            .get_or_try_init(|| async {
                let provider: Arc<dyn gcp_auth::TokenProvider> = match &self.source {
                    Source::ApplicationDefault => gcp_auth::provider().await.map_err(failed)?,
                    Source::ServiceAccountFile(path) => Arc::new(
                        gcp_auth::CustomServiceAccount::from_file(path).map_err(|e| {
                            Error::Credentials(format!("{}: {}", path.display(), describe(&e)))
                        })?,
                    ),
                };
                Ok(provider)
            })
            .await
    }
}

impl TokenProvider for GoogleCredentials {
    fn access_token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let provider = self.provider().await?;
            let token = provider.token(SCOPES).await.map_err(failed)?;
            Ok(Secret::new(token.as_str()))
        })
    }
}

impl fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleCredentials")
            .field("source", &self.source)
            .field("found", &self.provider.initialized())
            .finish()
    }
}

fn failed(e: gcp_auth::Error) -> Error {
    Error::Credentials(describe(&e))
}

/// The error with its causes (gcp_auth keeps the reasons of a failed search apart).
fn describe(e: &gcp_auth::Error) -> String {
    if let gcp_auth::Error::NoAuthMethod(gcloud, metadata, adc_file) = e {
        return format!(
            "no credentials found (GOOGLE_APPLICATION_CREDENTIALS is not set; the gcloud ADC file: {}; the metadata server: {}; gcloud: {})",
            describe(adc_file),
            describe(metadata),
            describe(gcloud)
        );
    }
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        next = cause.source();
    }
    text
}
