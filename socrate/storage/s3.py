"""S3-compatible backend (AWS S3, Cloudflare R2, MinIO, Railway buckets) for services without a shared disk.

There is no atomic rename of a folder in S3, so each processing run publishes its outputs under its
own prefix ``<doc>/runs/<run id>/``; the document row is then switched to that prefix (the commit is
the atomic step) and the runs it replaced are deleted. Keys are never overwritten, which also keeps
the read cache trivially coherent.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import IO, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from socrate.config import MB, Settings
from socrate.storage.base import Entry, Meter, Storage, StorageUnavailable, StoredUpload
from socrate.storage.cache import FileCache

PART_BYTES = 8 * MB  # one multipart part in memory at a time; R2 wants equal-sized parts
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
UNAVAILABLE = "Object storage is unavailable; please retry shortly"


@contextmanager
def _translated(key: str) -> Iterator[None]:
    """botocore errors as the ones callers handle: missing object, or a retryable outage."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if error.get("Code") in NOT_FOUND:
            raise FileNotFoundError(key) from exc
        if status >= 500 or error.get("Code") == "SlowDown":
            raise StorageUnavailable(UNAVAILABLE) from exc
        raise
    except (BotoConnectionError, HTTPClientError, S3UploadFailedError) as exc:
        raise StorageUnavailable(UNAVAILABLE) from exc


class S3Storage(Storage):
    def __init__(self, client: Any, bucket: str, cache: FileCache) -> None:
        self.client, self.bucket, self.cache = client, bucket, cache

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``...), never from us."""
        if not settings.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        # Unset: path-style for MinIO and most self-hosted endpoints, AWS keeps virtual hosts; some
        # hosted buckets (Railway's) want virtual hosts behind their own endpoint.
        style = settings.s3_addressing_style or ("path" if settings.s3_endpoint_url else "auto")
        config = Config(
            region_name=settings.s3_region,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": style},
            # Checksums only where S3 requires them: R2 and older MinIO reject the newer defaults.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = boto3.session.Session().client("s3", endpoint_url=settings.s3_endpoint_url, config=config)
        cache = FileCache(settings.storage_cache_dir, settings.storage_cache_mb * MB)
        return cls(client, settings.s3_bucket, cache)

    def save_stream(self, tenant_id: str, stream: IO[bytes], max_bytes: int) -> StoredUpload:
        """One PUT for small files, else a multipart upload aborted on any failure (limit included)."""
        key = self.incoming_key(tenant_id, uuid.uuid4().hex)
        meter = Meter(stream, max_bytes)
        with _translated(key):
            first = meter.read_at_least(PART_BYTES)
            meter.check_not_empty()
            if len(first) < PART_BYTES:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=first)
            else:
                self._multipart(key, first, meter)
        return meter.stored(key)

    def _multipart(self, key: str, first: bytes, meter: Meter) -> None:
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        parts: list[dict[str, Any]] = []
        body = first
        try:
            while body:
                number = len(parts) + 1
                sent = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                body = meter.read_at_least(PART_BYTES)
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with suppress(Exception):  # keep the original error; bucket lifecycle rules reap the rest
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def move(self, src_key: str, dst_key: str) -> None:
        """Copy then delete (S3 has no rename); the source is a private temporary key."""
        with _translated(src_key):
            self.client.copy({"Bucket": self.bucket, "Key": src_key}, self.bucket, dst_key)
            self.client.delete_object(Bucket=self.bucket, Key=src_key)
        self.cache.forget(src_key)

    def exists(self, key: str) -> bool:
        try:
            with _translated(key):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under ``prefix``, one ``list_objects_v2`` page (up to 1000) at a time."""
        with _translated(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                yield from page.get("Contents", [])

    def delete_prefix(self, prefix: str) -> None:
        prefix = prefix.rstrip("/") + "/"
        batch: list[dict[str, str]] = []
        for obj in self._objects(prefix):
            batch.append({"Key": obj["Key"]})
            if len(batch) == 1000:  # the most one DeleteObjects call takes
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)
        self.cache.forget(prefix)

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        with _translated(batch[0]["Key"]):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def delete(self, key: str) -> None:
        with _translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)
        self.cache.forget(key)
        self.delete_prefix(key)

    def _download(self, key: str, dest: Path) -> None:
        with _translated(key):
            self.client.download_file(self.bucket, key, str(dest))

    def local_file(self, key: str) -> Path:
        """A copy in the bounded cache (downloaded on first use, evicted least-recently-used)."""
        return self.cache.get(key, lambda dest: self._download(key, dest))

    def glob(self, pattern: str) -> Iterator[Entry]:
        """One paginated listing under the pattern's fixed part; a folder's time is its newest object."""
        parts = pattern.split("/")
        fixed = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
        prefix = "/".join(parts[:fixed]) + ("/" if fixed else "")
        newest: dict[str, float] = {}
        for obj in self._objects(prefix):
            names = obj["Key"].split("/")
            if len(names) >= len(parts) and all(map(fnmatchcase, names, parts)):
                unit = "/".join(names[: len(parts)])
                newest[unit] = max(newest.get(unit, 0.0), obj["LastModified"].timestamp())
        for key, modified in newest.items():
            yield Entry(key=key, modified=modified)

    @contextmanager
    def workspace(self, document_prefix: str) -> Iterator[Path]:
        """A local temporary folder: nothing of a run touches the bucket until ``publish``."""
        with tempfile.TemporaryDirectory(prefix="socrate-run-") as work:
            yield Path(work)

    def fetch(self, key: str, workspace: Path) -> Path:
        """Download into the run's own folder (not the cache: originals are read once)."""
        dest = workspace / "source" / PurePosixPath(key).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._download(key, dest)
        return dest

    def publish(self, out_dir: Path, document_prefix: str) -> str:
        """Upload under a fresh ``runs/<id>/`` prefix; a failed upload removes what it sent."""
        run = f"{document_prefix}/runs/{uuid.uuid4().hex}"
        try:
            for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
                with _translated(run):
                    self.client.upload_file(
                        str(path), self.bucket, f"{run}/{path.relative_to(out_dir).as_posix()}"
                    )
        except BaseException:
            with suppress(Exception):  # keep the original error; cleanup removes unreferenced runs
                self.delete_prefix(run)
            raise
        return run

    def discard(self, document_prefix: str, published: str) -> None:
        self.delete_prefix(published)

    def prune(self, document_prefix: str, keep: str) -> None:
        for entry in self.glob(f"{document_prefix}/runs/*"):
            if entry.key != keep:
                self.delete_prefix(entry.key)
