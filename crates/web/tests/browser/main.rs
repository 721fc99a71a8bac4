//! `gemlive web` in a real browser: headless Chromium (driven through chromedriver) with a fake
//! microphone playing a spoken WAV, against the emulator, in both connection modes.
//!
//! One browser serves every case, in order. Without `chromium`, `chromedriver`, `espeak-ng` or
//! `sox` the cases are skipped with a message, unless `GEMLIVE_CI=1`, where that is a failure.
//! Filter cases with a substring: `cargo test -p gemlive-web --test browser -- relay`.
//!
//! Each passing conversation leaves a screenshot in `target/tmp/gemlive-web-<mode>.png`.

mod webdriver;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use emulator::{Emulator, EmulatorConfig, Script};
use gemlive_web::gemlive::{Client, Secret};
use gemlive_web::tools::{Tool, Tools};
use gemlive_web::{Upstream, WebConfig, WebServer};
use webdriver::Browser;

/// What the fake microphone says: a question, a pause in which the answer starts, then the user
/// talks over the answer.
const QUESTION: &str = "What is the weather like today?";
const BARGE_IN: &str = "Wait. Stop, please.";
/// Silence before the question and between the question and the barge-in (seconds).
const LEAD: f64 = 0.4;
const GAP: f64 = 1.6;
/// A generous bound for one spoken exchange at real-time pace.
const TURN: Duration = Duration::from_secs(20);

struct World {
    browser: Browser,
    /// Its emulator records every connection's frames in `frames`, drops the connection on a
    /// turn that asks it to ("drop the line", once per session), and its relay answers
    /// `get_local_time` itself.
    server: WebServer,
    frames: PathBuf,
    /// A server whose emulator ends every connection after a few seconds (with a goAway).
    short_lived: WebServer,
    runtime: tokio::runtime::Runtime,
    emulators: Vec<Emulator>,
}

/// The short-lived emulator's connections: a goAway after 2 s, the end after 10 s; clients move
/// to a new connection once the model's turn is over.
const LIFETIME: Duration = Duration::from_secs(10);

type Case = fn(&World) -> Result<(), String>;

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cases: &[(&str, Case)] = &[
        (
            "relay_spoken_question_is_transcribed_answered_and_cut_off",
            |w| spoken(w, "relay"),
        ),
        ("relay_typed_question_survives_a_reload", |w| {
            typed_then_reload(w, "relay")
        }),
        (
            "direct_spoken_question_is_transcribed_answered_and_cut_off",
            |w| spoken(w, "direct"),
        ),
        ("direct_typed_question_survives_a_reload", |w| {
            typed_then_reload(w, "direct")
        }),
        ("relay_is_refused_from_a_foreign_origin", foreign_origin),
        ("relay_tool_calls_are_shown_and_answered", tool_call),
        ("relay_refusal_is_explained_in_words", explained_close),
        ("relay_push_to_talk_brackets_the_question", push_to_talk),
        ("relay_camera_frames_reach_the_model", |w| {
            video(w, "camera")
        }),
        ("relay_conversation_outlives_its_connections", |w| {
            survives(w, "relay")
        }),
        ("direct_conversation_outlives_its_connections", |w| {
            survives(w, "direct")
        }),
        (
            "relay_server_tools_are_shown_with_their_results",
            server_tool,
        ),
        ("relay_settings_reach_the_setup", |w| settings(w, "relay")),
        ("direct_settings_reach_the_setup", |w| settings(w, "direct")),
        ("relay_screen_frames_reach_the_model", |w| {
            video(w, "screen")
        }),
        ("relay_dropped_connection_is_repaired_in_words", |w| {
            dropped(w, "relay")
        }),
        ("direct_dropped_connection_is_repaired_in_words", |w| {
            dropped(w, "direct")
        }),
        ("relay_restarted_server_is_resumed_by_the_page", restarted),
    ];
    let selected: Vec<_> = cases
        .iter()
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    if selected.is_empty() {
        finish(0, 0, 0, Instant::now());
    }
    if let Some(missing) = missing_tools() {
        if std::env::var("GEMLIVE_CI").is_ok_and(|v| v == "1") {
            eprintln!(
                "browser tests: {missing} is missing (CI must install chromium, chromium-driver, espeak-ng and sox)"
            );
            std::process::exit(1);
        }
        eprintln!(
            "browser tests SKIPPED: {missing} is not installed (apt-get install chromium chromium-driver espeak-ng sox)"
        );
        for (name, _) in &selected {
            println!("test {name} ... ignored, {missing} missing");
        }
        finish(0, 0, selected.len(), Instant::now());
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mic = dir.path().join("mic.wav");
    let world = match speech_wav(dir.path(), &mic).and_then(|()| World::start(dir.path(), &mic)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("cannot set up the browser tests: {e}");
            drop(dir);
            std::process::exit(1);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in &selected {
        let t = Instant::now();
        match case(&world) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.1} s)", t.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {e}");
            }
        }
    }
    world.stop();
    drop(dir);
    finish(passed, failed, 0, started);
}

