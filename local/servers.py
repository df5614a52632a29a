"""Loopback servers for the local stack and the tests: the agent's own helper, and listening
sockets handed to child processes (bound here, so no other process can take the port between
choosing it and binding it)."""

from __future__ import annotations

import socket
import subprocess

from agent.loopback import LoopbackServer as ServerHandle
from agent.loopback import serve_in_thread as _serve

__all__ = ["ServerHandle", "listening_socket", "serve_in_thread", "stop_process"]


def serve_in_thread(app, port: int = 0, name: str = "server") -> ServerHandle:
    """Start `app` on 127.0.0.1:port (0 picks a free port); returns once it accepts connections."""
    return _serve(app, name=name, port=port)


def listening_socket(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A bound, listening, inheritable socket (port 0 picks one) to pass to a child process.

    Held by the parent for the child's whole life, so a restarted child serves the same port
    and connections made meanwhile wait in the backlog instead of failing.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a fixed port survives restarts
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM, and SIGKILL if it is still there after `grace_s`; returns once it has exited."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
