//! `cargo xtask fidelity [--strict-models] [DIR]`: how closely the emulator behaves like Google's
//! servers on the real sessions of the conformance corpus (`DIR/sessions/*.jsonl`, by default
//! `../shared/conformance`; without a corpus it prints one skip line).
//!
//! Every distinct session (copies marked `identical_bytes_to` or `same_server_frames_as` are
//! skipped) is replayed against an in-process emulator without pacing, on the session's backend
//! and endpoint. The recorded client frames are sent in order, each at the point where the
//! recording shows it: frames recorded before any server frame right after the setup (clients
//! that pipeline), the others once the emulator has sent as many `setupComplete`, `toolCall` and
//! `turnComplete` messages as Google had before them; a `toolResponse` gets the emulator's call
//! ids. After the last one, the emulator's frames are read until it closes or stays silent. Then
//! the two sides are compared by structure, not content:
//! - **outcome**: the setup accepted or refused, and for each client message the model turns
//!   that answered it and the function calls made. Where the recording stops before Google
//!   answered the last message that wants an answer (the client closed), the messages after
//!   Google's last answer are not compared;
//! - **kinds**: the sequence of message kinds (top-level keys; for `serverContent`, which fields
//!   are present, `{}` included), runs collapsed. Where the recording stops mid-turn, Google's
//!   sequence must be a prefix of the emulator's;
//! - **layout**: the kind sequence with each stretch of audio and transcript frames reduced to the
//!   kinds that open and close it (how often the two alternate follows the words said, which is
//!   content); a session whose kinds differ but whose layout matches is marked `layout`;
//! - **field paths**: the JSON paths Google sent that the emulator never sends, and the reverse
//!   (user data under `args` and `response` left out).
//!
//! The per-session table is checked against a reviewed insta snapshot (`cargo insta review`
//! after a change); the last line is the summary. `--show NAME` prints instead, for every session
//! whose name contains NAME, both whole kind sequences side by side, with run lengths.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use emulator::{Emulator, EmulatorConfig};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::corpus;

/// How long the emulator may stay silent before its answer counts as finished.
const QUIET: Duration = Duration::from_millis(1200);
/// The longest a session may take.
const SESSION_CAP: Duration = Duration::from_secs(60);

/// Runs the command: `args` are what follows `fidelity`; a relative `DIR` is from `cwd`, the
/// default is the corpus beside the checkout of `root`.
pub(crate) fn run(args: &[String], root: &Path, cwd: &Path) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask fidelity [--strict-models] [--show NAME] [DIR]";
    let mut strict = false;
    let mut dir = None;
    let mut show = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--strict-models" => strict = true,
            "--show" => show = Some(args.next().context(USAGE)?.clone()),
            a if a.starts_with('-') => bail!(USAGE),
            a => dir = Some(cwd.join(a)),
        }
    }
    let dir = dir.unwrap_or_else(|| corpus::default_dir(root));
    let Some(mut sessions) = load(&dir)? else {
        println!(
            "fidelity: skipped, no conformance corpus at {}",
            dir.join("sessions").display()
        );
        return Ok(());
    };
    if let Some(name) = show {
        sessions.retain(|s| s.name.contains(&name));
        if sessions.is_empty() {
            bail!("no session's name contains {name:?}");
        }
        let traces = replay_all(&sessions, strict)?;
        for (rec, trace) in sessions.iter().zip(&traces) {
            print!("{}", side_by_side(rec, trace));
        }
        return Ok(());
    }
    let report = report(&sessions, &replay_all(&sessions, strict)?);
    print!("{}", report.table);
    println!("{}", report.summary);
    let name = if strict {
        "fidelity-strict-models"
    } else {
        "fidelity"
    };
    check_snapshot(name, &report)
}

