//! Resumption handles sealed for the browser: the page keeps its session's handle, but only as an
//! opaque, authenticated box (AES-256-GCM) that this server (or a twin with the same secret)
//! opens. The browser never sees Google's handle, cannot forge one, and a box only resumes the
//! model it was made for, within the handle's lifetime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// How long Google keeps a session resumable after its last connection ended.
const HANDLE_LIFETIME: Duration = Duration::from_secs(2 * 3600);
/// Largest sealed handle accepted from a browser.
const MAX_SEALED: usize = 4096;

/// The sealing key.
pub(crate) struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The upstream handle.
    h: String,
    /// The model it belongs to.
    m: String,
    /// Sealed at (Unix seconds).
    t: u64,
}

impl Sealer {
    /// A key derived from the shared secret (every instance with the secret opens the same boxes),
    /// or a random one for this process.
    pub(crate) fn new(secret: Option<&[u8]>) -> Result<Self, crate::Error> {
        let rng = SystemRandom::new();
        let mut bytes = [0u8; 32];
        match secret {
            Some(s) => {
                let tag = hmac::sign(
                    &hmac::Key::new(hmac::HMAC_SHA256, s),
                    b"gemlive-web seal v1",
                );
                bytes.copy_from_slice(tag.as_ref());
            }
            None => rng.fill(&mut bytes).map_err(|_| crate::Error::Random)?,
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| crate::Error::Random)?;
        Ok(Self {
            key: LessSafeKey::new(key),
            rng,
        })
    }

    /// Seals `handle` of a session with `model`.
    pub(crate) fn seal(&self, handle: &str, model: &str) -> Option<String> {
        let plain = serde_json::to_vec(&Sealed {
            h: handle.to_owned(),
            m: model.to_owned(),
            t: unix_now(),
        })
        .ok()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut data = plain;
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a box for a session with `model`: the upstream handle, or why not.
    pub(crate) fn open(&self, sealed: &str, model: &str) -> Result<String, &'static str> {
        const FOREIGN: &str = "this conversation cannot be resumed here (it belongs to another server or was altered); start a new one";
        if sealed.len() > MAX_SEALED {
            return Err(FOREIGN);
        }
        let raw = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| FOREIGN)?;
        if raw.len() <= NONCE_LEN {
            return Err(FOREIGN);
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| FOREIGN)?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| FOREIGN)?;
        let sealed: Sealed = serde_json::from_slice(plain).map_err(|_| FOREIGN)?;
        if sealed.m != model {
            return Err("the conversation was with another model: pick that model to resume it");
        }
        if unix_now().saturating_sub(sealed.t) > HANDLE_LIFETIME.as_secs() {
            return Err(
                "the conversation is too old to resume (handles last 2 hours); start a new one",
            );
        }
        Ok(sealed.h)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_opens_only_with_its_key_and_model() {
        let a = Sealer::new(None).unwrap();
        let sealed = a.seal("handle-1", "models/m").unwrap();
        assert!(!sealed.contains("handle-1"));
        assert_eq!(a.open(&sealed, "models/m").unwrap(), "handle-1");
        assert!(
            a.open(&sealed, "models/other")
                .unwrap_err()
                .contains("another model")
        );
        assert!(
            Sealer::new(None)
                .unwrap()
                .open(&sealed, "models/m")
                .is_err()
        );
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            a.open(std::str::from_utf8(&altered).unwrap(), "models/m")
                .is_err()
        );
        assert!(a.open("not base64!", "models/m").is_err());
        assert!(a.open("", "models/m").is_err());
    }

    #[test]
    fn twins_with_one_secret_open_each_others_boxes() {
        let (a, b) = (
            Sealer::new(Some(b"secret")).unwrap(),
            Sealer::new(Some(b"secret")).unwrap(),
        );
        let sealed = a.seal("h", "models/m").unwrap();
        assert_eq!(b.open(&sealed, "models/m").unwrap(), "h");
        assert_ne!(
            a.seal("h", "models/m").unwrap(),
            sealed,
            "fresh nonce per box"
        );
        assert!(
            Sealer::new(Some(b"other"))
                .unwrap()
                .open(&sealed, "models/m")
                .is_err()
        );
    }
}
