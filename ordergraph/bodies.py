"""What the body of a GraphQL request over HTTP may be, checked before anything reads it.

Strawberry trusts the shape of what it parses: a JSON body of `null` or `42`, or a multipart `map`
whose path walks into `variables.i.__class__`, raised inside it (a 500). Here every JSON body is an
object (or a list, a batch, which Strawberry then refuses itself), and a multipart request
(https://github.com/jaydenseric/graphql-multipart-request-spec) is one operation whose map puts
each file at a null placeholder in its variables. Anything else is refused with a 400 that says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from cross_web import HTTPException

MAX_MAP_PATH: Final = 16
"""Most dotted segments of one multipart map path (variables.<name>.<index>... ): deeper is refused."""


def parse_request_json(data: str | bytes) -> dict[str, Any] | list[Any]:
    """A request's JSON (its body, a multipart `operations` or `map`, a GET's variables): an object or a list."""
    try:
        parsed = json.loads(data)
    except RecursionError as exc:
        raise HTTPException(400, "The request's JSON is nested too deeply.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, "Unable to parse request body as JSON: it is not UTF-8 JSON.") from exc
    if not isinstance(parsed, dict | list):
        raise HTTPException(400, "A GraphQL request is a JSON object with a `query` (and `variables`).")
    return parsed


def attach_files(operations: object, files_map: object, files: Mapping[str, Any]) -> dict[str, Any]:
    """The multipart operation with each file of the map put at its placeholder; 400 for any other shape."""
    if not isinstance(operations, dict):
        raise HTTPException(400, "Batched requests are not supported: `operations` must be one JSON object.")
    if not isinstance(files_map, dict):
        raise HTTPException(400, "The multipart `map` must be a JSON object of file field names to paths.")
    for name, paths in files_map.items():
        if name not in files:
            raise HTTPException(400, f"The file {name!r} named in the multipart `map` is missing.")
        if not isinstance(paths, list) or not paths or not all(isinstance(path, str) for path in paths):
            raise HTTPException(400, f"The multipart `map` entry {name!r} must be a non-empty list of paths.")
        for path in paths:
            _put(operations, path, files[name])
    return operations


def _put(operations: dict[str, Any], path: str, file: object) -> None:
    keys = path.split(".")
    if keys[0] != "variables" or len(keys) < 2 or len(keys) > MAX_MAP_PATH:
        raise HTTPException(400, f"The multipart `map` path {path!r} must point into `variables`.")
    container: Any = operations
    for key in keys[:-1]:
        container = _child(container, key, path)
    last = keys[-1]
    if _child(container, last, path) is not None:
        raise HTTPException(400, f"The multipart `map` path {path!r} must point at a null placeholder.")
    if isinstance(container, list):
        container[int(last)] = file
    else:
        container[last] = file


def _child(container: object, key: str, path: str) -> Any:
    """The value at `key` of a JSON object or array; 400 when there is none."""
    if isinstance(container, dict) and key in container:
        return container[key]
    if isinstance(container, list) and key.isascii() and key.isdigit() and int(key) < len(container):
        return container[int(key)]
    raise HTTPException(400, f"The multipart `map` path {path!r} names nothing in the operation.")
