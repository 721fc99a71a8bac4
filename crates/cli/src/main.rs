//! `gemlive`: chat and talk with Gemini Live from a terminal.
//!
//! Wiring only: the protocol, transport, audio and emulator crates do the work.

mod args;
mod backend;
mod chat;
mod exit;
mod log;
mod output;
mod paths;
mod setup;
mod state;
mod talk;
mod term;
mod token;
mod tools;
mod web;

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use crate::args::{
    Cli, Command, ConnectArgs, EmulatorArgs, McpCommand, ReplayArgs, TokenCommand, VoiceArg,
};

/// Credentials given as flags, kept out of every log line.
fn hide_secrets(cli: &Cli) {
    let connect = |c: &ConnectArgs| {
        for s in [&c.access_token, &c.ephemeral_token].into_iter().flatten() {
            log::secret(s);
        }
    };
    match &cli.command {
        Command::Chat(c) => connect(&c.connect),
        Command::Talk(t) => connect(&t.connect),
        Command::Emulator(e) => {
            if let Some(k) = &e.api_key {
                log::secret(k);
            }
        }
        _ => {}
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hide_secrets(&cli);
    log::init();
    let json = match &cli.command {
        Command::Chat(c) => c.json,
        Command::Talk(t) => t.json,
        _ => false,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    let result = runtime.block_on(run(cli));
    term::keys::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, close) = exit::classify(&err);
            let mut out = output::Output::new(json, false);
            if code == exit::INTERRUPTED {
                out.note("interrupted");
            } else {
                out.error(&log::scrub(&exit::message(&err)), close.as_ref(), code);
            }
            out.finish();
            term::screen::screen().finish();
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Chat(args) => chat::run(*args).await,
        Command::Talk(args) => talk::run(*args).await,
        Command::Devices => talk::list_devices(),
        Command::Emulator(args) => run_emulator(args).await,
        Command::Replay(args) => replay(&args),
        Command::Token(TokenCommand::Create(args)) => token::create(args).await,
        Command::Mcp(McpCommand::List(args)) => tools::list(args).await,
        Command::Web(args) => web::run(args).await,
        Command::Models => {
            models();
            Ok(())
        }
        Command::Voices => {
            voices();
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "gemlive",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

async fn run_emulator(args: EmulatorArgs) -> Result<()> {
    let mut config = emulator::EmulatorConfig {
        bind: SocketAddr::new(args.bind, args.port),
        api_key: args.api_key,
        speed: emulator::parse_speed(&args.speed.to_string())
            .map_err(|e| exit::Usage(format!("--speed: {e}")))?,
        strict_models: args.strict_models,
        voice: match args.voice {
            VoiceArg::Synthetic => emulator::Voice::Synthetic,
            VoiceArg::Espeak => emulator::Voice::Espeak,
        },
        record_dir: args.record,
        connection_lifetime: args.connection_lifetime,
        go_away_notice: args.go_away_notice,
        max_message_bytes: args.max_message_bytes,
        resumption_ttl: args.resumption_ttl,
        seed: args.seed,
        ..emulator::EmulatorConfig::default()
    };
    if let Some(dir) = args.tls {
        // It holds the certificate's private key.
        state::make_private_dir(&dir).map_err(|e| exit::Usage(format!("--tls: {e:#}")))?;
        config.tls = Some(emulator::TlsConfig { dir });
    }
    if let Some(path) = &args.script {
        config.script =
            Some(emulator::Script::load(path).map_err(|e| exit::Usage(format!("{e}")))?);
    }
    if let Some(path) = &args.replay {
        config.replay =
            Some(emulator::Replay::load(path).map_err(|e| exit::Usage(format!("{e}")))?);
    }
    let emulator = emulator::Emulator::start(config)
        .await
        .context("cannot start the emulator")?;
    say(&format!(
        "gemlive emulator listening on {}",
        emulator.base_url()
    ));
    if let Some(ca) = emulator.ca_file() {
        say(&format!(
            "trust its certificate with: SSL_CERT_FILE={}",
            ca.display()
        ));
    }
    let trust = emulator
        .ca_file()
        .map(|ca| format!(" --ca-file {}", ca.display()))
        .unwrap_or_default();
    say(&format!(
        "connect with: gemlive chat --endpoint {}{trust} \"Hello\"",
        emulator.base_url()
    ));
    tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
    emulator.shutdown().await;
    Ok(())
}

/// `gemlive replay`: a recording shown as `chat` showed it (or `--json`, or the trace).
fn replay(args: &ReplayArgs) -> Result<()> {
    let file = &args.file;
    let text = std::fs::read_to_string(file)
        .map_err(|e| exit::Usage(format!("cannot read {}: {e}", file.display())))?;
    let origin = std::time::Instant::now();
    if args.trace {
        let trace = protocol::replay::replay(&text, origin)
            .map_err(|e| exit::Usage(format!("{}: {e}", file.display())))?;
        for line in trace {
            say(&line);
        }
        return Ok(());
    }
    let events = protocol::replay::events(&text, origin)
        .map_err(|e| exit::Usage(format!("{}: {e}", file.display())))?;
    let mut out = output::Output::new(args.json, !args.no_audio_chunks);
    let mut turn = 0;
    let mut tokens = None;
    out.start_turn();
    for event in &events {
        if args.no_audio_chunks && matches!(event, protocol::Event::Audio { .. }) {
            continue;
        }
        out.event(event);
        match event {
            protocol::Event::Usage(u) => tokens = u.total_token_count,
            protocol::Event::TurnComplete { status, .. }
                if *status != Some(protocol::wire::InteractionStatus::InProgress) =>
            {
                out.turn_complete(turn, tokens.take());
                turn += 1;
            }
            _ => {}
        }
    }
    out.finish();
    Ok(())
}

/// `gemlive voices`.
fn voices() {
    say("Voices (--voice NAME, the same 30 in every Live model that speaks):");
    for row in protocol::models::VOICES.chunks(6) {
        say(&format!("  {}", row.join(", ")));
    }
    say("");
    say("Languages (--language CODE, BCP-47 such as en-US, de-DE, ja-JP):");
    say("  native-audio models (gemini-3.8-live, 2.5 native audio) detect the language spoken");
    say("  and ignore --language; half-cascade models use it for their speech.");
}

fn models() {
    say(&format!(
        "{:<52} {:<10} {:<10} {:<13} notes",
        "model", "backend", "output", "clientContent"
    ));
    for p in protocol::models::all() {
        let mut notes = Vec::new();
        if p.non_blocking_by_default {
            notes.push("async tools by default");
        }
        if p.supports_affective_dialog {
            notes.push("affective dialog");
        }
        if p.retired {
            notes.push("retired");
        }
        if p.id == protocol::models::DEFAULT_MODEL && p.backend == protocol::Backend::GeminiApi {
            notes.push("default");
        }
        let content = match p.client_content {
            protocol::models::ClientContentRule::Anytime => "anytime",
            protocol::models::ClientContentRule::InitialHistoryOnly => "history only",
        };
        say(&format!(
            "{:<52} {:<10} {:<10} {:<13} {}",
            p.id,
            if p.backend == protocol::Backend::Vertex {
                "vertex"
            } else {
                "gemini"
            },
            if p.audio_only { "audio" } else { "text|audio" },
            content,
            notes.join(", ")
        ));
    }
}

/// Prints a line to stdout; a closed pipe (`gemlive replay x | head`) is not an error.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
