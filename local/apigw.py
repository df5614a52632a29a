"""A local stand-in for API Gateway HTTP API: POST /telegram → payload 2.0 event → the relay."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROUTE_METHOD = "POST"
ROUTE_PATH = "/telegram"
ROUTE_KEY = f"{ROUTE_METHOD} {ROUTE_PATH}"
FUNCTION_NAME = "shipit-relay"
# API Gateway's own limit on waiting for the integration; the fake context counts down from it.
INTEGRATION_TIMEOUT_MS = 30_000

# Media types HTTP API passes as text; everything else (including form posts and a missing
# Content-Type) arrives base64 encoded, so the relay must cope with isBase64Encoded either way.
_TEXT_TYPES = ("application/json", "application/javascript", "application/xml")
_TEXT_SUFFIXES = ("+json", "+xml")

_INTERNAL_ERROR = {"message": "Internal Server Error"}

log = logging.getLogger("shipit.local.apigw")


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers commonly touch."""

    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "local"
    timeout_ms: int = INTEGRATION_TIMEOUT_MS
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self._started) * 1000)
        return max(0, self.timeout_ms - elapsed_ms)


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(_TEXT_SUFFIXES)


def _request_id() -> str:
    # Same look as the real apigw-requestid (base64 of random bytes), so logs read alike.
    return base64.b64encode(os.urandom(10)).decode("ascii")


def build_event(request: Request, body: bytes, request_id: str) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would hand the Lambda for this request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            # 2.0 moves cookies out of the headers into their own list.
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        # Repeated headers are joined with commas in 2.0 (1.0 had multiValueHeaders).
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    client_ip = request.client.host if request.client else "127.0.0.1"
    headers.setdefault("x-forwarded-for", client_ip)
    headers.setdefault("x-forwarded-proto", request.url.scheme)
    headers.setdefault("x-forwarded-port", str(request.url.port or 80))
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")

    now = time.time()
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": request.url.path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.url.path,
                "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
                "sourceIp": client_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        params: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body:
        if _is_text(headers.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def to_response(result: Any, request_id: str) -> Response:
    """The HTTP response API Gateway builds from a Lambda result (payload 2.0 rules)."""
    base_headers = {"apigw-requestid": request_id}
    if not (isinstance(result, dict) and "statusCode" in result):
        # 2.0: a result without statusCode is taken as a 200 JSON body, strings verbatim.
        try:
            body = result if isinstance(result, str) else json.dumps(result)
        except (TypeError, ValueError):
            return JSONResponse(_INTERNAL_ERROR, 500, headers=base_headers)
        return Response(body, 200, headers=base_headers, media_type="application/json")
    try:
        status = int(result["statusCode"])
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        cookies = [str(c) for c in result.get("cookies") or []]
        body = result.get("body") or ""
        if not isinstance(body, str):
            raise TypeError("body must be a string")
        content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    except (TypeError, ValueError, AttributeError):
        # A malformed integration response is API Gateway's 500, not the function's.
        return JSONResponse(_INTERNAL_ERROR, 500, headers=base_headers)
    response = Response(content, status, headers={**headers, **base_headers})
    for cookie in cookies:
        response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return response


def _default_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    # Looked up per call so tests that reset or patch the relay module see their changes.
    from relay import handler as relay_handler

    return relay_handler.handler(event, context)


def create_app(handler: Callable[[dict[str, Any], Any], Any] | None = None) -> Starlette:
    """The stand-in app; `handler` defaults to the real relay.handler.handler."""
    call = handler or _default_handler

    async def route(request: Request) -> Response:
        request_id = _request_id()
        if request.method != ROUTE_METHOD or request.url.path != ROUTE_PATH:
            # HTTP API answers unmatched routes (wrong method included) with this 404.
            return JSONResponse(
                {"message": "Not Found"}, 404, headers={"apigw-requestid": request_id}
            )
        event = build_event(request, await request.body(), request_id)
        context = LambdaContext()
        try:
            # A worker thread, as Lambda gives the handler its own process: the relay's blocking
            # boto3 call must not stall this event loop. (The 30 s integration timeout is not
            # enforced: a thread cannot be cancelled, and the relay's own timeouts stay below it.)
            result = await run_in_threadpool(call, event, context)
        except Exception:
            # Lambda would write the traceback to the function's log; API Gateway only says 500.
            log.exception("relay handler raised for request %s", request_id)
            return JSONResponse(_INTERNAL_ERROR, 500, headers={"apigw-requestid": request_id})
        return to_response(result, request_id)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", route, methods=methods)])
