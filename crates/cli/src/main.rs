//! `gemlive`: chat and talk with Gemini Live from a terminal.
//!
//! Wiring only: the protocol, transport, audio and emulator crates do the work.

mod args;
mod backend;
mod chat;
mod exit;
mod output;
mod setup;
mod state;
mod talk;
mod tools;

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command, EmulatorArgs, VoiceArg};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GEMLIVE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, close) = exit::classify(&err);
            output::Output::new(json, false).error(&format!("{err:#}"), close.as_ref(), code);
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
        Command::Replay { file } => replay(&file),
        Command::Models => {
            models();
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
        speed: backend::parse_speed(&args.speed.to_string())
            .map_err(|e| exit::Usage(format!("--speed: {e}")))?,
        strict_models: args.strict_models,
        voice: match args.voice {
            VoiceArg::Synthetic => emulator::Voice::Synthetic,
            VoiceArg::Espeak => emulator::Voice::Espeak,
        },
        record_dir: args.record,
        connection_lifetime: std::time::Duration::from_secs(args.connection_lifetime),
        seed: args.seed,
        ..emulator::EmulatorConfig::default()
    };
    if let Some(dir) = args.tls {
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

fn replay(file: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| exit::Usage(format!("cannot read {}: {e}", file.display())))?;
    let origin = std::time::Instant::now();
    let trace = protocol::replay::replay(&text, origin)
        .map_err(|e| exit::Usage(format!("{}: {e}", file.display())))?;
    for line in trace {
        say(&line);
    }
    Ok(())
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
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
