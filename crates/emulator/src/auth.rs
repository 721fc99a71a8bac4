//! Authentication as Google does it: API keys, ephemeral tokens (minted over HTTP on the same port) and Vertex
//! bearer tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use http_server::Request;
use protocol::decode::{to_camel_case, to_snake_case};
use serde_json::{Map, Value};

use crate::close::Close;
use crate::route::{Backend, LiveEndpoint};
use crate::time::{format_rfc3339, parse_rfc3339};

const TOKEN_PREFIX: &str = "auth_tokens/";

/// What authenticated a Live connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    ApiKey,
    /// An ephemeral token, by name (`auth_tokens/...`).
    Token(String),
    Bearer,
}

fn bearer_or_token(req: &Request, scheme: &str) -> Option<String> {
    let v = req.header("authorization")?;
    let (s, cred) = v.trim().split_once(' ')?;
    s.eq_ignore_ascii_case(scheme)
        .then(|| cred.trim().to_owned())
}

fn key_matches(configured: Option<&str>, given: &str) -> bool {
    !given.is_empty() && configured.is_none_or(|k| k == given)
}

/// Whether the request carries no credential in any place Google looks for one.
pub(crate) fn is_anonymous(req: &Request) -> bool {
    req.query("key").is_none()
        && req.query("access_token").is_none()
        && req.header("x-goog-api-key").is_none()
        && req.header("authorization").is_none()
}

/// Decides who is calling, or how the connection must be closed. With `anonymous`
/// ([`EmulatorConfig::anonymous`](crate::EmulatorConfig::anonymous)), a request that carries no
/// credential at all is admitted as if it had a valid key (not on the ephemeral-token method).
pub(crate) fn authenticate(
    req: &Request,
    endpoint: &LiveEndpoint,
    api_key: Option<&str>,
    anonymous: bool,
) -> Result<Identity, Close> {
    if anonymous && !endpoint.constrained && is_anonymous(req) {
        return Ok(match endpoint.backend {
            Backend::Vertex => Identity::Bearer,
            Backend::GeminiApi => Identity::ApiKey,
        });
    }
    let key = req
        .query("key")
        .or_else(|| req.header("x-goog-api-key"))
        .map(str::trim);
    let token = req
        .query("access_token")
        .map(str::to_owned)
        .or_else(|| bearer_or_token(req, "Token"))
        .or_else(|| {
            req.header("x-goog-api-key")
                .filter(|k| k.starts_with(TOKEN_PREFIX))
                .map(str::to_owned)
        });
    match endpoint.backend {
        Backend::Vertex => {
            if let Some(b) = bearer_or_token(req, "Bearer") {
                return if key_matches(api_key, &b) {
                    Ok(Identity::Bearer)
                } else {
                    Err(Close::api_key_invalid())
                };
            }
            match key {
                Some(k) if key_matches(api_key, k) => Ok(Identity::ApiKey),
                Some(_) => Err(Close::api_key_invalid()),
                None => Err(Close::unregistered_caller()),
            }
        }
        Backend::GeminiApi if endpoint.constrained => {
            if req
                .query("key")
                .is_some_and(|k| k.starts_with(TOKEN_PREFIX))
            {
                return Err(Close::missing_auth_token());
            }
            match token {
                Some(t) if t.starts_with(TOKEN_PREFIX) => Ok(Identity::Token(t)),
                _ => Err(Close::missing_auth_token()),
            }
        }
        Backend::GeminiApi => {
            if token.is_some() || key.is_some_and(|k| k.starts_with(TOKEN_PREFIX)) {
                return Err(Close::unregistered_caller());
            }
            match key {
                Some(k) if key_matches(api_key, k) => Ok(Identity::ApiKey),
                Some(_) => Err(Close::api_key_invalid()),
                None => Err(Close::unregistered_caller()),
            }
        }
    }
}

/// An ephemeral token minted by `POST /v1alpha/auth_tokens`.
#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    /// Session starts left; `None` = unlimited (`uses: 0`).
    uses_left: Option<u32>,
    pub(crate) expire_time: SystemTime,
    new_session_expire_time: SystemTime,
    /// The locked `bidiGenerateContentSetup` (JSON as sent), if any.
    setup: Option<Value>,
    /// `fieldMask` paths, if any.
    field_mask: Option<Vec<String>>,
}

