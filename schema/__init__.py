"""Strawberry types, inputs, errors, DataLoaders and the assembled GraphQL schema."""
