//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Chat and talk with Gemini Live from a terminal.
#[derive(Debug, Parser)]
#[command(
    name = "gemlive",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Exit codes: 0 ok, 1 other error, 2 usage, 3 configuration or auth (incl. close 1007/1008), \
4 service error (close 1011), 5 network failure."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Chat by text: one prompt, several turns, or an interactive prompt; replies as text or audio.
    Chat(Box<ChatArgs>),
    /// Talk by voice: microphone or WAV in, speaker or WAV out, full duplex with interruption.
    Talk(Box<TalkArgs>),
    /// List the audio devices (`--input-device`, `--output-device` take a name or an index).
    Devices,
    /// Run the local Live API emulator.
    Emulator(EmulatorArgs),
    /// Print the event trace of a recording (`--record`) or a fixture, without any network.
    Replay {
        /// The JSONL file.
        file: PathBuf,
    },
    /// List the Live models gemlive knows, with what they support.
    Models,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// The prompt (several words are joined). Without a prompt or --turn, reads turns from the
    /// interactive prompt, or one per line from stdin when it is not a terminal.
    pub(crate) prompt: Vec<String>,
    /// A turn to send; repeat for several turns in one session.
    #[arg(long = "turn", value_name = "TEXT")]
    pub(crate) turns: Vec<String>,
    /// Read turns from a file, one per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) turns_file: Option<PathBuf>,
    /// Ask for spoken replies and write them to WAV files.
    #[arg(long)]
    pub(crate) audio: bool,
    /// The WAV file for a single reply.
    #[arg(long, value_name = "FILE", default_value = "audio.wav")]
    pub(crate) out: PathBuf,
    /// Directory for several replies: audio_0.wav, audio_1.wav, ...
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
    /// Don't play replies on the speaker.
    #[arg(long)]
    pub(crate) no_play: bool,
    /// Resume the latest saved session (`--resume`), or the one with a handle (`--resume=HANDLE`).
    #[arg(long, value_name = "HANDLE", num_args = 0..=1, require_equals = true, default_missing_value = "latest")]
    pub(crate) resume: Option<String>,
    /// One JSON event per line on stdout, nothing else.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) setup: SetupArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "While talking: type a line to send it as text, /quit or Ctrl-D or Ctrl-C to end. \
