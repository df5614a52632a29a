"""Issue 11 end to end: pictures with the preview, history and going back, photos in, owner, spend."""

from __future__ import annotations

import base64
import io
import json
import time

import httpx
from PIL import Image, ImageChops

from local.origin import origin_file
from tests.e2e.conftest import USER, Script, edit_session, git, links, open_preview

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

    # Telegram-native touches: styled buttons, the preview page as the rich link preview, and
    # the command menu and description set when the agent started.
    styles = {b["text"]: b.get("style") for row in preview["buttons"] for b in row}
    assert styles == {"🚀 Ship it": "success", "✏️ Change something": None, "🗑 Discard": "danger"}
    assert preview["link_preview"]["url"] == links(preview)[0]
    info = tg.info()
    (commands,) = info["commands"].values()
    assert {"history", "undo", "cost", "status"} <= {c["command"] for c in commands}
    assert "before/after pictures" in info["descriptions"][""]


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


BIGGER = ("  font-size: 1rem;\n  padding: 0.25rem;", "  font-size: 1.6rem;\n  padding: 0.5rem;")


def live_css(stack) -> str:
    return httpx.get(f"{stack.site.url}/style.css", timeout=10).text


def ship(tg, request: str) -> dict:
    """Ask for a change, wait for its preview, tap Ship it; returns the "It's live" message."""
    before = len(tg.bot_messages(USER))
    tg.send_text(USER, request)
    preview = tg.wait_for(
        USER,
        lambda ms: [m for m in ms[before:] if "Your preview is ready" in (m["text"] or "")],
        timeout=90,
    )
    preview = [m for m in preview[before:] if "Your preview is ready" in (m["text"] or "")][0]
    tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
    return newest(tg, "It's live", after=preview["message_id"])


def newest(tg, contains: str, after: int, timeout: float = 60) -> dict:
    def match(ms):
        found = [
            m
            for m in ms
            if m["from_bot"] and m["message_id"] > after and contains in (m["text"] or "")
        ]
        return found[-1] if found else None

    return match(tg.wait_for(USER, match, timeout=timeout))


def test_history_undo_redo_and_restore_put_exact_builds_live(start_stack):
    script = Script(
        edit_session(*YELLOW, answer="The page is yellow now.")
        + edit_session(*BIGGER, answer="The offset field is bigger.")
    )
    stack = start_stack(script)
    tg = stack.telegram.client()
    original = origin_file(stack.origin, "src/style.css")

    first_live = ship(tg, "make the page yellow")
    assert [b["text"] for row in first_live["buttons"] for b in row] == ["↩️ Undo"]
    second_live = ship(tg, "make the offset field bigger")
    assert "1.6rem" in live_css(stack) and "#ffd54f" in live_css(stack)

    # Undo from the button on "It's live": the reply names what it took back, and offers Redo.
    tg.press_button(USER, second_live["message_id"], text="↩️ Undo")
    undone = newest(tg, "Undone", after=second_live["message_id"])
    assert "make the offset field bigger" in undone["text"]
    assert "1.6rem" not in live_css(stack) and "#ffd54f" in live_css(stack)
    assert "1.6rem" not in origin_file(stack.origin, "src/style.css")

    tg.press_button(USER, undone["message_id"], text="↪️ Redo")
    redone = newest(tg, "Back live", after=undone["message_id"])
    assert "make the offset field bigger" in redone["text"]
    assert "1.6rem" in live_css(stack)
    assert "1.6rem" in origin_file(stack.origin, "src/style.css")

    # /history: every version that was live, newest first, the live one marked.
    tg.send_text(USER, "/history")
    listing = newest(tg, "What went live", after=redone["message_id"])
    lines = listing["text"].splitlines()
    assert "make the offset field bigger" in lines[1] and "live now" in lines[1]
    assert "make the page yellow" in lines[2] and "the version before Shipit" in lines[3]
    labels = [b["text"] for row in listing["buttons"] for b in row]
    assert labels == ["↩️ Put #2 live again", "↩️ Put #3 live again"]
    builds_before = sorted(p.name for p in (stack.site_dir / "builds").iterdir())

    tg.press_button(USER, listing["message_id"], text="↩️ Put #3 live again")
    back = newest(tg, "Back live", after=listing["message_id"])
    assert "the version before Shipit" in back["text"]
    assert live_css(stack).strip() == original.strip()  # the original build, served again
    assert origin_file(stack.origin, "src/style.css") == original  # main restored those files
    assert "Restore:" in git_log(stack)
    assert sorted(p.name for p in (stack.site_dir / "builds").iterdir()) == builds_before

    # An Undo button from an older "It's live" no longer undoes anything.
    tg.press_button(USER, first_live["message_id"], text="↩️ Undo")
    newest(tg, "isn't the live version", after=back["message_id"])
    assert live_css(stack).strip() == original.strip()


def git_log(stack) -> str:
    return git(stack.origin, "log", "--format=%s", "main")


