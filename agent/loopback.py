"""Serve an ASGI app on a random 127.0.0.1 port in a background thread of the agent process."""

# It lives in agent/ because the container image holds only agent/ and prompts/; the local stack
# and the tests use it too (through local/servers.py).

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import uvicorn

LOOPBACK = "127.0.0.1"


class _Server(uvicorn.Server):
    """uvicorn server that signals once it accepts connections (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


@dataclass
class LoopbackServer:
    """A running server: its base URL and a way to stop it."""

    url: str
    port: int
    _server: _Server
    _thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def serve_in_thread(app, name: str, port: int = 0, unix_path=None) -> LoopbackServer:
    """Start `app` on 127.0.0.1 (never another interface; port 0 picks a free one), and on the
    unix socket `unix_path` too when given (readable by this user only), and return once it
    accepts connections."""
    # IPPROTO_TCP explicitly: with protocol 0 asyncio leaves Nagle on, adding ~40 ms per response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # fixed ports survive a restart
    sock.bind((LOOPBACK, port))
    port = sock.getsockname()[1]
    sockets = [sock]
    if unix_path is not None:
        import os

        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(unix_path):
            os.unlink(unix_path)
        unix.bind(str(unix_path))
        os.chmod(unix_path, 0o600)
        sockets.append(unix)
    ready = threading.Event()
    config = uvicorn.Config(
        app,
        interface="asgi3",  # bound methods defeat uvicorn's guess
        log_level="warning",
        access_log=False,
        lifespan="on",  # the app opens and closes its HTTP client on the server's own loop
        proxy_headers=False,  # nothing in front of us: never trust X-Forwarded-*
        server_header=False,
        date_header=False,  # a proxied response already carries the upstream's
        timeout_graceful_shutdown=5,  # a stream still open at stop() must not hang the caller
    )
    server = _Server(config, ready)

    def run() -> None:
        try:
            server.run(sockets=sockets)
        finally:
            ready.set()  # a failed startup wakes the caller at once instead of at the timeout

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(15) or not server.started:
        server.should_exit = True
        raise RuntimeError(f"{name} did not start on {LOOPBACK}:{port}")
    return LoopbackServer(f"http://{LOOPBACK}:{port}", port, server, thread)
