// The two ways to reach the Live API, behind one interface. Both call `onEvent` with the relay's
// message shapes (`ready`, `inputTranscript`, `outputTranscript`, `text`, `interrupted`,
// `generationComplete`, `turnComplete`, `toolCall`, `toolCallCancellation`, `toolStarted`,
// `toolResult`, `toolFailed`, `toolCancelled`, `goAway`, `reconnecting`, `turnCut`, `moved`,
// `resume`, `closed`, `error`) plus `{type: 'audio', pcm: ArrayBuffer}` for 24 kHz PCM16
// replies, `{type: 'audioDropped', ms}` and `{type: 'ended'}`.
//
// Both survive a broken connection on their own, like gemlive's client does on the server: with
// a resumption handle, a close that retrying can fix (a dropped network, a server restart, the
// Live API's 1011s) is followed by new attempts, paced and bounded, that resume the session.
// Meanwhile the microphone's audio and the page's messages wait (a bounded amount: the person
// is told what could not wait), and typed questions the break left unanswered are asked again.

function b64encode(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function b64decode(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes.buffer;
}

async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const value = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(value.error || `HTTP ${res.status}`);
  return value;
}

// A close the page saw itself, explained by the server (the protocol crate's classification).
async function explainClose(code, reason) {
  try {
    return await postJson('/api/explain', { code, reason });
  } catch (_) {
    return {
      code, reason, retriable: true,
      hint: 'the connection ended; check that gemlive web is still running and the network is up',
    };
  }
}

// Reconnection pacing, as gemlive's transport does it: the first attempt after a connection that
// completed a turn or lived `stableMs` is immediate; then `initialMs` doubling up to `maxMs`,
// half of each wait random (pages cut off together do not come back together); the session ends
// after `attempts` failures in a row or `outageMs` without a connection.
const RETRY = { initialMs: 1000, maxMs: 15000, attempts: 8, outageMs: 120000, stableMs: 30000 };
// What waits for the next connection: at most this much microphone audio (the oldest goes
// first beyond it, and the person is told how much), and at most this many other messages.
const HELD_AUDIO_MS = 5000;
const HELD_MESSAGES = 50;
// How many times a typed question the break left unanswered is asked again.
const RESEND_LIMIT = 2;

// What both links share: the session across connections, the pacing of new attempts, what waits
// meanwhile, and the typed questions not yet answered. A link implements `dial()` (open a
// connection and say `connected()` once the session is ready on it), `transmit(item)` (send an
// item on it) and `hangUp()`.
class Link {
  constructor(onEvent, mode) {
    this.onEvent = onEvent;
    this.mode = mode;
    this.handle = null;
    this.live = false; // a connection is ready for messages
    this.everReady = false;
    this.ending = false;
    this.done = false;
    this.connectedAt = 0;
    this.answeredOnThisConnection = false;
    this.outage = null; // { since, failures }
    this.timer = null;
    this.held = []; // items waiting for a connection
    this.heldAudioMs = 0;
    this.droppedAudioMs = 0;
    this.pending = []; // typed questions not yet answered: { text, sends }
    this.turnOpen = false;
    this.goAwaySeen = false;
    this.stats = { heldAudioChunks: 0, droppedAudioMs: 0, resent: 0, outageMs: 0 };
  }

  open(settings, resume) {
    this.settings = settings;
    this.handle = resume || null;
    this.dial();
  }

  // The session is ready on a new connection.
  connected(ready) {
    const moved = this.everReady;
    this.everReady = true;
    this.live = true;
    this.connectedAt = performance.now();
    if (this.outage) this.stats.outageMs += this.connectedAt - this.outage.since;
    this.outage = null;
    this.goAwaySeen = false;
    this.answeredOnThisConnection = false;
    if (moved) this.onEvent({ type: 'moved' });
    else this.onEvent(ready);
    // Typed questions the break cut off, then what waited.
    for (const turn of this.pending) {
      turn.sends++;
      if (turn.sends > 1) this.stats.resent++;
      this.transmit({ text: turn.text });
    }
    const held = this.held;
    this.held = [];
    this.heldAudioMs = 0;
    for (const item of held) this.transmit(item);
    if (this.droppedAudioMs > 0) {
      this.onEvent({ type: 'audioDropped', ms: this.droppedAudioMs });
      this.droppedAudioMs = 0;
    }
  }

