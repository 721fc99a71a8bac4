//! Raw PCM16 LE streams: stdin in, stdout out (`gemlive ... | aplay`).

use std::io::{ErrorKind, Read, Stdin, Stdout, Write};
use std::time::Duration;

use crate::pcm::{Rechunker, extend_from_le_bytes, i16_to_f32};
use crate::resample::Resampler;
use crate::{AudioSink, AudioSource, Chunk, ChunkDuration, Error, SampleRate, SinkStatus};

/// Reads mono PCM16 LE at a declared rate from any reader (e.g. stdin),
/// resamples it to the target rate and yields chunks; EOF ends the stream.
pub struct RawSource<R: Read> {
    reader: R,
    resampler: Resampler,
    bytes: Vec<u8>,
    filled: usize,
    samples: Vec<i16>,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    chunker: Rechunker,
    done: bool,
}

impl<R: Read> std::fmt::Debug for RawSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSource")
            .field("resampler", &self.resampler)
            .field("done", &self.done)
            .finish()
    }
}

impl RawSource<Stdin> {
    /// Standard input carrying `input_rate` audio, yielding 16 kHz chunks.
    pub fn stdin(input_rate: SampleRate, chunk: ChunkDuration) -> Result<Self, Error> {
        Self::new(std::io::stdin(), input_rate, SampleRate::LIVE_INPUT, chunk)
    }
}

impl<R: Read> RawSource<R> {
    /// `reader` carrying `input_rate` audio, yielding `chunk`s at `rate`.
    pub fn new(
        reader: R,
        input_rate: SampleRate,
        rate: SampleRate,
        chunk: ChunkDuration,
    ) -> Result<Self, Error> {
        Ok(Self {
            reader,
            resampler: Resampler::new(input_rate, rate)?,
            bytes: vec![0; read_len(input_rate)],
            filled: 0,
            samples: Vec::new(),
            mono: Vec::new(),
            resampled: Vec::new(),
            chunker: Rechunker::new(rate, chunk),
            done: false,
        })
    }

    fn read_some(&mut self) -> Result<(), Error> {
        let n = loop {
            match self.reader.read(&mut self.bytes[self.filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        self.resampled.clear();
        if n == 0 {
            self.done = true;
            if self.filled != 0 {
                return Err(Error::OddPcmLength(self.filled));
            }
            self.resampler.finish(&mut self.resampled);
        } else {
            let total = self.filled + n;
            let even = total & !1;
            self.samples.clear();
            extend_from_le_bytes(&self.bytes[..even], &mut self.samples)?;
            self.bytes.copy_within(even..total, 0);
            self.filled = total - even;
            self.mono.clear();
            self.mono
                .extend(self.samples.iter().map(|&s| i16_to_f32(s)));
            self.resampler.process(&self.mono, &mut self.resampled);
        }
        self.chunker.push_f32(&self.resampled);
        Ok(())
    }
}

/// Bytes asked of the reader at a time: about 100 ms of input, at most 8 KiB, at least one
/// sample. Resampling multiplies what one read brings by `rate / input_rate`: a whole 8 KiB of a
/// 1 Hz stream would have become 65 million samples at 16 kHz in one go.
fn read_len(input_rate: SampleRate) -> usize {
    (input_rate.hz() as usize / 10 * 2).clamp(2, 8192)
}

impl<R: Read + Send> AudioSource for RawSource<R> {
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
            self.read_some()?;
        }
    }
}

/// Writes mono PCM16 LE to any writer (e.g. stdout), flushing after every
/// write so a pipe reader such as `aplay -f S16_LE -r 24000 -c 1` gets audio
/// as it arrives.
#[derive(Debug)]
pub struct RawSink<W: Write> {
    writer: W,
    rate: SampleRate,
    written: u64,
    bytes: Vec<u8>,
}

impl RawSink<Stdout> {
    /// Standard output, for audio at `rate`.
    pub fn stdout(rate: SampleRate) -> Self {
        Self::new(std::io::stdout(), rate)
    }
}

impl<W: Write> RawSink<W> {
    /// `writer`, for audio at `rate`.
    pub fn new(writer: W, rate: SampleRate) -> Self {
        Self {
            writer,
            rate,
            written: 0,
            bytes: Vec::new(),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write + Send> AudioSink for RawSink<W> {
    fn rate(&self) -> SampleRate {
        self.rate
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        if rate != self.rate {
            return Err(Error::RateMismatch {
                expected: self.rate,
                got: rate,
            });
        }
        self.bytes.clear();
        self.bytes.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
        self.writer.write_all(&self.bytes)?;
        self.writer.flush()?;
        self.written += pcm.len() as u64;
        Ok(())
    }

    /// Bytes already written to the pipe cannot be taken back.
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
        self.writer.flush()?;
        Ok(())
    }
}
