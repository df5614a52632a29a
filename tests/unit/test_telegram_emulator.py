"""The Telegram emulator, driven by the real python-telegram-bot 22.8 client and the test API."""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
import struct
import zlib

import httpx
import pytest
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter

from local.servers import serve_in_thread
from local.telegram_client import EmulatorError, EmulatorTimeout
from local.telegram_emulator import start_emulator
from local.telegram_html import HtmlParseError, parse_html

TOKEN = "123456:TEST-token_abc"
CHAT = 4242  # a private chat's id is its user's id


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def emulator():
    running = start_emulator(TOKEN, webhook_retry_delays=(0.05, 0.1))
    yield running
    running.stop()


@pytest.fixture
def client(emulator):
    with emulator.client() as c:
        c.send_text(CHAT, "/start", first_name="Ana")  # the bot may only write to known chats
        yield c


@pytest.fixture
async def bot(emulator):
    # A Bot is bound to the loop that initialised it: one per test.
    async with telegram.Bot(
        TOKEN, base_url=f"{emulator.url}/bot", base_file_url=f"{emulator.url}/file/bot"
    ) as b:
        yield b


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Ship it", callback_data="ship:1"),
            InlineKeyboardButton("Change something", callback_data="change:1"),
        ],
        [InlineKeyboardButton("Discard", callback_data="discard:1")],
    ]
)


async def test_get_me(bot):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.first_name) == (123456, True, "shipit_bot", "Shipit")


async def test_wrong_token_raises(emulator):
    wrong = telegram.Bot("123456:wrong", base_url=f"{emulator.url}/bot")
    with pytest.raises(InvalidToken):
        await wrong.get_me()


async def test_send_html_with_keyboard(bot, client):
    msg = await bot.send_message(
        CHAT,
        '<b>Preview</b> ready: <a href="https://preview.test/p/1/">open</a> &amp; check',
        parse_mode=ParseMode.HTML,
        reply_markup=KEYBOARD,
    )
    assert msg.text == "Preview ready: open & check"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 7),
        ("text_link", 15, 4),
    ]
    assert msg.entities[1].url == "https://preview.test/p/1/"
    assert msg.reply_markup == KEYBOARD
    assert msg.from_user.is_bot and msg.chat.type == "private" and msg.chat.first_name == "Ana"
    # Dates are seconds, so PTB parses them to now rather than to the year 50000.
    assert abs((msg.date - dtm.datetime.now(dtm.UTC)).total_seconds()) < 60

    seen = client.wait_for_text(CHAT, "Preview ready")
    assert seen["message_id"] == msg.message_id and seen["source"].startswith("<b>Preview</b>")
    assert [[b["text"] for b in row] for row in seen["buttons"]] == [
        ["Ship it", "Change something"],
        ["Discard"],
    ]


async def test_edit_text_not_modified_and_keyboard_removal(bot, client):
    msg = await bot.send_message(CHAT, "Working…", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("Done", CHAT, msg.message_id, reply_markup=KEYBOARD)
    assert edited.text == "Done" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Done", CHAT, msg.message_id, reply_markup=KEYBOARD)
    # Like Telegram, an edit without reply_markup drops the keyboard.
    await bot.edit_message_text("Done.", CHAT, msg.message_id)
    view = client.wait_for(CHAT, lambda ms: ms[-1]["text"] == "Done.")[-1]
    assert view["edit_count"] == 2 and view["buttons"] == []

    await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(777, "nobody here")

    assert await bot.delete_message(CHAT, msg.message_id) is True
    assert all(m["message_id"] != msg.message_id for m in client.messages(CHAT))
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CHAT, msg.message_id)


@pytest.mark.parametrize(
    "text",
    ["<b>unclosed", "<b>x</i>", "line<br>break", "a < b", '<span class="x">s</span>', "</b>"],
)
async def test_bad_html_is_cant_parse_entities(bot, client, text):
    with pytest.raises(BadRequest, match="(?i)Can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)


async def test_text_limits(bot, client):
    with pytest.raises(BadRequest, match="(?i)Message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert len((await bot.send_message(CHAT, "x" * 4096)).text) == 4096
    # The limit applies after entity parsing: markup does not count.
    wrapped = await bot.send_message(CHAT, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert len(wrapped.text) == 4096
    with pytest.raises(BadRequest, match="(?i)Message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(CHAT, png(2, 2), caption="c" * 1025)


async def test_callback_data_limit_is_bytes(bot, client):
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])
    await bot.send_message(CHAT, "64 bytes", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="é" * 32 + "x")]])
    with pytest.raises(BadRequest, match="(?i)Button_data_invalid"):
        await bot.send_message(CHAT, "65 bytes", reply_markup=too_long)


