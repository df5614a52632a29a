"""The offline demo model: a canned Claude session for the sample app, with no keys needed.

It is a responder for local/scripted_claude.py, so the real `claude` CLI runs its real tools:
it reads `src/style.css`, makes the offset field bigger with Edit, runs the app's checks with
Bash and sums up in plain words. Whatever the request says, it makes this one change; the chat
and the start-up banner say so.
"""

from __future__ import annotations

import re
from typing import Any

from local.scripted_claude import (
    Turn,
    call,
    conversation,
    last_tool_results,
    say,
    tool_result_text,
    working_directory,
)

STYLE = "src/style.css"
CHECKS = "node --test"


def _previous_tool(request: dict[str, Any]) -> str | None:
    messages = conversation(request)
    if len(messages) < 2 or messages[-2].get("role") != "assistant":
        return None
    content = messages[-2].get("content")
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            return block.get("name")
    return None


def _file_text(read_result: str) -> str:
    """Undo the Read tool's line numbering: '   12\\tcontent' -> 'content'."""
    return "\n".join(re.sub(r"^\s*\d+\t", "", line) for line in read_result.splitlines())


def bigger_offset_edit(css: str) -> tuple[str, str] | None:
    """The #offset rule, and the same rule with font and box a quarter bigger."""
    match = re.search(r"#offset\s*\{[^}]*\}", css)
    if not match:
        return None
    rule = match.group(0)

    def grow(m: re.Match) -> str:
        return f"{m.group(1)}{round(float(m.group(2)) * 1.25, 2):g}rem"

    new = re.sub(r"(font-size:\s*)([\d.]+)rem", grow, rule)
    new = re.sub(r"(width:\s*)([\d.]+)rem", grow, new)
    new = re.sub(r"(padding:\s*)([\d.]+)rem", grow, new)
    return (rule, new) if new != rule else None


def _style(request: dict[str, Any]) -> str:
    return f"{working_directory(request)}/{STYLE}"


def respond(request: dict[str, Any]) -> Turn:
    results = last_tool_results(request)
    previous = _previous_tool(request)
    if not results or previous is None:
        return call("Read", "I'll look at the page's styles first.", file_path=_style(request))
    result = results[-1]
    text = tool_result_text(result)
    if result.get("is_error"):
        return say(f"I couldn't finish the sample change: {text.strip()[:300]}")
    if previous == "Read":
        edit = bigger_offset_edit(_file_text(text))
        if edit is None:
            return say(
                "I couldn't find the offset field's style, so I didn't change anything. Could you tell me which field you mean?"
            )
        return call(
            "Edit",
            "Making the offset field bigger.",
            file_path=_style(request),
            old_string=edit[0],
            new_string=edit[1],
        )
    if previous == "Edit":
        return call(
            "Bash", "Running the app's checks.", command=CHECKS, description="Run the app's tests"
        )
    return say(
        "I made the offset field bigger: the numbers are larger and the box is wider, so it's "
        "easier to read and tap with gloves on. All the app's checks still pass."
    )
