//! WAV round trips in every supported format, errors for unsupported ones,
//! and the sink's crash safety.

use std::f64::consts::TAU;
use std::path::Path;
use std::time::Duration;

use gemlive_audio::{
    AudioSink, AudioSource, ChunkDuration, Error, SampleRate, WavSink, WavSource, pcm,
};

const TONE_HZ: f64 = 440.0;
const AMP: f64 = 0.5;

/// Writes `secs` of a 440 Hz tone at `AMP` on every channel.
fn write_tone(path: &Path, spec: hound::WavSpec, secs: f64) -> usize {
    let frames = (f64::from(spec.sample_rate) * secs) as usize;
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        let x = AMP * (TAU * TONE_HZ * i as f64 / f64::from(spec.sample_rate)).sin();
        for _ in 0..spec.channels {
            match spec.sample_format {
                hound::SampleFormat::Float => w.write_sample(x as f32).unwrap(),
                hound::SampleFormat::Int => {
                    let full = f64::from(1u32 << (spec.bits_per_sample - 1));
                    let v = (x * full).round() as i32;
                    match spec.bits_per_sample {
                        8 => w.write_sample(v as i8).unwrap(),
                        16 => w.write_sample(v as i16).unwrap(),
                        _ => w.write_sample(v).unwrap(),
                    }
                }
            }
        }
    }
    w.finalize().unwrap();
    frames
}

fn read_all(src: &mut impl AudioSource) -> Vec<Vec<i16>> {
    let mut chunks = Vec::new();
    while let Some(c) = src.next_chunk().unwrap() {
        assert_eq!(c.rate, src.rate());
        chunks.push(c.samples);
    }
    assert!(
        src.next_chunk().unwrap().is_none(),
        "end of stream is sticky"
    );
    chunks
}

fn zero_crossing_freq(x: &[i16], rate: u32) -> f64 {
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (x.len() as f64 / f64::from(rate))
}

#[test]
fn every_supported_format_decodes_to_16k_mono_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (8_000, 1, 8, hound::SampleFormat::Int),
        (22_050, 1, 16, hound::SampleFormat::Int),
        (44_100, 2, 24, hound::SampleFormat::Int),
        (16_000, 1, 32, hound::SampleFormat::Int),
        (48_000, 2, 32, hound::SampleFormat::Float),
        (32_000, 6, 16, hound::SampleFormat::Int),
        (24_000, 2, 8, hound::SampleFormat::Int),
        (11_025, 6, 32, hound::SampleFormat::Float),
    ];
    let chunk = ChunkDuration::from_millis(20).unwrap();
    for (rate, channels, bits, format) in cases {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: format,
        };
        let path = dir
            .path()
            .join(format!("t{rate}_{channels}_{bits}_{format:?}.wav"));
        let frames = write_tone(&path, spec, 0.73);
        let mut src = WavSource::open(&path, chunk).unwrap();
        assert_eq!(src.rate(), SampleRate::LIVE_INPUT);
        assert_eq!(src.file_spec(), spec);
        let chunks = read_all(&mut src);
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| c.len() == 320), "{path:?}");
        assert!(!last.is_empty() && last.len() <= 320);
        let all: Vec<i16> = chunks.concat();
        let expected = (frames as u64 * 16_000).div_ceil(u64::from(rate));
        assert_eq!(all.len() as u64, expected, "{path:?}");
        let mid = &all[800..all.len() - 800];
        let level = pcm::rms_dbfs(mid);
        // A 0.5 sine is -9.03 dBFS.
        assert!((level + 9.03).abs() < 0.3, "{path:?}: {level} dBFS");
        let f = zero_crossing_freq(mid, 16_000);
        assert!((f - TONE_HZ).abs() < 3.0, "{path:?}: {f} Hz");
    }
}

