"""The S3-compatible attachment store against a real S3 server: moto's (`python -m moto.server`, run as its own
process), with request authentication on, so a request signed wrongly is refused as AWS would refuse it
(SignatureDoesNotMatch); no MinIO can be installed here. Then a technician's photo through the dispatch API lands
in the bucket, and the dispatcher reads it back."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest

from shared.attachments import S3BlobStore, S3Location
from tests.conftest import Keys
from tests.support.infra import NatsServer, free_port

from .conftest import Clock, dispatch_app
from .test_attachments import jpeg, on_site_job, upload

REGION = "eu-central-1"
BUCKET = "fieldline-attachments"


@dataclass(frozen=True)
class S3Server:
    url: str
    access_key_id: str
    secret_access_key: str

    def location(self, *, secret: str | None = None, prefix: str = "dispatch/") -> S3Location:
        return S3Location(self.url, BUCKET, REGION, self.access_key_id, secret or self.secret_access_key, prefix=prefix)

    def objects(self) -> dict[str, bytes]:
        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )
        listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    # three requests go unauthenticated (making the IAM user and its key); every later one must be signed right
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    with Path(log).open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam", endpoint_url=url, region_name=REGION, aws_access_key_id="boot", aws_secret_access_key="boot"
        )
        iam.create_user(UserName="fieldline-dispatch")
        iam.put_user_policy(
            UserName="fieldline-dispatch",
            PolicyName="attachments",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="fieldline-dispatch")["AccessKey"]
        server = S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])
        boto3.client(
            "s3",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
        ).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_store_puts_and_gets_bytes_signed_as_s3_wants(s3_server: S3Server) -> None:
    store = S3BlobStore(s3_server.location())
    key = f"attachments/{uuid.uuid4()}"
    await store.put(None, key, b"\xff\xd8 a picture", "image/jpeg")  # type: ignore[arg-type]  # no session needed

    assert s3_server.objects()[f"dispatch/{key}"] == b"\xff\xd8 a picture"  # path-style, under the prefix
    assert await store.get(None, key) == b"\xff\xd8 a picture"  # type: ignore[arg-type]
    assert await store.get(None, f"attachments/{uuid.uuid4()}") is None  # type: ignore[arg-type]


async def test_a_request_signed_with_the_wrong_secret_is_refused_by_the_server(s3_server: S3Server) -> None:
    forged = S3BlobStore(s3_server.location(secret="not-the-secret"))
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await forged.put(None, f"attachments/{uuid.uuid4()}", b"x", "image/png")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert b"SignatureDoesNotMatch" in refused.value.response.content


async def test_a_technicians_photo_is_kept_in_the_bucket_and_read_back_by_the_dispatcher(
    s3_server: S3Server, database_url: str, nats_server: NatsServer, keys: Keys, clock: Clock
) -> None:
    settings = {
        "attachment_store": "s3",
        "s3_endpoint": s3_server.url,
        "s3_bucket": BUCKET,
        "s3_region": REGION,
        "s3_access_key_id": s3_server.access_key_id,
        "s3_secret_access_key": s3_server.secret_access_key,
        "s3_prefix": "dispatch/",
    }
    async with dispatch_app(database_url, nats_server, keys, clock, **settings) as dispatch:
        tech, assignment, request_id, _ = await on_site_job(dispatch, clock)
        photo = jpeg()
        photo_id, stored = await upload(dispatch, tech, assignment, photo)
        assert stored.status_code == 201, stored.text

        assert s3_server.objects()[f"dispatch/attachments/{request_id}/{photo_id}"] == photo
        in_postgres = await dispatch.sql("SELECT 1 FROM dispatch.attachment_blobs WHERE key LIKE $1", f"%{photo_id}")
        assert in_postgres == []  # the bytes are in S3 only
        read = await dispatch.client.get(f"/attachments/{photo_id}", headers=dispatch.dispatcher)
        assert read.status_code == 200 and read.content == photo