fn finish(passed: usize, failed: usize, ignored: usize, started: Instant) -> ! {
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(failed > 0));
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn missing_tools() -> Option<String> {
    if !Path::new("/usr/bin/chromium").is_file() {
        return Some("/usr/bin/chromium".into());
    }
    ["chromedriver", "espeak-ng", "sox"]
        .into_iter()
        .find(|t| !on_path(t))
        .map(str::to_owned)
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The microphone's WAV (48 kHz mono PCM16): silence, the question, a pause, the barge-in,
/// silence; spoken by espeak-ng, assembled and checked by sox.
fn speech_wav(dir: &Path, out: &Path) -> Result<(), String> {
    let (q, b, qp) = (dir.join("q.wav"), dir.join("b.wav"), dir.join("qp.wav"));
    run(Command::new("espeak-ng")
        .args(["-s", "170", "-w"])
        .arg(&q)
        .arg(QUESTION))?;
    run(Command::new("espeak-ng")
        .args(["-s", "170", "-w"])
        .arg(&b)
        .arg(BARGE_IN))?;
    run(Command::new("sox")
        .arg(&q)
        .arg(&qp)
        .args(["pad", &LEAD.to_string(), &GAP.to_string()]))?;
    run(Command::new("sox")
        .arg(&qp)
        .arg(&b)
        .args(["-r", "48000", "-c", "1", "-b", "16"])
        .arg(out)
        .args(["pad", "0", "6"]))?;
    let stat = run(Command::new("sox").arg(out).args(["-n", "stat"]))?;
    let field = |name: &str| -> f64 {
        stat.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let (length, rms) = (field("Length (seconds)"), field("RMS     amplitude"));
    if length < 5.0 || rms < 0.01 {
        return Err(format!(
            "the speech WAV looks wrong: {length} s, RMS {rms}\n{stat}"
        ));
    }
    Ok(())
}

impl World {
    fn start(dir: &Path, mic: &Path) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let serve = |config: EmulatorConfig, tools: Tools| async move {
            let emulator = Emulator::start(config).await.map_err(|e| e.to_string())?;
            let client = Client::endpoint(&emulator.http_url())
                .map_err(|e| e.to_string())?
                .with_api_key("emulator");
            let mut config = WebConfig::new(Upstream::new(client));
            config.tools = tools;
            let server = WebServer::start(config).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((emulator, server))
        };
        let frames = dir.join("frames");
        std::fs::create_dir(&frames).map_err(|e| e.to_string())?;
        let drop_rule = r#"{"rules": [{"when": {"contains": "drop the line"}, "once": true, "fault": "drop"}]}"#;
        let main = EmulatorConfig {
            record_dir: Some(frames.clone()),
            script: Some(Script::from_json(drop_rule, dir).map_err(|e| e.to_string())?),
            ..EmulatorConfig::default()
        };
        let ((emulator, server), (short_emulator, short_lived)) = runtime.block_on(async {
            let short = EmulatorConfig {
                connection_lifetime: LIFETIME,
                go_away_notice: Duration::from_secs(8),
                ..EmulatorConfig::default()
            };
            Ok::<_, String>((
                serve(main, Tools::new().with(local_time())).await?,
                serve(short, Tools::new()).await?,
            ))
        })?;
        let profile = dir.join("chromium-profile");
        let browser = Browser::start(&profile, mic)?;
        Ok(Self {
            browser,
            server,
            frames,
            short_lived,
            runtime,
            emulators: vec![emulator, short_emulator],
        })
    }

    fn stop(self) {
        drop(self.browser);
        self.runtime.block_on(async {
            self.server.shutdown().await;
            self.short_lived.shutdown().await;
            for e in self.emulators {
                e.shutdown().await;
            }
        });
    }

    /// Opens the page afresh (no stored conversation) and picks the mode and microphone.
    fn fresh_page(&self, mode: &str, mic: &str) -> Result<(), String> {
        self.fresh_page_of(&self.server, mode, mic)
    }

    fn fresh_page_of(&self, server: &WebServer, mode: &str, mic: &str) -> Result<(), String> {
        let b = &self.browser;
        b.goto(&server.url())?;
        b.eval("sessionStorage.clear(); localStorage.clear(); return true;")?;
        b.goto(&server.url())?;
        b.wait_for(
            "window.gemlive && window.gemlive.ready",
            Duration::from_secs(10),
        )?;
        b.eval(&format!(
            "document.querySelector('input[name=mode][value={mode}]').click();
             document.querySelector('input[name=mic][value={mic}]').click();
             document.getElementById('vad').value = 'high';
             return true;"
        ))?;
        Ok(())
    }

    fn connect(&self) -> Result<(), String> {
        self.browser
            .eval("document.getElementById('connect').click(); return true;")?;
        self.browser
            .wait_for("window.gemlive.stats.ready", Duration::from_secs(15))
            .map(drop)
    }

    fn disconnect(&self) -> Result<(), String> {
        self.browser
            .eval("document.getElementById('disconnect').click(); return true;")?;
        self.browser
            .wait_for("!window.gemlive.stats.ready", Duration::from_secs(10))
            .map(drop)
    }

    /// Types `text` in the message box and sends it.
    fn ask(&self, text: &str) -> Result<(), String> {
        self.browser
            .eval(&format!(
                "const t = document.getElementById('text'); t.value = {text:?};
                 document.getElementById('send').click(); return true;"
            ))
            .map(drop)
    }

    fn log_text(&self) -> Result<String, String> {
        self.browser
            .eval("return document.getElementById('log').innerText;")
            .map(|v| v.as_str().unwrap_or_default().to_owned())
    }

    fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self.browser.screenshot()?;
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gemlive-web-{name}.png"));
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok(path)
    }
}

