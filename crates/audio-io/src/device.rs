//! Microphone and speaker through cpal (feature `device`).
//!
//! Devices open in their native sample format and rate. The callbacks only
//! convert samples, push or pop an `rtrb` ring and bump atomics; resampling
//! to and from the Live API rates happens on the caller's thread.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, SupportedBufferSize, SupportedStreamConfig};

use crate::pcm::Rechunker;
use crate::playback::{PlaybackConfig, PlaybackOutput, playback_buffer};
use crate::resample::Resampler;
use crate::{
    AudioSink, AudioSource, Chunk, ChunkDuration, Error, PlaybackSink, SampleRate, SinkStatus,
    SourceStats,
};

/// Which device to open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceSelector {
    /// The host's default device.
    #[default]
    Default,
    /// The n-th device of [`input_devices`] / [`output_devices`].
    Index(usize),
    /// A device whose name or id equals this, or else the only one whose
    /// name contains it (case-insensitive).
    Name(String),
}

impl FromStr for DeviceSelector {
    type Err = std::convert::Infallible;
    /// `""` or `default` selects the default, digits an index, anything
    /// else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(if s.is_empty() || s.eq_ignore_ascii_case("default") {
            Self::Default
        } else if let Ok(i) = s.parse() {
            Self::Index(i)
        } else {
            Self::Name(s.to_owned())
        })
    }
}

impl fmt::Display for DeviceSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Index(i) => write!(f, "#{i}"),
            Self::Name(n) => write!(f, "{n:?}"),
        }
    }
}

/// A device's native format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFormat {
    /// Native rate.
    pub rate: SampleRate,
    /// Channels.
    pub channels: u16,
    /// Native sample format (i16, f32, ...).
    pub sample_format: SampleFormat,
}

/// One entry of a device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Position in the list, usable as [`DeviceSelector::Index`].
    pub index: usize,
    /// Human-readable name.
    pub name: String,
    /// Host-qualified id, e.g. `alsa:default`.
    pub id: String,
    /// Whether it is the host's default device for this direction.
    pub is_default: bool,
    /// Its default format, if it could be queried.
    pub format: Option<DeviceFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Input,
    Output,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
        }
    }
}

fn device_err(context: impl fmt::Display, e: impl fmt::Display) -> Error {
    Error::Device(format!("{context}: {e}"))
}

fn describe(d: &cpal::Device) -> (String, String) {
    let id = d.id().map(|i| i.to_string()).unwrap_or_default();
    let name = d
        .description()
        .map(|x| x.name().to_owned())
        .unwrap_or_else(|_| d.to_string());
    (name, id)
}

fn default_config(d: &cpal::Device, dir: Direction) -> Result<SupportedStreamConfig, cpal::Error> {
    match dir {
        Direction::Input => d.default_input_config(),
        Direction::Output => d.default_output_config(),
    }
}

fn format_of(c: &SupportedStreamConfig) -> Option<DeviceFormat> {
    Some(DeviceFormat {
        rate: SampleRate::new(c.sample_rate()).ok()?,
        channels: c.channels(),
        sample_format: c.sample_format(),
    })
}

fn list(dir: Direction) -> Result<Vec<(cpal::Device, DeviceInfo)>, Error> {
    let host = cpal::default_host();
    let default_id = match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
    .and_then(|d| d.id().ok());
    let devices = match dir {
        Direction::Input => host.input_devices(),
        Direction::Output => host.output_devices(),
    }
    .map_err(|e| device_err(format_args!("listing {} devices", dir.name()), e))?;
    Ok(devices
        .enumerate()
        .map(|(index, d)| {
            let (name, id) = describe(&d);
            let is_default = default_id
                .as_ref()
                .is_some_and(|x| d.id().ok().as_ref() == Some(x));
            let format = default_config(&d, dir).ok().as_ref().and_then(format_of);
            (
                d,
                DeviceInfo {
                    index,
                    name,
                    id,
                    is_default,
                    format,
                },
            )
        })
        .collect())
}

