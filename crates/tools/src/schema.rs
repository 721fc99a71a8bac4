//! JSON Schema (from `schemars` or an MCP server's `inputSchema`) to the OpenAPI subset that the
//! Live API accepts in `functionDeclarations[].parameters`.
//!
//! The Live API rejects JSON-Schema-only keywords in `parameters` with 1007 (`additionalProperties`,
//! `$ref`, `oneOf`, `const`, ...), and models on the Live API have called functions declared with
//! `parametersJsonSchema` with empty arguments (python-genai#1147, livekit/agents#2940). So the
//! schema is rewritten: references are inlined (a recursive one ends in a plain object), `oneOf`
//! becomes `anyOf`, a `null` alternative becomes `nullable`, string constants and string enums
//! become `enum`, formats the API does not know are dropped, and other keywords are left out.

use std::collections::BTreeMap;

use protocol::wire::{Schema, SchemaType};
use serde_json::{Map, Value};

/// How deep references may nest before the rest of the schema is cut to a plain object.
const MAX_DEPTH: usize = 32;

/// The Live API schema for a function's parameters, from their JSON Schema.
///
/// `None` when the function takes no parameters: a `null` schema or an object without
/// properties (the API refuses an `OBJECT` with no properties as `parameters`).
///
/// ```
/// use gemlive_tools::schema::live_parameters;
/// use serde_json::json;
///
/// let schema = live_parameters(&json!({
///     "type": "object",
///     "properties": {
///         "city": {"type": "string", "description": "City name"},
///         "unit": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]}
///     },
///     "required": ["city"],
///     "additionalProperties": false,
///     "$defs": {"Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}
/// }))
/// .unwrap();
/// assert_eq!(
///     serde_json::to_value(&schema).unwrap(),
///     json!({
///         "type": "OBJECT",
///         "properties": {
///             "city": {"type": "STRING", "description": "City name"},
///             "unit": {"type": "STRING", "nullable": true, "enum": ["celsius", "fahrenheit"]}
///         },
///         "required": ["city"]
///     })
/// );
/// ```
pub fn live_parameters(json_schema: &Value) -> Option<Schema> {
    let schema = live_schema(json_schema);
    match schema.r#type {
        Some(SchemaType::Null) => None,
        Some(SchemaType::Object) if schema.properties.as_ref().is_none_or(BTreeMap::is_empty) => {
            None
        }
        _ => Some(schema),
    }
}

/// The Live API schema for any JSON Schema value (see the module docs for what is rewritten).
pub fn live_schema(json_schema: &Value) -> Schema {
    Converter {
        root: json_schema,
        stack: Vec::new(),
    }
    .convert(json_schema)
}

struct Converter<'a> {
    root: &'a Value,
    /// References being expanded, to stop recursion.
    stack: Vec<&'a str>,
}

impl<'a> Converter<'a> {
    fn convert(&mut self, node: &'a Value) -> Schema {
        let Value::Object(map) = node else {
            // `true` or anything unexpected: any value. The API wants a type; text is the most
            // permissive one the model can fill.
            return typed(SchemaType::String);
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return self.reference(reference, map);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(variants)) = map.get(key) {
                return self.alternatives(variants, map);
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            return self.all_of(parts, map);
        }
        let mut schema = match map.get("type") {
            Some(Value::String(t)) => self.typed_node(t, map),
            Some(Value::Array(types)) => self.multi_typed(types, map),
            _ if map.contains_key("properties") => self.typed_node("object", map),
            _ if map.contains_key("items") => self.typed_node("array", map),
            _ if map.contains_key("enum") || map.contains_key("const") => {
                self.typed_node("string", map)
            }
            _ => typed(SchemaType::String),
        };
        annotate(&mut schema, map);
        schema
    }

    fn reference(&mut self, reference: &'a str, map: &'a Map<String, Value>) -> Schema {
        let target = resolve(self.root, reference);
        let mut schema = match target {
            Some(target) if !self.stack.contains(&reference) && self.stack.len() < MAX_DEPTH => {
                self.stack.push(reference);
                let schema = self.convert(target);
                self.stack.pop();
                schema
            }
            // A recursive type (or an unresolvable reference): an object the model fills freely.
            _ => typed(SchemaType::Object),
        };
        annotate(&mut schema, map);
        schema
    }

