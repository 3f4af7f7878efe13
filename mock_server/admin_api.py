"""The mock's admin API under ``/__admin/``, after WireMock's: a route table over the state.

Each route is one small function from the state and the request body to a :class:`Reply`;
the table is what ``GET /__admin/`` documents and what a 404 lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .behaviours import BadBehaviour, parse_entry
from .rules import Reply
from .state import State

PREFIX = "/__admin/"
#: Larger than any scripted queue a test sends.
BODY_LIMIT = 1024 * 1024

Route = Callable[[State, bytes], Reply]


def _journal(state: State, _: bytes) -> Reply:
    return Reply.json(200, {"requests": state.journal()})


def _clear_journal(state: State, _: bytes) -> Reply:
    state.clear_journal()
    return Reply.json(200, {"cleared": True})


def _enqueue(state: State, raw: bytes) -> Reply:
    try:
        document = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        return Reply.error(400, "Body is not valid JSON")
    if not isinstance(document, dict) or not isinstance(document.get("responses"), list):
        return Reply.error(400, 'Body must be {"responses": [...]}')
    try:
        behaviours = [b for entry in document["responses"] for b in parse_entry(entry)]
    except BadBehaviour as exc:
        return Reply.error(400, str(exc))
    return Reply.json(200, {"queued": state.enqueue(behaviours)})


def _queue(state: State, _: bytes) -> Reply:
    return Reply.json(200, {"responses": state.queued()})


def _reset(state: State, _: bytes) -> Reply:
    state.reset()
    return Reply.json(200, {"reset": True})


def _credits(state: State, _: bytes) -> Reply:
    return Reply.json(200, {"credits": state.credits()})


def _health(_: State, __: bytes) -> Reply:
    return Reply.json(200, {"status": "ok"})


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "requests"): _journal,
    ("DELETE", "requests"): _clear_journal,
    ("POST", "enqueue"): _enqueue,
    ("GET", "queue"): _queue,
    ("POST", "reset"): _reset,
    ("GET", "credits"): _credits,
    ("GET", "health"): _health,
}


def answer(state: State, method: str, path: str, body: bytes) -> Reply:
    """The admin route's answer, or a 404 naming what was asked."""
    route = ROUTES.get((method, path.removeprefix(PREFIX).rstrip("/")))
    if route is None:
        return Reply.error(404, f"No admin route {method} {path}")
    return route(state, body)
