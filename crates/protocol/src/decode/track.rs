//! Unknown-field tracking: a [`serde::Deserializer`] wrapper that knows where in the frame it is
//! and reports every value the target type ignores.
//!
//! The shape follows `serde_ignored` (visitors, map, sequence and enum accesses are wrapped so
//! that every nested value is deserialized through the wrapper), but the path is a linked list of
//! stack frames whose map keys borrow from the frame: a known field costs no allocation. Only a
//! key with escapes (which serde_json unescapes into a scratch buffer) or a non-string key is
//! copied. The owned [`UnknownField`] is built when an ignored value is reached.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, Visitor};

use super::{UnknownField, to_snake_case};

/// Deserializes a `T` from `de`, appending every field `T` ignores to `unknown`.
pub(super) fn deserialize<'de, T, D>(de: D, unknown: &mut Vec<UnknownField>) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(Tracker {
        de,
        unknown,
        path: Path::Root,
    })
}

/// Where a value sits in the frame; each frame lives on the stack of the code deserializing it.
#[derive(Debug)]
enum Path<'a, 'de> {
    Root,
    /// Element `index` of the sequence at `parent`.
    Seq {
        parent: &'a Self,
        index: usize,
    },
    /// The value of `key` in the map at `parent`.
    Map {
        parent: &'a Self,
        key: Cow<'de, str>,
    },
    /// The content of an `Option`, a newtype struct or a newtype variant: the same place.
    Inner {
        parent: &'a Self,
    },
}

impl Path<'_, '_> {
    /// The unknown field an ignored value at this path is: the nearest key and where its map sits.
    fn unknown_field(&self) -> UnknownField {
        let mut path = self;
        loop {
            match path {
                Self::Inner { parent } => path = parent,
                Self::Map { parent, key } => {
                    return UnknownField {
                        name: key.clone().into_owned(),
                        parent_path: parent.render(),
                    };
                }
                Self::Root | Self::Seq { .. } => {
                    return UnknownField {
                        name: String::new(),
                        parent_path: path.render(),
                    };
                }
            }
        }
    }

    /// The snake_case proto path: `setup.tools[0].function_declarations`; empty at the root.
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Self::Root => {}
            Self::Seq { parent, index } => {
                parent.render_into(out);
                // Writing to a String cannot fail.
                let _ = write!(out, "[{index}]");
            }
            Self::Map { parent, key } => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&to_snake_case(key));
            }
            Self::Inner { parent } => parent.render_into(out),
        }
    }
}

/// The deserializer of the value at `path`.
struct Tracker<'a, 'b, 'de, D> {
    de: D,
    unknown: &'b mut Vec<UnknownField>,
    path: Path<'a, 'de>,
}

