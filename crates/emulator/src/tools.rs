//! Function calling: which declared function the user's words ask for (by intent: the words of
//! its name and description), and arguments filled from its schema.

use serde_json::{Map, Value};

/// A declared function, reduced to what the responder needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionDecl {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// `parameters` (OpenAPI subset) or `parametersJsonSchema`, as JSON.
    pub(crate) schema: Option<Value>,
    pub(crate) non_blocking: bool,
}

/// Leading verbs of function names that say nothing about the intent (`get_weather`).
const VERBS: &[&str] = &[
    "get", "set", "fetch", "lookup", "look", "find", "check", "search", "do", "run", "call",
    "make", "create", "list", "query", "retrieve", "return", "returns",
];

/// Words that carry no intent.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "what",
    "whats",
    "how",
    "who",
    "where",
    "when",
    "which",
    "why",
    "in",
    "on",
    "at",
    "of",
    "for",
    "to",
    "from",
    "by",
    "with",
    "about",
    "into",
    "me",
    "my",
    "i",
    "you",
    "your",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "please",
    "can",
    "could",
    "would",
    "will",
    "should",
    "do",
    "does",
    "did",
    "tell",
    "give",
    "show",
    "and",
    "or",
    "use",
    "using",
    "now",
    "some",
    "any",
    "there",
    "here",
    "given",
    "like",
    "us",
    "we",
    "our",
    "current",
    "currently",
    "right",
    "let",
    "know",
    "want",
    "need",
    "up",
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

/// `weathers` -> `weather`, `cities` -> `city`, `boxes` -> `box`, `Redmond's` -> `redmond`.
fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    let w = w.strip_suffix("'s").unwrap_or(&w);
    if w.len() > 4
        && let Some(s) = w.strip_suffix("ies")
    {
        return format!("{s}y");
    }
    if w.len() > 4
        && let Some(s) = w.strip_suffix("es")
        && (s.ends_with(['s', 'x', 'z']) || s.ends_with("ch") || s.ends_with("sh"))
    {
        return s.to_owned();
    }
    if w.len() > 3 && !w.ends_with("ss") {
        return w.strip_suffix('s').unwrap_or(w).to_owned();
    }
    w.to_owned()
}

/// The words of `text` that carry intent, stemmed.
fn content_words(words: impl IntoIterator<Item = String>) -> Vec<String> {
    words
        .into_iter()
        .map(|w| w.to_lowercase().replace('\'', ""))
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

fn text_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How strongly `text` asks for `decl` (0 is not at all), then how many words of its name the
/// text leaves unsaid (fewer is a closer match: `get-env` before `remote_get-env` for "get env").
fn intent(text: &str, said: &[String], decl: &FunctionDecl) -> (usize, usize) {
    if text.to_lowercase().contains(&decl.name.to_lowercase()) {
        return (100, 0);
    }
    // Verbs say little about which function is meant (`get_`, `remote_get_`): only the rest counts.
    let mut name = name_words(&decl.name);
    if name.iter().any(|w| !VERBS.contains(&w.as_str())) {
        name.retain(|w| !VERBS.contains(&w.as_str()));
    }
    let name = content_words(name);
    let description = content_words(text_words(decl.description.as_deref().unwrap_or("")));
    let hits = |words: &[String]| {
        let mut seen: Vec<&String> = words.iter().filter(|w| said.contains(w)).collect();
        seen.sort();
        seen.dedup();
        seen.len()
    };
    let (by_name, by_description) = (hits(&name), hits(&description));
    let unsaid = name.iter().filter(|w| !said.contains(w)).count();
    if by_name > 0 || by_description >= 2 {
        (3 * by_name + by_description, unsaid)
    } else {
        (0, unsaid)
    }
}

/// The declared function the text asks for, if any: its name said outright, or the words of its
/// name (apart from verbs) or of its description, loosely (plural or singular, stop
/// words ignored). The strongest match wins, then the one with the fewest name words unsaid;
/// the first declared breaks what ties remain.
pub(crate) fn intended_function<'a>(
    text: &str,
    decls: &'a [FunctionDecl],
) -> Option<&'a FunctionDecl> {
    let said = content_words(text_words(text));
    let mut best: Option<((usize, usize), &FunctionDecl)> = None;
    for d in decls {
        let (score, unsaid) = intent(text, &said, d);
        let better = |(b, b_unsaid): (usize, usize)| score > b || (score == b && unsaid < b_unsaid);
        if score > 0 && best.is_none_or(|(b, _)| better(b)) {
            best = Some(((score, unsaid), d));
        }
    }
    best.map(|(_, d)| d)
}

