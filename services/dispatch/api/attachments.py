"""Photos and signatures of visit reports: the technician's upload, and the reads of dispatchers, the technician
and the customer of the job (GET /requests/{id}/visit-report is the report they see, with its attachments)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from services.dispatch.api.deps import Caller, Dispatcher, TechnicianCaller, UnitOfWork, UseCases, me
from services.dispatch.usecases.attachments import attachment_out
from shared.attachments.pictures import PICTURE_BODY
from shared.moments import SaneAwareDatetime
from shared.timestamps import in_utc

router = APIRouter(tags=["attachments"])

_BINARY = {"type": "string", "format": "binary"}
# upload routes: the larger body limit at the edge
UPLOAD_PATHS = [r"/me/assignments/[^/]+/attachments/[^/]+", r"/me/photo", r"/technicians/[^/]+/photo"]


@router.put(
    "/me/assignments/{assignment_id}/attachments/{attachment_id}",
    status_code=201,
    openapi_extra=PICTURE_BODY,
)
async def upload_attachment(
    assignment_id: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    session: UnitOfWork,
    cases: UseCases,
    principal: TechnicianCaller,
    kind: str = "photo",
    taken_at: SaneAwareDatetime | None = None,
    content_type: Annotated[str, Header()] = "",
) -> JSONResponse:
    """Stores a photo or the customer's signature (the picture itself is the body) for the technician's own visit.

    The id is made on the device: an offline queue replaying the upload gets 200 and the same attachment.
    """
    created, row = await cases.attachments.upload(
        session, principal, assignment_id, attachment_id, kind, content_type, await request.body(), taken_at
    )
    return JSONResponse(in_utc(attachment_out(row)), status_code=201 if created else 200)


@router.get("/attachments/{attachment_id}", response_class=Response)
async def get_attachment(attachment_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller) -> Response:
    """The picture, to dispatchers, the technician who took it and the customer of the job."""
    row, content = await cases.attachments.content(session, principal, attachment_id)
    return Response(
        content,
        media_type=row.content_type,
        headers={
            "cache-control": "private, max-age=86400",  # an attachment's bytes never change under its id
            "x-content-type-options": "nosniff",
            "content-disposition": f'inline; filename="{row.kind}-{row.id}"',
        },
    )


@router.get("/requests/{request_id}/visit-report")
async def visit_report(
    request_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller
) -> dict[str, Any]:
    """The last finished visit: outcome, work done, parts, checklist, who signed, time on site, attachments.

    A customer sees only its own requests, and no technician ids or internal notes.
    """
    return in_utc(await cases.attachments.visit_report(session, principal, request_id))  # type: ignore[no-any-return]


# --- the technician's photo ----------------------------------------------------------------------------------


def _picture(content_type: str, content: bytes) -> Response:
    return Response(
        content,
        media_type=content_type,
        headers={"cache-control": "private, no-cache", "x-content-type-options": "nosniff"},  # it may be replaced
    )


@router.put("/me/photo", openapi_extra=PICTURE_BODY)
async def set_my_photo(
    request: Request,
    session: UnitOfWork,
    cases: UseCases,
    principal: TechnicianCaller,
    content_type: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """The technician's own photo (JPEG, PNG or WebP), shown to the customers they visit."""
    return await cases.attachments.set_technician_photo(
        session, principal, me(principal), content_type, await request.body()
    )


@router.get("/me/photo", response_class=Response)
async def my_photo(session: UnitOfWork, cases: UseCases, principal: TechnicianCaller) -> Response:
    """The technician's own photo (404 while there is none)."""
    return _picture(*await cases.attachments.technician_photo(session, principal, me(principal)))


@router.put("/technicians/{technician_id}/photo", openapi_extra=PICTURE_BODY)
async def set_technician_photo(
    technician_id: uuid.UUID,
    request: Request,
    session: UnitOfWork,
    cases: UseCases,
    principal: Dispatcher,
    content_type: Annotated[str, Header()] = "",
) -> dict[str, Any]:
    """A technician's photo, set by a dispatcher."""
    return await cases.attachments.set_technician_photo(
        session, principal, technician_id, content_type, await request.body()
    )


@router.get("/technicians/{technician_id}/photo", response_class=Response)
async def technician_photo(
    technician_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller
) -> Response:
    """A technician's photo: to staff and to the technician (404 while there is none)."""
    return _picture(*await cases.attachments.technician_photo(session, principal, technician_id))


@router.get("/customer/requests/{request_id}/technician-photo", response_class=Response, tags=["customer portal"])
async def technician_photo_for_customer(
    request_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller
) -> Response:
    """The photo of the technician booked to the customer's own request (404 while none is, or they have none)."""
    return _picture(*await cases.attachments.photo_for_customer(session, principal, request_id))
