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


def has_control(text: str) -> bool:
    """True when the text has any control, format or line/paragraph separator character (for one-line values)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)
