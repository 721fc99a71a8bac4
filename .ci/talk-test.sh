#!/usr/bin/env bash
# `gemlive talk` through real, real-time audio streams, headless: PulseAudio's virtual
# microphone and null-sink speaker (from .ci/audio-env.sh), the built-in emulator, and a spoken
# question made with espeak-ng.
#
#   1. build gemlive with --features device,vad,aec (cpal through ALSA -> pulse), or take
#      $GEMLIVE_BIN (`cargo xtask ci` passes the one its tests built with every feature);
#   2. record the speaker's monitor with parec;
#   3. run `gemlive talk --emulator --json` on the default microphone and speaker;
#   4. play the question into the virtual microphone (paplay --device=micsink);
#   5. wait for the model's turn to end and its audio to play, then end with SIGINT (Ctrl-C,
#      exit code 130);
#   6. check: the emulator heard about as much speech as was played in, and the speaker's
#      monitor holds a non-silent reply as long as the audio the model sent;
#   7. barge-in: ask again, and speak into the microphone while the reply plays: the local
#      voice detector (the server's start-of-speech needs 300 ms here) must stop playback, and the
#      speaker's monitor must show the reply cut short.
set -euo pipefail
cd "$(dirname "$0")/.."

# The caller's PulseAudio (`.ci/run`), or one of our own.
own_pulse=
if [ -z "${GEMLIVE_PULSE:-}" ]; then
  # shellcheck source=/dev/null
  source .ci/audio-env.sh
  own_pulse=1
fi

work=$(mktemp -d -t gemlive-talk-ci.XXXXXX)
pids=()
cleanup() {
  # The recorders and players first, reaped, so none is still connected when PulseAudio goes.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$own_pulse" ] || gemlive_audio_env_stop
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for talk, ended by Ctrl-C: its exit code is then 130, as a shell's for SIGINT.
ended_by_ctrl_c() {
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 130 ] || {
    echo "talk-test: gemlive talk exited with $status after Ctrl-C, not 130; events and stderr:" >&2
    cat "$2" "$3" >&2
    exit 1
  }
}

if [ -n "${GEMLIVE_BIN:-}" ]; then
  bin=$GEMLIVE_BIN
else
  cargo build -q -p gemlive-cli --features device,vad,aec
  bin=target/debug/gemlive
fi
bin=$(realpath "$bin")

espeak-ng -v en-us -s 160 -w "$work/raw.wav" "Hello Gemini, what is the weather like in Paris today?"
# 48 kHz, the virtual microphone's rate, so PulseAudio does not resample.
sox "$work/raw.wav" -r 48000 -c 1 -b 16 "$work/question.wav"
spoken=$(soxi -D "$work/question.wav")

parec --device=speaker.monitor --raw --format=s16le --rate=48000 --channels=1 >"$work/speaker.raw" &
pids+=($!)

GEMLIVE_STATE_DIR="$work/state" GEMLIVE_EMULATOR_SPEED=1 \
  "$bin" talk --emulator --json --vad-silence-ms 500 --record-audio "$work/conversation.wav" \
  </dev/null >"$work/events.jsonl" 2>"$work/stderr.log" &
talk=$!
pids+=("$talk")

# Streams take 1-2 s to start through ALSA -> pulse.
for _ in $(seq 100); do grep -q talk_started "$work/events.jsonl" && break; sleep 0.1; done
grep -q talk_started "$work/events.jsonl" || { cat "$work/stderr.log" >&2; exit 1; }
sleep 2
paplay --device=micsink "$work/question.wav"

for _ in $(seq 300); do grep -q '"event":"turn_end"' "$work/events.jsonl" && break; sleep 0.1; done
grep -q '"event":"turn_end"' "$work/events.jsonl" || {
  echo "talk-test: no reply; events:" >&2; cat "$work/events.jsonl" "$work/stderr.log" >&2; exit 1
}
# The reply plays in real time after the emulator sent it.
sleep 3
kill -INT "$talk"
ended_by_ctrl_c "$talk" "$work/events.jsonl" "$work/stderr.log"
sleep 0.5

python3 - "$work" "$spoken" <<'PY'
import json, struct, sys, wave
work, spoken = sys.argv[1], float(sys.argv[2])
events = [json.loads(l) for l in open(f"{work}/events.jsonl")]
heard = [e["text"] for e in events if e["event"] == "input_transcript"]
turn = next(e for e in events if e["event"] == "turn_end")
summary = next(e for e in events if e["event"] == "summary")
# The emulator transcribes speech as "[speech: 3.4 s]".
said = float(heard[0].split(":")[1].split("s")[0]) if heard else 0.0
print(f"question {spoken:.2f} s, emulator heard {said:.2f} s of speech; reply {turn['audio_s']:.2f} s, "
      f"first audio after {turn['first_audio_ms']} ms; summary {summary}")