/// The input devices of the default host.
pub fn input_devices() -> Result<Vec<DeviceInfo>, Error> {
    Ok(list(Direction::Input)?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

/// The output devices of the default host.
pub fn output_devices() -> Result<Vec<DeviceInfo>, Error> {
    Ok(list(Direction::Output)?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

fn select(sel: &DeviceSelector, dir: Direction) -> Result<(cpal::Device, String), Error> {
    if *sel == DeviceSelector::Default {
        let host = cpal::default_host();
        let d = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or_else(|| Error::Device(format!("no default {} device", dir.name())))?;
        let (name, _) = describe(&d);
        return Ok((d, name));
    }
    let mut all = list(dir)?;
    let pos = match sel {
        DeviceSelector::Default => None,
        DeviceSelector::Index(i) => all.iter().position(|(_, info)| info.index == *i),
        DeviceSelector::Name(n) => {
            let exact = all.iter().position(|(_, i)| {
                i.name == *n || i.id == *n || i.id.split_once(':').is_some_and(|(_, id)| id == n)
            });
            exact.or_else(|| {
                let lower = n.to_lowercase();
                let hits: Vec<usize> = all
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, i))| {
                        i.name.to_lowercase().contains(&lower)
                            || i.id.to_lowercase().contains(&lower)
                    })
                    .map(|(p, _)| p)
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            })
        }
    };
    match pos {
        Some(p) => {
            let (d, info) = all.swap_remove(p);
            Ok((d, info.name))
        }
        None => {
            let names: Vec<String> = all
                .iter()
                .map(|(_, i)| format!("{}: {} ({})", i.index, i.name, i.id))
                .collect();
            Err(Error::Device(format!(
                "no single {} device matches {sel}; available: {}",
                dir.name(),
                names.join(", ")
            )))
        }
    }
}

/// Picks `BufferSize::Fixed` for `want` if the device allows it.
fn buffer_size(
    supported: &SupportedBufferSize,
    rate: SampleRate,
    want: Option<Duration>,
) -> cpal::BufferSize {
    match (want, supported) {
        (Some(d), SupportedBufferSize::Range { min, max }) => {
            let frames = u32::try_from(rate.frames_in(d)).unwrap_or(u32::MAX);
            if (*min..=*max).contains(&frames) {
                cpal::BufferSize::Fixed(frames)
            } else {
                cpal::BufferSize::Default
            }
        }
        _ => cpal::BufferSize::Default,
    }
}

/// Non-fatal errors a stream's backend reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamErrors {
    /// Over- or underruns of the device buffer.
    pub xruns: u64,
    /// Other transient backend errors.
    pub other: u64,
    /// The first of those, for diagnostics.
    pub first_other: Option<String>,
}

/// Stream health, shared with the callbacks.
#[derive(Debug, Default)]
struct Health {
    xruns: AtomicU64,
    errors: AtomicU64,
    overruns: AtomicU64,
    failed: AtomicBool,
    error: OnceLock<String>,
    first_other: OnceLock<String>,
}

impl Health {
    /// The error callback (not the real-time data callback). Xruns and
    /// transient backend errors are counted; a device that went away or a
    /// stream that was invalidated is fatal, and later calls report it.
    fn on_error(self: &Arc<Self>) -> impl FnMut(cpal::Error) + Send + 'static {
        let h = Arc::clone(self);
        move |e: cpal::Error| match e.kind() {
            cpal::ErrorKind::Xrun => {
                h.xruns.fetch_add(1, Ordering::Relaxed);
            }
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::StreamInvalidated => {
                let _ = h.error.set(e.to_string());
                h.failed.store(true, Ordering::Release);
            }
            _ => {
                h.errors.fetch_add(1, Ordering::Relaxed);
                let _ = h.first_other.get_or_init(|| e.to_string());
            }
        }
    }

    fn stream_errors(&self) -> StreamErrors {
        StreamErrors {
            xruns: self.xruns.load(Ordering::Relaxed),
            other: self.errors.load(Ordering::Relaxed),
            first_other: self.first_other.get().cloned(),
        }
    }

    fn check(&self, what: &str) -> Result<(), Error> {
        if self.failed.load(Ordering::Acquire) {
            let msg = self.error.get().map_or("stream failed", String::as_str);
            return Err(Error::Device(format!("{what}: {msg}")));
        }
        Ok(())
    }
}

/// Settings of a [`MicSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MicConfig {
    /// Rate of the chunks: 16 kHz.
    pub rate: SampleRate,
    /// Length of the chunks: 40 ms.
    pub chunk: ChunkDuration,
    /// Capacity of the capture ring: 2 s.
    pub ring: Duration,
    /// Device period to ask for (None: the device's default): 20 ms.
    pub period: Option<Duration>,
    /// How long `next_chunk` waits for audio before [`Error::Stalled`]: 5 s.
    pub stall_timeout: Duration,
}