With --ptt, Enter (an empty line) starts and stops talking."
)]
pub(crate) struct TalkArgs {
    /// Speak from a WAV file, streamed in real time (then `audioStreamEnd`), or `-` for raw
    /// PCM16 LE mono on stdin. Without it, the microphone.
    #[arg(long, value_name = "FILE.wav|-", conflicts_with = "input_device")]
    pub(crate) input: Option<PathBuf>,
    /// Sample rate of raw PCM on stdin (`--input -`).
    #[arg(long, value_name = "HZ", default_value_t = 16_000)]
    pub(crate) input_rate: u32,
    /// The microphone: a name (or part of one) or an index from `gemlive devices`.
    #[arg(long, value_name = "NAME|INDEX")]
    pub(crate) input_device: Option<String>,
    /// The speaker: a name (or part of one) or an index from `gemlive devices`. By default the
    /// default speaker when talking into the microphone; with --input, no speaker.
    #[arg(long, value_name = "NAME|INDEX", conflicts_with = "no_play")]
    pub(crate) output_device: Option<String>,
    /// Play on no device: playback is only simulated in real time (interruptions still cut it).
    #[arg(long)]
    pub(crate) no_play: bool,
    /// Write what the model said, as it was heard (cut where it was interrupted), to a WAV file.
    #[arg(long, value_name = "FILE.wav")]
    pub(crate) output: Option<PathBuf>,
    /// Record the whole conversation as a stereo WAV: the user left, the model right, in time.
    #[arg(long, value_name = "FILE.wav")]
    pub(crate) record_audio: Option<PathBuf>,
    /// Push-to-talk: the server's voice detection is off; Enter (an empty line) starts talking
    /// (`activityStart`) and Enter again stops (`activityEnd`).
    #[arg(long, conflicts_with = "no_vad")]
    pub(crate) ptt: bool,
    /// Mute the microphone while the model speaks (for speakers whose echo the canceller
    /// cannot remove; you cannot interrupt by voice then).
    #[arg(long)]
    pub(crate) half_duplex: bool,
    /// No echo cancellation (headphones need none).
    #[arg(long)]
    pub(crate) no_aec: bool,
    /// No local voice detection (by default, in builds with it, your speech stops playback at
    /// once, before the server's `interrupted`).
    #[arg(long)]
    pub(crate) no_local_vad: bool,
    /// Audio chunk length in ms (20 to 40).
    #[arg(long, value_name = "MS", default_value_t = 40, value_parser = clap::value_parser!(u64).range(20..=40))]
    pub(crate) chunk_ms: u64,
    /// Send images (JPEG or PNG) as video: one file, or a directory's images in name order,
    /// in a loop.
    #[arg(long, value_name = "DIR|FILE")]
    pub(crate) video: Option<PathBuf>,
    /// Video frames per second (the service takes at most 1).
    #[arg(long, value_name = "FPS", default_value_t = 1.0, requires = "video")]
    pub(crate) video_fps: f64,
    /// Resume the latest saved session (`--resume`), or the one with a handle (`--resume=HANDLE`).
    #[arg(long, value_name = "HANDLE", num_args = 0..=1, require_equals = true, default_missing_value = "latest")]
    pub(crate) resume: Option<String>,
    /// One JSON event per line on stdout, nothing else.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) setup: SetupArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Start the built-in emulator and talk to it (no key, no network).
    #[arg(long, conflicts_with_all = ["endpoint", "vertex"])]
    pub(crate) emulator: bool,
    /// A Live-compatible server, e.g. a `gemlive emulator` (ws://127.0.0.1:9000) or a gateway.
    #[arg(long, env = "GEMLIVE_ENDPOINT", value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Gemini API version.
    #[arg(long, value_enum, default_value_t = ApiVersionArg::V1beta)]
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
    #[arg(long, env = "GOOGLE_CLOUD_ACCESS_TOKEN", hide_env_values = true)]
    pub(crate) access_token: Option<String>,
    /// An ephemeral token (`auth_tokens/...`) instead of an API key.
    #[arg(long, env = "GEMLIVE_EPHEMERAL_TOKEN", hide_env_values = true)]
    pub(crate) ephemeral_token: Option<String>,
    /// A PEM file of extra CA certificates to trust (corporate TLS, a local emulator with --tls).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Record every frame (both directions, timed, secrets scrubbed) as a replayable fixture.
    #[arg(long, value_name = "FILE")]
    pub(crate) record: Option<PathBuf>,
    /// Seconds to wait for the server to accept the setup.
    #[arg(long, default_value_t = 15)]
    pub(crate) setup_timeout: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ApiVersionArg {
    V1beta,
    V1alpha,
    V1,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// The Live model.
    #[arg(long, env = "GEMLIVE_MODEL", default_value = protocol::models::DEFAULT_MODEL)]
    pub(crate) model: String,
    /// A full setup as JSON (the `setup` object or `{"setup": {...}}`); flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// System instruction.
    #[arg(long, value_name = "TEXT")]
    pub(crate) system: Option<String>,
    /// Prebuilt voice (Puck, Kore, Charon, Aoede, ...).
    #[arg(long)]
    pub(crate) voice: Option<String>,
    /// Language of speech (BCP-47, e.g. en-US; half-cascade models).
    #[arg(long)]
    pub(crate) language: Option<String>,
    /// Sampling temperature.
    #[arg(long)]
    pub(crate) temperature: Option<f32>,
    /// Don't ask for transcripts of the user's and the model's speech.
    #[arg(long)]
    pub(crate) no_transcription: bool,
    /// Turn the server's voice activity detection off (the client marks activity).
    #[arg(long)]
    pub(crate) no_vad: bool,
    /// Start-of-speech sensitivity of the server's VAD.
    #[arg(long, value_enum)]
    pub(crate) vad_start: Option<Sensitivity>,
    /// End-of-speech sensitivity of the server's VAD.
    #[arg(long, value_enum)]
    pub(crate) vad_end: Option<Sensitivity>,
    /// Speech needed before the start of speech is committed, in ms.
    #[arg(long, value_name = "MS")]
    pub(crate) vad_prefix_ms: Option<i32>,
    /// Silence needed before the end of speech is committed, in ms.
    #[arg(long, value_name = "MS")]
    pub(crate) vad_silence_ms: Option<i32>,
    /// Keep talking when the user speaks (no barge-in).
    #[arg(long)]
    pub(crate) no_interruption: bool,
    /// Thinking budget in tokens (2.5 models; 0 turns thinking off).
    #[arg(long, value_name = "TOKENS")]
    pub(crate) thinking_budget: Option<i32>,
    /// Affective dialog (2.5 native audio; needs --api-version v1alpha on the Gemini API).
    #[arg(long)]
    pub(crate) affective_dialog: bool,
    /// Proactive audio: the model may stay silent for irrelevant input (needs v1alpha).
    #[arg(long)]
    pub(crate) proactive_audio: bool,
    /// Compress the context with a sliding window once it reaches this many tokens.
    #[arg(long, value_name = "TOKENS")]
    pub(crate) compress_at: Option<i64>,
    /// Function declarations as JSON: a list of declarations, a list of tools, or {"tools": [...]}.
    #[arg(long, value_name = "FILE")]
    pub(crate) tools: Option<PathBuf>,
    /// Answer calls of tool NAME by running COMMAND (arguments as JSON on stdin, stdout is the result).
    #[arg(long = "tool-command", value_name = "NAME=COMMAND")]
    pub(crate) tool_commands: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Sensitivity {
    Low,
    High,
}

#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 9000)]
    pub(crate) port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: std::net::IpAddr,
    /// Serve wss:// with a self-signed certificate, written to DIR/ca.pem for clients to trust.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".gemlive-emulator-tls")]
    pub(crate) tls: Option<PathBuf>,
    /// Only accept this API key (any key is accepted by default).
    #[arg(long, env = "GEMLIVE_EMULATOR_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// Audio pacing: 1 = real time, 10 = ten times faster, 0 = as fast as possible.
    #[arg(long, default_value_t = 1.0)]
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
    #[arg(long, value_name = "FILE")]
    pub(crate) replay: Option<PathBuf>,
    /// Record every connection's frames to DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// Connection lifetime in seconds (a goAway comes before the end).
    #[arg(long, default_value_t = 600)]
    pub(crate) connection_lifetime: u64,
    /// Make session ids, resumption handles and call ids reproducible (by default every run
    /// draws its own, so that no handle resumes another run's session).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VoiceArg {
    Synthetic,
    Espeak,
}