    fn alternatives(&mut self, variants: &'a [Value], map: &'a Map<String, Value>) -> Schema {
        let (nulls, rest): (Vec<&Value>, Vec<&Value>) = variants.iter().partition(|v| is_null(v));
        let nullable = !nulls.is_empty();
        let mut schema = if let Some(values) = string_constants(&rest, self.root) {
            Schema {
                r#type: Some(SchemaType::String),
                r#enum: Some(values),
                ..Schema::default()
            }
        } else if rest.len() == 1 {
            self.convert(rest[0])
        } else if rest.is_empty() {
            typed(SchemaType::Null)
        } else {
            Schema {
                any_of: Some(rest.into_iter().map(|v| self.convert(v)).collect()),
                ..Schema::default()
            }
        };
        if nullable && schema.r#type != Some(SchemaType::Null) {
            schema.nullable = Some(true);
        }
        annotate(&mut schema, map);
        schema
    }

    fn all_of(&mut self, parts: &'a [Value], map: &'a Map<String, Value>) -> Schema {
        let mut converted = parts.iter().map(|p| self.convert(p));
        let mut schema = converted
            .next()
            .unwrap_or_else(|| typed(SchemaType::Object));
        for part in converted {
            merge_object(&mut schema, part);
        }
        // Keywords beside `allOf` (schemars puts properties there for flattened structs).
        if map.contains_key("properties") {
            let extra = self.typed_node("object", map);
            merge_object(&mut schema, extra);
        }
        annotate(&mut schema, map);
        schema
    }

    fn multi_typed(&mut self, types: &'a [Value], map: &'a Map<String, Value>) -> Schema {
        let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
        let non_null: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
        let mut schema = match non_null.as_slice() {
            [] => typed(SchemaType::Null),
            [one] => self.typed_node(one, map),
            many => Schema {
                any_of: Some(many.iter().map(|t| self.typed_node(t, map)).collect()),
                ..Schema::default()
            },
        };
        if names.contains(&"null") && !non_null.is_empty() {
            schema.nullable = Some(true);
        }
        schema
    }

    /// A node of a single JSON type, with the keywords that apply to it.
    fn typed_node(&mut self, json_type: &str, map: &'a Map<String, Value>) -> Schema {
        let mut schema = Schema::default();
        match json_type {
            "object" => {
                schema.r#type = Some(SchemaType::Object);
                if let Some(Value::Object(props)) = map.get("properties") {
                    let properties: BTreeMap<String, Schema> = props
                        .iter()
                        .map(|(k, v)| (k.clone(), self.convert(v)))
                        .collect();
                    if let Some(Value::Array(req)) = map.get("required") {
                        let required: Vec<String> = req
                            .iter()
                            .filter_map(Value::as_str)
                            .filter(|r| properties.contains_key(*r))
                            .map(str::to_owned)
                            .collect();
                        schema.required = (!required.is_empty()).then_some(required);
                    }
                    schema.properties = Some(properties);
                }
                schema.min_properties = integer(map, "minProperties");
                schema.max_properties = integer(map, "maxProperties");
            }
            "array" => {
                schema.r#type = Some(SchemaType::Array);
                let items = match (map.get("items"), map.get("prefixItems")) {
                    (Some(Value::Array(tuple)), _) | (None, Some(Value::Array(tuple))) => {
                        tuple.first()
                    }
                    (Some(items), _) => Some(items),
                    (None, _) => None,
                };
                schema.items = Some(Box::new(
                    items.map_or_else(|| typed(SchemaType::String), |i| self.convert(i)),
                ));
                schema.min_items = integer(map, "minItems");
                schema.max_items = integer(map, "maxItems");
            }
            "string" => {
                schema.r#type = Some(SchemaType::String);
                schema.format = format(map, &["date-time", "enum"]);
                schema.min_length = integer(map, "minLength");
                schema.max_length = integer(map, "maxLength");
                schema.pattern = map.get("pattern").and_then(Value::as_str).map(Into::into);
            }
            "integer" | "number" => {
                let integer_type = json_type == "integer";
                schema.r#type = Some(if integer_type {
                    SchemaType::Integer
                } else {
                    SchemaType::Number
                });
                schema.format = if integer_type {
                    format(map, &["int32", "int64"])
                } else {
                    format(map, &["float", "double"])
                };
                schema.minimum = bound(map, "minimum", "exclusiveMinimum");
                schema.maximum = bound(map, "maximum", "exclusiveMaximum");
            }
            "boolean" => schema.r#type = Some(SchemaType::Boolean),
            "null" => schema.r#type = Some(SchemaType::Null),
            _ => schema.r#type = Some(SchemaType::String),
        }
        enumeration(&mut schema, map);
        schema
    }
}