/// Compares the report with its reviewed snapshot (insta: a `.snap.new` to review when it differs).
fn check_snapshot(name: &str, report: &Report) -> Result<()> {
    let snapshot = format!("{}{}\n", report.table, report.summary);
    // insta reports a difference by printing it, then panicking; the panic itself says nothing more.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let checked = std::panic::catch_unwind(|| {
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, snapshot);
        });
    });
    std::panic::set_hook(hook);
    if checked.is_err() {
        bail!(
            "the {name} table differs from its reviewed snapshot (review it with `cargo insta review`)"
        );
    }
    Ok(())
}

/// Which API a session talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    GeminiApi,
    Vertex,
}

/// One frame of a recording.
#[derive(Debug, Clone)]
enum Frame {
    Client(Value),
    Server(Value),
}

/// A distinct recorded session.
#[derive(Debug)]
struct Recording {
    name: String,
    backend: Backend,
    frames: Vec<Frame>,
}

/// The distinct sessions of the corpus in `dir`, or `None` without a corpus.
fn load(dir: &Path) -> Result<Option<Vec<Recording>>> {
    let sessions = dir.join("sessions");
    let Ok(entries) = std::fs::read_dir(&sessions) else {
        return Ok(None);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let mut lines = text.lines();
        let header: Value = serde_json::from_str(lines.next().unwrap_or_default())
            .with_context(|| format!("{}: header", path.display()))?;
        let header = &header["header"];
        if header.get("identical_bytes_to").is_some()
            || header.get("same_server_frames_as").is_some()
        {
            continue;
        }
        let backend = match header["backend"].as_str() {
            Some("vertex") => Backend::Vertex,
            _ => Backend::GeminiApi,
        };
        let mut frames = Vec::new();
        for (n, line) in lines.enumerate() {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{}: line {}", path.display(), n + 2))?;
            let frame = v["frame"].clone();
            frames.push(match v["dir"].as_str() {
                Some("client") => Frame::Client(frame),
                _ => Frame::Server(frame),
            });
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push(Recording {
            name,
            backend,
            frames,
        });
    }
    Ok(Some(out))
}

/// The table, the path lists and the summary line.
#[derive(Debug)]
struct Report {
    table: String,
    summary: String,
}

/// Counts of the messages that client frames wait for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Milestones {
    setup: usize,
    tool_calls: usize,
    turns: usize,
}

impl Milestones {
    fn see(&mut self, frame: &Value) {
        if frame.get("setupComplete").is_some() {
            self.setup += 1;
        }
        if frame.get("toolCall").is_some() {
            self.tool_calls += 1;
        }
        if frame["serverContent"]["turnComplete"] == Value::Bool(true) {
            self.turns += 1;
        }
    }

    fn reached(&self, goal: &Self) -> bool {
        self.setup >= goal.setup && self.tool_calls >= goal.tool_calls && self.turns >= goal.turns
    }
}

/// A client frame and when to send it.
#[derive(Debug)]
struct Send {
    frame: Value,
    /// Recorded before any server frame: sent right after the setup, without waiting.
    pipelined: bool,
    /// What the emulator must have sent first.
    after: Milestones,
}

/// How the emulator's side of a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Silent once the client had nothing more to send; the client's close was answered.
    Clean,
    /// Silent, but the client's close got no close frame back.
    NoCloseEcho,
    /// The emulator closed with this code and reason.
    Closed(u16, String),
    /// The TCP connection ended without a close frame.
    Dropped,
}

/// What the emulator sent: server frames per client frame (index 0: after the setup).
#[derive(Debug)]
struct Trace {
    segments: Vec<Vec<Value>>,
    end: End,
}

/// Google's side: server frames per client frame, and whether it stops mid-turn.
#[derive(Debug)]
struct Expected {
    segments: Vec<Vec<Value>>,
    sends: Vec<Send>,
    /// Whether the recording stops before Google finished answering (the client closed).
    cut: bool,
}

