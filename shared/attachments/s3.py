"""An S3-compatible object store (AWS S3, MinIO, Ceph RGW) over httpx, requests signed with AWS SigV4.

Path-style addressing (`<endpoint>/<bucket>/<key>`), which every S3-compatible server accepts. The signature is
botocore's (`S3SigV4Auth`, the AWS SDK's own signer; the project once carried its own 40 lines of it): httpx does
the async I/O, botocore only signs, with the wall clock's time as S3 requires (not a service's simulated clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class S3Location:
    endpoint: str  # e.g. https://s3.eu-central-1.amazonaws.com or http://minio:9000
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str
    prefix: str = ""  # keys are stored under this prefix, e.g. "dispatch/"


def signed_headers(
    method: str, url: str, headers: Mapping[str, str], content: bytes, location: S3Location
) -> dict[str, str]:
    """The request's headers with SigV4's added (x-amz-date, x-amz-content-sha256, Authorization)."""
    request = AWSRequest(method=method, url=url, data=content, headers=dict(headers))
    credentials = Credentials(location.access_key_id, location.secret_access_key)
    S3SigV4Auth(credentials, "s3", location.region).add_auth(request)
    return dict(request.headers.items())


class S3BlobStore:
    name = "s3"

    def __init__(self, location: S3Location, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.location = location
        self.transport = transport  # None: the network

    def _url(self, key: str) -> str:
        return f"{self.location.endpoint.rstrip('/')}/{self.location.bucket}/{quote(self.location.prefix + key)}"

    async def _send(
        self, method: str, key: str, content: bytes = b"", headers: Mapping[str, str] = {}
    ) -> httpx.Response:
        url = self._url(key)
        signed = signed_headers(method, url, headers, content, self.location)
        async with httpx.AsyncClient(transport=self.transport, timeout=30.0) as client:
            return await client.request(method, url, content=content or None, headers=signed)

    async def put(self, session: AsyncSession, key: str, content: bytes, content_type: str) -> None:
        response = await self._send("PUT", key, content, {"content-type": content_type})
        response.raise_for_status()

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        response = await self._send("GET", key)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content