impl Default for MicConfig {
    fn default() -> Self {
        Self {
            rate: SampleRate::LIVE_INPUT,
            chunk: ChunkDuration::default(),
            ring: Duration::from_secs(2),
            period: Some(Duration::from_millis(20)),
            stall_timeout: Duration::from_secs(5),
        }
    }
}

/// The microphone as an [`AudioSource`]: native format in the callback,
/// downmixed into a ring, resampled to 16 kHz in `next_chunk`.
pub struct MicSource {
    _stream: cpal::Stream,
    name: String,
    format: DeviceFormat,
    consumer: rtrb::Consumer<f32>,
    health: Arc<Health>,
    resampler: Resampler,
    chunker: Rechunker,
    buf: Vec<f32>,
    resampled: Vec<f32>,
    stall_timeout: Duration,
    #[cfg(feature = "aec")]
    aec: Option<MicAec>,
}

#[cfg(feature = "aec")]
struct MicAec {
    canceller: crate::aec::EchoCanceller,
    reference: EchoReference,
    resampler: Resampler,
    far: Vec<f32>,
    far_resampled: Vec<f32>,
    cleaned: Vec<f32>,
}

impl fmt::Debug for MicSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicSource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("rate", &self.resampler.to_rate())
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    health: &Arc<Health>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let scale = 1.0 / channels as f32;
    let h = Arc::clone(health);
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let frames = data.len() / channels;
            let n = producer.slots().min(frames);
            if let Ok(chunk) = producer.write_chunk_uninit(n) {
                chunk.fill_from_iter(data.chunks_exact(channels).map(|f| {
                    f.iter()
                        .map(|&s| <f32 as FromSample<T>>::from_sample_(s))
                        .sum::<f32>()
                        * scale
                }));
            }
            if n < frames {
                h.overruns.fetch_add((frames - n) as u64, Ordering::Relaxed);
            }
        },
        health.on_error(),
        None,
    )
}

fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut output: PlaybackOutput,
    health: &Arc<Health>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            output.fill_interleaved(data, channels, <T as FromSample<f32>>::from_sample_);
        },
        health.on_error(),
        None,
    )
}

macro_rules! dispatch {
    ($fmt:expr, $build:ident, $($arg:expr),*) => {
        match $fmt {
            SampleFormat::I8 => $build::<i8>($($arg),*),
            SampleFormat::I16 => $build::<i16>($($arg),*),
            SampleFormat::I24 => $build::<cpal::I24>($($arg),*),
            SampleFormat::I32 => $build::<i32>($($arg),*),
            SampleFormat::I64 => $build::<i64>($($arg),*),
            SampleFormat::U8 => $build::<u8>($($arg),*),
            SampleFormat::U16 => $build::<u16>($($arg),*),
            SampleFormat::U24 => $build::<cpal::U24>($($arg),*),
            SampleFormat::U32 => $build::<u32>($($arg),*),
            SampleFormat::U64 => $build::<u64>($($arg),*),
            SampleFormat::F32 => $build::<f32>($($arg),*),
            SampleFormat::F64 => $build::<f64>($($arg),*),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other} is not supported"),
            )),
        }
    };
}

impl MicSource {
    /// Opens the selected input device in its native format and starts it.
    pub fn open(selector: &DeviceSelector, config: MicConfig) -> Result<Self, Error> {
        let (device, name) = select(selector, Direction::Input)?;
        let supported = device
            .default_input_config()
            .map_err(|e| device_err(format_args!("input device {name}"), e))?;
        let format = format_of(&supported)
            .ok_or_else(|| Error::Device(format!("input device {name} reports rate 0")))?;
        let stream_config = cpal::StreamConfig {
            channels: format.channels,
            sample_rate: format.rate.hz(),
            buffer_size: buffer_size(supported.buffer_size(), format.rate, config.period),
        };
        let (producer, consumer) = rtrb::RingBuffer::new(format.rate.frames_in(config.ring).max(1));
        let health = Arc::new(Health::default());
        let stream = dispatch!(
            format.sample_format,
            build_input,
            &device,
            stream_config,
            producer,
            &health
        )
        .map_err(|e| device_err(format_args!("opening input device {name}"), e))?;
        stream
            .play()
            .map_err(|e| device_err(format_args!("starting input device {name}"), e))?;
        Ok(Self {
            _stream: stream,
            name,
            format,
            consumer,
            health,
            resampler: Resampler::new(format.rate, config.rate)?,
            chunker: Rechunker::new(config.rate, config.chunk),
            buf: Vec::new(),
            resampled: Vec::new(),
            stall_timeout: config.stall_timeout,
            #[cfg(feature = "aec")]
            aec: None,
        })
    }

