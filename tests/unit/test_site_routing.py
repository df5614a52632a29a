"""The CloudFront router and its local twin decide every case the same way, and decide it right."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.hosting import viewer_request_code
from local import site_router
from tests.cloudfront_function import run_viewer_function

STORE = {"production": "b-live", "spa:b-spa": "1", "spa:b-live": "0"}
SW = {"service-worker": {"value": "script"}}


def req(uri: str, cookie: str | None = None, headers: dict | None = None) -> dict:
    cookies = {site_router.COOKIE: {"value": cookie}} if cookie else {}
    return {"uri": uri, "cookies": cookies, "headers": headers or {}}


CASES = {
    "site": [
        req("/"),
        req("/assets/index-D7bDuV68.js"),
        req("/crew"),
        req("/docs/"),
        req("/previews/b-42/"),
        req("/previews/b-42/assets/x.js"),
        req("/previews/b-spa/crew"),
        req("/previews/b-42"),
        req("/previews/"),
        req("/previews/bad%2Fid/x"),
        req("/sw.js", headers=SW),
    ],
    "previews": [
        req("/previews/b-42/"),
        req("/previews/b-42/crew"),
        req("/previews/b-42"),
        req("/previews/bad id/"),
        req("/"),
        req("/", cookie="b-42"),
        req("/assets/index-D7bDuV68.js", cookie="b-42"),
        req("/crew", cookie="b-42"),
        req("/crew", cookie="b-spa"),
        req("/crew/", cookie="b-spa"),
        req("/favicon.svg", cookie="b-spa"),
        req("/", cookie="../etc"),
        req("/sw.js", cookie="b-42", headers=SW),
        req("/registerSW.js", cookie="b-42"),
    ],
}


def python_route(mode: str, request: dict) -> dict:
    def kvs(key: str) -> str:
        return STORE[key]

    headers = {k: v["value"] for k, v in request["headers"].items()}
    cookies = {k: v["value"] for k, v in request["cookies"].items()}
    return site_router.route(mode, request["uri"], headers, cookies, kvs, secure=True)


def js_route(tmp_path: Path, mode: str, requests: list[dict]) -> list[dict]:
    source = viewer_request_code("kvs-1", mode)
    results = run_viewer_function(tmp_path / mode, source, STORE, requests)["results"]
    # A rewritten request is compared by its URI; a response whole.
    return [r if "statusCode" in r else {"uri": r["uri"]} for r in results]


@pytest.fixture(scope="module")
def js_results(tmp_path_factory) -> dict[str, list[dict]]:
    tmp = tmp_path_factory.mktemp("router")
    return {mode: js_route(tmp, mode, CASES[mode]) for mode in CASES}


@pytest.mark.parametrize("mode", sorted(CASES))
def test_local_hosting_routes_exactly_like_cloudfront(js_results, mode: str) -> None:
    python = [python_route(mode, r) for r in CASES[mode]]
    for request, js, py in zip(CASES[mode], js_results[mode], python, strict=True):
        assert py == js, request


def route(mode: str, uri: str, cookie: str | None = None, headers: dict | None = None) -> dict:
    return python_route(mode, req(uri, cookie, headers))


def test_a_preview_link_sets_the_cookie_and_opens_the_real_path() -> None:
    opened = route("previews", "/previews/b-42/crew")
    assert opened["statusCode"] == 302
    assert opened["headers"]["location"]["value"] == "/crew"
    assert opened["cookies"] == {
        "shipit_preview": {
            "value": "b-42",
            "attributes": "Path=/; Max-Age=604800; HttpOnly; SameSite=Lax; Secure",
        }
    }
    assert opened["headers"]["cache-control"]["value"] == "no-store"
    assert route("previews", "/previews/b-42")["headers"]["location"]["value"] == "/"


def test_preview_origin_serves_the_cookie_build_at_production_paths() -> None:
    assert route("previews", "/", "b-42") == {"uri": "/builds/b-42/index.html"}
    assert route("previews", "/assets/a-1x2y3z4w.js", "b-42") == {
        "uri": "/builds/b-42/assets/a-1x2y3z4w.js"
    }
    # Without the SPA opt-in a deep link is looked up as a file (a friendly 404 if missing).
    assert route("previews", "/crew", "b-42") == {"uri": "/builds/b-42/crew"}
    assert route("previews", "/crew", "b-spa") == {"uri": "/builds/b-spa/index.html"}
    assert route("previews", "/favicon.svg", "b-spa") == {"uri": "/builds/b-spa/favicon.svg"}
    no_cookie = route("previews", "/crew")
    assert no_cookie["statusCode"] == 404
    assert "Open your preview from Telegram" in no_cookie["body"]["data"]


def test_no_service_worker_is_ever_served_on_the_preview_origin() -> None:
    refused = route("previews", "/sw.js", "b-42", SW)
    assert refused["statusCode"] == 404
    # The same file fetched as a plain script (no Service-Worker header) is served.
    assert route("previews", "/sw.js", "b-42") == {"uri": "/builds/b-42/sw.js"}


def test_production_ignores_preview_cookies_and_honours_its_own_spa_flag() -> None:
    assert route("site", "/", "b-42") == {"uri": "/builds/b-live/index.html"}
    assert route("site", "/crew", "b-spa") == {"uri": "/builds/b-live/crew"}  # b-live: "0"
    assert route("site", "/sw.js", headers=SW) == {"uri": "/builds/b-live/sw.js"}


def test_cookie_is_secure_only_over_https() -> None:
    plain = site_router.route("previews", "/previews/b-1/", {}, {}, STORE.__getitem__, False)
    assert "Secure" not in plain["cookies"]["shipit_preview"]["attributes"]
