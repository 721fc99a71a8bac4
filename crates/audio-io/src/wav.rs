//! WAV files: a source that reads any PCM WAV hound can decode and a
//! crash-safe sink.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
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
///
/// The file is the canonical 44-byte header followed by the samples, and
/// [`AudioSink::write_le_bytes`] copies the wire's little-endian bytes into it
/// as they are (a WAV file's samples are little-endian too): no per-sample
/// conversion.
pub struct WavSink<W: Write + Seek> {
    path: PathBuf,
    rate: SampleRate,
    /// `None` once finished.
    writer: Option<W>,
    /// Samples written.
    written: u64,
    /// `write`'s conversion to bytes, reused.
    bytes: Vec<u8>,
    sync_interval: Duration,
    last_sync: Instant,
}

/// The size of the canonical PCM header: `RIFF` chunk header, `WAVE`, a
/// 16-byte `fmt ` chunk and the `data` chunk header.
const HEADER_LEN: u64 = 44;

/// The most sample bytes a WAV file can describe: the RIFF size (a `u32`)
/// counts the header after its first 8 bytes as well. Even, so that it ends on
/// a whole sample.
const MAX_DATA_LEN: u64 = (u32::MAX as u64 - (HEADER_LEN - 8)) & !1;

/// [`WavSink::create`]'s buffer: 27 chunks of 200 ms at 24 kHz (9,600 bytes
/// each) per `write` system call, where the standard 8 KiB makes one call per
/// chunk. Writing an hour of them (172.8 MB) took 0.07 s of CPU with 8 KiB,
/// 0.05 s with 64 KiB and 0.03 to 0.04 s with 256 KiB (ext4, this repository's
/// 2-core VM). A realtime session syncs every second long before it fills.
const WRITE_BUFFER: usize = 256 * 1024;

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
        Self::from_writer(BufWriter::with_capacity(WRITE_BUFFER, file), path, rate)
    }
}

impl<W: Write + Seek> WavSink<W> {
    /// Writes a WAV stream to `writer` (from its start); `name` is used in
    /// error messages.
    pub fn from_writer(
        mut writer: W,
        name: impl Into<PathBuf>,
        rate: SampleRate,
    ) -> Result<Self, Error> {
        writer.seek(SeekFrom::Start(0))?;
        writer.write_all(&header(rate.hz(), 0))?;
        Ok(Self {
            path: name.into(),
            rate,
            writer: Some(writer),
            written: 0,
            bytes: Vec::new(),
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
            update_header(w, self.written * 2)?;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Appends `bytes` (little-endian PCM16 at `rate`, which must be the
    /// file's), syncing the header when due.
    fn append(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), Error> {
        if rate != self.rate {
            return Err(Error::RateMismatch {
                expected: self.rate,
                got: rate,
            });
        }
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| already_finished(&self.path))?;
        let len = bytes.len() as u64;
        if self.written * 2 + len > MAX_DATA_LEN {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "{}: a WAV file holds at most {MAX_DATA_LEN} bytes of audio",
                    self.path.display()
                ),
            )));
        }
        w.write_all(bytes)?;
        self.written += len / 2;
        if self.last_sync.elapsed() >= self.sync_interval {
            self.sync()?;
        }
        Ok(())
    }
}

/// The 44-byte header of a mono PCM16 file at `hz` with `data_len` bytes of samples.
fn header(hz: u32, data_len: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0; HEADER_LEN as usize];
    h[..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_len(data_len).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // channels
    h[24..28].copy_from_slice(&hz.to_le_bytes());
    h[28..32].copy_from_slice(&(hz * 2).to_le_bytes()); // bytes per second
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // bytes per frame
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// The RIFF chunk's size field: everything after its first 8 bytes.
fn riff_len(data_len: u32) -> u32 {
    data_len + (HEADER_LEN as u32 - 8)
}

/// Writes the two sizes for `data_len` bytes of samples (at most
/// [`MAX_DATA_LEN`]) into the header, puts the position back at the end of the
/// samples and flushes: the samples reach the writer before the sizes that
/// cover them.
fn update_header<W: Write + Seek>(w: &mut W, data_len: u64) -> std::io::Result<()> {
    let data_len = u32::try_from(data_len).map_err(std::io::Error::other)?;
    w.seek(SeekFrom::Start(4))?;
    w.write_all(&riff_len(data_len).to_le_bytes())?;
    w.seek(SeekFrom::Start(HEADER_LEN - 4))?;
    w.write_all(&data_len.to_le_bytes())?;
    w.seek(SeekFrom::Start(HEADER_LEN + u64::from(data_len)))?;
    w.flush()
}

impl<W: Write + Seek> Drop for WavSink<W> {
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            let _ = update_header(&mut w, self.written * 2);
        }
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
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        bytes.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
        let result = self.append(rate, &bytes);
        self.bytes = bytes;
        result
    }

    /// Straight from the wire's bytes to the file: no conversion, no buffer per chunk.
    fn write_le_bytes(&mut self, rate: SampleRate, bytes: &[u8]) -> Result<(), Error> {
        if !bytes.len().is_multiple_of(2) {
            return Err(Error::OddPcmLength(bytes.len()));
        }
        self.append(rate, bytes)
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
        if let Some(mut w) = self.writer.take() {
            update_header(&mut w, self.written * 2)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// The same file, byte for byte, as hound writes for the same samples.
    #[test]
    fn sink_writes_what_hound_writes() {
        let rate = SampleRate::LIVE_OUTPUT;
        let samples: Vec<i16> = (0..5_000)
            .map(|i| (i * 37 % 65_536 - 32_768) as i16)
            .collect();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate.hz(),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut theirs = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut theirs, spec).unwrap();
        for &s in &samples {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();

        let mut ours = Cursor::new(Vec::new());
        let mut sink = WavSink::from_writer(&mut ours, "ours.wav", rate).unwrap();
        sink.write(rate, &samples[..1_000]).unwrap();
        sink.sync().unwrap();
        sink.write_le_bytes(rate, &crate::pcm::i16_to_le_bytes(&samples[1_000..]))
            .unwrap();
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(ours.into_inner(), theirs.into_inner());
    }

    /// Counts what is written and keeps nothing: a 4 GiB file without 4 GiB.
    #[derive(Default)]
    struct Discard {
        pos: u64,
    }

    impl Write for Discard {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.pos += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Discard {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            let SeekFrom::Start(at) = to else {
                return Err(std::io::Error::other("only absolute seeks"));
            };
            self.pos = at;
            Ok(at)
        }
    }

    #[test]
    fn sink_refuses_audio_beyond_what_a_header_can_describe() {
        let rate = SampleRate::LIVE_OUTPUT;
        let mut sink = WavSink::from_writer(Discard::default(), "big.wav", rate)
            .unwrap()
            .with_sync_interval(Duration::from_secs(3600));
        let block = vec![0u8; 1 << 26];
        let blocks = MAX_DATA_LEN / block.len() as u64;
        for _ in 0..blocks {
            sink.write_le_bytes(rate, &block).unwrap();
        }
        let rest = (MAX_DATA_LEN - blocks * block.len() as u64) as usize;
        sink.write_le_bytes(rate, &block[..rest]).unwrap();
        let err = sink.write_le_bytes(rate, &[0, 0]).unwrap_err();
        assert!(err.to_string().contains("at most"), "{err}");
        sink.sync().unwrap();
        assert_eq!(
            sink.writer.as_ref().map(|w| w.pos),
            Some(HEADER_LEN + MAX_DATA_LEN)
        );
        assert_eq!(sink.status().played, rate.duration_of(MAX_DATA_LEN / 2));
    }
}
