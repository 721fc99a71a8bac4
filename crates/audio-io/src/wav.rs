//! WAV files: a source that reads any PCM WAV hound can decode and a
//! crash-safe sink.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::pcm::{Rechunker, downmix_into};
use crate::resample::Resampler;
use crate::{AudioSink, AudioSource, Chunk, ChunkDuration, Error, SampleRate, SinkStatus};

/// Decodes a WAV file of any rate, channel count and integer (8 to 32 bit)
/// or 32-bit float format into mono chunks at one rate (16 kHz by default).
///
/// The file is streamed, not loaded whole. After the last (possibly shorter)
/// chunk, [`AudioSource::next_chunk`] returns `Ok(None)`: the moment to send
/// `audioStreamEnd`. Wrap it in [`crate::Paced`] to release chunks in real
/// time, like a microphone.
pub struct WavSource<R: Read> {
    path: PathBuf,
    reader: hound::WavReader<R>,
    spec: hound::WavSpec,
    scale: f32,
    frames_left: u64,
    resampler: Resampler,
    frame_buf: Vec<f32>,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    chunker: Rechunker,
    done: bool,
}

impl<R: Read> std::fmt::Debug for WavSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("rate", &self.resampler.to_rate())
            .field("frames_left", &self.frames_left)
            .finish()
    }
}

impl WavSource<BufReader<File>> {
    /// Opens `path`, yielding 16 kHz chunks of `chunk`.
    pub fn open(path: impl AsRef<Path>, chunk: ChunkDuration) -> Result<Self, Error> {
        Self::open_at(path, SampleRate::LIVE_INPUT, chunk)
    }

    /// Opens `path`, yielding chunks of `chunk` at `rate`.
    pub fn open_at(
        path: impl AsRef<Path>,
        rate: SampleRate,
        chunk: ChunkDuration,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = File::open(path)?;
        Self::from_reader(BufReader::new(file), path, rate, chunk)
    }
}

impl<R: Read> WavSource<R> {
    /// Reads a WAV stream from `reader`; `name` is used in error messages.
    pub fn from_reader(
        reader: R,
        name: impl Into<PathBuf>,
        rate: SampleRate,
        chunk: ChunkDuration,
    ) -> Result<Self, Error> {
        let path = name.into();
        let reader = hound::WavReader::new(reader).map_err(|e| Error::wav(&path, e))?;
        let spec = reader.spec();
        let scale = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, bits @ 1..=32) => 1.0 / (1u64 << (bits - 1)) as f32,
            (hound::SampleFormat::Float, 32) => 1.0,
            (format, bits) => {
                return Err(Error::UnsupportedWav {
                    path,
                    reason: format!("{bits}-bit {format:?} samples are not supported"),
                });
            }
        };
        if spec.channels == 0 {
            return Err(Error::UnsupportedWav {
                path,
                reason: "the file declares 0 channels".into(),
            });
        }
        let file_rate = SampleRate::new(spec.sample_rate).map_err(|_| Error::UnsupportedWav {
            path: path.clone(),
            reason: format!("sample rate {} Hz", spec.sample_rate),
        })?;
        let resampler = Resampler::new(file_rate, rate)?;
        let frames_left = u64::from(reader.duration());
        Ok(Self {
            path,
            reader,
            spec,
            scale,
            frames_left,
            resampler,
            frame_buf: Vec::new(),
            mono: Vec::new(),
            resampled: Vec::new(),
            chunker: Rechunker::new(rate, chunk),
            done: false,
        })
    }

    /// The file's own format.
    pub fn file_spec(&self) -> hound::WavSpec {
        self.spec
    }

    /// Reads, downmixes and resamples about 10 ms of the file. Returns
    /// `false` at the end of the file.
    fn decode_some(&mut self) -> Result<bool, Error> {
        let channels = usize::from(self.spec.channels);
        let frames = (self.spec.sample_rate as usize / 100).max(1);
        let samples = frames * channels;
        self.frame_buf.clear();
        let path = &self.path;
        match self.spec.sample_format {
            hound::SampleFormat::Float => {
                for s in self.reader.samples::<f32>().take(samples) {
                    self.frame_buf.push(s.map_err(|e| Error::wav(path, e))?);
                }
            }
            hound::SampleFormat::Int => {
                for s in self.reader.samples::<i32>().take(samples) {
                    self.frame_buf
                        .push(s.map_err(|e| Error::wav(path, e))? as f32 * self.scale);
                }
            }
        }
        let read_frames = self.frame_buf.len() / channels;
        self.frames_left = self.frames_left.saturating_sub(read_frames as u64);
        self.mono.clear();
        downmix_into(&self.frame_buf, channels, &mut self.mono);
        self.resampled.clear();
        self.resampler.process(&self.mono, &mut self.resampled);
        let more = read_frames == frames && self.frames_left > 0;
        if !more {
            self.resampler.finish(&mut self.resampled);
        }
        self.chunker.push_f32(&self.resampled);
        Ok(more)
    }
}

