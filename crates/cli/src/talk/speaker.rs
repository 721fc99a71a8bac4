//! Where the model's speech plays: a device (feature `device`), or a simulated speaker that
//! consumes the playback buffer in real time, so that a session without a sound card still
//! plays, gets interrupted and measures what was heard like one with a speaker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use audio::playback::playback_buffer;
use audio::{AudioSink, Error, PlaybackConfig, PlaybackSink, SampleRate, SinkStatus};

/// The period of the simulated speaker's callback.
const PERIOD: Duration = Duration::from_millis(10);

/// A speaker with no device: a thread plays the buffer out in real time, 10 ms per callback,
/// into nothing.
#[derive(Debug)]
pub(crate) struct VirtualSpeaker {
    sink: PlaybackSink,
    stop: Arc<AtomicBool>,
    clock: Option<JoinHandle<()>>,
}

impl VirtualSpeaker {
    pub(crate) fn start() -> Result<Self, Error> {
        let rate = SampleRate::LIVE_OUTPUT;
        let (queue, mut output) = playback_buffer(rate, PlaybackConfig::default());
        let stop = Arc::new(AtomicBool::new(false));
        let clock = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("gemlive-virtual-speaker".into())
                .spawn(move || {
                    let mut buf = vec![0.0f32; rate.frames_in(PERIOD)];
                    let start = Instant::now();
                    let mut due = start;
                    while !stop.load(Ordering::Relaxed) {
                        output.fill(&mut buf);
                        due += PERIOD;
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                    }
                })?
        };
        Ok(Self {
            sink: PlaybackSink::new(queue, rate)?,
            stop,
            clock: Some(clock),
        })
    }
}

impl AudioSink for VirtualSpeaker {
    fn rate(&self) -> SampleRate {
        self.sink.rate()
    }
    fn write(&mut self, rate: SampleRate, pcm: &[i16]) -> Result<(), Error> {
        self.sink.write(rate, pcm)
    }
    fn flush(&mut self) -> Duration {
        self.sink.flush()
    }
    fn status(&self) -> SinkStatus {
        self.sink.status()
    }
    fn finish(&mut self) -> Result<(), Error> {
        self.sink.finish()
    }
}

impl Drop for VirtualSpeaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(c) = self.clock.take() {
            let _ = c.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_in_real_time_and_stops_within_a_callback_on_flush() {
        let mut speaker = VirtualSpeaker::start().unwrap();
        let rate = SampleRate::LIVE_OUTPUT;
        speaker.write(rate, &vec![1000; 24_000 * 2]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let played = speaker.played();
        // 100 ms prebuffer, then real time: about 400 ms by now.
        assert!(
            played > Duration::from_millis(300) && played < Duration::from_millis(520),
            "{played:?}"
        );
        let dropped = speaker.flush();
        assert!(dropped > Duration::from_millis(1400), "{dropped:?}");
        std::thread::sleep(Duration::from_millis(30));
        let after = speaker.played();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(speaker.played(), after);
        assert!(
            after - played <= Duration::from_millis(40),
            "{:?}",
            after - played
        );
        assert_eq!(speaker.queued(), Duration::ZERO);
    }
}
