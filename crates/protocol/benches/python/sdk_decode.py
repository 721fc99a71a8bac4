"""The official Python SDK (google-genai) decoding gemlive's benchmark corpus, one pass at a time.

Usage: python sdk_decode.py CORPUS.jsonl
Run by the peers benchmark (`crates/protocol/benches/peers`, `cargo xtask bench`), which writes
CORPUS.jsonl (one JSON string per line, each a frame's pretty-printed JSON exactly as the Rust
benchmarks decode it) and pairs these passes with its own, round by round.

Prints `ready VERSION FRAMES`, then for each line read on stdin naming a way to decode, runs one
pass of it over the whole corpus and prints `SECONDS PCM_BYTES`:
- `sdk`: what `AsyncSession._receive` in google/genai/live.py does with a frame after `ws.recv()`
  on the Gemini API: `json.loads`, `_live_converters._LiveServerMessage_from_mldev`,
  `types.LiveServerMessage._from_response`; then the PCM bytes are read from the message.
- `validate`: `types.LiveServerMessage.model_validate_json(frame)`, pydantic-core's JSON path, which
  the SDK does not use for Live but is the fastest it could be.
"""
import json
import sys
import time

from google.genai import types, version
from google.genai import _live_converters as live_converters

frames = [json.loads(line).encode() for line in open(sys.argv[1], encoding="utf-8")]
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


ways = {"sdk": sdk_receive, "validate": validate_json}
print(f"ready {version.__version__} {len(frames)}", flush=True)
for line in sys.stdin:
    decode = ways[line.strip()]
    start = time.perf_counter()
    pcm = sum(pcm_of(decode(f)) for f in frames)
    print(f"{time.perf_counter() - start:.9f} {pcm}", flush=True)