/// The spoken question through the fake microphone: its transcript and the answer's appear, the
/// answer is heard, and talking over it silences it within 100 ms of `interrupted`.
fn spoken(w: &World, mode: &str) -> Result<(), String> {
    w.fresh_page(mode, "open")?;
    w.connect()?;
    let b = &w.browser;
    b.wait_for(
        "window.gemlive.stats.inputTranscripts.join('').includes('[speech:')",
        TURN,
    )?;
    b.wait_for(
        "window.gemlive.stats.outputTranscripts.join('').includes('I heard')",
        TURN,
    )?;
    b.wait_for("window.gemlive.stats.speakerPeak > 0.05", TURN)?;
    // The meters moved: the microphone's while the question was spoken, the speaker's while the
    // answer played.
    let meters = b.eval("return window.gemlive.stats.meters;")?;
    if meters["mic"].as_f64().unwrap_or(0.0) < 0.05
        || meters["speaker"].as_f64().unwrap_or(0.0) < 0.05
    {
        return Err(format!("the level meters stayed still: {meters}"));
    }
    let cut = b.wait_for(
        "window.gemlive.stats.interrupts.find(i => i.cutMs !== null)",
        TURN,
    )?;
    // The answer was under way and audible just before the interruption.
    let heard_before = cut["heardMsBefore"].as_f64().unwrap_or(f64::INFINITY);
    if cut["wasPlaying"] != true || heard_before > 300.0 {
        return Err(format!(
            "the answer was not playing when it was interrupted: {cut}"
        ));
    }
    let cut_ms = cut["cutMs"].as_f64().unwrap_or(f64::INFINITY);
    if cut_ms >= 100.0 {
        return Err(format!("playback went on {cut_ms} ms after `interrupted`"));
    }
    // The barge-in is a turn of its own and gets its answer, heard in full.
    b.wait_for("window.gemlive.stats.turns >= 2", TURN)?;
    let played = b.eval("return window.gemlive.stats.playedSamples / 24000;")?;
    if played.as_f64().unwrap_or(0.0) < 0.5 {
        return Err(format!("only {played} s of the answers were played"));
    }
    let log = w.log_text()?;
    if !log.contains("I heard") || !log.contains("[speech:") {
        return Err(format!("the log does not show the exchange:\n{log}"));
    }
    // The download: transcript and both sides' audio (a zip of stored files).
    let zip = b.eval_async(
        "const done = arguments[arguments.length - 1];
         window.gemlive.conversationZip().arrayBuffer().then(buf => {
           const text = new TextDecoder('latin1').decode(buf);
           done({size: buf.byteLength, names: ['transcript.txt', 'you-16k.wav', 'gemini-24k.wav']
             .filter(n => text.includes(n)).length, heard: text.includes('I heard')});
         });",
    )?;
    // Several seconds of 16 kHz microphone audio and of 24 kHz replies.
    if zip["names"] != 3 || zip["heard"] != true || zip["size"].as_u64().unwrap_or(0) < 200_000 {
        return Err(format!("the conversation's download is incomplete: {zip}"));
    }
    let shot = w.screenshot(mode)?;
    println!(
        "    screenshot: {} (heard {heard_before:.0} ms before `interrupted`, silent {cut_ms:.1} ms after)",
        shot.display()
    );
    w.disconnect()
}