    /// Removes the speaker's echo from the captured audio, using what the
    /// speaker actually played (see [`SpeakerSink::take_echo_reference`]).
    /// Echo cancellation runs at the chunk rate, after resampling.
    #[cfg(feature = "aec")]
    pub fn with_echo_canceller(mut self, reference: EchoReference) -> Result<Self, Error> {
        let rate = self.resampler.to_rate();
        self.aec = Some(MicAec {
            canceller: crate::aec::EchoCanceller::new(rate)?,
            resampler: Resampler::new(reference.rate, rate)?,
            reference,
            far: Vec::new(),
            far_resampled: Vec::new(),
            cleaned: Vec::new(),
        });
        Ok(self)
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The device's native format.
    pub fn device_format(&self) -> DeviceFormat {
        self.format
    }

    /// Device xruns and other non-fatal stream errors reported by the backend.
    pub fn stream_errors(&self) -> StreamErrors {
        self.health.stream_errors()
    }

    /// Drops audio captured but not yet returned (e.g. after push-to-talk).
    pub fn clear(&mut self) {
        let n = self.consumer.slots();
        if let Ok(c) = self.consumer.read_chunk(n) {
            c.commit_all();
        }
        self.resampler.reset();
        self.chunker.clear();
    }

    /// Moves what the callback captured through the resampler (and echo
    /// canceller) into the chunker. Returns how many device samples it took.
    fn drain(&mut self) -> Result<usize, Error> {
        let n = self.consumer.slots();
        if n == 0 {
            return Ok(0);
        }
        self.buf.clear();
        if let Ok(c) = self.consumer.read_chunk(n) {
            let (a, b) = c.as_slices();
            self.buf.extend_from_slice(a);
            self.buf.extend_from_slice(b);
            c.commit_all();
        }
        self.resampled.clear();
        self.resampler.process(&self.buf, &mut self.resampled);
        #[cfg(feature = "aec")]
        if let Some(aec) = &mut self.aec {
            aec.far.clear();
            let m = aec.reference.consumer.slots();
            if let Ok(c) = aec.reference.consumer.read_chunk(m) {
                let (a, b) = c.as_slices();
                aec.far.extend_from_slice(a);
                aec.far.extend_from_slice(b);
                c.commit_all();
            }
            aec.far_resampled.clear();
            aec.resampler.process(&aec.far, &mut aec.far_resampled);
            aec.canceller.render(&aec.far_resampled)?;
            aec.cleaned.clear();
            aec.canceller.capture(&self.resampled, &mut aec.cleaned)?;
            std::mem::swap(&mut self.resampled, &mut aec.cleaned);
        }
        self.chunker.push_f32(&self.resampled);
        Ok(n)
    }
}

impl AudioSource for MicSource {
    fn rate(&self) -> SampleRate {
        self.resampler.to_rate()
    }

    /// Blocks until a chunk has been captured. Never ends by itself.
    fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        let mut last = Instant::now();
        loop {
            if let Some(c) = self.chunker.pop() {
                return Ok(Some(c));
            }
            self.health.check(&self.name)?;
            if self.drain()? > 0 {
                last = Instant::now();
            } else if last.elapsed() >= self.stall_timeout {
                return Err(Error::Stalled(self.stall_timeout));
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            overrun_samples: self.health.overruns.load(Ordering::Relaxed),
        }
    }
}

/// What the speaker actually played (mono, at the device rate), for an echo
/// canceller.
pub struct EchoReference {
    /// Device rate of the samples.
    pub rate: SampleRate,
    consumer: rtrb::Consumer<f32>,
}

impl fmt::Debug for EchoReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoReference")
            .field("rate", &self.rate)
            .field("available", &self.consumer.slots())
            .finish()
    }
}

impl EchoReference {
    /// Takes up to `out.len()` samples; returns how many.
    pub fn read(&mut self, out: &mut [f32]) -> usize {
        let n = self.consumer.slots().min(out.len());
        if let Ok(c) = self.consumer.read_chunk(n) {
            let (a, b) = c.as_slices();
            out[..a.len()].copy_from_slice(a);
            out[a.len()..a.len() + b.len()].copy_from_slice(b);
            c.commit_all();
        }
        n
    }
}

