"""A local emulator of AgentCore's InvokeAgentRuntime, forwarding to an agent app's /invocations."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# Wire names from botocore's bedrock-agentcore service model (InvokeAgentRuntime); the agent
# side reads the same session header (bedrock_agentcore.runtime.models.SESSION_HEADER).
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
REQUEST_ID_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Request-Id"
CUSTOM_HEADER_PREFIX = "x-amzn-bedrock-agentcore-runtime-custom-"
# Passed through to the container like the service does for tracing.
_TRACE_HEADERS = ("x-amzn-trace-id", "traceparent", "tracestate", "baggage")
SESSION_MIN, SESSION_MAX = 33, 256
DEFAULT_QUALIFIER = "DEFAULT"

_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:bedrock-agentcore:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"runtime/(?P<id>[A-Za-z0-9_-]+)$"
)


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    # restJson errors: botocore takes the code from x-amzn-ErrorType, the message from the body.
    return JSONResponse(
        {"message": message, **extra},
        status_code=status,
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _not_found(identifier: str, qualifier: str) -> JSONResponse:
    return _error(
        404,
        "ResourceNotFoundException",
        f"No endpoint or agent found with qualifier '{qualifier}' for agent '{identifier}'",
    )


def _runtime_error(message: str) -> JSONResponse:
    return _error(424, "RuntimeClientError", message)


def _decode_payload(body: bytes) -> Any:
    # Kept as JSON when it is JSON, so tests can assert on structure rather than bytes.
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


class _Registry:
    """What the emulator knows: which runtimes exist, and every invocation it received."""

    def __init__(self, runtime_arn: str | None) -> None:
        self.runtime_arn = runtime_arn
        self._lock = threading.Lock()
        self._invocations: list[dict[str, Any]] = []

    def resolve(self, identifier: str, account_id: str | None) -> str | None:
        """The full ARN for an ARN or (runtime id + accountId), or None when unknown."""
        match = _ARN_RE.match(identifier)
        if match is None:
            if not account_id or self.runtime_arn is None:
                return None
            configured = _ARN_RE.match(self.runtime_arn)
            ok = (
                configured
                and configured["id"] == identifier
                and configured["account"] == account_id
            )
            return self.runtime_arn if ok else None
        if self.runtime_arn is None:
            return identifier  # unconfigured: any well-formed runtime ARN exists
        return identifier if identifier == self.runtime_arn else None

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._invocations.append(entry)
        return entry

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._invocations]

    def clear(self) -> None:
        with self._lock:
            self._invocations.clear()


def create_app(
    agent_url: str,
    runtime_arn: str | None = None,
    *,
    invoke_timeout_s: float = 900.0,
    revive: Callable[[], bool | None] | None = None,
) -> Starlette:
    """The emulator. With `runtime_arn` only that runtime exists; without, any runtime ARN does.

    Endpoints: POST /runtimes/{url-encoded ARN}/invocations (the operation),
    GET /_emulator/invocations and DELETE /_emulator/invocations (for tests).
    Any Authorization header is accepted: SigV4 is not checked locally.
    `revive`, when given, is called (in a worker thread) before each call (true when it had to
    start the agent again) and when the agent cannot be reached, and then the call is tried
    once more: AgentCore starts a new session when the old one is gone.
    """
    agent_url = agent_url.rstrip("/")
    registry = _Registry(runtime_arn)
    clients: list[httpx.AsyncClient] = []

    def http_client() -> httpx.AsyncClient:
        # One client per app, made on first use inside the serving event loop: building one per
        # request costs ~20-60 ms (it loads the CA bundle) and would swamp the relay's timings.
        if not clients:
            clients.append(httpx.AsyncClient(timeout=httpx.Timeout(invoke_timeout_s, connect=5.0)))
        return clients[0]

    async def invoke(request: Request) -> Response:
        # The {path} converter receives the ARN already percent-decoded (runtime%2Fx → runtime/x).
        identifier = request.path_params["identifier"]
        qualifier = request.query_params.get("qualifier", DEFAULT_QUALIFIER)
        # boto3 always sends a session id (an idempotency token); a raw caller gets one made up.
        session_id = request.headers.get(SESSION_HEADER) or str(uuid.uuid4())
        payload = await request.body()
        content_type = request.headers.get("content-type", "application/json")
        accept = request.headers.get("accept", "application/json")
        # Recorded before validation, so tests can tell "never called" from "called and refused".
        entry = registry.record(
            {
                "arn": identifier,
                "qualifier": qualifier,
                "session_id": session_id,
                "content_type": content_type,
                "accept": accept,
                "payload": _decode_payload(payload),
                "received_at": time.time(),
                "agent_status": None,
                "status": None,
            }
        )
        if not SESSION_MIN <= len(session_id) <= SESSION_MAX:
            entry["status"] = 400
            message = f"runtimeSessionId must be {SESSION_MIN}-{SESSION_MAX} characters long"
            return _error(
                400,
                "ValidationException",
                message,
                reason="FieldValidationFailed",
                fieldList=[{"name": "runtimeSessionId", "message": message}],
            )
        arn = registry.resolve(identifier, request.query_params.get("accountId"))
        # Locally only the DEFAULT endpoint exists; a named endpoint would be a separate version.
        if arn is None or qualifier != DEFAULT_QUALIFIER:
            entry["status"] = 404
            return _not_found(identifier, qualifier)
        entry["arn"] = arn

        forward = {
            "content-type": content_type,
            "accept": accept,
            SESSION_HEADER: session_id,
            REQUEST_ID_HEADER: str(uuid.uuid4()),
        }
        for name, value in request.headers.items():
            if name.startswith(CUSTOM_HEADER_PREFIX) or name in _TRACE_HEADERS:
                forward[name] = value

        client = http_client()

        async def send() -> httpx.Response:
            built = client.build_request(
                "POST", f"{agent_url}/invocations", content=payload, headers=forward
            )
            return await client.send(built, stream=True)

        try:
            # The stack keeps the agent's listening socket open across restarts, so a dead
            # agent still accepts connections: ask first, as AgentCore starts a session.
            if revive is not None and await run_in_threadpool(revive):
                entry["revived"] = True
            try:
                upstream = await send()
            except httpx.ConnectError:
                if revive is None:
                    raise
                entry["revived"] = True
                try:
                    await run_in_threadpool(revive)
                except Exception:  # the new session did not start: the service says so too
                    entry["status"] = 424
                    return _runtime_error("An error occurred when starting the runtime.")
                upstream = await send()
        except httpx.TimeoutException:
            entry["status"] = 504
            return _error(504, "RuntimeTimeout", "The runtime did not answer in time")
        except httpx.TransportError:
            entry["status"] = 424
            # What the service says when the container cannot be reached or did not start.
            return _runtime_error(
                "An error occurred when starting the runtime. "
                "Please check your CloudWatch logs for more information."
            )

        entry["agent_status"] = upstream.status_code
        if not 200 <= upstream.status_code < 300:
            # The service does not relay the container's error body, only its status code.
            await upstream.aclose()
            entry["status"] = 424
            return _runtime_error(
                f"Received error ({upstream.status_code}) from runtime. "
                "Please check your CloudWatch logs for more information."
            )

        entry["status"] = 200
        # Streamed, not buffered: agents may answer with text/event-stream, and boto3 hands the
        # caller a StreamingBody either way.
        return StreamingResponse(
            upstream.aiter_bytes(),
            status_code=200,
            headers={
                SESSION_HEADER: session_id,
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
            media_type=upstream.headers.get("content-type", "application/json"),
            background=BackgroundTask(upstream.aclose),
        )

    async def list_invocations(request: Request) -> Response:
        return JSONResponse({"invocations": registry.snapshot()})

    async def clear_invocations(request: Request) -> Response:
        registry.clear()
        return Response(status_code=204)

    async def unknown(request: Request) -> Response:
        return _error(404, "UnknownOperationException", "Unknown operation")

    app = Starlette(
        routes=[
            Route("/runtimes/{identifier:path}/invocations", invoke, methods=["POST"]),
            Route("/_emulator/invocations", list_invocations, methods=["GET"]),
            Route("/_emulator/invocations", clear_invocations, methods=["DELETE"]),
            Route(
                "/{rest:path}",
                unknown,
                methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            ),
        ]
    )
    app.state.registry = registry
    return app
