"""Issue 11 end to end: pictures with the preview, history and going back, photos in, owner, spend."""

from __future__ import annotations

import io

from PIL import Image, ImageChops

from tests.e2e.conftest import USER, Script, edit_session

# A change anyone can see on a phone: the whole page turns yellow.
YELLOW = ("body {", "body {\n  background: #ffd54f !important;")


def photos(tg) -> list[dict]:
    return [m for m in tg.bot_messages(USER) if m["kind"] == "photo"]


def decode(tg, message: dict) -> Image.Image:
    img = Image.open(io.BytesIO(tg.file_bytes(message["photo_url"])))
    img.load()
    return img


def test_preview_comes_with_before_and_after_pictures(start_stack):
    stack = start_stack(Script(edit_session(*YELLOW, answer="The page is yellow now.")))
    tg = stack.telegram.client()

    tg.send_text(USER, "make the page yellow")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)

    before, after = photos(tg)
    assert before["media_group_id"] and before["media_group_id"] == after["media_group_id"]
    assert before["text"].startswith("Before") and after["text"].startswith("After")
    assert before["message_id"] < after["message_id"] < preview["message_id"]  # album first
    old, new = decode(tg, before), decode(tg, after)
    assert old.format == new.format == "PNG" and old.size == new.size == (390, 844)
    assert ImageChops.difference(old.convert("RGB"), new.convert("RGB")).getbbox() is not None
    assert new.convert("RGB").getpixel((385, 830)) == (255, 213, 79)
    assert old.convert("RGB").getpixel((385, 830)) != (255, 213, 79)
    assert "📸" in preview["text"] and preview["buttons"]


def test_preview_still_goes_out_when_no_picture_can_be_made(start_stack):
    stack = start_stack(
        Script(edit_session(*YELLOW, answer="The page is yellow now.")),
        chromium="/nonexistent/chromium",
    )
    tg = stack.telegram.client()

    tg.send_text(USER, "make the page yellow")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)

    assert photos(tg) == []
    assert "couldn't make a picture of the page" in preview["text"]
    assert [b["text"] for row in preview["buttons"] for b in row][0] == "🚀 Ship it"
