"""A loopback proxy that adds the model credentials, so the `claude` CLI never holds any.

Why a proxy: the Claude Agent SDK layers `options.env` over the parent environment, and the
model's Bash can read the CLI's environment (`env`, /proc/<pid>/environ). An Anthropic API key or
AWS credentials given to the CLI are therefore given to the model; on AgentCore the runtime's AWS
credentials are themselves env-based. So the CLI gets a base URL pointing here plus a placeholder
key (Anthropic) or CLAUDE_CODE_SKIP_BEDROCK_AUTH / CLAUDE_CODE_SKIP_MANTLE_AUTH (Bedrock), and this
proxy, inside the agent process, puts in the real `x-api-key` or a SigV4 signature and streams the
answer back unbuffered. On Bedrock the configured model decides the integration
(agent/model_routes.py): InvokeModel, or the Messages-API endpoint the newer models need.

It serves only open grants (agent/guard/budget.py): every request path starts `/r/<token>/`, the
token of one boxed run, and the proxy itself enforces that run's dollar cap. Boxes reach it through
a unix socket bound into them; the loopback TCP port is for the Landlock and unboxed rungs.

Why hand-written: no maintained library injects a key or re-signs Bedrock calls for a local
client like this; it is about a hundred lines over httpx and botocore.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio
import httpx

from agent.guard.budget import BudgetExhausted, Grant, Grants, Meter
from agent.loopback import LoopbackServer, serve_in_thread
from agent.model_routes import (
    FIRST_PARTY,
    MESSAGES_API,
    BedrockRoute,
    bedrock_integration,
    bedrock_route,
    messages_api_model_id,
    sign,
)
from agent.settings import Settings

log = logging.getLogger(__name__)

# What the CLI holds instead of a key: not a secret, the proxy ignores it.
PLACEHOLDER_API_KEY = "shipit-proxy"
ANTHROPIC_API = "https://api.anthropic.com"
# Passed on to the CLI when set: behaviour knobs, not credentials.
PASS_THROUGH = ("CLAUDE_CODE_MAX_RETRIES", "API_TIMEOUT_MS")
# Every variable cli_model_env can return; the CLI's env wrapper needs no other routing variable.
MODEL_ENV_NAMES = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_USE_BEDROCK",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    "CLAUDE_CODE_USE_MANTLE",
    "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
    "CLAUDE_CODE_SKIP_MANTLE_AUTH",
    "AWS_REGION",
    "ANTHROPIC_MODEL",
    *PASS_THROUGH,
)

# Per-connection headers (RFC 9110 §7.6.1) and ones httpx sets itself from the URL and body.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "host",
        "content-length",
    }
)
# Whatever credentials the client sent are replaced, never forwarded.
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
# Model turns stream for minutes; the CLI's own default request timeout is 600 s.
_TIMEOUT = httpx.Timeout(connect=30.0, read=600.0, write=60.0, pool=60.0)


def cli_model_env(
    settings: Settings, proxy_url: str, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Exactly the routing variables the CLI needs to reach the model through the proxy."""
    source = os.environ if source is None else source
    if settings.use_bedrock and bedrock_integration(settings.model) == MESSAGES_API:
        # The CLI's `mantle` provider: Messages API with SSE, the model named in the body.
        env = {
            "CLAUDE_CODE_USE_MANTLE": "1",
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": proxy_url,
            "CLAUDE_CODE_SKIP_MANTLE_AUTH": "1",
        }
    elif settings.use_bedrock:
        env = {
            "CLAUDE_CODE_USE_BEDROCK": "1",
            "ANTHROPIC_BEDROCK_BASE_URL": proxy_url,
            "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        }
    else:
        env = {"ANTHROPIC_BASE_URL": proxy_url, "ANTHROPIC_API_KEY": PLACEHOLDER_API_KEY}
    if settings.use_bedrock and settings.aws_region:
        env["AWS_REGION"] = settings.aws_region
    if settings.model:
        env["ANTHROPIC_MODEL"] = settings.model
        if env.get("CLAUDE_CODE_USE_MANTLE"):
            # That endpoint (and its IAM condition key) knows only the bare id, no profile prefix.
            env["ANTHROPIC_MODEL"] = messages_api_model_id(settings.model)
    for name in PASS_THROUGH:
        value = settings.extra.get(name) or source.get(name, "")
        if value:
            env[name] = value
    return env


def _botocore_credentials() -> Callable[[], object | None]:
    """Frozen AWS credentials of this process, fresh for every request."""
    import botocore.session

    # One session: its credential object refreshes itself before expiry (container, IMDS and
    # assume-role providers), so rotation is picked up without re-running the provider chain
    # (a network round trip) on every model turn. None is not cached: the chain runs again.
    session = botocore.session.get_session()

    def current():
        credentials = session.get_credentials()
        return credentials.get_frozen_credentials() if credentials else None

    return current


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class ModelProxy:
    """The credential proxy: an ASGI app served on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        anthropic_url: str = ANTHROPIC_API,
        api_key: str = "",
        bedrock: BedrockRoute | None = None,
        aws_credentials: Callable[[], object | None] | None = None,
        grants: Grants | None = None,
    ) -> None:
        self.grants = grants or Grants()
        self.anthropic_url = httpx.URL(anthropic_url)
        self.bedrock = bedrock
        self._api_key = api_key
        self._aws_credentials = aws_credentials
        if bedrock and aws_credentials is None:
            self._aws_credentials = _botocore_credentials()
        self._client: httpx.AsyncClient | None = None
        self._server: LoopbackServer | None = None
        self._socket_path: Path | None = None

    def __repr__(self) -> str:
        # Never the key, even in a traceback or a log line.
        mode = f"bedrock {self.bedrock.region}" if self.bedrock else str(self.anthropic_url)
        return f"ModelProxy({mode}, url={self.url!r})"

    @property
    def route(self) -> str:
        """How calls are made: FIRST_PARTY, INVOKE_MODEL or MESSAGES_API (agent.model_routes)."""
        return self.bedrock.integration if self.bedrock else FIRST_PARTY

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        aws_credentials: Callable[[], object | None] | None = None,
    ) -> ModelProxy:
        """The proxy for Shipit's model; endpoint overrides come from `environ` (os.environ).

        `aws_credentials` (default: this process's botocore credentials) is called per request.
        """
        environ = os.environ if environ is None else environ
        if not settings.use_bedrock:
            return cls(settings.anthropic_base_url or ANTHROPIC_API, settings.anthropic_api_key)
        region = settings.aws_region
        if not region:
            raise ValueError("Bedrock needs AWS_REGION (or AWS_DEFAULT_REGION)")
        route = bedrock_route(region, settings.model, settings.bedrock_base_url, dict(environ))
        return cls(bedrock=route, aws_credentials=aws_credentials)

    @property
    def url(self) -> str:
        """The loopback TCP base (requests still need a grant's `/r/<token>` prefix)."""
        return self._server.url if self._server else ""

    @property
    def socket_path(self) -> Path | None:
        """The unix socket boxes reach the proxy through."""
        return self._socket_path

    def start(self, socket_path: Path | None = None) -> str:
        """Serve on a random loopback port (and `socket_path`); returns the TCP base URL."""
        if self._server is None:
            self._socket_path = socket_path
            self._server = serve_in_thread(self._app, name="model-proxy", unix_path=socket_path)
        return self._server.url

    def open(self, cap_usd: float, model: str = "") -> Grant:
        """A grant for one run; close it when the run ends (`close`)."""
        return self.grants.open(cap_usd, model)

    def close(self, grant: Grant) -> None:
        self.grants.close(grant)

    def grant_url(self, grant: Grant, base: str | None = None) -> str:
        """The base URL a run is given: the proxy (or `base`, its bridge in a box) plus the token."""
        return f"{(base or self.url).rstrip('/')}/r/{grant.token}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> ModelProxy:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    # --- the ASGI app -------------------------------------------------------------------

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here
        headers = _headers(scope)
        try:
            # DNS rebinding: a web page can make a browser send requests to 127.0.0.1, but only
            # with its own host name in Host.
            if headers.get("host", "").rsplit(":", 1)[0].lower() not in _LOOPBACK_HOSTS:
                raise _Refused(403, "Host must be a loopback address")
            grant, raw_path = self._grant(scope)
            body = await _read_body(receive)
            if body is None:
                return  # the client went away
            model = _model_of(raw_path, body)
            body, reserved = grant.reserve(body, model)
            request = await self._upstream_request(scope, raw_path, headers, body)
        except BudgetExhausted as exc:
            await _reply(send, 400, f"Shipit stopped this request: its {exc}.", "budget_exceeded")
            return
        except _Refused as exc:
            await _reply(send, exc.status, str(exc))
            return
        meter = Meter("")
        try:
            async with anyio.create_task_group() as group:
                # If the CLI aborts (Stop, timeout), stop reading upstream: an abandoned stream
                # would otherwise keep generating, and billing, to the end.
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                meter = await self._forward(request, send)
                group.cancel_scope.cancel()
        finally:
            grant.settle(reserved, meter.finish(), model)

    def _grant(self, scope) -> tuple[Grant, bytes]:
        """The open grant a request's `/r/<token>/` prefix names, and the path after it."""
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        prefix, _, rest = raw_path.partition(b"/r/")
        token, slash, tail = rest.partition(b"/")
        grant = self.grants.get(token.decode("latin-1")) if not prefix and slash else None
        if grant is None:
            raise _Refused(403, "no active Shipit run holds this address")
        return grant, b"/" + tail

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Created on the server's loop; trust_env so an egress proxy (HTTPS_PROXY) works.
                self._client = httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _upstream_request(
        self, scope, raw_path: bytes, headers: dict[str, str], body: bytes
    ) -> httpx.Request:
        if not raw_path.startswith(b"/") or raw_path.startswith(b"//"):
            raise _Refused(400, "only origin-form paths are proxied")
        query: bytes = scope.get("query_string", b"")
        forward = {
            k: v
            for k, v in headers.items()
            if k not in _HOP_BY_HOP and k not in _CREDENTIAL_HEADERS
        }
        # Passed through raw either way; ask for plain bytes unless the client can decode.
        forward.setdefault("accept-encoding", "identity")
        method = scope["method"]
        if self.bedrock is None:
            url = _join(self.anthropic_url, raw_path, query)
            if self._api_key:
                forward["x-api-key"] = self._api_key
        else:
            route = self.bedrock
            url = _join(httpx.URL(route.base_for(raw_path)), raw_path, query)
            credentials = await anyio.to_thread.run_sync(self._aws_credentials)
            if credentials is None:
                raise _Refused(502, "the agent process has no AWS credentials for Bedrock")
            forward = sign(route, method, str(url), forward, body, credentials)
        assert self._client is not None, "lifespan startup creates the client"
        return self._client.build_request(method, url, headers=forward, content=body)

    async def _forward(self, request: httpx.Request, send) -> Meter:
        """Stream the upstream answer back; returns the meter that read its usage."""
        assert self._client is not None
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            log.warning("model proxy: %s %s failed: %r", request.method, request.url.host, exc)
            await _reply(send, 502, f"upstream unreachable ({type(exc).__name__})")
            return Meter("")
        meter = Meter(response.headers.get("content-type", ""))
        try:
            start = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1"))
                    for k, v in response.headers.multi_items()
                    if k.lower() not in _HOP_BY_HOP or k.lower() == "content-length"
                ],
            }
            await send(start)
            # Raw bytes as they arrive: SSE events and event-stream frames pass unchanged.
            async for chunk in response.aiter_raw():
                meter.feed(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.HTTPError as exc:
            # Status already sent: ending without completing the body makes the server drop
            # the connection, so the client sees a broken stream rather than a short answer.
            log.warning("model proxy: upstream stream broke: %r", exc)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        return meter


def _model_of(raw_path: bytes, body: bytes) -> str:
    """The model a call is for: Bedrock's path names it, the Messages API's body does."""
    if raw_path.startswith(b"/model/"):
        return raw_path.split(b"/")[2].decode("latin-1")
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("model", "")) if isinstance(data, dict) else ""


def _headers(scope) -> dict[str, str]:
    merged: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


async def _read_body(receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _cancel_on_disconnect(receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def _join(base: httpx.URL, raw_path: bytes, query: bytes) -> httpx.URL:
    """The upstream URL for a request; never any host but the configured one (no open relay)."""
    prefix = base.raw_path.split(b"?", 1)[0].rstrip(b"/")
    url = base.copy_with(raw_path=prefix + raw_path + (b"?" + query if query else b""))
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise _Refused(400, "request target leaves the configured upstream")
    return url


async def _reply(send, status: int, reason: str, kind: str = "proxy_error") -> None:
    # Shaped like an Anthropic API error so the CLI shows the reason.
    body = json.dumps({"type": "error", "error": {"type": kind, "message": reason}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
