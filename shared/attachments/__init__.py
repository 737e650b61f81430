"""Where the bytes of attachments (photos, signatures) live: one interface, two stores.

The interface sits in shared/ rather than inside dispatch because storing an uploaded file is not a dispatch
rule: today dispatch keeps the technicians' report photos and signatures, and the same seam serves any service
that takes files next (customers' photos of a broken unit on a request, contract documents). The metadata
(who, which job, type, size) stays in the owning service's own tables; only the bytes go through a `BlobStore`.

- `PostgresBlobStore` (the default): the bytes in a table of the service's own schema (`blob_table`), written
  in the same transaction as the metadata, so an attachment is stored whole or not at all.
- `S3BlobStore` (production): any S3-compatible object store (AWS S3, MinIO, Ceph RGW), path-style requests
  signed with AWS Signature Version 4 (botocore's signer).
"""

from shared.attachments.postgres import PostgresBlobStore, blob_table
from shared.attachments.s3 import S3BlobStore, S3Location, signed_headers
from shared.attachments.store import BlobStore

__all__ = ["BlobStore", "PostgresBlobStore", "S3BlobStore", "S3Location", "blob_table", "signed_headers"]
