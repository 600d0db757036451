"""Blobs as objects in an S3 bucket (`s3://bucket/prefix`), or in MinIO and other
S3-compatible stores through `endpoint_url`.

Large uploads go up as a multipart upload whose parts are sent as they fill, so only
one part (8 MiB by default) is ever held; a file smaller than one part is a single
PutObject. Any failure or cancellation aborts the multipart upload (and removes the
object if it may have been completed), and what a dead store kept from an abort that
could not reach it, `clear_incomplete` aborts later. Every boto3 call runs in a thread.
Timeouts and retries are short so that a dead store is reported (`StoreUnavailable`)
within seconds, not after minutes of retrying.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from exchange.blobstore.contract import (
    BLOB_KEY,
    DEFAULT_READ_CHUNK_BYTES,
    BlobNotFound,
    BlobStream,
    check_blob_key,
)
from exchange.blobstore.threads import BlockingCalls
from exchange.errors import StoreUnavailable
from exchange.files.names import content_disposition

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

DEFAULT_PART_BYTES: Final = 8 * 1024 * 1024
MIN_PART_BYTES: Final = 5 * 1024 * 1024  # S3's floor for every part but the last
MAX_PARTS: Final = 10_000
_MISSING_CODES: Final = frozenset({"NoSuchKey", "404", "NotFound"})

_log = logging.getLogger(__name__)
T = TypeVar("T")


class S3BlobStore:
    """A `BlobStore` over `bucket`, with every key under `prefix`.

    Credentials come from the usual AWS sources (environment, config files, instance
    role); the region from `region_name`, else the AWS configuration, else us-east-1.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        part_bytes: int = DEFAULT_PART_BYTES,
        connect_timeout: float = 2.0,
        read_timeout: float = 20.0,
        max_attempts: int = 2,
        threads: int = 16,
        read_chunk_bytes: int = DEFAULT_READ_CHUNK_BYTES,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts must be at least {MIN_PART_BYTES} bytes")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._part_bytes = part_bytes
        self._read_chunk_bytes = read_chunk_bytes
        session = boto3.session.Session()
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=threads,
            signature_version="s3v4",
            # Path-style URLs are what MinIO and most S3-compatible stores serve.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            # The CRC checksums newer botocore sends by default are refused by several
            # S3-compatible stores; integrity is checked by `exchange store verify`.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region_name or session.region_name or "us-east-1",
            config=config,
        )
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="blobstore-s3"
        )

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        name = self._object_name(key)
        calls = BlockingCalls(self._executor)
        upload = _Upload(self._client, self.bucket, name)
        written = 0
        part = bytearray()
        try:
            async for chunk in chunks:
                part += chunk
                if len(part) >= self._part_bytes:
                    await calls.run(upload.send_part, part)
                    written += len(part)
                    # A new buffer, not clear(): the old one may still be referenced
                    # by botocore until the call has fully returned.
                    part = bytearray()
            await calls.run(upload.finish, part)
            written += len(part)
        except BaseException:
            await calls.run_cleanup(upload.discard)
            raise
        return written

    async def start_resumable(self, key: str) -> dict[str, Any]:
        self._object_name(key)
        # The multipart upload is begun with the first full part.
        return {"upload_id": None, "parts": []}

    async def append_resumable(
        self, key: str, state: dict[str, Any], offset: int, chunks: AsyncIterable[bytes]
    ) -> tuple[int, dict[str, Any]]:
        """Full parts go to the multipart upload as they fill; what is left past the
        last part (the tail, under a part's size) is kept as a small object of its own,
        named by where it starts, so that any instance can take it up."""
        calls = BlockingCalls(self._executor)
        upload = _Upload(self._client, self.bucket, self._object_name(key))
        upload.resume(state)
        tail_start = upload.stored_bytes
        tail = await calls.run(self._read_tail, key, tail_start, offset - tail_start)
        async for chunk in chunks:
            tail += chunk
            if len(tail) >= self._part_bytes:
                await calls.run(upload.send_part, tail)
                tail = bytearray()
        if tail:
            await calls.run(
                _s3,
                key,
                self._client.put_object,
                Bucket=self.bucket,
                Key=self._tail_name(key, upload.stored_bytes),
                Body=tail,
            )
        return upload.stored_bytes + len(tail), upload.state()

    async def finish_resumable(self, key: str, state: dict[str, Any], length: int) -> None:
        calls = BlockingCalls(self._executor)
        upload = _Upload(self._client, self.bucket, self._object_name(key))
        upload.resume(state)
        if await self.size(key) == length:
            return  # finished before, by a request that did not live to record it
        tail = await calls.run(
            self._read_tail, key, upload.stored_bytes, length - upload.stored_bytes
        )
        await calls.run(upload.finish, tail)
        await calls.run(self._remove_tails, key)

    async def abort_resumable(self, key: str, state: dict[str, Any]) -> None:
        calls = BlockingCalls(self._executor)
        upload = _Upload(self._client, self.bucket, self._object_name(key))
        upload.resume(state)
        await calls.run(upload.discard)
        await calls.run(self._remove_tails, key)

    def _tail_name(self, key: str, start: int) -> str:
        check_blob_key(key)
        return f"{self._listing_prefix()}resumable/{key.replace('/', '-')}/tail-{start}"

    def _read_tail(self, key: str, start: int, length: int) -> bytearray:
        if length <= 0:
            return bytearray()
        response = _s3(
            key,
            self._client.get_object,
            Bucket=self.bucket,
            Key=self._tail_name(key, start),
            Range=f"bytes=0-{length - 1}",
        )
        with _store_errors(key):
            data = bytearray(response["Body"].read())
        if len(data) != length:
            raise BlobNotFound(key)
        return data

    def _remove_tails(self, key: str) -> None:
        folder = self._tail_name(key, 0).rsplit("/", 1)[0] + "/"
        listed = _s3(None, self._client.list_objects_v2, Bucket=self.bucket, Prefix=folder)
        for item in listed.get("Contents", []):
            with contextlib.suppress(StoreUnavailable, BlobNotFound):
                _s3(None, self._client.delete_object, Bucket=self.bucket, Key=item["Key"])

    async def open_range(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        name = self._object_name(key)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range {start}-{end}")
        get = functools.partial(_s3, key, self._client.get_object, Bucket=self.bucket, Key=name)
        calls = BlockingCalls(self._executor)
        try:
            if start == 0 and end is None:
                response = await calls.run(get)
            else:
                response = await calls.run(get, Range=f"bytes={start}-{'' if end is None else end}")
        except ClientError as exc:
            if _code(exc) != "InvalidRange":
                raise
            if start != 0:
                raise ValueError(f"byte range {start}-{end} starts past the end of {key}") from exc
            response = await calls.run(get)  # every range of an empty object is "invalid"
        return BlobStream(
            key,
            _MappedBody(response["Body"]),
            int(response["ContentLength"]),
            executor=self._executor,
            chunk_bytes=self._read_chunk_bytes,
        )

    async def delete(self, key: str) -> None:
        name = self._object_name(key)
        await BlockingCalls(self._executor).run(
            _s3, key, self._client.delete_object, Bucket=self.bucket, Key=name
        )

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def size(self, key: str) -> int | None:
        name = self._object_name(key)
        try:
            head = await BlockingCalls(self._executor).run(
                _s3, key, self._client.head_object, Bucket=self.bucket, Key=name
            )
        except BlobNotFound:
            return None
        return int(head["ContentLength"])

    async def iter_keys(self) -> AsyncIterator[tuple[str, datetime]]:
        calls = BlockingCalls(self._executor)
        pages = iter(
            self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._listing_prefix()
            )
        )
        while (page := await calls.run(_next_page, pages)) is not None:
            for item in page.get("Contents", []):
                key = self._key_of(item["Key"])
                if key is not None:
                    yield key, item["LastModified"]

    async def clear_incomplete(self, older_than: datetime, keep: Collection[str] = ()) -> int:
        kept = {self._object_name(key) for key in keep}
        calls = BlockingCalls(self._executor)
        pages = iter(
            self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._listing_prefix()
            )
        )
        aborted = 0
        while (page := await calls.run(_next_page, pages)) is not None:
            for upload in page.get("Uploads", []):
                if (
                    self._key_of(upload["Key"]) is None
                    or upload["Initiated"] >= older_than
                    or upload["Key"] in kept
                ):
                    continue
                await calls.run(
                    _s3,
                    None,
                    self._client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )
                aborted += 1
        return aborted

    async def check(self) -> None:
        try:
            await BlockingCalls(self._executor).run(
                _s3, None, self._client.head_bucket, Bucket=self.bucket
            )
        except BlobNotFound as exc:  # a 404 here means the bucket is missing
            _log.error("S3 bucket %r not found", self.bucket)
            raise StoreUnavailable() from exc

    async def presigned_get_url(
        self,
        key: str,
        *,
        filename: str,
        media_type: str,
        expires_seconds: int,
        disposition: str = "attachment",
    ) -> str | None:
        params = {
            "Bucket": self.bucket,
            "Key": self._object_name(key),
            "ResponseContentDisposition": content_disposition(filename, disposition=disposition),
            "ResponseContentType": media_type,
        }
        # Signing is local, but resolving credentials may reach an instance endpoint.
        url = await BlockingCalls(self._executor).run(
            _s3,
            key,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params=params,
            ExpiresIn=expires_seconds,
        )
        return str(url)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=False)
        self._client.close()

    def _object_name(self, key: str) -> str:
        check_blob_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _listing_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _key_of(self, name: str) -> str | None:
        key = name.removeprefix(self._listing_prefix())
        return key if BLOB_KEY.fullmatch(key) else None


