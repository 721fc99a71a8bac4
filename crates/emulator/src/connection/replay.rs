//! Replay mode: a recorded session's server frames, played as the client sends its frames.

use std::time::Instant;

use bytes::Bytes;
use http_server::Request;
use tokio::sync::watch;

use super::{Connection, End, Recv};
use crate::auth::authenticate;
use crate::close::Close;
use crate::config::later;
use crate::recorder::Direction;
use crate::replay::{Replay, Step, client_frames_needed};

impl Connection {
    /// Plays the recording's server frames, waiting for the client's frames in between.
    pub(super) async fn replay(
        &mut self,
        req: &Request,
        replay: &Replay,
        mut stop: watch::Receiver<bool>,
    ) -> End {
        let steps = replay.connection(usize::try_from(self.number - 1).unwrap_or(usize::MAX));
        let needed = client_frames_needed(steps);
        let origin = steps.first().and_then(|s| s.at).unwrap_or_default();
        let mut received = 0;
        let start = Instant::now();
        for (i, step) in steps.iter().enumerate() {
            if matches!(step.step, Step::Client(_)) {
                continue;
            }
            while received < needed[i] {
                let frame = tokio::select! {
                    _ = stop.changed() => return End::Close(Close::going_away()),
                    r = self.recv() => r,
                };
                match frame {
                    Recv::Frame(bytes) => {
                        self.recorder.frame(Direction::Client, &bytes);
                        let config = &self.shared.config;
                        if received == 0
                            && let Err(close) = authenticate(
                                req,
                                &self.endpoint,
                                config.api_key.as_deref(),
                                config.anonymous,
                            )
                        {
                            return End::Close(close);
                        }
                        received += 1;
                    }
                    Recv::Refused(end) => return end,
                    Recv::Closed => return End::ClientClosed,
                    Recv::Gone => return End::Gone,
                }
            }
            if let Some(at) = step.at {
                let due = later(start, self.shared.config.paced(at.saturating_sub(origin)));
                tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            }
            let frame = match &step.step {
                Step::Server(v) => {
                    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
                    text.push('\n');
                    text
                }
                Step::ServerRaw(raw) => raw.clone(),
                Step::Close { code, reason } => {
                    return End::Close(Close::new(*code, reason.clone()));
                }
                Step::Drop => return End::Drop,
                Step::Client(_) => return End::Gone,
            };
            if !self.send_raw(Bytes::from(frame)).await {
                return End::Gone;
            }
        }
        loop {
            tokio::select! {
                _ = stop.changed() => return End::Close(Close::going_away()),
                r = self.recv() => match r {
                    Recv::Frame(bytes) => self.recorder.frame(Direction::Client, &bytes),
                    Recv::Refused(end) => return end,
                    Recv::Closed => return End::ClientClosed,
                    Recv::Gone => return End::Gone,
                },
            }
        }
    }
}
