"""An order's editable fields: who may edit which, which stay the provider's, and what a value may be."""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from domain.common import MAX_NAME, MAX_TEXT, InvalidInput, check_line, check_text
from domain.orders.lifecycle import Party


class Priority(Enum):
    """How urgent the order is to the people working it."""

    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an update field the caller left out (as opposed to setting it to null)."""


# Who may edit which field, as parties of the order. Fields not listed cannot be edited.
FIELD_EDITORS: Final[dict[str, frozenset[Party]]] = {
    "name": frozenset({Party.PARTNER, Party.VENDOR}),
    "campaign_name": frozenset({Party.PARTNER, Party.VENDOR}),
    "activity_type": frozenset({Party.PARTNER, Party.VENDOR}),
    "partner_contact_id": frozenset({Party.PARTNER, Party.VENDOR}),
    "end_customer": frozenset({Party.PARTNER, Party.VENDOR}),
    "requested_completion": frozenset({Party.PARTNER, Party.VENDOR}),
    "po_number": frozenset({Party.PARTNER, Party.VENDOR}),
    "po_not_required": frozenset({Party.PARTNER, Party.VENDOR}),
    "priority": frozenset({Party.PARTNER, Party.VENDOR, Party.PROVIDER}),
    "planned_completion": frozenset({Party.PROVIDER}),
    "estimated_completion": frozenset({Party.PROVIDER}),
    "provider_notes": frozenset({Party.PROVIDER}),
    "owner_id": frozenset({Party.PROVIDER}),
}


PROVIDER_PRIVATE_FIELDS: Final = frozenset({"provider_notes"})
"""Fields whose values and changes only the provider's users ever see."""


def validate_fields(changes: dict[str, Any]) -> None:
    """Check and normalise the values of an edit (text trimmed and bounded, a known priority), in place."""
    for name in ("name", "campaign_name", "activity_type", "end_customer", "po_number"):
        if name in changes:
            value = changes[name]
            if not isinstance(value, str) or len(value) > MAX_NAME:
                raise InvalidInput(f"{name} must be text of at most {MAX_NAME} characters.", field=name)
            changes[name] = check_line(value, name).strip()
    if "name" in changes and not changes["name"]:
        raise InvalidInput("The name cannot be empty.", field="name")
    if "provider_notes" in changes:
        notes = changes["provider_notes"]
        if not isinstance(notes, str) or len(notes) > 10 * MAX_TEXT:
            raise InvalidInput(f"Provider notes are at most {10 * MAX_TEXT} characters.", field="providerNotes")
        check_text(notes, "providerNotes")
    if "priority" in changes and not isinstance(changes["priority"], Priority):
        raise InvalidInput("Unknown priority.", field="priority")
