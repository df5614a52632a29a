"""Photos in: the prompt's content blocks, and albums gathered into one request."""

from __future__ import annotations

import asyncio
import base64

import telegram

from agent.photos import Albums, ImagePrompt, media_type, model_text, request_text
from tests.unit.test_telegram_emulator import png


def test_media_type_from_bytes():
    assert media_type(png(1, 1)) == "image/png"
    assert media_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert media_type(b"GIF89a...") == "image/gif"


def test_words_for_a_photo():
    assert request_text("  the button  ") == "the button"
    assert request_text("") == "📷 (a photo)"
    assert "feedback on that preview" in model_text("", waiting_preview=True)
    assert "preview" not in model_text("", waiting_preview=False)
    assert model_text("fix this", True).startswith("fix this")


async def test_image_prompt_is_one_user_message_and_can_be_replayed(tmp_path):
    picture = tmp_path / "a.png"
    picture.write_bytes(png(2, 2))
    prompt = ImagePrompt("make it like this", [picture])
    for _ in range(2):  # a retry without the stored session iterates again
        (message,) = [m async for m in prompt]
        text, image = message["message"]["content"]
        assert message["type"] == "user" and text == {"type": "text", "text": "make it like this"}
        assert image["source"]["media_type"] == "image/png"
        assert base64.b64decode(image["source"]["data"]) == picture.read_bytes()


def _update(update_id: int, message_id: int, group: str | None) -> telegram.Update:
    data = {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "photo": [
                {"file_id": f"f{message_id}", "file_unique_id": "u", "width": 1, "height": 1}
            ],
            **({"media_group_id": group} if group else {}),
        },
    }
    return telegram.Update.de_json(data, None)


async def test_album_members_join_the_first_and_retries_are_dropped():
    albums = Albums(quiet_s=0.2)
    first, second, third = _update(1, 10, "g"), _update(2, 11, "g"), _update(3, 12, "g")
    assert albums.absorb(first) is False  # the first starts the request
    collecting = asyncio.create_task(albums.collect(first.message))
    assert albums.absorb(third) is True
    assert albums.absorb(second) is True
    assert albums.absorb(second) is True  # a webhook retry: not added twice
    gathered = await collecting
    assert [m.message_id for m in gathered] == [10, 11, 12]
    assert albums.open == {}
    assert albums.absorb(_update(4, 13, None)) is False  # a lone photo is its own request
