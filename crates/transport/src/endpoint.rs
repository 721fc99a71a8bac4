//! Endpoints and authentication: where the WebSocket goes and how it proves
//! who it is. Callers build a typed [`Endpoint`] and [`Auth`]; the URL, the
//! headers and the `setup.model` resource name all come from here, never from
//! string pasting in applications.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use protocol::Backend;
use protocol::models::{ModelNameError, gemini_model_name, vertex_model_name};

use crate::secret::{Secret, redact_url};

const GEMINI_HOST: &str = "generativelanguage.googleapis.com";

/// The Gemini Developer API version in the WebSocket path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// `v1beta`, the version the API reference documents (our default).
    #[default]
    V1Beta,
    /// `v1alpha`: needed for ephemeral tokens, `proactivity` and affective dialog.
    V1Alpha,
    /// `v1`, the default of google-genai 3.x.
    V1,
}

impl ApiVersion {
    /// The path segment, e.g. `"v1beta"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1Beta => "v1beta",
            Self::V1Alpha => "v1alpha",
            Self::V1 => "v1",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = ConfigError;

    /// Accepts `v1beta`/`beta`, `v1alpha`/`alpha` and `v1` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1beta" | "beta" => Ok(Self::V1Beta),
            "v1alpha" | "alpha" => Ok(Self::V1Alpha),
            "v1" => Ok(Self::V1),
            other => Err(ConfigError::UnknownApiVersion(other.to_owned())),
        }
    }
}

/// The Vertex AI API version in the WebSocket path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VertexApiVersion {
    /// `v1beta1`, what the official SDKs use.
    #[default]
    V1Beta1,
    /// `v1`, what the Vertex docs and samples use.
    V1,
}

impl VertexApiVersion {
    /// The path segment, e.g. `"v1beta1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1Beta1 => "v1beta1",
            Self::V1 => "v1",
        }
    }
}

/// Where to connect.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent`
    /// (`...Constrained` with an ephemeral token).
    Gemini {
        /// Path version.
        version: ApiVersion,
    },
    /// `wss://{host}/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent`.
    /// The host follows the location: `global` → `aiplatform.googleapis.com`, `us`/`eu` →
    /// `aiplatform.{loc}.rep.googleapis.com`, otherwise `{loc}-aiplatform.googleapis.com`.
    Vertex {
        /// Google Cloud project id.
        project: String,
        /// Region (`us-central1`), multi-region (`us`, `eu`) or `global`.
        location: String,
        /// Path version.
        version: VertexApiVersion,
    },
    /// A Gemini-API-compatible server at `base_url` (e.g. the local emulator): the
    /// standard `/ws/google.ai.generativelanguage...` path is appended to the base path.
    /// `https`/`http` become `wss`/`ws`.
    Custom {
        /// Scheme, host, port and optional path prefix.
        base_url: Url,
        /// Path version.
        version: ApiVersion,
    },
    /// Exactly this URL (e.g. a company gateway). The model name is sent as given.
    Verbatim {
        /// The full WebSocket URL.
        url: Url,
        /// Which dialect the server speaks.
        backend: Backend,
    },
}

impl Default for Endpoint {
    fn default() -> Self {
        Self::gemini(ApiVersion::default())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gemini { version } => f.debug_struct("Gemini").field("version", version).finish(),
            Self::Vertex {
                project,
                location,
                version,
            } => f
                .debug_struct("Vertex")
                .field("project", project)
                .field("location", location)
                .field("version", version)
                .finish(),
            Self::Custom { base_url, version } => f
                .debug_struct("Custom")
                .field("base_url", &redact_url(base_url))
                .field("version", version)
                .finish(),
            Self::Verbatim { url, backend } => f
                .debug_struct("Verbatim")
                .field("url", &redact_url(url))
                .field("backend", backend)
                .finish(),
        }
    }
}

impl Endpoint {
    /// The Gemini Developer API at Google.
    pub fn gemini(version: ApiVersion) -> Self {
        Self::Gemini { version }
    }

    /// Vertex AI at Google.
    pub fn vertex(
        project: impl Into<String>,
        location: impl Into<String>,
        version: VertexApiVersion,
    ) -> Self {
        Self::Vertex {
            project: project.into(),
            location: location.into(),
            version,
        }
    }

