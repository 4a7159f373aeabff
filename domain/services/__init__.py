"""Use cases: one async function per command, over the ports."""
