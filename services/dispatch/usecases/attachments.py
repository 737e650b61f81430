"""Photos and signatures of a visit report: stored once per device-made id, read only by whom they concern.

A technician uploads only to their own visit (not one taken away from them); a customer reads only its own
visits' attachments and an allow-listed projection of the report; dispatchers read all.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.customer_view import CUSTOMER_STEPS
from services.dispatch.domain.records import AssignmentRecord, AttachmentRecord, TechnicianRecord
from services.dispatch.usecases.viewing import visit_of_customers_request
from shared.attachments import BlobStore
from shared.attachments.pictures import checked_picture
from shared.auth import Principal, Role, ensure_customer_access, ensure_technician_access
from shared.errors import Conflict, InvalidInput, NotFound

KINDS = ("photo", "signature")


class Attachments:
    def __init__(self, store: BlobStore, clock: Callable[[], datetime], max_bytes: int) -> None:
        self.store = store
        self.clock = clock
        self.max_bytes = max_bytes

    def _check(self, kind: str, content_type: str, content: bytes) -> str:
        if kind not in KINDS:
            raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
        return checked_picture(content_type, content, self.max_bytes)

    async def upload(
        self,
        session: AsyncSession,
        principal: Principal,
        assignment_id: uuid.UUID,
        attachment_id: uuid.UUID,
        kind: str,
        content_type: str,
        content: bytes,
        taken_at: datetime | None,
    ) -> tuple[bool, AttachmentRecord]:
        """(created, the attachment's row); a replayed upload of the same id gets the stored row back."""
        media = self._check(kind, content_type, content)
        repo = DispatchRepository(session)
        assignment = await repo.get_assignment(assignment_id)
        if assignment is None:
            raise NotFound("assignment not found")
        ensure_technician_access(principal, assignment.technician_id, "assignment")
        seen = await repo.get_attachment(attachment_id)
        if seen is not None:
            if seen.assignment_id != assignment_id or seen.technician_id != assignment.technician_id:
                raise Conflict("attachment id already used for another visit")
            return False, seen
        if assignment.status in ("declined", "cancelled"):
            raise Conflict(f"the visit is {assignment.status}: it is no longer yours to report on")
        key = f"attachments/{assignment.request_id}/{attachment_id}"
        row = AttachmentRecord(
            id=attachment_id,
            assignment_id=assignment_id,
            request_id=assignment.request_id,
            customer_id=assignment.customer_id,
            technician_id=assignment.technician_id,
            kind=kind,
            content_type=media,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            store=self.store.name,
            key=key,
            taken_at=min(taken_at, self.clock()) if taken_at else None,  # a device clock never claims the future
            created_at=self.clock(),
        )
        await self.store.put(session, key, content, media)
        if not await repo.add_attachment(row):
            raise Conflict("the same attachment is being stored right now; retry", retry_after_s=1)
        return True, row

    async def content(
        self, session: AsyncSession, principal: Principal, attachment_id: uuid.UUID
    ) -> tuple[AttachmentRecord, bytes]:
        row = await DispatchRepository(session).get_attachment(attachment_id)
        if row is None:
            raise NotFound("attachment not found")
        _ensure_concerns(principal, row)
        content = await self.store.get(session, row.key)
        if content is None:
            raise NotFound("attachment not found")
        return row, content

    async def visit_report(self, session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> dict[str, Any]:
        """The last finished visit of a request: its report, time on site and attachments.

        A customer gets only what it may see: no technician id, no internal notes, no plausibility flags.
        """
        repo = DispatchRepository(session)
        visits = [v for v in await repo.finished_assignments_of_request(request_id) if _concerns(principal, v)]
        if not visits:
            raise NotFound("no finished visit for this request")
        visit = visits[0]
        attachments = [a for a in await repo.attachments_of_request(request_id) if a.assignment_id == visit.id]
        return report_projection(visit, attachments, staff=principal.role is not Role.CUSTOMER)

    # --- the technician's photo: set by the technician or a dispatcher, shown to staff and to the customers they visit

    async def set_technician_photo(
        self, session: AsyncSession, principal: Principal, technician_id: uuid.UUID, content_type: str, content: bytes
    ) -> dict[str, Any]:
        """The technician's new photo (their own, or any technician's for a dispatcher); the old one's bytes stay
        under their own key (a key is written once) and are no longer named."""
        ensure_technician_access(principal, technician_id, "technician")
        media = checked_picture(content_type, content, self.max_bytes)
        key = f"technicians/{technician_id}/photo-{hashlib.sha256(content).hexdigest()[:32]}"
        if not await DispatchRepository(session).set_technician_photo(technician_id, key, media):
            raise NotFound("technician not found")
        await self.store.put(session, key, content, media)
        return {"technician_id": str(technician_id), "content_type": media, "size_bytes": len(content)}

    async def technician_photo(
        self, session: AsyncSession, principal: Principal, technician_id: uuid.UUID
    ) -> tuple[str, bytes]:
        """(type, bytes) of a technician's photo, for staff and the technician."""
        ensure_technician_access(principal, technician_id, "technician")
        return await self._photo_of(session, await DispatchRepository(session).get_technician(technician_id))

    async def photo_for_customer(
        self, session: AsyncSession, principal: Principal, request_id: uuid.UUID
    ) -> tuple[str, bytes]:
        """The photo of the technician of the customer's own request, while one is booked to it (as the visit's
        first name: customer_view.CUSTOMER_STEPS)."""
        _, visit, technician = await visit_of_customers_request(DispatchRepository(session), principal, request_id)
        if visit is None or visit.status not in CUSTOMER_STEPS:
            raise NotFound("no technician is booked")
        return await self._photo_of(session, technician)

    async def _photo_of(self, session: AsyncSession, technician: TechnicianRecord | None) -> tuple[str, bytes]:
        if technician is None or not technician.photo_key or not technician.photo_content_type:
            raise NotFound("no photo")
        content = await self.store.get(session, technician.photo_key)
        if content is None:
            raise NotFound("no photo")
        return technician.photo_content_type, content


def _concerns(principal: Principal, row: AssignmentRecord | AttachmentRecord) -> bool:
    try:
        _ensure_concerns(principal, row)
    except NotFound:
        return False
    return True


def _ensure_concerns(principal: Principal, row: AssignmentRecord | AttachmentRecord) -> None:
    """Staff: all; a technician: their own visits; a customer: its own. Anyone else learns nothing exists."""
    if principal.role is Role.CUSTOMER:
        ensure_customer_access(principal, row.customer_id, "attachment")
    else:
        ensure_technician_access(principal, row.technician_id, "attachment")


def attachment_out(row: AttachmentRecord) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "content_type": row.content_type,
        "size_bytes": row.size_bytes,
        "taken_at": row.taken_at,
        "url": f"attachments/{row.id}",  # relative to the dispatch API
    }


def report_projection(
    visit: AssignmentRecord, attachments: Sequence[AttachmentRecord], *, staff: bool
) -> dict[str, Any]:
    report = visit.report or {}
    arrived, finished = visit.arrived_at, visit.finished_at
    shown = {
        "request_id": str(visit.request_id),
        "status": visit.status,
        "outcome": visit.outcome or ("completed" if visit.status == "completed" else None),
        "arrived_at": arrived,
        "finished_at": finished,
        "minutes_on_site": round((finished - arrived).total_seconds() / 60) if arrived and finished else None,
        "work_done": report.get("work_done", ""),
        "parts_used": report.get("parts_used", []),
        "checklist": report.get("checklist", []),
        "signed_by": report.get("signed_by"),
        "attachments": [attachment_out(a) for a in attachments],
    }
    if staff:
        shown |= {
            "assignment_id": str(visit.id),
            "technician_id": str(visit.technician_id),
            "notes": report.get("notes", ""),
            "suspect": visit.suspect,
        }
    return shown