/// A typed question gets an answer; after a reload the page resumes the same conversation.
fn typed_then_reload(w: &World, mode: &str) -> Result<(), String> {
    w.fresh_page(mode, "off")?;
    w.connect()?;
    let b = &w.browser;
    w.ask("What is the capital of France?")?;
    b.wait_for("window.gemlive.stats.turns >= 1", TURN)?;
    b.wait_for(
        "JSON.parse(sessionStorage.getItem('gemlive.conversation')).handle",
        TURN,
    )?;
    b.goto(&w.server.url())?;
    b.wait_for(
        "window.gemlive && window.gemlive.ready",
        Duration::from_secs(10),
    )?;
    b.wait_for(
        "!document.getElementById('resume-offer').hidden",
        Duration::from_secs(5),
    )?;
    let before = w.log_text()?;
    if !before.contains("capital of France") {
        return Err(format!(
            "the reloaded page lost the conversation:\n{before}"
        ));
    }
    b.eval("document.getElementById('resume').click(); return true;")?;
    b.wait_for("window.gemlive.stats.ready", Duration::from_secs(15))?;
    if b.eval("return window.gemlive.stats.resumed;")? != true {
        return Err("the session did not resume".into());
    }
    w.ask("What was my last question?")?;
    b.wait_for(
        "document.getElementById('log').innerText.includes('Your last question was: \"What is the capital of France?\"')",
        TURN,
    )?;
    w.disconnect()
}

