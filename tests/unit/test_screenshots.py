"""Visual receipts: page choice (pure) and real headless Chromium behind the local service."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageChops
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agent.screenshots import (
    HttpScreenshotter,
    LambdaScreenshotter,
    Receipt,
    ScreenshotError,
    album,
    pick_page,
    take_receipt,
)
from browser import lambda_handler
from local import screenshot_service
from local.servers import serve_in_thread

PAGE = """<!doctype html><meta name=viewport content="width=device-width,initial-scale=1">
<body style="margin:0;background:{bg}"><h1 style="font-size:{size}">Pipe offset</h1>"""


def test_pick_page_prefers_a_page_the_change_touched():
    built = {"index.html", "about.html", "style.css"}
    assert pick_page(["src/style.css"], built) == ""
    assert pick_page(["src/style.css", "src/about.html"], built) == "about.html"
    assert pick_page(["src/index.html"], built) == ""
    assert pick_page(["src/style.css"], built, ("/calc.html",)) == "calc.html"
    assert pick_page(["src/gone.html"], built, ()) == ""


def test_album_pairs_before_and_after_or_only_after():
    assert [c for _, c in album(Receipt(b"a", b"b"))] == [
        "Before: what's live now",
        "After: your preview",
    ]
    assert [c for _, c in album(Receipt(None, b"b"))] == ["After: your preview"]
    assert album(Receipt(b"a", None)) == []


@pytest.fixture
def pages():
    async def page(request):
        name = request.path_params["name"]
        if name == "missing":
            return HTMLResponse("no", status_code=404)
        bg, size = ("#ffffff", "1rem") if name == "before" else ("#ffd54f", "3rem")
        return HTMLResponse(PAGE.format(bg=bg, size=size))

    handle = serve_in_thread(Starlette(routes=[Route("/{name}", page)]), name="pages")
    yield handle
    handle.stop()


@pytest.fixture
def service(pages):
    handle = serve_in_thread(screenshot_service.create_app(pages.url), name="shots")
    yield handle
    handle.stop()


def image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_real_chromium_pictures_differ_between_before_and_after(pages, service):
    shotter = HttpScreenshotter(service.url)
    before = shotter.capture(f"{pages.url}/before")
    after = shotter.capture(f"{pages.url}/after")
    for data in (before, after):
        img = image(data)
        assert img.format == "PNG" and img.size == (390, 844)
    diff = ImageChops.difference(image(before).convert("RGB"), image(after).convert("RGB"))
    assert diff.getbbox() is not None  # some pixels differ
    # The after page's yellow background is really in the picture.
    assert image(after).convert("RGB").getpixel((380, 800)) == (255, 213, 79)


async def test_receipt_takes_both_and_reports_a_failing_page(pages, service):
    shotter = HttpScreenshotter(service.url)
    receipt = await take_receipt(shotter, f"{pages.url}/", f"{pages.url}/", "after")
    assert receipt.before and receipt.after and not receipt.problem
    broken = await take_receipt(shotter, f"{pages.url}/", f"{pages.url}/", "missing")
    assert broken.before is None and broken.after is None
    assert "HTTP 404" in broken.problem
    nothing = await take_receipt(None, None, f"{pages.url}/", "")
    assert nothing.after is None and "no screenshot service" in nothing.problem


def test_service_refuses_other_sites_and_says_when_no_browser(pages):
    handle = serve_in_thread(
        screenshot_service.create_app(pages.url, binary="/nonexistent/chromium"), name="shots"
    )
    try:
        shotter = HttpScreenshotter(handle.url)
        with pytest.raises(ScreenshotError, match="allowed prefix"):
            shotter.capture("http://127.0.0.1:1/elsewhere")
        with pytest.raises(ScreenshotError, match="no Chromium") as err:
            shotter.capture(f"{pages.url}/after")
        assert err.value.url.endswith("/after")
    finally:
        handle.stop()


def test_a_service_that_does_not_answer_properly_is_a_screenshot_error(pages):
    handle = serve_in_thread(Starlette(routes=[]), name="not-a-shot-service")
    try:
        with pytest.raises(ScreenshotError, match="HTTP 404"):
            HttpScreenshotter(handle.url, timeout_s=5).capture(f"{pages.url}/after")
    finally:
        handle.stop()


class InProcessLambda:
    """Stands in for the Lambda service: runs the real handler on the JSON payload."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.calls: list[str] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict:  # noqa: N803 (boto3's names)
        self.calls.append(FunctionName)
        body = json.dumps(self.handler(json.loads(Payload), None)).encode()
        return {"StatusCode": 200, "Payload": io.BytesIO(body)}


def test_lambda_handler_pictures_allowed_pages_only(pages, monkeypatch):
    monkeypatch.setenv("SHIPIT_SCREENSHOT_ALLOWED_PREFIX", pages.url)
    service = InProcessLambda(lambda_handler.handler)
    shotter = LambdaScreenshotter("shipit-screenshots", service)
    assert image(shotter.capture(f"{pages.url}/after")).size == (390, 844)
    with pytest.raises(ScreenshotError, match="allowed prefix"):
        shotter.capture("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ScreenshotError, match="HTTP 404"):
        shotter.capture(f"{pages.url}/missing")
    assert service.calls == ["shipit-screenshots"] * 3


def test_repo_config_names_pages_and_refuses_ones_outside_the_app():
    from agent.repo_config import RepoConfigError, parse_repo_config

    assert parse_repo_config('screenshot_pages = ["calc.html"]').screenshot_pages == ("calc.html",)
    for bad in ('["../secret"]', '["http://elsewhere/"]', '["/etc/passwd"]'):
        with pytest.raises(RepoConfigError, match="screenshot_pages"):
            parse_repo_config(f"screenshot_pages = {bad}")
