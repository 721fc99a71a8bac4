//! Shell-command tools: `sh -c COMMAND` with the call's arguments as JSON on stdin; its stdout
//! is the result. A cancelled call kills its command.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::tool::{BoxFuture, CallContext, Handler, Source, Tool, ToolError};

impl Tool {
    /// A tool answered by running `command` with `sh -c`: the arguments go to its stdin as
    /// JSON, its stdout is the result (a JSON object as it is, other JSON as `{"result": ...}`,
    /// anything else as text). A non-zero exit is an error quoting its stderr. It declares no
    /// parameters; with [`Tool::reuse_declaration`] it answers a function declared elsewhere
    /// (for example read from a file), parameters included.
    ///
    /// ```
    /// use gemlive_tools::Tool;
    ///
    /// let uptime = Tool::command("uptime", "How long the machine has been up", "uptime -p");
    /// assert_eq!(uptime.name(), "uptime");
    /// ```
    pub fn command(
        name: impl Into<String>,
        description: impl Into<String>,
        command: impl Into<String>,
    ) -> Self {
        let command = command.into();
        let source = Source::Command {
            command: command.clone(),
        };
        Self::new(name, description, None, Command(command)).with_source(source)
    }
}

struct Command(String);

impl Handler for Command {
    fn call(&self, args: Value, _context: CallContext) -> BoxFuture<Result<Value, ToolError>> {
        let command = self.0.clone();
        Box::pin(async move { run(&command, &args).await })
    }
}

async fn run(command: &str, args: &Value) -> Result<Value, ToolError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ToolError(format!("cannot run {command:?}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input closes the pipe early: not an error.
        let _ = stdin.write_all(args.to_string().as_bytes()).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| ToolError(format!("{command:?} failed: {e}")))?;
    if !out.status.success() {
        return Err(ToolError(format!(
            "{} ({})",
            String::from_utf8_lossy(&out.stderr).trim(),
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(serde_json::from_str::<Value>(&text).unwrap_or_else(|_| json!({"result": text})))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn call(tool: &Tool, args: Value) -> BoxFuture<Result<Value, ToolError>> {
        tool.handler
            .call(args, CallContext::detached(Some("1".into()), tool.name()))
    }

    #[tokio::test]
    async fn runs_commands_with_arguments_on_stdin() {
        let echo = Tool::command("weather", "", "cat");
        assert_eq!(
            call(&echo, json!({"city": "Paris"})).await.unwrap(),
            json!({"city": "Paris"})
        );
        let fail = Tool::command("fail", "", "echo oops >&2; exit 3");
        let error = call(&fail, json!({})).await.unwrap_err().0;
        assert!(error.contains("oops") && error.contains('3'), "{error}");
        let plain = Tool::command("plain", "", "echo sunny");
        assert_eq!(
            call(&plain, json!({})).await.unwrap(),
            json!({"result": "sunny"})
        );
        let number = Tool::command("n", "", "echo 42");
        assert_eq!(call(&number, json!({})).await.unwrap(), json!(42));
    }

    #[tokio::test]
    async fn a_dropped_call_kills_its_command() {
        let dir = std::env::temp_dir().join(format!("gemlive-tools-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("late");
        let slow = Tool::command("slow", "", format!("sleep 1; touch {}", marker.display()));
        let running = tokio::spawn(call(&slow, json!({})));
        tokio::time::sleep(Duration::from_millis(300)).await;
        running.abort();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let survived = marker.exists();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            !survived,
            "the command must be killed when its call is dropped"
        );
    }
}
