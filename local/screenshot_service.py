"""The local stand-in for the screenshot Lambda: the same Chromium code behind loopback HTTP.

It runs in the local stack's process, outside the agent's process and box, as the Lambda runs
outside the agent's container on AWS. POST /screenshot {"url", "width", "height"} → image/png,
or 422 {"error"} when no picture can be made. Only URLs under `allowed_prefix` are rendered.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from browser.chromium import ChromiumError, capture


def create_app(allowed_prefix: str, binary: str = "", timeout_s: float = 30.0) -> Starlette:
    async def screenshot(request: Request) -> Response:
        try:
            body = await request.json()
            url = str(body["url"])
            width, height = int(body.get("width", 390)), int(body.get("height", 844))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected {url, width, height}"}, status_code=400)
        if not url.startswith(allowed_prefix):
            return JSONResponse({"error": "url is not under the allowed prefix"}, status_code=403)
        try:
            png = await asyncio.to_thread(
                capture, url, width, height, binary=binary, timeout_s=timeout_s
            )
        except ChromiumError as exc:
            return JSONResponse({"error": exc.problem}, status_code=422)
        return Response(png, media_type="image/png")

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/screenshot", screenshot, methods=["POST"]),
            Route("/health", health),
        ]
    )
