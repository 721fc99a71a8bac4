"""The official Python SDK (google-genai) decoding the gemlive decode corpus, for BENCHMARKS.md.

Usage: python sdk_decode.py CORPUS.jsonl [ROUNDS]
CORPUS.jsonl is written by the decode benchmark (`GEMLIVE_BENCH_CORPUS=path`, or
`GEMLIVE_BENCH_PYTHON=python cargo xtask bench`): one JSON string per line, each the frame's
pretty-printed JSON exactly as the Rust benchmark decodes it.

Two ways are timed, each over ROUNDS passes of the whole corpus (median pass reported):
- "SDK receive path": what `AsyncSession._receive` in google/genai/live.py does with a frame
  after `ws.recv()` on the Gemini API: `json.loads`, `_live_converters._LiveServerMessage_from_mldev`,
  `types.LiveServerMessage._from_response`; then the PCM bytes are read from the message.
- "model_validate_json": `types.LiveServerMessage.model_validate_json(frame)`, pydantic-core's
  JSON path, which the SDK does not use for Live but is the fastest it could be.
Both are checked to yield exactly the corpus's PCM byte count.
"""
import json
import sys
import time

from google.genai import types, version
from google.genai import _live_converters as live_converters

frames = [json.loads(line).encode() for line in open(sys.argv[1], encoding="utf-8")]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
parameters = types.LiveServerMessage().model_dump()


def sdk_receive(raw):
    response = json.loads(raw)
    response_dict = live_converters._LiveServerMessage_from_mldev(response)
    return types.LiveServerMessage._from_response(response=response_dict, kwargs=parameters)


def validate_json(raw):
    return types.LiveServerMessage.model_validate_json(raw)


def pcm_of(message):
    content = message.server_content
    if content and content.model_turn and content.model_turn.parts:
        blob = content.model_turn.parts[0].inline_data
        if blob and blob.data:
            return len(blob.data)
    return 0


for name, decode in [("SDK receive path", sdk_receive), ("model_validate_json", validate_json)]:
    pcm = sum(pcm_of(decode(f)) for f in frames)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for f in frames:
            pcm_of(decode(f))
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    mark = "[--test, one pass, not a measurement] " if rounds == 1 else ""
    print(
        f"summary: {mark}python google-genai {version.__version__} {name}: "
        f"{len(frames) / median:>9.0f} frames/s {pcm / median / 1e6:>7.1f} MB/s of PCM "
        f"(median of {rounds} passes, {pcm} PCM bytes per pass)"
    )
