"""The application's signing key: configured, or generated once and kept in a file."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

log = logging.getLogger("ordergraph.secrets")

KEY_BYTES = 32


def signing_key(configured: str, key_file: Path) -> bytes:
    """`configured` (ORDERGRAPH_SECRET_KEY) when set; else the key in `key_file`, created on first use.

    Creating it is race-free (O_EXCL): of several processes starting at once, one writes it and
    all read the same key. Processes on different machines must share ORDERGRAPH_SECRET_KEY instead.
    """
    if configured:
        return configured.encode()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except FileNotFoundError:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        return signing_key(configured, key_file)
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        log.warning("generated a signing key in %s; set ORDERGRAPH_SECRET_KEY to share one between machines", key_file)
    for _ in range(100):  # another process may be writing it right now
        key = key_file.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    raise RuntimeError(f"the signing key file {key_file} is empty; remove it or set ORDERGRAPH_SECRET_KEY")