/// Minted tokens, shared by every connection of one emulator.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, TokenRecord>>,
    counter: Mutex<u64>,
}

/// Why a mint request failed: HTTP status and Google's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MintError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

fn field<'a>(obj: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(&to_snake_case(camel)))
}

impl TokenStore {
    /// Handles a mint request body. `validate_setup` checks the locked setup like a Live setup would be
    /// (returning the 400 message on failure).
    pub(crate) fn mint(
        &self,
        body: &[u8],
        now: SystemTime,
        seed: u64,
        validate_setup: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Value, MintError> {
        let bad = |message: String| MintError {
            status: 400,
            message,
        };
        let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| bad(format!("Invalid JSON payload received. {e}")))?
        };
        let Value::Object(obj) = value else {
            return Err(bad(
                "Invalid JSON payload received. Expected an object.".into()
            ));
        };
        const KNOWN: [&str; 5] = [
            "uses",
            "expireTime",
            "newSessionExpireTime",
            "bidiGenerateContentSetup",
            "fieldMask",
        ];
        if let Some(unknown) = obj
            .keys()
            .find(|k| !KNOWN.iter().any(|c| c == k || to_snake_case(c) == **k) && *k != "name")
        {
            let field = protocol::UnknownField {
                name: unknown.clone(),
                parent_path: "auth_token".into(),
            };
            return Err(bad(field.google_reason()));
        }
        let uses = match field(&obj, "uses") {
            None => 1,
            Some(v) => {
                json_u32(v).ok_or_else(|| bad("Invalid value at 'auth_token.uses'".into()))?
            }
        };
        let time = |name: &str, default: Duration| -> Result<SystemTime, MintError> {
            match field(&obj, name) {
                None => Ok(now + default),
                Some(Value::String(s)) => {
                    let t = parse_rfc3339(s).ok_or_else(|| {
                        bad(format!(
                            "Invalid value at 'auth_token.{}'",
                            to_snake_case(name)
                        ))
                    })?;
                    if t > now + Duration::from_secs(20 * 3600) {
                        return Err(bad(format!(
                            "{name} must be less than 20 hours in the future."
                        )));
                    }
                    Ok(t)
                }
                Some(_) => Err(bad(format!(
                    "Invalid value at 'auth_token.{}'",
                    to_snake_case(name)
                ))),
            }
        };
        let expire_time = time("expireTime", Duration::from_secs(30 * 60))?;
        let new_session_expire_time = time("newSessionExpireTime", Duration::from_secs(60))?;
        let setup = field(&obj, "bidiGenerateContentSetup").cloned();
        if let Some(s) = &setup {
            validate_setup(s).map_err(bad)?;
        }
        let field_mask = match field(&obj, "fieldMask") {
            None => None,
            Some(Value::String(m)) => Some(
                m.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
            ),
            Some(_) => return Err(bad("Invalid value at 'auth_token.field_mask'".into())),
        };
        let id = {
            let mut c = self.counter.lock().unwrap_or_else(|e| e.into_inner());
            *c += 1;
            crate::ids::opaque(seed, "token", *c)
        };
        let name = format!("{TOKEN_PREFIX}{id}");
        let record = TokenRecord {
            uses_left: (uses != 0).then_some(uses),
            expire_time,
            new_session_expire_time,
            setup,
            field_mask,
        };
        let mut reply = serde_json::json!({
            "name": name,
            "expireTime": format_rfc3339(expire_time),
            "newSessionExpireTime": format_rfc3339(new_session_expire_time),
        });
        if uses != 0 {
            reply["uses"] = Value::from(uses);
        }
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, record);
        Ok(reply)
    }

    /// Checks a token for a Live connection. A new session consumes one use; a resumption does not.
    pub(crate) fn admit(
        &self,
        name: &str,
        now: SystemTime,
        resuming: bool,
    ) -> Result<TokenRecord, Close> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let rec = tokens.get_mut(name).ok_or_else(Close::missing_auth_token)?;
        if now >= rec.expire_time {
            return Err(Close::missing_auth_token());
        }
        if !resuming {
            if now >= rec.new_session_expire_time {
                return Err(Close::missing_auth_token());
            }
            match &mut rec.uses_left {
                Some(0) => return Err(Close::missing_auth_token()),
                Some(n) => *n -= 1,
                None => {}
            }
        }
        Ok(rec.clone())
    }
}

