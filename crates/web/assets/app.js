// The console: audio in and out, the conversation log, settings, video frames, resume across
// reloads, downloads. `window.gemlive` exposes counters for the browser tests.

import { RelayLink, DirectLink, b64encode } from '/live.js';

const $ = (id) => document.getElementById(id);
const CHUNK = 512; // 32 ms at 16 kHz
const STORE = 'gemlive.conversation';
const SETTINGS = 'gemlive.settings';

const stats = {
  ready: false, resumed: false, mode: null, turns: 0, audioChunksIn: 0, micChunks: 0,
  speakerPeak: 0, playedSamples: 0, interrupts: [], inputTranscripts: [], outputTranscripts: [],
  errors: [], closed: null, toolCalls: [], toolResults: [], videoFrames: 0, videoSource: null,
  meters: { mic: 0, speaker: 0 }, reconnects: [], turnCuts: [], moves: 0, link: null,
};
window.gemlive = { stats, conversationZip: () => conversationZip() };

let link = null;
let capture = null; // { ctx, node, stream }
let playback = null; // { ctx, node, analyser }
let video = null; // { stream, timer }
let conversation = restore() || { mode: null, settings: null, handle: null, log: [] };
let current = { user: null, model: null };
let answering = null; // the model's entry of the turn under way (a typed question starts a new entry, not a new turn)
let turnAudio = 0; // audio chunks of the model's current turn
let reconnecting = null; // the note of a connection being repaired, and whether it was planned
const recorded = { user: [], model: [] }; // Int16Array chunks, for the download

// ---------- settings ----------

function readSettings() {
  return {
    model: $('model').value.trim(),
    voice: $('voice').value,
    systemInstruction: $('system').value,
    vad: $('vad').value,
    pushToTalk: micMode() === 'ptt',
    inputTranscription: $('input-transcription').checked,
    outputTranscription: $('output-transcription').checked,
    demoTools: $('demo-tools').checked,
  };
}

function writeSettings(s) {
  if (!s) return;
  $('model').value = s.model || '';
  $('voice').value = s.voice || '';
  $('system').value = s.systemInstruction || '';
  $('vad').value = s.vad || 'default';
  $('input-transcription').checked = s.inputTranscription !== false;
  $('output-transcription').checked = s.outputTranscription !== false;
  $('demo-tools').checked = !!s.demoTools;
}

function setMic(mode) {
  const radio = document.querySelector(`input[name=mic][value=${mode}]`);
  if (radio) radio.checked = true;
}

const micMode = () => document.querySelector('input[name=mic]:checked').value;
const linkMode = () => document.querySelector('input[name=mode]:checked').value;

// ---------- conversation storage (survives a reload of this tab only) ----------

function restore() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE));
  } catch (_) {
    return null;
  }
}

function persist() {
  sessionStorage.setItem(STORE, JSON.stringify(conversation));
}

// ---------- the log ----------

function entry(who, text, extra) {
  const item = { who, text, ...extra };
  conversation.log.push(item);
  render(item);
  persist();
  return item;
}

function render(item) {
  const li = document.createElement('li');
  li.className = `entry ${item.who}`;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = { user: 'You', model: 'Gemini', tool: 'Tool', note: '' }[item.who] || '';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = item.text;
  li.append(who, text);
  if (item.interrupted) li.classList.add('interrupted');
  item.el = text;
  item.li = li;
  $('log').append(li);
  li.scrollIntoView({ block: 'end' });
}

function append(item, fragment) {
  item.text += fragment;
  item.el.textContent = item.text;
  item.li.scrollIntoView({ block: 'end' });
  persist();
}

function note(text) {
  entry('note', text);
}

// A tool call in the log: who and `name(args)`; the caller adds the rest.
function toolEntry(call, cls, label) {
  const li = document.createElement('li');
  li.className = `entry tool ${cls}`;
  li.dataset.callId = call.id || '';
  const head = document.createElement('div');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = label;
  const code = document.createElement('code');
  code.textContent = `${call.name}(${JSON.stringify(call.args || {})})`;
  head.append(who, code);
  li.append(head);
  $('log').append(li);
  conversation.log.push({ who: 'tool', text: code.textContent });
  persist();
  return li;
}