    /// A Gemini-compatible server at `base_url` (`http://127.0.0.1:9000`,
    /// `https://gateway.example.com/prefix`), API version `v1beta`.
    pub fn custom(base_url: &str) -> Result<Self, ConfigError> {
        let base_url = Url::parse(base_url).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        Ok(Self::Custom {
            base_url,
            version: ApiVersion::default(),
        })
    }

    /// Exactly this WebSocket URL, speaking the Gemini dialect.
    pub fn verbatim(url: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(url).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        Ok(Self::Verbatim {
            url,
            backend: Backend::GeminiApi,
        })
    }

    /// Which dialect this endpoint speaks.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Gemini { .. } | Self::Custom { .. } => Backend::GeminiApi,
            Self::Vertex { .. } => Backend::Vertex,
            Self::Verbatim { backend, .. } => *backend,
        }
    }

    /// The API version string as Google names it in error messages
    /// (`models/x is not found for API version v1beta`).
    pub fn api_version(&self) -> &'static str {
        match self {
            Self::Gemini { version } | Self::Custom { version, .. } => version.as_str(),
            Self::Vertex { version, .. } => version.as_str(),
            Self::Verbatim { backend, .. } => match backend {
                Backend::GeminiApi => ApiVersion::default().as_str(),
                Backend::Vertex => VertexApiVersion::default().as_str(),
            },
        }
    }

    /// The WebSocket URL for this endpoint and credential. Fails on a
    /// malformed project or location, on an ephemeral token for Vertex, and
    /// on plain `ws://` to a non-loopback host unless `allow_insecure_ws`.
    pub fn url(&self, auth: &Auth, allow_insecure_ws: bool) -> Result<Url, ConfigError> {
        let method = if matches!(auth, Auth::EphemeralToken(_)) {
            "BidiGenerateContentConstrained"
        } else {
            "BidiGenerateContent"
        };
        let gemini_path = |v: ApiVersion| {
            format!("ws/google.ai.generativelanguage.{v}.GenerativeService.{method}")
        };
        let url = match self {
            Self::Gemini { version } => {
                parse_url(&format!("wss://{GEMINI_HOST}/{}", gemini_path(*version)))?
            }
            Self::Vertex {
                project,
                location,
                version,
            } => {
                if matches!(auth, Auth::EphemeralToken(_)) {
                    return Err(ConfigError::TokenOnVertex);
                }
                check_project(project)?;
                let host = vertex_host(location)?;
                parse_url(&format!(
                    "wss://{host}/ws/google.cloud.aiplatform.{}.LlmBidiService/BidiGenerateContent",
                    version.as_str()
                ))?
            }
            Self::Custom { base_url, version } => {
                let mut url = base_url.clone();
                let scheme = match url.scheme() {
                    "https" | "wss" => "wss",
                    "http" | "ws" => "ws",
                    other => return Err(ConfigError::UnsupportedScheme(other.to_owned())),
                };
                url.set_scheme(scheme)
                    .map_err(|()| ConfigError::UnsupportedScheme(scheme.to_owned()))?;
                let prefix = url.path().trim_end_matches('/').to_owned();
                url.set_path(&format!("{prefix}/{}", gemini_path(*version)));
                url
            }
            Self::Verbatim { url, .. } => {
                if !matches!(url.scheme(), "ws" | "wss") {
                    return Err(ConfigError::UnsupportedScheme(url.scheme().to_owned()));
                }
                url.clone()
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::InvalidUrl(format!(
                "{} has no host",
                redact_url(&url)
            )));
        }
        if url.scheme() == "ws" && !allow_insecure_ws && !is_loopback_host(&url) {
            return Err(ConfigError::InsecureWs(redact_url(&url)));
        }
        Ok(url)
    }

    /// The resource name to put in `setup.model`, following the SDKs'
    /// rules (reference §1.2 and §1.4, implemented in [`protocol::models`]):
    ///
    /// * Gemini: names starting with `models/` or `tunedModels/` are kept,
    ///   others get `models/`.
    /// * Vertex: `m` → `projects/P/locations/L/publishers/google/models/m`,
    ///   `pub/m` → `projects/P/locations/L/publishers/pub/models/m`,
    ///   `projects/...` is kept.
    /// * Verbatim endpoints: sent as given (trimmed).
    ///
    /// ```
    /// use gemlive_transport::{ApiVersion, Endpoint, VertexApiVersion};
    /// let gemini = Endpoint::gemini(ApiVersion::V1Beta);
    /// assert_eq!(gemini.model_name("gemini-3.1-flash-live-preview").unwrap(),
    ///            "models/gemini-3.1-flash-live-preview");
    /// let vertex = Endpoint::vertex("p", "us-central1", VertexApiVersion::V1);
    /// assert_eq!(vertex.model_name("gemini-live-2.5-flash").unwrap(),
    ///            "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash");
    /// ```
    pub fn model_name(&self, model: &str) -> Result<String, ConfigError> {
        let model = model.trim();
        match self {
            Self::Gemini { .. } | Self::Custom { .. } => Ok(gemini_model_name(model)?),
            Self::Vertex {
                project, location, ..
            } => Ok(vertex_model_name(model, project, location)?),
            Self::Verbatim { .. } if model.is_empty() => Err(ModelNameError {
                name: model.to_owned(),
                why: "it is empty",
            }
            .into()),
            Self::Verbatim { .. } => Ok(model.to_owned()),
        }
    }
}

