"""Watch events: a per-cluster event history and the streams that serve it.

Writers publish under the emulator lock; a stream waits on the bus's own condition, never on
the emulator lock, so a long watch blocks nobody.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sandbox.kube.errors import status

HISTORY = 5000
# How often an idle stream yields an empty chunk so the server can check the connection.
IDLE = 2.0


@dataclass(frozen=True)
class Event:
    rv: int
    gr: str
    namespace: str
    name: str
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]


class EventBus:
    """The last ``HISTORY`` events of a cluster, in resourceVersion order."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._rvs: list[int] = []
        self._cond = threading.Condition()
        self._closed = False

    def publish(self, event: Event) -> None:
        with self._cond:
            self._events.append(event)
            self._rvs.append(event.rv)
            if len(self._events) > 2 * HISTORY:
                del self._events[:HISTORY]
                del self._rvs[:HISTORY]
            self._cond.notify_all()

    def oldest(self) -> int | None:
        with self._cond:
            return self._rvs[0] if self._rvs else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def after(self, rv: int, timeout: float) -> list[Event] | None:
        """Events newer than ``rv``, waiting up to ``timeout``; None once closed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    return None
                if self._rvs and self._rvs[-1] > rv:
                    return self._events[bisect.bisect_right(self._rvs, rv) :]
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)


@dataclass
class WatchSpec:
    gr: str
    namespace: str
    matches: Callable[[dict[str, Any]], bool]
    render: Callable[[dict[str, Any]], dict[str, Any]]
    timeout: float
    bookmarks: bool
    bookmark_object: Callable[[int], dict[str, Any]]


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def stream(
    bus: EventBus, spec: WatchSpec, initial: list[dict[str, Any]], start_rv: int, present: set[str]
) -> Iterator[bytes]:
    """Yield the initial ADDED events, then live events until the timeout."""
    for obj in initial:
        yield _line("ADDED", spec.render(obj))
    cursor = start_rv
    deadline = time.monotonic() + spec.timeout
    last_bookmark = time.monotonic()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        events = bus.after(cursor, min(left, IDLE))
        if events is None:
            return
        if not events:
            yield b""  # idle: lets the server notice a client that went away
        for event in events:
            cursor = event.rv
            if event.gr != spec.gr or (spec.namespace and event.namespace != spec.namespace):
                continue
            key = f"{event.namespace}/{event.name}"
            matched = event.type != "DELETED" and spec.matches(event.obj)
            if event.type == "DELETED":
                if key in present or spec.matches(event.obj):
                    present.discard(key)
                    yield _line("DELETED", spec.render(event.obj))
            elif matched:
                kind = "MODIFIED" if key in present else "ADDED"
                present.add(key)
                yield _line(kind, spec.render(event.obj))
            elif key in present:
                present.discard(key)
                yield _line("DELETED", spec.render(event.obj))
        if spec.bookmarks and time.monotonic() - last_bookmark > 5:
            last_bookmark = time.monotonic()
            yield _line("BOOKMARK", spec.bookmark_object(cursor))


def expired(rv: int) -> Iterator[bytes]:
    body = status(410, f"too old resource version: {rv}", "Expired")
    yield _line("ERROR", body)
