"""The official google-genai SDK, unmodified, against the gemlive emulator.

Usage: SSL_CERT_FILE=<dir>/ca.pem python3 sdk_flows.py https://localhost:PORT https://localhost:GOAWAY_PORT

Runs the quickstart's flows (text, audio in and out, tools, barge-in, goAway, resumption) and exits non-zero on
the first failure. The second emulator has a short connection lifetime, for goAway.
"""

import asyncio
import math
import struct
import sys

from google import genai
from google.genai import types

BASE, GOAWAY_BASE = sys.argv[1], sys.argv[2]


def client(base):
    return genai.Client(api_key="test-key", http_options={"base_url": base, "api_version": "v1beta"})


def tone(ms, amplitude):
    n = 16 * ms
    return b"".join(struct.pack("<h", int(math.sin(i * 0.2) * amplitude * 32767)) for i in range(n))


async def turn(session):
    """Messages of one turn (receive() stops after turnComplete)."""
    return [m async for m in session.receive()]


def transcript(msgs):
    return "".join(
        m.server_content.output_transcription.text
        for m in msgs
        if m.server_content and m.server_content.output_transcription and m.server_content.output_transcription.text
    )


async def text_flow():
    config = {"response_modalities": ["TEXT"]}
    async with client(BASE).aio.live.connect(model="gemini-live-2.5-flash-preview", config=config) as s:
        await s.send_client_content(turns={"role": "user", "parts": [{"text": "What is 10 + 10?"}]})
        text = "".join(m.text or "" for m in await turn(s))
        assert text == "10 + 10 is 20.", text
        await s.send_client_content(turns={"role": "user", "parts": [{"text": "What was my last question?"}]})
        text = "".join(m.text or "" for m in await turn(s))
        assert "10 + 10" in text, text
    print("text: ok")


async def audio_flow():
    config = {
        "response_modalities": ["AUDIO"],
        "input_audio_transcription": {},
        "output_audio_transcription": {},
        "speech_config": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}},
    }
    async with client(BASE).aio.live.connect(model="gemini-3.1-flash-live-preview", config=config) as s:
        await s.send_realtime_input(text="Hello")
        msgs = await turn(s)
        audio = b"".join(m.data for m in msgs if m.data)
        assert len(audio) > 24000, len(audio)
        assert transcript(msgs).startswith("Hello!"), transcript(msgs)
        pcm = tone(300, 0.0) + tone(1000, 0.3) + tone(800, 0.0)
        for i in range(0, len(pcm), 1280):
            await s.send_realtime_input(audio=types.Blob(data=pcm[i : i + 1280], mime_type="audio/pcm;rate=16000"))
        msgs = await turn(s)
        heard = [m.server_content.input_transcription.text for m in msgs if m.server_content and m.server_content.input_transcription]
        assert heard == ["[speech: 1.0 s]"], heard
        assert transcript(msgs) == "I heard 1.0 seconds of speech.", transcript(msgs)
    print("audio: ok")


async def tool_flow():
    weather = {"name": "get_weather", "description": "Weather in a city",
               "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}, "tools": [{"function_declarations": [weather]}]}
    async with client(BASE).aio.live.connect(model="gemini-3.1-flash-live-preview", config=config) as s:
        await s.send_realtime_input(text="What is the weather in Paris?")
        call = None
        async for m in s.receive():
            if m.tool_call:
                call = m.tool_call.function_calls[0]
                break
        assert call and call.name == "get_weather" and call.args == {"city": "Paris"}, call
        await s.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"result": "sunny"})])
        text = transcript(await turn(s))
        assert text == "get_weather returned sunny.", text
    print("tools: ok")


async def barge_in_flow():
    config = {"response_modalities": ["AUDIO"]}
    async with client(BASE).aio.live.connect(model="gemini-3.8-live", config=config) as s:
        await s.send_realtime_input(text="Tell me a long story about the sea, the wind, the rain and the old lighthouse keeper")
        interrupted = False
        async for m in s.receive():
            if m.data and not interrupted:
                await s.send_realtime_input(text="Stop, please.")
                interrupted = None
            if m.server_content and m.server_content.interrupted:
                interrupted = True
        assert interrupted is True, "no interrupted before turnComplete"
        msgs = await turn(s)
        assert any(m.data for m in msgs), "the new question is answered"
    print("barge-in: ok")


async def go_away_flow():
    async with client(GOAWAY_BASE).aio.live.connect(model="gemini-3.8-live", config={"response_modalities": ["AUDIO"]}) as s:
        seen = None
        try:
            async for m in s.receive():
                if m.go_away:
                    seen = m.go_away.time_left
                    break
        except Exception as e:  # noqa: BLE001 - the close after goAway is the expected end
            print("closed:", e)
        assert seen is not None, "no goAway"
    print("goAway: ok (time_left=%s)" % seen)


async def resumption_flow():
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}, "session_resumption": {}}
    handle = None
    async with client(BASE).aio.live.connect(model="gemini-3.8-live", config=config) as s:
        await s.send_realtime_input(text="My name is Ada.")
        await turn(s)
        async for m in s.receive():
            u = m.session_resumption_update
            if u and u.resumable and u.new_handle:
                handle = u.new_handle
                break
    assert handle, "no resumable handle"
    config["session_resumption"] = {"handle": handle}
    async with client(BASE).aio.live.connect(model="gemini-3.8-live", config=config) as s:
        await s.send_realtime_input(text="What is my name?")
        text = transcript(await turn(s))
        assert text == "Your name is Ada.", text
    print("resumption: ok")


async def main():
    for flow in (text_flow, audio_flow, tool_flow, barge_in_flow, go_away_flow, resumption_flow):
        await asyncio.wait_for(flow(), timeout=60)


asyncio.run(main())
