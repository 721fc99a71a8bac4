//! The registry: tools of every kind, declared in a session's setup by the model's rules.

use std::collections::HashSet;
use std::future::Future;

use protocol::models::{self, Backend, ModelProfile};
use protocol::wire::{Behavior, FunctionDeclaration, SchemaType, Setup};
use serde_json::Value;

use crate::dispatch::{Dispatcher, Entry, Plan};
use crate::names::Names;
use crate::schema::live_parameters;
use crate::tool::{CallContext, Source, Tool, ToolError};

/// The tools of a session: typed Rust functions, shell commands and MCP servers' tools.
///
/// [`Tools::declare`] adds their function declarations to a setup and returns the
/// [`Dispatcher`] that answers their calls.
///
/// ```
/// use gemlive_tools::{Tool, Tools};
/// use gemlive_tools::protocol::Backend;
/// use gemlive_tools::protocol::wire::Setup;
///
/// let tools = Tools::new().with(Tool::command("uptime", "How long the machine has been up", "uptime -p"));
/// let mut setup = Setup::new("gemini-3.8-live");
/// let dispatcher = tools.declare(&mut setup, Backend::GeminiApi)?;
/// assert_eq!(dispatcher.declarations()[0].name, "uptime");
/// # Ok::<(), gemlive_tools::DeclareError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tools {
    tools: Vec<Tool>,
    fallback: Option<Tool>,
    json_schema: bool,
}

