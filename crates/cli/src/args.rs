//! Command-line arguments.
//!
//! `chat` and `talk` share their flags where they mean the same thing (`--output`, `--model`,
//! `--resume`, the backend...), each under the same heading.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0    done
  1    another error
  2    usage: bad arguments, unreadable input, unwritable output (checked before connecting)
  3    configuration or auth: no key, a key or token refused, an unknown model, a setup or a
       session handle the server refused (close 1007/1008), a message too large (1009)
  4    the service failed (close 1011: internal, unavailable, quota, deadline; a reply that
       stalled or outlived its connection)
  5    the network failed (connect, TLS, proxy, timeouts, a drop without a close frame, a
       resume that could not reconnect)
  130  ended by Ctrl-C before it was done
A turn left without its answer (its connection broke, and asking again did not help) makes
the exit code its cause's, even when the session went on and the other turns completed.";

const ENVIRONMENT: &str = "\
Environment:
  GEMINI_API_KEY, GOOGLE_API_KEY   the Gemini API key (GOOGLE_API_KEY wins when both are set)
  GEMLIVE_MODEL                    the model (--model)
  GEMLIVE_ENDPOINT                 a Live-compatible server (--endpoint)
  GEMLIVE_EPHEMERAL_TOKEN          an ephemeral token (--ephemeral-token)
  GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION, GOOGLE_CLOUD_ACCESS_TOKEN   Vertex AI
  GEMLIVE_EMULATOR_SPEED           the built-in emulator's pace (--emulator-speed)
  GEMLIVE_EMULATOR_KEY             the only key `gemlive emulator` accepts (--api-key)
  GEMLIVE_STATE_DIR                where saved sessions and the history live
                                   (default ~/.local/state/gemlive)
  GEMLIVE_LOG                      log filter for developers: debug, trace, gemlive_transport=debug
                                   (credentials are scrubbed at every level)
  NO_COLOR                         no colours; TERM=dumb: no colours and no cursor movement
  HTTPS_PROXY, ALL_PROXY, NO_PROXY proxies";

const CHAT_HELP: &str = "\
Examples:
  gemlive chat --emulator \"Hello? Gemini are you there?\"      one question, no key needed
  gemlive chat \"What is the capital of France?\" > answer.txt  the answer only, in a file
  gemlive chat --emulator -t Hello -t \"What's your name?\"     several turns in one session
  gemlive chat --emulator --audio -o reply.wav \"Hello\"         spoken reply in a WAV
  gemlive chat --emulator                                      interactive
  gemlive chat --emulator --resume \"What was my last question?\"
  gemlive chat --emulator --mcp 'npx -y @modelcontextprotocol/server-everything' \"Please echo about Gemlive\"

Interactive keys:
  Enter      send the line; while a reply streams, it interrupts the reply
  Ctrl-C     cancel the reply in flight (the session goes on); clear the line; at an empty
             prompt, press it twice to quit
  Ctrl-D     quit (at an empty prompt)
  Up, Down   history; Left, Right, Home, End, Ctrl-A/E/U/K/W edit the line
  /help      the commands: /quit, /save FILE, /audio on|off, /voice NAME, /model NAME, /resume";

const TALK_HELP: &str = "\
Examples:
  gemlive talk --emulator --input question.wav --output answer.wav
  gemlive talk --emulator --input - --input-rate 16000 < speech.pcm{DEVICE_EXAMPLE}

Keys (in a terminal):
  type a line and Enter to send it as text; Enter on an empty line starts and stops talking
  with --ptt; /quit or Ctrl-D ends the conversation; Ctrl-C ends it too (exit 130)";

fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let features: Vec<&str> = [
            ("device", cfg!(feature = "device")),
            ("vad", cfg!(feature = "vad")),
            ("aec", cfg!(feature = "aec")),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        format!(
            "{} (features: {})",
            env!("CARGO_PKG_VERSION"),
            if features.is_empty() {
                "none: no microphone or speaker; rebuild with --features device,vad,aec".to_owned()
            } else {
                features.join(", ")
            }
        )
    })
}

fn after_help() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))
}

fn chat_after_help() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| format!("{CHAT_HELP}\n\n{ENVIRONMENT}\n\n{EXIT_CODES}"))
}