// A call one of the server's tools answers: shown as it runs, then with its result.
function serverTool(m) {
  const li = toolEntry(m, 'server', 'Tool');
  const result = document.createElement('span');
  result.className = 'result';
  result.textContent = 'running…';
  li.append(result);
  li.scrollIntoView({ block: 'end' });
}

function serverToolDone(m, text, cls) {
  const li = document.querySelector(`li.server[data-call-id="${CSS.escape(m.id || '')}"]`);
  if (!li) return;
  li.classList.add(cls);
  li.querySelector('.result').textContent = text;
  const item = conversation.log.findLast((e) => e.who === 'tool' && e.text.startsWith(`${m.name}(`));
  if (item) item.text += ` → ${text}`;
  persist();
}

// At most `max` characters of a value, for the log.
function brief(value, max = 300) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// A call nobody on the server answers: the person writes the result.
function toolCard(call) {
  const li = toolEntry(call, 'manual', 'Tool call');
  const answer = document.createElement('textarea');
  answer.rows = 2;
  answer.value = call.name === 'get_weather'
    ? '{"temperature_c": 21, "sky": "clear"}'
    : '{"result": "ok"}';
  answer.setAttribute('aria-label', `Result of ${call.name}`);
  const send = document.createElement('button');
  send.type = 'button';
  send.textContent = 'Send result';
  send.onclick = () => {
    let response;
    try {
      response = JSON.parse(answer.value);
    } catch (e) {
      showError('The result is not JSON', e.message, 'write a JSON object, e.g. {"result": "ok"}');
      return;
    }
    link && link.toolResponse([{ id: call.id, name: call.name, response }]);
    send.disabled = true;
    answer.disabled = true;
    li.classList.add('answered');
  };
  li.append(answer, send);
  li.scrollIntoView({ block: 'end' });
}

// ---------- errors in words ----------

