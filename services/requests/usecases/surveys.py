"""Surveys: invited when a job completes, answered once by that job's customer, summed up as the public rating."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.surveys import SurveysRepository
from services.requests.db.tables import messaging
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.lifecycle import AssignmentView
from services.requests.domain.records import ServiceRequestRecord, SurveyRecord
from services.requests.domain.surveys import Rating, SurveyAnswer, check_answer, ensure_open, rating_of
from services.requests.usecases.survey_links import SurveyLinks
from shared.auth import Principal, Role, ensure_customer_access
from shared.errors import NotFound
from shared.events.requests import SurveyAnswered, SurveyInvited
from shared.messaging import add_event
from shared.timestamps import utc_z


async def invite_to_survey(
    session: AsyncSession,
    links: SurveyLinks,
    request: ServiceRequestRecord,
    assignment: AssignmentView,
    completed_at: datetime,
    *,
    ttl_days: int,
    source_event_id: uuid.UUID,
    now: datetime,
) -> None:
    """Open the job's one survey and ask notify to send its link; a second call does nothing."""
    survey = SurveyRecord(
        id=uuid.uuid4(),
        request_id=request.id,
        customer_id=request.customer_id,
        technician_id=assignment.technician_id,
        completed_at=completed_at,
        invited_at=now,
        expires_at=completed_at + timedelta(days=ttl_days),
    )
    if not await SurveysRepository(session).add_if_new(survey):
        return
    token = links.token(survey.id, request.customer_id, survey.expires_at)
    await add_event(
        session,
        messaging,
        SurveyInvited(
            survey_id=survey.id,
            request_id=request.id,
            customer_id=request.customer_id,
            site_id=request.site_id,
            technician_id=assignment.technician_id,
            technician_first_name=assignment.technician_first_name,
            completed_at=completed_at,
            link=links.link(token),
            token=token,
            expires_at=survey.expires_at,
            contact_name=str(request.contact.get("name", "")),
        ),
        occurred_at=now,
    )
    await TimelineRepository(session).add(
        request.id,
        "survey_invited",
        completed_at,
        source_event_id,
        {"survey_id": str(survey.id), "expires_at": utc_z(survey.expires_at)},
    )


async def survey_by_link(session: AsyncSession, links: SurveyLinks, token: str) -> tuple[SurveyRecord, str | None]:
    """The survey a link was made for, and the technician's first name to show with it."""
    claim = links.verify(token)
    survey = await SurveysRepository(session).get(claim.survey_id)
    if survey is None or survey.customer_id != claim.customer_id:
        raise NotFound("survey not found")
    request = await RequestsRepository(session).get(survey.request_id)
    return survey, request.technician_first_name if request else None


async def survey_of_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> tuple[SurveyRecord, str | None]:
    request = await RequestsRepository(session).get(request_id)
    survey = await SurveysRepository(session).of_request(request_id)
    if request is None or survey is None:
        raise NotFound("survey not found")
    ensure_customer_access(principal, survey.customer_id, "survey")
    return survey, request.technician_first_name


async def answer_by_link(
    session: AsyncSession, links: SurveyLinks, token: str, answer: SurveyAnswer, now: datetime
) -> tuple[SurveyRecord, str | None]:
    """The answered survey and the technician's first name, as the request shows it."""
    claim = links.verify(token)
    survey = await SurveysRepository(session).get(claim.survey_id, for_update=True)
    if survey is None or survey.customer_id != claim.customer_id:
        raise NotFound("survey not found")
    return await _answer(session, survey, answer, via="link", now=now)


async def answer_as_customer(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, answer: SurveyAnswer, now: datetime
) -> tuple[SurveyRecord, str | None]:
    """Only the job's own customer answers; anyone else is told there is no such survey."""
    survey = await SurveysRepository(session).of_request(request_id, for_update=True)
    if survey is None or principal.role is not Role.CUSTOMER or principal.customer_id != survey.customer_id:
        raise NotFound("survey not found")
    return await _answer(session, survey, answer, via=f"customer:{principal.subject}", now=now)


async def _answer(
    session: AsyncSession, survey: SurveyRecord, answer: SurveyAnswer, *, via: str, now: datetime
) -> tuple[SurveyRecord, str | None]:
    ensure_open(survey.answered_at, survey.expires_at, now)
    check_answer(answer)
    surveys = SurveysRepository(session)
    await surveys.answer(
        survey.id, answered_at=now, csat=answer.csat, nps=answer.nps, comment=answer.comment, answered_via=via
    )
    request = await RequestsRepository(session).get(survey.request_id)
    assert request is not None
    await add_event(
        session,
        messaging,
        SurveyAnswered(
            survey_id=survey.id,
            request_id=survey.request_id,
            customer_id=survey.customer_id,
            technician_id=survey.technician_id,
            csat=answer.csat,
            nps=answer.nps,
            comment=answer.comment,
            contract_id=request.contract_id,
            site_id=request.site_id,
            equipment_id=request.equipment_id,
            answered_at=now,
        ),
        occurred_at=now,
    )
    await TimelineRepository(session).add(
        survey.request_id, "survey_answered", now, detail={"csat": answer.csat, "nps": answer.nps}
    )
    answered = await surveys.get(survey.id)
    assert answered is not None
    return answered, request.technician_first_name


async def verified_rating(session: AsyncSession, window_days: int, now: datetime) -> Rating:
    return rating_of(await SurveysRepository(session).rating_answers(now - timedelta(days=window_days)))
