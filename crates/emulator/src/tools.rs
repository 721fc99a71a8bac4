//! Function calling: which declared function the user's words name, and arguments filled from its schema.

use serde_json::{Map, Value};

/// A declared function, reduced to what the responder needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionDecl {
    pub(crate) name: String,
    /// `parameters` (OpenAPI subset) or `parametersJsonSchema`, as JSON.
    pub(crate) schema: Option<Value>,
    pub(crate) non_blocking: bool,
}

const VERBS: [&str; 14] = [
    "get", "set", "fetch", "lookup", "look", "find", "check", "search", "do", "run", "call",
    "make", "create", "list",
];

/// `GetWeather` / `get_current_weather` -> `["get", "weather"]` / `["get", "current", "weather"]`.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn text_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The first declared function whose name the text names: the name itself, or all of its words apart from a
/// leading verb (`GetWeather` is named by "what is the weather").
pub(crate) fn named_function<'a>(
    text: &str,
    decls: &'a [FunctionDecl],
) -> Option<&'a FunctionDecl> {
    let words = text_words(text);
    let lower = text.to_lowercase();
    decls.iter().find(|d| {
        if lower.contains(&d.name.to_lowercase()) {
            return true;
        }
        let mut nw = name_words(&d.name);
        if nw.len() > 1 && VERBS.contains(&nw[0].as_str()) {
            nw.remove(0);
        }
        !nw.is_empty()
            && nw
                .iter()
                .all(|w| words.contains(w) || words.contains(&format!("{w}s")))
    })
}

/// Arguments for `decl` from the user's words, following the schema: strings after "in/for/at/to/of/about"
/// (or an enum value mentioned), numbers found in the text, booleans true, nested objects recursively.
pub(crate) fn fill_args(decl: &FunctionDecl, text: &str) -> Value {
    match &decl.schema {
        Some(schema) => fill(schema, text, "value"),
        None => Value::Object(Map::new()),
    }
}

fn schema_type(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_ascii_lowercase(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    }
}

fn fill(schema: &Value, text: &str, name: &str) -> Value {
    match schema_type(schema).as_str() {
        "object" => {
            let mut out = Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, s) in props {
                    out.insert(k.clone(), fill(s, text, k));
                }
            }
            Value::Object(out)
        }
        "array" => Value::Array(vec![]),
        "boolean" => Value::Bool(true),
        "integer" => Value::from(first_number(text).map_or(0, |n| n as i64)),
        "number" => first_number(text)
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .unwrap_or_else(|| Value::from(0)),
        _ => {
            if let Some(Value::Array(values)) = schema.get("enum") {
                let lower = text.to_lowercase();
                let pick = values
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|v| lower.contains(&v.to_lowercase()));
                if let Some(v) = pick.or_else(|| values.iter().filter_map(Value::as_str).next()) {
                    return Value::from(v);
                }
            }
            Value::from(phrase_after_preposition(text).unwrap_or_else(|| name.to_owned()))
        }
    }
}

fn first_number(text: &str) -> Option<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .find_map(|t| t.parse().ok())
}

/// "What is the weather in New York today?" -> "New York".
fn phrase_after_preposition(text: &str) -> Option<String> {
    let toks: Vec<&str> = text.split_whitespace().collect();
    let i = toks.iter().position(|t| {
        matches!(
            t.to_lowercase().as_str(),
            "in" | "for" | "at" | "to" | "of" | "about"
        )
    })?;
    let phrase: Vec<&str> = toks[i + 1..]
        .iter()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
        .take_while(|t| t.chars().next().is_some_and(char::is_uppercase))
        .collect();
    if phrase.is_empty() {
        let next = toks
            .get(i + 1)?
            .trim_matches(|c: char| !c.is_alphanumeric());
        return (!next.is_empty()).then(|| next.to_owned());
    }
    Some(phrase.join(" "))
}

/// What the model says about a function result: `{"output": x}`/`{"result": x}` unwrap to `x`.
pub(crate) fn summarize(name: &str, response: &Value) -> String {
    let inner = response
        .get("output")
        .or_else(|| response.get("result"))
        .unwrap_or(response);
    if let Some(err) = response.get("error") {
        return format!("{name} failed: {}.", plain(err));
    }
    format!("{name} returned {}.", plain(inner))
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_arguments() {
        let weather = FunctionDecl {
            name: "GetWeather".into(),
            schema: Some(
                json!({"type": "OBJECT", "properties": {"location": {"type": "STRING"},
                "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]}, "days": {"type": "INTEGER"}},
                "required": ["location"]}),
            ),
            non_blocking: false,
        };
        let lights = FunctionDecl {
            name: "turn_on_the_lights".into(),
            schema: None,
            non_blocking: true,
        };
        let decls = vec![weather, lights];
        let d = named_function("What is the weather in Seattle?", &decls).unwrap();
        assert_eq!(d.name, "GetWeather");
        assert_eq!(
            fill_args(
                d,
                "What is the weather in New York for 3 days in fahrenheit?"
            ),
            json!({"location": "New York", "unit": "fahrenheit", "days": 3})
        );
        assert_eq!(
            named_function("please turn on the lights", &decls)
                .unwrap()
                .name,
            "turn_on_the_lights"
        );
        assert!(named_function("hello there", &decls).is_none());
        assert_eq!(
            summarize("GetWeather", &json!({"output": "sunny"})),
            "GetWeather returned sunny."
        );
        assert_eq!(
            summarize("GetWeather", &json!({"temperature": "72F"})),
            "GetWeather returned {\"temperature\":\"72F\"}."
        );
    }
}
