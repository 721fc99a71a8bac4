//! Which endpoint a request path names. Repeated slashes are collapsed first, as the official SDKs send `//ws/...`.

/// The API surface a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The Gemini Developer API (`generativelanguage`).
    GeminiApi,
    /// Vertex AI (`aiplatform`, `LlmBidiService`).
    Vertex,
}

/// A Live endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveEndpoint {
    pub(crate) backend: Backend,
    /// `v1`, `v1beta`, `v1alpha` (Gemini API) or `v1`, `v1beta1` (Vertex).
    pub(crate) version: String,
    /// `BidiGenerateContentConstrained`: ephemeral-token method.
    pub(crate) constrained: bool,
}

/// What a request path routes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Live(LiveEndpoint),
    /// `POST /{version}/auth_tokens`.
    AuthTokens,
    NotFound,
}

/// Collapses runs of `/` into one.
fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

pub(crate) fn route(path: &str) -> Route {
    let path = normalize(path);
    if let Some(rest) = path.strip_prefix("/ws/google.ai.generativelanguage.") {
        let Some((version, method)) = rest.split_once(".GenerativeService.") else {
            return Route::NotFound;
        };
        if !matches!(version, "v1" | "v1beta" | "v1alpha") {
            return Route::NotFound;
        }
        let constrained = match method {
            "BidiGenerateContent" => false,
            "BidiGenerateContentConstrained" => true,
            _ => return Route::NotFound,
        };
        return Route::Live(LiveEndpoint {
            backend: Backend::GeminiApi,
            version: version.to_owned(),
            constrained,
        });
    }
    if let Some(rest) = path.strip_prefix("/ws/google.cloud.aiplatform.") {
        return match rest.split_once(".LlmBidiService/BidiGenerateContent") {
            Some((version @ ("v1" | "v1beta1"), "")) => Route::Live(LiveEndpoint {
                backend: Backend::Vertex,
                version: version.to_owned(),
                constrained: false,
            }),
            _ => Route::NotFound,
        };
    }
    if path == "/v1alpha/auth_tokens" {
        return Route::AuthTokens;
    }
    Route::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_path_routes() {
        for v in ["v1", "v1beta", "v1alpha"] {
            for (m, c) in [
                ("BidiGenerateContent", false),
                ("BidiGenerateContentConstrained", true),
            ] {
                let p = format!("//ws/google.ai.generativelanguage.{v}.GenerativeService.{m}");
                assert_eq!(
                    route(&p),
                    Route::Live(LiveEndpoint {
                        backend: Backend::GeminiApi,
                        version: v.into(),
                        constrained: c
                    })
                );
            }
        }
        for v in ["v1", "v1beta1"] {
            let p = format!("/ws/google.cloud.aiplatform.{v}.LlmBidiService/BidiGenerateContent");
            assert_eq!(
                route(&p),
                Route::Live(LiveEndpoint {
                    backend: Backend::Vertex,
                    version: v.into(),
                    constrained: false
                })
            );
        }
        assert_eq!(route("//v1alpha/auth_tokens"), Route::AuthTokens);
        assert_eq!(
            route("/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent"),
            Route::NotFound
        );
        assert_eq!(
            route("/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContentX"),
            Route::NotFound
        );
        assert_eq!(route("/"), Route::NotFound);
    }
}
