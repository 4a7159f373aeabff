"""Rules for free text every context applies: lengths, and no control characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from domain.common.errors import InvalidInput

MAX_NAME: Final = 200
"""Longest name or title."""

MAX_TEXT: Final = 2_000
"""Longest one-line-ish text field (names, messages, reasons); long texts are a multiple of it."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, field: str) -> str:
    """Text without control characters (tabs and line breaks allowed); NUL and the like are refused."""
    if _CONTROL.search(value):
        raise InvalidInput("Text may not contain control characters.", field=field)
    return value


MAX_SEARCH: Final = 200
"""Longest search text of a list."""

_BIDI_CONTROLS: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Marks and overrides of text direction: U+202E shows "exe.txt" as "txt.exe" wherever the name is shown."""


def check_line(value: str, field: str) -> str:
    """One-line text (a name, a title): no control characters, line breaks or overrides of text direction.

    Other format characters stay allowed: the zero-width joiner, say, is part of many emoji.
    """
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS for ch in value):
        raise InvalidInput(
            "One-line text may not contain line breaks, control characters or text-direction overrides.", field=field
        )
    return value


def search_text(text: str | None, field: str = "search") -> str:
    """A list's search text, trimmed: at most MAX_SEARCH characters, one line (a NUL once matched everything)."""
    term = (text or "").strip()
    if len(term) > MAX_SEARCH:
        raise InvalidInput(f"Search text is at most {MAX_SEARCH} characters.", field=field)
    return check_line(term, field)


def has_control(text: str) -> bool:
    """True when the text has any control, format or line/paragraph separator character (for one-line values)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def with_article(word: str, *, capital: bool = False) -> str:
    """`word` after its indefinite article ("an ARCHIVED", "a DRAFT"), capitalised to start a sentence.

    The article follows the first letter, which is right for the enum names put in messages (statuses,
    kinds), all pronounced as spelled; it is not meant for words like "user" or "hour".
    """
    article = "an" if word[:1].upper() in _VOWELS else "a"
    return f"{article.capitalize() if capital else article} {word}"


_VOWELS: Final = frozenset("AEIOU")
