//! Function calls and their responses: BLOCKING calls hold the turn until answered,
//! NON_BLOCKING ones let it go on and their results are scheduled (`SILENT`, `WHEN_IDLE`,
//! `INTERRUPT`).

use std::time::Instant;

use serde_json::Value;

use super::{Call, Engine, FnResponse, Out, PendingCall};
use crate::responder::{Role, Turn};
use crate::tools;

impl Engine {
    /// Makes the calls `(name, args, non_blocking)` in one `toolCall`.
    pub(super) fn call_functions(&mut self, now: Instant, calls: Vec<(String, Value, bool)>) {
        if self.turn.is_none() {
            self.start_turn(now, true);
        }
        let mut out = Vec::new();
        let mut started = Vec::new();
        for (name, args, non_blocking) in calls {
            self.mem.call_counter += 1;
            let id = if self.setup.vertex {
                crate::ids::uuid(self.opts.seed, "call", self.mem.call_counter)
            } else {
                format!(
                    "fc_{}",
                    crate::ids::mix(self.opts.seed ^ self.mem.call_counter)
                        % 10_000_000_000_000_000_000
                )
            };
            self.mem.pending_calls.push(PendingCall {
                id: id.clone(),
                name: name.clone(),
                non_blocking,
            });
            if non_blocking {
                started.push(name.clone());
            } else if let Some(t) = self.turn.as_mut() {
                t.awaiting.push(id.clone());
            }
            if self.setup.layout.code_before_tool_call {
                self.push_turn(now, Out::Code(tools::as_python(&name, &args)), None, false);
            }
            out.push(Call { id, name, args });
        }
        self.push(now, Out::ToolCall(out));
        let blocking = self.turn.as_ref().is_some_and(|t| !t.awaiting.is_empty());
        if !started.is_empty() && !blocking {
            let text = format!("I have started {}.", started.join(" and "));
            self.continue_speaking(now, text, None, None);
        } else if self.setup.layout.tool_call_ends_turn {
            // Vertex completes the model turn right after the call; the response starts a new one.
            self.complete_silent_turn(now);
        }
    }

    pub(super) fn tool_responses(&mut self, responses: Vec<FnResponse>, now: Instant) {
        let mut results = Vec::new();
        let mut unmatched = Vec::new();
        for r in responses {
            let pos = self
                .mem
                .pending_calls
                .iter()
                .position(|c| Some(&c.id) == r.id.as_ref())
                .or_else(|| {
                    r.id.is_none()
                        .then(|| {
                            self.mem
                                .pending_calls
                                .iter()
                                .position(|c| Some(&c.name) == r.name.as_ref())
                        })
                        .flatten()
                });
            let Some(pos) = pos else {
                unmatched.push(r);
                continue;
            };
            let call = if r.will_continue {
                self.mem.pending_calls[pos].clone()
            } else {
                self.mem.pending_calls.remove(pos)
            };
            if let Some(t) = self.turn.as_mut() {
                t.awaiting.retain(|id| *id != call.id);
            }
            let summary = tools::summarize(&call.name, &r.response);
            let scheduling = r.scheduling.clone().or_else(|| {
                r.response
                    .get("scheduling")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase)
            });
            results.push((call, summary, scheduling));
        }
        if self.setup.layout.answer_unmatched_tool_response {
            for r in unmatched {
                self.unmatched_response(&r, now);
            }
        }
        for (call, summary, scheduling) in results {
            self.remember(Turn {
                role: Role::User,
                text: format!("[{} result: {summary}]", call.name),
            });
            if !call.non_blocking {
                if self.turn.as_ref().is_some_and(|t| t.awaiting.is_empty()) {
                    // The model turn goes on: a resumption point, and 3.1's `{}` opening.
                    self.resumption_point(now);
                    if self.setup.layout.empty_content_opens_turn {
                        self.push(now, Out::EmptyContent);
                    }
                    self.continue_speaking(now, summary, None, None);
                } else if self.turn.is_none() {
                    self.speak_turn(now, summary, None, None);
                }
                continue;
            }
            match scheduling.as_deref() {
                Some("SILENT") => {}
                Some("INTERRUPT") => {
                    self.interrupt(now);
                    self.speak_turn(now, summary, None, None);
                }
                _ if self.turn.is_some() => self.idle_results.push_back(summary),
                _ => self.speak_turn(now, summary, None, None),
            }
        }
    }

    /// A response to no pending call, answered as Vertex does: like a user turn.
    fn unmatched_response(&mut self, r: &FnResponse, now: Instant) {
        let name = r.name.as_deref().unwrap_or("function");
        let summary = tools::summarize(name, &r.response);
        self.remember(Turn {
            role: Role::User,
            text: format!("[{name} result: {summary}]"),
        });
        self.user_activity(now);
        if self.turn.is_none() {
            self.speak_turn(now, summary, None, None);
        }
    }
}