/// Arguments for `decl` from the user's words, following the schema: required properties always
/// (strings from a phrase after "in/for/at/of/...", enums by the value mentioned, numbers from the
/// text), optional ones only when the text mentions something for them. A phrase never runs past
/// the end of its sentence.
pub(crate) fn fill_args(decl: &FunctionDecl, text: &str) -> Value {
    match &decl.schema {
        Some(schema) => fill(schema, text, "value", true),
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

/// The value for a property, or `None` when an optional one has nothing in the text.
fn fill(schema: &Value, text: &str, name: &str, required: bool) -> Value {
    fill_opt(schema, text, name, required).unwrap_or(Value::Null)
}

fn fill_opt(schema: &Value, text: &str, name: &str, required: bool) -> Option<Value> {
    let lower = text.to_lowercase();
    match schema_type(schema).as_str() {
        "object" => {
            let mut out = Map::new();
            let needed: Option<Vec<&str>> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect());
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, s) in props {
                    let req = needed.as_ref().is_none_or(|n| n.contains(&k.as_str()));
                    if let Some(v) = fill_opt(s, text, k, req) {
                        out.insert(k.clone(), v);
                    }
                }
            }
            Some(Value::Object(out))
        }
        "array" => required.then(|| Value::Array(vec![])),
        "boolean" => required.then_some(Value::Bool(true)),
        "integer" => match first_number(text) {
            Some(n) => Some(Value::from(n as i64)),
            None => required.then(|| Value::from(0)),
        },
        "number" => match first_number(text).and_then(serde_json::Number::from_f64) {
            Some(n) => Some(Value::Number(n)),
            None => required.then(|| Value::from(0)),
        },
        _ => {
            if let Some(Value::Array(values)) = schema.get("enum") {
                let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                let said = values.iter().find(|v| lower.contains(&v.to_lowercase()));
                return said
                    .or_else(|| values.first().filter(|_| required))
                    .map(|v| Value::from(*v));
            }
            if !required && !lower.contains(&name.to_lowercase()) {
                return None;
            }
            Some(Value::from(
                phrase_after_preposition(text).unwrap_or_else(|| name.to_owned()),
            ))
        }
    }
}

fn first_number(text: &str) -> Option<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .map(|t| t.trim_matches(['.', '-']))
        .find_map(|t| t.parse().ok())
}

const PREPOSITIONS: &[&str] = &["in", "for", "at", "to", "of", "about", "near", "from", "on"];
const ARTICLES: &[&str] = &["the", "a", "an"];

