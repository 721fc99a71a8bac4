//! Leaf value types and lenient serde helpers shared by the wire models.
//!
//! Decoding is lenient where real clients and servers differ (int64 as strings, integral floats
//! such as `40.0` for ints, URL-safe base64, durations like `"0.200s"`); encoding is canonical
//! proto3 JSON (standard padded base64, int64 as strings, durations with 0/3/6/9 decimals).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, GeneralPurpose as Gp};
use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: Gp = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: Gp = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in the standard or the URL-safe alphabet, padded or not.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    decode_base64_ascii(text.as_bytes())
}

/// [`decode_base64`] on the bytes of a JSON string: the alphabet check rejects anything that is
/// not ASCII, so the text need not be validated as UTF-8 first.
fn decode_base64_ascii(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    // The hot path (every audio chunk): servers send canonical, padded, standard base64. The SIMD
    // decoder takes exactly that (length a multiple of 4, at most two `=`, zero trailing bits),
    // all of which the lenient decoders below accept with the same result; anything else falls
    // through to them.
    if let Ok(bytes) = base64_simd::STANDARD.decode_to_vec(text) {
        return Ok(bytes);
    }
    // Text with `-` or `_` can only be URL-safe (or invalid) and fails the standard alphabet, so
    // trying it first gives the same outcome as choosing by a scan of the text.
    STANDARD_LENIENT.decode(text).or_else(|e| {
        if text.iter().any(|&b| b == b'-' || b == b'_') {
            URL_SAFE_LENIENT.decode(text)
        } else {
            Err(e)
        }
    })
}

/// Appends the standard, padded base64 encoding of `bytes` to `out`.
pub fn encode_base64_into(bytes: &[u8], out: &mut String) {
    base64_simd::STANDARD.encode_append(bytes, out);
}

/// Bytes that travel as base64 on the wire (`Blob.data`, `thoughtSignature`).
///
/// Decoded once, at the edge: nothing downstream sees base64. Accepts the standard and the
/// URL-safe alphabet, with or without padding; encodes standard and padded, like Google.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64(pub Bytes);

impl Base64 {
    /// The decoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Base64 {
    fn from(v: Vec<u8>) -> Self {
        Self(Bytes::from(v))
    }
}

impl From<Bytes> for Base64 {
    fn from(v: Bytes) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Base64 {
    fn from(v: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(v))
    }
}

impl fmt::Debug for Base64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(self.0.len().div_ceil(3) * 4);
        encode_base64_into(&self.0, &mut out);
        s.serialize_str(&out)
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Base64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64, E> {
                self.visit_bytes(v.as_bytes())
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Base64, E> {
                decode_base64_ascii(v)
                    .map(Base64::from)
                    .map_err(|e| E::custom(format_args!("invalid base64: {e}")))
            }
        }
        // Audio payloads are most of every frame: asking for bytes lets serde_json hand over the
        // string's raw bytes without a UTF-8 pass (serde_json's `Value` still gives a string).
        d.deserialize_bytes(V)
    }
}

/// A protobuf `Duration`, written in JSON as a string of seconds such as `"50s"` or `"0.200s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtoDuration(pub Duration);

impl ProtoDuration {
    /// Parses `"1.5s"`, `"10s"`, `"0.200s"` (and, leniently, a bare number of seconds).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_suffix('s').unwrap_or(t);
        let (secs, frac) = match t.split_once('.') {
            Some((s, f)) => (s, f),
            None => (t, ""),
        };
        if secs.is_empty() && frac.is_empty() {
            return None;
        }
        let secs: u64 = if secs.is_empty() {
            0
        } else if secs.bytes().all(|b| b.is_ascii_digit()) {
            secs.parse().ok()?
        } else {
            return None;
        };
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut nanos: u32 = 0;
        for (i, b) in frac.bytes().enumerate() {
            nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
        }
        Some(Self(Duration::new(secs, nanos)))
    }
}

impl fmt::Display for ProtoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let nanos = self.0.subsec_nanos();
        if nanos == 0 {
            write!(f, "{secs}s")
        } else if nanos.is_multiple_of(1_000_000) {
            write!(f, "{secs}.{:03}s", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            write!(f, "{secs}.{:06}s", nanos / 1_000)
        } else {
            write!(f, "{secs}.{nanos:09}s")
        }
    }
}

