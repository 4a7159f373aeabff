"""Operations of no one context: Relay's node and nodes."""

import strawberry

from resolvers.common import node as relay


@strawberry.type
class CommonQuery:
    """Reads across contexts."""

    node = relay.node
    nodes = relay.nodes


__all__ = ["CommonQuery"]
