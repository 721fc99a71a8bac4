"""An MCP server on the official Python SDK whose tools misbehave on purpose.

gemlive-tools' tests run it over stdio: a tool that kills the server in the middle of a call, one
that never answers, and one that records whether its call was cancelled.
"""

import asyncio
import os
import sys

try:
    from mcp.server.mcpserver import MCPServer
except ImportError:  # the SDK before 2.0
    from mcp.server.fastmcp import FastMCP as MCPServer

server = MCPServer("faulty")
history: list[str] = []


@server.tool()
async def crash_server(after_seconds: float = 0.2) -> str:
    """Exits the server process in the middle of the call."""
    await asyncio.sleep(after_seconds)
    print("faulty: exiting in the middle of a call, on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
async def hang_forever() -> str:
    """Never answers."""
    await asyncio.Event().wait()
    return "unreachable"


@server.tool()
async def long_count(seconds: float = 60) -> str:
    """Counts for a while, and records whether the call was cancelled."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        history.append("long_count was cancelled")
        raise
    history.append("long_count finished")
    return "counted"


@server.tool()
def show_history() -> str:
    """What happened to earlier calls."""
    return "; ".join(history) or "nothing yet"


if __name__ == "__main__":
    server.run()