fn typed(t: SchemaType) -> Schema {
    Schema {
        r#type: Some(t),
        ..Schema::default()
    }
}

/// `#/$defs/Name`, `#/definitions/Name`, `#/components/schemas/Name`: any JSON pointer into the
/// root document.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

fn is_null(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const").is_some_and(Value::is_null)
}

/// The values when every alternative is a string constant or a string enum (how schemars writes
/// an enum whose variants have doc comments).
fn string_constants(variants: &[&Value], root: &Value) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for v in variants {
        let v = match v.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve(root, r)?,
            None => v,
        };
        if let Some(c) = v.get("const") {
            out.push(c.as_str()?.to_owned());
        } else if let Some(Value::Array(values)) = v.get("enum") {
            for value in values {
                out.push(value.as_str()?.to_owned());
            }
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `enum` and `const`: the API takes string enums only; other values are listed in the
/// description so that the model still knows them.
fn enumeration(schema: &mut Schema, map: &Map<String, Value>) {
    let values: Vec<&Value> = match (map.get("enum"), map.get("const")) {
        (Some(Value::Array(values)), _) => values.iter().collect(),
        (_, Some(c)) => vec![c],
        _ => return,
    };
    if values.iter().any(|v| v.is_null()) {
        schema.nullable = Some(true);
    }
    let values: Vec<&Value> = values.into_iter().filter(|v| !v.is_null()).collect();
    if values.is_empty() {
        return;
    }
    if schema.r#type == Some(SchemaType::String)
        && let Some(strings) = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
    {
        schema.r#enum = Some(strings);
        return;
    }
    let listed: Vec<String> = values.iter().map(ToString::to_string).collect();
    let note = format!("One of: {}.", listed.join(", "));
    schema.description = Some(match schema.description.take() {
        Some(d) => format!("{d} {note}"),
        None => note,
    });
}

/// Keywords that apply to any node: a description (kept from the outermost node that has one),
/// a title, a default and an example.
fn annotate(schema: &mut Schema, map: &Map<String, Value>) {
    if let Some(d) = map.get("description").and_then(Value::as_str) {
        schema.description = Some(match schema.description.take() {
            Some(inner) if inner.starts_with("One of:") => format!("{d} {inner}"),
            _ => d.to_owned(),
        });
    }
    if let Some(t) = map.get("title").and_then(Value::as_str) {
        schema.title = Some(t.to_owned());
    }
    if let Some(d) = map.get("default").filter(|d| !d.is_null()) {
        schema.default = Some(d.clone());
    }
    let example = map.get("example").or_else(|| {
        map.get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
    });
    if let Some(e) = example {
        schema.example = Some(e.clone());
    }
}

fn merge_object(into: &mut Schema, from: Schema) {
    if into.r#type.is_none() {
        into.r#type = from.r#type;
    }
    if let Some(props) = from.properties {
        into.properties
            .get_or_insert_with(BTreeMap::new)
            .extend(props);
    }
    if let Some(required) = from.required {
        let list = into.required.get_or_insert_with(Vec::new);
        for r in required {
            if !list.contains(&r) {
                list.push(r);
            }
        }
    }
    if into.description.is_none() {
        into.description = from.description;
    }
}

fn integer(map: &Map<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    })
}

fn bound(map: &Map<String, Value>, inclusive: &str, exclusive: &str) -> Option<f64> {
    map.get(inclusive)
        .or_else(|| map.get(exclusive))
        .and_then(Value::as_f64)
}

