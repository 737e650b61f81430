"""Placing a new request: record the job, and for an emergency book the best technician at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository, DoubleBooking, NewAssignment, point_wkt
from services.dispatch.db.tables import messaging
from services.dispatch.domain.placement import Job, PlacementRule
from services.dispatch.settings import Settings
from shared.events.dispatch import AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import Subscription, add_event


class EmergencyPlacer:
    def __init__(self, settings: Settings, rule: PlacementRule) -> None:
        self.settings = settings
        self.rule = rule

    async def on_request_created(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, ServiceRequestCreated)
        repo = DispatchRepository(session)
        created = await repo.add_job({
            "request_id": event.request_id, "customer_id": event.customer_id, "site_id": event.site_id,
            "kind": event.kind, "priority": event.priority,
            "location": point_wkt(event.location.lat, event.location.lon),
            "required_skills": [s.model_dump() for s in event.required_skills],
            "response_due": event.response_due, "fix_due": event.fix_due,
            "duration_minutes": event.estimated_duration_minutes, "status": "open",
        })
        if not created or event.kind != "emergency":
            return  # routine and planned work waits for the planner
        await self.place(repo, session, event)

    async def place(self, repo: DispatchRepository, session: AsyncSession, event: ServiceRequestCreated) -> None:
        now = datetime.now(UTC)
        candidates = await repo.nearest_free_candidates(
            event.location.lat, event.location.lon, event.required_skills, now, self.settings.candidate_pool)
        job = Job(request_id=event.request_id, duration_minutes=event.estimated_duration_minutes,
                  response_due=event.response_due)
        options = self.rule.rank(job, candidates, now)
        for option in options:
            assignment = NewAssignment(
                id=uuid.uuid4(), request_id=event.request_id, technician_id=option.technician_id,
                customer_id=event.customer_id, status="offered", planned_start=option.planned_start,
                planned_end=option.planned_end, eta=option.eta,
            )
            try:
                await repo.book(assignment)
            except DoubleBooking:
                continue  # taken meanwhile by another replica: try the next one
            await repo.set_job_status(event.request_id, "assigned")
            await add_event(session, messaging, AssignmentCreated(
                assignment_id=assignment.id, request_id=event.request_id, customer_id=event.customer_id,
                technician_id=option.technician_id, technician_first_name=option.first_name,
                status="offered", planned_start=assignment.planned_start, planned_end=assignment.planned_end,
                eta=assignment.eta, site_location=event.location,
            ))
            return
        skills = ", ".join(f"{s.skill}≥{s.min_level}" for s in event.required_skills) or "any skill"
        reason = f"no free technician with {skills} among the {self.settings.candidate_pool} nearest"
        await repo.set_job_status(event.request_id, "unplaceable", reason)
        await add_event(session, messaging, RequestUnplaceable(
            request_id=event.request_id, customer_id=event.customer_id, reason=reason, best_option=None))

    async def on_request_cancelled(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, ServiceRequestCancelled)
        repo = DispatchRepository(session)
        await repo.set_job_status(event.request_id, "cancelled")
        for row in await repo.active_assignments_for_request(event.request_id):
            now = datetime.now(UTC)
            await repo.set_assignment_status(row["id"], "cancelled", now, None, {"reason": "request cancelled"})
            await add_event(session, messaging, AssignmentStatusChanged(
                assignment_id=row["id"], request_id=event.request_id, customer_id=row["customer_id"],
                technician_id=row["technician_id"], status="cancelled", previous_status=row["status"], at=now))

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription("dispatch-request-created", "requests", ServiceRequestCreated.subject,
                         self.on_request_created),
            Subscription("dispatch-request-cancelled", "requests", ServiceRequestCancelled.subject,
                         self.on_request_cancelled),
        ]
