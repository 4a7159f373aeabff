"""The use cases of orders: one function per mutation, each in one unit of work."""