fn json_u32(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .and_then(|n| u32::try_from(n).ok())
}

impl TokenRecord {
    /// Applies the token's locked setup to the client's `setup` object: no mask replaces it entirely (keeping the
    /// client's model when the token names none); a mask overwrites only the listed paths.
    pub(crate) fn lock_setup(&self, client: &mut Map<String, Value>) {
        let Some(Value::Object(locked)) = &self.setup else {
            return;
        };
        match &self.field_mask {
            None => {
                let model = client.remove("model");
                *client = normalize_keys(locked);
                if !client.contains_key("model")
                    && let Some(m) = model
                {
                    client.insert("model".into(), m);
                }
            }
            Some(mask) => {
                for path in mask {
                    let segs: Vec<&str> = path.split('.').collect();
                    let value = lookup(locked, &segs);
                    set_path(client, &segs, value);
                }
            }
        }
    }
}

/// Top-level keys of a setup in camelCase (inner keys are accepted in either spelling by the decoder).
fn normalize_keys(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (to_camel_case(k), v.clone()))
        .collect()
}

fn lookup(obj: &Map<String, Value>, segs: &[&str]) -> Option<Value> {
    let (first, rest) = segs.split_first()?;
    let v = obj
        .get(*first)
        .or_else(|| obj.get(&to_snake_case(first)))
        .or_else(|| obj.get(&to_camel_case(first)))?;
    if rest.is_empty() {
        return Some(v.clone());
    }
    lookup(v.as_object()?, rest)
}

