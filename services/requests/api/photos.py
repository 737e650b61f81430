"""Customers' photos of what is wrong with the unit: uploaded with the request (or while it is open), listed and
read by the customer and by staff. The picture itself is the body; its id is made on the device."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.requests.api.deps import CurrentPrincipal, Photos, UnitOfWork
from services.requests.api.schemas import UtcDatetime
from services.requests.domain.records import PhotoRecord
from shared.attachments.pictures import PICTURE_BODY

router = APIRouter(tags=["photos"])

UPLOAD_PATH = r"/requests/[^/]+/photos/[^/]+"  # an upload route: the larger body limit at the edge


class PhotoOut(BaseModel):
    id: uuid.UUID
    content_type: str
    size_bytes: int
    created_at: UtcDatetime
    url: str  # relative to the requests API


def photo_out(photo: PhotoRecord) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        content_type=photo.content_type,
        size_bytes=photo.size_bytes,
        created_at=photo.created_at,
        url=f"requests/{photo.request_id}/photos/{photo.id}",
    )


@router.put(
    "/requests/{request_id}/photos/{photo_id}",
    status_code=201,
    response_model=PhotoOut,
    responses={200: {"description": "This photo id was stored before: the stored photo"}},
    openapi_extra=PICTURE_BODY,
)
async def upload_photo(
    request_id: uuid.UUID,
    photo_id: uuid.UUID,
    request: Request,
    session: UnitOfWork,
    photos: Photos,
    principal: CurrentPrincipal,
    content_type: Annotated[str, Header()] = "",
) -> JSONResponse:
    """Adds a photo (JPEG, PNG or WebP) to the customer's own open request; a retry with the same id files once."""
    created, photo = await photos.add(session, principal, request_id, photo_id, content_type, await request.body())
    return JSONResponse(photo_out(photo).model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/requests/{request_id}/photos", response_model=list[PhotoOut])
async def list_photos(
    request_id: uuid.UUID, session: UnitOfWork, photos: Photos, principal: CurrentPrincipal
) -> list[PhotoOut]:
    """The request's photos, oldest first (its customer and staff)."""
    return [photo_out(p) for p in await photos.of_request(session, principal, request_id)]


@router.get("/requests/{request_id}/photos/{photo_id}", response_class=Response)
async def get_photo(
    request_id: uuid.UUID, photo_id: uuid.UUID, session: UnitOfWork, photos: Photos, principal: CurrentPrincipal
) -> Response:
    """The picture (its customer and staff)."""
    photo, content = await photos.content(session, principal, request_id, photo_id)
    return Response(
        content,
        media_type=photo.content_type,
        headers={
            "cache-control": "private, max-age=86400",  # a photo's bytes never change under its id
            "x-content-type-options": "nosniff",
            "content-disposition": f'inline; filename="photo-{photo.id}"',
        },
    )
