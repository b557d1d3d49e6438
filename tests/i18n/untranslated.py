"""Finds user-visible text that a template shows outside translation tags.

The template is tokenised with Django's own Lexer; translated blocks, comments, template tags and
variables become a stand-in character without letters, and what is left is read as HTML: text
nodes (not inside <script> or <style>) and the attributes a person reads or hears (title, alt,
placeholder, aria-label, the value of a button-like input) must hold no letters. Plain-text
templates (e-mails) are read line by line instead. <code>, <kbd> and <samp> hold literals that stay
as they are in every language (header names, commands), so their text is not asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

LETTER = re.compile(r"[^\W\d_]")
STAND_IN = "…"  # no letters, and not whitespace (which str.split would drop)
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description"}
BUTTON_INPUTS = {"submit", "button", "reset"}
# Literal text that is markup, not words: a block that adds an attribute to base.html's <main>.
ALLOWED = [re.compile(r'\bclass="[\w -]*"')]
UNREAD_ELEMENTS = {"script", "style", "code", "kbd", "samp"}
# Tags whose whole content, up to their end tag, is translated or not shown.
SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
}


@dataclass(frozen=True)
class Finding:
    template: str
    text: str


def skeleton(source: str) -> str:
    """The template's literal text: variables become the stand-in, tags (and the translated or
    commented text between a block tag and its end) vanish."""
    out: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(maxsplit=1)[0] if token.contents else ""
            if closing is None and name in SKIPPED_BLOCKS:
                closing = SKIPPED_BLOCKS[name]
            elif name == closing:
                closing = None
        elif closing is not None or token.token_type == TokenType.COMMENT:
            continue
        elif token.token_type == TokenType.VAR:
            out.append(STAND_IN)
        else:
            out.append(token.contents)
    return "".join(out)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNREAD_ELEMENTS:
            self._raw_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and tag == "input" and values.get("type") in BUTTON_INPUTS
            )
            if visible and value and LETTER.search(value):
                self.found.append(f'{name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in UNREAD_ELEMENTS and self._raw_depth:
            self._raw_depth -= 1

    def handle_data(self, data: str) -> None:
        for allowed in ALLOWED:
            data = allowed.sub(STAND_IN, data)
        if not self._raw_depth and LETTER.search(data):
            self.found.append(" ".join(data.split()))


def untranslated_text(path: Path, root: Path) -> list[Finding]:
    text = skeleton(path.read_text())
    name = str(path.relative_to(root))
    if path.suffix == ".html":
        parser = _VisibleText()
        parser.feed(text)
        parser.close()
        found = parser.found
    else:
        found = [line.strip() for line in text.splitlines() if LETTER.search(line)]
    return [Finding(name, snippet) for snippet in found]
