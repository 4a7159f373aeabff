"""Helpers shared by the event bus tests: a fresh channel name, the next message with a deadline."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any


def channel() -> str:
    return f"test-eventbus-{uuid.uuid4().hex}"


async def next_message(stream: AsyncIterator[dict[str, Any]], seconds: float = 2.0) -> dict[str, Any]:
    return await asyncio.wait_for(anext(stream), seconds)
