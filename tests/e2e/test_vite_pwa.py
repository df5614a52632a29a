"""A stock Vite + React PWA with no Shipit config, end to end, checked in a real browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from local.origin import REPO_ROOT, origin_file, origin_head
from local.scripted_claude import say
from tests.conftest import TEST_DEPS_CACHE
from tests.e2e.browser import chromium, controlling_worker, registrations, title_becomes
from tests.e2e.conftest import USER, Script, edit_session, links, published_previews

VITE_APP = REPO_ROOT / "examples" / "vite-pwa"
OLD_TITLE, NEW_TITLE = "Crew board", "Crew board for Monday"
IMMUTABLE = "public, max-age=31536000, immutable"


def vite_edit(old: str, new: str, path: str = "src/App.tsx", answer: str = "Done.") -> list:
    """Read the file, edit it, run the app's own checks, answer."""
    return edit_session(old, new, path, answer, checks="npm test")


RETITLE = (f'<h1 id="title">{OLD_TITLE}</h1>', f'<h1 id="title">{NEW_TITLE}</h1>')


@pytest.fixture
def vite_stack(start_stack, npm_seed):
    def start(script: Script, app: Path = VITE_APP, **config):
        return start_stack(
            script,
            sample_app=app,
            app_name="crew-board",
            cache_dir=TEST_DEPS_CACHE,
            npm_seed_cache=npm_seed,
            install_offline=True,
            **config,
        )

    return start


def test_vite_pwa_previews_ships_and_undoes_in_a_real_browser(vite_stack, tmp_path: Path):
    stack = vite_stack(Script(vite_edit(*RETITLE, answer="The board is now called Monday.")))
    tg = stack.telegram.client()
    production = f"{stack.site.url}/"

    with chromium(tmp_path / "phone") as phone:
        # The owner's phone has the live app installed: its service worker controls it.
        live = phone.new_page()
        live.goto(production)
        title_becomes(live, OLD_TITLE)
        live.reload()  # a later visit: now the worker serves the page
        title_becomes(live, OLD_TITLE)
        assert controlling_worker(live) == f"{stack.site.url}/sw.js"

        tg.send_text(USER, "call the board Crew board for Monday")
        preview = tg.wait_for_text(USER, "Your preview is ready", timeout=180)
        assert "checks passed" in preview["text"]  # (vitest counts: see the report)
        # No .shipit.toml: the first preview says, in plain words, what was worked out.
        assert "install with “npm ci” (from package-lock.json)" in preview["text"]
        assert "check with “npm test”" in preview["text"]
        (url,) = links(preview)
        assert url.startswith(f"{stack.previews.url}/previews/")

        # The preview renders the change: its JavaScript and absolute asset paths loaded.
        page = phone.new_page()
        page.goto(url)
        title_becomes(page, NEW_TITLE)
        assert page.url == f"{stack.previews.url}/"  # at the app's own paths
        # Client-side routing works in the preview.
        page.click("#crew-link")
        page.wait_for_selector("text=Sam (welder)")
        assert page.url == f"{stack.previews.url}/crew"
        # The preview installed no service worker (previews share one origin).
        assert registrations(page) == []

        # Production, in the same browser, still shows production, under its own worker.
        live.goto(production)
        title_becomes(live, OLD_TITLE)
        assert controlling_worker(live) == f"{stack.site.url}/sw.js"
        assert NEW_TITLE not in origin_file(stack.origin, "src/App.tsx")

        tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
        shipped = tg.wait_for_text(USER, "It's live", timeout=60)
        assert links(shipped)[0] == production
        # Next visit of the installed app: the new version, without clearing anything.
        live.goto(production)
        title_becomes(live, NEW_TITLE)
        fresh = phone.new_page()
        fresh.goto(production)
        title_becomes(fresh, NEW_TITLE)

        tg.send_text(USER, "undo")
        tg.wait_for_text(USER, "back to the version before", timeout=60)
        live.goto(production)
        title_becomes(live, OLD_TITLE)

    # Caching: HTML and the service worker revalidate; hashed assets are kept for good.
    index = httpx.get(production)
    assert index.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{production}sw.js").headers["cache-control"] == "no-cache"
    asset = index.text.split('src="', 1)[1].split('"', 1)[0]
    assert asset.startswith("/assets/index-")
    assert httpx.get(f"{stack.site.url}{asset}").headers["cache-control"] == IMMUTABLE
    missing = httpx.get(f"{production}no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_failing_checks_publish_nothing_then_spa_deep_links_work(vite_stack, tmp_path: Path):
    # The same app, with the one setting an owner adds for deep links: the SPA fallback.
    app = tmp_path / "crew-board"
    shutil.copytree(VITE_APP, app, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (app / ".shipit.toml").write_text("spa = true\n")
    # A "fix" that breaks what the app's tests check; no fix round repairs it.
    breaking = ("if (path === '/crew') return 'crew'", "if (path === '/crews') return 'crew'")
    script = Script(vite_edit(*breaking, path="src/routes.ts"), tail=say("I tried."))
    stack = vite_stack(script, app=app, agent_env={"SHIPIT_FIX_ROUNDS": "1"})
    tg = stack.telegram.client()
    main_before = origin_head(stack.origin)

    tg.send_text(USER, "rename the crew page")
    failure = tg.wait_for_text(USER, "couldn't get this change to pass", timeout=180)
    assert "checks failed" in failure["text"] and not links(failure)
    assert published_previews(stack) == []
    assert origin_head(stack.origin) == main_before

    script.extend(vite_edit(*RETITLE, answer="Renamed."))
    tg.send_text(USER, "call the board Crew board for Monday")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=180)
    (url,) = links(preview)
    with chromium(tmp_path / "phone") as phone:
        page = phone.new_page()
        page.goto(f"{url}crew")  # a deep link into the preview
        page.wait_for_selector("text=Sam (welder)")
        title_becomes(page, NEW_TITLE)
        assert page.url == f"{stack.previews.url}/crew"
        page.reload()  # a reload at a client-side route is a deep link too
        page.wait_for_selector("text=Sam (welder)")

        tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
        tg.wait_for_text(USER, "It's live", timeout=60)
        page.goto(f"{stack.site.url}/crew")  # production deep link, same fallback
        title_becomes(page, NEW_TITLE)
        page.wait_for_selector("text=Sam (welder)")
