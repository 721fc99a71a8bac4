//! The user's audio: a source read on its own thread, chunk by chunk, with the optional local
//! voice detector, into the session's loop.

use audio::{AudioSource, Chunk};
use tokio::sync::mpsc;

/// What the uplink thread reports.
#[derive(Debug)]
pub(crate) enum Up {
    /// The next chunk, at its source's rate.
    Chunk(Chunk),
    /// The local voice detector heard speech start (`true`) or end (`false`).
    #[cfg_attr(not(feature = "vad"), allow(dead_code))]
    Speech(bool),
    /// The source ended (a file or a pipe).
    End,
    /// The source failed.
    Failed(String),
}

/// The local voice detector, when the build has one.
#[cfg(feature = "vad")]
pub(crate) type Detector = audio::vad::VoiceDetector;
/// No local voice detector in this build.
#[cfg(not(feature = "vad"))]
pub(crate) type Detector = std::convert::Infallible;

/// Reads `source` on a new thread until it ends or the receiver is gone.
pub(crate) fn spawn(
    mut source: Box<dyn AudioSource>,
    detector: Option<Detector>,
) -> std::io::Result<mpsc::Receiver<Up>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("gemlive-uplink".into())
        .spawn(move || {
            #[cfg(feature = "vad")]
            let mut detector = detector;
            #[cfg(not(feature = "vad"))]
            let _ = detector;
            loop {
                let up = match source.next_chunk() {
                    Ok(Some(chunk)) => {
                        #[cfg(feature = "vad")]
                        if let Some(d) = &mut detector
                            && let Ok(Some(change)) = d.process(&chunk)
                        {
                            let started = change == audio::vad::VoiceEvent::SpeechStarted;
                            if tx.blocking_send(Up::Speech(started)).is_err() {
                                return;
                            }
                        }
                        Up::Chunk(chunk)
                    }
                    Ok(None) => {
                        let _ = tx.blocking_send(Up::End);
                        return;
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Up::Failed(e.to_string()));
                        return;
                    }
                };
                if tx.blocking_send(up).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}
