"""``DispatchRepository``: every dispatch repository on one session, for the use cases that still take one
object for all of them. The queries live by aggregate: technicians.py, jobs.py, bookings.py,
emergency_bookings.py, plans.py, commands.py, attachments.py, territories.py (common.py: what they share)."""

from __future__ import annotations

from services.dispatch.db.attachments import AttachmentRepository
from services.dispatch.db.bookings import BookingRepository
from services.dispatch.db.commands import MobileCommandRepository
from services.dispatch.db.emergency_bookings import EmergencyBookingRepository
from services.dispatch.db.jobs import JobRepository
from services.dispatch.db.plans import PlanRepository
from services.dispatch.db.technicians import TechnicianRepository
from services.dispatch.db.territories import TerritoryRepository


class DispatchRepository(
    TechnicianRepository,
    JobRepository,
    BookingRepository,
    EmergencyBookingRepository,
    PlanRepository,
    MobileCommandRepository,
    AttachmentRepository,
    TerritoryRepository,
):
    """The per-aggregate repositories as one; they share the session and its asyncpg connection."""
