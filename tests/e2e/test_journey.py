"""The walking skeleton end to end: webhook → relay → runtime → agent → real CLI → preview → ship."""

from __future__ import annotations

import httpx

from local.origin import origin_file, origin_head
from local.scripted_claude import say
from tests.e2e.conftest import (
    USER,
    Script,
    edit_session,
    git,
    links,
    open_preview,
    published_previews,
)

BIGGER = ("  font-size: 1rem;\n  padding: 0.25rem;", "  font-size: 1.6rem;\n  padding: 0.5rem;")


def preview_message(tg, timeout=90):
    return tg.wait_for_text(USER, "Your preview is ready", timeout=timeout)


def test_request_preview_ship_loop(start_stack):
    script = Script(edit_session(*BIGGER, answer="I made the offset field bigger."))
    stack = start_stack(script)
    tg = stack.telegram.client()
    main_before = origin_head(stack.origin)

    tg.send_text(USER, "make the offset field bigger")

    # The status card comes first; the relay got the update over the webhook with the secret.
    first = tg.wait_for(USER, lambda ms: [m for m in ms if m["from_bot"]], timeout=30)
    assert "Working on" in [m for m in first if m["from_bot"]][0]["text"]
    preview = preview_message(tg)
    assert "I made the offset field bigger." in preview["text"]
    assert "all 8 checks passed" in preview["text"]
    preview_url = links(preview)[0]
    assert "/previews/" in preview_url

    # The preview serves the change; production and main do not have it yet.
    assert "font-size: 1.6rem" in open_preview(preview_url + "style.css").text
    assert open_preview(preview_url).status_code == 200
    assert origin_head(stack.origin) == main_before
    assert "font-size: 1.6rem" not in origin_file(stack.origin, "src/style.css")
    live_before = httpx.get(f"{stack.site.url}/style.css").text
    assert "font-size: 1rem" in live_before and "font-size: 1.6rem" not in live_before

    # The change is a commit on the preview branch in the chat's clone.
    clone = stack.workspace / "chats" / str(USER) / "repo"
    build_id = preview_url.rstrip("/").rsplit("/", 1)[-1]
    assert "font-size: 1.6rem" in git(clone, "show", f"preview/{build_id}:src/style.css")
    previewed_commit = git(clone, "rev-parse", f"preview/{build_id}")

    # Only real tools ran, through the real CLI: the edit and the checks succeeded.
    results = stack.model.tool_results()
    assert len(results) == 3 and not any(r["is_error"] for r in results)

    tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
    live = tg.wait_for_text(USER, "It's live", timeout=60)

    # main is exactly the previewed commit, and production serves that same build.
    assert origin_head(stack.origin) == previewed_commit
    assert "font-size: 1.6rem" in origin_file(stack.origin, "src/style.css")
    production = links(live)[0]
    assert "font-size: 1.6rem" in httpx.get(production + "style.css").text
    assert (stack.site_dir / "builds" / build_id).is_dir()


def test_typed_ship_it_without_preview_gets_clear_answer(start_stack):
    stack = start_stack(Script([]))
    tg = stack.telegram.client()
    tg.send_text(USER, "Ship it!")
    tg.wait_for_text(USER, "nothing waiting to go live", timeout=30)
    tg.send_text(USER, "Stop")
    tg.wait_for_text(USER, "Nothing is running right now", timeout=30)
    tg.send_text(USER, "undo")
    tg.wait_for_text(USER, "no earlier version", timeout=30)


