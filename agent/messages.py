"""Message templates from prompts/, rendered as Telegram HTML with every value escaped."""

from __future__ import annotations

import html
import tomllib
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
TEXT_LIMIT = 4096


@cache
def templates() -> dict[str, str]:
    with (PROMPTS_DIR / "messages.toml").open("rb") as fh:
        return tomllib.load(fh)


class Raw(str):
    """Already-safe HTML (another rendered template) that must not be escaped again."""


def render(template: str, /, **values: object) -> str:
    """Fill template `name`; model text and user text are escaped, so they cannot break markup."""
    safe = {
        k: v if isinstance(v, Raw) else html.escape(str(v), quote=True) for k, v in values.items()
    }
    return Raw(templates()[template].format(**safe))


def system_prompt(allowed_paths: tuple[str, ...], validate: str, build: str) -> str:
    text = (PROMPTS_DIR / "system.md").read_text(encoding="utf-8")
    return text.format(
        allowed_paths=", ".join(f"`{p}`" for p in allowed_paths),
        validate=validate or "(none)",
        build=build or "(none)",
    )


def clip(text: str, limit: int = 1500) -> str:
    """Shorten model or tool text for a chat message, keeping whole lines where possible."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0]
    return cut + " …"