fn talk_after_help() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let devices = if cfg!(feature = "device") {
            ""
        } else {
            "\n\nThis build has no audio devices: it talks from --input (a WAV or raw PCM on stdin) \
             and plays nowhere (--output keeps the reply). For the microphone and the speaker: \
             apt-get install libasound2-dev, then cargo install --path crates/cli --features device,vad,aec"
        };
        let example = if cfg!(feature = "device") {
            "\n  gemlive talk --input-device USB --output-device 1      microphone and speaker by name"
        } else {
            ""
        };
        let help = TALK_HELP.replace("{DEVICE_EXAMPLE}", example);
        format!("{help}{devices}\n\n{ENVIRONMENT}\n\n{EXIT_CODES}")
    })
}

/// Chat and talk with Gemini Live from a terminal.
#[derive(Debug, Parser)]
#[command(
    name = "gemlive",
    version = version(),
    propagate_version = true,
    max_term_width = 100,
    after_help = after_help()
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Chat by text: one prompt, several turns, or an interactive prompt; replies as text or audio.
    #[command(after_help = chat_after_help())]
    Chat(Box<ChatArgs>),
    /// Talk by voice: microphone or WAV in, speaker or WAV out, full duplex with interruption.
    #[command(after_help = talk_after_help())]
    Talk(Box<TalkArgs>),
    /// List the audio devices (`--input-device`, `--output-device` take a name or an index).
    #[command(hide = !cfg!(feature = "device"))]
    Devices,
    /// Run the local Live API emulator.
    Emulator(EmulatorArgs),
    /// Show a recording (`--record`) as `chat` showed it, or its event trace; no network.
    Replay(ReplayArgs),
    /// Serve a voice console in the browser (relay or direct mode).
    Web(crate::web::WebArgs),
    /// List the Live models gemlive knows, with what they support.
    Models,
    /// Ephemeral tokens: short-lived credentials for clients that must not hold the API key.
    #[command(subcommand)]
    Token(TokenCommand),
    /// MCP servers: what their tools look like to the model.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// List the voices (`--voice`) and how languages work (`--language`).
    Voices,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The JSONL file.
    pub(crate) file: PathBuf,
    /// One JSON event per line, as `chat --json` prints them.
    #[arg(long)]
    pub(crate) json: bool,
    /// Leave out the audio chunks (with --json: the `audio` events).
    #[arg(long)]
    pub(crate) no_audio_chunks: bool,
    /// The protocol-level event trace (every frame and event, timed) instead.
    #[arg(long, conflicts_with_all = ["json", "no_audio_chunks"])]
    pub(crate) trace: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// The prompt (several words are joined). Without a prompt or --turn: the interactive
    /// prompt on a terminal, or one turn per line from stdin.
    #[arg(help_heading = "Input")]
    pub(crate) prompt: Vec<String>,
    /// A turn to send; repeat for several turns in one session.
    #[arg(
        short = 't',
        long = "turn",
        value_name = "TEXT",
        help_heading = "Input"
    )]
    pub(crate) turns: Vec<String>,
    /// Read turns from a file, one per line (`-` for stdin).
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub(crate) turns_file: Option<PathBuf>,
    /// Ask for spoken replies (written to --output, audio.wav by default).
    #[arg(short = 'a', long, help_heading = "Output")]
    pub(crate) audio: bool,
    /// The WAV file for the spoken replies, one after another (implies --audio; an existing
    /// file is replaced, and the summary says so).
    #[arg(
        short = 'o',
        long,
        visible_alias = "out",
        value_name = "FILE.wav",
        help_heading = "Output"
    )]
    pub(crate) output: Option<PathBuf>,
    /// A WAV per reply instead: DIR/audio_0.wav, DIR/audio_1.wav, ... (implies --audio).
    #[arg(
        long,
        visible_alias = "out-dir",
        value_name = "DIR",
        conflicts_with = "output",
        help_heading = "Output"
    )]
    pub(crate) output_dir: Option<PathBuf>,
    /// Don't play replies on the speaker (builds with --features device play them).
    #[arg(long, help_heading = "Output", hide = !cfg!(feature = "device"))]
    pub(crate) no_play: bool,
    /// One JSON event per line on stdout, nothing else.
    #[arg(short = 'j', long, help_heading = "Output")]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) setup: SetupArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TalkArgs {
    /// Speak from a WAV file, streamed in real time (then `audioStreamEnd`), or `-` for raw
    /// PCM16 LE mono on stdin. Without it, the microphone (builds with --features device).
    #[arg(
        short = 'i',
        long,
        value_name = "FILE.wav|-",
        conflicts_with = "input_device",
        help_heading = "Input"
    )]
    pub(crate) input: Option<PathBuf>,
    /// Sample rate of raw PCM on stdin (`--input -`).
    #[arg(
        long,
        value_name = "HZ",
        default_value_t = 16_000,
        help_heading = "Input"
    )]
    pub(crate) input_rate: u32,
    /// The microphone: a name (or part of one) or an index from `gemlive devices`.
    #[arg(long, value_name = "NAME|INDEX", help_heading = "Input", hide = !cfg!(feature = "device"))]
    pub(crate) input_device: Option<String>,
    /// Audio chunk length (20 to 40).
    #[arg(long, value_name = "MS", default_value_t = 40, value_parser = clap::value_parser!(u64).range(20..=40), help_heading = "Input")]
    pub(crate) chunk_ms: u64,
    /// Send images (JPEG or PNG) as video: one file, or a directory's images in name order,
    /// in a loop.
    #[arg(long, value_name = "DIR|FILE", help_heading = "Input")]
    pub(crate) video: Option<PathBuf>,
    /// Video frames per second (the service takes at most 1).
    #[arg(
        long,
        value_name = "FPS",
        default_value_t = 1.0,
        requires = "video",
        help_heading = "Input"
    )]
    pub(crate) video_fps: f64,
    /// Push-to-talk: the server's voice detection is off; Enter (an empty line) starts talking
    /// (`activityStart`) and Enter again stops (`activityEnd`). Needs a terminal.
    #[arg(long, conflicts_with = "no_vad", help_heading = "Input")]
    pub(crate) ptt: bool,
    /// Mute the microphone while the model speaks (for speakers whose echo the canceller
    /// cannot remove; you cannot interrupt by voice then).
    #[arg(long, help_heading = "Input")]
    pub(crate) half_duplex: bool,
    /// No echo cancellation (headphones need none).
    #[arg(long, help_heading = "Input", hide = !cfg!(feature = "aec"))]
    pub(crate) no_aec: bool,
    /// No local voice detection (by default, in builds with it, your speech stops playback at
    /// once, before the server's `interrupted`).
    #[arg(long, help_heading = "Input", hide = !cfg!(feature = "vad"))]
    pub(crate) no_local_vad: bool,
    /// Write what the model said, as it was heard (cut where it was interrupted), to a WAV file.
    #[arg(
        short = 'o',
        long,
        visible_alias = "out",
        value_name = "FILE.wav",
        help_heading = "Output"
    )]
    pub(crate) output: Option<PathBuf>,
    /// Record the whole conversation as a stereo WAV: the user left, the model right, in time.
    #[arg(long, value_name = "FILE.wav", help_heading = "Output")]
    pub(crate) record_audio: Option<PathBuf>,
    /// The speaker: a name (or part of one) or an index from `gemlive devices`. By default the
    /// default speaker when talking into the microphone; with --input, no speaker.
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "no_play", help_heading = "Output", hide = !cfg!(feature = "device"))]
    pub(crate) output_device: Option<String>,
    /// Play on no device: playback is only simulated in real time (interruptions still cut it).
    #[arg(long, help_heading = "Output")]
    pub(crate) no_play: bool,
    /// One JSON event per line on stdout, nothing else.
    #[arg(short = 'j', long, help_heading = "Output")]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) setup: SetupArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Session")]
