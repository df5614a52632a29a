"""The CloudFront router (infra/viewer_request.js) in Python, for local hosting (pure).

It mirrors the function line for line and returns what the function returns (a rewritten
request's `uri`, or a response), so tests/unit/test_site_routing.py runs both on the same cases
and compares. The one difference is transport: the preview cookie is `Secure` only over HTTPS,
since a local stack serves plain HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable

BUILD_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")  # whole-string match, like the JS
COOKIE = "shipit_preview"
COOKIE_ATTRIBUTES = "Path=/; Max-Age=604800; HttpOnly; SameSite=Lax"
STYLE = "<style>body{font-family:system-ui,sans-serif;margin:3rem;color:#333}</style>"

# key -> value, raising KeyError when absent (like the KeyValueStore's get).
Lookup = Callable[[str], str]


def html(title: str, text: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>{STYLE}</head><body><h1>{title}</h1><p>{text}"
        "</p></body></html>"
    )


NOT_LIVE = html(
    "Nothing is live yet",
    "Ask for a change in Telegram, check the preview, then say &ldquo;ship it&rdquo;.",
)
NO_PREVIEW = html(
    "Open your preview from Telegram",
    "This address shows a preview only after you open its link from the chat with Shipit.",
)
NOT_FOUND = html("Page not found", "There is nothing at this address.")
NO_WORKER = html(
    "No offline mode in previews",
    "Previews share one address, so they never install a service worker.",
)


def page(status: int, description: str, body: str) -> dict:
    return {
        "statusCode": status,
        "statusDescription": description,
        "headers": {
            "content-type": {"value": "text/html; charset=utf-8"},
            "cache-control": {"value": "no-store"},
        },
        "body": {"encoding": "text", "data": body},
    }


def _is_spa(kvs: Lookup, build: str) -> bool:
    try:
        return kvs(f"spa:{build}") == "1"
    except KeyError:
        return False


def _serve(kvs: Lookup, build: str, path: str) -> dict:
    file = path
    if file.endswith("/"):
        file += "index.html"
    elif "." not in file.rsplit("/", 1)[-1] and _is_spa(kvs, build):
        file = "/index.html"
    return {"uri": f"/builds/{build}{file}"}


def _split_preview(uri: str) -> tuple[str, str | None]:
    rest = uri[len("/previews/") :]
    build, slash, tail = rest.partition("/")
    return (build, "/" + tail) if slash else (rest, None)


def route(
    mode: str, uri: str, headers: dict[str, str], cookies: dict[str, str], kvs: Lookup, secure=True
) -> dict:
    """What the router does with one request (`headers` with lower-case names)."""
    return (
        _preview_origin(uri, headers, cookies, kvs, secure)
        if mode == "previews"
        else _site_origin(uri, kvs)
    )


def _preview_origin(uri, headers, cookies, kvs: Lookup, secure: bool) -> dict:
    if headers.get("service-worker") == "script":
        return page(404, "Not Found", NO_WORKER)
    if uri == "/previews" or uri.startswith("/previews/"):
        build, rest = _split_preview(uri)
        if not BUILD_ID.fullmatch(build):
            return page(404, "Not Found", NOT_FOUND)
        attributes = COOKIE_ATTRIBUTES + ("; Secure" if secure else "")
        return {
            "statusCode": 302,
            "statusDescription": "Found",
            "headers": {"location": {"value": rest or "/"}, "cache-control": {"value": "no-store"}},
            "cookies": {COOKIE: {"value": build, "attributes": attributes}},
        }
    build = cookies.get(COOKIE)
    if not build or not BUILD_ID.fullmatch(build):
        return page(404, "Not Found", NO_PREVIEW)
    return _serve(kvs, build, uri)


def _site_origin(uri: str, kvs: Lookup) -> dict:
    if uri == "/previews" or uri.startswith("/previews/"):
        build, rest = _split_preview(uri)
        if not BUILD_ID.fullmatch(build):
            return page(404, "Not Found", NOT_FOUND)
        if rest is None:
            return {
                "statusCode": 301,
                "statusDescription": "Moved Permanently",
                "headers": {"location": {"value": f"/previews/{build}/"}},
            }
        return _serve(kvs, build, rest)
    try:
        live = kvs("production")
    except KeyError:
        return page(503, "Service Unavailable", NOT_LIVE)
    if not BUILD_ID.fullmatch(live):
        return page(503, "Service Unavailable", NOT_LIVE)
    return _serve(kvs, live, uri)