/// Forwards every `deserialize_*` method but `deserialize_ignored_any`, with the visitor wrapped.
macro_rules! forward_deserializer {
    ($self:ident, $visitor:ident => $inner:expr, $wrapped:expr) => {
        forward_deserializer! {
            @methods $self, $visitor => $inner, $wrapped;
            deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
            deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
            deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
            deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
            deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
            deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_map(),
            deserialize_identifier(),
            deserialize_unit_struct(name: &'static str),
            deserialize_newtype_struct(name: &'static str),
            deserialize_tuple(len: usize),
            deserialize_tuple_struct(name: &'static str, len: usize),
            deserialize_struct(name: &'static str, fields: &'static [&'static str]),
            deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        }

        fn is_human_readable(&$self) -> bool {
            $inner.is_human_readable()
        }
    };
    (@methods $self:ident, $visitor:ident => $inner:expr, $wrapped:expr;
        $($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(
                $self,
                $($arg: $ty,)*
                $visitor: V,
            ) -> Result<V::Value, Self::Error> {
                $inner.$method($($arg,)* $wrapped)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tracker<'_, '_, 'de, D> {
    type Error = D::Error;

    forward_deserializer!(self, visitor => self.de, Wrap::new(visitor, self.unknown, &self.path));

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.unknown.push(self.path.unknown_field());
        self.de.deserialize_ignored_any(visitor)
    }
}

/// A visitor, `EnumAccess` or `VariantAccess` that passes the path on to what it creates.
struct Wrap<'a, 'b, 'de, X> {
    delegate: X,
    unknown: &'b mut Vec<UnknownField>,
    path: &'a Path<'a, 'de>,
}

impl<'a, 'b, 'de, X> Wrap<'a, 'b, 'de, X> {
    fn new(delegate: X, unknown: &'b mut Vec<UnknownField>, path: &'a Path<'a, 'de>) -> Self {
        Self {
            delegate,
            unknown,
            path,
        }
    }
}

/// Forwards `visit_*` methods that carry a plain value.
macro_rules! forward_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.delegate.$method(v)
            }
        )*
    };
}

impl<'de, X: Visitor<'de>> Visitor<'de> for Wrap<'_, '_, 'de, X> {
    type Value = X::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.delegate.expecting(f)
    }

    forward_visits!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.delegate.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.delegate.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.delegate.visit_some(Tracker {
            de,
            unknown: self.unknown,
            path: Path::Inner { parent: self.path },
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.delegate.visit_newtype_struct(Tracker {
            de,
            unknown: self.unknown,
            path: Path::Inner { parent: self.path },
        })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.delegate.visit_seq(SeqAccess {
            delegate: seq,
            unknown: self.unknown,
            path: self.path,
            index: 0,
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.delegate.visit_map(MapAccess {
            delegate: map,
            unknown: self.unknown,
            path: self.path,
            key: None,
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.delegate
            .visit_enum(Wrap::new(data, self.unknown, self.path))
    }
}

impl<'a, 'b, 'de, X: de::EnumAccess<'de>> de::EnumAccess<'de> for Wrap<'a, 'b, 'de, X> {
    type Error = X::Error;
    type Variant = Wrap<'a, 'b, 'de, X::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), X::Error> {
        let (unknown, path) = (self.unknown, self.path);
        self.delegate
            .variant_seed(seed)
            .map(|(value, variant)| (value, Wrap::new(variant, unknown, path)))
    }
}

impl<'de, X: de::VariantAccess<'de>> de::VariantAccess<'de> for Wrap<'_, '_, 'de, X> {
    type Error = X::Error;

    fn unit_variant(self) -> Result<(), X::Error> {
        self.delegate.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, X::Error> {
        self.delegate.newtype_variant_seed(TrackedSeed {
            seed,
            unknown: self.unknown,
            path: Path::Inner { parent: self.path },
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, X::Error> {
        self.delegate
            .tuple_variant(len, Wrap::new(visitor, self.unknown, self.path))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, X::Error> {
        self.delegate
            .struct_variant(fields, Wrap::new(visitor, self.unknown, self.path))
    }
}

/// The seed of a map value, sequence element or newtype variant, deserialized at `path`.
struct TrackedSeed<'a, 'b, 'de, X> {
    seed: X,
    unknown: &'b mut Vec<UnknownField>,
    path: Path<'a, 'de>,
}

impl<'de, X: DeserializeSeed<'de>> DeserializeSeed<'de> for TrackedSeed<'_, '_, 'de, X> {
    type Value = X::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<X::Value, D::Error> {
        self.seed.deserialize(Tracker {
            de,
            unknown: self.unknown,
            path: self.path,
        })
    }
}

/// A sequence whose elements are tracked by index.
struct SeqAccess<'a, 'b, 'de, X> {
    delegate: X,
    unknown: &'b mut Vec<UnknownField>,
    path: &'a Path<'a, 'de>,
    index: usize,
}

impl<'de, X: de::SeqAccess<'de>> de::SeqAccess<'de> for SeqAccess<'_, '_, 'de, X> {
    type Error = X::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, X::Error> {
        let path = Path::Seq {
            parent: self.path,
            index: self.index,
        };
        self.index += 1;
        self.delegate.next_element_seed(TrackedSeed {
            seed,
            unknown: self.unknown,
            path,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.delegate.size_hint()
    }
}

/// A map whose values are tracked by the key read just before them.
struct MapAccess<'a, 'b, 'de, X> {
    delegate: X,
    unknown: &'b mut Vec<UnknownField>,
    path: &'a Path<'a, 'de>,
    key: Option<Cow<'de, str>>,
}

impl<'de, X: de::MapAccess<'de>> de::MapAccess<'de> for MapAccess<'_, '_, 'de, X> {
    type Error = X::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, X::Error> {
        self.delegate.next_key_seed(CaptureKey {
            delegate: seed,
            key: &mut self.key,
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, X::Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| de::Error::custom("non-string key"))?;
        self.delegate.next_value_seed(TrackedSeed {
            seed,
            unknown: self.unknown,
            path: Path::Map {
                parent: self.path,
                key,
            },
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.delegate.size_hint()
    }
}

/// A map key's seed, deserializer and visitor, saving the key: borrowed from the frame when the
/// deserializer lends it, copied otherwise.
struct CaptureKey<'k, 'de, X> {
    delegate: X,
    key: &'k mut Option<Cow<'de, str>>,
}

impl<'de, X: DeserializeSeed<'de>> DeserializeSeed<'de> for CaptureKey<'_, 'de, X> {
    type Value = X::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<X::Value, D::Error> {
        self.delegate.deserialize(CaptureKey {
            delegate: de,
            key: self.key,
        })
    }
}

impl<'de, X: Deserializer<'de>> Deserializer<'de> for CaptureKey<'_, 'de, X> {
    type Error = X::Error;

    forward_deserializer!(self, visitor => self.delegate, CaptureKey { delegate: visitor, key: self.key });

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, X::Error> {
        self.delegate.deserialize_ignored_any(CaptureKey {
            delegate: visitor,
            key: self.key,
        })
    }
}

/// Forwards `visit_*` methods whose value can name a key, saving it as text.
macro_rules! capture_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                *self.key = Some(Cow::Owned(v.to_string()));
                self.delegate.$method(v)
            }
        )*
    };
}

impl<'de, X: Visitor<'de>> Visitor<'de> for CaptureKey<'_, 'de, X> {
    type Value = X::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.delegate.expecting(f)
    }

    capture_visits!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_str(&str),
    );

    forward_visits!(
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        *self.key = Some(Cow::Borrowed(v));
        self.delegate.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        *self.key = Some(Cow::Owned(v.clone()));
        self.delegate.visit_string(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.delegate.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.delegate.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.delegate.visit_some(de)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.delegate.visit_newtype_struct(CaptureKey {
            delegate: de,
            key: self.key,
        })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.delegate.visit_seq(seq)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.delegate.visit_map(map)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.delegate.visit_enum(CaptureKey {
            delegate: data,
            key: self.key,
        })
    }
}

impl<'de, X: de::EnumAccess<'de>> de::EnumAccess<'de> for CaptureKey<'_, 'de, X> {
    type Error = X::Error;
    type Variant = X::Variant;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, X::Variant), X::Error> {
        self.delegate.variant_seed(CaptureKey {
            delegate: seed,
            key: self.key,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde::de::IgnoredAny;

    use super::super::{UnknownField, decode_client, decode_server};

    fn unknown(name: &str, parent_path: &str) -> UnknownField {
        UnknownField {
            name: name.to_owned(),
            parent_path: parent_path.to_owned(),
        }
    }

    /// Decodes `json` as a `T` through the tracker.
    fn track<'de, T: Deserialize<'de>>(json: &'de str) -> (T, Vec<UnknownField>) {
        let mut found = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        let value = super::deserialize(&mut de, &mut found).expect("valid JSON for T");
        de.end().expect("one value");
        (value, found)
    }

    #[test]
    fn nested_unknown_keys_in_camel_and_snake_case() {
        let d = decode_server(
            br#"{"serverContent": {"modelTurn": {"parts": [
                    {"text": "hi", "newPart": 1},
                    {"inline_data": {"mimeType": "audio/pcm", "data": "AAAA", "extra_blob": {"deep": [1]}}}
                ]}, "brandNewFlag": true, "turn_complete": true},
                "usage_metadata": {"promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3},
                    {"token_count": 4, "newDetail": {}}]},
                "newTopLevel": null}"#,
        )
        .unwrap();
        assert_eq!(
            d.unknown,
            [
                unknown("newPart", "server_content.model_turn.parts[0]"),
                unknown(
                    "extra_blob",
                    "server_content.model_turn.parts[1].inline_data"
                ),
                unknown("brandNewFlag", "server_content"),
                unknown("newDetail", "usage_metadata.prompt_tokens_details[1]"),
                unknown("newTopLevel", ""),
            ]
        );
        let content = d.message.server_content.unwrap();
        assert_eq!(content.turn_complete, Some(true));
        let parts = content.model_turn.unwrap().parts;
        assert_eq!(
            parts[1].inline_data.as_ref().unwrap().data.as_bytes(),
            [0, 0, 0]
        );
    }

    #[test]
    fn option_box_and_map_values_are_transparent() {
        let d = decode_client(
            br#"{"setup": {"model": "m", "tools": [{"functionDeclarations": [{"name": "f",
                "parameters": {"type": "OBJECT", "properties": {"cityName": {"type": "STRING", "bogusKey": 1}},
                    "items": {"any_of": [{"type": "STRING"}, {"x": 1}]}}}]}]}}"#,
        )
        .unwrap();
        assert_eq!(
            d.unknown,
            [
                unknown(
                    "bogusKey",
                    "setup.tools[0].function_declarations[0].parameters.properties.city_name"
                ),
                unknown(
                    "x",
                    "setup.tools[0].function_declarations[0].parameters.items.any_of[1]"
                ),
            ]
        );
    }

    #[test]
    fn escaped_keys_are_unescaped() {
        let d = decode_server(
            br#"{"serverContent": {"model\u0054urn": {"parts": [{"a\u0062c": 1}]}, "turn\u0043omplete": true}}"#,
        )
        .unwrap();
        assert_eq!(
            d.unknown,
            [unknown("abc", "server_content.model_turn.parts[0]")]
        );
        assert_eq!(d.message.server_content.unwrap().turn_complete, Some(true));
    }

    #[test]
    fn a_known_frame_reports_nothing() {
        let d = decode_server(
            br#"{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000",
                "data": "\u002b//+AA=="}, "thoughtSignature": "AAEC"}]}},
                "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": "9"}}"#,
        )
        .unwrap();
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
        let part = &d.message.server_content.unwrap().model_turn.unwrap().parts[0];
        assert_eq!(
            part.inline_data.as_ref().unwrap().data.as_bytes(),
            [0xfb, 0xff, 0xfe, 0x00]
        );
        assert_eq!(
            part.thought_signature.as_ref().unwrap().as_bytes(),
            [0, 1, 2]
        );
    }

    #[test]
    fn bytes_requests_reach_the_inner_deserializer() {
        // Accepts only bytes: passes only if `deserialize_bytes` gets serde_json's raw string bytes.
        struct Raw(Vec<u8>);
        impl<'de> Deserialize<'de> for Raw {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Raw;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Raw, E> {
                        Ok(Raw(v.to_vec()))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
        #[derive(Deserialize)]
        struct Doc {
            data: Raw,
        }
        let (doc, found) = track::<Doc>(r#"{"data": "QUJD", "more": 1}"#);
        assert_eq!(doc.data.0, b"QUJD");
        assert_eq!(found, [unknown("more", "")]);
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // only decoded, for the paths
    enum Shape {
        Circle { r: f64 },
        Named(Named),
        Pair(Named, Named),
        Unit,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // only decoded, for the paths
    struct Named {
        name: String,
    }

    #[test]
    fn enum_variants_keep_their_place() {
        #[derive(Deserialize)]
        #[allow(dead_code)] // only decoded, for the paths
        struct Doc {
            shapes: Vec<Shape>,
            by_id: BTreeMap<u32, Named>,
        }
        let (_, found) = track::<Doc>(
            r#"{"shapes": [{"Circle": {"r": 1, "fillColor": "red"}}, {"Named": {"name": "n", "extraName": 2}},
                {"Pair": [{"name": "a"}, {"name": "b", "z": 0}]}, "Unit"],
                "byId": 1, "by_id": {"7": {"name": "x", "zz": 1}}}"#,
        );
        assert_eq!(
            found,
            [
                unknown("fillColor", "shapes[0]"),
                unknown("extraName", "shapes[1]"),
                unknown("z", "shapes[2][1]"),
                unknown("byId", ""),
                unknown("zz", "by_id.7"),
            ]
        );
    }

    #[test]
    fn ignored_values_outside_maps_are_named_by_their_place() {
        let (_, found) = track::<(u8, Vec<IgnoredAny>)>(r#"[1, [{"a": 1}, 2]]"#);
        assert_eq!(found, [unknown("", "[1][0]"), unknown("", "[1][1]")]);
        let (_, found) = track::<IgnoredAny>("{}");
        assert_eq!(found, [unknown("", "")]);
    }
}