# PTB itself reads the deprecated int-valued `retry_after` while building the exception.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_raises_retry_after(bot, client):
    client.configure(rate_limit={"max_calls": 2, "window": 60, "retry_after": 7})
    msg = await bot.send_message(CHAT, "one")
    await bot.edit_message_text("one, edited", CHAT, msg.message_id)  # edits count too
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "three")
    wait = caught.value._retry_after  # the public property warns about int vs timedelta
    assert wait == dtm.timedelta(seconds=7)
    client.configure(rate_limit=None)
    await bot.send_message(CHAT, "three")


async def test_send_photo_and_download(bot, client, emulator):
    image = png(3, 2)
    msg = await bot.send_photo(CHAT, image, caption="<i>Preview</i>", parse_mode=ParseMode.HTML)
    size = msg.photo[-1]
    assert (size.width, size.height, size.file_size) == (3, 2, len(image))
    assert msg.caption == "Preview" and msg.caption_entities[0].type == "italic"
    file = await bot.get_file(size.file_id)
    assert bytes(await file.download_as_bytearray()) == image
    view = client.wait_for(CHAT, lambda ms: ms[-1]["kind"] == "photo")[-1]
    assert view["text"] == "Preview"
    assert httpx.get(emulator.url + view["photo_url"], trust_env=False).content == image
    with pytest.raises(BadRequest, match="(?i)Image_process_failed"):
        await bot.send_photo(CHAT, b"not an image")