pub(crate) struct SessionArgs {
    /// Resume the latest session saved for this backend (`--resume`), or the one with a handle
    /// (`--resume=HANDLE`, with `=`). Handles live 2 hours after a session's last connection.
    #[arg(short = 'r', long, value_name = "HANDLE", num_args = 0..=1, require_equals = true, default_missing_value = "latest")]
    pub(crate) resume: Option<String>,
    /// Record every frame (both directions, timed, secrets scrubbed) as a replayable fixture.
    #[arg(long, value_name = "FILE.jsonl")]
    pub(crate) record: Option<PathBuf>,
    /// How long a reply may go without progress before its connection is given up: the session
    /// resumes on a new one and the turn is sent again (typed or spoken). Also how long the
    /// model's reaction to a NON_BLOCKING tool's result is waited for. Fractions allowed, e.g. 2.5.
    #[arg(long, value_name = "SECONDS", default_value = "45", value_parser = seconds)]
    pub(crate) stall_timeout: Duration,
    #[command(flatten)]
    pub(crate) tools: ToolArgs,
}

/// The tools the model may call: declared in a file and answered by commands, or an MCP
/// server's.
#[derive(Debug, Args)]
#[command(next_help_heading = "Tools")]
pub(crate) struct ToolArgs {
    /// Function declarations as JSON: a list of declarations, a list of tools, or {"tools": [...]}.
    #[arg(long = "tools", value_name = "FILE")]
    pub(crate) declarations: Option<PathBuf>,
    /// Answer calls of function NAME by running COMMAND with `sh -c`: the arguments as JSON on
    /// stdin, its stdout is the result (repeatable). NAME is declared without parameters unless
    /// --tools declares it.
    #[arg(long = "tool-command", value_name = "NAME=COMMAND")]
    pub(crate) commands: Vec<String>,
    /// Start an MCP server (a command line speaking MCP on stdin and stdout) and let the model
    /// call its tools (repeatable), e.g. --mcp 'npx -y @modelcontextprotocol/server-everything'.
    #[arg(long = "mcp", value_name = "'COMMAND ARGS...'")]
    pub(crate) mcp: Vec<String>,
    /// Let the model call the tools of an MCP server over streamable HTTP (repeatable).
    #[arg(long = "mcp-url", value_name = "URL")]
    pub(crate) mcp_urls: Vec<String>,
}

