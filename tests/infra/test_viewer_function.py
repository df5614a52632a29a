"""The CloudFront router function, run under Node with a stand-in for the `cloudfront` KVS module."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.hosting import viewer_request_code
from tests.cloudfront_function import NODE, run_viewer_function

pytestmark = pytest.mark.skipif(NODE is None, reason="node is needed to run the function")


def run_router(tmp_path: Path, store: dict[str, str], uris: list[str]) -> dict:
    source = viewer_request_code("kvs-1234")
    assert "import cf from 'cloudfront';" in source
    return run_viewer_function(tmp_path, source, store, uris)


def test_previews_and_production_rewrite_to_builds(tmp_path: Path) -> None:
    out = run_router(
        tmp_path,
        {"production": "b-20250101-abc"},
        [
            "/previews/b-42/",
            "/previews/b-42/app.js",
            "/previews/b-42/docs/",
            "/",
            "/styles/site.css",
            "/about/",
        ],
    )
    assert out["kvsIds"] == ["kvs-1234"]
    assert [r["uri"] for r in out["results"]] == [
        "/builds/b-42/index.html",
        "/builds/b-42/app.js",
        "/builds/b-42/docs/index.html",
        "/builds/b-20250101-abc/index.html",
        "/builds/b-20250101-abc/styles/site.css",
        "/builds/b-20250101-abc/about/index.html",
    ]


def test_preview_without_trailing_slash_redirects(tmp_path: Path) -> None:
    (result,) = run_router(tmp_path, {}, ["/previews/b-42"])["results"]
    assert result["statusCode"] == 301
    assert result["headers"]["location"]["value"] == "/previews/b-42/"


@pytest.mark.parametrize(
    "uri", ["/previews/", "/previews", "/previews/bad%2Fid/x", "/previews/a b/"]
)
def test_malformed_preview_ids_are_not_found(tmp_path: Path, uri: str) -> None:
    (result,) = run_router(tmp_path, {}, [uri])["results"]
    assert result["statusCode"] == 404


def test_nothing_live_yet_is_a_friendly_page(tmp_path: Path) -> None:
    (result,) = run_router(tmp_path, {}, ["/"])["results"]
    assert result["statusCode"] == 503
    assert "Nothing is live yet" in result["body"]["data"]
    assert result["headers"]["cache-control"]["value"] == "no-store"


def test_switching_production_is_one_key(tmp_path: Path) -> None:
    first = run_router(tmp_path, {"production": "b-1"}, ["/index.html"])["results"][0]["uri"]
    undo = run_router(tmp_path, {"production": "b-0"}, ["/index.html"])["results"][0]["uri"]
    assert (first, undo) == ("/builds/b-1/index.html", "/builds/b-0/index.html")
