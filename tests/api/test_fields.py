"""orderUpdate over GraphQL: one command is one timeline entry for each reader, with what it may see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.flows import OrderRef, order_at, read_order, step

# The provider's edits, as orderUpdate input, and the domain field names their entries record.
PROVIDER_EDITS = [
    pytest.param(
        {"providerNotes": "Call the partner on Tuesday", "estimatedCompletion": "2031-01-31"},
        {"provider_notes", "estimated_completion"},
        id="notes+estimate",
    ),
    pytest.param({"providerNotes": "Call the partner on Tuesday"}, {"provider_notes"}, id="notes"),
    pytest.param(
        {"estimatedCompletion": "2031-01-31", "priority": "HIGH"}, {"estimated_completion", "priority"}, id="public"
    ),
]


def new_entries(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The timeline entries a reader sees now that it did not see before."""
    assert before is not None and after is not None
    seen = {entry["id"] for entry in before["activity"]}
    return [entry for entry in after["activity"] if entry["id"] not in seen]


@pytest.mark.parametrize(("edit", "fields"), PROVIDER_EDITS)
async def test_one_provider_edit_is_one_timeline_entry_for_each_reader(
    api: Api, edit: dict[str, Any], fields: set[str]
) -> None:
    # given an order the provider works, as each side sees it
    ref: OrderRef = await order_at(api, "IN_PROGRESS")
    readers = ("provider", "provider_colleague", "partner", "vendor")
    before = {member: await read_order(api, ref, member) for member in readers}
    # when the provider edits its notes and/or other fields in one orderUpdate
    await step(api, ref, "orderUpdate", "provider", **edit)
    # then each of its users sees one new FIELDS_UPDATED entry with every field changed
    for member in ("provider", "provider_colleague"):
        [entry] = new_entries(before[member], await read_order(api, ref, member))
        assert entry["kind"] == "FIELDS_UPDATED"
        assert set(entry["after"]) == set(entry["before"]) == fields, member
    # and the buyer side sees one entry without the provider notes, or none if only the notes changed
    public = fields - {"provider_notes"}
    for member in ("partner", "vendor"):
        after = await read_order(api, ref, member)
        entries = new_entries(before[member], after)
        assert [set(e["after"]) for e in entries] == ([public] if public else []), member
        assert after is not None and "Call the partner" not in str(after)
        # with the last activity moved only by a change it learns of
        moved = after["lastActivityAt"] != before[member]["lastActivityAt"]  # type: ignore[index]
        assert moved == bool(public), member
