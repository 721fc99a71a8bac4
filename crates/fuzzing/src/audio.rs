//! Audio input: WAV files and raw PCM16, decoded, downmixed and resampled into Live chunks.
//!
//! Besides never panicking, a source that reads its input to the end without an error yields
//! exactly `ceil(frames * to / from)` samples, in chunks of the configured size (the last one
//! shorter), all at the output rate.

use std::io::Cursor;

use audio::{AudioSource, ChunkDuration, SampleRate};

/// The output rate and chunk length a selector byte picks.
fn output(selector: u8) -> (SampleRate, ChunkDuration) {
    let rate = match selector % 3 {
        0 => SampleRate::LIVE_INPUT,
        1 => SampleRate::LIVE_OUTPUT,
        _ => SampleRate::new(48_000).unwrap_or(SampleRate::LIVE_INPUT),
    };
    let ms = [20, 40, 100][usize::from(selector / 3 % 3)];
    let chunk = ChunkDuration::from_millis(ms).unwrap_or_default();
    (rate, chunk)
}

/// Drains `source`; `Some(samples)` when it ended without an error.
fn drain(source: &mut impl AudioSource, chunk: ChunkDuration) -> Option<u64> {
    let rate = source.rate();
    let size = chunk.frames(rate);
    let mut total = 0u64;
    let mut short = false;
    loop {
        match source.next_chunk() {
            Ok(Some(c)) => {
                assert_eq!(c.rate, rate, "chunks come at the source's rate");
                assert!(!short, "only the last chunk is short");
                assert!(!c.samples.is_empty() && c.samples.len() <= size);
                short = c.samples.len() < size;
                total += c.samples.len() as u64;
            }
            Ok(None) => return Some(total),
            Err(_) => return None,
        }
    }
}

fn expected(frames: u64, from: SampleRate, to: SampleRate) -> u64 {
    (frames * u64::from(to.hz())).div_ceil(u64::from(from.hz()))
}

/// Input: one selector byte (output rate and chunk), then a WAV file.
pub(crate) fn wav(data: &[u8]) {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let (rate, chunk) = output(selector);
    let Ok(mut source) = audio::WavSource::from_reader(Cursor::new(file), "fuzz.wav", rate, chunk)
    else {
        return;
    };
    let spec = source.file_spec();
    let Some(total) = drain(&mut source, chunk) else {
        return;
    };
    let (Ok(reader), Ok(from)) = (
        hound::WavReader::new(Cursor::new(file)),
        SampleRate::new(spec.sample_rate),
    ) else {
        panic!("a file the source read must open again");
    };
    let frames = u64::from(reader.duration());
    assert_eq!(total, expected(frames, from, rate), "{spec:?}");
}

/// Rates a raw input's rate field maps to when it is above the highest rate.
const COMMON_RATES: [u32; 11] = [
    8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000,
];

/// Input: the input rate (u32 LE: any rate up to 768 kHz as is, larger values pick one of
/// [`COMMON_RATES`]), one selector byte, then PCM16 LE. Most random values pick a common rate:
/// a rate prime to the output rate is valid but costs rubato a second to plan its FFT.
pub(crate) fn raw(data: &[u8]) {
    let (Some(hz), Some(&selector)) = (data.get(..4), data.get(4)) else {
        return;
    };
    let hz = u32::from_le_bytes([hz[0], hz[1], hz[2], hz[3]]);
    let hz = if hz <= 768_000 {
        hz
    } else {
        COMMON_RATES[hz as usize % COMMON_RATES.len()]
    };
    let Ok(from) = SampleRate::new(hz) else {
        return;
    };
    let pcm = &data[5..];
    let (rate, chunk) = output(selector);
    let Ok(mut source) = audio::RawSource::new(Cursor::new(pcm), from, rate, chunk) else {
        return;
    };
    match drain(&mut source, chunk) {
        Some(total) => {
            assert!(pcm.len().is_multiple_of(2), "odd input is an error");
            assert_eq!(total, expected(pcm.len() as u64 / 2, from, rate));
        }
        None => assert!(!pcm.len().is_multiple_of(2), "only odd input is an error"),
    }
}