  // Every event of the session passes here on its way to the page.
  event(m) {
    if (m.type === 'generationComplete' || m.type === 'turnComplete') {
      this.pending = [];
      this.turnOpen = false;
      this.answeredOnThisConnection = true;
    }
    if (m.type === 'audio' || m.type === 'outputTranscript' || m.type === 'text') this.turnOpen = true;
    if (m.type === 'resume') this.handle = m.handle;
    if (m.type === 'goAway') this.goAwaySeen = true;
    this.onEvent(m);
  }

  // The connection ended without the session's end: resume on a new one, or end for good.
  async lost(close) {
    this.live = false;
    if (this.ending) {
      this.over(close);
      return;
    }
    if (!close.retriable || !this.handle || !this.everReady) {
      this.over(close);
      return;
    }
    const now = performance.now();
    const stable = this.answeredOnThisConnection || now - this.connectedAt >= RETRY.stableMs;
    if (this.outage) {
      this.outage.failures++;
    } else {
      this.outage = { since: now, failures: 0, stable };
      if (this.pending.length > 0 || this.turnOpen) {
        const turns = this.pending.map((t) => ({ text: t.text, resent: t.sends <= RESEND_LIMIT }));
        this.pending = this.pending.filter((t) => t.sends <= RESEND_LIMIT);
        this.onEvent({ type: 'turnCut', cause: close, turns });
      }
      this.turnOpen = false;
    }
    const { failures } = this.outage;
    const level = this.outage.stable ? failures : failures + 1;
    const base = level === 0 ? 0 : Math.min(RETRY.maxMs, RETRY.initialMs * 2 ** (level - 1));
    const delay = Math.round(base * (0.5 + 0.5 * Math.random()));
    if (failures >= RETRY.attempts || now + delay - this.outage.since >= RETRY.outageMs) {
      const tries = failures === 1 ? 'one attempt' : `${failures} attempts`;
      this.over({
        ...close,
        reason: `${close.reason || 'the connection ended'} (resuming failed after ${tries})`,
        hint: 'check the network, then press Resume to continue the conversation',
      });
      return;
    }
    this.onEvent({
      type: 'reconnecting', attempt: failures + 1, delayMs: delay, planned: this.goAwaySeen, cause: close,
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.ending) this.dial();
    }, delay);
  }

  // The session is over: said once.
  over(close) {
    clearTimeout(this.timer);
    this.live = false;
    if (this.done) return;
    this.done = true;
    if (close) this.onEvent({ type: 'closed', ...close });
    this.onEvent({ type: 'ended' });
  }

  // Sends now, or holds for the next connection.
  put(item) {
    if (this.live) {
      this.transmit(item);
      return;
    }
    if (item.audio) {
      this.held.push(item);
      this.stats.heldAudioChunks++;
      this.heldAudioMs += item.audio.byteLength / 32;
      while (this.heldAudioMs > HELD_AUDIO_MS) {
        const i = this.held.findIndex((h) => h.audio);
        const ms = this.held[i].audio.byteLength / 32;
        this.held.splice(i, 1);
        this.heldAudioMs -= ms;
        this.droppedAudioMs += ms;
        this.stats.droppedAudioMs += ms;
      }
    } else if (this.held.length < HELD_MESSAGES) {
      this.held.push(item);
    }
  }

  sendAudio(pcm) { this.put({ audio: pcm }); }

  sendText(text) {
    this.pending.push({ text, sends: this.live ? 1 : 0 });
    if (this.live) this.transmit({ text });
  }

  activityStart() { this.put({ activityStart: true }); }
  activityEnd() { this.put({ activityEnd: true }); }
  audioStreamEnd() { this.put({ audioStreamEnd: true }); }
  sendVideo(mimeType, data) {
    // Only the latest frame is worth sending late.
    if (!this.live) this.held = this.held.filter((h) => !h.video);
    this.put({ video: { mimeType, data } });
  }
  toolResponse(responses) { this.put({ toolResponse: responses }); }

  end() {
    this.ending = true;
    if (this.timer !== null) {
      this.over({ code: 1000, reason: '', hint: '', retriable: false });
      return;
    }
    this.hangUp();
  }
}

