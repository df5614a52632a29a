"""The local chat page in a real headless Chromium: a person asks, sees the album and buttons,
taps Ship it. Screenshots are kept in test-artifacts/ (the README's picture comes from here)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from browser.chromium import FLAGS, find_chromium
from tests.e2e.conftest import USER, Script, edit_session

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
YELLOW = ("body {", "body {\n  background: #ffd54f !important;")


@pytest.fixture
def page():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=find_chromium(), args=[f for f in FLAGS if f != "--headless"]
        )
        yield browser.new_page(viewport={"width": 420, "height": 1100})
        browser.close()


def test_chat_page_shows_the_album_and_buttons_and_ships(start_stack, page):
    stack = start_stack(Script(edit_session(*YELLOW, answer="The page is yellow now.")))
    page.goto(f"{stack.chat_page}?user_id={USER}&name=Sam")

    page.fill("#input", "make the page yellow")
    page.click("#composer button[type=submit]")
    expect(page.get_by_text("Your preview is ready")).to_be_visible(timeout=90_000)

    album = page.locator(".album img")
    expect(album).to_have_count(2)
    # Both pictures really loaded, at the phone width they were taken at.
    widths = album.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert widths == [390, 390]
    expect(page.locator(".album figcaption").first).to_have_text("Before: what's live now")
    ship = page.get_by_role("button", name="🚀 Ship it")
    expect(ship).to_have_class("success")
    expect(page.get_by_role("button", name="🗑 Discard")).to_have_class("danger")
    expect(page.locator(".lp")).to_contain_text("/previews/")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / "chat-preview.png"))
    small = Image.open(io.BytesIO(shot)).convert("RGB")
    small.thumbnail((320, 1000))
    small.quantize(colors=96).save(ARTIFACTS / "chat-preview-small.png", optimize=True)

    ship.click()
    expect(page.get_by_text("It's live!")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="↩️ Undo")).to_have_class("danger")
    page.screenshot(path=str(ARTIFACTS / "chat-live.png"))


def test_chat_page_sends_a_photo_with_its_caption(page, tmp_path):
    from local.telegram_emulator import start_emulator

    emulator = start_emulator("1000001:PAGE-token")
    try:
        picture = tmp_path / "cut-off.png"
        Image.new("RGB", (60, 40), (200, 0, 0)).save(picture)
        page.goto(f"{emulator.url}/?user_id={USER}&name=Sam")
        expect(page.locator("#who")).to_contain_text("Sam")
        page.fill("#input", "this button is cut off")
        page.set_input_files("#file", str(picture))
        with emulator.client() as tg:
            sent = tg.wait_for(
                USER, lambda ms: [m for m in ms if m["kind"] == "photo"], any_change=True
            )
            (photo,) = [m for m in sent if m["kind"] == "photo"]
            assert photo["text"] == "this button is cut off" and not photo["from_bot"]
            assert tg.file_bytes(photo["photo_url"]) == picture.read_bytes()
        expect(page.locator("#input")).to_have_value("")
    finally:
        emulator.stop()
