//! Answering tool calls by running commands: `--tool-command NAME=COMMAND` runs `sh -c COMMAND`
//! with the call's arguments as JSON on stdin; its stdout is the result. Cancelled calls kill
//! their command.

use std::collections::HashMap;
use std::process::Stdio;

use anyhow::{Result, bail};
use protocol::wire::{FunctionCall, FunctionResponse};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A finished call, to be sent and shown.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) response: Value,
}

impl Finished {
    pub(crate) fn to_response(&self) -> FunctionResponse {
        FunctionResponse {
            id: self.id.clone(),
            name: Some(self.name.clone()),
            response: Some(self.response.clone()),
            ..FunctionResponse::default()
        }
    }
}

/// Runs tool commands and tracks them until they finish or are cancelled.
#[derive(Debug)]
pub(crate) struct ToolRunner {
    commands: HashMap<String, String>,
    running: HashMap<String, JoinHandle<()>>,
    done_tx: mpsc::UnboundedSender<Finished>,
}

impl ToolRunner {
    /// Parses `NAME=COMMAND` specs; finished calls arrive on the returned receiver.
    pub(crate) fn new(specs: &[String]) -> Result<(Self, mpsc::UnboundedReceiver<Finished>)> {
        let mut commands = HashMap::new();
        for spec in specs {
            let Some((name, command)) = spec.split_once('=') else {
                bail!("--tool-command wants NAME=COMMAND, got {spec:?}");
            };
            if name.trim().is_empty() || command.trim().is_empty() {
                bail!("--tool-command wants NAME=COMMAND, got {spec:?}");
            }
            commands.insert(name.trim().to_owned(), command.to_owned());
        }
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Ok((
            Self {
                commands,
                running: HashMap::new(),
                done_tx,
            },
            done_rx,
        ))
    }

    /// Starts a call. Without a command for its function, it is answered with an error at once.
    pub(crate) fn start(&mut self, call: &FunctionCall) {
        let key = call.key().to_owned();
        let tx = self.done_tx.clone();
        let id = call.id.clone();
        let name = call.name.clone();
        let Some(command) = self.commands.get(&call.name).cloned() else {
            let response = json!({"error": format!("no command configured for {name} (use --tool-command {name}=COMMAND)")});
            let _ = tx.send(Finished { id, name, response });
            return;
        };
        let args = call.args.clone().unwrap_or_else(|| json!({}));
        let task = tokio::spawn(async move {
            let response = run(&command, &args).await;
            let _ = tx.send(Finished { id, name, response });
        });
        self.running.insert(key, task);
    }

    /// A call finished: forget it.
    pub(crate) fn finished(&mut self, finished: &Finished) {
        let key = finished.id.as_deref().unwrap_or(&finished.name);
        self.running.remove(key);
    }

    /// Cancels calls: their commands are killed and no response is sent.
    pub(crate) fn cancel(&mut self, ids: &[String]) -> usize {
        let mut n = 0;
        for id in ids {
            if let Some(task) = self.running.remove(id) {
                task.abort();
                n += 1;
            }
        }
        n
    }

    /// Calls still running.
    pub(crate) fn running(&self) -> usize {
        self.running.len()
    }
}

async fn run(command: &str, args: &Value) -> Value {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return json!({"error": format!("cannot run {command:?}: {e}")}),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(args.to_string().as_bytes()).await;
    }
    match child.wait_with_output().await {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Value::Object(map),
                Ok(other) => json!({"result": other}),
                Err(_) => json!({"result": text}),
            }
        }
        Ok(out) => {
            json!({"error": format!("{} ({})", String::from_utf8_lossy(&out.stderr).trim(), out.status)})
        }
        Err(e) => json!({"error": format!("{command:?} failed: {e}")}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, name: &str) -> FunctionCall {
        FunctionCall {
            id: Some(id.into()),
            name: name.into(),
            args: Some(json!({"city": "Paris"})),
            ..FunctionCall::default()
        }
    }

    #[tokio::test]
    async fn runs_commands_with_arguments_on_stdin() {
        let (mut tools, mut done) = ToolRunner::new(&[
            "weather=cat".into(),
            "fail=echo oops >&2; exit 3".into(),
            "plain=echo sunny".into(),
        ])
        .unwrap();
        tools.start(&call("1", "weather"));
        let f = done.recv().await.unwrap();
        assert_eq!(f.response, json!({"city": "Paris"}));
        tools.start(&call("2", "fail"));
        let f = done.recv().await.unwrap();
        assert!(
            f.response["error"].as_str().unwrap().contains("oops"),
            "{}",
            f.response
        );
        tools.start(&call("3", "plain"));
        assert_eq!(
            done.recv().await.unwrap().response,
            json!({"result": "sunny"})
        );
        tools.start(&call("4", "unknown"));
        assert!(
            done.recv().await.unwrap().response["error"]
                .as_str()
                .unwrap()
                .contains("--tool-command unknown=COMMAND")
        );
    }

    #[tokio::test]
    async fn cancelled_calls_are_killed_and_never_answered() {
        let (mut tools, mut done) = ToolRunner::new(&["slow=sleep 30; echo late".into()]).unwrap();
        tools.start(&call("a", "slow"));
        assert_eq!(tools.running(), 1);
        assert_eq!(tools.cancel(&["a".into()]), 1);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(300), done.recv()).await;
        assert!(waited.is_err(), "a cancelled call must not be answered");
        assert!(ToolRunner::new(&["nocommand".into()]).is_err());
    }
}