// Relay: the page talks to `gemlive web`, which holds the key and the Live session (and survives
// the Live connection's breaks itself, telling the page). A break of the page's own connection
// (the server restarted, the network dropped) is resumed with the sealed handle.
export class RelayLink extends Link {
  constructor(onEvent) {
    super(onEvent, 'relay');
    this.ws = null;
  }

  dial() {
    const url = new URL('/relay', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    let closedSeen = false;
    let refused = null;
    let failed = null; // a resume this connection could not do yet (the Live API's retriable close)
    ws.onopen = () => {
      opened = true;
      if (this.ending) ws.close(1000);
      else ws.send(JSON.stringify({ type: 'start', settings: this.settings, resume: this.handle }));
    };
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) {
        this.event({ type: 'audio', pcm: e.data });
        return;
      }
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      if (m.type === 'ready') {
        this.connected(m);
        return;
      }
      if (m.type === 'error' && !this.live) refused = m.message;
      if (m.type === 'closed' && !this.live && this.everReady && m.retriable) {
        // Resuming failed on this attempt (e.g. the old relay still held the Live connection):
        // another attempt follows, paced.
        failed = m;
        return;
      }
      if (m.type === 'closed') {
        closedSeen = true;
        this.live = false;
      }
      this.event(m);
    };
    ws.onclose = async (e) => {
      if (ws !== this.ws) return;
      this.live = false;
      if (closedSeen || this.ending) {
        this.over(null);
        return;
      }
      if (refused) {
        this.over({ code: e.code, reason: refused, hint: 'start a new conversation', retriable: false });
        return;
      }
      if (failed) {
        const { type: _, ...close } = failed;
        this.lost(close);
        return;
      }
      if (!opened && !this.everReady) {
        this.over({
          code: e.code, reason: 'the relay refused the connection',
          hint: 'open the page from the address gemlive web printed (other sites and host names are refused), and check that the server is running',
          retriable: false,
        });
        return;
      }
      // The relay itself went away: any instance with the same secret can resume.
      this.lost({ ...(await explainClose(e.code, e.reason)), retriable: true });
    };
  }

  transmit(item) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (item.audio) ws.send(item.audio);
    else if (item.text !== undefined) ws.send(JSON.stringify({ type: 'text', text: item.text }));
    else if (item.activityStart) ws.send('{"type":"activityStart"}');
    else if (item.activityEnd) ws.send('{"type":"activityEnd"}');
    else if (item.audioStreamEnd) ws.send('{"type":"audioStreamEnd"}');
    else if (item.video) ws.send(JSON.stringify({ type: 'video', ...item.video }));
    else if (item.toolResponse) ws.send(JSON.stringify({ type: 'toolResponse', responses: item.toolResponse }));
  }

  hangUp() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"end"}');
    else this.over(null);
  }
}

// Direct: the server mints a single-use token locking these settings; the page talks to the
// Live endpoint itself with the Live API's own messages, and keeps the session alive itself:
// after a `goAway` (once the model's turn is over) or a break, it resumes on a new connection
// with a fresh token and the latest handle.
export class DirectLink extends Link {
  constructor(onEvent) {
    super(onEvent, 'direct');
    this.ws = null;
    this.decoder = new TextDecoder();
    this.goAway = false;
  }

