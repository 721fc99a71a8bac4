//! Microphone and speaker (feature `device`), with echo cancellation (feature `aec`).

use anyhow::{Context, Result};
use audio::device::{
    DeviceInfo, DeviceSelector, MicConfig, MicSource, SpeakerConfig, SpeakerSink, input_devices,
    output_devices,
};
use audio::{AudioSink, AudioSource, ChunkDuration, SampleRate};

/// What the speaker played, for the echo canceller.
pub(crate) type Echo = audio::device::EchoReference;

fn selector(name: Option<&str>) -> DeviceSelector {
    name.unwrap_or("default")
        .parse()
        .unwrap_or(DeviceSelector::Default)
}

/// Opens the speaker; keeps what it plays for the echo canceller when `echo`.
pub(crate) fn speaker(
    name: Option<&str>,
    echo: bool,
) -> Result<(Box<dyn AudioSink>, String, Option<Echo>)> {
    let mut sink = SpeakerSink::open(
        &selector(name),
        SampleRate::LIVE_OUTPUT,
        SpeakerConfig {
            echo_reference: echo,
            ..SpeakerConfig::default()
        },
    )
    .context("cannot open the speaker (see `gemlive devices`)")?;
    let reference = sink.take_echo_reference();
    let label = format!("speaker {}", sink.device_name());
    Ok((Box::new(sink), label, reference))
}

/// Opens the microphone; cancels the speaker's echo when given what it played.
pub(crate) fn mic(
    name: Option<&str>,
    chunk: ChunkDuration,
    echo: Option<Echo>,
) -> Result<(Box<dyn AudioSource>, String)> {
    let mic = MicSource::open(
        &selector(name),
        MicConfig {
            chunk,
            ..MicConfig::default()
        },
    )
    .context("cannot open the microphone (see `gemlive devices`)")?;
    let label = format!("microphone {}", mic.device_name());
    #[cfg(feature = "aec")]
    if let Some(reference) = echo {
        let mic = mic
            .with_echo_canceller(reference)
            .context("cannot start the echo canceller")?;
        return Ok((Box::new(mic), format!("{label} with echo cancellation")));
    }
    #[cfg(not(feature = "aec"))]
    let _ = echo;
    Ok((Box::new(mic), label))
}

fn show(kind: &str, list: &[DeviceInfo]) {
    println!("{kind}:");
    for d in list {
        let format = d.format.map_or_else(String::new, |f| {
            format!(" {} Hz {} ch {}", f.rate.hz(), f.channels, f.sample_format)
        });
        println!(
            "  {:>2}{} {} ({}){format}",
            d.index,
            if d.is_default { "*" } else { " " },
            d.name,
            d.id
        );
    }
}

/// `gemlive devices`.
pub(crate) fn list() -> Result<()> {
    show("input devices", &input_devices()?);
    show("output devices", &output_devices()?);
    println!(
        "(* = default; pass a name, part of one, or an index to --input-device / --output-device)"
    );
    Ok(())
}
