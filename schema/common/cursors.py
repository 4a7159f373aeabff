"""Keyset cursors of every connection: opaque, URL-safe, and tied to the sort they were made for.

A cursor is base64url (unpadded) of the JSON `[sort, value, id]`: the name of the sort key, the
row's value of it (dates and times in ISO format) and the row's id. Decoding checks the sort and
reads the value back as the key's kind, so a cursor from a list sorted differently is refused.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Literal
from uuid import UUID

import orjson

from domain.common import InvalidInput, Keyset

ValueKind = Literal["datetime", "date", "int", "text"]


def encode_cursor(sort: str, key: Keyset) -> str:
    """An opaque cursor for a position in a list sorted by the key named `sort`."""
    value = key.value.isoformat() if isinstance(key.value, (date, datetime)) else key.value
    raw = orjson.dumps([sort, value, str(key.order_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, kind: ValueKind, cursor: str, field: str) -> Keyset:
    """The position a cursor names; it must come from a list sorted by the same key (else INVALID_INPUT)."""
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        sort_name, value, row_id = orjson.loads(raw)
        if sort_name != sort:
            raise ValueError("cursor of another sort")
        parsed: datetime | date | int | str | None
        if value is None:
            parsed = None
        elif kind == "int":
            parsed = int(value)
        elif kind == "date":
            parsed = date.fromisoformat(value)
        elif kind == "datetime":
            parsed = datetime.fromisoformat(value)
        else:
            parsed = str(value)
        return Keyset(parsed, UUID(row_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, orjson.JSONDecodeError):
        raise InvalidInput("The cursor is invalid or belongs to a list sorted differently.", field=field) from None
