"""Blob stores to test against: a temporary folder, and S3 through a real moto server
over HTTP on 127.0.0.1 (it implements multipart uploads, ranges and presigned URLs)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto.server import ThreadedMotoServer

from exchange.blobstore import BlobStore, LocalBlobStore, open_blob_store
from exchange.blobstore.s3 import S3BlobStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# The smallest part S3 allows, so that multipart tests stay light.
S3_TEST_PART_BYTES = 5 * 1024 * 1024
S3_TEST_PREFIX = "exchange/blobs"


class MotoEndpoint:
    """A moto S3 server in this process; stop and start it to play a store outage.
    Its state (buckets, objects, multipart uploads) outlives a restart."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        self._server.stop()

    def start_again(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[MotoEndpoint]:
    endpoint = MotoEndpoint()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_credentials(monkeypatch)


def use_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@functools.cache
def s3_client_for(endpoint_url: str) -> S3Client:
    """A client of the moto server, made once: making one reads botocore's service
    models, a tenth of a second."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_test_credentials(monkeypatch)
        return boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name="us-east-1"
        )


def new_bucket(endpoint_url: str) -> str:
    bucket = f"exchange-test-{uuid.uuid4().hex[:16]}"
    s3_client_for(endpoint_url).create_bucket(Bucket=bucket)
    return bucket


def empty_bucket(endpoint_url: str, bucket: str) -> None:
    """Delete every object of `bucket` and abort its unfinished multipart uploads."""
    client = s3_client_for(endpoint_url)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})  # type: ignore[typeddict-item]
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


@pytest.fixture
def s3_bucket(moto_endpoint: MotoEndpoint, aws_test_credentials: None) -> str:
    return new_bucket(moto_endpoint.url)


@pytest.fixture
def s3_client(moto_endpoint: MotoEndpoint, aws_test_credentials: None) -> S3Client:
    return s3_client_for(moto_endpoint.url)


@pytest.fixture(params=["file", "s3"])
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """Each contract test runs once on the folder store and once on S3."""
    if request.param == "file":
        store = open_blob_store(f"file://{tmp_path / 'blobs'}")
    else:
        endpoint: MotoEndpoint = request.getfixturevalue("moto_endpoint")
        bucket: str = request.getfixturevalue("s3_bucket")
        store = open_blob_store(
            f"s3://{bucket}/{S3_TEST_PREFIX}",
            s3_endpoint_url=endpoint.url,
            part_bytes=S3_TEST_PART_BYTES,
        )
    yield store
    await store.close()


@pytest.fixture
def leftovers(request: pytest.FixtureRequest) -> Callable[[BlobStore], list[str]]:
    """Everything a store holds: files (temporary ones included) or objects and
    unfinished multipart uploads."""

    def find(store: BlobStore) -> list[str]:
        if isinstance(store, LocalBlobStore):
            return sorted(
                str(path.relative_to(store.root))
                for path in store.root.rglob("*")
                if path.is_file()
            )
        assert isinstance(store, S3BlobStore)
        client = s3_client_for(request.getfixturevalue("moto_endpoint").url)
        objects = client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
        uploads = client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        return sorted([o["Key"] for o in objects] + [f"unfinished:{u['Key']}" for u in uploads])

    return find
