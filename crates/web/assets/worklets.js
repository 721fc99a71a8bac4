// AudioWorklet processors: microphone capture and reply playback. They only copy, convert and
// count; everything else happens on the page's main thread.

// Microphone: the context runs at 16 kHz; every `chunk` samples become one PCM16 buffer, posted
// (transferred) with its RMS level. A closed gate (push-to-talk released) still reports levels.
class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = (options.processorOptions && options.processorOptions.chunk) || 512;
    this.buf = new Int16Array(this.size);
    this.n = 0;
    this.sum = 0;
    this.open = true;
    this.port.onmessage = (e) => {
      if (e.data.type === 'gate') this.open = e.data.open;
    };
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.buf[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      this.sum += s * s;
      if (this.n === this.size) {
        const rms = Math.sqrt(this.sum / this.size);
        if (this.open) {
          const out = this.buf;
          this.buf = new Int16Array(this.size);
          this.port.postMessage({ pcm: out.buffer, rms }, [out.buffer]);
        } else {
          this.port.postMessage({ rms });
        }
        this.n = 0;
        this.sum = 0;
      }
    }
    return true;
  }
}

// Playback: a jitter buffer of 24 kHz PCM16 chunks. Output starts once `prebuffer` samples are
// queued (or the turn is complete), restarts the same way after an underrun, and a `flush`
// empties the queue at once: the next render quantum is silence.
class Playback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.prebuffer = o.prebuffer || 2400;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.playing = false;
    this.draining = false;
    this.played = 0;
    this.sinceReport = 0;
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'pcm') {
        const pcm = new Int16Array(m.pcm);
        const f = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
        this.queue.push(f);
        this.queued += f.length;
      } else if (m.type === 'flush') {
        const dropped = this.queued;
        this.queue = [];
        this.head = 0;
        this.queued = 0;
        this.playing = false;
        this.draining = false;
        this.port.postMessage({ type: 'flushed', dropped, at: currentTime });
      } else if (m.type === 'drain') {
        this.draining = true;
      }
    };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.queued > 0 && (this.queued >= this.prebuffer || this.draining)) {
      this.playing = true;
      this.port.postMessage({ type: 'playing' });
    }
    let i = 0;
    if (this.playing) {
      while (i < out.length && this.queue.length > 0) {
        const chunk = this.queue[0];
        const n = Math.min(out.length - i, chunk.length - this.head);
        out.set(chunk.subarray(this.head, this.head + n), i);
        i += n;
        this.head += n;
        this.queued -= n;
        this.played += n;
        if (this.head === chunk.length) {
          this.queue.shift();
          this.head = 0;
        }
      }
      if (this.queued === 0) {
        this.playing = false;
        this.draining = false;
        this.port.postMessage({ type: 'idle', played: this.played });
      }
    }
    out.fill(0, i);
    this.sinceReport += out.length;
    if (this.sinceReport >= 2400) {
      this.sinceReport = 0;
      this.port.postMessage({ type: 'stats', queued: this.queued, played: this.played });
    }
    return true;
  }
}

registerProcessor('gemlive-capture', Capture);
registerProcessor('gemlive-playback', Playback);