fn format(map: &Map<String, Value>, allowed: &[&str]) -> Option<String> {
    map.get("format")
        .and_then(Value::as_str)
        .filter(|f| allowed.contains(f))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn live(v: Value) -> Value {
        serde_json::to_value(live_schema(&v)).unwrap()
    }

    #[test]
    fn types_nullability_and_unknown_keywords() {
        assert_eq!(
            live(
                json!({"type": ["integer", "null"], "format": "uint32", "minimum": 0, "additionalProperties": true})
            ),
            json!({"type": "INTEGER", "nullable": true, "minimum": 0.0})
        );
        assert_eq!(
            live(json!({"type": "string", "format": "uri", "default": "x", "examples": ["y"]})),
            json!({"type": "STRING", "default": "x", "example": "y"})
        );
        assert_eq!(
            live(json!({"type": ["string", "number"]})),
            json!({"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]})
        );
        assert_eq!(live(json!(true)), json!({"type": "STRING"}));
        assert_eq!(
            live(
                json!({"type": "array", "items": {"type": "number", "format": "double"}, "minItems": 1})
            ),
            json!({"type": "ARRAY", "items": {"type": "NUMBER", "format": "double"}, "minItems": "1"})
        );
    }

    #[test]
    fn enums_and_constants() {
        assert_eq!(
            live(json!({"oneOf": [
                {"type": "string", "const": "a", "description": "first"},
                {"type": "string", "enum": ["b", "c"]}
            ], "description": "pick"})),
            json!({"type": "STRING", "enum": ["a", "b", "c"], "description": "pick"})
        );
        assert_eq!(
            live(json!({"type": "integer", "enum": [1, 2], "description": "Level."})),
            json!({"type": "INTEGER", "description": "Level. One of: 1, 2."})
        );
        assert_eq!(
            live(json!({"enum": ["x", null]})),
            json!({"type": "STRING", "nullable": true, "enum": ["x"]})
        );
    }

    #[test]
    fn references_are_inlined_and_recursion_stops() {
        let schema = json!({
            "type": "object",
            "properties": {
                "tree": {"$ref": "#/$defs/Node", "description": "The root"},
                "when": {"allOf": [{"$ref": "#/definitions/Time"}]}
            },
            "required": ["tree", "missing"],
            "$defs": {"Node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
            }}},
            "definitions": {"Time": {"type": "string", "format": "date-time"}}
        });
        assert_eq!(
            live(schema),
            json!({"type": "OBJECT", "required": ["tree"], "properties": {
                "tree": {"type": "OBJECT", "description": "The root", "properties": {
                    "children": {"type": "ARRAY", "items": {"type": "OBJECT"}}
                }},
                "when": {"type": "STRING", "format": "date-time"}
            }})
        );
        assert_eq!(
            live(json!({"$ref": "#/nowhere"})),
            json!({"type": "OBJECT"})
        );
    }

    #[test]
    fn shapes_that_schemars_writes() {
        use std::collections::HashMap;

        use schemars::JsonSchema;

        #[derive(JsonSchema)]
        #[allow(dead_code)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Shape {
            Circle { radius: f64 },
            Square { side: f64 },
        }
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Tree {
            label: String,
            children: Vec<Self>,
        }
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Args {
            shape: Shape,
            tags: Option<Vec<String>>,
            counts: HashMap<String, u32>,
            tree: Tree,
        }
        let json = schemars::schema_for!(Args).to_value();
        let live = serde_json::to_value(live_parameters(&json).unwrap()).unwrap();
        let props = &live["properties"];
        assert_eq!(
            props["shape"]["anyOf"][0],
            json!({"type": "OBJECT", "required": ["kind", "radius"], "properties": {
                "kind": {"type": "STRING", "enum": ["circle"]},
                "radius": {"type": "NUMBER", "format": "double"}}})
        );
        assert_eq!(
            props["tags"],
            json!({"type": "ARRAY", "nullable": true, "items": {"type": "STRING"}})
        );
        assert_eq!(props["counts"], json!({"type": "OBJECT"}));
        assert_eq!(
            props["tree"]["properties"]["children"],
            json!({"type": "ARRAY", "items": {"type": "OBJECT"}})
        );
        assert!(!live.to_string().contains("$ref"), "{live}");
    }

    #[test]
    fn parameters_need_properties() {
        assert!(live_parameters(&json!({"type": "null"})).is_none());
        assert!(live_parameters(&json!({"type": "object", "properties": {}})).is_none());
        assert!(live_parameters(&json!({"type": "object"})).is_none());
        assert!(
            live_parameters(&json!({"type": "object", "properties": {"a": {"type": "string"}}}))
                .is_some()
        );
    }
}