fn parse_url(s: &str) -> Result<Url, ConfigError> {
    Url::parse(s).map_err(|e| ConfigError::InvalidUrl(e.to_string()))
}

fn check_project(project: &str) -> Result<(), ConfigError> {
    let ok = !project.is_empty()
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidVertex(format!(
            "project {project:?} is not a Google Cloud project id"
        )))
    }
}

fn vertex_host(location: &str) -> Result<String, ConfigError> {
    let ok = !location.is_empty()
        && location
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ConfigError::InvalidVertex(format!(
            "location {location:?} is not a Google Cloud location"
        )));
    }
    Ok(match location {
        "global" => "aiplatform.googleapis.com".to_owned(),
        "us" | "eu" => format!("aiplatform.{location}.rep.googleapis.com"),
        region => format!("{region}-aiplatform.googleapis.com"),
    })
}

/// Whether the URL's host is `localhost` (or `*.localhost`) or a loopback IP.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// How the connection authenticates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// No credential (a local server, or a gateway that adds its own).
    #[default]
    None,
    /// A Gemini API key, sent as the `x-goog-api-key` header (never in the URL).
    ApiKey(Secret),
    /// An ephemeral token (`auth_tokens/...`), sent as `Authorization: Token ...`
    /// on `BidiGenerateContentConstrained`. Gemini API only, normally `v1alpha`.
    EphemeralToken(Secret),
    /// An OAuth2 access token, sent as `Authorization: Bearer ...` (Vertex AI).
    Bearer(Secret),
}

/// The environment variables [`Auth::from_env`] reads, in priority order.
pub const API_KEY_ENV_VARS: [&str; 2] = ["GOOGLE_API_KEY", "GEMINI_API_KEY"];

impl Auth {
    /// An API key.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Self::ApiKey(key.into())
    }

    /// An ephemeral token, the full `auth_tokens/...` name.
    pub fn ephemeral_token(token: impl Into<Secret>) -> Self {
        Self::EphemeralToken(token.into())
    }

    /// An OAuth2 access token for `Authorization: Bearer`.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Self::Bearer(token.into())
    }

    /// The API key from `GOOGLE_API_KEY` or `GEMINI_API_KEY`.
    ///
    /// When both are set, **`GOOGLE_API_KEY` wins**, as in the official
    /// google-genai SDKs, and a warning is logged (without either value).
    /// Empty values count as unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`Auth::from_env`] over any variable lookup (for tests and for
    /// callers with their own configuration layers).
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let found: Vec<(&str, String)> = API_KEY_ENV_VARS
            .iter()
            .filter_map(|name| {
                get(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v))
            })
            .collect();
        match found.as_slice() {
            [] => Err(ConfigError::MissingApiKey),
            [(name, value), rest @ ..] => {
                if !rest.is_empty() {
                    tracing::warn!("both GOOGLE_API_KEY and GEMINI_API_KEY are set; using {name}");
                }
                Ok(Self::ApiKey(Secret::new(value.trim())))
            }
        }
    }

    /// The HTTP headers that carry this credential on the WebSocket upgrade,
    /// marked sensitive.
    pub fn headers(&self) -> Result<HeaderMap, ConfigError> {
        let mut headers = HeaderMap::new();
        let (name, value) = match self {
            Self::None => return Ok(headers),
            Self::ApiKey(key) => (
                HeaderName::from_static("x-goog-api-key"),
                key.expose().to_owned(),
            ),
            Self::EphemeralToken(token) => (
                http::header::AUTHORIZATION,
                format!("Token {}", token.expose()),
            ),
            Self::Bearer(token) => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            ),
        };
        if matches!(self, Self::ApiKey(s) | Self::EphemeralToken(s) | Self::Bearer(s) if s.is_blank())
        {
            return Err(ConfigError::InvalidCredential("the credential is empty"));
        }
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            ConfigError::InvalidCredential(
                "the credential contains characters not allowed in a header",
            )
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok(headers)
    }
}

