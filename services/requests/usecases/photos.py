"""Customers' photos of what is wrong: added to their own open request (when filing, or later while it is open),
each stored once under its device-made id, read by the customer and by staff."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.photos import PhotosRepository
from services.requests.db.requests import RequestsRepository
from services.requests.domain.lifecycle import TERMINAL
from services.requests.domain.records import PhotoRecord
from services.requests.usecases.viewing import readable_request
from shared.attachments import BlobStore
from shared.attachments.pictures import checked_picture
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True)
class RequestPhotos:
    store: BlobStore
    clock: Callable[[], datetime]
    max_bytes: int
    per_request: int

    async def add(
        self,
        session: AsyncSession,
        principal: Principal,
        request_id: uuid.UUID,
        photo_id: uuid.UUID,
        content_type: str,
        content: bytes,
    ) -> tuple[bool, PhotoRecord]:
        """(created, the photo); the same id uploaded again gets the stored photo back, whatever the body."""
        if principal.role not in (Role.CUSTOMER, Role.DISPATCHER, Role.ADMIN):
            raise Forbidden("only the customer and dispatchers add photos to a request")
        request = await readable_request(session, principal, request_id)
        repo = PhotosRepository(session)
        seen = await repo.get(photo_id)
        if seen is not None:
            if seen.request_id != request_id:
                raise Conflict("photo id already used for another request")
            return False, seen
        media = checked_picture(content_type, content, self.max_bytes)
        # the request's row, locked: concurrent uploads count one after another, and a cancellation waits
        request = await RequestsRepository(session).get(request_id, for_update=True) or request
        if request.status in TERMINAL:
            raise Conflict(f"the request is {request.status}: photos are added while it is open")
        if await repo.count_of(request_id) >= self.per_request:
            raise Conflict(f"a request holds at most {self.per_request} photos")
        photo = PhotoRecord(
            id=photo_id,
            request_id=request_id,
            customer_id=request.customer_id,
            content_type=media,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            store=self.store.name,
            key=f"request-photos/{request_id}/{photo_id}",
            uploaded_by=principal.subject,
            created_at=self.clock(),
        )
        if not await repo.add(photo):  # first: the customer's bytes are readable only beside their photo's row
            raise Conflict("the same photo is being stored right now; retry", retry_after_s=1)
        await self.store.put(session, photo.key, content, media)
        return True, photo

    async def of_request(self, session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> list[PhotoRecord]:
        await readable_request(session, principal, request_id)
        return await PhotosRepository(session).of_request(request_id)

    async def content(
        self, session: AsyncSession, principal: Principal, request_id: uuid.UUID, photo_id: uuid.UUID
    ) -> tuple[PhotoRecord, bytes]:
        await readable_request(session, principal, request_id)
        photo = await PhotosRepository(session).get(photo_id)
        if photo is None or photo.request_id != request_id:
            raise NotFound("photo not found")
        content = await self.store.get(session, photo.key)
        if content is None:
            raise NotFound("photo not found")
        return photo, content
