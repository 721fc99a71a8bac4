//! Raw PCM pipes, in-memory source and sink, and real-time pacing.

use std::io::Cursor;
use std::time::{Duration, Instant};

use gemlive_audio::{
    AudioSink, AudioSource, ChunkDuration, Error, MemSink, MemSource, Paced, RawSink, RawSource,
    SampleRate, pcm,
};

#[test]
fn raw_stdin_style_source_resamples_and_ends() {
    // 0.5 s of 24 kHz PCM16 LE, as `sox ... -t raw -` would pipe it.
    let samples: Vec<i16> = (0..12_000)
        .map(|i| ((i as f32 * 0.05).sin() * 10_000.0) as i16)
        .collect();
    let bytes = pcm::i16_to_le_bytes(&samples);
    let mut src = RawSource::new(
        Cursor::new(bytes),
        SampleRate::LIVE_OUTPUT,
        SampleRate::LIVE_INPUT,
        ChunkDuration::from_millis(100).unwrap(),
    )
    .unwrap();
    let mut total = 0;
    let mut n = 0;
    while let Some(c) = src.next_chunk().unwrap() {
        assert_eq!(c.rate, SampleRate::LIVE_INPUT);
        total += c.samples.len();
        n += 1;
    }
    assert_eq!((n, total), (5, 8_000));
}

#[test]
fn raw_source_passes_16k_through_bit_exact_across_odd_reads() {
    /// A reader that returns 3 bytes at a time, splitting samples.
    struct Dribble(Cursor<Vec<u8>>);
    impl std::io::Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(3);
            self.0.read(&mut buf[..n])
        }
    }
    let samples: Vec<i16> = (0..1_000).map(|i| (i * 37 - 16_000) as i16).collect();
    let bytes = pcm::i16_to_le_bytes(&samples);
    let rate = SampleRate::LIVE_INPUT;
    let mut src = RawSource::new(
        Dribble(Cursor::new(bytes.clone())),
        rate,
        rate,
        ChunkDuration::from_millis(20).unwrap(),
    )
    .unwrap();
    let mut got = Vec::new();
    while let Some(c) = src.next_chunk().unwrap() {
        got.extend(c.samples);
    }
    assert_eq!(got, samples);

    // A trailing half sample is an error, not silently dropped.
    let mut odd = bytes;
    odd.push(7);
    let mut src = RawSource::new(Cursor::new(odd), rate, rate, ChunkDuration::default()).unwrap();
    let end = loop {
        match src.next_chunk() {
            Ok(Some(_)) => {}
            other => break other,
        }
    };
    assert!(matches!(end, Err(Error::OddPcmLength(1))), "{end:?}");
}

#[test]
fn raw_sink_writes_le_bytes() {
    let mut sink = RawSink::new(Vec::new(), SampleRate::LIVE_OUTPUT);
    sink.write(SampleRate::LIVE_OUTPUT, &[1, -2, 300]).unwrap();
    sink.write_le_bytes(SampleRate::LIVE_OUTPUT, &[4, 0])
        .unwrap();
    assert!(matches!(
        sink.write(SampleRate::LIVE_INPUT, &[1]),
        Err(Error::RateMismatch { .. })
    ));
    assert_eq!(sink.played(), SampleRate::LIVE_OUTPUT.duration_of(4));
    sink.finish().unwrap();
    assert_eq!(sink.into_inner(), [1, 0, 0xfe, 0xff, 0x2c, 0x01, 4, 0]);
}

#[test]
fn mem_source_and_sink() {
    let rate = SampleRate::LIVE_INPUT;
    let mut src = MemSource::new(
        rate,
        vec![3; 1_000],
        ChunkDuration::from_millis(20).unwrap(),
    );
    let mut sink = MemSink::new(rate);
    let mut sizes = Vec::new();
    while let Some(c) = src.next_chunk().unwrap() {
        sizes.push(c.samples.len());
        sink.write(c.rate, &c.samples).unwrap();
    }
    assert_eq!(sizes, [320, 320, 320, 40]);
    assert_eq!(sink.samples(), &[3; 1_000][..]);
    assert_eq!(sink.played(), Duration::from_micros(62_500));
    assert!(!sink.is_finished());
    sink.finish().unwrap();
    assert!(sink.is_finished());
}

#[test]
fn paced_source_releases_chunks_in_real_time() {
    let rate = SampleRate::LIVE_INPUT;
    // 300 ms in 50 ms chunks.
    let inner = MemSource::new(
        rate,
        vec![0; 4_800],
        ChunkDuration::from_millis(50).unwrap(),
    );
    let mut src = Paced::new(inner);
    let t = Instant::now();
    let mut times = Vec::new();
    while let Some(c) = src.next_chunk().unwrap() {
        assert_eq!(c.duration(), Duration::from_millis(50));
        times.push(t.elapsed());
    }
    assert_eq!(times.len(), 6);
    for (i, at) in times.iter().enumerate() {
        let due = Duration::from_millis(50 * (i as u64 + 1));
        assert!(*at >= due, "chunk {i} at {at:?}, due {due:?}");
        assert!(
            *at < due + Duration::from_millis(150),
            "chunk {i} late: {at:?}"
        );
    }
}

#[test]
fn boxed_sources_and_sinks_work_as_trait_objects() {
    let rate = SampleRate::LIVE_INPUT;
    let mut src: Box<dyn AudioSource> =
        Box::new(MemSource::new(rate, vec![1; 640], ChunkDuration::default()));
    let mut sink: Box<dyn AudioSink> = Box::new(MemSink::new(rate));
    while let Some(c) = src.next_chunk().unwrap() {
        sink.write(c.rate, &c.samples).unwrap();
    }
    assert_eq!(sink.played(), Duration::from_millis(40));
    assert_eq!(sink.queued(), Duration::ZERO);
    assert_eq!(sink.flush(), Duration::ZERO);
    sink.finish().unwrap();
}

#[test]
fn rates_are_validated() {
    assert!(matches!(SampleRate::new(0), Err(Error::InvalidRate(0))));
    assert_eq!(
        SampleRate::try_from(16_000).unwrap(),
        SampleRate::LIVE_INPUT
    );
    assert_eq!(SampleRate::LIVE_OUTPUT.pcm_mime(), "audio/pcm;rate=24000");
    assert_eq!(SampleRate::LIVE_OUTPUT.to_string(), "24000 Hz");
    assert_eq!(
        SampleRate::LIVE_INPUT.frames_in(Duration::from_millis(20)),
        320
    );
}

/// Counts the bytes a source has taken from its reader.
struct Counted<R> {
    inner: R,
    taken: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A raw source reads about 100 ms of input at a time, whatever the rate: one read of a very low
/// rate stream used to expand into minutes of resampled audio at once (a fuzzer timeout: 1.6 KB
/// at 1 Hz held the source for more than 10 s).
#[test]
fn raw_source_reads_a_little_input_at_a_time() {
    for (hz, most) in [(1, 2), (100, 20), (16_000, 3_200), (48_000, 8_192)] {
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reader = Counted {
            inner: Cursor::new(vec![0u8; 64 * 1024]),
            taken: taken.clone(),
        };
        let mut src = RawSource::new(
            reader,
            SampleRate::new(hz).unwrap(),
            SampleRate::LIVE_INPUT,
            ChunkDuration::default(),
        )
        .unwrap();
        let chunk = src.next_chunk().unwrap().expect("a chunk");
        assert_eq!(chunk.samples.len(), 640);
        let taken = taken.load(std::sync::atomic::Ordering::Relaxed);
        assert!(taken <= most, "{hz} Hz: read {taken} bytes");
    }
}