/// A demo tool call appears as it happens, and the page's answer reaches the model.
fn tool_call(w: &World) -> Result<(), String> {
    w.fresh_page("relay", "off")?;
    w.browser
        .eval("document.getElementById('demo-tools').checked = true; return true;")?;
    w.connect()?;
    let b = &w.browser;
    w.ask("What is the weather in Paris?")?;
    b.wait_for("document.querySelector('li.entry.tool button')", TURN)?;
    let call = w.log_text()?;
    if !call.contains("get_weather") || !call.contains("Paris") {
        return Err(format!("the tool call is not shown:\n{call}"));
    }
    b.eval("document.querySelector('li.entry.tool button').click(); return true;")?;
    b.wait_for("window.gemlive.stats.turns >= 1", TURN)?;
    b.wait_for(
        "document.querySelectorAll('li.entry.model').length >= 1",
        TURN,
    )?;
    w.disconnect()
}

/// Push-to-talk: held over the question, released before the talking-over, so only the question
/// is heard and nothing interrupts the answer.
fn push_to_talk(w: &World) -> Result<(), String> {
    w.fresh_page("relay", "ptt")?;
    w.connect()?;
    let b = &w.browser;
    b.wait_for(
        "!document.getElementById('talk').disabled",
        Duration::from_secs(10),
    )?;
    let press = |kind: &str| {
        b.eval(&format!(
            "document.getElementById('talk').dispatchEvent(new PointerEvent('{kind}')); return true;"
        ))
    };
    press("pointerdown")?;
    std::thread::sleep(Duration::from_secs_f64(LEAD + 2.2));
    press("pointerup")?;
    b.wait_for(
        "window.gemlive.stats.inputTranscripts.join('').includes('[speech:')",
        TURN,
    )?;
    b.wait_for("window.gemlive.stats.turns >= 1", TURN)?;
    // Past the moment the microphone talks over the answer: the released button kept it out.
    std::thread::sleep(Duration::from_secs(3));
    let stats = b.eval("return window.gemlive.stats;")?;
    if stats["interrupts"].as_array().is_none_or(|i| !i.is_empty()) || stats["turns"] != 1 {
        return Err(format!("speech leaked past the released button: {stats}"));
    }
    w.disconnect()
}

/// Every Live connection announces its end (goAway) two seconds in; the conversation moves to a
/// new connection and goes on without the person noticing, in both modes.
fn survives(w: &World, mode: &str) -> Result<(), String> {
    w.fresh_page_of(&w.short_lived, mode, "off")?;
    w.connect()?;
    let b = &w.browser;
    w.ask("What is the capital of Peru?")?;
    b.wait_for("window.gemlive.stats.turns >= 1", TURN)?;
    b.wait_for("window.gemlive.stats.goAways >= 1", TURN)?;
    // The move happens once the turn is over.
    std::thread::sleep(Duration::from_millis(1500));
    w.ask("What was my last question?")?;
    b.wait_for(
        "document.getElementById('log').innerText.includes('Your last question was: \"What is the capital of Peru?\"')",
        TURN,
    )?;
    let stats = b.eval("return window.gemlive.stats;")?;
    if !stats["closed"].is_null() || stats["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        return Err(format!("the person saw more than a note: {stats}"));
    }
    let log = w.log_text()?;
    if !log.contains("The session moved to a new connection.") {
        return Err(format!("no move happened:\n{log}"));
    }
    w.disconnect()
}

/// A close during setup (an unknown model) is shown as a code, the server's reason and a hint.
fn explained_close(w: &World) -> Result<(), String> {
    w.fresh_page("relay", "off")?;
    let b = &w.browser;
    b.eval("document.getElementById('model').value = 'gemini-0.1-nonexistent'; document.getElementById('connect').click(); return true;")?;
    b.wait_for(
        "!document.getElementById('banner').hidden",
        Duration::from_secs(15),
    )?;
    let banner = b.eval("return document.getElementById('banner').innerText;")?;
    let text = banner.as_str().unwrap_or_default();
    if !(text.contains("1008") && text.contains("not found") && text.contains("What to do:")) {
        return Err(format!("the refusal is not explained: {text}"));
    }
    b.wait_for(
        "!document.getElementById('connect').hidden",
        Duration::from_secs(5),
    )
    .map(drop)
}