/// A duration given in seconds, fractions allowed (`2.5`), more than zero and at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "{text} s is out of range: more than 0, at most 86400 (a day)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Backend")]
pub(crate) struct ConnectArgs {
    /// Start the built-in emulator and talk to it (no key, no network).
    #[arg(short = 'e', long, conflicts_with_all = ["endpoint", "vertex"])]
    pub(crate) emulator: bool,
    /// The built-in emulator's pace: 1 = real time like the service, 10 = ten times faster,
    /// 0 = as fast as it can.
    #[arg(long, value_name = "FACTOR", env = "GEMLIVE_EMULATOR_SPEED")]
    pub(crate) emulator_speed: Option<String>,
    /// A scenario file for the built-in emulator: scripted replies and faults (see
    /// `gemlive emulator --script`).
    #[arg(long, value_name = "FILE", requires = "emulator")]
    pub(crate) emulator_script: Option<PathBuf>,
    /// A Live-compatible server, e.g. a `gemlive emulator` (ws://127.0.0.1:9000) or a gateway.
    #[arg(long, env = "GEMLIVE_ENDPOINT", value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Gemini API version.
    #[arg(long, value_enum, value_name = "VERSION", default_value_t = ApiVersionArg::V1beta)]
    pub(crate) api_version: ApiVersionArg,
    /// Use Vertex AI (with --project, --location and an access token).
    #[arg(long)]
    pub(crate) vertex: bool,
    /// Google Cloud project (Vertex AI).
    #[arg(long, env = "GOOGLE_CLOUD_PROJECT", requires = "vertex")]
    pub(crate) project: Option<String>,
    /// Vertex AI location: a region, `us`, `eu` or `global`.
    #[arg(long, env = "GOOGLE_CLOUD_LOCATION", default_value = "us-central1")]
    pub(crate) location: String,
    /// OAuth2 access token for Vertex AI (e.g. from `gcloud auth print-access-token`).
    #[arg(
        long,
        env = "GOOGLE_CLOUD_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) access_token: Option<String>,
    /// An ephemeral token (`auth_tokens/...`) instead of an API key.
    #[arg(
        long,
        env = "GEMLIVE_EPHEMERAL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) ephemeral_token: Option<String>,
    /// A PEM file of extra CA certificates to trust (corporate TLS, a local emulator with --tls).
    #[arg(long, value_name = "FILE.pem")]
    pub(crate) ca_file: Option<PathBuf>,
    /// How long to wait for the connection (TCP, proxy, TLS, WebSocket upgrade).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub(crate) connect_timeout: u64,
    /// How long to wait for the server to accept the setup.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub(crate) setup_timeout: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ApiVersionArg {
    V1beta,
    V1alpha,
    V1,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Model and voice")]
pub(crate) struct SetupArgs {
    /// The Live model (`gemlive models` lists them).
    #[arg(short = 'm', long, env = "GEMLIVE_MODEL", default_value = protocol::models::DEFAULT_MODEL)]
    pub(crate) model: String,
    /// A full setup as JSON (the `setup` object or `{"setup": {...}}`); flags override it.
    #[arg(long, value_name = "FILE.json")]
    pub(crate) config: Option<PathBuf>,
    /// System instruction.
    #[arg(short = 's', long, value_name = "TEXT")]
    pub(crate) system: Option<String>,
    /// Prebuilt voice (`gemlive voices` lists them).
    #[arg(long, value_name = "NAME")]
    pub(crate) voice: Option<String>,
    /// Language of speech (BCP-47, e.g. en-US; half-cascade models only: native-audio models
    /// detect it).
    #[arg(long, value_name = "CODE")]
    pub(crate) language: Option<String>,
    /// Sampling temperature, 0.0 to 2.0.
    #[arg(long, value_name = "0.0-2.0")]
    pub(crate) temperature: Option<f32>,
    /// Thinking budget (2.5 models; 0 turns thinking off, -1 lets the model decide).
    #[arg(long, value_name = "TOKENS", allow_negative_numbers = true)]
    pub(crate) thinking_budget: Option<i32>,
    /// Affective dialog (2.5 native audio; needs --api-version v1alpha on the Gemini API).
    #[arg(long)]
    pub(crate) affective_dialog: bool,
    /// Proactive audio: the model may stay silent for irrelevant input (needs v1alpha).
    #[arg(long)]
    pub(crate) proactive_audio: bool,
    /// Don't ask for transcripts of the user's and the model's speech.
    #[arg(long)]
    pub(crate) no_transcription: bool,
    /// Compress the context with a sliding window once it reaches this many tokens.
    #[arg(long, value_name = "TOKENS")]
    pub(crate) compress_at: Option<i64>,
    /// Turn the server's voice activity detection off (the client marks activity).
    #[arg(long, help_heading = "Voice activity")]
    pub(crate) no_vad: bool,
    /// Start-of-speech sensitivity of the server's VAD.
    #[arg(
        long,
        value_enum,
        value_name = "LEVEL",
        help_heading = "Voice activity"
    )]
    pub(crate) vad_start: Option<Sensitivity>,
    /// End-of-speech sensitivity of the server's VAD.
    #[arg(
        long,
        value_enum,
        value_name = "LEVEL",
        help_heading = "Voice activity"
    )]
    pub(crate) vad_end: Option<Sensitivity>,
    /// Speech needed before the start of speech is committed.
    #[arg(long, value_name = "MS", help_heading = "Voice activity")]
    pub(crate) vad_prefix_ms: Option<i32>,
    /// Silence needed before the end of speech is committed.
    #[arg(long, value_name = "MS", help_heading = "Voice activity")]
    pub(crate) vad_silence_ms: Option<i32>,
    /// Keep talking when the user speaks (no barge-in).
    #[arg(long, help_heading = "Voice activity")]
    pub(crate) no_interruption: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Sensitivity {
    Low,
    High,
}