/// The sentences of `text`: a sentence ends at `.`, `?`, `!` or `;`.
fn sentences(text: &str) -> Vec<&str> {
    text.split_inclusive(['.', '?', '!', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// "What is the weather in New York today? Use get_weather." -> "New York": the capitalized
/// phrase after a preposition (the last such in the first sentence that has one), else the
/// words after the first preposition up to a stop word, never past the end of the sentence.
fn phrase_after_preposition(text: &str) -> Option<String> {
    let trim = |t: &str| t.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let mut fallback = None;
    for sentence in sentences(text) {
        let toks: Vec<&str> = sentence.split_whitespace().collect();
        let mut capitalized = None;
        for (i, t) in toks.iter().enumerate() {
            if !PREPOSITIONS.contains(&trim(t).to_lowercase().as_str()) {
                continue;
            }
            let mut rest = &toks[i + 1..];
            while rest
                .first()
                .is_some_and(|t| ARTICLES.contains(&trim(t).to_lowercase().as_str()))
            {
                rest = &rest[1..];
            }
            let run: Vec<&str> = rest
                .iter()
                .take_while(|t| t.chars().next().is_some_and(char::is_uppercase))
                .copied()
                .collect();
            if !run.is_empty() {
                let mut phrase = run.join(" ");
                phrase.truncate(
                    phrase
                        .trim_end_matches(|c: char| !c.is_alphanumeric())
                        .len(),
                );
                capitalized = Some(phrase);
            } else if fallback.is_none() {
                let words: Vec<String> = rest
                    .iter()
                    .map(|t| trim(t))
                    .take_while(|w| {
                        !w.is_empty() && !STOP_WORDS.contains(&w.to_lowercase().as_str())
                    })
                    .take(4)
                    .collect();
                if !words.is_empty() {
                    fallback = Some(words.join(" "));
                }
            }
        }
        if capitalized.is_some() {
            return capitalized;
        }
        if fallback.is_some() {
            return fallback;
        }
    }
    None
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

/// How a function call reads as Python, as half-cascade models print it before calling:
/// `print(default_api.get_weather(city='Paris', days=3))`.
pub(crate) fn as_python(name: &str, args: &Value) -> String {
    let py = |v: &Value| match v {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    };
    let kwargs: Vec<String> = args
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k}={}", py(v))).collect())
        .unwrap_or_default();
    format!("print(default_api.{name}({}))", kwargs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decl(name: &str, description: Option<&str>, schema: Option<Value>) -> FunctionDecl {
        FunctionDecl {
            name: name.into(),
            description: description.map(str::to_owned),
            schema,
            non_blocking: false,
        }
    }

    #[test]
    fn functions_are_chosen_by_intent() {
        let weather = decl(
            "get_current_weather",
            Some("Get the current weather in a given location"),
            None,
        );
        let lights = decl("turn_on_the_lights", None, None);
        let status = decl("getStatus", Some("Returns the status of an order"), None);
        let decls = vec![weather, lights, status];
        let pick = |t: &str| intended_function(t, &decls).map(|d| d.name.as_str());
        assert_eq!(
            pick("what is the weather in Redmond Washington"),
            Some("get_current_weather")
        );
        assert_eq!(pick("How are the weathers?"), Some("get_current_weather"));
        assert_eq!(
            pick("please turn on the lights"),
            Some("turn_on_the_lights")
        );
        assert_eq!(
            pick("Where is my order? Check its status."),
            Some("getStatus")
        );
        assert_eq!(pick("call getStatus"), Some("getStatus"));
        assert_eq!(pick("hello there"), None);
        let twins = [
            decl("remote_get_env", None, None),
            decl("get_env", None, None),
        ];
        assert_eq!(
            intended_function("Show the local env", &twins).map(|d| d.name.as_str()),
            Some("get_env"),
            "the closer name wins a tie"
        );
        assert_eq!(pick("What is the capital of France?"), None);
    }

    #[test]
    fn arguments_follow_the_schema_and_stop_at_the_sentence() {
        let weather = decl(
            "GetWeather",
            None,
            Some(
                json!({"type": "OBJECT", "properties": {"location": {"type": "STRING"},
                "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]}, "days": {"type": "INTEGER"}},
                "required": ["location"]}),
            ),
        );
        assert_eq!(
            fill_args(
                &weather,
                "What is the weather in New York for 3 days in fahrenheit?"
            ),
            json!({"location": "New York", "unit": "fahrenheit", "days": 3})
        );
        assert_eq!(
            fill_args(&weather, "What is the weather in Paris? Use GetWeather."),
            json!({"location": "Paris"})
        );
        assert_eq!(
            fill_args(&weather, "what is the weather in redmond washington"),
            json!({"location": "redmond washington"})
        );
        assert_eq!(
            fill_args(&weather, "Weather in Paris, France, please."),
            json!({"location": "Paris, France"})
        );
        assert_eq!(
            fill_args(&weather, "weather in the city of Paris"),
            json!({"location": "Paris"})
        );
        let city = decl(
            "w",
            None,
            Some(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        );
        assert_eq!(
            fill_args(&city, "Tell me about Rome."),
            json!({"city": "Rome"})
        );
    }

    #[test]
    fn results_are_spoken_and_calls_print_as_python() {
        assert_eq!(
            summarize("GetWeather", &json!({"output": "sunny"})),
            "GetWeather returned sunny."
        );
        assert_eq!(
            summarize("GetWeather", &json!({"temperature": "72F"})),
            "GetWeather returned {\"temperature\":\"72F\"}."
        );
        assert_eq!(
            as_python("get_current_weather", &json!({"location": "Redmond, WA"})),
            "print(default_api.get_current_weather(location='Redmond, WA'))"
        );
    }
}