/// A configuration mistake, found before any network traffic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither `GOOGLE_API_KEY` nor `GEMINI_API_KEY` is set.
    #[error("no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY, which wins when both are set)")]
    MissingApiKey,
    /// The credential cannot be sent.
    #[error("invalid credential: {0}")]
    InvalidCredential(&'static str),
    /// Not a usable URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// A scheme other than `ws`, `wss`, `http`, `https`.
    #[error("unsupported URL scheme {0:?} (use wss://, ws://, https:// or http://)")]
    UnsupportedScheme(String),
    /// Plain `ws://` to a host that is not loopback.
    #[error(
        "refusing unencrypted ws:// to a non-loopback host ({0}); use wss:// or allow insecure WebSockets explicitly"
    )]
    InsecureWs(String),
    /// A bad Vertex project or location.
    #[error("invalid Vertex AI endpoint: {0}")]
    InvalidVertex(String),
    /// Ephemeral tokens exist only on the Gemini API.
    #[error("ephemeral tokens only work with the Gemini API, not Vertex AI")]
    TokenOnVertex,
    /// A model name the SDK rules reject.
    #[error(transparent)]
    InvalidModel(#[from] ModelNameError),
    /// An API version string we do not know.
    #[error("unknown API version {0:?} (expected v1beta, v1alpha or v1)")]
    UnknownApiVersion(String),
    /// A proxy URL we cannot use.
    #[error("invalid proxy: {0}")]
    InvalidProxy(String),
}

