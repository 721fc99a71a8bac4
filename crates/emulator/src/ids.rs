//! Deterministic identifiers: the same seed and the same sequence of events give the same ids.

/// SplitMix64 step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, for seeding from names.
pub(crate) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A UUID-shaped id derived from `(seed, kind, n)`.
pub(crate) fn uuid(seed: u64, kind: &str, n: u64) -> String {
    let a = mix(seed ^ hash_str(kind) ^ mix(n));
    let b = mix(a ^ 0x5851_F42D_4C95_7F2D);
    let bytes: Vec<u8> = a.to_be_bytes().into_iter().chain(b.to_be_bytes()).collect();
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&bytes);
    uuid::Builder::from_random_bytes(raw)
        .into_uuid()
        .to_string()
}

/// An opaque alphanumeric id derived from `(seed, kind, n)`.
pub(crate) fn opaque(seed: u64, kind: &str, n: u64) -> String {
    let a = mix(seed ^ hash_str(kind) ^ mix(n));
    let b = mix(a);
    format!("{a:016x}{b:016x}")
}

/// A seed no other emulator process shares (from the operating system's randomness).
pub(crate) fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}