impl Tools {
    /// No tools.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool (builder style).
    #[must_use]
    pub fn with(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds a tool.
    pub fn add(&mut self, tool: Tool) -> &mut Self {
        self.tools.push(tool);
        self
    }

    /// Answers the calls of functions that the setup declares and no tool answers (by default
    /// they are left to the application), e.g. with an error that says how to provide them.
    /// [`CallContext::name`] tells which function was called.
    #[must_use]
    pub fn fallback<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Value, CallContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ToolError>> + Send + 'static,
    {
        self.fallback = Some(Tool::raw("", "", None, f));
        self
    }

    /// Starts (or connects to) an MCP server and adds its tools; returns how many it has.
    #[cfg(feature = "mcp")]
    pub async fn add_mcp(&mut self, server: &crate::McpServer) -> Result<usize, crate::McpError> {
        let tools = server.connect().await?;
        let n = tools.len();
        self.tools.extend(tools);
        Ok(n)
    }

    /// Declares parameters with `parametersJsonSchema` (the JSON Schema as it is) instead of
    /// converting them to the OpenAPI subset in `parameters`. Off by default: models on the
    /// Live API have ignored `parametersJsonSchema` and called functions without arguments
    /// (python-genai#1147); newer ones accept it.
    #[must_use]
    pub fn parameters_json_schema(mut self, on: bool) -> Self {
        self.json_schema = on;
        self
    }

    /// The tools, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Adds the tools' function declarations to `setup` and returns the dispatcher for the
    /// session, following the model's rules ([`protocol::models`]):
    ///
    /// * names are made valid (`a-z A-Z 0-9 _ : . -`, at most 64 characters) and unique: an MCP
    ///   tool whose name is taken gets its server's name as a prefix, others a number;
    /// * `behavior` is sent only where it differs from the model's default (NON_BLOCKING on
    ///   3.8 Live, BLOCKING elsewhere); a NON_BLOCKING tool on a model without NON_BLOCKING
    ///   (3.1, half-cascade) is an error;
    /// * `scheduling` goes with the results of NON_BLOCKING calls only, and partial results
    ///   (`willContinue`) on the Gemini API only;
    /// * functions the setup already declares are left to the application, unless a tool with
    ///   [`Tool::reuse_declaration`] answers them.
    pub fn declare(&self, setup: &mut Setup, backend: Backend) -> Result<Dispatcher, DeclareError> {
        let profile = models::lookup(&setup.model, backend);
        // In the setup's order, for a stable order of the fallback's entries.
        let existing: Vec<(String, Option<Behavior>)> = setup
            .tools
            .iter()
            .flatten()
            .flat_map(|t| t.function_declarations.iter().flatten())
            .map(|d| (d.name.clone(), d.behavior.clone()))
            .collect();
        let mut names = Names::default();
        for (name, _) in &existing {
            names.reserve(name);
        }
        let mut entries = Vec::new();
        let mut declarations = Vec::new();
        for tool in &self.tools {
            if tool.reuse_declaration
                && let Some((_, behavior)) = existing.iter().find(|(n, _)| *n == tool.name)
            {
                entries.push(Entry {
                    declared: tool.name.clone(),
                    tool: tool.clone(),
                    non_blocking: non_blocking(behavior.as_ref(), profile),
                });
                continue;
            }
            let prefix = match &tool.source {
                Source::Mcp { server, .. } => Some(server.as_str()),
                _ => None,
            };
            let declared = names.claim(&tool.name, prefix);
            if declared != tool.name && prefix.is_none() {
                tracing::warn!("tool {:?} is declared as {declared:?}", tool.name);
            }
            let behavior = behavior(tool, profile, &declared, &setup.model)?;
            let mut declaration = FunctionDeclaration {
                name: declared.clone(),
                description: (!tool.description.is_empty()).then(|| tool.description.clone()),
                behavior: behavior.clone(),
                ..FunctionDeclaration::default()
            };
            if let Some(schema) = &tool.parameters {
                let converted = live_parameters(schema);
                if converted
                    .as_ref()
                    .is_some_and(|p| p.r#type != Some(SchemaType::Object))
                {
                    return Err(DeclareError::Parameters {
                        tool: declared,
                        reason: "the parameters must be an object (a struct with named fields)"
                            .into(),
                    });
                }
                if self.json_schema {
                    declaration.parameters_json_schema = converted.map(|_| schema.clone());
                } else {
                    declaration.parameters = converted;
                }
            }
            entries.push(Entry {
                declared,
                tool: tool.clone(),
                non_blocking: non_blocking(behavior.as_ref(), profile),
            });
            declarations.push(declaration);
        }
        let mut answered: HashSet<String> = entries.iter().map(|e| e.declared.clone()).collect();
        let mut foreign = HashSet::new();
        for (name, behavior) in existing {
            if !answered.insert(name.clone()) {
                continue;
            }
            match &self.fallback {
                Some(fallback) => entries.push(Entry {
                    non_blocking: non_blocking(behavior.as_ref(), profile),
                    declared: name,
                    tool: fallback.clone(),
                }),
                None => {
                    foreign.insert(name);
                }
            }
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.declared.clone(), i))
            .collect();
        if !declarations.is_empty() {
            setup
                .tools
                .get_or_insert_with(Vec::new)
                .push(protocol::wire::Tool {
                    function_declarations: Some(declarations.clone()),
                    ..protocol::wire::Tool::default()
                });
        }
        Ok(Dispatcher::new(Plan {
            entries,
            by_name,
            foreign,
            streaming: backend == Backend::GeminiApi,
            declarations,
        }))
    }
}

/// The `behavior` to declare: only where it differs from the model's default.
fn behavior(
    tool: &Tool,
    profile: Option<ModelProfile>,
    declared: &str,
    model: &str,
) -> Result<Option<Behavior>, DeclareError> {
    Ok(match (tool.behavior.clone(), profile) {
        (Some(Behavior::NonBlocking), Some(p)) if !p.supports_non_blocking => {
            return Err(DeclareError::NonBlocking {
                tool: declared.to_owned(),
                model: model.to_owned(),
            });
        }
        (Some(Behavior::NonBlocking), Some(p)) if p.non_blocking_by_default => None,
        (Some(Behavior::Blocking), Some(p)) if !p.non_blocking_by_default => None,
        (Some(Behavior::Unspecified) | None, _) => None,
        (b, _) => b,
    })
}

/// Whether calls are NON_BLOCKING, given what is declared; `None` for an unknown model that
/// decides by itself.
fn non_blocking(declared: Option<&Behavior>, profile: Option<ModelProfile>) -> Option<bool> {
    match declared {
        Some(Behavior::NonBlocking) => Some(true),
        Some(Behavior::Blocking) => Some(false),
        _ => profile.map(|p| p.non_blocking_by_default),
    }
}

/// The tools cannot be declared for this session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeclareError {
    /// A NON_BLOCKING tool on a model that only calls functions blocking.
    #[error(
        "tool {tool:?} is NON_BLOCKING, but {model} does not support NON_BLOCKING functions: declare it blocking, or use a model that supports them (2.5 native audio, 3.8)"
    )]
    NonBlocking {
        /// The tool.
        tool: String,
        /// The model.
        model: String,
    },
    /// A tool's parameters cannot be declared.
    #[error("tool {tool:?}: {reason}")]
    Parameters {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use protocol::wire::Scheduling;
    use serde_json::json;

    use super::*;

    fn tool(name: &str) -> Tool {
        Tool::raw(name, "d", None, |_, _| async { Ok(Value::Null) })
    }

    fn declared(tools: &Tools, model: &str) -> Result<Value, DeclareError> {
        let mut setup = Setup::new(model);
        let d = tools.declare(&mut setup, Backend::GeminiApi)?;
        assert_eq!(
            serde_json::to_value(d.declarations()).unwrap(),
            serde_json::to_value(&setup.tools.unwrap()[0].function_declarations).unwrap()
        );
        Ok(serde_json::to_value(d.declarations()).unwrap())
    }

    #[test]
    fn behavior_follows_the_model() {
        let tools = Tools::new()
            .with(tool("a").non_blocking().scheduling(Scheduling::Interrupt))
            .with(tool("b").blocking())
            .with(tool("c"));
        assert_eq!(
            declared(&tools, "gemini-2.5-flash-native-audio-preview-12-2025").unwrap(),
            json!([{"name": "a", "description": "d", "behavior": "NON_BLOCKING"},
                   {"name": "b", "description": "d"}, {"name": "c", "description": "d"}])
        );
        assert_eq!(
            declared(&tools, "gemini-3.8-live").unwrap(),
            json!([{"name": "a", "description": "d"},
                   {"name": "b", "description": "d", "behavior": "BLOCKING"},
                   {"name": "c", "description": "d"}])
        );
        assert_eq!(
            declared(&tools, "some-future-model").unwrap()[0]["behavior"],
            "NON_BLOCKING"
        );
        let err = declared(&tools, "gemini-3.1-flash-live-preview").unwrap_err();
        assert!(
            err.to_string().contains("does not support NON_BLOCKING"),
            "{err}"
        );
    }

    #[test]
    fn names_are_unique_across_kinds_and_the_setup() {
        let mcp = |server: &str, name: &str| {
            tool(name).with_source(Source::Mcp {
                server: server.into(),
                tool: name.into(),
            })
        };
        let tools = Tools::new()
            .with(tool("echo"))
            .with(mcp("everything", "echo"))
            .with(mcp("other", "echo"))
            .with(mcp("other", "files/read"))
            .with(tool("mine").reuse_declaration());
        let mut setup = Setup::new("gemini-3.1-flash-live-preview");
        setup.tools = Some(vec![protocol::wire::Tool {
            function_declarations: Some(vec![
                FunctionDeclaration {
                    name: "mine".into(),
                    ..FunctionDeclaration::default()
                },
                FunctionDeclaration {
                    name: "by_hand".into(),
                    ..FunctionDeclaration::default()
                },
            ]),
            ..protocol::wire::Tool::default()
        }]);
        let d = tools.declare(&mut setup, Backend::GeminiApi).unwrap();
        let names: Vec<&str> = d.declarations().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["echo", "everything_echo", "other_echo", "files_read"]
        );
        assert_eq!(setup.tools.as_ref().unwrap().len(), 2);
        let plan = d.plan();
        assert!(plan.by_name.contains_key("mine") && plan.foreign.contains("by_hand"));
        assert!(!plan.foreign.contains("mine"));

        let mut setup_again = Setup::new("gemini-3.1-flash-live-preview");
        setup_again.tools = setup.tools.clone();
        let d = Tools::new()
            .fallback(|_, _| async { Ok(Value::Null) })
            .declare(&mut setup_again, Backend::GeminiApi)
            .unwrap();
        assert!(d.declarations().is_empty());
        let plan = d.plan();
        assert!(plan.foreign.is_empty() && plan.by_name.contains_key("by_hand"));
    }

    #[test]
    fn parameters_must_be_an_object() {
        let scalar = Tool::raw("s", "", Some(json!({"type": "string"})), |_, _| async {
            Ok(Value::Null)
        });
        let err = declared(&Tools::new().with(scalar), "gemini-3.8-live").unwrap_err();
        assert!(matches!(err, DeclareError::Parameters { .. }), "{err}");
        let object = json!({"type": "object", "properties": {"x": {"type": "integer"}},
            "additionalProperties": false});
        let tools = Tools::new().with(Tool::raw("o", "", Some(object.clone()), |_, _| async {
            Ok(Value::Null)
        }));
        assert_eq!(
            declared(&tools, "gemini-3.8-live").unwrap()[0]["parameters"],
            json!({"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}})
        );
        assert_eq!(
            declared(&tools.parameters_json_schema(true), "gemini-3.8-live").unwrap()[0]["parametersJsonSchema"],
            object
        );
    }
}
