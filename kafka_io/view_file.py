"""A copy of a topic view in the data directory, for catalogs that must outlive a memory broker: the
Kinesis stream catalog (connector/kinesis_catalog.py) and the Firehose delivery stream catalog
(firehose/catalog.py). The topic stays the source of truth while it exists; the file only brings
back what a broker lost.

The file is `{"Format": <layout>, "Streams": {name: value}}`, rewritten whole and atomically (a
temporary file renamed over the old one, so a crash leaves the old or the new copy), by a thread of
its own a moment after each change (`changed()`): never in the event loop, and a burst of changes is
one write."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import orjson


class ViewFile:
    def __init__(self, path: Path, layout: int, snapshot: Callable[[], dict], what: str):
        self.path = path
        self.layout = layout
        self.snapshot = snapshot  # the view's values now (a copy)
        self.what = what  # for error messages: "the Kinesis stream definitions"
        self.lock = threading.Lock()
        self.dirty = threading.Event()
        self.stopping = threading.Event()
        self.saver: threading.Thread | None = None

    def start(self) -> None:
        """Save now, then keep saving after changes in a thread of its own."""
        self.save()
        self.saver = threading.Thread(target=self._save_changes, name=f"store-{self.path.stem}", daemon=True)
        self.saver.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.saver is not None:
            self.saver.join(5)
            if self.dirty.is_set():
                self.save()

    def changed(self) -> None:
        self.dirty.set()

    def _save_changes(self) -> None:
        while not self.stopping.is_set():
            if self.dirty.wait(0.2):
                self.dirty.clear()
                self.save()

    def save(self) -> None:
        with self.lock:
            data = orjson.dumps({"Format": self.layout, "Streams": self.snapshot()}, option=orjson.OPT_SORT_KEYS)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)

    def load(self) -> dict[str, dict]:
        """The values the data directory knows ({} before the first save)."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except orjson.JSONDecodeError as exc:
            raise RuntimeError(f"{self.path} is not valid JSON ({exc}): move it away to start without "
                               f"{self.what} it holds") from None
        if data.get("Format") != self.layout:
            raise RuntimeError(f"{self.path}: unknown layout {data.get('Format')!r} (expected {self.layout})")
        return data["Streams"]


class Mirrored:
    """What a topic view with a copy in the data directory adds to it (mixed in before the view's
    class): the copy is made by `mirror_to`, restored and started by `start_mirror`, told of each change
    once the view caught up (`mirror_changed`), and stopped with the view. The view supplies
    `snapshot()` (its values now) and `restore()` (publish the copy's values again)."""

    store: ViewFile | None = None

    def mirror_to(self, data_dir: Path | None, file_name: str, layout: int, what: str) -> None:
        self.store = None if data_dir is None else ViewFile(Path(data_dir) / file_name, layout, self.snapshot, what)

    def start_mirror(self, restore: bool = True) -> None:
        if self.store is not None:
            if restore:
                self.restore()
            self.store.start()

    def mirror_changed(self) -> None:
        if self.store is not None and self.caught_up.is_set():
            self.store.changed()  # saved by the store's thread (or by start, before it runs)

    def stop(self) -> None:
        super().stop()
        if self.store is not None:
            self.store.stop()
