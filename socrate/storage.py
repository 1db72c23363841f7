"""Where bytes live: per-tenant folders under one root (local disk backend)."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from socrate.errors import BadRequest, TooLarge

COPY_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An upload streamed to a temporary key, with what we learnt while copying it."""

    temp_key: str
    size: int
    sha256: str
    head: bytes


class LocalStorage:
    """Keys are relative paths like ``tenants/<tenant>/documents/<doc>/original.pdf``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Absolute path for ``key``; refuses keys that escape the root."""
        full = (self.root / key).resolve()
        if self.root.resolve() not in full.parents and full != self.root.resolve():
            raise ValueError(f"storage key escapes root: {key!r}")
        return full

    @staticmethod
    def tenant_prefix(tenant_id: str) -> str:
        return f"tenants/{tenant_id}"

    @classmethod
    def document_prefix(cls, tenant_id: str, document_id: str) -> str:
        return f"{cls.tenant_prefix(tenant_id)}/documents/{document_id}"

    def save_stream(self, tenant_id: str, stream: BinaryIO, max_bytes: int) -> StoredUpload:
        """Stream to a temp key without holding the file in memory; enforce the size limit."""
        key = f"{self.tenant_prefix(tenant_id)}/incoming/{uuid.uuid4().hex}"
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with open(target, "wb") as out:
                while block := stream.read(COPY_BLOCK):
                    size += len(block)
                    if size > max_bytes:
                        raise TooLarge(f"File is larger than the {max_bytes // (1024 * 1024)} MB limit")
                    if len(head) < 8192:
                        head += block[: 8192 - len(head)]
                    digest.update(block)
                    out.write(block)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if size == 0:
            target.unlink(missing_ok=True)
            raise BadRequest("The file is empty")
        return StoredUpload(temp_key=key, size=size, sha256=digest.hexdigest(), head=head)

    def move(self, src_key: str, dst_key: str) -> None:
        """Atomic rename within the same filesystem."""
        dst = self.path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path(src_key), dst)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        """Delete a file or a whole folder; missing keys are fine (deletes are idempotent)."""
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)

    def replace_dir(self, src: Path, dst_key: str) -> None:
        """Move a finished output folder into place, replacing any older one."""
        dst = self.path(dst_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        old = dst.with_name(dst.name + f".old-{uuid.uuid4().hex}")
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
