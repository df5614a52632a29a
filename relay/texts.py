"""The relay's and the lifecycle's message texts, from prompts/messages.toml (plain text)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

# In the repo prompts/ is relay/'s sibling; the Lambda asset is laid out the same way.
MESSAGES = Path(__file__).resolve().parent.parent / "prompts" / "messages.toml"


@cache
def _templates() -> dict[str, str]:
    with MESSAGES.open("rb") as fh:
        return tomllib.load(fh)


def text(name: str, /, **values: object) -> str:
    """Template `name` filled with `values` (sent without a parse mode, so nothing to escape)."""
    return _templates()[name].format(**values)