#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Start the servers (and read --tools, --tool-command) and print the functions `chat`
    /// and `talk` would declare: names as the model sees them, parameters, where each comes from.
    #[command(
        after_help = "Example:\n  gemlive mcp list --mcp 'npx -y @modelcontextprotocol/server-everything'"
    )]
    List(McpListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct McpListArgs {
    #[command(flatten)]
    pub(crate) tools: ToolArgs,
    /// The model to declare them for (names, NON_BLOCKING support and parameters follow its
    /// rules).
    #[arg(short = 'm', long, env = "GEMLIVE_MODEL", default_value = protocol::models::DEFAULT_MODEL)]
    pub(crate) model: String,
    /// The declarations as the setup would carry them (`functionDeclarations`), as JSON.
    #[arg(short = 'j', long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Mint a token with GEMINI_API_KEY and print it (`auth_tokens/...`).
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    /// Sessions the token may start (0: any number; resuming does not count).
    #[arg(long, default_value_t = 1)]
    pub(crate) uses: u32,
    /// Minutes until the token's sessions end (at most 20 hours).
    #[arg(long, default_value_t = 30)]
    pub(crate) expire_minutes: u64,
    /// Seconds within which a new session must start.
    #[arg(long, default_value_t = 60)]
    pub(crate) new_session_seconds: u64,
    /// Lock the token's sessions to this model (and to --config's setup).
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// The setup to lock, as the Python SDK's config JSON (needs --model).
    #[arg(long, value_name = "FILE", requires = "model")]
    pub(crate) config: Option<PathBuf>,
    /// Fields the client may not change besides those --config sets (repeatable).
    #[arg(long, value_name = "FIELD", requires = "model")]
    pub(crate) lock: Vec<String>,
    /// A Gemini-compatible server (e.g. a `gemlive emulator`) instead of Google.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Print the token as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(short = 'p', long, default_value_t = 9000)]
    pub(crate) port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub(crate) bind: std::net::IpAddr,
    /// Serve wss:// with a self-signed certificate, written to DIR/ca.pem for clients to trust
    /// (DIR is made private to you: it holds the key).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".gemlive-emulator-tls")]
    pub(crate) tls: Option<PathBuf>,
    /// Only accept this API key (any key is accepted by default).
    #[arg(
        long,
        env = "GEMLIVE_EMULATOR_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(crate) api_key: Option<String>,
    /// Audio pacing: 1 = real time, 10 = ten times faster, 0 = as fast as possible.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub(crate) speed: f64,
    /// Enforce the model-specific rules (e.g. clientContent only as initial history on 3.1).
    #[arg(long)]
    pub(crate) strict_models: bool,
    /// Speak replies with espeak-ng instead of the synthetic signal.
    #[arg(long, value_enum, default_value_t = VoiceArg::Synthetic)]
    pub(crate) voice: VoiceArg,
    /// A scenario file that overrides the responder or injects faults.
    #[arg(long, value_name = "FILE")]
    pub(crate) script: Option<PathBuf>,
    /// Serve this recorded session to every client.
    #[arg(long, value_name = "FILE.jsonl")]
    pub(crate) replay: Option<PathBuf>,
    /// Record every connection's frames to DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// How long a connection lasts before the server ends it (fractions allowed); a goAway
    /// comes --go-away-notice before the end, then a 1011 "Deadline expired" close.
    #[arg(long, value_name = "SECONDS", default_value = "600", value_parser = seconds)]
    pub(crate) connection_lifetime: Duration,
    /// How long before the end of a connection its goAway is sent (at most the lifetime).
    #[arg(long, value_name = "SECONDS", default_value = "50", value_parser = seconds_or_zero)]
    pub(crate) go_away_notice: Duration,
    /// The largest client message accepted; a larger one closes the connection with 1009.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub(crate) max_message_bytes: usize,
    /// How long a session can be resumed after its last connection ended (0: never).
    #[arg(long, value_name = "SECONDS", default_value = "7200", value_parser = seconds_or_zero)]
    pub(crate) resumption_ttl: Duration,
    /// Make session ids, resumption handles and call ids reproducible (by default every run
    /// draws its own, so that no handle resumes another run's session).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
}

/// Like [`seconds`], and 0 too (none).
fn seconds_or_zero(text: &str) -> Result<Duration, String> {
    if text.trim().parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    seconds(text)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VoiceArg {
    Synthetic,
    Espeak,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn chat_and_talk_share_their_flag_names() {
        let cli = Cli::command();
        let names = |sub: &str| -> Vec<String> {
            cli.find_subcommand(sub)
                .expect("subcommand")
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect()
        };
        let (chat, talk) = (names("chat"), names("talk"));
        for shared in [
            "output", "json", "resume", "model", "emulator", "record", "voice",
        ] {
            assert!(chat.contains(&shared.to_owned()), "chat --{shared}");
            assert!(talk.contains(&shared.to_owned()), "talk --{shared}");
        }
    }
}
