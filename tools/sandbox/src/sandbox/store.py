"""Emulator state: a JSON document per emulator, flushed to disk shortly after each change."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class Store:
    """``data`` is the emulator's state; call ``touch()`` after changing it.

    A background flusher writes it atomically at most every ``interval`` seconds, and
    ``flush()`` writes at once (called at shutdown), so state survives a restart.
    """

    def __init__(self, path: Path, interval: float = 0.2) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        self._dirty = False
        # Emulators use this lock for every read and write of ``data`` (see Emulator.lock).
        self.lock = threading.RLock()
        self._interval = interval
        self._stop = threading.Event()
        if path.exists():
            self.data = json.loads(path.read_text() or "{}")
        self._thread = threading.Thread(target=self._run, name=f"store-{path.stem}", daemon=True)
        self._thread.start()

    def touch(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        with self.lock:
            if not self._dirty:
                return
            text = json.dumps(self.data, sort_keys=True, separators=(",", ":"), default=str)
            self._dirty = False
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush()