impl<R: Read + Send> AudioSource for WavSource<R> {
    fn rate(&self) -> SampleRate {
        self.resampler.to_rate()
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        loop {
            if let Some(c) = self.chunker.pop() {
                return Ok(Some(c));
            }
            if self.done {
                return Ok(self.chunker.pop_rest());
            }
            self.done = !self.decode_some()?;
        }
    }
}

/// Writes mono PCM16 to a WAV file that stays readable if the process dies.
///
/// The header is rewritten and the file flushed every `sync_interval`
/// (1 s by default) of wall-clock time, so a crash loses at most that much.
/// [`AudioSink::finish`] finalizes the file; dropping the sink does too
/// (ignoring errors). On Ctrl-C the caller must call `finish` from its
/// signal handler path, because the default SIGINT action skips destructors.
pub struct WavSink<W: Write + Seek> {
    path: PathBuf,
    rate: SampleRate,
    writer: Option<hound::WavWriter<W>>,
    written: u64,
    sync_interval: Duration,
    last_sync: Instant,
}

impl<W: Write + Seek> std::fmt::Debug for WavSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("written", &self.written)
            .field("finished", &self.writer.is_none())
            .finish()
    }
}

impl WavSink<BufWriter<File>> {
    /// Creates (or truncates) `path` for mono 16-bit audio at `rate`.
    pub fn create(path: impl AsRef<Path>, rate: SampleRate) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = File::create(path)?;
        Self::from_writer(BufWriter::new(file), path, rate)
    }
}

impl<W: Write + Seek> WavSink<W> {
    /// Writes a WAV stream to `writer`; `name` is used in error messages.
    pub fn from_writer(
        writer: W,
        name: impl Into<PathBuf>,
        rate: SampleRate,
    ) -> Result<Self, Error> {
        let path = name.into();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate.hz(),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(writer, spec).map_err(|e| Error::wav(&path, e))?;
        Ok(Self {
            path,
            rate,
            writer: Some(writer),
            written: 0,
            sync_interval: Duration::from_secs(1),
            last_sync: Instant::now(),
        })
    }

    /// How often the header is brought up to date (default 1 s; zero means
    /// after every write).
    pub fn with_sync_interval(mut self, every: Duration) -> Self {
        self.sync_interval = every;
        self
    }

    /// Updates the header and flushes to the OS now: the file is valid and
    /// complete up to here even if the process is killed.
    pub fn sync(&mut self) -> Result<(), Error> {
        if let Some(w) = &mut self.writer {
            w.flush().map_err(|e| Error::wav(&self.path, e))?;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

impl<W: Write + Seek + Send> WavSink<W> {
    /// Appends `samples` at `rate` (which must be the file's), syncing the header when due.
    fn append(
        &mut self,
        rate: SampleRate,
        mut samples: impl ExactSizeIterator<Item = i16>,
    ) -> Result<(), Error> {
        if rate != self.rate {
            return Err(Error::RateMismatch {
                expected: self.rate,
                got: rate,
            });
        }
        let total = samples.len();
        let Self { writer, path, .. } = self;
        let w = writer.as_mut().ok_or_else(|| already_finished(path))?;
        let mut left = total;
        while left > 0 {
            let n = left.min(1 << 16);
            let mut w16 = w.get_i16_writer(n as u32);
            for s in samples.by_ref().take(n) {
                w16.write_sample(s);
            }
            w16.flush().map_err(|e| Error::wav(&*path, e))?;
            left -= n;
        }
        self.written += total as u64;
        if self.last_sync.elapsed() >= self.sync_interval {
            self.sync()?;
        }
        Ok(())
    }
}

fn already_finished(path: &Path) -> Error {
    Error::Io(std::io::Error::other(format!(
        "{} was already finished",
        path.display()
    )))
}

impl<W: Write + Seek + Send> AudioSink for WavSink<W> {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        self.append(rate, pcm.iter().copied())
    }

    /// Straight from the wire's bytes to the file: no intermediate buffer per chunk.
    fn write_le_bytes(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), Error> {
        if !bytes.len().is_multiple_of(2) {
            return Err(Error::OddPcmLength(bytes.len()));
        }
        self.append(
            rate,
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        )
    }

    /// A file has nothing queued: everything written is already in it.
    fn flush(&mut self) -> Duration {
        Duration::ZERO
    }

    fn status(&self) -> SinkStatus {
        SinkStatus {
            played: self.rate.duration_of(self.written),
            ..SinkStatus::default()
        }
    }

    fn finish(&mut self) -> Result<(), Error> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| Error::wav(&self.path, e))?;
        }
        Ok(())
    }
}