/// Another site in the same browser (here: a page of the emulator's port, another origin with
/// no Content-Security-Policy of ours) cannot use the relay or mint a token, and a non-browser
/// client claiming a foreign Origin is refused before any upgrade.
fn foreign_origin(w: &World) -> Result<(), String> {
    let b = &w.browser;
    let emulator = &w.emulators[0];
    b.goto(&format!("{}/elsewhere", emulator.http_url()))?;
    let relay = format!("ws://{}/relay", w.server.local_addr());
    let outcome = b.eval_async(&format!(
        "const done = arguments[arguments.length - 1];
         const ws = new WebSocket({relay:?});
         ws.onopen = () => done('opened');
         ws.onclose = (e) => done('closed ' + e.code);"
    ))?;
    if outcome != "closed 1006" {
        return Err(format!("a foreign page reached the relay: {outcome}"));
    }
    let minted_before = w.server.metrics().tokens_minted.load(Ordering::Relaxed);
    let token = format!("http://{}/api/token", w.server.local_addr());
    let minted = b.eval_async(&format!(
        "const done = arguments[arguments.length - 1];
         fetch({token:?}, {{method: 'POST', mode: 'no-cors', body: '{{}}'}})
           .then(() => done('sent'), () => done('failed'));"
    ))?;
    if w.server.metrics().refused.load(Ordering::Relaxed) == 0 {
        return Err("the server saw no refused relay".into());
    }
    // The server refuses before reading the body, so the browser may see a reset ("failed").
    if w.server.metrics().tokens_minted.load(Ordering::Relaxed) != minted_before {
        return Err(format!("a foreign page minted a token ({minted})"));
    }
    // The same refusal for a raw client.
    let mut tcp = TcpStream::connect(w.server.local_addr()).map_err(|e| e.to_string())?;
    let head = format!(
        "GET /relay HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        w.server.local_addr()
    );
    std::io::Write::write_all(&mut tcp, head.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut tcp, &mut answer).map_err(|e| e.to_string())?;
    if !answer.starts_with("HTTP/1.1 403") {
        return Err(format!("a foreign Origin was not refused: {answer}"));
    }
    Ok(())
}

/// The relay's own tool: the local time in a city, always the same.
fn local_time() -> Tool {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct City {
        /// The city, e.g. "Paris".
        city: String,
    }
    Tool::typed(
        "get_local_time",
        "The local time in a city",
        |c: City| async move {
            let city = c.city.trim_end_matches(['?', '.']).to_owned();
            Ok::<_, String>(serde_json::json!({"city": city, "time": "09:41"}))
        },
    )
}

/// A typed question makes the model call a tool the relay answers: the page shows the call as it
/// runs, its result, and the spoken answer that uses it; nothing asks the person to answer.
fn server_tool(w: &World) -> Result<(), String> {
    w.fresh_page("relay", "off")?;
    let b = &w.browser;
    b.wait_for(
        "document.getElementById('server-tools').innerText.includes('get_local_time')",
        Duration::from_secs(5),
    )?;
    w.connect()?;
    w.ask("What is the local time in Tokyo?")?;
    b.wait_for("window.gemlive.stats.turns >= 1", TURN)?;
    let entry = b.wait_for(
        "(document.querySelector('li.entry.tool.server.answered') || {}).innerText",
        TURN,
    )?;
    let entry = entry.as_str().unwrap_or_default();
    if !(entry.contains("get_local_time") && entry.contains("Tokyo") && entry.contains("09:41")) {
        return Err(format!("the call and its result are not shown: {entry}"));
    }
    if b.eval("return document.querySelectorAll('li.entry.tool textarea').length;")? != 0 {
        return Err("the page was asked to answer a call the relay answers".into());
    }
    b.wait_for(
        "Array.from(document.querySelectorAll('li.entry.model')).some(li => li.innerText.includes('09:41'))",
        TURN,
    )?;
    let shot = w.screenshot("tools")?;
    println!("    screenshot: {}", shot.display());
    w.disconnect()
}

