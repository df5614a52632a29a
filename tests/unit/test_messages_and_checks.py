"""Templates escape what users and the model wrote; check output becomes plain words."""

from pathlib import Path

import pytest

from agent.commands import CommandResult, describe_checks
from agent.messages import Raw, clip, render, system_prompt


def test_model_text_cannot_break_markup():
    text = render(
        "preview",
        summary="<b>bold</b> & <script>",
        checks="all 2 checks passed",
        url='http://x/?a=1&b="2"',
    )
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in text
    assert 'href="http://x/?a=1&amp;b=&quot;2&quot;"' in text


def test_raw_values_are_not_escaped_twice():
    inner = render("phase_done", label="A & B")
    outer = render("working", request="r", phases=Raw(inner), elapsed="1 s")
    assert "A &amp; B" in outer and "&amp;amp;" not in outer


def test_every_template_renders():
    from agent.messages import templates

    for name, template in templates().items():
        import string

        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        render(name, **dict.fromkeys(fields, "x"))


def test_system_prompt_names_paths_and_commands():
    prompt = system_prompt(("src/", "tests/"), "node --test", "node build.js")
    assert "`src/`, `tests/`" in prompt and "`node --test`" in prompt
    assert "## Guardrails" in prompt and "## Workflow" in prompt


def test_clip_keeps_short_text_and_cuts_long():
    assert clip("short") == "short"
    assert clip("line\n" * 1000, 50).endswith(" …")


def test_describe_checks():
    node = CommandResult("node --test", 0, "# tests 8\n# pass 8\n# fail 0\n", 1.0)
    assert describe_checks(node) == "all 8 checks passed"
    failing = CommandResult("node --test", 1, "# pass 6\n# fail 2\n", 1.0)
    assert describe_checks(failing) == "2 of 8 checks failed"
    assert (
        describe_checks(CommandResult("pytest", 0, "=== 3 passed in 0.1s ===", 1.0))
        == "all 3 checks passed"
    )
    assert describe_checks(CommandResult("make", 2, "boom", 1.0)) == "the checks failed"


# The sample app's `node --test` as the box runs it (a pipe, NO_COLOR=1), captured from real runs:
# Node 20 prints a TAP summary there, Node 24 its spec reporter; the failing run breaks 2 of the 8.
NODE_OUTPUT = Path(__file__).parent / "node_test_output"


@pytest.mark.parametrize(
    ("capture", "code", "words"),
    [
        ("node20-pass.txt", 0, "all 8 checks passed"),
        ("node20-fail.txt", 1, "2 of 8 checks failed"),
        ("node24-pass.txt", 0, "all 8 checks passed"),
        ("node24-fail.txt", 1, "2 of 8 checks failed"),
    ],
)
def test_node_test_counts_on_node_20_and_24(capture: str, code: int, words: str) -> None:
    output = (NODE_OUTPUT / capture).read_text()
    assert ("ℹ pass " in output) == capture.startswith("node24")  # really each reporter's output
    assert describe_checks(CommandResult("node --test", code, output, 1.0)) == words


def test_vitest_counts_tests_not_test_files():
    from agent.commands import CommandResult, describe_checks

    passed = " Test Files  1 passed (1)\n      Tests  4 passed (4)\n"
    failed = " Test Files  1 failed | 1 passed (2)\n      Tests  1 failed | 3 passed (4)\n"
    assert describe_checks(CommandResult("npm test", 0, passed, 1.0)) == "all 4 checks passed"
    assert describe_checks(CommandResult("npm test", 1, failed, 1.0)) == "1 of 4 checks failed"