  async dial() {
    let grant;
    try {
      grant = await postJson('/api/token', this.settings);
    } catch (e) {
      if (this.ending) return;
      if (!this.everReady) {
        this.onEvent({ type: 'error', message: `no token: ${e.message}` });
        this.over(null);
        return;
      }
      this.lost({
        code: 0, reason: `no token: ${e.message}`, retriable: true,
        hint: 'check that gemlive web is still running',
      });
      return;
    }
    if (this.ending) return;
    this.viaRealtime = grant.textViaRealtimeInput;
    this.model = grant.setup.model;
    const ws = new WebSocket(`${grant.url}?access_token=${encodeURIComponent(grant.token)}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const resumed = !!this.handle;
    ws.onopen = () => {
      const setup = { ...grant.setup, sessionResumption: this.handle ? { handle: this.handle } : {} };
      ws.send(JSON.stringify({ setup }));
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      const text = typeof e.data === 'string' ? e.data : this.decoder.decode(e.data);
      let m;
      try {
        m = JSON.parse(text);
      } catch (_) {
        return;
      }
      this.translate(m, resumed);
    };
    ws.onclose = async (e) => {
      if (ws !== this.ws) return; // an old connection we moved away from
      this.live = false;
      const close = await explainClose(e.code, e.reason);
      if (ws !== this.ws) return;
      this.lost(close);
    };
  }

  // The server will end this connection: continue the session on a new one.
  move() {
    this.goAway = false;
    const old = this.ws;
    this.ws = null;
    this.live = false;
    old.close(1000);
    this.onEvent({
      type: 'reconnecting', attempt: 1, delayMs: 0, planned: true,
      cause: { code: 1000, reason: 'the Live API announced the end of this connection (goAway)', hint: '' },
    });
    this.dial();
  }

  translate(m, resumed) {
    const emit = (e) => this.event(e);
    if (m.setupComplete) this.connected({ type: 'ready', model: this.model, resumed });
    const sc = m.serverContent;
    if (sc) {
      if (sc.inputTranscription && sc.inputTranscription.text) {
        emit({ type: 'inputTranscript', text: sc.inputTranscription.text, finished: !!sc.inputTranscription.finished });
      }
      for (const part of (sc.modelTurn && sc.modelTurn.parts) || []) {
        if (part.inlineData && /^audio\/pcm/.test(part.inlineData.mimeType || '')) {
          emit({ type: 'audio', pcm: b64decode(part.inlineData.data) });
        } else if (part.text) {
          emit({ type: 'text', text: part.text, thought: !!part.thought });
        }
      }
      if (sc.outputTranscription && sc.outputTranscription.text) {
        emit({ type: 'outputTranscript', text: sc.outputTranscription.text });
      }
      if (sc.modelTurn) this.turnActive = true;
      if (sc.generationComplete) emit({ type: 'generationComplete' });
      if (sc.interrupted) emit({ type: 'interrupted' });
      if (sc.turnComplete) {
        this.turnActive = false;
        emit({ type: 'turnComplete' });
        if (this.goAway) this.move();
      }
    }
    if (m.toolCall) emit({ type: 'toolCall', calls: m.toolCall.functionCalls || [] });
    if (m.toolCallCancellation) emit({ type: 'toolCallCancellation', ids: m.toolCallCancellation.ids || [] });
    const r = m.sessionResumptionUpdate;
    if (r && r.resumable && r.newHandle) emit({ type: 'resume', handle: r.newHandle });
    if (m.goAway) {
      emit({ type: 'goAway', timeLeftMs: parseFloat(m.goAway.timeLeft || '0') * 1000 });
      if (this.handle) {
        this.goAway = true;
        if (!this.turnActive) this.move();
      }
    }
    if (m.voiceActivity) emit({ type: 'voiceActivity', start: m.voiceActivity.voiceActivityType === 'ACTIVITY_START' });
  }

  transmit(item) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const send = (obj) => ws.send(JSON.stringify(obj));
    if (item.audio) {
      send({ realtimeInput: { audio: { data: b64encode(item.audio), mimeType: 'audio/pcm;rate=16000' } } });
    } else if (item.text !== undefined) {
      if (this.viaRealtime) send({ realtimeInput: { text: item.text } });
      else send({ clientContent: { turns: [{ role: 'user', parts: [{ text: item.text }] }], turnComplete: true } });
    } else if (item.activityStart) send({ realtimeInput: { activityStart: {} } });
    else if (item.activityEnd) send({ realtimeInput: { activityEnd: {} } });
    else if (item.audioStreamEnd) send({ realtimeInput: { audioStreamEnd: true } });
    else if (item.video) send({ realtimeInput: { video: item.video } });
    else if (item.toolResponse) send({ toolResponse: { functionResponses: item.toolResponse } });
  }

  hangUp() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    else this.over({ code: 1000, reason: '', hint: '', retriable: false });
  }
}

export { b64encode };
