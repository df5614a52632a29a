"""The emulator's albums, user photos and bot description, through python-telegram-bot 22.8."""

from __future__ import annotations

import pytest
import telegram
from telegram import InputMediaPhoto
from telegram.error import BadRequest

from local.telegram_emulator import start_emulator
from tests.unit.test_telegram_emulator import png

TOKEN = "123456:TEST-token_abc"
CHAT = 4242


@pytest.fixture
def emulator():
    running = start_emulator(TOKEN)
    yield running
    running.stop()


@pytest.fixture
def client(emulator):
    with emulator.client() as c:
        c.send_text(CHAT, "/start")
        yield c


@pytest.fixture
async def bot(emulator):
    async with telegram.Bot(
        TOKEN, base_url=f"{emulator.url}/bot", base_file_url=f"{emulator.url}/file/bot"
    ) as b:
        yield b


async def test_media_group_is_an_album_of_photo_messages(bot, client):
    before, after = png(4, 3), png(5, 3)
    sent = await bot.send_media_group(
        CHAT, [InputMediaPhoto(before, caption="Before"), InputMediaPhoto(after, caption="After")]
    )
    assert [m.caption for m in sent] == ["Before", "After"]
    assert sent[0].media_group_id and sent[0].media_group_id == sent[1].media_group_id
    views = [m for m in client.bot_messages(CHAT) if m["kind"] == "photo"]
    assert [v["photo_size"] for v in views] == [[4, 3], [5, 3]]
    assert client.file_bytes(views[1]["photo_url"]) == after
    with pytest.raises(BadRequest, match="2 to 10"):
        await bot.send_media_group(CHAT, [InputMediaPhoto(before)])


async def test_a_person_sends_a_photo_the_bot_downloads_it(bot, client):
    image = png(7, 2)
    sent = client.send_photo(CHAT, image, "this is cut off", media_group_id="g1")
    message = telegram.Update.de_json(sent["update"], bot).message
    assert message.caption == "this is cut off" and message.media_group_id == "g1"
    file = await bot.get_file(message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == image


async def test_description_round_trip(bot, emulator):
    assert await bot.set_my_description("Change your app from this chat")
    assert (await bot.get_my_description()).description == "Change your app from this chat"
    assert emulator.client().info()["descriptions"] == {"": "Change your app from this chat"}


async def test_button_styles_are_checked_and_kept(bot, client):
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    ok = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Ship it", callback_data="s", style="success")]]
    )
    await bot.send_message(CHAT, "Ready", reply_markup=ok)
    assert client.bot_messages(CHAT)[-1]["buttons"][0][0]["style"] == "success"
    bad = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x", style="pink")]])
    with pytest.raises(BadRequest, match="(?i)button_style_invalid"):
        await bot.send_message(CHAT, "No", reply_markup=bad)


async def test_bot_profile_is_set_once_per_version(bot, emulator, tmp_path):
    from agent import bot_profile

    marker = tmp_path / "bot_profile.json"
    assert await bot_profile.set_up(bot, marker) is True
    assert [c.command for c in await bot.get_my_commands()][:2] == ["status", "history"]
    assert (await bot.get_my_description()).description == bot_profile.DESCRIPTION
    assert await bot_profile.set_up(bot, marker) is False  # unchanged: no calls this time


async def test_chat_sends_one_picture_as_a_photo_and_several_as_an_album(bot, client):
    from agent.chat import Chat

    chat = Chat(bot)
    assert len(await chat.send_photos(CHAT, [(png(3, 3), "After: your preview")])) == 1
    ids = await chat.send_photos(CHAT, [(png(3, 3), "Before"), (png(4, 4), "After")])
    photos = [m for m in client.bot_messages(CHAT) if m["kind"] == "photo"]
    assert [p["media_group_id"] is None for p in photos] == [True, False, False]
    assert [p["message_id"] for p in photos[1:]] == ids
    data, path = await chat.download(
        (await bot.get_file(photos[0]["photo_url"].rsplit("/", 1)[1])).file_id
    )
    assert data == png(3, 3) and path.endswith(".png")
