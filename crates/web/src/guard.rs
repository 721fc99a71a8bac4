//! Who may use the server: the `Host` and `Origin` checks that keep other web sites (cross-site
//! requests, DNS rebinding) away from the user's key, and the shared secret that a server bound
//! beyond loopback requires.
//!
//! The secret reaches the browser once, in the URL the server prints (`/?secret=...`); the server
//! answers with a `SameSite=Strict`, `HttpOnly` cookie that holds an HMAC of it, never the secret.
//! Every instance started with the same secret accepts the same cookie: nothing to share but the
//! secret behind a load balancer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_server::Request;
use ring::hmac;

/// The cookie that proves the page was opened with the secret.
pub(crate) const COOKIE: &str = "gemlive_web";
const COOKIE_LABEL: &[u8] = b"gemlive-web page v1";

/// The access rules of one server.
#[derive(Debug)]
pub(crate) struct Guard {
    /// Accepted `Host` values, lowercase `host:port`.
    hosts: Vec<String>,
    /// Accepted `Origin` values.
    origins: Vec<String>,
    /// With a shared secret: the cookie's MAC key (the secret itself) and the expected tag.
    secret: Option<(hmac::Key, hmac::Tag)>,
}

/// What a request is allowed to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Go on.
    Granted,
    /// The right secret in the query: set the cookie and send the page again without it.
    SetCookie(String),
    /// Refused, with the reason for the person.
    Denied(u16, &'static str),
}

impl Guard {
    /// `port`: the bound port; `bind_host`: the bound address when it is not loopback;
    /// `origins`: public origins the page is served from (behind a proxy).
    pub(crate) fn new(
        port: u16,
        bind_host: Option<String>,
        origins: &[url::Url],
        secret: Option<&[u8]>,
    ) -> Self {
        let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect();
        if let Some(h) = bind_host {
            hosts.push(format!("{}:{port}", h.to_ascii_lowercase()));
        }
        let mut all_origins: Vec<String> = hosts.iter().map(|h| format!("http://{h}")).collect();
        for origin in origins {
            let o = origin.origin().ascii_serialization();
            if let Some(host) = origin.host_str() {
                hosts.push(match origin.port() {
                    Some(p) => format!("{}:{p}", host.to_ascii_lowercase()),
                    None => host.to_ascii_lowercase(),
                });
            }
            all_origins.push(o);
        }
        let secret = secret.map(|s| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, s);
            let tag = hmac::sign(&key, COOKIE_LABEL);
            (key, tag)
        });
        Self {
            hosts,
            origins: all_origins,
            secret,
        }
    }

    /// Whether the request names this server (no DNS rebinding).
    fn host_ok(&self, req: &Request) -> bool {
        req.header("host")
            .is_some_and(|h| self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h.trim())))
    }

    /// Whether the request comes from this server's own page.
    fn origin_ok(&self, req: &Request) -> bool {
        req.header("origin").is_some_and(|o| {
            self.origins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(o.trim()))
        })
    }

    fn cookie_ok(&self, req: &Request) -> bool {
        let Some((key, _)) = &self.secret else {
            return true;
        };
        req.cookie(COOKIE)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .is_some_and(|tag| hmac::verify(key, COOKIE_LABEL, &tag).is_ok())
    }

    /// The page and its assets: the right host, and the secret (cookie, or once in the query).
    pub(crate) fn page(&self, req: &Request) -> Access {
        if !self.host_ok(req) {
            return Access::Denied(421, "this server does not serve that host name");
        }
        if self.cookie_ok(req) {
            return Access::Granted;
        }
        let given = req.query("secret").unwrap_or_default();
        match &self.secret {
            Some((_, tag)) if secret_matches(given, tag) => Access::SetCookie(format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                URL_SAFE_NO_PAD.encode(tag.as_ref())
            )),
            _ => Access::Denied(
                401,
                "open the URL that `gemlive web` printed: it carries the server's secret",
            ),
        }
    }

    /// The API and the relay: the page's rules, the page's own origin, and no secret in the query.
    pub(crate) fn api(&self, req: &Request) -> Access {
        if !self.host_ok(req) {
            return Access::Denied(421, "this server does not serve that host name");
        }
        if !self.origin_ok(req) {
            return Access::Denied(
                403,
                "requests from other web sites are refused (Origin does not match)",
            );
        }
        if !self.cookie_ok(req) {
            return Access::Denied(
                401,
                "the server's secret is missing: reopen the printed URL",
            );
        }
        Access::Granted
    }
}