/// Parses an IP address that may be written in URL brackets.
pub(crate) fn parse_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Auth {
        Auth::api_key("AIzaTEST")
    }

    #[test]
    fn gemini_urls_per_version_and_auth() {
        let url = Endpoint::gemini(ApiVersion::V1Beta)
            .url(&key(), false)
            .unwrap();
        assert_eq!(
            url.as_str(),
            "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        );
        let url = Endpoint::gemini(ApiVersion::V1).url(&key(), false).unwrap();
        assert!(
            url.path()
                .contains(".v1.GenerativeService.BidiGenerateContent")
        );
        let token = Auth::ephemeral_token("auth_tokens/abc");
        let url = Endpoint::gemini(ApiVersion::V1Alpha)
            .url(&token, false)
            .unwrap();
        assert!(
            url.path()
                .ends_with("v1alpha.GenerativeService.BidiGenerateContentConstrained")
        );
        assert!(url.query().is_none(), "credentials never go in the URL");
    }

    #[test]
    fn vertex_hosts() {
        let b = Auth::bearer("ya29.x");
        let host = |loc: &str| {
            Endpoint::vertex("my-proj", loc, VertexApiVersion::V1)
                .url(&b, false)
                .unwrap()
                .host_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(host("global"), "aiplatform.googleapis.com");
        assert_eq!(host("us"), "aiplatform.us.rep.googleapis.com");
        assert_eq!(host("eu"), "aiplatform.eu.rep.googleapis.com");
        assert_eq!(host("us-central1"), "us-central1-aiplatform.googleapis.com");
        let url = Endpoint::vertex("p", "europe-west4", VertexApiVersion::V1Beta1)
            .url(&b, false)
            .unwrap();
        assert_eq!(
            url.path(),
            "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        );
        assert!(matches!(
            Endpoint::vertex("p", "evil.com/x", VertexApiVersion::V1).url(&b, false),
            Err(ConfigError::InvalidVertex(_))
        ));
        assert_eq!(
            Endpoint::vertex("p", "us", VertexApiVersion::V1)
                .url(&Auth::ephemeral_token("auth_tokens/x"), false),
            Err(ConfigError::TokenOnVertex)
        );
    }

    #[test]
    fn custom_base_url_appends_the_standard_path() {
        let e = Endpoint::custom("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            e.url(&key(), false).unwrap().as_str(),
            "ws://127.0.0.1:9000/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        );
        let e = Endpoint::custom("https://gw.example.com/live/").unwrap();
        assert_eq!(
            e.url(&key(), false).unwrap().as_str(),
            "wss://gw.example.com/live/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        );
        assert!(matches!(
            Endpoint::custom("ftp://x").unwrap().url(&key(), false),
            Err(ConfigError::UnsupportedScheme(_))
        ));
    }

    #[test]
    fn plain_ws_only_to_loopback() {
        for ok in ["http://localhost:1", "http://127.0.0.9:1", "http://[::1]:1"] {
            assert!(
                Endpoint::custom(ok).unwrap().url(&key(), false).is_ok(),
                "{ok}"
            );
        }
        let remote = Endpoint::custom("http://10.0.0.5:9000").unwrap();
        assert!(matches!(
            remote.url(&key(), false),
            Err(ConfigError::InsecureWs(_))
        ));
        assert!(remote.url(&key(), true).is_ok());
        let verbatim = Endpoint::verbatim("ws://example.com/ws?key=SECRET").unwrap();
        let err = verbatim.url(&Auth::None, false).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(!format!("{verbatim:?}").contains("SECRET"));
    }

    #[test]
    fn model_prefix_rules() {
        let g = Endpoint::gemini(ApiVersion::V1Beta);
        assert_eq!(g.model_name("m").unwrap(), "models/m");
        assert_eq!(g.model_name("models/m").unwrap(), "models/m");
        assert_eq!(g.model_name("tunedModels/t").unwrap(), "tunedModels/t");
        assert!(g.model_name("m?key=x").is_err());
        assert!(g.model_name("../m").is_err());
        assert!(g.model_name(" ").is_err());
        let v = Endpoint::vertex("p", "l", VertexApiVersion::V1);
        let full = "projects/p/locations/l/publishers/google/models/m";
        assert_eq!(v.model_name("m").unwrap(), full);
        assert_eq!(v.model_name("publishers/google/models/m").unwrap(), full);
        assert_eq!(v.model_name(full).unwrap(), full);
        assert_eq!(
            v.model_name("meta/llama").unwrap(),
            "projects/p/locations/l/publishers/meta/models/llama"
        );
        let raw = Endpoint::verbatim("wss://x/y").unwrap();
        assert_eq!(raw.model_name("anything/goes").unwrap(), "anything/goes");
    }

    #[test]
    fn auth_headers() {
        let h = key().headers().unwrap();
        assert_eq!(h["x-goog-api-key"], "AIzaTEST");
        assert!(h["x-goog-api-key"].is_sensitive());
        let h = Auth::ephemeral_token("auth_tokens/t").headers().unwrap();
        assert_eq!(h["authorization"], "Token auth_tokens/t");
        let h = Auth::bearer("ya29").headers().unwrap();
        assert_eq!(h["authorization"], "Bearer ya29");
        assert!(Auth::None.headers().unwrap().is_empty());
        assert!(Auth::api_key("").headers().is_err());
        assert!(Auth::api_key("a\nb").headers().is_err());
        assert!(!format!("{:?}", key()).contains("AIzaTEST"));
    }

    #[test]
    fn env_key_priority() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let both = Auth::from_env_with(env(&[("GEMINI_API_KEY", "g"), ("GOOGLE_API_KEY", "o")]));
        assert_eq!(both.unwrap(), Auth::api_key("o"));
        let gemini = Auth::from_env_with(env(&[("GEMINI_API_KEY", "g"), ("GOOGLE_API_KEY", " ")]));
        assert_eq!(gemini.unwrap(), Auth::api_key("g"));
        assert_eq!(
            Auth::from_env_with(env(&[])),
            Err(ConfigError::MissingApiKey)
        );
    }

    #[test]
    fn api_version_parsing() {
        assert_eq!("beta".parse::<ApiVersion>().unwrap(), ApiVersion::V1Beta);
        assert_eq!(
            "V1ALPHA".parse::<ApiVersion>().unwrap(),
            ApiVersion::V1Alpha
        );
        assert_eq!("v1".parse::<ApiVersion>().unwrap(), ApiVersion::V1);
        assert!("v2".parse::<ApiVersion>().is_err());
    }
}