def picture(colour: tuple[int, int, int], size=(120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def images_in(request: dict) -> list[bytes]:
    found = []
    for message in request["messages"]:
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "image":
                assert block["source"]["type"] == "base64"
                found.append(base64.b64decode(block["source"]["data"]))
    return found


def texts_in(request: dict) -> str:
    return json.dumps(request["messages"])


def test_photos_reach_the_model_as_images_album_as_one_request(start_stack):
    script = Script(
        edit_session(*YELLOW, answer="I fixed the cut-off button.")
        + edit_session(*BIGGER, answer="Made the field bigger, as in your picture.")
    )
    stack = start_stack(script)
    tg = stack.telegram.client()
    red, blue, green = picture((200, 0, 0)), picture((0, 0, 200)), picture((0, 160, 0))

    # An album of two photos with one caption: one request, both pictures in it.
    tg.send_photo(USER, red, "this button is cut off", media_group_id="album-1")
    tg.send_photo(USER, blue, media_group_id="album-1")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    first = stack.model.requests[0]
    assert images_in(first) == [red, blue]
    assert "this button is cut off" in texts_in(first)
    cards = [
        m
        for m in tg.bot_messages(USER)
        if (m["text"] or "").startswith(("⏳ Working on", "✅ Done"))
    ]
    assert len(cards) == 1 and "this button is cut off" in cards[0]["text"]
    saved = sorted((stack.workspace / "chats" / str(USER) / "photos").iterdir())
    assert [p.read_bytes() for p in saved] == [red, blue]  # kept beside the transcript

    # A photo without words while that preview waits: feedback on the preview.
    asked = len(stack.model.requests)
    tg.send_photo(USER, green)
    second = newest(tg, "Your preview is ready", after=preview["message_id"], timeout=90)
    request = stack.model.requests[asked]
    assert images_in(request)[-1] == green
    assert "preview of your last change is waiting" in texts_in(request)
    # Built on top of the waiting preview: the new preview has both changes.
    css = open_preview(links(second)[0] + "style.css").text
    assert "#ffd54f" in css and "1.6rem" in css


OWNER = 2002


def owner_messages(tg) -> list[dict]:
    return [m for m in tg.messages(OWNER) if m["from_bot"]]


def test_owner_hears_of_ships_undos_failures_and_gets_a_digest(start_stack, tmp_path):
    script = Script(
        edit_session(*YELLOW, answer="The page is yellow now.")
        + edit_session("return offset / Math.sin(toRadians(angle));", "return 0;", "src/offset.js"),
    )
    stack = start_stack(
        script, agent_env={"SHIPIT_OWNER_CHAT_ID": str(OWNER), "SHIPIT_FIX_ROUNDS": "0"}
    )
    # Something shipped yesterday, before this run: the day's first activity sends its digest.
    yesterday = time.time() - 86400
    events = stack.workspace / "chats" / "3003" / "owner.json"
    events.parent.mkdir(parents=True)
    events.write_text(
        json.dumps([{"at": yesterday, "kind": "shipped", "by": "Kim", "what": "blue header"}])
    )
    tg = stack.telegram.client()
    tg.send_text(OWNER, "/start")  # the owner opened the bot once (not on the allowlist)

    live = ship(tg, "make the page yellow")
    shipped = tg.wait_for(OWNER, lambda ms: [m for m in ms if "put a change live" in m["text"]])
    digest = [m for m in owner_messages(tg) if "What happened on" in m["text"]]
    assert len(digest) == 1 and "Kim: blue header" in digest[0]["text"]
    assert time.strftime("%Y-%m-%d", time.gmtime(yesterday)) in digest[0]["text"]
    report = [m for m in shipped if "put a change live" in m["text"]][0]["text"]
    assert "make the page yellow" in report and "User" in report  # who and what
    assert git(stack.origin, "rev-parse", "main")[:10] in report  # the commit

    tg.press_button(USER, live["message_id"], text="↩️ Undo")
    tg.wait_for(OWNER, lambda ms: any("undid a change" in m["text"] for m in ms))
    undo_commit = git(stack.origin, "rev-parse", "main")[:10]
    assert undo_commit in [m for m in owner_messages(tg) if "undid" in m["text"]][0]["text"]

    tg.send_text(USER, "simplify the travel formula")
    told = tg.wait_for_text(USER, "couldn't get this change to pass", timeout=90)
    failed = tg.wait_for(OWNER, lambda ms: [m for m in ms if "didn't make it" in m["text"]])
    summary = [m for m in failed if "didn't make it" in m["text"]][0]["text"]
    assert "simplify the travel formula" in summary and "checks" in summary
    assert told["text"].split("\n")[0][2:40] in summary
    assert len([m for m in owner_messages(tg) if "What happened on" in m["text"]]) == 1


def test_daily_cap_refuses_new_requests_and_tells_the_owner(start_stack):
    script = Script(edit_session(*YELLOW, answer="The page is yellow now."))
    env = {"SHIPIT_OWNER_CHAT_ID": str(OWNER), "SHIPIT_DAILY_CAP_USD": "0.0001"}
    stack = start_stack(script, agent_env=env)
    tg = stack.telegram.client()
    tg.send_text(OWNER, "/start")

    tg.send_text(USER, "make the page yellow")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    tg.send_text(USER, "/cost")
    cost = newest(tg, "Model spend this month", after=preview["message_id"])
    assert "over 1 request(s)" in cost["text"] and "Daily limit: under $0.01" in cost["text"]
    asked = len(stack.model.requests)

    tg.send_text(USER, "now make the title red")
    refused = newest(tg, "spending limit", after=cost["message_id"])
    assert "can't start on new changes until tomorrow" in refused["text"]
    assert len(stack.model.requests) == asked  # no model call, no cost
    tg.wait_for(OWNER, lambda ms: any("spending cap" in m["text"] for m in ms))
    tg.send_text(USER, "and the footer")
    newest(tg, "spending limit", after=refused["message_id"])
    assert len([m for m in owner_messages(tg) if "spending cap" in m["text"]]) == 1  # once a day