function showError(title, detail, hint) {
  $('banner-title').textContent = title;
  $('banner-detail').textContent = detail || '';
  $('banner-hint').textContent = hint ? `What to do: ${hint}` : '';
  $('banner').hidden = false;
  stats.errors.push({ title, detail, hint });
}

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls}`;
}

// ---------- audio ----------

async function startPlayback() {
  if (playback) return;
  const ctx = new AudioContext({ sampleRate: 24000, latencyHint: 'interactive' });
  await ctx.audioWorklet.addModule('/worklets.js');
  const node = new AudioWorkletNode(ctx, 'gemlive-playback', {
    outputChannelCount: [1],
    processorOptions: { prebuffer: 2400 },
  });
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 256;
  node.connect(analyser);
  analyser.connect(ctx.destination);
  playback = { ctx, node, analyser, buf: new Float32Array(analyser.fftSize), active: false, lastLoud: -Infinity };
  // When the speaker last made a sound, for the barge-in measurement.
  setInterval(() => {
    if (speakerLevel() > 0.001) playback.lastLoud = performance.now();
  }, 4);
  node.port.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'stats' || m.type === 'idle') stats.playedSamples = m.played;
    if (m.type === 'playing') playback.active = true;
    if (m.type === 'idle' || m.type === 'flushed') playback.active = false;
  };
  if (ctx.state !== 'running') await ctx.resume();
  meterLoop();
}

function speakerLevel() {
  if (!playback) return 0;
  playback.analyser.getFloatTimeDomainData(playback.buf);
  let peak = 0;
  for (const v of playback.buf) peak = Math.max(peak, Math.abs(v));
  return peak;
}

function meterLoop() {
  const level = speakerLevel();
  stats.speakerPeak = Math.max(stats.speakerPeak, level);
  $('speaker-level').value = Math.min(1, level * 2);
  stats.meters.speaker = Math.max(stats.meters.speaker, $('speaker-level').value);
  requestAnimationFrame(meterLoop);
}

// Barge-in: flush at once, then measure in the page when the output went silent for good: the
// analyser is watched for 400 ms, and the cut is the last moment it still heard something.
function flushPlayback() {
  if (!playback) return;
  const t0 = performance.now();
  // A reply was under way: playing now, or its audio had started to arrive (between two chunks).
  const record = {
    wasPlaying: playback.active || turnAudio > 0,
    heardMsBefore: t0 - playback.lastLoud,
    cutMs: null,
  };
  playback.node.port.postMessage({ type: 'flush' });
  stats.interrupts.push(record);
  let lastLoud = t0;
  const poll = setInterval(() => {
    const now = performance.now();
    if (speakerLevel() > 0.001) lastLoud = now;
    if (now - t0 >= 400) {
      record.cutMs = lastLoud - t0;
      clearInterval(poll);
    }
  }, 2);
}

async function startMic() {
  if (capture || micMode() === 'off') return;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (e) {
    showError('No microphone', e.message, 'allow the microphone for this page, or type instead');
    return;
  }
  const ctx = new AudioContext({ sampleRate: 16000, latencyHint: 'interactive' });
  await ctx.audioWorklet.addModule('/worklets.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'gemlive-capture', { processorOptions: { chunk: CHUNK } });
  node.port.postMessage({ type: 'gate', open: micMode() === 'open' });
  node.port.onmessage = (e) => {
    const { pcm, rms } = e.data;
    const level = Math.min(1, rms * 4);
    $('mic-level').value = level;
    stats.meters.mic = Math.max(stats.meters.mic, level);
    if (pcm && link) {
      recorded.user.push(new Int16Array(pcm.slice(0)));
      stats.micChunks++;
      link.sendAudio(pcm);
    }
  };
  source.connect(node);
  if (ctx.state !== 'running') await ctx.resume();
  capture = { ctx, node, stream };
  $('talk').disabled = micMode() !== 'ptt';
}

function stopMic() {
  if (!capture) return;
  capture.stream.getTracks().forEach((t) => t.stop());
  capture.ctx.close();
  capture = null;
  $('talk').disabled = true;
  $('mic-level').value = 0;
}

function talk(on) {
  if (!capture || !link || micMode() !== 'ptt') return;
  if (on) link.activityStart();
  capture.node.port.postMessage({ type: 'gate', open: on });
  if (!on) link.activityEnd();
  $('talk').classList.toggle('held', on);
}

// ---------- video ----------

async function startVideo() {
  stopVideo();
  const source = $('video-source').value;
  if (source === 'none' || !link) return;
  let stream;
  try {
    stream = source === 'camera'
      ? await navigator.mediaDevices.getUserMedia({ video: { width: 768, height: 768 } })
      : await navigator.mediaDevices.getDisplayMedia({ video: true });
  } catch (e) {
    showError(`No ${source}`, e.message, `allow the ${source} for this page`);
    $('video-source').value = 'none';
    return;
  }
  stats.videoSource = source;
  const preview = $('preview');
  preview.srcObject = stream;
  preview.hidden = false;
  await preview.play().catch(() => {});
  const canvas = document.createElement('canvas');
  const fps = Math.min(2, Math.max(0.2, parseFloat($('video-fps').value) || 1));
  const timer = setInterval(() => {
    const w = preview.videoWidth;
    const h = preview.videoHeight;
    if (!w || !h || !link) return;
    const scale = Math.min(1, 768 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(preview, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(async (blob) => {
      if (!blob || !link) return;
      link.sendVideo('image/jpeg', b64encode(await blob.arrayBuffer()));
      stats.videoFrames++;
    }, 'image/jpeg', 0.7);
  }, 1000 / fps);
  video = { stream, timer };
  stream.getVideoTracks()[0].onended = () => {
    stopVideo();
    $('video-source').value = 'none';
  };
}

function stopVideo() {
  if (!video) return;
  clearInterval(video.timer);
  video.stream.getTracks().forEach((t) => t.stop());
  $('preview').hidden = true;
  video = null;
}

// ---------- the session ----------

function onEvent(m) {
  switch (m.type) {
    case 'ready':
      stats.ready = true;
      stats.resumed = m.resumed;
      stats.mode = link.mode;
      stats.link = link.stats;
      setStatus(`Connected · ${link.mode} · ${m.model}${m.resumed ? ' · resumed' : ''}`, 'live');
      if (m.resumed) note('Resumed the conversation.');
      $('text').disabled = false;
      $('send').disabled = false;
      startMic();
      startVideo();
      break;
    case 'audio':
      stats.audioChunksIn++;
      turnAudio++;
      recorded.model.push(new Int16Array(m.pcm.slice(0)));
      if (playback) playback.node.port.postMessage({ type: 'pcm', pcm: m.pcm }, [m.pcm]);
      break;
    case 'inputTranscript':
      stats.inputTranscripts.push(m.text);
      if (!current.user) current.user = entry('user', '', { spoken: true });
      append(current.user, m.text);
      break;
    case 'outputTranscript':
    case 'text':
      if (m.thought) break;
      if (m.type === 'outputTranscript') stats.outputTranscripts.push(m.text);
      current.user = null;
      if (!current.model) {
        current.model = entry('model', '');
        answering = current.model;
      }
      append(current.model, m.text);
      break;
    case 'interrupted':
      flushPlayback();
      if (answering) {
        answering.interrupted = true;
        answering.li.classList.add('interrupted');
        persist();
      }
      break;
    case 'generationComplete':
      break;
    case 'turnComplete':
      stats.turns++;
      turnAudio = 0;
      if (playback) playback.node.port.postMessage({ type: 'drain' });
      current = { user: null, model: null };
      answering = null;
      break;
    case 'toolCall':
      for (const call of m.calls) {
        stats.toolCalls.push(call.name);
        toolCard(call);
      }
      break;
    case 'toolStarted':
      stats.toolCalls.push(m.name);
      serverTool(m);
      break;
    case 'toolResult':
      stats.toolResults.push({ name: m.name, response: m.response });
      serverToolDone(m, `→ ${brief(m.response)}`, m.willContinue ? 'partial' : 'answered');
      break;
    case 'toolFailed':
      serverToolDone(m, `failed: ${m.error}`, 'failed');
      break;
    case 'toolCancelled':
      serverToolDone(m, 'cancelled', 'cancelled');
      break;
    case 'toolCallCancellation':
      for (const id of m.ids) {
        const li = document.querySelector(`li[data-call-id="${CSS.escape(id)}"]`);
        if (li) li.classList.add('cancelled');
      }
      break;
    case 'goAway':
      stats.goAways = (stats.goAways || 0) + 1;
      break;
    case 'reconnecting':
      stats.reconnects.push(m);
      if (m.planned) {
        setStatus(`Moving to a new connection · ${link.mode}`, 'busy');
        reconnecting = { planned: true };
        break;
      }
      setStatus(`Reconnecting · attempt ${m.attempt}`, 'busy');
      {
        // The server's reason, or the classification's words for a close without one.
        const reason = m.cause.reason || (m.cause.hint || '').split(';')[0] || 'no reason given';
        const why = `${m.cause.code ? `${m.cause.code}: ` : ''}${reason}`;
        const when = m.delayMs < 100 ? 'now' : `in ${(m.delayMs / 1000).toFixed(1)} s`;
        const text = `Connection lost (${why}). Reconnecting ${when} (attempt ${m.attempt})…`;
        if (reconnecting && reconnecting.item) {
          reconnecting.item.text = '';
          append(reconnecting.item, text);
        } else {
          reconnecting = { planned: false, item: entry('note', text) };
        }
      }
      break;
    case 'turnCut':
      stats.turnCuts.push(m);
      const cutAnswer = answering;
      if (answering) {
        answering.interrupted = true;
        answering.li.classList.add('interrupted');
      }
      current = { user: null, model: null };
      answering = null;
      turnAudio = 0;
      if (m.turns.length === 0) note('The connection broke in the middle of the answer.');
      for (const t of m.turns) {
        // Speech since the last answer: only worth a line when an answer to it was cut.
        if (t.speechMs !== undefined) {
          if (cutAnswer) {
            note(t.resent
              ? 'The connection broke in the middle of the answer: what you said is sent again on the new connection.'
              : 'The connection broke in the middle of the answer: please say it again.');
          }
          continue;
        }
        note(t.resent
          ? `The connection broke before “${t.text}” was answered: it is asked again on the new connection.`
          : `The connection broke before “${t.text}” was answered: please ask again.`);
      }
      break;
    case 'moved':
      stats.moves++;
      setStatus(`Connected · ${link.mode}`, 'live');
      note(reconnecting && !reconnecting.planned
        ? 'Reconnected: the conversation goes on.'
        : 'The session moved to a new connection.');
      reconnecting = null;
      break;
    case 'audioDropped':
      note(`${(m.ms / 1000).toFixed(1)} s of your speech could not be sent while reconnecting.`);
      break;
    case 'resume':
      conversation.handle = m.handle;
      persist();
      break;
    case 'voiceActivity':
      $('status').classList.toggle('hearing', m.start);
      break;
    case 'closed':
      stats.closed = m;
      if (m.code !== 1000) {
        showError(
          `Disconnected (${m.code})`,
          m.reason || 'no reason given',
          m.hint,
        );
      }
      break;
    case 'error':
      showError('The console could not do that', m.message, '');
      break;
    case 'ended':
      disconnected();
      break;
    default:
      break;
  }
}

async function connect(resume) {
  $('banner').hidden = true;
  const settings = resume ? conversation.settings : readSettings();
  const mode = resume ? conversation.mode : linkMode();
  if (resume) {
    setMic(conversation.mic || 'open');
  } else {
    localStorage.setItem(SETTINGS, JSON.stringify({ ...settings, mic: micMode() }));
    conversation = { mode, mic: micMode(), settings, handle: null, log: [] };
    $('log').replaceChildren();
    persist();
  }
  setStatus('Connecting…', 'busy');
  $('connect').hidden = true;
  $('disconnect').hidden = false;
  $('resume-offer').hidden = true;
  await startPlayback();
  stats.ready = false;
  link = mode === 'direct' ? new DirectLink(onEvent) : new RelayLink(onEvent);
  link.open(settings, resume ? conversation.handle : null);
}

function disconnected() {
  link = null;
  reconnecting = null;
  answering = null;
  stopMic();
  stopVideo();
  stats.ready = false;
  setStatus('Not connected', 'idle');
  $('connect').hidden = false;
  $('disconnect').hidden = true;
  $('text').disabled = true;
  $('send').disabled = true;
  $('resume-offer').hidden = !conversation.handle;
}

// ---------- download: transcript and both sides' audio, one zip ----------

function wav(chunks, rate) {
  const samples = chunks.reduce((n, c) => n + c.length, 0);
  const out = new DataView(new ArrayBuffer(44 + samples * 2));
  const str = (o, s) => [...s].forEach((ch, i) => out.setUint8(o + i, ch.charCodeAt(0)));
  str(0, 'RIFF'); out.setUint32(4, 36 + samples * 2, true); str(8, 'WAVEfmt ');
  out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
  out.setUint32(24, rate, true); out.setUint32(28, rate * 2, true); out.setUint16(32, 2, true);
  out.setUint16(34, 16, true); str(36, 'data'); out.setUint32(40, samples * 2, true);
  let o = 44;
  for (const c of chunks) for (const s of c) { out.setInt16(o, s, true); o += 2; }
  return new Uint8Array(out.buffer);
}

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A zip of stored (uncompressed) files.
function zip(files) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, data } of files) {
    const n = enc.encode(name);
    const crc = crc32(data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true); local.setUint16(4, 20, true);
    local.setUint32(14, crc, true); local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true); local.setUint16(26, n.length, true);
    const dir = new DataView(new ArrayBuffer(46));
    dir.setUint32(0, 0x02014b50, true); dir.setUint16(4, 20, true); dir.setUint16(6, 20, true);
    dir.setUint32(16, crc, true); dir.setUint32(20, data.length, true);
    dir.setUint32(24, data.length, true); dir.setUint16(28, n.length, true);
    dir.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), n, data);
    central.push(new Uint8Array(dir.buffer), n);
    offset += 30 + n.length + data.length;
  }
  const size = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true); end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true); end.setUint32(12, size, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, new Uint8Array(end.buffer)], { type: 'application/zip' });
}

function conversationZip() {
  const lines = conversation.log
    .filter((e) => e.who !== 'note')
    .map((e) => `${{ user: 'You', model: 'Gemini', tool: 'Tool call' }[e.who]}: ${e.text}${e.interrupted ? ' [interrupted]' : ''}`);
  const enc = new TextEncoder();
  const log = conversation.log.map(({ who, text, interrupted }) => ({ who, text, interrupted: !!interrupted }));
  return zip([
    { name: 'transcript.txt', data: enc.encode(`${lines.join('\n')}\n`) },
    { name: 'transcript.json', data: enc.encode(JSON.stringify(log, null, 2)) },
    { name: 'you-16k.wav', data: wav(recorded.user, 16000) },
    { name: 'gemini-24k.wav', data: wav(recorded.model, 24000) },
  ]);
}

function download() {
  const blob = conversationZip();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `gemlive-${new Date().toISOString().replace(/[:.]/g, '-')}.zip`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---------- wiring ----------

async function init() {
  let config = { models: [], voices: [], direct: false, defaultModel: '' };
  try {
    config = await (await fetch('/api/config', { credentials: 'same-origin' })).json();
  } catch (e) {
    showError('The server did not answer', e.message, 'check that gemlive web is still running');
  }
  for (const m of config.models || []) {
    const o = document.createElement('option');
    o.value = m;
    $('models').append(o);
  }
  $('model').placeholder = config.defaultModel;
  for (const v of config.voices || []) {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = v;
    $('voice').append(o);
  }
  if ((config.tools || []).length) {
    $('server-tools').textContent = `Tools on this server (relay): ${config.tools.join(', ')}`;
    $('server-tools').hidden = false;
  }
  if (!config.direct) {
    const direct = document.querySelector('input[name=mode][value=direct]');
    direct.disabled = true;
    direct.parentElement.title = 'direct mode is off on this server';
  }
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS));
    writeSettings(saved);
    if (saved && saved.mic) setMic(saved.mic);
  } catch (_) { /* first visit */ }
  if (conversation.log.length || conversation.handle) {
    for (const item of conversation.log) render(item);
    $('resume-offer').hidden = !conversation.handle;
  }

  $('connect').onclick = () => connect(false);
  $('resume').onclick = () => connect(true);
  $('forget').onclick = () => {
    conversation = { mode: null, settings: null, handle: null, log: [] };
    persist();
    $('log').replaceChildren();
    $('resume-offer').hidden = true;
  };
  $('disconnect').onclick = () => link && link.end();
  $('download').onclick = download;
  $('banner-close').onclick = () => { $('banner').hidden = true; };
  $('compose').onsubmit = (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (!text || !link) return;
    link.sendText(text);
    current = { user: null, model: null };
    entry('user', text, { typed: true });
    $('text').value = '';
  };
  const hold = $('talk');
  hold.onpointerdown = () => talk(true);
  hold.onpointerup = () => talk(false);
  hold.onpointerleave = () => hold.classList.contains('held') && talk(false);
  // The space bar works the button too, outside text fields.
  const typing = (e) => e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && !e.repeat && !typing(e) && !hold.disabled) {
      e.preventDefault();
      talk(true);
    }
  });
  document.addEventListener('keyup', (e) => {
    if (e.code === 'Space' && hold.classList.contains('held')) talk(false);
  });
  document.querySelectorAll('input[name=mic]').forEach((r) => {
    r.onchange = () => {
      if (!link) return;
      if (micMode() === 'off') {
        stopMic();
        link.audioStreamEnd();
      } else {
        startMic();
        if (capture) capture.node.port.postMessage({ type: 'gate', open: micMode() === 'open' });
        $('talk').disabled = micMode() !== 'ptt';
      }
    };
  });
  $('video-source').onchange = startVideo;
  $('video-fps').onchange = startVideo;
  window.gemlive.ready = true;
}

init();