/// The voice and system instruction chosen on the page are in the setup the Live API receives
/// (the emulator's recording of the connection), through the relay and through a direct
/// connection's token alike.
fn settings(w: &World, mode: &str) -> Result<(), String> {
    let marker = format!("Answer like a pirate ({mode}).");
    w.fresh_page(mode, "off")?;
    w.browser.eval(&format!(
        "document.getElementById('voice').value = 'Kore';
         document.getElementById('system').value = {marker:?}; return true;"
    ))?;
    w.connect()?;
    w.disconnect()?;
    let setup = recorded_setups(&w.frames)?
        .into_iter()
        .find(|s| s.to_string().contains(&marker))
        .ok_or_else(|| format!("no setup with the system instruction {marker:?} was received"))?;
    let voice = &setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"];
    let instruction = &setup["systemInstruction"]["parts"][0]["text"];
    if voice != "Kore" || instruction != marker.as_str() {
        return Err(format!("the settings did not reach the setup: {setup}"));
    }
    Ok(())
}

/// Every `setup` the emulator received.
fn recorded_setups(dir: &Path) -> Result<Vec<serde_json::Value>, String> {
    let mut setups = Vec::new();
    for file in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let text = std::fs::read_to_string(file.map_err(|e| e.to_string())?.path())
            .map_err(|e| e.to_string())?;
        setups.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["dir"] == "client")
                .map(|v| v["frame"]["setup"].clone())
                .filter(|s| s.is_object()),
        );
    }
    Ok(setups)
}

/// The fake camera's or screen's frames go out at the chosen rate and the model counts them.
/// The screen picker opens from the Connect click (a user gesture; the fake UI picks a screen).
fn video(w: &World, source: &str) -> Result<(), String> {
    w.fresh_page("relay", "off")?;
    let b = &w.browser;
    b.eval(&format!(
        "document.getElementById('video-source').value = '{source}';
         document.getElementById('video-fps').value = '2'; return true;"
    ))?;
    b.click("#connect")?;
    b.wait_for("window.gemlive.stats.ready", Duration::from_secs(15))?;
    b.wait_for(
        &format!(
            "window.gemlive.stats.videoSource === '{source}' && window.gemlive.stats.videoFrames >= 3"
        ),
        Duration::from_secs(10),
    )?;
    w.ask("What do you see?")?;
    b.wait_for(
        "/I have received [0-9]+ video frames/.test(document.getElementById('log').innerText)",
        TURN,
    )?;
    w.disconnect()
}

