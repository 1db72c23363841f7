"""Where bytes live: one interface, a local-disk and an S3-compatible backend chosen by settings."""

from __future__ import annotations

from socrate.config import Settings
from socrate.storage.base import Entry, Storage, StoredUpload
from socrate.storage.local import LocalStorage

__all__ = ["Entry", "LocalStorage", "Storage", "StoredUpload", "build"]


def build(settings: Settings) -> Storage:
    """The backend ``STORAGE_BACKEND`` names; boto3 is imported only when S3 is chosen."""
    if settings.storage_backend == "local":
        return LocalStorage(settings.storage_dir)
    if settings.storage_backend == "s3":
        from socrate.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    raise ValueError(f"STORAGE_BACKEND must be local or s3, not {settings.storage_backend!r}")
