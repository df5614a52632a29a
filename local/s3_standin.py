"""A local stand-in for the part of S3 the chat inbox uses (agent/inbox.py, relay/handler.py).

Four operations on path-style URLs, as botocore sends them to a loopback endpoint and as the
relay's signer does (relay/aws_call.py): PutObject, GetObject, DeleteObject, ListObjectsV2
(prefix and continuation). moto's server mode would need flask, which the dev group does not
install, and moto in-process cannot be shared with the agent's process. Any signature is accepted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PAGE = 1000  # S3's default MaxKeys


@dataclass
class Buckets:
    """Objects by bucket and key; `fail` makes every call answer 503 (an outage, for tests)."""

    objects: dict[str, dict[str, bytes]] = field(default_factory=dict)
    fail: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, key)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self, bucket: str) -> list[str]:
        with self._lock:
            return sorted(self.objects.get(bucket, {}))


def _error(status: int, code: str) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code></Error>"
    return Response(body, status_code=status, media_type="application/xml")


def _listing(bucket: str, keys: list[str], prefix: str, token: str, size: dict[str, int]) -> str:
    start = int(token) if token.isdigit() else 0
    page = keys[start : start + PAGE]
    more = start + PAGE < len(keys)
    items = "".join(
        f"<Contents><Key>{escape(k)}</Key><Size>{size[k]}</Size></Contents>" for k in page
    )
    next_token = f"<NextContinuationToken>{start + PAGE}</NextContinuationToken>" if more else ""
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
        f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{PAGE}</MaxKeys>"
        f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{next_token}{items}"
        "</ListBucketResult>"
    )


def create_app(*bucket_names: str) -> Starlette:
    """An S3 endpoint with these (empty) buckets; `app.state.buckets` is its `Buckets`."""
    store = Buckets({name: {} for name in bucket_names})

    async def dispatch(request: Request) -> Response:
        bucket, _, key = request.path_params["path"].partition("/")
        if store.fail:
            return _error(503, "ServiceUnavailable")
        with store._lock:
            objects = store.objects.get(bucket)
            if objects is None:
                return _error(404, "NoSuchBucket")
            if request.method == "GET" and not key:
                store.calls.append(("ListObjectsV2", request.query_params.get("prefix", "")))
                prefix = request.query_params.get("prefix", "")
                keys = sorted(k for k in objects if k.startswith(prefix))
                size = {k: len(objects[k]) for k in keys}
                token = request.query_params.get("continuation-token", "")
                return Response(
                    _listing(bucket, keys, prefix, token, size), media_type="application/xml"
                )
            if request.method == "GET":
                store.calls.append(("GetObject", key))
                if key not in objects:
                    return _error(404, "NoSuchKey")
                return Response(objects[key], media_type="application/octet-stream")
            if request.method == "DELETE":
                store.calls.append(("DeleteObject", key))
                objects.pop(key, None)
                return Response(status_code=204)
        if request.method == "PUT" and key:
            body = await request.body()
            with store._lock:
                store.calls.append(("PutObject", key))
                store.objects[bucket][key] = body
            return Response(status_code=200, headers={"ETag": '"standin"'})
        return _error(405, "MethodNotAllowed")

    app = Starlette(routes=[Route("/{path:path}", dispatch, methods=["GET", "PUT", "DELETE"])])
    app.state.buckets = store
    return app
