"""Where a service keeps the bytes of uploaded pictures, as settings every service that takes files shares
(FIELDLINE_<SERVICE>_ATTACHMENT_STORE, _S3_ENDPOINT, ...), and the store they name."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings
from sqlalchemy import Table

from shared.attachments.postgres import PostgresBlobStore
from shared.attachments.s3 import S3BlobStore, S3Location
from shared.attachments.store import BlobStore


class AttachmentStoreSettings(BaseSettings):
    """Mixed into a service's settings: the service's env prefix applies. s3 needs the s3_* settings (any
    S3-compatible store, path-style requests)."""

    attachment_store: Literal["postgres", "s3"] = "postgres"
    attachment_max_bytes: int = Field(default=1_500_000, gt=0)  # the apps compress photos well under this
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_prefix: str = ""  # keys go under it: each service its own (e.g. "dispatch/")


def blob_store(settings: AttachmentStoreSettings, blobs: Table, service: str) -> BlobStore:
    """PostgreSQL (the service schema's ``blobs`` table) unless the settings name an S3-compatible store."""
    if settings.attachment_store == "s3":
        if not (settings.s3_endpoint and settings.s3_bucket):
            variable = f"FIELDLINE_{service.upper()}_S3"
            raise ValueError(f"attachment_store s3 needs {variable}_ENDPOINT and {variable}_BUCKET")
        location = S3Location(
            endpoint=settings.s3_endpoint,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            prefix=settings.s3_prefix or f"{service}/",
        )
        return S3BlobStore(location)
    return PostgresBlobStore(blobs)
