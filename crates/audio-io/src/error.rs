//! The crate's one error type.

use std::path::PathBuf;
use std::time::Duration;

use crate::SampleRate;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a file, stdin or stdout.
    #[error("audio I/O: {0}")]
    Io(#[from] std::io::Error),

    /// A WAV file could not be read or written.
    #[error("WAV file {path}: {source}")]
    Wav {
        /// The file (`-` when it is not a named file).
        path: PathBuf,
        /// What hound reported.
        source: hound::Error,
    },

    /// A WAV file uses an encoding this crate cannot decode.
    #[error(
        "unsupported WAV file {path}: {reason}; convert it to 16-bit PCM first, e.g. `sox in.wav -b 16 out.wav`"
    )]
    UnsupportedWav {
        /// The file.
        path: PathBuf,
        /// What is unsupported about it.
        reason: String,
    },

    /// A sample rate of 0 Hz (or otherwise unusable) was given.
    #[error("invalid sample rate {0} Hz")]
    InvalidRate(u32),

    /// A chunk length outside the allowed range was asked for.
    #[error("invalid chunk duration {0:?}: must be between 20 ms and 100 ms")]
    InvalidChunk(Duration),

    /// Audio at one rate was given to something that was opened for another.
    #[error("sample rate mismatch: expected {expected}, got {got}")]
    RateMismatch {
        /// The rate the sink or processor was opened with.
        expected: SampleRate,
        /// The rate of the audio it was given.
        got: SampleRate,
    },

    /// Raw PCM16 data with an odd number of bytes.
    #[error("raw PCM16 data has an odd number of bytes ({0})")]
    OddPcmLength(usize),

    /// The resampler could not be built for these rates.
    #[error("cannot resample {from} to {to}: {reason}")]
    Resampler {
        /// Input rate.
        from: SampleRate,
        /// Output rate.
        to: SampleRate,
        /// rubato's explanation.
        reason: String,
    },

    /// An audio device could not be found, opened or run.
    #[error("audio device: {0}")]
    Device(String),

    /// An audio stream stopped delivering or consuming audio.
    #[error("audio stream stalled: no progress for {0:?}")]
    Stalled(Duration),

    /// The voice activity detector or echo canceller rejected its input.
    #[error("audio processing: {0}")]
    Processing(String),
}

impl Error {
    pub(crate) fn wav(path: impl Into<PathBuf>, source: hound::Error) -> Self {
        let path = path.into();
        match source {
            hound::Error::IoError(e) => Self::Io(e),
            hound::Error::Unsupported => Self::UnsupportedWav {
                path,
                reason:
                    "this WAV encoding (e.g. mu-law, A-law, ADPCM or 64-bit float) is not supported"
                        .into(),
            },
            hound::Error::FormatError(reason) if reason.contains("bits per sample") => {
                Self::UnsupportedWav {
                    path,
                    reason: reason.into(),
                }
            }
            source => Self::Wav { path, source },
        }
    }
}
