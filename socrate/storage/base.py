"""The storage interface every backend implements, and the metering shared by their uploads."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from socrate.errors import BadRequest, ServiceUnavailable, TooLarge

COPY_BLOCK = 1024 * 1024
HEAD_BYTES = 8192


class StorageUnavailable(ServiceUnavailable, ConnectionError):
    """The object store cannot be reached: 503 for a request, a retried attempt for a worker."""


@dataclass(frozen=True)
class StoredUpload:
    """An upload streamed to a temporary key, with what we learnt while copying it."""

    temp_key: str
    size: int
    sha256: str
    head: bytes


@dataclass(frozen=True)
class Entry:
    """A file or folder (prefix) found by ``glob``, with when it last changed (epoch seconds)."""

    key: str
    modified: float


class Meter:
    """Wraps an upload stream: enforces the size limit and hashes while the bytes go by."""

    def __init__(self, stream: IO[bytes], max_bytes: int) -> None:
        self.stream, self.max_bytes = stream, max_bytes
        self.digest, self.size, self.head = hashlib.sha256(), 0, b""

    def read(self, n: int = COPY_BLOCK) -> bytes:
        block = self.stream.read(n)
        self.size += len(block)
        if self.size > self.max_bytes:
            raise TooLarge(f"File is larger than the {self.max_bytes // (1024 * 1024)} MB limit")
        if len(self.head) < HEAD_BYTES:
            self.head += block[: HEAD_BYTES - len(self.head)]
        self.digest.update(block)
        return block

    def read_at_least(self, n: int) -> bytes:
        """``n`` bytes, or fewer only at the end of the stream (one multipart part)."""
        part = bytearray()
        while len(part) < n and (block := self.read(min(COPY_BLOCK, n - len(part)))):
            part += block
        return bytes(part)

    def check_not_empty(self) -> None:
        if self.size == 0:
            raise BadRequest("The file is empty")

    def stored(self, key: str) -> StoredUpload:
        return StoredUpload(temp_key=key, size=self.size, sha256=self.digest.hexdigest(), head=self.head)


class Storage(ABC):
    """Keys are ``/``-separated, like ``tenants/<tenant>/documents/<doc>/original.pdf``.

    A document's encoder outputs are published as one unit (``publish``) and the row then points at
    the returned prefix, so readers never see half of a run or a mix of two runs.
    """

    @staticmethod
    def tenant_prefix(tenant_id: str) -> str:
        return f"tenants/{tenant_id}"

    @classmethod
    def document_prefix(cls, tenant_id: str, document_id: str) -> str:
        return f"{cls.tenant_prefix(tenant_id)}/documents/{document_id}"

    @classmethod
    def incoming_key(cls, tenant_id: str, name: str) -> str:
        return f"{cls.tenant_prefix(tenant_id)}/incoming/{name}"

    @abstractmethod
    def save_stream(self, tenant_id: str, stream: IO[bytes], max_bytes: int) -> StoredUpload:
        """Stream to a temp key without holding the file in memory; a refused upload leaves nothing."""

    @abstractmethod
    def move(self, src_key: str, dst_key: str) -> None:
        """Give a stored object its final key."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete everything under ``prefix`` (a folder); missing is fine (deletes are idempotent)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object, or everything under ``key`` if it is a folder; missing is fine."""

    @abstractmethod
    def local_file(self, key: str) -> Path:
        """A local path to read ``key`` from (FileNotFoundError if there is no such object)."""

    @abstractmethod
    def glob(self, pattern: str) -> Iterator[Entry]:
        """Files and folders whose key matches ``pattern`` (``*`` within one path component)."""

    @abstractmethod
    def workspace(self, document_prefix: str) -> AbstractContextManager[Path]:
        """A private scratch folder for one processing run, removed when the run ends."""

    @abstractmethod
    def fetch(self, key: str, workspace: Path) -> Path:
        """A local file with ``key``'s bytes for the run to read (FileNotFoundError if missing)."""

    @abstractmethod
    def publish(self, out_dir: Path, document_prefix: str) -> str:
        """Make a finished output folder visible as one unit; returns its key prefix."""

    @abstractmethod
    def discard(self, document_prefix: str, published: str) -> None:
        """Remove what ``publish`` returned for a run that lost ownership of the document."""

    @abstractmethod
    def prune(self, document_prefix: str, keep: str) -> None:
        """Remove outputs of earlier or superseded runs, once the row points at ``keep``."""
