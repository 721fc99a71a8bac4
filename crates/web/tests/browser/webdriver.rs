//! A minimal W3C WebDriver client for chromedriver: blocking HTTP/1.1 with JSON bodies, just the
//! commands the browser tests use.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A chromedriver process and one browser session.
pub(crate) struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

/// The flags that make Chromium work headless on a closed network, with a fake microphone.
fn chromium_args(user_data: &Path, mic_wav: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--window-size=1280,860",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([
        format!("--user-data-dir={}", user_data.display()),
        format!(
            "--use-file-for-fake-audio-capture={}%noloop",
            mic_wav.display()
        ),
    ])
    .collect()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium.
    pub(crate) fn start(user_data: &Path, mic_wav: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        // Chromium runs as on a machine without a sound card (what the fake microphone stands
        // in for), not on the PulseAudio that CI starts for the talk tests: with a sink to play
        // into, its echo canceller takes the reply as the far end and suppresses the fake
        // microphone's speech over it, so a barge-in would be heard only after the reply.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("PULSE_SERVER")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start chromedriver: {e}"))?;
        let mut browser = Self {
            driver,
            port,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.request("GET", "/status", None).is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not answer within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": chromium_args(user_data, mic_wav),
            },
            "timeouts": {"script": 60_000, "pageLoad": 30_000},
        }}});
        let v = browser.request("POST", "/session", Some(&caps))?;
        browser.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {v}"))?
            .to_owned();
        Ok(browser)
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(90)))
            .map_err(|e| e.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        tcp.write_all(head.as_bytes())
            .and_then(|()| tcp.write_all(body.as_bytes()))
            .map_err(|e| e.to_string())?;
        // chromedriver keeps connections open: read the head, then Content-Length bytes.
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        let (split, length) = loop {
            let n = tcp.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("chromedriver closed the connection".into());
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or("no Content-Length")?;
                break (split, length);
            }
        };
        while raw.len() < split + 4 + length {
            let n = tcp.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("chromedriver closed the connection early".into());
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let v: Value = serde_json::from_slice(&raw[split + 4..]).map_err(|e| e.to_string())?;
        let status_ok = raw.starts_with(b"HTTP/1.1 200");
        if !status_ok {
            return Err(format!("WebDriver {method} {path}: {}", v["value"]));
        }
        Ok(v["value"].clone())
    }

    fn command(&self, method: &str, what: &str, body: Option<&Value>) -> Result<Value, String> {
        self.request(method, &format!("/session/{}/{what}", self.session), body)
    }

    /// Opens `url`.
    pub(crate) fn goto(&self, url: &str) -> Result<(), String> {
        self.command("POST", "url", Some(&json!({ "url": url })))
            .map(drop)
    }

    /// Clicks the element `css` selects like a person does (a user gesture: pages may open the
    /// screen picker or the microphone from it).
    pub(crate) fn click(&self, css: &str) -> Result<(), String> {
        let found = self.command(
            "POST",
            "element",
            Some(&json!({"using": "css selector", "value": css})),
        )?;
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no element {css}: {found}"))?;
        self.command("POST", &format!("element/{id}/click"), Some(&json!({})))
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub(crate) fn eval(&self, script: &str) -> Result<Value, String> {
        self.command(
            "POST",
            "execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Runs an async `script` that ends by calling `arguments[arguments.length - 1](value)`.
    pub(crate) fn eval_async(&self, script: &str) -> Result<Value, String> {
        self.command(
            "POST",
            "execute/async",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Polls the expression `expr` until it is truthy; returns its value.
    pub(crate) fn wait_for(&self, expr: &str, limit: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.eval(&format!("return ({expr});"))?;
            if !(v.is_null() || v == false || v == 0 || v == "") {
                return Ok(v);
            }
            if Instant::now() > deadline {
                let state = self
                    .eval("return JSON.stringify(window.gemlive && window.gemlive.stats);")
                    .unwrap_or_default();
                return Err(format!(
                    "waited {limit:?} for `{expr}`; page stats: {state}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the page.
    pub(crate) fn screenshot(&self) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let v = self.command("GET", "screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| e.to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
