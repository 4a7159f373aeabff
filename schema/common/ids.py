"""Opaque global IDs: base64 of "TypeName:uuid", checked for type on the way in."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from domain.common import InvalidInput


def to_global_id(type_name: str, value: UUID) -> str:
    """The opaque ID clients see for one object."""
    return base64.urlsafe_b64encode(f"{type_name}:{value}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str, *, field: str = "id") -> tuple[str, UUID]:
    """The type name and UUID inside a global ID; malformed IDs are an input error."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(f"{global_id!r} is not a valid ID.", field=field) from None


def decode_id(global_id: str, expected_type: str, *, field: str = "id") -> UUID:
    """The UUID inside a global ID that must name `expected_type`."""
    type_name, value = parse_global_id(global_id, field=field)
    if type_name != expected_type:
        got = f"one of type {type_name}" if type_name else "one of no known type"
        raise InvalidInput(f"Expected an ID of type {expected_type}, got {got}.", field=field)
    return value
