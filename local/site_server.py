"""Serve local hosting folders the way CloudFront serves the S3 bucket: previews and production."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

NOTHING_LIVE = (
    "<!doctype html><meta charset=utf-8><title>Not live yet</title><p>Nothing is live yet."
)


def create_app(site_dir: Path) -> Starlette:
    """`/previews/<id>/…` serves builds/<id>/…; everything else serves the live build."""

    def file_in(build_id: str, rest: str) -> Response:
        root = (site_dir / "builds" / build_id).resolve()
        target = (root / (rest or "index.html")).resolve()
        if rest.endswith("/"):
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file():
            return HTMLResponse("<!doctype html><p>Not found.", status_code=404)
        # Local hosting mirrors the CloudFront behaviour: never let a stale page hide a switch.
        return FileResponse(target, headers={"Cache-Control": "no-store"})

    async def preview(request: Request) -> Response:
        build_id = request.path_params["build_id"]
        if "/" in build_id or build_id.startswith("."):
            return HTMLResponse("<!doctype html><p>Not found.", status_code=404)
        return file_in(build_id, request.path_params.get("rest", ""))

    async def production(request: Request) -> Response:
        pointer = site_dir / "production.json"
        if not pointer.exists():
            return HTMLResponse(NOTHING_LIVE, status_code=503)
        build_id = json.loads(pointer.read_text())["build_id"]
        return file_in(build_id, request.path_params.get("rest", ""))

    return Starlette(
        routes=[
            Route("/previews/{build_id}/{rest:path}", preview),
            Route(
                "/previews/{build_id}",
                lambda r: Response(
                    status_code=301, headers={"Location": f"/previews/{r.path_params['build_id']}/"}
                ),
            ),
            Route("/{rest:path}", production),
        ]
    )
