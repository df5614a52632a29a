"""Loopback servers for the local stack and the tests: the agent's own helper, and free ports."""

from __future__ import annotations

import socket

from agent.loopback import LoopbackServer as ServerHandle
from agent.loopback import serve_in_thread as _serve

__all__ = ["ServerHandle", "free_port", "serve_in_thread"]


def serve_in_thread(app, port: int = 0, name: str = "server") -> ServerHandle:
    """Start `app` on 127.0.0.1:port (0 picks a free port); returns once it accepts connections."""
    return _serve(app, name=name, port=port)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for child processes that bind their own socket)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