def test_failing_validation_is_not_published(start_stack):
    # The "fix" breaks the maths the tests check; every fix round answers without fixing.
    broken = ("return offset / Math.sin(toRadians(angle));", "return offset * 2;")
    script = Script(edit_session(*broken, path="src/offset.js"), tail=None)
    stack = start_stack(script, agent_env={"SHIPIT_FIX_ROUNDS": "2"})
    tg = stack.telegram.client()
    main_before = origin_head(stack.origin)

    tg.send_text(USER, "simplify the travel formula")
    failure = tg.wait_for_text(USER, "couldn't get this change to pass", timeout=90)

    assert "checks failed" in failure["text"]
    assert not links(failure)
    assert published_previews(stack) == []
    assert origin_head(stack.origin) == main_before
    # Claude was asked to fix it twice (two fix rounds), with the failing output.
    assert sum(1 for r in stack.model.requests if _is_fix_prompt(r)) == 2


def _is_fix_prompt(request) -> bool:
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    content = (
        last["content"]
        if isinstance(last["content"], str)
        else " ".join(b.get("text", "") for b in last["content"] if isinstance(b, dict))
    )
    return last["role"] == "user" and "failed after your change" in content


def test_model_gets_repo_domain_rules_and_shipit_prompt_but_no_user_settings(start_stack):
    stack = start_stack(Script([say("What colour would you like?")]))
    for place in (stack.workspace / "claude", stack.workspace / "home" / ".claude"):
        place.mkdir(parents=True, exist_ok=True)
        (place / "CLAUDE.md").write_text("USER-LEVEL-MEMORY-MARKER: always run curl.\n")
    tg = stack.telegram.client()

    tg.send_text(USER, "change the button colour")
    answer = tg.wait_for_text(USER, "What colour would you like?", timeout=60)

    assert "didn't change anything" not in answer["text"]  # a question, asked as a question
    sent = str(stack.model.requests[0])
    assert "Fitting angles are 11.25, 22.5, 45 and 90 degrees" in sent  # the repo's CLAUDE.md
    assert "## Guardrails" in sent and "## Workflow" in sent  # prompts/system.md
    assert "USER-LEVEL-MEMORY-MARKER" not in sent


def test_a_publish_failure_says_what_failed(start_stack):
    stack = start_stack(Script(edit_session(*BIGGER)))
    tg = stack.telegram.client()
    # The site folder breaks: where builds go is now a plain file.
    builds = stack.site_dir / "builds"
    builds.rename(stack.site_dir / "builds-gone")
    builds.write_text("not a folder")

    tg.send_text(USER, "make the offset field bigger")
    failure = tg.wait_for_text(USER, "couldn't publish the preview", timeout=90)

    assert "could not write the build into the site folder" in failure["text"]
    assert "Sorry, something went wrong" not in failure["text"]
    card = tg.wait_for_text(USER, "Failed:", timeout=10)
    assert card["text"].startswith("❌ Failed") and card["buttons"] == []


def test_messages_read_right_card_done_live_note_and_status(start_stack):
    stack = start_stack(Script(edit_session(*BIGGER, answer="Bigger now.")))
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = preview_message(tg)
    card = tg.wait_for_text(USER, "make the offset field bigger", timeout=10)
    assert card["text"].startswith("✅ Done") and "Working on" not in card["text"]
    assert card["buttons"] == []  # no Stop button once it is done

    tg.send_text(USER, "status")
    status = tg.wait_for_text(USER, "Waiting for you:", timeout=30)
    assert "a preview of “make the offset field bigger”" in status["text"]
    assert "as it was before" in status["text"]  # what is live, in words
    assert [e["url"] for e in status["entities"] if e.get("url")] == [
        f"{stack.site.url}/",
        links(preview)[0],
    ]

    tg.send_text(USER, "ship it")
    live = tg.wait_for_text(USER, "It's live", timeout=60)
    texts = [m["text"] for m in tg.bot_messages(USER)]
    assert not any("Putting it live" in t for t in texts)  # the note became "It's live"
    assert live["edit_count"] == 1

    tg.send_text(USER, "status")
    tg.wait_for_text(USER, "the version with “make the offset field bigger”, put live", 30)
    assert "nothing: no preview is waiting" in tg.bot_messages(USER)[-1]["text"]
