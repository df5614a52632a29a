"""Telegram's HTML parse mode and entity detection, as the emulator needs them: text, UTF-16 offsets."""

from __future__ import annotations

import html
import re

# Tag → entity type. The set Telegram accepts; anything else is a 400, which is what we want the
# bot to meet in tests rather than in production.
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_COMMAND_RE = re.compile(r"(?:^|(?<=\s))/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
# Entities a detected URL or command must not overlap: Telegram does not link inside code.
_OPAQUE = {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "bot_command"}


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; str(e) is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units, as Telegram (and JavaScript) do."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str | None, int]:
    m = _ENTITY_RE.match(src, i)
    if not m:
        return None, i
    dec, hexa, name = m.groups()
    if name is not None:
        # Telegram knows only four named entities; others stay literal text.
        return (_NAMED[name], m.end()) if name in _NAMED else (None, i)
    code = int(dec) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, i
    return chr(code), m.end()


def _read_attrs(src: str, i: int, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes up to the closing '>' of a start tag; return them and the index after it."""
    attrs: dict[str, str] = {}
    n = len(src)
    while True:
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        if src[i] == ">":
            return attrs, i + 1
        j = i
        while i < n and src[i] not in "= \t\r\n>":
            i += 1
        name = src[j:i].lower()
        if not name:
            raise HtmlParseError(f"Empty attribute name at byte offset {_byte_offset(src, i)}")
        value = ""
        if i < n and src[i] == "=":
            i += 1
            if i < n and src[i] in "\"'":
                quote, i = src[i], i + 1
                end = src.find(quote, i)
                if end < 0:
                    raise HtmlParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(src, begin)}"
                    )
                value, i = src[i:end], end + 1
            else:
                j = i
                while i < n and not src[i].isspace() and src[i] != ">":
                    i += 1
                value = src[j:i]
        attrs[name] = html.unescape(value)


def _entity_for(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict | None:
    kind = _TAGS[tag]
    entity: dict = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href", "").strip()
        if not href:
            return None  # Telegram drops a link without a target and keeps the text
        m = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if m:
            return {
                "type": "text_mention",
                "offset": offset,
                "length": length,
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            }
        entity["url"] = href if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href) else "http://" + href
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Telegram HTML → (plain text, entities). Raises HtmlParseError with Telegram's wording."""
    out: list[str] = []
    pos16 = 0  # running UTF-16 length of the text produced so far
    stack: list[tuple[str, dict[str, str], int]] = []  # (tag, attrs, start offset)
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            decoded, j = _decode_entity(src, i)
            piece, i = (decoded, j) if decoded is not None else ("&", i + 1)
        elif c != "<":
            j = i
            while i < n and src[i] not in "<&":
                i += 1
            piece = src[j:i]
        else:
            begin = i
            i += 1
            closing = i < n and src[i] == "/"
            i += closing
            j = i
            while i < n and (src[i].isalnum() or src[i] == "-"):
                i += 1
            tag = src[j:i].lower()
            if closing:
                while i < n and src[i].isspace():
                    i += 1
                if i >= n or src[i] != ">":
                    raise HtmlParseError(
                        f"Unclosed end tag at byte offset {_byte_offset(src, begin)}"
                    )
                i += 1
                if not stack:
                    raise HtmlParseError(
                        f"Unexpected end tag at byte offset {_byte_offset(src, begin)}"
                    )
                open_tag, attrs, start = stack.pop()
                if tag != open_tag:
                    raise HtmlParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                        f'expected "</{open_tag}>", found "</{tag}>"'
                    )
                if pos16 > start:
                    _close(open_tag, attrs, start, pos16, stack, entities)
                continue
            if i >= n:
                raise HtmlParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(src, begin)}"
                )
            if tag not in _TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
                )
            attrs, i = _read_attrs(src, i, begin)
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(src, begin)}"
                )
            stack.append((tag, attrs, pos16))
            continue
        out.append(piece)
        pos16 += utf16_len(piece)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(tag: str, attrs: dict, start: int, end: int, stack: list, entities: list) -> None:
    # <pre><code class="language-x"> is one pre entity with a language, not pre + code.
    lang = attrs.get("class", "")
    if tag == "code" and stack and stack[-1][0] == "pre" and lang.startswith("language-"):
        stack[-1][1]["language"] = lang[len("language-") :]
        return
    entity = _entity_for(tag, attrs, start, end - start)
    if entity is None:
        return
    if tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    entities.append(entity)


def strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Trim surrounding whitespace like Telegram does, clipping entities to what is left."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            kept.append({**e, "offset": start, "length": end - start})
    return stripped, kept


def detect_entities(text: str, entities: list[dict]) -> list[dict]:
    """Add the url and bot_command entities Telegram finds on its own in message text."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    found = []
    for kind, regex in (("url", _URL_RE), ("bot_command", _COMMAND_RE)):
        for m in regex.finditer(text):
            value = m.group(0).rstrip(".,;:!?)") if kind == "url" else m.group(0)
            start = utf16_len(text[: m.start()])
            end = start + utf16_len(value)
            if any(s < end and start < e for s, e in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return sorted(entities + found, key=lambda e: (e["offset"], -e["length"]))
