"""The composition root: settings to ports, the ASGI app, and the command line."""
