"""A local stand-in for the CloudFront KeyValueStore data plane (one store) for real boto3 clients."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Wire shapes from botocore's cloudfront-keyvaluestore 2022-07-26 model (rest-json):
#   DescribeKeyValueStore  GET    /key-value-stores/{KvsARN}             -> ETag header + metadata
#   ListKeys               GET    /key-value-stores/{KvsARN}/keys        ?MaxResults&NextToken
#   GetKey                 GET    /key-value-stores/{KvsARN}/keys/{Key}
#   PutKey                 PUT    /key-value-stores/{KvsARN}/keys/{Key}  If-Match, {"Value": ...}
#   DeleteKey              DELETE /key-value-stores/{KvsARN}/keys/{Key}  If-Match
# Writes need If-Match equal to the current ETag and answer with a new one. A stale ETag is a
# 409 ConflictException (the model allows Conflict or Validation; Conflict is "resource is not in
# the expected state"). Any Authorization is accepted: boto3 signs this service with SigV4A.
PREFIX = "/key-value-stores/"
# CloudFront's documented limits for one key-value pair.
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
MAX_LIST_RESULTS = 50
DEFAULT_LIST_RESULTS = 10


class KvsError(Exception):
    """An error answer in the service's rest-json error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _new_etag() -> str:
    # Opaque, like the service's; only equality with If-Match matters.
    return "KV" + uuid.uuid4().hex[:14].upper()


@dataclass
class KvsStandIn:
    """The one store: its items, ETag, and every request received (for assertions)."""

    arn: str
    created: float = field(default_factory=time.time)
    etag: str = field(default_factory=_new_etag)
    last_modified: float | None = None
    _items: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def items(self) -> dict[str, str]:
        with self._lock:
            return dict(self._items)

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._calls]

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._calls.append(entry)

    def set_out_of_band(self, key: str, value: str) -> str:
        """Write as another client would (new ETag), e.g. to make someone's ETag stale."""
        with self._lock:
            return self._write(key, value)

    def _size(self) -> int:
        return sum(len(k.encode()) + len(v.encode()) for k, v in self._items.items())

    def _counts(self) -> dict[str, int]:
        return {"ItemCount": len(self._items), "TotalSizeInBytes": self._size()}

    def _write(self, key: str, value: str | None) -> str:
        if value is None:
            del self._items[key]
        else:
            self._items[key] = value
        self.etag = _new_etag()
        self.last_modified = time.time()
        return self.etag

    def _check_if_match(self, if_match: str | None) -> None:
        if not if_match:
            raise KvsError(400, "ValidationException", "If-Match header is required.")
        if if_match != self.etag:
            raise KvsError(
                409,
                "ConflictException",
                f"Pre-Condition failed: If-Match {if_match} is not the current ETag.",
            )

    def describe(self) -> tuple[dict[str, Any], str]:
        with self._lock:
            body: dict[str, Any] = {
                **self._counts(),
                "KvsARN": self.arn,
                "Created": self.created,
                "Status": "READY",
            }
            if self.last_modified is not None:
                body["LastModified"] = self.last_modified
            return body, self.etag

    def get(self, key: str) -> dict[str, Any]:
        with self._lock:
            if key not in self._items:
                raise KvsError(404, "ResourceNotFoundException", f"Key {key} was not found.")
            return {"Key": key, "Value": self._items[key], **self._counts()}

    def put(self, key: str, value: Any, if_match: str | None) -> tuple[dict[str, Any], str]:
        if not isinstance(value, str):
            raise KvsError(400, "ValidationException", "Value is required and must be a string.")
        if not 1 <= len(key.encode()) <= MAX_KEY_BYTES:
            raise KvsError(400, "ValidationException", f"Key must be 1-{MAX_KEY_BYTES} bytes.")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise KvsError(400, "ValidationException", f"Value exceeds {MAX_VALUE_BYTES} bytes.")
        with self._lock:
            self._check_if_match(if_match)
            etag = self._write(key, value)
            return self._counts(), etag

    def delete(self, key: str, if_match: str | None) -> tuple[dict[str, Any], str]:
        with self._lock:
            self._check_if_match(if_match)
            if key not in self._items:
                raise KvsError(404, "ResourceNotFoundException", f"Key {key} was not found.")
            etag = self._write(key, None)
            return self._counts(), etag

    def list(self, max_results: str | None, next_token: str | None) -> dict[str, Any]:
        try:
            limit = int(max_results) if max_results else DEFAULT_LIST_RESULTS
            start = int(next_token) if next_token else 0
        except ValueError as exc:
            raise KvsError(400, "ValidationException", "Bad MaxResults or NextToken.") from exc
        if not 1 <= limit <= MAX_LIST_RESULTS or start < 0:
            raise KvsError(400, "ValidationException", "Bad MaxResults or NextToken.")
        with self._lock:
            keys = sorted(self._items)
            page = keys[start : start + limit]
            body: dict[str, Any] = {"Items": [{"Key": k, "Value": self._items[k]} for k in page]}
        if start + limit < len(keys):
            body["NextToken"] = str(start + limit)
        return body


