"""A bounded local copy of remote objects, so search reads index files from disk."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

PART_SUFFIX = ".part"


class FileCache:
    """Files under ``root`` named by key, evicted least-recently-used first once over ``max_bytes``.

    Remote keys are write-once (each run publishes under a new prefix), so a cached copy never goes
    stale. State lives only on disk, so processes on one host can share the folder: downloads land
    under a private temporary name and are renamed into place.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = Path(root), max_bytes

    def _path(self, key: str) -> Path:
        full = (self.root / key).resolve()
        if self.root.resolve() not in full.parents:
            raise ValueError(f"cache key escapes root: {key!r}")
        return full

    def get(self, key: str, download: Callable[[Path], None]) -> Path:
        """The cached file for ``key``, downloading it first on a miss."""
        path = self._path(key)
        try:
            _touch(path)  # a hit: mark it recently used
            return path
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{uuid.uuid4().hex}{PART_SUFFIX}")
        try:
            download(part)
            os.replace(part, path)
            _touch(path)
        finally:
            part.unlink(missing_ok=True)
        self.evict(keep=path)
        return path

    def forget(self, key: str) -> None:
        """Drop a key, or every key under a folder (the object was moved or deleted)."""
        path = self._path(key.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def evict(self, keep: Path | None = None) -> None:
        """Delete the least recently used files until the total fits (``keep`` always stays)."""
        files = []
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and not path.name.endswith(PART_SUFFIX):
                    stat = path.stat()
                    files.append((stat.st_mtime, stat.st_size, path))
            except FileNotFoundError:
                continue  # another process evicted it meanwhile
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size

    def size(self) -> int:
        """Bytes currently held."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())


def _touch(path: Path) -> None:
    """Stamp ``path`` as used now, to the nanosecond: the kernel's own clock for file times is
    coarse (a tick), and two uses inside one tick would otherwise tie."""
    now = time.time_ns()
    os.utime(path, ns=(now, now))
