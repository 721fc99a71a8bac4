// The two ways to reach the Live API, behind one interface. Both call `onEvent` with the relay's
// message shapes (`ready`, `inputTranscript`, `outputTranscript`, `text`, `interrupted`,
// `generationComplete`, `turnComplete`, `toolCall`, `toolCallCancellation`, `goAway`, `moved`, `resume`,
// `closed`, `error`) plus `{type: 'audio', pcm: ArrayBuffer}` for 24 kHz PCM16 replies.

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
    return { code, reason, hint: 'the connection ended; reconnect to continue', retriable: true };
  }
}

// Relay: the page talks to `gemlive web`, which holds the key and the Live session.
export class RelayLink {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.ws = null;
    this.closedSeen = false;
    this.mode = 'relay';
  }

  open(settings, resume) {
    const url = new URL('/relay', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'start', settings, resume: resume || null }));
    ws.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) {
        this.onEvent({ type: 'audio', pcm: e.data });
        return;
      }
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      if (m.type === 'closed') this.closedSeen = true;
      this.onEvent(m);
    };
    ws.onclose = async (e) => {
      if (this.closedSeen) {
        this.onEvent({ type: 'ended' });
        return;
      }
      if (e.code === 1006 && !this.everOpen) {
        this.onEvent({
          type: 'closed', code: e.code, reason: 'the relay refused the connection',
          hint: 'open the page from the address gemlive web printed (other sites and host names are refused), and check that the server is running',
          retriable: false,
        });
      } else {
        this.onEvent({ type: 'closed', ...(await explainClose(e.code, e.reason)) });
      }
      this.onEvent({ type: 'ended' });
    };
    ws.addEventListener('open', () => { this.everOpen = true; });
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  sendAudio(pcm) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(pcm);
  }

  sendText(text) { this.send({ type: 'text', text }); }
  activityStart() { this.send({ type: 'activityStart' }); }
  activityEnd() { this.send({ type: 'activityEnd' }); }
  audioStreamEnd() { this.send({ type: 'audioStreamEnd' }); }
  sendVideo(mimeType, data) { this.send({ type: 'video', mimeType, data }); }
  toolResponse(responses) { this.send({ type: 'toolResponse', responses }); }
  end() { this.send({ type: 'end' }); }
}

// Direct: the server mints a single-use token locking these settings; the page talks to the
// Live endpoint itself with the Live API's own messages. After a `goAway` (once the model's turn
// is over) it moves to a new connection with a fresh token and the latest handle.
export class DirectLink {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.ws = null;
    this.mode = 'direct';
    this.decoder = new TextDecoder();
    this.handle = null;
    this.turnActive = false;
    this.goAway = false;
    this.ended = false;
  }

  async open(settings, resume) {
    this.settings = settings;
    this.handle = resume || null;
    await this.connect(false);
  }

  async connect(moving) {
    let grant;
    try {
      grant = await postJson('/api/token', this.settings);
    } catch (e) {
      this.onEvent({ type: 'error', message: `no token: ${e.message}` });
      if (!moving) this.onEvent({ type: 'ended' });
      return;
    }
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
      const text = typeof e.data === 'string' ? e.data : this.decoder.decode(e.data);
      let m;
      try {
        m = JSON.parse(text);
      } catch (_) {
        return;
      }
      if (m.setupComplete && moving) {
        this.onEvent({ type: 'moved' });
        return;
      }
      this.translate(m, resumed);
    };
    ws.onclose = async (e) => {
      if (ws !== this.ws) return; // an old connection we moved away from
      this.onEvent({ type: 'closed', ...(await explainClose(e.code, e.reason)) });
      this.onEvent({ type: 'ended' });
    };
  }

  // The server will end this connection: continue the session on a new one.
  move() {
    this.goAway = false;
    const old = this.ws;
    this.ws = null;
    old.close(1000);
    this.connect(true);
  }

  translate(m, resumed) {
    const emit = this.onEvent;
    if (m.setupComplete) emit({ type: 'ready', model: this.model, resumed });
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
    if (r && r.resumable && r.newHandle) {
      this.handle = r.newHandle;
      emit({ type: 'resume', handle: r.newHandle });
    }
    if (m.goAway) {
      emit({ type: 'goAway', timeLeftMs: parseFloat(m.goAway.timeLeft || '0') * 1000 });
      if (this.handle) {
        this.goAway = true;
        if (!this.turnActive) this.move();
      }
    }
    if (m.voiceActivity) emit({ type: 'voiceActivity', start: m.voiceActivity.voiceActivityType === 'ACTIVITY_START' });
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  sendAudio(pcm) {
    this.send({ realtimeInput: { audio: { data: b64encode(pcm), mimeType: 'audio/pcm;rate=16000' } } });
  }

  sendText(text) {
    if (this.viaRealtime) this.send({ realtimeInput: { text } });
    else this.send({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } });
  }

  activityStart() { this.send({ realtimeInput: { activityStart: {} } }); }
  activityEnd() { this.send({ realtimeInput: { activityEnd: {} } }); }
  audioStreamEnd() { this.send({ realtimeInput: { audioStreamEnd: true } }); }
  sendVideo(mimeType, data) { this.send({ realtimeInput: { video: { data, mimeType } } }); }
  toolResponse(responses) { this.send({ toolResponse: { functionResponses: responses } }); }
  end() {
    if (this.ws) this.ws.close(1000);
  }
}

export { b64encode };