async def test_button_press_callback_and_answer(bot, client):
    msg = await bot.send_message(CHAT, "Preview ready", reply_markup=KEYBOARD)
    pressed = client.press_button(CHAT, msg.message_id, text="Ship it")
    updates = await bot.get_updates(offset=pressed["update"]["update_id"])
    query = updates[0].callback_query
    assert query.data == "ship:1" and query.from_user.id == CHAT
    assert query.message.message_id == msg.message_id
    assert await bot.answer_callback_query(query.id, text="Shipping…") is True
    assert client.chat(CHAT)["answers"][-1]["text"] == "Shipping…"
    with pytest.raises(BadRequest, match="(?i)Query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(EmulatorError, match="no callback button"):
        client.press_button(CHAT, msg.message_id, "nope")


async def test_get_updates_offsets_and_long_poll(bot, client):
    client.send_text(CHAT, "hello")
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["/start", "hello"]
    assert first[0].message.entities[0].type == "bot_command"
    assert first[0].update_id < first[1].update_id
    next_offset = first[-1].update_id + 1
    assert await bot.get_updates(offset=next_offset) == ()
    # A long poll returns as soon as the person writes.
    poll = asyncio.create_task(bot.get_updates(offset=next_offset, timeout=20))
    await asyncio.to_thread(client.send_text, CHAT, "are you there?")
    got = await asyncio.wait_for(poll, 10)
    assert [u.message.text for u in got] == ["are you there?"]
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["are you there?"]


class Receiver:
    """A webhook endpoint answering with the given statuses, then 200."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, dict]] = []

        async def hook(request: Request):
            self.requests.append((dict(request.headers), await request.json()))
            return JSONResponse({}, status_code=self.statuses.pop(0) if self.statuses else 200)

        self.handle = serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
        self.url = self.handle.url + "/hook"


@pytest.fixture
def receiver_factory():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.handle.stop()


async def test_webhook_delivery_with_secret(bot, client, receiver_factory):
    receiver = receiver_factory()
    # The pending /start is delivered once the webhook is set.
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t-Token_1")
    client.send_text(CHAT, "make the header blue")
    attempts = client.wait_deliveries(2)
    assert [a["ok"] for a in attempts] == [True, True]
    texts = [body["message"]["text"] for _, body in receiver.requests]
    assert texts == ["/start", "make the header blue"]  # in order, one at a time
    assert all(
        h["x-telegram-bot-api-secret-token"] == "s3cr3t-Token_1" for h, _ in receiver.requests
    )
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    with pytest.raises(Conflict):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="(?i)unallowed characters"):
        await bot.set_webhook(receiver.url, secret_token="no spaces")
    assert await bot.delete_webhook()
    client.send_text(CHAT, "now polling")
    assert [u.message.text for u in await bot.get_updates()] == ["now polling"]


async def test_webhook_keeps_each_chats_order(bot, client, receiver_factory):
    receiver = receiver_factory()
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    for i in range(5):
        client.send_text(CHAT, f"msg {i}")
        client.send_text(CHAT + 1, f"other {i}")
    client.wait_deliveries(10)
    texts = [body["message"]["text"] for _, body in receiver.requests]
    assert [t for t in texts if t.startswith("msg")] == [f"msg {i}" for i in range(5)]
    assert [t for t in texts if t.startswith("other")] == [f"other {i}" for i in range(5)]


async def test_webhook_retries_after_500_and_gives_up(bot, client, receiver_factory):
    await bot.delete_webhook(drop_pending_updates=True)
    flaky = receiver_factory(statuses=[500])
    await bot.set_webhook(flaky.url, secret_token="abc")
    client.send_text(CHAT, "retry me")
    attempts = client.wait_deliveries(2)
    assert [(a["attempt"], a["status_code"], a["ok"]) for a in attempts] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert [b["update_id"] for _, b in flaky.requests] == [attempts[0]["update_id"]] * 2

    down = receiver_factory(statuses=[500, 502, 503])
    await bot.set_webhook(down.url)
    client.send_text(CHAT, "lost")
    attempts = client.wait_deliveries(5)[2:]
    assert [a["status_code"] for a in attempts] == [500, 502, 503]  # 1 try + 2 retries, bounded
    assert attempts[-1]["gave_up"]
    info = await bot.get_webhook_info()
    assert "503" in info.last_error_message and info.pending_update_count == 0


async def test_wait_for_wakes_on_bot_message_and_times_out_with_transcript(bot, client):
    waiter = asyncio.create_task(asyncio.to_thread(client.wait_for_text, CHAT, "Preview ready", 10))
    await bot.send_chat_action(CHAT, "typing")
    assert client.chat(CHAT)["action"] == "typing"
    await bot.send_message(CHAT, "Preview ready: https://preview.test/p/2/")
    seen = await asyncio.wait_for(waiter, 10)
    assert seen["entities"] == [{"type": "url", "offset": 15, "length": 25}]
    with pytest.raises(EmulatorTimeout, match=r"(?s)Transcript:.*#1 user 4242: /start"):
        client.wait_for(CHAT, lambda ms: len(ms) > 5, timeout=0.3)


async def test_commands_round_trip(bot):
    await bot.set_my_commands([("undo", "Put the previous version back"), ("status", "Status")])
    assert [c.command for c in await bot.get_my_commands()] == ["undo", "status"]
    with pytest.raises(BadRequest, match="(?i)Bot_command_invalid"):
        await bot.set_my_commands([("Bad Command", "x")])


def test_raw_bodies_json_form_and_get(emulator, client):
    api = f"{emulator.url}/bot{TOKEN}"
    with httpx.Client(trust_env=False) as http:
        sent = http.post(f"{api}/sendMessage", json={"chat_id": CHAT, "text": "json"}).json()
        assert sent["ok"] and sent["result"]["text"] == "json"
        form = http.post(f"{api}/sendMessage", data={"chat_id": str(CHAT), "text": "form"}).json()
        assert form["result"]["date"] < 10**10  # seconds, not milliseconds
        assert http.get(f"{api}/getMe").json()["result"]["is_bot"] is True
        missing = http.post(f"{api}/noSuchMethod").json()
        assert (missing["ok"], missing["error_code"]) == (False, 404)
        assert http.get(f"{emulator.url}/botnotatoken/getMe").status_code == 404
        assert http.get(f"{emulator.url}/bot1:wrong/getMe").status_code == 401
    client.reset()
    assert client.messages(CHAT) == [] and client.info()["webhook"]["url"] == ""


def test_chat_page_is_self_contained_and_its_calls_work(emulator, client):
    with httpx.Client(base_url=emulator.url, trust_env=False) as http:
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        # No external assets: the machine has no internet.
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
        for path in ("/_emulator/info", "/_emulator/chats/", "/wait?after=", "/callbacks"):
            assert path in page.text
        assert ".innerHTML" not in page.text  # data only ever goes in as text nodes
        assert http.get("/_emulator/info").json()["bot"]["first_name"] == "Shipit"
        # The page's own calls, with the bodies it sends.
        body = {"text": "hi from the page", "user_id": 111111, "first_name": "Sam"}
        posted = http.post("/_emulator/chats/111111/messages", json=body).json()
        assert posted["message"]["text"] == "hi from the page"
        waited = http.get(
            "/_emulator/chats/111111/wait", params={"after": 0, "timeout": 1, "from": "any"}
        ).json()
        assert waited["changed"] and waited["messages"][-1]["sender_id"] == 111111


def test_html_parser_offsets_and_errors():
    text, entities = parse_html(
        '🚀 <b>Ship <i>it</i></b> &lt;now&gt; <pre><code class="language-py">x=1</code></pre>'
        ' <tg-spoiler>s</tg-spoiler> <a href="tg://user?id=5">you</a> &#127881;'
    )
    assert text == "🚀 Ship it <now> x=1 s you 🎉"
    kinds = [(e["type"], e["offset"], e["length"]) for e in entities]
    # The rocket is two UTF-16 code units, so everything after it shifts by 2.
    assert kinds == [
        ("bold", 3, 7),
        ("italic", 8, 2),
        ("pre", 17, 3),
        ("spoiler", 21, 1),
        ("text_mention", 23, 3),
    ]
    assert entities[2]["language"] == "py"
    with pytest.raises(HtmlParseError, match=r'Unsupported start tag "br" at byte offset 4'):
        parse_html("🚀<br>")
    with pytest.raises(HtmlParseError, match=r'expected "</b>", found "</i>"'):
        parse_html("<b>x</i>")
