"""Local-disk backend: the embedded default and single-host deployments (one shared filesystem)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from socrate.storage.base import Entry, Meter, Storage, StoredUpload

OUTPUT_FOLDER = "memvid"


class LocalStorage(Storage):
    """Keys are relative paths under ``root``; outputs swap in by an atomic directory rename."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Absolute path for ``key``; refuses keys that escape the root."""
        full = (self.root / key).resolve()
        if self.root.resolve() not in full.parents and full != self.root.resolve():
            raise ValueError(f"storage key escapes root: {key!r}")
        return full

    def save_stream(self, tenant_id: str, stream: IO[bytes], max_bytes: int) -> StoredUpload:
        key = self.incoming_key(tenant_id, uuid.uuid4().hex)
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        meter = Meter(stream, max_bytes)
        try:
            with open(target, "wb") as out:
                while block := meter.read():
                    out.write(block)
            meter.check_not_empty()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return meter.stored(key)

    def move(self, src_key: str, dst_key: str) -> None:
        """Atomic rename within the same filesystem."""
        dst = self.path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path(src_key), dst)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete_prefix(self, prefix: str) -> None:
        self.delete(prefix.rstrip("/"))

    def delete(self, key: str) -> None:
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)

    def local_file(self, key: str) -> Path:
        """The stored file itself: nothing to copy on a local disk."""
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def glob(self, pattern: str) -> Iterator[Entry]:
        """Matches with their own mtime (a folder's changes when entries are added or removed)."""
        for path in self.root.glob(pattern):
            try:
                yield Entry(key=path.relative_to(self.root).as_posix(), modified=path.stat().st_mtime)
            except FileNotFoundError:
                continue  # removed while we listed

    @contextmanager
    def workspace(self, document_prefix: str) -> Iterator[Path]:
        """A ``.tmp-*`` folder beside the outputs (same filesystem, so ``publish`` is a rename)."""
        folder = self.path(document_prefix)
        for leftover in folder.glob(".tmp-*"):  # partial outputs of crashed or superseded runs
            shutil.rmtree(leftover, ignore_errors=True)
        work = folder / f".tmp-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def fetch(self, key: str, workspace: Path) -> Path:
        return self.local_file(key)

    def publish(self, out_dir: Path, document_prefix: str) -> str:
        """Rename into ``<doc>/memvid``, replacing an older folder: readers see one whole run."""
        key = f"{document_prefix}/{OUTPUT_FOLDER}"
        self.replace_dir(out_dir, key)
        return key

    def discard(self, document_prefix: str, published: str) -> None:
        """Nothing: the folder a superseded run swapped in is a complete set, replaced by the next."""

    def prune(self, document_prefix: str, keep: str) -> None:
        """Nothing: ``publish`` already removed the folder it replaced."""

    def replace_dir(self, src: Path, dst_key: str) -> None:
        """Move a finished output folder into place, replacing any older one."""
        dst = self.path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        old = dst.with_name(dst.name + f".old-{uuid.uuid4().hex}")
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
