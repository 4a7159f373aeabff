"""One GraphQL operation per module: decode, call the domain service, map the result."""