def endpoint_url(server_url: str) -> str:
    """The stand-in's URL in a form boto3 can reach, for AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE.

    botocore's endpoint ruleset for this service does honour a custom endpoint (that variable or
    `endpoint_url=`), but always builds `{scheme}://{ARN account id}.{endpoint authority}{path}`,
    and `123456789012.127.0.0.1` does not resolve. With a `kvs@` user-info part the authority
    becomes `123456789012.kvs@127.0.0.1:PORT`: the account label lands in the (unused) user name
    and the connection goes to loopback, so an unmodified `boto3.client(...)` reaches the stand-in.
    """
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, f"kvs@{parts.netloc}", parts.path, "", ""))


def _error(exc: KvsError) -> JSONResponse:
    # restJson errors: botocore takes the code from x-amzn-ErrorType, the message from the body.
    return JSONResponse(
        {"Message": exc.message},
        status_code=exc.status,
        headers={"x-amzn-ErrorType": exc.code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _split(raw_path: bytes) -> list[str] | None:
    # Labels are percent-encoded with no safe characters, so the ARN's "/" arrives as %2F and
    # the raw path splits cleanly; the decoded path would not.
    path = raw_path.decode("ascii", "replace")
    if not path.startswith(PREFIX):
        return None
    return [unquote(part) for part in path[len(PREFIX) :].split("/")]


def create_app(kvs_arn: str) -> Starlette:
    """One store with this ARN; `app.state.kvs` is its `KvsStandIn`."""
    store = KvsStandIn(kvs_arn)

    async def dispatch(request: Request) -> Response:
        parts = _split(request.scope.get("raw_path") or request.url.path.encode())
        if_match = request.headers.get("if-match")
        auth = request.headers.get("authorization", "")
        entry: dict[str, Any] = {
            "method": request.method,
            "parts": parts,
            "if_match": if_match,
            "auth_scheme": auth.split(" ", 1)[0],
            "host": request.headers.get("host"),
        }
        try:
            if not parts or not parts[0]:
                raise KvsError(404, "UnknownOperationException", "No such operation.")
            if parts[0] != store.arn:
                raise KvsError(
                    404, "ResourceNotFoundException", f"Key value store {parts[0]} was not found."
                )
            body, etag = await _operation(request, parts[1:], if_match, entry)
        except KvsError as exc:
            entry["error"] = exc.code
            store.record(entry)
            return _error(exc)
        store.record(entry)
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if etag is not None:
            headers["ETag"] = etag
        return JSONResponse(body, headers=headers)

    async def _operation(
        request: Request, rest: list[str], if_match: str | None, entry: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        method = request.method
        if rest == [] and method == "GET":
            entry["operation"] = "DescribeKeyValueStore"
            return store.describe()
        if rest == ["keys"] and method == "GET":
            entry["operation"] = "ListKeys"
            query = parse_qs(request.url.query)
            return store.list(
                query.get("MaxResults", [None])[0], query.get("NextToken", [None])[0]
            ), None
        if len(rest) == 2 and rest[0] == "keys":
            key = entry["key"] = rest[1]
            if method == "GET":
                entry["operation"] = "GetKey"
                return store.get(key), None
            if method == "PUT":
                entry["operation"] = "PutKey"
                try:
                    payload = json.loads(await request.body() or b"{}")
                except ValueError as exc:
                    raise KvsError(400, "ValidationException", "Body is not JSON.") from exc
                value = payload.get("Value") if isinstance(payload, dict) else None
                entry["value"] = value
                return store.put(key, value, if_match)
            if method == "DELETE":
                entry["operation"] = "DeleteKey"
                return store.delete(key, if_match)
        raise KvsError(404, "UnknownOperationException", f"No operation for {method} {rest}.")

    app = Starlette(
        routes=[Route("/{path:path}", dispatch, methods=["GET", "PUT", "DELETE", "POST"])]
    )
    app.state.kvs = store
    return app