class _Upload:
    """One object being written; its methods run in worker threads, one at a time."""

    def __init__(self, client: S3Client, bucket: str, name: str) -> None:
        self._client = client
        self._target = {"Bucket": bucket, "Key": name}
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._part_sizes: list[int] = []
        self._sizes = 0
        self._object_may_exist = False

    @property
    def stored_bytes(self) -> int:
        """Bytes in the parts sent so far."""
        return self._sizes

    def resume(self, state: dict[str, Any]) -> None:
        """Go on with the multipart upload `state()` described."""
        self._upload_id = state.get("upload_id")
        self._parts = [
            {"PartNumber": int(p["PartNumber"]), "ETag": str(p["ETag"])} for p in state["parts"]
        ]
        self._sizes = sum(int(p["Size"]) for p in state["parts"])
        self._part_sizes = [int(p["Size"]) for p in state["parts"]]

    def state(self) -> dict[str, Any]:
        return {
            "upload_id": self._upload_id,
            "parts": [
                {"PartNumber": p["PartNumber"], "ETag": p["ETag"], "Size": size}
                for p, size in zip(self._parts, self._part_sizes, strict=True)
            ],
        }

    def send_part(self, data: bytearray) -> None:
        if len(self._parts) >= MAX_PARTS - 1:
            raise ValueError("too many parts for one S3 object")
        if self._upload_id is None:
            created = _s3(None, self._client.create_multipart_upload, **self._target)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        sent = _s3(
            None,
            self._client.upload_part,
            **self._target,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self._part_sizes.append(len(data))
        self._sizes += len(data)

    def finish(self, rest: bytearray) -> None:
        if self._upload_id is None:
            self._object_may_exist = True
            _s3(None, self._client.put_object, **self._target, Body=rest)
            return
        if rest:
            self.send_part(rest)
        self._object_may_exist = True
        _s3(
            None,
            self._client.complete_multipart_upload,
            **self._target,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def discard(self) -> None:
        """Best effort: when the store is down this fails, and `clear_incomplete` and
        `gc` (which removes keys no row points at) finish the job once it is back."""
        if self._upload_id is not None:
            try:
                _s3(
                    None,
                    self._client.abort_multipart_upload,
                    **self._target,
                    UploadId=self._upload_id,
                )
            except (StoreUnavailable, BlobNotFound):
                _log.warning("could not abort the multipart upload of %s", self._target["Key"])
        if self._object_may_exist:
            # The completing call may have reached the store even though it failed here.
            with contextlib.suppress(StoreUnavailable, BlobNotFound):
                _s3(None, self._client.delete_object, **self._target)


class _MappedBody:
    """A GetObject body whose read failures (a store dying mid-download) are
    `StoreUnavailable`, like every other store failure."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1, /) -> bytes:
        try:
            return bytes(self._body.read(size))
        except (BotoCoreError, OSError) as exc:
            _log.warning("S3 read failed: %s", exc)
            raise StoreUnavailable() from exc

    def close(self) -> None:
        self._body.close()


def _s3(key: str | None, call: Callable[..., T], **request: Any) -> T:
    """Make one boto3 call (in a worker thread) with its failures mapped."""
    with _store_errors(key):
        return call(**request)


def _next_page(pages: Iterator[T]) -> T | None:
    with _store_errors(None):
        return next(pages, None)


@contextlib.contextmanager
def _store_errors(key: str | None) -> Iterator[None]:
    """A missing object becomes `BlobNotFound` (when `key` names one); everything that
    means the store cannot serve us (unreachable, timing out, refusing our credentials,
    erroring) becomes `StoreUnavailable`. `InvalidRange` is left to the caller."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if code in _MISSING_CODES:
            raise BlobNotFound(key or "") from exc
        if code == "InvalidRange":
            raise
        _log.error("S3 refused a request: %s", exc)
        raise StoreUnavailable() from exc
    except BotoCoreError as exc:
        _log.warning("S3 unreachable: %s", exc)
        raise StoreUnavailable() from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