assert abs(said - spoken) < 0.8, f"the microphone did not carry the question: {heard}"
raw = open(f"{work}/speaker.raw", "rb").read()
samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
rate = 48000
loud = [i for i in range(0, len(samples), 480) if max(map(abs, samples[i:i + 480]), default=0) > 300]
assert loud, "the speaker played nothing"
span = (loud[-1] - loud[0] + 480) / rate
print(f"speaker monitor: {len(samples) / rate:.2f} s recorded, reply audible for {span:.2f} s")
assert abs(span - turn["audio_s"]) < 0.4, f"reply length {span:.2f} s vs {turn['audio_s']:.2f} s sent"
open(f"{work}/reply_s", "w").write(str(turn["audio_s"]))
with wave.open(f"{work}/conversation.wav") as w:
    assert w.getnchannels() == 2 and w.getframerate() == 24000
    print(f"conversation recording: {w.getnframes() / 24000:.2f} s stereo")
print("talk-test: conversation ok")
PY

# --- 7. Barge-in through the real streams -----------------------------------------------------
espeak-ng -v en-us -s 160 -w "$work/raw2.wav" "No wait, stop. Tell me about Rome instead."
sox "$work/raw2.wav" -r 48000 -c 1 -b 16 "$work/interrupt.wav"
parec --device=speaker.monitor --raw --format=s16le --rate=48000 --channels=1 >"$work/speaker2.raw" &
pids+=($!)
GEMLIVE_STATE_DIR="$work/state" GEMLIVE_EMULATOR_SPEED=1 \
  "$bin" talk --emulator --json --vad-silence-ms 500 --vad-prefix-ms 300 \
  </dev/null >"$work/events2.jsonl" 2>"$work/stderr2.log" &
talk=$!
pids+=("$talk")
for _ in $(seq 100); do grep -q talk_started "$work/events2.jsonl" && break; sleep 0.1; done
sleep 2
start_ns=$(date +%s%N)
paplay --device=micsink "$work/question.wav"
for _ in $(seq 300); do grep -q '"event":"audio"' "$work/events2.jsonl" && break; sleep 0.05; done
# Half a second into the reply, the user talks over it.
sleep 0.5
paplay --device=micsink "$work/interrupt.wav"
for _ in $(seq 300); do [ "$(grep -c '"event":"turn_end"' "$work/events2.jsonl")" -ge 2 ] && break; sleep 0.1; done
sleep 3
kill -INT "$talk"
ended_by_ctrl_c "$talk" "$work/events2.jsonl" "$work/stderr2.log"
sleep 0.5

python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
events = [json.loads(l) for l in open(f"{work}/events2.jsonl")]
cuts = [e for e in events if e["event"] == "playback_cut"]
turns = [e for e in events if e["event"] == "turn_end"]
print(f"cuts: {cuts}")
print(f"turns: {turns}")
assert cuts, "playback was not cut"
cut = cuts[0]
assert cut["by"] == "local", f"the local voice detector did not stop playback first: {cut}"
# The same question was answered in full above: the cut reply is shorter.
full = float(open(f"{work}/reply_s").read())
assert cut["heard_s"] < full - 0.5, (cut, full)
raw = open(f"{work}/speaker2.raw", "rb").read()
samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
blocks = [max(map(abs, samples[i:i + 480]), default=0) > 300 for i in range(0, len(samples), 480)]
# The first audible stretch is the first reply, cut where the user spoke.
first = blocks.index(True)
end = first
gap = 0
while end < len(blocks) and gap < 40:  # a stretch ends after 400 ms of silence
    gap = 0 if blocks[end] else gap + 1
    end += 1
audible = (end - first - gap) * 0.01
print(f"first reply audible for {audible:.2f} s on the speaker (uncut: {full:.2f} s); "
      f"heard_s {cut['heard_s']}, received {cut['received_s']}")
assert audible < full - 0.5, "the speaker went on playing after the cut"
assert abs(audible - cut["heard_s"]) < 0.35, "what was heard does not match what the speaker played"
print("talk-test: barge-in ok")
PY
# --- 8. `gemlive chat --audio` plays its reply on the speaker ----------------------------------
parec --device=speaker.monitor --raw --format=s16le --rate=48000 --channels=1 >"$work/speaker3.raw" &
rec=$!
pids+=("$rec")
sleep 0.5
(cd "$work" && GEMLIVE_STATE_DIR="$work/state" "$bin" chat --emulator --audio --json "Hello? Gemini are you there?" >"$work/chat.jsonl")
sleep 0.5
kill "$rec"
wait "$rec" 2>/dev/null || true
python3 - "$work" <<'PY'
import json, struct, sys
work = sys.argv[1]
events = [json.loads(l) for l in open(f"{work}/chat.jsonl")]
sent = next(e["seconds"] for e in events if e["event"] == "audio_file")
raw = open(f"{work}/speaker3.raw", "rb").read()
samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
loud = [i for i in range(0, len(samples), 480) if max(map(abs, samples[i:i + 480]), default=0) > 300]
assert loud, "chat --audio played nothing"
span = (loud[-1] - loud[0] + 480) / 48000
print(f"chat --audio: reply {sent:.2f} s, audible on the speaker for {span:.2f} s")
assert abs(span - sent) < 0.4, (span, sent)
PY
echo "talk-test: ok"
