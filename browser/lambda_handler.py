"""The screenshot Lambda: {"url", "width", "height"} in, {"ok", "png_b64" | "error"} out.

Only pages under SHIPIT_SCREENSHOT_ALLOWED_PREFIX (the app's public URL) are rendered, so the
function cannot be turned into a way to fetch other sites.
"""

from __future__ import annotations

import base64
import os
import time

from browser.chromium import ChromiumError, capture

MAX_SIDE = 2000


def handler(event, _context):
    url = str((event or {}).get("url") or "")
    prefix = os.environ.get("SHIPIT_SCREENSHOT_ALLOWED_PREFIX", "")
    if not prefix or not url.startswith(prefix):
        return {"ok": False, "error": "url is not under the allowed prefix"}
    try:
        width = int(event.get("width") or 390)
        height = int(event.get("height") or 844)
    except (TypeError, ValueError):
        return {"ok": False, "error": "width and height must be whole numbers"}
    if not (100 <= width <= MAX_SIDE and 100 <= height <= MAX_SIDE):
        return {"ok": False, "error": "width and height must be between 100 and 2000"}
    started = time.monotonic()
    try:
        png = capture(url, width, height, timeout_s=float(os.environ.get("SHOT_TIMEOUT_S", "25")))
    except ChromiumError as exc:
        return {"ok": False, "error": exc.problem}
    return {
        "ok": True,
        "png_b64": base64.b64encode(png).decode("ascii"),
        "seconds": round(time.monotonic() - started, 3),
    }
