"""Live updates' event bus: the EventBus port on broadcaster, over memory:// or redis://."""

from adapters.eventbus.bus import BACKEND_LOST, SHUT_DOWN, TOO_SLOW, UNAVAILABLE, BroadcastEventBus, decode, encode
from adapters.eventbus.redis_backend import RedisPubSubBackend

__all__ = [
    "BACKEND_LOST",
    "SHUT_DOWN",
    "TOO_SLOW",
    "UNAVAILABLE",
    "BroadcastEventBus",
    "RedisPubSubBackend",
    "decode",
    "encode",
]