#[test]
fn sink_then_source_is_bit_exact_at_16k() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exact.wav");
    let samples: Vec<i16> = (0..16_123)
        .map(|i| ((i * 7919) % 65_536 - 32_768) as i16)
        .collect();
    let mut sink = WavSink::create(&path, SampleRate::LIVE_INPUT).unwrap();
    for piece in samples.chunks(1_000) {
        sink.write(SampleRate::LIVE_INPUT, piece).unwrap();
    }
    assert_eq!(sink.played(), Duration::from_nanos(1_007_687_500));
    assert_eq!(sink.flush(), Duration::ZERO);
    sink.finish().unwrap();
    sink.finish().unwrap();
    let mut src = WavSource::open(&path, ChunkDuration::from_millis(100).unwrap()).unwrap();
    let chunks = read_all(&mut src);
    assert_eq!(chunks.len(), 11);
    assert_eq!(chunks.concat(), samples);
}

#[test]
fn model_reply_at_24k_round_trips_through_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reply.wav");
    let reply: Vec<i16> = (0..4_800).map(|i| (i % 200) as i16 * 100).collect();
    let mut sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT).unwrap();
    sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &pcm::i16_to_le_bytes(&reply))
        .unwrap();
    assert!(matches!(
        sink.write(SampleRate::LIVE_INPUT, &reply),
        Err(Error::RateMismatch { .. })
    ));
    assert!(matches!(
        sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &[1, 2, 3]),
        Err(Error::OddPcmLength(3))
    ));
    sink.finish().unwrap();
    let r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.spec().sample_rate, 24_000);
    assert_eq!(r.spec().channels, 1);
    let back: Vec<i16> = r.into_samples().map(Result::unwrap).collect();
    assert_eq!(back, reply);
}

/// A minimal WAV header + data with an arbitrary format tag and bit depth.
fn raw_wav(format_tag: u16, bits: u16, data: &[u8]) -> Vec<u8> {
    let channels = 1u16;
    let rate = 16_000u32;
    let block = channels * bits / 8;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    v.extend_from_slice(&block.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn unsupported_files_say_how_to_convert() {
    let dir = tempfile::tempdir().unwrap();
    let chunk = ChunkDuration::default();
    for (name, tag, bits) in [
        ("f64.wav", 3u16, 64u16),
        ("mulaw.wav", 7, 8),
        ("alaw.wav", 6, 8),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, raw_wav(tag, bits, &[0; 64])).unwrap();
        let err = WavSource::open(&path, chunk).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedWav { .. }),
            "{name}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("sox in.wav -b 16 out.wav"), "{name}: {msg}");
        assert!(msg.contains(name), "{msg}");
    }
    // Not a WAV file at all: a plain format error.
    let path = dir.path().join("junk.wav");
    std::fs::write(&path, b"definitely not RIFF").unwrap();
    let err = WavSource::open(&path, chunk).unwrap_err();
    assert!(matches!(err, Error::Wav { .. }), "{err:?}");
    // Missing file: I/O.
    assert!(matches!(
        WavSource::open(dir.path().join("missing.wav"), chunk),
        Err(Error::Io(_))
    ));
}

#[test]
fn truncated_file_yields_what_is_there_or_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_tone(&path, spec, 0.5);
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() / 2 + 1]).unwrap();
    let mut src = WavSource::open(&path, ChunkDuration::default()).unwrap();
    let mut got = 0;
    let end = loop {
        match src.next_chunk() {
            Ok(Some(c)) => got += c.samples.len(),
            other => break other,
        }
    };
    assert!(got > 3_000, "decoded the first half ({got})");
    assert!(
        matches!(end, Err(Error::Io(_)) | Err(Error::Wav { .. })),
        "{end:?}"
    );
}