impl From<Duration> for ProtoDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

impl Serialize for ProtoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProtoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ProtoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProtoDuration, E> {
                ProtoDuration::parse(v)
                    .ok_or_else(|| E::custom(format_args!("invalid duration {v:?}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ProtoDuration, E> {
                Ok(ProtoDuration(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ProtoDuration, E> {
                u64::try_from(v)
                    .map(|v| ProtoDuration(Duration::from_secs(v)))
                    .map_err(|_| E::custom("negative duration"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ProtoDuration, E> {
                Duration::try_from_secs_f64(v)
                    .map(ProtoDuration)
                    .map_err(|_| E::custom(format_args!("invalid duration {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// An empty message such as `activityStart: {}` or `googleSearch: {}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Lenient integer decoding: numbers, integral floats (`40.0`) and numeric strings (`"25600"`).
struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, an integral float or a numeric string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<i64>, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<i64>, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::custom(format_args!("integer {v} out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<i64>, E> {
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
            Ok(Some(v as i64))
        } else {
            Err(E::custom(format_args!("expected an integer, got {v}")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<i64>, E> {
        if let Ok(n) = v.trim().parse::<i64>() {
            return Ok(Some(n));
        }
        match v.trim().parse::<f64>() {
            Ok(f) => self.visit_f64(f),
            Err(_) => Err(E::custom(format_args!("expected an integer, got {v:?}"))),
        }
    }
}

/// `deserialize_with` for `Option<i64>` fields (int64: numbers or strings).
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// `deserialize_with` for `Option<i32>` fields.
pub(crate) fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    match d.deserialize_any(IntVisitor)? {
        None => Ok(None),
        Some(v) => i32::try_from(v)
            .map(Some)
            .map_err(|_| de::Error::custom(format_args!("integer {v} out of range for int32"))),
    }
}

/// `deserialize_with` for `Option<Vec<i32>>` fields.
pub(crate) fn opt_vec_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i32>>, D::Error> {
    #[derive(Deserialize)]
    struct Lenient(#[serde(deserialize_with = "opt_i32")] Option<i32>);
    let v: Option<Vec<Lenient>> = Option::deserialize(d)?;
    Ok(v.map(|v| v.into_iter().filter_map(|l| l.0).collect()))
}

/// `serialize_with` for `Option<i64>`: proto3 JSON writes int64 as a string.
pub(crate) fn ser_opt_i64_str<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.collect_str(n),
        None => s.serialize_none(),
    }
}

/// Defines an open string enum: known names are parsed case-insensitively and written in
/// their canonical form; unknown names are kept verbatim in `Other` so nothing is lost. Each
/// variant's documentation ends with its wire name.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = ""]
                #[doc = concat!("On the wire: `", $text, "`.")]
                $variant,
            )+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The canonical wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }

            /// Parses a wire name case-insensitively; unknown names become `Other`.
            pub fn parse(text: &str) -> Self {
                $(if text.eq_ignore_ascii_case($text) { return Self::$variant; })+
                Self::Other(text.to_owned())
            }

            /// Whether this is a value the protocol defines.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl ::serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::parse(v))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use wire_enum;

/// Whether a field holds nothing worth writing; unset fields are omitted when encoding.
pub trait Unset {
    /// `true` for `None`, empty lists, maps and strings.
    fn is_unset(&self) -> bool;
}

impl<T> Unset for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

impl<T> Unset for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl Unset for String {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> Unset for std::collections::BTreeMap<K, V> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

/// Defines a wire struct: camelCase on output with unset fields omitted, every field optional on
/// input (struct-level `default`). Snake_case spellings are accepted through per-field aliases.
macro_rules! wire_struct {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        $vis struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "crate::wire::values::Unset::is_unset")]
                $fvis $field: $ty,
            )*
        }
    };
}
pub(crate) use wire_struct;

impl Unset for Base64 {
    /// Bytes are always written, even when empty.
    fn is_unset(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_accepts_both_alphabets_with_or_without_padding() {
        for text in ["+//+AA==", "+//+AA", "-__-AA==", "-__-AA"] {
            assert_eq!(
                decode_base64(text).unwrap(),
                [0xfb, 0xff, 0xfe, 0x00],
                "{text}"
            );
        }
        assert!(decode_base64("not base64!").is_err());
        // One text never mixes the alphabets.
        assert!(decode_base64("+//-AA==").is_err());
        assert!(decode_base64("-__+AA").is_err());
        assert_eq!(decode_base64("").unwrap(), b"");
    }

    #[test]
    fn simd_base64_agrees_with_the_scalar_decoders() {
        // Every length around the SIMD block sizes, canonical text and damaged variants: the fast
        // path must give what the lenient scalar decoders give, value or error.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 56) as u8
                })
                .collect();
            let mut text = String::new();
            encode_base64_into(&bytes, &mut text);
            assert_eq!(
                text,
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            let mut variants = vec![text.clone(), text.trim_end_matches('=').to_owned()];
            for damage in ["=", "==", "A", "-", "*", " "] {
                variants.push(format!("{text}{damage}"));
                let mid = text.len() / 2;
                variants.push(format!("{}{damage}{}", &text[..mid], &text[mid..]));
            }
            for v in &variants {
                let scalar = STANDARD_LENIENT.decode(v).or_else(|e| {
                    if v.contains(['-', '_']) {
                        URL_SAFE_LENIENT.decode(v)
                    } else {
                        Err(e)
                    }
                });
                assert_eq!(decode_base64(v).ok(), scalar.ok(), "{v:?}");
            }
            assert_eq!(decode_base64(&text).unwrap(), bytes);
        }
        // Non-canonical trailing bits, stray and misplaced padding.
        for v in [
            "AB==", "AAB=", "AB", "AAB", "A===", "AA=", "=AAA", "AA==AAAA", "====",
        ] {
            let scalar = STANDARD_LENIENT.decode(v);
            assert_eq!(decode_base64(v).ok(), scalar.ok(), "{v:?}");
        }
    }

    #[test]
    fn base64_fields_decode_from_json_strings_escapes_and_values() {
        let from = |json: &str| serde_json::from_str::<Base64>(json).map(|b| b.0.to_vec());
        assert_eq!(from(r#""+//+AA==""#).unwrap(), [0xfb, 0xff, 0xfe, 0x00]);
        assert_eq!(from(r#""\u002b//+AA""#).unwrap(), [0xfb, 0xff, 0xfe, 0x00]);
        assert_eq!(from(r#""-__-AA==""#).unwrap(), [0xfb, 0xff, 0xfe, 0x00]);
        for bad in [r#""\u00e9AAA""#, r#""AA A""#, "[1, 2]", "null", "12"] {
            assert!(from(bad).is_err(), "{bad}");
        }
        let value = serde_json::json!("AAEC");
        assert_eq!(
            serde_json::from_value::<Base64>(value).unwrap().0.to_vec(),
            [0, 1, 2]
        );
    }

    #[test]
    fn durations_parse_and_print_canonically() {
        let d = |t: &str| ProtoDuration::parse(t).unwrap();
        assert_eq!(d("50s").0, Duration::from_secs(50));
        assert_eq!(d("0.200s").0, Duration::from_millis(200));
        assert_eq!(d("4.1s").0, Duration::from_millis(4100));
        assert_eq!(d("1.000000001s").0, Duration::new(1, 1));
        assert_eq!(d("0.200s").to_string(), "0.200s");
        assert_eq!(d("50s").to_string(), "50s");
        assert_eq!(d("1.5000s").to_string(), "1.500s");
        for bad in ["", "s", "-1s", "1.2.3s", "abc", "1.0000000001s"] {
            assert!(ProtoDuration::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ints_accept_numbers_floats_and_strings() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "opt_i32")]
            a: Option<i32>,
            #[serde(default, deserialize_with = "opt_i64")]
            b: Option<i64>,
        }
        let t: T = serde_json::from_str(r#"{"a": 40.0, "b": "123456789012"}"#).unwrap();
        assert_eq!((t.a, t.b), (Some(40), Some(123_456_789_012)));
        let t: T = serde_json::from_str(r#"{"a": "7", "b": null}"#).unwrap();
        assert_eq!((t.a, t.b), (Some(7), None));
        assert!(serde_json::from_str::<T>(r#"{"a": 1.5}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"a": 3000000000}"#).is_err());
    }
}