/// Constant-time: the MAC of the given secret equals the MAC of the real one.
fn secret_matches(given: &str, expected: &hmac::Tag) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, given.as_bytes());
    !given.is_empty() && hmac::verify(&key, COOKIE_LABEL, expected.as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], query: &[(&str, &str)]) -> Request {
        let req = Request::new("GET", "/");
        let req = headers.iter().fold(req, |r, (n, v)| r.with_header(n, *v));
        query.iter().fold(req, |r, (n, v)| r.with_query(*n, *v))
    }

    #[test]
    fn loopback_without_secret_checks_host_and_origin() {
        let g = Guard::new(8080, None, &[], None);
        let ok = req(
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
            ],
            &[],
        );
        assert_eq!(g.api(&ok), Access::Granted);
        assert_eq!(
            g.api(&req(
                &[
                    ("host", "localhost:8080"),
                    ("origin", "http://localhost:8080")
                ],
                &[]
            )),
            Access::Granted
        );
        // Another site in the same browser.
        let foreign = req(
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example"),
            ],
            &[],
        );
        assert!(matches!(g.api(&foreign), Access::Denied(403, _)));
        // No Origin at all: not a page of ours.
        assert!(matches!(
            g.api(&req(&[("host", "127.0.0.1:8080")], &[])),
            Access::Denied(403, _)
        ));
        // DNS rebinding: evil.example resolves to 127.0.0.1, the page is same-origin to itself.
        let rebound = req(
            &[
                ("host", "evil.example:8080"),
                ("origin", "http://evil.example:8080"),
            ],
            &[],
        );
        assert!(matches!(g.api(&rebound), Access::Denied(421, _)));
        assert!(matches!(g.page(&rebound), Access::Denied(421, _)));
        assert_eq!(
            g.page(&req(&[("host", "127.0.0.1:8080")], &[])),
            Access::Granted
        );
    }

    #[test]
    fn a_secret_is_traded_for_a_cookie_once() {
        let origin = url::Url::parse("https://voice.example.com").unwrap();
        let g = Guard::new(
            9000,
            Some("10.0.0.5".into()),
            &[origin],
            Some(b"s3cret-s3cret-s3cret"),
        );
        let host = [("host", "voice.example.com")];
        assert!(matches!(g.page(&req(&host, &[])), Access::Denied(401, _)));
        assert!(matches!(
            g.page(&req(&host, &[("secret", "wrong")])),
            Access::Denied(401, _)
        ));
        let Access::SetCookie(cookie) = g.page(&req(&host, &[("secret", "s3cret-s3cret-s3cret")]))
        else {
            panic!("no cookie")
        };
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("s3cret"));
        let value = cookie.split(';').next().unwrap();
        let with_cookie = [
            ("host", "voice.example.com"),
            ("origin", "https://voice.example.com"),
            ("cookie", value),
        ];
        assert_eq!(g.api(&req(&with_cookie, &[])), Access::Granted);
        // The same secret on another instance accepts the same cookie (load balancing).
        let twin = Guard::new(
            9001,
            None,
            &[url::Url::parse("https://voice.example.com").unwrap()],
            Some(b"s3cret-s3cret-s3cret"),
        );
        assert_eq!(twin.api(&req(&with_cookie, &[])), Access::Granted);
        let without = [
            ("host", "voice.example.com"),
            ("origin", "https://voice.example.com"),
        ];
        assert!(matches!(g.api(&req(&without, &[])), Access::Denied(401, _)));
        assert_eq!(
            g.page(&req(&[("host", "10.0.0.5:9000"), ("cookie", value)], &[])),
            Access::Granted
        );
    }
}
