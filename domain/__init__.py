"""Pure domain: entities, lifecycles, rules, events, ports and use cases. No I/O."""
