//! [`Wav`]: the model's speech to a WAV file, written by the session as it arrives
//! ([`Session::play_into`](crate::Session::play_into)) or one event at a time.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use audio::{AudioSink, SampleRate, SinkStatus, WavSink};
use protocol::Event;

use crate::Result;

/// A WAV file for the model's speech: 24 kHz mono 16-bit, what the Live API sends. The header
/// is kept valid as it goes (a crash leaves a playable file) and finalized by [`Wav::finish`],
/// or when the last handle is dropped.
///
/// A `Wav` is a handle: clones write to the same file. Give one to the session with
/// [`Session::play_into`](crate::Session::play_into) and it writes each chunk the moment its
/// frame is decoded, on the session's own task; keep another to [`finish`](Wav::finish) the
/// file and learn its length. (Or hand it every event yourself with [`Wav::write`]; not both,
/// or the audio is written twice.)
///
/// ```
/// # fn main() -> gemlive::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("audio.wav");
/// use gemlive::{Event, Wav};
///
/// let wav = Wav::create(&path)?;
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
#[derive(Clone, Debug)]
pub struct Wav {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    file: Mutex<Writer>,
}

/// The file, and the first write that failed (kept for [`Wav::finish`]).
#[derive(Debug)]
struct Writer {
    sink: WavSink<BufWriter<File>>,
    failed: Option<String>,
}

impl Wav {
    /// Creates (or truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT)?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                file: Mutex::new(Writer { sink, failed: None }),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.shared
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the audio of an [`Event::Audio`] and returns `true`; any other event is ignored
    /// (`false`). Audio at another rate than 24 kHz is an error, as a WAV file has one rate.
    pub fn write(&self, event: &Event) -> Result<bool> {
        let Event::Audio {
            data, sample_rate, ..
        } = event
        else {
            return Ok(false);
        };
        let rate = SampleRate::new(*sample_rate)?;
        self.append(rate, data)?;
        Ok(true)
    }

    /// How much audio was written so far.
    pub fn duration(&self) -> Duration {
        self.lock().sink.played()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Finalizes the file and returns how much audio it holds; fails with the first write
    /// that failed, if one did (a session writing into it had nobody to tell). Later writes
    /// through other handles fail.
    pub fn finish(self) -> Result<Duration> {
        let mut file = self.lock();
        file.sink.finish()?;
        if let Some(failed) = file.failed.take() {
            let message = format!(
                "{}: some audio was not written: {failed}",
                self.shared.path.display()
            );
            return Err(audio::Error::Io(std::io::Error::other(message)).into());
        }
        Ok(file.sink.played())
    }

    fn append(&self, rate: SampleRate, bytes: &[u8]) -> Result<(), audio::Error> {
        let mut file = self.lock();
        let written = file.sink.write_le_bytes(rate, bytes);
        if let Err(e) = &written {
            file.failed.get_or_insert_with(|| e.to_string());
        }
        written
    }
}

/// What [`Session::play_into`](crate::Session::play_into) writes through.
impl AudioSink for Wav {
    fn rate(&self) -> SampleRate {
        self.lock().sink.rate()
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), audio::Error> {
        self.append(rate, &audio::pcm::i16_to_le_bytes(pcm))
    }

    fn write_le_bytes(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), audio::Error> {
        self.append(rate, bytes)
    }

    /// A file has nothing queued.
    fn flush(&mut self) -> Duration {
        Duration::ZERO
    }

    fn status(&self) -> SinkStatus {
        self.lock().sink.status()
    }

    fn finish(&mut self) -> Result<(), audio::Error> {
        self.lock().sink.finish()
    }
}