fn expected(rec: &Recording) -> Expected {
    let mut segments: Vec<Vec<Value>> = Vec::new();
    let mut sends = Vec::new();
    let mut seen = Milestones::default();
    let mut any_server = false;
    let mut open = false;
    // Client messages still waiting for their answer: the setup's (`setupComplete`), the
    // input's (model output).
    let (mut setup_waits, mut input_waits) = (false, false);
    for frame in &rec.frames {
        match frame {
            Frame::Client(v) => {
                if v.get("setup").is_some() {
                    setup_waits = true;
                } else if wants_answer(v) {
                    input_waits = true;
                }
                sends.push(Send {
                    frame: v.clone(),
                    pipelined: !any_server,
                    after: seen,
                });
                segments.push(Vec::new());
            }
            Frame::Server(v) => {
                any_server = true;
                seen.see(v);
                if model_output(v) {
                    open = true;
                    input_waits = false;
                }
                if v.get("setupComplete").is_some() {
                    setup_waits = false;
                }
                if v["serverContent"]["turnComplete"] == Value::Bool(true) {
                    open = false;
                }
                if let Some(last) = segments.last_mut() {
                    last.push(v.clone());
                }
            }
        }
    }
    Expected {
        segments,
        sends,
        cut: open || setup_waits || input_waits,
    }
}

/// Whether a client message after the setup asks for an answer (a complete turn, input the
/// model answers).
fn wants_answer(frame: &Value) -> bool {
    let body = |k: &str| frame.get(k).or_else(|| frame.get(snake(k)));
    if let Some(c) = body("clientContent") {
        return c.get("turnComplete").or_else(|| c.get("turn_complete"))
            == Some(&Value::Bool(true));
    }
    if let Some(r) = body("realtimeInput") {
        return [
            "text",
            "audio",
            "mediaChunks",
            "media_chunks",
            "activityEnd",
            "activity_end",
        ]
        .iter()
        .any(|k| r.get(*k).is_some());
    }
    body("toolResponse").is_some()
}

fn snake(camel: &str) -> &'static str {
    match camel {
        "clientContent" => "client_content",
        "realtimeInput" => "realtime_input",
        _ => "tool_response",
    }
}

/// Whether a server frame is (part of) a model turn.
fn model_output(frame: &Value) -> bool {
    let sc = &frame["serverContent"];
    frame.get("toolCall").is_some()
        || [
            "modelTurn",
            "outputTranscription",
            "generationComplete",
            "turnComplete",
            "interrupted",
            "groundingMetadata",
        ]
        .iter()
        .any(|k| sc.get(k).is_some())
}

/// Replays every session against one emulator.
fn replay_all(sessions: &[Recording], strict: bool) -> Result<Vec<Trace>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start a tokio runtime")?;
    let traces = runtime.block_on(async {
        let emulator = Emulator::start(EmulatorConfig {
            speed: f64::INFINITY,
            strict_models: strict,
            max_sessions: 1024,
            ..EmulatorConfig::default()
        })
        .await
        .context("start the emulator")?;
        let emulator = std::sync::Arc::new(emulator);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, rec) in sessions.iter().enumerate() {
            let emulator = emulator.clone();
            let expected = expected(rec);
            let backend = rec.backend;
            let name = rec.name.clone();
            tasks.spawn(async move {
                let trace =
                    tokio::time::timeout(SESSION_CAP, replay(&emulator, backend, &name, &expected))
                        .await;
                (i, trace)
            });
        }
        let mut traces: Vec<Option<Trace>> = sessions.iter().map(|_| None).collect();
        while let Some(done) = tasks.join_next().await {
            let (i, trace) = done.context("a session task panicked")?;
            let trace = trace
                .map_err(|_| anyhow::anyhow!("{}: no end after {SESSION_CAP:?}", sessions[i].name))?
                .with_context(|| sessions[i].name.clone())?;
            traces[i] = Some(trace);
        }
        if let Ok(emulator) = std::sync::Arc::try_unwrap(emulator) {
            emulator.shutdown().await;
        }
        anyhow::Ok(traces.into_iter().flatten().collect::<Vec<_>>())
    })?;
    Ok(traces)
}