/// The Live connection drops in the middle of a question (the emulator cuts the TCP connection):
/// the person reads why and that it reconnects, the question is asked again on the new
/// connection and answered, the microphone's audio meanwhile waits instead of vanishing, and the
/// session never ends.
fn dropped(w: &World, mode: &str) -> Result<(), String> {
    // Direct mode holds the microphone's audio itself while it reconnects: its microphone is on.
    let mic = if mode == "direct" { "open" } else { "off" };
    w.fresh_page(mode, mic)?;
    w.connect()?;
    let b = &w.browser;
    // A handle to resume with and, with the microphone on, past its two utterances (its silence
    // goes on streaming), so that nothing spoken interrupts the answer.
    b.wait_for(
        &format!(
            "window.gemlive.stats.inputTranscripts.length >= {} && JSON.parse(sessionStorage.getItem('gemlive.conversation')).handle",
            if mic == "open" { 2 } else { 0 }
        ),
        TURN,
    )?;
    w.ask("Please drop the line: what is the capital of Chile?")?;
    b.wait_for(
        "Array.from(document.querySelectorAll('li.entry.model')).some(li => li.innerText.includes('Chile'))",
        TURN,
    )?;
    let log = w.log_text()?;
    let told = [
        "Connection lost (1006",
        "Reconnect",
        "is asked again on the new connection",
        "Reconnected: the conversation goes on.",
    ];
    if let Some(missing) = told.iter().find(|t| !log.contains(*t)) {
        return Err(format!("the page did not say {missing:?}:\n{log}"));
    }
    let stats = b.eval("return window.gemlive.stats;")?;
    if !stats["closed"].is_null() {
        return Err(format!("the session ended: {stats}"));
    }
    // The page held the microphone's audio while it had no connection, and sent it after. The
    // microphone gives a chunk every 32 ms; a reconnection on loopback may be quicker than that,
    // so the chunks held are counted against the time without a connection.
    let held = stats["link"]["heldAudioChunks"].as_f64().unwrap_or(0.0);
    let outage_ms = stats["link"]["outageMs"]
        .as_f64()
        .ok_or_else(|| format!("the page kept no outage time: {stats}"))?;
    if mic == "open" && held < (outage_ms / 32.0).floor() - 1.0 {
        return Err(format!(
            "the microphone's audio did not wait for the new connection ({held} chunks held in {outage_ms:.0} ms without one): {stats}"
        ));
    }
    if stats["link"]["droppedAudioMs"].as_f64().unwrap_or(1.0) != 0.0 {
        return Err(format!("microphone audio was dropped: {stats}"));
    }
    println!("    {held} microphone chunks held in {outage_ms:.0} ms without a connection");
    let shot = w.screenshot(&format!("{mode}-reconnected"))?;
    println!("    screenshot: {}", shot.display());
    w.disconnect()
}

/// The relay goes away in the middle of a conversation (a restart, an instance behind a load
/// balancer replaced) and a twin with the same secret takes its address: the page reconnects on
/// its own, the twin opens its sealed handle, and the conversation goes on where it was.
fn restarted(w: &World) -> Result<(), String> {
    const SECRET: &str = "twins-share-this-secret";
    let emulator = w.emulators[0].http_url();
    let start = |port: u16| {
        w.runtime.block_on(async {
            let client = Client::endpoint(&emulator)
                .map_err(|e| e.to_string())?
                .with_api_key("emulator");
            let mut config = WebConfig::new(Upstream::new(client));
            config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            config.secret = Some(Secret::new(SECRET));
            WebServer::start(config).await.map_err(|e| e.to_string())
        })
    };
    let first = start(0)?;
    let port = first.local_addr().port();
    let b = &w.browser;
    b.goto(&format!("{}?secret={SECRET}", first.url()))?;
    w.fresh_page_of(&first, "relay", "off")?;
    w.connect()?;
    w.ask("What is the capital of Italy?")?;
    b.wait_for(
        "window.gemlive.stats.turns >= 1 && JSON.parse(sessionStorage.getItem('gemlive.conversation')).handle",
        TURN,
    )?;
    w.runtime.block_on(first.shutdown());
    let twin = start(port)?;
    let outcome = (|| {
        b.wait_for("window.gemlive.stats.moves >= 1", TURN)?;
        w.ask("What was my last question?")?;
        b.wait_for(
            "document.getElementById('log').innerText.includes('Your last question was: \"What is the capital of Italy?\"')",
            TURN,
        )?;
        let log = w.log_text()?;
        if !log.contains("Reconnected: the conversation goes on.") {
            return Err(format!("the page did not say it reconnected:\n{log}"));
        }
        w.disconnect()
    })();
    w.runtime.block_on(twin.shutdown());
    outcome
}