/// Settings of a [`SpeakerSink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerConfig {
    /// Prebuffer gate and ring size.
    pub playback: PlaybackConfig,
    /// Device period to ask for (None: the device's default): 20 ms. A
    /// flush silences output within one period (plus the device's own
    /// buffer, two periods with cpal's ALSA host). Shorter periods stop
    /// faster but drop out sooner on a busy machine: through PulseAudio on a
    /// loaded 2-core machine 10 ms glitched, 40 ms never did.
    pub period: Option<Duration>,
    /// Keep a copy of what was played for an echo canceller.
    pub echo_reference: bool,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            playback: PlaybackConfig::default(),
            period: Some(Duration::from_millis(20)),
            echo_reference: false,
        }
    }
}

/// The speaker as an [`AudioSink`]: a [`PlaybackSink`] whose output side
/// runs in a cpal output callback in the device's native format.
pub struct SpeakerSink {
    sink: PlaybackSink,
    _stream: cpal::Stream,
    name: String,
    format: DeviceFormat,
    health: Arc<Health>,
    echo: Option<EchoReference>,
}

impl fmt::Debug for SpeakerSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpeakerSink")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("sink", &self.sink)
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl SpeakerSink {
    /// Opens the selected output device for audio arriving at `input_rate`
    /// (e.g. [`SampleRate::LIVE_OUTPUT`]) and starts it (silent until audio
    /// is written).
    pub fn open(
        selector: &DeviceSelector,
        input_rate: SampleRate,
        config: SpeakerConfig,
    ) -> Result<Self, Error> {
        let (device, name) = select(selector, Direction::Output)?;
        let supported = device
            .default_output_config()
            .map_err(|e| device_err(format_args!("output device {name}"), e))?;
        let format = format_of(&supported)
            .ok_or_else(|| Error::Device(format!("output device {name} reports rate 0")))?;
        let stream_config = cpal::StreamConfig {
            channels: format.channels,
            sample_rate: format.rate.hz(),
            buffer_size: buffer_size(supported.buffer_size(), format.rate, config.period),
        };
        let (queue, mut output) = playback_buffer(format.rate, config.playback);
        let echo = config.echo_reference.then(|| {
            let (p, c) = rtrb::RingBuffer::new(format.rate.frames_in(Duration::from_secs(2)));
            output.set_echo_reference(p);
            EchoReference {
                rate: format.rate,
                consumer: c,
            }
        });
        let health = Arc::new(Health::default());
        let stream = dispatch!(
            format.sample_format,
            build_output,
            &device,
            stream_config,
            output,
            &health
        )
        .map_err(|e| device_err(format_args!("opening output device {name}"), e))?;
        stream
            .play()
            .map_err(|e| device_err(format_args!("starting output device {name}"), e))?;
        let sink = Self {
            sink: PlaybackSink::new(queue, input_rate)?,
            _stream: stream,
            name,
            format,
            health,
            echo,
        };
        sink.wait_running(Duration::from_secs(3))?;
        Ok(sink)
    }

    /// Waits until the stream runs smoothly: callbacks arrive and the
    /// backend has reported no error for 100 ms. ALSA's pulse plugin, for
    /// one, reports errors and loses audio while its stream is starting.
    fn wait_running(&self, timeout: Duration) -> Result<(), Error> {
        let start = Instant::now();
        let mut calm_since = (
            self.sink.callbacks(),
            self.health.stream_errors(),
            Instant::now(),
        );
        loop {
            self.health.check(&self.name)?;
            let (calls, errors) = (self.sink.callbacks(), self.health.stream_errors());
            if errors != calm_since.1 {
                calm_since = (calls, errors, Instant::now());
            } else if calls >= calm_since.0 + 3
                && calm_since.2.elapsed() >= Duration::from_millis(100)
            {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(Error::Stalled(timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The device's name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The device's native format.
    pub fn device_format(&self) -> DeviceFormat {
        self.format
    }

    /// The copy of what was played, if [`SpeakerConfig::echo_reference`] was set.
    pub fn take_echo_reference(&mut self) -> Option<EchoReference> {
        self.echo.take()
    }

    /// Device xruns and other non-fatal stream errors reported by the backend.
    pub fn stream_errors(&self) -> StreamErrors {
        self.health.stream_errors()
    }
}

impl AudioSink for SpeakerSink {
    fn rate(&self) -> SampleRate {
        self.sink.rate()
    }

    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        self.health.check(&self.name)?;
        self.sink.write(rate, pcm)
    }

    fn flush(&mut self) -> Duration {
        self.sink.flush()
    }

    fn status(&self) -> SinkStatus {
        self.sink.status()
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.health.check(&self.name)?;
        self.sink.finish()
    }
}