/// Connects like the recorded client and plays its side.
async fn replay(
    emulator: &Emulator,
    backend: Backend,
    name: &str,
    expected: &Expected,
) -> Result<Trace> {
    let setup = &expected.sends[0].frame;
    let mut request = match backend {
        Backend::Vertex => {
            let url = format!(
                "{}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
                emulator.base_url()
            );
            let mut r = url.into_client_request()?;
            r.headers_mut()
                .insert("authorization", HeaderValue::from_static("Bearer fidelity"));
            r
        }
        Backend::GeminiApi if name.contains("EphemeralToken") => {
            let token = mint_token(emulator).await?;
            format!(
                "{}/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token={token}",
                emulator.base_url()
            )
            .into_client_request()?
        }
        Backend::GeminiApi => {
            let alpha = ["proactivity", "enableAffectiveDialog"]
                .iter()
                .any(|k| setup.to_string().contains(k));
            let version = if alpha { "v1alpha" } else { "v1beta" };
            format!(
                "{}/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent?key=fidelity",
                emulator.base_url()
            )
            .into_client_request()?
        }
    };
    request
        .headers_mut()
        .insert("user-agent", HeaderValue::from_static("gemlive-fidelity"));
    let (mut ws, _) = async_tungstenite::tokio::connect_async(request)
        .await
        .context("connect to the emulator")?;
    let mut segments: Vec<Vec<Value>> = vec![Vec::new(); expected.sends.len()];
    let mut seen = Milestones::default();
    // Google's call ids in order, and ours, for the toolResponse rewrite.
    let google_ids: Vec<String> = expected
        .segments
        .iter()
        .flatten()
        .flat_map(call_ids)
        .collect();
    let mut our_ids: Vec<String> = Vec::new();
    let mut end = None;
    for (i, send) in expected.sends.iter().enumerate() {
        if i > 0 && !send.pipelined {
            while end.is_none() && !seen.reached(&send.after) {
                match next(&mut ws).await {
                    Next::Frame(v) => {
                        seen.see(&v);
                        our_ids.extend(call_ids(&v));
                        segments[i - 1].push(v);
                    }
                    Next::Quiet => break,
                    Next::End(e) => end = Some(e),
                }
            }
        }
        if end.is_some() {
            break;
        }
        let frame = rewrite_ids(&send.frame, &google_ids, &our_ids);
        if ws
            .send(Message::Text(Utf8Bytes::from(frame.to_string())))
            .await
            .is_err()
        {
            end = Some(End::Dropped);
            break;
        }
    }
    let last = expected.sends.len() - 1;
    while end.is_none() {
        match next(&mut ws).await {
            Next::Frame(v) => {
                our_ids.extend(call_ids(&v));
                segments[last].push(v);
            }
            Next::Quiet => break,
            Next::End(e) => end = Some(e),
        }
    }
    let end = match end {
        Some(e) => e,
        None => close(&mut ws).await,
    };
    Ok(Trace { segments, end })
}

enum Next {
    Frame(Value),
    Quiet,
    End(End),
}

type Ws = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;

async fn next(ws: &mut Ws) -> Next {
    loop {
        let Ok(msg) = tokio::time::timeout(QUIET, ws.next()).await else {
            return Next::Quiet;
        };
        let bytes = match msg {
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Next::End(End::Closed(code, reason));
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Next::End(End::Dropped),
        };
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String("<not JSON>".to_owned()));
        return Next::Frame(v);
    }
}

/// Closes as a client does (1000) and reports whether the emulator answered the close.
async fn close(ws: &mut Ws) -> End {
    if ws.close(None).await.is_err() {
        return End::NoCloseEcho;
    }
    let echoed = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
                Some(Err(async_tungstenite::tungstenite::Error::ConnectionClosed)) => return true,
                Some(Err(_)) | None => return false,
            }
        }
    })
    .await;
    if echoed == Ok(true) {
        End::Clean
    } else {
        End::NoCloseEcho
    }
}

