//! [`Wav`]: the model's speech to a WAV file, one call per event.

use std::path::{Path, PathBuf};
use std::time::Duration;

use audio::{AudioSink, SampleRate, WavSink};
use protocol::Event;

use crate::Result;

/// A WAV file for the model's speech: 24 kHz mono 16-bit, what the Live API sends. Hand it every
/// event; it keeps the audio ones. The header is kept valid as it goes (a crash leaves a playable
/// file) and finalized by [`Wav::finish`] or on drop.
///
/// ```
/// # fn main() -> gemlive::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("audio.wav");
/// use gemlive::{Event, Wav};
///
/// let mut wav = Wav::create(&path)?;
/// let chunk = Event::Audio {
///     data: vec![0u8; 4800].into(),
///     mime_type: "audio/pcm;rate=24000".into(),
///     sample_rate: 24_000,
///     received: std::time::Instant::now(),
/// };
/// assert!(wav.write(&chunk)?);
/// assert!(!wav.write(&Event::GenerationComplete)?);
/// assert_eq!(wav.finish()?, std::time::Duration::from_millis(100));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Wav {
    sink: WavSink<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
}

impl Wav {
    /// Creates (or truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT)?;
        Ok(Self { sink, path })
    }

    /// Writes the audio of an [`Event::Audio`] and returns `true`; any other event is ignored
    /// (`false`). Audio at another rate than 24 kHz is an error, as a WAV file has one rate.
    pub fn write(&mut self, event: &Event) -> Result<bool> {
        let Event::Audio {
            data, sample_rate, ..
        } = event
        else {
            return Ok(false);
        };
        let rate = SampleRate::new(*sample_rate)?;
        self.sink.write_le_bytes(rate, data)?;
        Ok(true)
    }

    /// How much audio was written.
    pub fn duration(&self) -> Duration {
        self.sink.played()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finalizes the file and returns how much audio it holds.
    pub fn finish(mut self) -> Result<Duration> {
        self.sink.finish()?;
        Ok(self.sink.played())
    }
}