fn set_path(obj: &mut Map<String, Value>, segs: &[&str], value: Option<Value>) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let camel = to_camel_case(first);
    let snake = to_snake_case(&camel);
    if rest.is_empty() {
        obj.remove(&snake);
        obj.remove(&camel);
        if let Some(v) = value {
            obj.insert(camel, v);
        }
        return;
    }
    let existing = obj.remove(&snake).or_else(|| obj.remove(&camel));
    let mut child = match existing {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    set_path(&mut child, rest, value);
    obj.insert(camel, Value::Object(child));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(path_query: &[(&str, &str)], headers: &[(&str, &str)]) -> Request {
        let req = Request::new("GET", "/");
        let req = path_query
            .iter()
            .fold(req, |r, (n, v)| r.with_query(*n, *v));
        headers.iter().fold(req, |r, (n, v)| r.with_header(n, *v))
    }

    fn ep(backend: Backend, constrained: bool) -> LiveEndpoint {
        LiveEndpoint {
            backend,
            version: "v1beta".into(),
            constrained,
        }
    }

    #[test]
    fn api_key_rules() {
        let dev = ep(Backend::GeminiApi, false);
        assert_eq!(
            authenticate(&req(&[("key", "k")], &[]), &dev, None, false),
            Ok(Identity::ApiKey)
        );
        assert_eq!(
            authenticate(
                &req(&[], &[("x-goog-api-key", "k")]),
                &dev,
                Some("k"),
                false
            ),
            Ok(Identity::ApiKey)
        );
        assert_eq!(
            authenticate(&req(&[("key", "bad")], &[]), &dev, Some("k"), false),
            Err(Close::api_key_invalid())
        );
        assert_eq!(
            authenticate(&req(&[], &[]), &dev, None, false),
            Err(Close::unregistered_caller())
        );
        assert_eq!(
            authenticate(
                &req(&[("access_token", "auth_tokens/x")], &[]),
                &dev,
                None,
                false
            ),
            Err(Close::unregistered_caller())
        );
    }

    #[test]
    fn token_rules() {
        let c = ep(Backend::GeminiApi, true);
        let t = Identity::Token("auth_tokens/x".into());
        assert_eq!(
            authenticate(
                &req(&[("access_token", "auth_tokens/x")], &[]),
                &c,
                Some("k"),
                false
            ),
            Ok(t.clone())
        );
        assert_eq!(
            authenticate(
                &req(&[], &[("authorization", "Token auth_tokens/x")]),
                &c,
                None,
                false
            ),
            Ok(t)
        );
        assert_eq!(
            authenticate(&req(&[("key", "auth_tokens/x")], &[]), &c, None, false),
            Err(Close::missing_auth_token())
        );
        assert_eq!(
            authenticate(&req(&[], &[]), &c, None, false),
            Err(Close::missing_auth_token())
        );
        let v = ep(Backend::Vertex, false);
        assert_eq!(
            authenticate(
                &req(&[], &[("authorization", "Bearer ya29")]),
                &v,
                None,
                false
            ),
            Ok(Identity::Bearer)
        );
    }

    #[test]
    fn anonymous_admits_only_requests_without_credentials() {
        let dev = ep(Backend::GeminiApi, false);
        assert_eq!(
            authenticate(&req(&[], &[]), &dev, Some("k"), true),
            Ok(Identity::ApiKey)
        );
        assert_eq!(
            authenticate(&req(&[("key", "bad")], &[]), &dev, Some("k"), true),
            Err(Close::api_key_invalid()),
            "a credential that is present is still checked"
        );
        assert_eq!(
            authenticate(&req(&[], &[]), &ep(Backend::Vertex, false), None, true),
            Ok(Identity::Bearer)
        );
        assert_eq!(
            authenticate(&req(&[], &[]), &ep(Backend::GeminiApi, true), None, true),
            Err(Close::missing_auth_token()),
            "the ephemeral-token method always wants its token"
        );
    }

    #[test]
    fn expiry_and_new_session_deadline() {
        let store = TokenStore::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
        let body = json!({"uses": 0, "expireTime": "2026-01-01T00:30:00+00:00",
            "newSessionExpireTime": "2026-01-01T00:01:00Z"});
        let reply = store
            .mint(body.to_string().as_bytes(), now, 1, |_| Ok(()))
            .unwrap();
        assert_eq!(reply["expireTime"], "2026-01-01T00:30:00.000000Z");
        assert!(reply.get("uses").is_none(), "0 = unlimited");
        let name = reply["name"].as_str().unwrap();
        for _ in 0..3 {
            assert!(store.admit(name, now, false).is_ok());
        }
        let after_new_session_deadline = now + Duration::from_secs(120);
        assert_eq!(
            store
                .admit(name, after_new_session_deadline, false)
                .unwrap_err(),
            Close::missing_auth_token()
        );
        assert!(
            store.admit(name, after_new_session_deadline, true).is_ok(),
            "resumes still work"
        );
        let expired = now + Duration::from_secs(1800);
        assert_eq!(
            store.admit(name, expired, true).unwrap_err(),
            Close::missing_auth_token()
        );
        let too_far = json!({"expireTime": "2026-01-02T00:00:00Z"});
        assert_eq!(
            store
                .mint(too_far.to_string().as_bytes(), now, 1, |_| Ok(()))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn mint_uses_and_lock() {
        let store = TokenStore::default();
        let now = SystemTime::now();
        let body = json!({"uses": 1, "bidiGenerateContentSetup": {"model": "models/m",
            "generationConfig": {"temperature": 0.7}}, "fieldMask": "generationConfig.temperature"});
        let reply = store
            .mint(body.to_string().as_bytes(), now, 1, |_| Ok(()))
            .unwrap();
        let name = reply["name"].as_str().unwrap().to_owned();
        assert!(name.starts_with("auth_tokens/"));
        let rec = store.admit(&name, now, false).unwrap();
        assert_eq!(
            store.admit(&name, now, false).unwrap_err(),
            Close::missing_auth_token()
        );
        assert!(
            store.admit(&name, now, true).is_ok(),
            "resuming does not count as a use"
        );
        let mut client =
            json!({"model": "models/x", "generation_config": {"temperature": 0.1, "top_k": 3}});
        rec.lock_setup(client.as_object_mut().unwrap());
        assert_eq!(
            client,
            json!({"model": "models/x", "generationConfig": {"temperature": 0.7, "top_k": 3}})
        );
        let err = store
            .mint(br#"{"liveConnectConstraints": {}}"#, now, 1, |_| Ok(()))
            .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid JSON payload received. Unknown name \"liveConnectConstraints\" at 'auth_token': Cannot find field."
        );
    }
}
