"""The install step's only way out: an HTTPS CONNECT proxy to the package registries, nothing else.

The install box has no network of its own; a socat bridge inside it reaches this proxy's unix
socket, and `HTTPS_PROXY` points npm, pnpm, yarn and pip at it. A tunnel is opened only to port
443 of a host on the allowlist (exact name or a subdomain of one), and only when every address the
name resolves to is public: never loopback, private, link-local (the cloud metadata endpoint
169.254.169.254, ECS/AgentCore's credentials endpoint 169.254.170.2) or otherwise special, and the
connection goes to the address that was checked (no DNS rebinding between check and connect).

Hand-written: a CONNECT allowlist with address checks is ~100 lines of asyncio; general-purpose
proxies (proxy.py, mitmproxy) bring far more surface than this one job needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
_MAX_HEAD = 8192


class EgressRefused(Exception):
    """A tunnel the proxy will not open; `reason` is sent back to the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def host_allowed(host: str, allowlist: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowlist)


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def parse_connect(head: bytes) -> tuple[str, int]:
    """`CONNECT host:443 HTTP/1.1` -> (host, port); anything else is refused."""
    try:
        line = head.split(b"\r\n", 1)[0].decode("ascii")
        method, target, _version = line.split(" ")
        host, _, port = target.rpartition(":")
        port_no = int(port)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EgressRefused(400, "only CONNECT host:443 is proxied") from exc
    if method != "CONNECT" or not host or host.startswith("["):
        raise EgressRefused(405, "only CONNECT host:443 is proxied")
    return host, port_no


def check_target(host: str, port: int, allowlist: tuple[str, ...], resolve: Resolver) -> str:
    """The checked address to connect to, or EgressRefused."""
    if port != 443:
        raise EgressRefused(403, f"port {port} is not allowed (registries over HTTPS only)")
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        raise EgressRefused(403, "connect by name: addresses are not allowed")
    if not host_allowed(host, allowlist):
        raise EgressRefused(403, f"{host} is not a package registry Shipit allows")
    addresses = resolve(host, port)
    if not addresses:
        raise EgressRefused(502, f"{host} does not resolve")
    bad = [a for a in addresses if not address_public(a)]
    if bad:
        raise EgressRefused(403, f"{host} resolves to a non-public address ({bad[0]})")
    return addresses[0]


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


class EgressProxy:
    """Serves CONNECT tunnels on a unix socket, in a background thread of the agent."""

    def __init__(
        self, socket_path: Path, allowlist: tuple[str, ...], resolve: Resolver = system_resolve
    ) -> None:
        self.socket_path = socket_path
        self.allowlist = allowlist
        self.resolve = resolve
        self.refusals: list[str] = []
        self.tcp_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EgressProxy:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            unix = self._loop.run_until_complete(
                asyncio.start_unix_server(self._handle, path=str(self.socket_path))
            )
            self.socket_path.chmod(0o600)
            # The Landlock rung has no bridge: its rules allow connecting to this port only.
            tcp = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.tcp_port = tcp.sockets[0].getsockname()[1]
            ready.set()
            with contextlib.suppress(RuntimeError):
                self._loop.run_forever()
            unix.close()
            tcp.close()

        self.socket_path.unlink(missing_ok=True)
        self._thread = threading.Thread(target=run, name="egress-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if len(head) > _MAX_HEAD:
                raise EgressRefused(431, "request head too large")
            host, port = parse_connect(head)
            address = await asyncio.to_thread(
                check_target, host, port, self.allowlist, self.resolve
            )
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), 30
            )
        except EgressRefused as exc:
            self.refusals.append(exc.reason)
            log.warning("egress refused: %s", exc.reason)
            writer.write(f"HTTP/1.1 {exc.status} Refused\r\n\r\n{exc.reason}\n".encode())
            await _close(writer)
            return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            await _close(writer)
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        writer.close()
        await writer.wait_closed()