/// The header written by a periodic sync must describe the audio up to it,
/// even if the process then dies without finalizing (simulated by leaking
/// the sink: no destructor, no BufWriter flush, like `abort()`).
#[test]
fn sink_stays_valid_without_finalize() {
    let dir = tempfile::tempdir().unwrap();
    let rate = SampleRate::LIVE_OUTPUT;

    // Explicit sync after 1 s, then 0.5 s more that never gets synced.
    let path = dir.path().join("synced.wav");
    let mut sink = WavSink::create(&path, rate)
        .unwrap()
        .with_sync_interval(Duration::from_secs(3600));
    sink.write(rate, &[1_000; 24_000]).unwrap();
    sink.sync().unwrap();
    sink.write(rate, &[2_000; 12_000]).unwrap();
    std::mem::forget(sink);
    let r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.duration(), 24_000);
    assert!(
        r.into_samples::<i16>()
            .map(Result::unwrap)
            .all(|s| s == 1_000)
    );

    // Automatic sync on every write.
    let path = dir.path().join("auto.wav");
    let mut sink = WavSink::create(&path, rate)
        .unwrap()
        .with_sync_interval(Duration::ZERO);
    for _ in 0..10 {
        sink.write(rate, &[3; 2_400]).unwrap();
    }
    std::mem::forget(sink);
    let r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.duration(), 24_000);

    // Without any sync the header says nothing was written: this is what
    // the periodic sync prevents.
    let path = dir.path().join("unsynced.wav");
    let mut sink = WavSink::create(&path, rate)
        .unwrap()
        .with_sync_interval(Duration::from_secs(3600));
    sink.write(rate, &[3; 24_000]).unwrap();
    std::mem::forget(sink);
    let len = hound::WavReader::open(&path)
        .map(|r| r.duration())
        .unwrap_or(0);
    assert_eq!(len, 0);
}

#[test]
fn sink_finalizes_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop.wav");
    {
        let mut sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT).unwrap();
        sink.write(SampleRate::LIVE_OUTPUT, &[5; 2_400]).unwrap();
    }
    assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 2_400);
}

#[test]
fn large_writes_from_bytes_span_several_sample_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    let reply: Vec<i16> = (0..150_001).map(|i| (i % 3_000) as i16 - 1_500).collect();
    let mut sink = WavSink::create(&path, SampleRate::LIVE_OUTPUT).unwrap();
    sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &pcm::i16_to_le_bytes(&reply))
        .unwrap();
    assert_eq!(sink.played(), SampleRate::LIVE_OUTPUT.duration_of(150_001));
    sink.finish().unwrap();
    let back: Vec<i16> = hound::WavReader::open(&path)
        .unwrap()
        .into_samples()
        .map(Result::unwrap)
        .collect();
    assert_eq!(back, reply);
}

/// A float WAV (format 3) may hold NaN or infinite samples: they become
/// silence, never a panic, at the Live rate (no resampling) and at 44.1 kHz
/// (through the resampler, whose FFT used to panic on them).
#[test]
fn non_finite_float_samples_decode_without_panicking() {
    let values = [
        0.25f32,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.25,
        f32::from_bits(0x7fc0_0001),
    ];
    for rate in [16_000u32, 44_100] {
        let data: Vec<u8> = values
            .iter()
            .cycle()
            .take(rate as usize / 5)
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut wav = raw_wav(3, 32, &data);
        wav[24..28].copy_from_slice(&rate.to_le_bytes());
        wav[28..32].copy_from_slice(&(rate * 4).to_le_bytes());
        let mut src = WavSource::from_reader(
            std::io::Cursor::new(wav),
            "nan.wav",
            SampleRate::LIVE_INPUT,
            ChunkDuration::default(),
        )
        .unwrap();
        let chunks = read_all(&mut src);
        let samples: usize = chunks.iter().map(Vec::len).sum();
        assert_eq!(samples, 3_200, "{rate} Hz: 200 ms at 16 kHz");
        if rate == 16_000 {
            let first: Vec<i16> = chunks[0][..6].to_vec();
            assert_eq!(first, [8_192, 0, 0, 0, -8_192, 0], "{rate} Hz");
        }
    }
}