/// `POST /v1alpha/auth_tokens` on the emulator: the name of a fresh ephemeral token.
async fn mint_token(emulator: &Emulator) -> Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(emulator.local_addr()).await?;
    let body = "{}";
    let head = format!(
        "POST /v1alpha/auth_tokens HTTP/1.1\r\nHost: {}\r\nx-goog-api-key: fidelity\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emulator.local_addr(),
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await?;
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let v: Value = serde_json::from_str(json).context("the token endpoint's answer")?;
    v["name"]
        .as_str()
        .map(str::to_owned)
        .context("a token name in the token endpoint's answer")
}

fn call_ids(frame: &Value) -> Vec<String> {
    frame["toolCall"]["functionCalls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A `toolResponse` answering Google's n-th call answers the emulator's n-th call instead.
fn rewrite_ids(frame: &Value, google: &[String], ours: &[String]) -> Value {
    let mut frame = frame.clone();
    let bodies = ["toolResponse", "tool_response"]
        .iter()
        .filter_map(|k| frame.get(*k).map(|_| *k))
        .collect::<Vec<_>>();
    for key in bodies {
        let body = &mut frame[key];
        let field = if body.get("functionResponses").is_some() {
            "functionResponses"
        } else {
            "function_responses"
        };
        let Some(responses) = body.get_mut(field).and_then(Value::as_array_mut) else {
            continue;
        };
        for r in responses {
            let Some(id) = r.get("id").and_then(Value::as_str) else {
                continue;
            };
            if let Some(n) = google.iter().position(|g| g == id)
                && let Some(mine) = ours.get(n)
            {
                r["id"] = Value::String(mine.clone());
            }
        }
    }
    frame
}

/// The kind of a server frame: its top-level keys, `serverContent` with the fields present.
fn kind(frame: &Value) -> String {
    let Some(obj) = frame.as_object() else {
        return "<not JSON>".to_owned();
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .into_iter()
        .map(|k| match (k.as_str(), &obj[k]) {
            ("serverContent", Value::Object(sc)) => {
                let mut fields: Vec<&str> = sc.keys().map(String::as_str).collect();
                fields.sort_unstable();
                format!("serverContent{{{}}}", fields.join(","))
            }
            _ => k.clone(),
        })
        .collect();
    if parts.is_empty() {
        "{}".to_owned()
    } else {
        parts.join("+")
    }
}

/// Whether a kind is a frame of spoken or written output (audio, its transcript, or both).
fn output_kind(kind: &str) -> bool {
    matches!(
        kind,
        "serverContent{modelTurn}"
            | "serverContent{modelTurn,outputTranscription}"
            | "serverContent{outputTranscription}"
    )
}

/// A kind sequence (runs collapsed) as a layout: every stretch of output frames of more than one
/// kind becomes its first kind, `…` and its last kind. How often audio frames with and without
/// a transcript fragment alternate follows the words said and their timing, which is content;
/// which kinds open and close the stretch, and what comes between stretches, is layout.
fn layout(kinds: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < kinds.len() {
        let len = kinds[i..]
            .iter()
            .take_while(|k| output_kind(k))
            .count()
            .max(1);
        out.push(kinds[i].clone());
        if len > 1 {
            out.push("…".to_owned());
            out.push(kinds[i + len - 1].clone());
        }
        i += len;
    }
    out
}

/// Kinds with the length of each run.
fn runs<'a>(frames: impl Iterator<Item = &'a Value>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for k in frames.map(kind) {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// Both whole kind sequences of a session, a run per line, Google's on the left.
fn side_by_side(rec: &Recording, trace: &Trace) -> String {
    let exp = expected(rec);
    let google = runs(exp.segments.iter().flatten());
    let ours = runs(trace.segments.iter().flatten());
    let cell = |r: Option<&(String, usize)>| r.map_or(String::new(), |(k, n)| format!("{k} x{n}"));
    let width = google
        .iter()
        .map(|r| cell(Some(r)).len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = format!("{}\n  {:<width$}  emulator\n", rec.name, "google");
    for i in 0..google.len().max(ours.len()) {
        let (g, o) = (google.get(i), ours.get(i));
        let mark = if g.map(|r| &r.0) == o.map(|r| &r.0) {
            ' '
        } else {
            '*'
        };
        let _ = writeln!(out, "{mark} {:<width$}  {}", cell(g), cell(o));
    }
    out
}

/// Kinds with runs collapsed.
fn kinds<'a>(frames: impl Iterator<Item = &'a Value>) -> Vec<String> {
    runs(frames).into_iter().map(|(k, _)| k).collect()
}

/// Every JSON path in a server frame (`[]` for array elements, `{}` for an empty object), user
/// data under `args` and `response` left out.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) if o.is_empty() => {
            out.insert(format!("{prefix}{{}}"));
        }
        Value::Object(o) => {
            for (k, x) in o {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if matches!(k.as_str(), "args" | "response") {
                    out.insert(p);
                } else {
                    paths(x, &p, out);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                paths(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

/// Setup accepted or not, and per client message the turns answered and calls made.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    /// `None`: the recording stops before the setup was answered.
    accepted: Option<bool>,
    turns: Vec<usize>,
    calls: Vec<usize>,
}

/// `refused`: the connection ended (the emulator's side; Google's closes are not recorded).
fn outcome(segments: &[Vec<Value>], compared: usize, refused: bool) -> Outcome {
    let accepted = if segments
        .iter()
        .flatten()
        .any(|f| f.get("setupComplete").is_some())
    {
        Some(true)
    } else if refused {
        Some(false)
    } else {
        None
    };
    let mut turns = Vec::new();
    let mut calls = Vec::new();
    for seg in segments.iter().take(compared) {
        let completed = seg
            .iter()
            .filter(|f| f["serverContent"]["turnComplete"] == Value::Bool(true))
            .count();
        let answered = usize::from(seg.iter().any(model_output));
        turns.push(completed.max(answered));
        calls.push(seg.iter().map(|f| call_ids(f).len()).sum());
    }
    Outcome {
        accepted,
        turns,
        calls,
    }
}

impl Outcome {
    fn describe(&self, end: Option<&End>) -> String {
        let setup = match (self.accepted, end) {
            (Some(false), Some(End::Closed(code, _))) => return format!("refused {code}"),
            (Some(false), _) => return "refused".to_owned(),
            (None, _) => return "no answer".to_owned(),
            (Some(true), _) => "ok",
        };
        let turns: usize = self.turns.iter().sum();
        let calls: usize = self.calls.iter().sum();
        let mut s = format!("{setup} {turns}t");
        if calls > 0 {
            let _ = write!(s, " {calls}c");
        }
        s
    }
}

fn report(sessions: &[Recording], traces: &[Trace]) -> Report {
    let width = sessions.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<width$} {:<6} {:<10} {:<10} {:<9} close",
        "session", "api", "google", "emulator", "kinds"
    );
    let (mut same_outcome, mut same_kinds, mut same_layout) = (0, 0, 0);
    let mut google_paths = BTreeSet::new();
    let mut our_paths = BTreeSet::new();
    let mut differences = String::new();
    for (rec, trace) in sessions.iter().zip(traces) {
        let exp = expected(rec);
        // A recording that stops before Google answered the last client messages does not
        // compare them.
        let compared = if exp.cut {
            exp.segments
                .iter()
                .rposition(|s| s.iter().any(model_output))
                .map_or(0, |i| i + 1)
        } else {
            exp.segments.len()
        };
        let google = outcome(&exp.segments, compared, false);
        let refused = matches!(trace.end, End::Closed(..) | End::Dropped);
        let ours = outcome(&trace.segments, compared, refused);
        let outcome_ok = ours.turns == google.turns
            && ours.calls == google.calls
            && google.accepted.is_none_or(|a| ours.accepted == Some(a));
        let g_kinds = kinds(exp.segments.iter().flatten());
        let o_kinds = kinds(trace.segments.iter().flatten());
        let kinds_ok = if exp.cut {
            o_kinds.starts_with(&g_kinds)
        } else {
            o_kinds == g_kinds
        };
        let (g_layout, o_layout) = (layout(&g_kinds), layout(&o_kinds));
        let layout_ok = if exp.cut {
            // Google's last stretch was cut where the client closed: its end says nothing.
            let whole = if g_layout.len() >= 2 && g_layout[g_layout.len() - 2] == "…" {
                &g_layout[..g_layout.len() - 2]
            } else {
                &g_layout[..]
            };
            o_layout.starts_with(whole)
        } else {
            o_layout == g_layout
        };
        same_outcome += usize::from(outcome_ok);
        same_kinds += usize::from(kinds_ok);
        same_layout += usize::from(kinds_ok || layout_ok);
        for f in exp.segments.iter().flatten() {
            paths(f, "", &mut google_paths);
        }
        for f in trace.segments.iter().flatten() {
            paths(f, "", &mut our_paths);
        }
        let kinds_cell = match (kinds_ok, exp.cut, layout_ok) {
            (true, false, _) => "same",
            (true, true, _) => "prefix",
            (false, _, true) => "layout",
            (false, _, false) => "DIFFERENT",
        };
        let close = match &trace.end {
            End::Clean => "clean".to_owned(),
            End::NoCloseEcho => "no echo".to_owned(),
            End::Closed(code, _) => format!("{code}"),
            End::Dropped => "dropped".to_owned(),
        };
        let _ = writeln!(
            table,
            "{:<width$} {:<6} {:<10} {:<10} {:<9} {close}{}",
            rec.name,
            match rec.backend {
                Backend::GeminiApi => "gemini",
                Backend::Vertex => "vertex",
            },
            google.describe(None),
            ours.describe(Some(&trace.end)),
            kinds_cell,
            if outcome_ok { "" } else { "  OUTCOME DIFFERS" },
        );
        if !kinds_ok {
            let at = g_kinds
                .iter()
                .zip(&o_kinds)
                .position(|(g, o)| g != o)
                .unwrap_or_else(|| g_kinds.len().min(o_kinds.len()));
            let show = |k: &[String]| {
                let from = at.saturating_sub(1);
                let to = (at + 3).min(k.len());
                let mut s = k.get(from..to).unwrap_or_default().join(" ");
                if to < k.len() {
                    s.push_str(" ...");
                }
                if s.is_empty() {
                    s.push_str("(end)");
                }
                s
            };
            let _ = writeln!(
                differences,
                "{}: kind {at} of {} (google) / {} (emulator)\n  google:   {}\n  emulator: {}",
                rec.name,
                g_kinds.len(),
                o_kinds.len(),
                show(&g_kinds),
                show(&o_kinds)
            );
        }
    }
    let missing: Vec<&String> = google_paths.difference(&our_paths).collect();
    let extra: Vec<&String> = our_paths.difference(&google_paths).collect();
    let _ = writeln!(table, "\nkind sequences that differ:\n{differences}");
    let _ = writeln!(table, "Google's field paths the emulator never sends:");
    for p in &missing {
        let _ = writeln!(table, "  {p}");
    }
    let _ = writeln!(
        table,
        "field paths the emulator sends that Google never did:"
    );
    for p in &extra {
        let _ = writeln!(table, "  {p}");
    }
    table.push('\n');
    let _ = writeln!(
        table,
        "layout: {same_layout} of {} sessions match Google's kind sequence as a layout (`layout` above: \
         the same but for how often audio frames with and without a transcript fragment alternate)\n",
        sessions.len()
    );
    let summary = format!(
        "fidelity: {} sessions, {same_outcome} matching outcome, {same_kinds} matching kind sequence, {} of Google's field paths missing, {} extra",
        sessions.len(),
        missing.len(),
        extra.len()
    );
    Report { table, summary }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_collapse_runs_and_name_server_content_fields() {
        let frames = [
            json!({"setupComplete": {}}),
            json!({"serverContent": {}}),
            json!({"serverContent": {"modelTurn": {}}}),
            json!({"serverContent": {"modelTurn": {}}}),
            json!({"serverContent": {"turnComplete": true, "groundingMetadata": {}}, "usageMetadata": {}}),
        ];
        assert_eq!(
            kinds(frames.iter()),
            [
                "setupComplete",
                "serverContent{}",
                "serverContent{modelTurn}",
                "serverContent{groundingMetadata,turnComplete}+usageMetadata"
            ]
        );
        let mut p = BTreeSet::new();
        paths(
            &json!({"toolCall": {"functionCalls": [{"id": "x", "args": {"city": "Paris"}}]}, "setupComplete": {}}),
            "",
            &mut p,
        );
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            [
                "setupComplete{}",
                "toolCall.functionCalls[].args",
                "toolCall.functionCalls[].id"
            ]
        );
    }

    #[test]
    fn a_layout_keeps_how_a_stretch_of_output_opens_and_ends_not_its_length() {
        let k = |s: &str| -> Vec<String> { s.split(' ').map(str::to_owned).collect() };
        let (audio, with_text, text) = (
            "serverContent{modelTurn}",
            "serverContent{modelTurn,outputTranscription}",
            "serverContent{outputTranscription}",
        );
        let long = k(&format!(
            "setupComplete {with_text} {audio} {with_text} {audio} sessionResumptionUpdate {audio} {with_text} serverContent{{generationComplete}}"
        ));
        let short = k(&format!(
            "setupComplete {with_text} {audio} sessionResumptionUpdate {audio} {with_text} serverContent{{generationComplete}}"
        ));
        assert_eq!(layout(&long), layout(&short));
        assert_eq!(
            layout(&long),
            k(&format!(
                "setupComplete {with_text} … {audio} sessionResumptionUpdate {audio} … {with_text} serverContent{{generationComplete}}"
            ))
        );
        // Which kind opens or ends the stretch is layout.
        let ends_with_text = k(&format!("{text} {audio} {text}"));
        assert_ne!(
            layout(&ends_with_text),
            layout(&k(&format!("{text} {audio}")))
        );
        assert_eq!(layout(&k(audio)), k(audio));
    }

    #[test]
    fn tool_responses_answer_the_emulators_calls() {
        let frame = json!({"toolResponse": {"functionResponses": [{"id": "g2", "response": {}}, {"id": "other"}]}});
        let out = rewrite_ids(
            &frame,
            &["g1".into(), "g2".into()],
            &["e1".into(), "e2".into()],
        );
        assert_eq!(
            out,
            json!({"toolResponse": {"functionResponses": [{"id": "e2", "response": {}}, {"id": "other"}]}})
        );
    }

    /// The reviewed tables, under plain `cargo test` (skipped without a corpus).
    #[test]
    fn corpus_tables_match_their_snapshots() {
        // The corpus rule of `corpus.rs`: required when named (`cargo xtask ci` names it).
        let named = std::env::var_os(corpus::ENV).map(PathBuf::from);
        let dir = named.clone().unwrap_or_else(|| {
            corpus::default_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap())
        });
        let Some(sessions) = load(&dir).unwrap() else {
            assert!(
                named.is_none(),
                "no conformance corpus at {}",
                dir.display()
            );
            eprintln!("skipped: no conformance corpus at {}", dir.display());
            return;
        };
        for (strict, name) in [(false, "fidelity"), (true, "fidelity-strict-models")] {
            let report = report(&sessions, &replay_all(&sessions, strict).unwrap());
            check_snapshot(name, &report).unwrap();
        }
    }
}
