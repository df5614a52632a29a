"""Serve local hosting folders the way CloudFront serves the bucket: production and previews.

Routing is local/site_router.py, the Python twin of the CloudFront function; the object headers
are agent/hosting.py's, as uploaded to S3; a missing file gets the friendly 404 page, like the
distribution's error response.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from agent.hosting import LocalHosting, cache_control
from local.site_router import NOT_FOUND, page, route


def _response(result: dict) -> Response:
    headers = {k: v["value"] for k, v in result.get("headers", {}).items()}
    body = result.get("body", {}).get("data", "")
    response = Response(body, status_code=result["statusCode"], headers=headers)
    for name, cookie in result.get("cookies", {}).items():
        response.raw_headers.append(
            (b"set-cookie", f"{name}={cookie['value']}; {cookie['attributes']}".encode())
        )
    return response


def create_app(site_dir: Path, mode: str = "site") -> Starlette:
    """`mode` "site" is the production origin, "previews" the preview origin."""
    builds = (site_dir / "builds").resolve()

    def kvs(key: str) -> str:
        if key == "production":
            pointer = site_dir / "production.json"
            if not pointer.exists():
                raise KeyError(key)
            return json.loads(pointer.read_text())["build_id"]
        if key.startswith("spa:") and LocalHosting.spa_marker(site_dir, key[4:]).exists():
            return "1"
        raise KeyError(key)

    async def handle(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        secure = request.url.scheme == "https"
        result = route(mode, request.url.path, headers, dict(request.cookies), kvs, secure)
        if "uri" not in result:
            return _response(result)
        target = (site_dir / result["uri"].lstrip("/")).resolve()
        if not target.is_relative_to(builds) or not target.is_file():
            return _response(page(404, "Not Found", NOT_FOUND))
        return FileResponse(target, headers={"Cache-Control": cache_control(target.name)})

    return Starlette(routes=[Route("/{rest:path}", handle)])
